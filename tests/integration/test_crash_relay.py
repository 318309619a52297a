"""
test_crash_relay.py - DESIGN.md invariant 1 on the relay path: messages for
a remote domain go in over SMTP from several clients while smtpd, qmgr and
the smtp client are killed with SIGKILL at random moments; afterwards every
message that got a 250 must have reached the remote server (an aiosmtpd
sink on 127.0.0.2).  A duplicate is tolerated (a kill between the remote
250 and the DONE mark), a loss is not.

Touches:  one instance and one sink; kills only that instance's daemons
          (children of the master this test started), by pid.
Security: loopback only; the load is bounded in count and time.
Env:      TERN_CRASH_RELAY_MESSAGES (default 3000; `make check-long` uses 20000).
"""

import os
import random
import re
import signal
import smtplib
import threading
import time

import helpers
from peers.sink import Sink

MESSAGES = int(os.environ.get("TERN_CRASH_RELAY_MESSAGES", "3000"))
CLIENTS = 4
VICTIMS = ("smtpd", "qmgr", "smtp")
TOKEN_RE = re.compile(rb"^X-Token: (\S+)$", re.M)


def victims(inst):
    """pids of the daemons we may kill, by program name."""
    found = []
    for pid, argv in inst.processes():
        if argv and os.path.basename(argv[0]) in VICTIMS:
            found.append((pid, os.path.basename(argv[0])))
    return found


def test_kill9_on_the_relay_path_loses_nothing(instance):
    inst = instance
    sink_port = helpers.free_port(["127.0.0.2"])
    sink = Sink("127.0.0.2", sink_port)
    for name, value in (("minimal_backoff_time", "1s"), ("maximal_backoff_time", "2s"),
                        ("queue_run_delay", "1s"), ("service_throttle_time", "2s"),
                        ("relay_domains", "remote.test"),
                        ("transport_maps",
                         f"inline:{{remote.test=smtp:[127.0.0.2]:{sink_port}}}")):
        inst.set_param(name, value)
    inst.start()
    port = inst.port(25)
    accepted, lock = [], threading.Lock()
    stop = threading.Event()
    kills = {v: 0 for v in VICTIMS}
    counter = iter(range(MESSAGES))
    counter_lock = threading.Lock()

    def sender():
        client = None
        while True:
            with counter_lock:
                n = next(counter, None)
            if n is None:
                break
            token = f"r{n:06d}x{random.randrange(1 << 30):08x}"
            msg = (f"From: load@client.test\r\nTo: far@remote.test\r\n"
                   f"Subject: relay crash {n}\r\nX-Token: {token}\r\n\r\nbody {n}\r\n")
            for _attempt in range(50):
                try:
                    if client is None:
                        client = smtplib.SMTP("127.0.0.1", port, timeout=30)
                    client.sendmail("load@client.test", ["far@remote.test"], msg)
                    with lock:
                        accepted.append(token)
                    break
                except (smtplib.SMTPException, OSError):
                    # smtpd was killed, or refused: not accepted; again
                    try:
                        if client is not None:
                            client.close()
                    except OSError:
                        pass
                    client = None
                    time.sleep(0.05)
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                pass

    def killer():
        rng = random.Random()
        turn = 0
        while not stop.is_set():
            time.sleep(rng.uniform(0.03, 0.2))
            name = VICTIMS[turn % len(VICTIMS)]
            procs = [pid for pid, n in victims(inst) if n == name]
            if not procs:
                continue  # being restarted by master: this type again
            try:
                os.kill(rng.choice(procs), signal.SIGKILL)
                kills[name] += 1
                turn += 1
            except OSError:
                pass

    def arrived():
        with sink.lock:
            datas = [m.data for m in sink.messages]
        tokens = []
        for d in datas:
            m = TOKEN_RE.search(d)
            if m:
                tokens.append(m.group(1).decode())
        return tokens

    try:
        threads = [threading.Thread(target=sender) for _ in range(CLIENTS)]
        k = threading.Thread(target=killer)
        k.start()
        for t in threads:
            t.start()
        deadline = time.time() + 300
        for t in threads:
            t.join(max(1, deadline - time.time()))
        stop.set()
        k.join()
        assert not any(t.is_alive() for t in threads), "senders did not finish in time"
        assert len(accepted) >= MESSAGES * 0.9, f"only {len(accepted)} of {MESSAGES} accepted"
        assert all(kills[v] >= 2 for v in VICTIMS), f"not every daemon was killed twice: {kills}"
        want = set(accepted)

        def all_arrived():
            missing = want - set(arrived())
            if missing:
                inst.cmd("postqueue", "-f")
            return not missing

        helpers.wait_for(all_arrived, timeout=240, interval=1.0,
                         what="every accepted message at the remote sink")
        got = arrived()
        assert want <= set(got)
        print(f"crash relay: accepted {len(want)}, arrived {len(got)} "
              f"({len(got) - len(set(got))} duplicates), kills {kills}")
    finally:
        stop.set()
        sink.stop()
