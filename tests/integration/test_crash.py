"""
test_crash.py - DESIGN.md invariant 1 under fire: a few thousand messages
go in over SMTP from several clients while smtpd, qmgr and local are killed
with SIGKILL at random moments; afterwards every message that got a 250 must
be in the Maildir (a duplicate is tolerated, a loss is not).

Touches:  one instance; kills only that instance's daemons (children of the
          master this test started), by pid (crashload.py).
Security: loopback only; the load is bounded in count and time.
Env:      TERN_CRASH_MESSAGES (default 5000; `make check-long` uses 20000).
"""

import os

import crashload
import helpers

MESSAGES = int(os.environ.get("TERN_CRASH_MESSAGES", "5000"))


def delivered_tokens(inst):
    new = inst.dir / "mail" / "example.test" / "crash" / "new"
    return crashload.tokens_in(f.read_bytes() for f in new.iterdir()) if new.is_dir() else []


def test_kill9_loses_nothing(instance):
    inst = instance
    for name, value in (("minimal_backoff_time", "1s"), ("maximal_backoff_time", "2s"),
                        ("queue_run_delay", "1s"), ("service_throttle_time", "2s")):
        inst.set_param(name, value)
    helpers.check(inst.tern("user", "add", "crash@example.test", "pw"))
    inst.start()
    accepted, kills = crashload.run(inst, MESSAGES, "crash@example.test",
                                    ("smtpd", "qmgr", "local"), "t")
    want = set(accepted)

    def all_delivered():
        missing = want - set(delivered_tokens(inst))
        if missing:
            inst.cmd("postqueue", "-f")
        return not missing

    helpers.wait_for(all_delivered, timeout=300, interval=1.0,
                     what="every accepted message in the Maildir")
    got = delivered_tokens(inst)
    assert want <= set(got)
    # Duplicates are tolerated (a kill between delivery and the DONE mark).
    print(f"crash: accepted {len(want)}, delivered {len(got)} "
          f"({len(got) - len(set(got))} duplicates), kills {kills}")
