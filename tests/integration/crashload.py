"""
crashload.py - the load and the killer shared by the crash tests
(test_crash.py: Maildir delivery; test_crash_relay.py: relay to a sink).

    accepted, kills = crashload.run(inst, messages, rcpt, victims, tag)

sends `messages` messages to rcpt over SMTP from CLIENTS clients (each
carrying an `X-Token:` header; a message smtpd did not accept is sent
again), while the daemons named in victims, by turns, are killed with
SIGKILL at random moments.  Returns the tokens that got a 250 and the kill
count per daemon, after asserting that at least 90 % were accepted and
that every victim was killed at least twice.

Touches:  the instance's port 25; kills only that instance's daemons
          (children of the master the test started), by pid.
Security: loopback only; the load is bounded in count and time (600 s).
"""

import os
import random
import re
import signal
import smtplib
import threading
import time

CLIENTS = 4
TOKEN_RE = re.compile(rb"^X-Token: (\S+)$", re.M)


def tokens_in(datas):
    """The X-Token values of the given message texts (bytes)."""
    out = []
    for d in datas:
        m = TOKEN_RE.search(d)
        if m:
            out.append(m.group(1).decode())
    return out


def _victims(inst, names):
    """(pid, program) of the daemons we may kill."""
    found = []
    for pid, argv in inst.processes():
        if argv and os.path.basename(argv[0]) in names:
            found.append((pid, os.path.basename(argv[0])))
    return found


def run(inst, messages, rcpt, victims, tag):
    port = inst.port(25)
    accepted, lock = [], threading.Lock()
    stop = threading.Event()
    kills = {v: 0 for v in victims}
    counter = iter(range(messages))
    counter_lock = threading.Lock()

    def sender():
        client = None
        while True:
            with counter_lock:
                n = next(counter, None)
            if n is None:
                break
            token = f"{tag}{n:06d}x{random.randrange(1 << 30):08x}"
            msg = (f"From: load@client.test\r\nTo: {rcpt}\r\n"
                   f"Subject: crash {n}\r\nX-Token: {token}\r\n\r\nbody {n}\r\n")
            for _attempt in range(50):
                try:
                    if client is None:
                        client = smtplib.SMTP("127.0.0.1", port, timeout=30)
                    client.sendmail("load@client.test", [rcpt], msg)
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
            name = victims[turn % len(victims)]
            procs = [pid for pid, n in _victims(inst, victims) if n == name]
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
    try:
        for t in threads:
            t.join(max(1, deadline - time.time()))
    finally:
        stop.set()
        k.join()
    assert not any(t.is_alive() for t in threads), "senders did not finish in time"
    assert len(accepted) >= messages * 0.9, f"only {len(accepted)} of {messages} accepted"
    assert all(kills[v] >= 2 for v in victims), f"not every daemon was killed twice: {kills}"
    return accepted, kills
