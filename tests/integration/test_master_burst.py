"""
test_master_burst.py - a burst of connections larger than one smtpd
process may hold: master starts more processes (status 'F' from a full
one), the listen backlog keeps the waiting handshakes, and every client is
greeted.  With a shallow backlog the kernel drops handshakes during the
burst and, with SYN cookies, leaves idle clients connected but never
greeted: this test fails then.

Touches:  an instance under /tmp, 127.0.0.1 ports, processes it starts.
"""

import selectors
import socket
import time

from helpers import wait_for

BURST = 400
PER_PROCESS = 25


def test_burst_of_idle_clients_all_greeted(instance):
    inst = instance
    inst.set_param("smtpd_max_sessions", str(PER_PROCESS))
    inst.set_param("smtpd_client_connection_count_limit", "0")
    inst.start()
    port = inst.port(25)
    sel = selectors.DefaultSelector()
    socks = []
    greeted = 0
    try:
        for _ in range(BURST):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
        deadline = time.monotonic() + 30
        while greeted < BURST and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.2):
                data = key.fileobj.recv(512)
                assert data.startswith(b"220 "), data
                sel.unregister(key.fileobj)
                greeted += 1
        assert greeted == BURST, f"only {greeted} of {BURST} idle clients greeted in 30 s"
        smtpds = [p for p in inst.service_pids(port)]
        assert len(smtpds) >= BURST // PER_PROCESS, \
            f"{len(smtpds)} smtpd processes for {BURST} sessions of {PER_PROCESS} each"
    finally:
        for s in socks:
            s.close()
    # The spare processes leave after max_idle; the service keeps serving.
    wait_for(lambda: inst.service_pids(port), 10, what="smtpd still running")
