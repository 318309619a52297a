"""
test_crash_relay.py - DESIGN.md invariant 1 on the relay path: messages for
a remote domain go in over SMTP from several clients while smtpd, qmgr and
the smtp client are killed with SIGKILL at random moments; afterwards every
message that got a 250 must have reached the remote server (an aiosmtpd
sink on 127.0.0.2).  A duplicate is tolerated (a kill between the remote
250 and the DONE mark), a loss is not.

Touches:  one instance and one sink; kills only that instance's daemons
          (children of the master this test started), by pid (crashload.py).
Security: loopback only; the load is bounded in count and time.
Env:      TERN_CRASH_RELAY_MESSAGES (default 3000; `make check-long` uses 20000).
"""

import os

import crashload
import helpers
from peers.sink import Sink

MESSAGES = int(os.environ.get("TERN_CRASH_RELAY_MESSAGES", "3000"))


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

    def arrived():
        with sink.lock:
            datas = [m.data for m in sink.messages]
        return crashload.tokens_in(datas)

    try:
        inst.start()
        accepted, kills = crashload.run(inst, MESSAGES, "far@remote.test",
                                        ("smtpd", "qmgr", "smtp"), "r")
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
        sink.stop()
