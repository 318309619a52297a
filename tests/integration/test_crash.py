"""
test_crash.py - DESIGN.md invariant 1 under fire: a few thousand messages
go in over SMTP from several clients while smtpd, qmgr and local are killed
with SIGKILL at random moments; afterwards every message that got a 250 must
be in the Maildir (a duplicate is tolerated, a loss is not).

Touches:  one instance; kills only that instance's daemons (children of the
          master this test started), by pid.
Security: loopback only; the load is bounded in count and time.
Env:      TERN_CRASH_MESSAGES (default 5000; `make check-long` uses 20000).
"""

import os
import random
import re
import signal
import smtplib
import threading
import time

import helpers

MESSAGES = int(os.environ.get("TERN_CRASH_MESSAGES", "5000"))
CLIENTS = 4
VICTIMS = ("smtpd", "qmgr", "local")


def victims(inst):
    """pids of the daemons we may kill, by program name."""
    found = []
    for pid, argv in inst.processes():
        if argv and os.path.basename(argv[0]) in VICTIMS:
            found.append((pid, os.path.basename(argv[0])))
    return found


def delivered_tokens(inst):
    new = inst.dir / "mail" / "example.test" / "crash" / "new"
    tokens = []
    if new.is_dir():
        for f in new.iterdir():
            m = re.search(rb"^X-Token: (\S+)$", f.read_bytes(), re.M)
            if m:
                tokens.append(m.group(1).decode())
    return tokens


def test_kill9_loses_nothing(instance):
    inst = instance
    for name, value in (("minimal_backoff_time", "1s"), ("maximal_backoff_time", "2s"),
                        ("queue_run_delay", "1s"), ("service_throttle_time", "2s")):
        inst.set_param(name, value)
    helpers.check(inst.tern("user", "add", "crash@example.test", "pw"))
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
            token = f"t{n:06d}x{random.randrange(1 << 30):08x}"
            msg = (f"From: load@client.test\r\nTo: crash@example.test\r\n"
                   f"Subject: crash {n}\r\nX-Token: {token}\r\n\r\nbody {n}\r\n")
            for _attempt in range(50):
                try:
                    if client is None:
                        client = smtplib.SMTP("127.0.0.1", port, timeout=30)
                    client.sendmail("load@client.test", ["crash@example.test"], msg)
                    with lock:
                        accepted.append(token)
                    break
                except (smtplib.SMTPException, OSError):
                    # smtpd was killed, or refused: this message was not
                    # accepted; reconnect and try it again.
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
        # The daemon types take turns (so each is killed however fast the
        # load runs); which process of that type, and when, is random.
        rng = random.Random()
        turn = 0
        while not stop.is_set():
            time.sleep(rng.uniform(0.03, 0.2))
            name = VICTIMS[turn % len(VICTIMS)]
            procs = [pid for pid, n in victims(inst) if n == name]
            if not procs:
                continue  # being restarted by master: try this type again
            try:
                os.kill(rng.choice(procs), signal.SIGKILL)
                kills[name] += 1
                turn += 1
            except OSError:
                pass

    threads = [threading.Thread(target=sender) for _ in range(CLIENTS)]
    k = threading.Thread(target=killer)
    k.start()
    for t in threads:
        t.start()
    deadline = time.time() + 600
    for t in threads:
        t.join(max(1, deadline - time.time()))
    stop.set()
    k.join()
    assert not any(t.is_alive() for t in threads), "senders did not finish in time"
    assert len(accepted) >= MESSAGES * 0.9, f"only {len(accepted)} of {MESSAGES} accepted"
    assert all(kills[v] >= 2 for v in VICTIMS), f"not every daemon was killed twice: {kills}"

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
