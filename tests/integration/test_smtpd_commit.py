"""
test_smtpd_commit.py - smtpd's queue-file commits on commit threads
(smtpd_commit_threads, docs/smtpd.md "Performance"): the 250 comes only
once the file is in queue/active/ with its END record; commands pipelined
after the end of data wait for the commit and are answered in order; many
sessions commit at once; a client that leaves while its message is being
committed neither loses the message nor hurts smtpd; a commit that fails
is a 451 4.3.0 and leaves nothing behind; 0 threads (commit on the loop
thread) behaves the same.

Touches:  two instances under /tmp (qmgr and local left out, so accepted
          mail stays in queue/active/); 127.0.0.1 only.
Security: loopback only; load bounded in count and time.
Errors:   a failing test prints the instance's maillog.
"""

import socket
import struct
import threading

import helpers
import pytest

from test_smtpd_util import Made, Raw, greet, queue_ids, queued_id, read_qfile

USER = "alice@example.test"


@pytest.fixture(scope="module")
def mx(request):
    made = Made(params=[("mynetworks", "127.0.0.1/32"), ("smtpd_commit_threads", "2")],
                users=[USER])
    failed = request.session.testsfailed
    yield made
    made.failed = request.session.testsfailed > failed
    made.close()


@pytest.fixture(scope="module")
def mx_sync(request):
    made = Made(params=[("mynetworks", "127.0.0.1/32"), ("smtpd_commit_threads", "0")],
                users=[USER])
    failed = request.session.testsfailed
    yield made
    made.failed = request.session.testsfailed > failed
    made.close()


def smtpd_pids(made):
    return made.inst.service_pids(made.port)


def batch(n, tag):
    """n whole transactions in one write, then QUIT."""
    out = b""
    for i in range(n):
        out += (b"MAIL FROM:<b@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
                b"DATA\r\nSubject: %s %d\r\n\r\nbody %d\r\n.\r\n" % (tag, i, i))
    return out + b"NOOP\r\nQUIT\r\n"


def check_batch(made, n, tag):
    with greet(made.port) as c:
        c.send(batch(n, tag))
        for i in range(n):
            assert c.reply() == "250 2.1.0 Ok", i
            assert c.reply() == "250 2.1.5 Ok", i
            assert c.reply().startswith("354 "), i
            qid = queued_id(c.reply())
            # the 250 means the file is in active/, complete, right now
            env = read_qfile(made.inst.dir / "queue" / "active" / qid)
            assert b"Subject: %s %d\n" % (tag, i) in env["content"]
        assert c.reply() == "250 2.0.0 Ok"
        assert c.reply() == "221 2.0.0 Bye"


def test_pipelined_transactions_answered_in_order(mx):
    check_batch(mx, 8, b"pipe")


def test_pipelined_bdat_then_commands(mx):
    part = b"Subject: chunk\r\n\r\nchunk body\r\n"
    with greet(mx.port) as c:
        c.send(b"MAIL FROM:<b@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
               b"BDAT %d LAST\r\n%sRSET\r\nMAIL FROM:<>\r\nNOOP\r\n" % (len(part), part))
        assert c.reply() == "250 2.1.0 Ok"
        assert c.reply() == "250 2.1.5 Ok"
        qid = queued_id(c.reply())
        assert (mx.inst.dir / "queue" / "active" / qid).exists()
        assert c.reply() == "250 2.0.0 Ok"
        assert c.reply() == "250 2.1.0 Ok"
        assert c.reply() == "250 2.0.0 Ok"


def test_many_sessions_commit_at_once(mx):
    pids = smtpd_pids(mx)
    errors, qids, lock = [], [], threading.Lock()

    def client(k):
        try:
            with greet(mx.port) as c:
                c.send(batch(5, b"many%d" % k))
                got = []
                for _ in range(5):
                    for _ in range(3):
                        c.reply()
                    got.append(queued_id(c.reply()))
                assert c.reply() == "250 2.0.0 Ok"
                with lock:
                    qids.extend(got)
        except (AssertionError, OSError) as e:
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(set(qids)) == 100
    active = set(queue_ids(mx.inst))
    assert set(qids) <= active
    assert smtpd_pids(mx) == pids


def find_subject(made, subject):
    """Queue IDs in active/ whose content has this Subject line."""
    found = []
    for qid in queue_ids(made.inst):
        path = made.inst.dir / "queue" / "active" / qid
        if path.exists() and b"\nSubject: " + subject + b"\n" in path.read_bytes():
            found.append(qid)
    return found


def test_client_leaving_mid_commit_keeps_the_message(mx):
    pids = smtpd_pids(mx)
    for i in range(20):
        c = greet(mx.port)
        # the end of data and the close leave together: smtpd reads the
        # end, commits, and only then sees the connection is gone
        c.send(b"MAIL FROM:<b@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
               b"DATA\r\nSubject: gone %d\r\n\r\nbye\r\n.\r\nNOOP\r\n" % i)
        c.sock.shutdown(socket.SHUT_WR)
        c.close()
    for i in range(20):
        # 127.0.0.1 is "localhost": smtpd looks the client up (smtpd_peername_lookup),
        # and the resolver answers 127.0.0.1 -> localhost -> 127.0.0.1 itself.
        mx.wait_log(r"disconnect from localhost\[127\.0\.0\.1\]")
        subject = b"gone %d" % i

        def present(s=subject):
            return find_subject(mx, s)
        assert len(helpers.wait_for(present, 10, what=f"queue file of {subject!r}")) == 1
    assert smtpd_pids(mx) == pids


def test_client_reset_mid_commit_does_not_hurt_smtpd(mx):
    pids = smtpd_pids(mx)
    body = b"x" * 4000 + b"\r\n"

    def resetter(k):
        for i in range(10):
            try:
                c = greet(mx.port)
                # a reply backlog the client never reads, so smtpd is still
                # writing when the reset comes
                c.send(b"HELP\r\n" * 200 +
                       b"MAIL FROM:<b@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
                       b"DATA\r\nSubject: reset %d %d\r\n\r\n%s.\r\n" % (k, i, body))
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  struct.pack("ii", 1, 0))
                c.close()
            except OSError:
                pass

    threads = [threading.Thread(target=resetter, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    # smtpd is the same process and still serves
    check_batch(mx, 2, b"after-reset")
    assert smtpd_pids(mx) == pids
    assert "panic" not in mx.log()


def test_commit_failure_is_451_and_leaves_nothing(mx):
    active = mx.inst.dir / "queue" / "active"
    incoming = mx.inst.dir / "queue" / "incoming"
    mode = active.stat().st_mode & 0o7777
    active.chmod(0o500)  # the rename into active/ fails
    try:
        with greet(mx.port) as c:
            assert c.cmd("MAIL FROM:<a@remote.example>") == "250 2.1.0 Ok"
            assert c.cmd(f"RCPT TO:<{USER}>") == "250 2.1.5 Ok"
            assert c.cmd("DATA").startswith("354 ")
            c.send(b"Subject: fails\r\n\r\nx\r\n.\r\nNOOP\r\n")
            assert c.reply() == "451 4.3.0 Error: queue file write error"
            assert c.reply() == "250 2.0.0 Ok"
    finally:
        active.chmod(mode)
    mx.wait_log(r"cannot queue the message from localhost\[127\.0\.0\.1\]: .*rename")
    assert list(incoming.iterdir()) == []
    check_batch(mx, 1, b"after-failure")


def test_no_commit_threads(mx_sync):
    check_batch(mx_sync, 5, b"sync")
    with Raw(mx_sync.port) as c:
        assert c.reply().startswith("220 ")
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
