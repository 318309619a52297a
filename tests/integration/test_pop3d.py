"""
test_pop3d.py - pop3d end to end: mail sent with smtplib through smtpd,
qmgr and local, read back with Python's poplib over plain POP3, STLS and
port 995: every command with good and bad arguments, TOP 0 and n, UIDL
stability across sessions and deliveries, RSET undoing DELE, deletions only
after QUIT (a dropped connection deletes nothing), keep mode leaving the
Maildir untouched, hide mode, the maildrop lock ([IN-USE]), pipelining,
malformed and overlong lines, SASL PLAIN/LOGIN and SCRAM-SHA-256 (with
test_auth.py's hashlib client), login failure limits, and
that the login process is jailed away from the Maildirs.

Touches:  instance directories under /tmp (see conftest.py), 127.0.0.1.
"""

import base64
import os
import poplib
import smtplib
import socket
import ssl
import time

import pytest

from helpers import check, wait_for
from test_auth import AUTH_CHALLENGE, AUTH_FAIL, AUTH_OK, scram_client

USER = "bob@example.test"
PW = "pw-bob"


def maildir(inst, addr=USER):
    local, domain = addr.split("@")
    return inst.dir / "mail" / domain.lower() / local.lower()


def files(inst, addr=USER):
    d = maildir(inst, addr)
    return sorted(p.name for sub in ("new", "cur") if (d / sub).is_dir()
                  for p in (d / sub).iterdir())


def snapshot(inst, addr=USER):
    d = maildir(inst, addr)
    return {str(p.relative_to(d)): p.read_bytes()
            for sub in ("new", "cur") if (d / sub).is_dir() for p in (d / sub).iterdir()}


def send(inst, body, rcpt=USER):
    with smtplib.SMTP("127.0.0.1", inst.port(25), timeout=30) as s:
        s.sendmail("alice@sender.test", [rcpt], body)


def deliver(inst, bodies, rcpt=USER):
    """Send and wait for each in turn: parallel local processes could
    otherwise store them out of order, and the tests rely on the order."""
    for b in bodies:
        before = len(files(inst, rcpt))
        send(inst, b, rcpt)
        wait_for(lambda: len(files(inst, rcpt)) >= before + 1, 20,
                 what="delivery to the Maildir")


def body_of(lines):
    """The body of a retrieved message (after the first empty line)."""
    return lines[lines.index(b"") + 1:]


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def login(inst, user=USER, pw=PW, stls=False):
    p = poplib.POP3("127.0.0.1", inst.port(110), timeout=15)
    if stls:
        p.stls(context=tls_ctx())
    p.user(user)
    p.pass_(pw)
    return p


def raw(inst, timeout=15):
    s = socket.create_connection(("127.0.0.1", inst.port(110)), timeout=timeout)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    return s, f


@pytest.fixture
def pop(instance):
    check(instance.tern("user", "add", USER, PW), "user add")
    check(instance.tern("user", "add", "carol@example.test", "pw-carol"), "user add")
    instance.start()
    wait_for(lambda: (instance.dir / "queue" / "private" / "pop3d-mail").exists(), 15,
             what="pop3d-mail socket")
    return instance


def test_capa_and_greeting(pop):
    p = poplib.POP3("127.0.0.1", pop.port(110), timeout=15)
    assert p.getwelcome().startswith(b"+OK mx.example.test POP3 tern ready")
    capa = p.capa()
    for c in ("TOP", "UIDL", "USER", "RESP-CODES", "PIPELINING", "STLS"):
        assert c in capa
    assert capa["SASL"] == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    assert capa["IMPLEMENTATION"] == ["tern"]
    assert p.quit().startswith(b"+OK")


def test_every_command(pop):
    deliver(pop, ["Subject: one\r\n\r\nfirst\r\n.leading dot\r\n",
                  "Subject: two\r\n\r\na\r\nb\r\nc\r\n"])
    p = login(pop)
    count, octets = p.stat()
    assert count == 2
    resp, lst, _ = p.list()
    sizes = [int(x.split()[1]) for x in lst]
    assert sum(sizes) == octets
    assert p.list(2).split()[1] == b"2"
    # sizes are what RETR delivers (CRLF lines), and dot-stuffing is undone
    for n in (1, 2):
        resp, lines, got = p.retr(n)
        assert resp == b"+OK %d octets" % sizes[n - 1]
        assert got == sizes[n - 1]
        assert sum(len(x) + 2 for x in lines) == sizes[n - 1]
    assert body_of(p.retr(1)[1]) == [b"first", b".leading dot"]
    assert body_of(p.top(2, 0)[1]) == []
    assert body_of(p.top(2, 2)[1]) == [b"a", b"b"]
    assert body_of(p.top(2, 99)[1]) == [b"a", b"b", b"c"]
    uidls = p.uidl()[1]
    assert len(uidls) == 2
    assert p.uidl(1).split()[2] == uidls[0].split()[1]
    assert p.noop().startswith(b"+OK")
    # bad arguments: -ERR and the session goes on
    for cmd in ("LIST 3", "LIST 0", "LIST x", "RETR", "RETR 9", "TOP 1", "TOP 1 -1",
                "DELE 0", "UIDL 5", "STAT 1", "USER x", "PASS y", "STLS", "FOO",
                "APOP a b"):
        with pytest.raises(poplib.error_proto):
            p._shortcmd(cmd)
    assert p.dele(1).startswith(b"+OK")
    with pytest.raises(poplib.error_proto):
        p.dele(1)
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    assert p.stat() == (1, sizes[1])
    assert p.rset().startswith(b"+OK")
    assert p.stat() == (2, octets)
    assert p.quit().startswith(b"+OK")
    assert len(files(pop)) == 2


def test_authorization_state_errors(pop):
    p = poplib.POP3("127.0.0.1", pop.port(110), timeout=15)
    for cmd in ("STAT", "LIST", "RETR 1", "PASS x", "APOP a b", "USER", "BOGUS"):
        with pytest.raises(poplib.error_proto):
            p._shortcmd(cmd)
    assert p.noop().startswith(b"+OK")
    p.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.pass_("wrong")
    p.user(USER)
    assert p.pass_(PW).startswith(b"+OK")
    p.quit()


def test_delete_only_after_quit(pop):
    deliver(pop, ["Subject: a\r\n\r\n1\r\n", "Subject: b\r\n\r\n2\r\n"])
    p = login(pop)
    p.dele(1)
    p.dele(2)
    p.file.close()
    p.sock.close()  # dropped: no UPDATE state
    pop.wait_log(r"disconnect without QUIT: user=<bob@example.test>")
    assert len(files(pop)) == 2
    p = login(pop)
    assert p.stat()[0] == 2
    p.dele(1)
    assert p.quit() == b"+OK Logging out, 1 message(s) deleted"
    assert len(files(pop)) == 1
    p = login(pop)
    assert p.stat()[0] == 1
    p.quit()


def test_keep_mode_untouched_and_uidl_stable(pop):
    deliver(pop, ["Subject: k%d\r\n\r\nbody %d\r\n" % (i, i) for i in range(3)])
    before = snapshot(pop)
    p = login(pop)
    u1 = p.uidl()[1]
    for i in range(1, 4):
        p.retr(i)
        p.top(i, 1)
    p.quit()
    assert snapshot(pop) == before
    p = login(pop)
    assert p.uidl()[1] == u1
    p.quit()
    # a new delivery keeps the old UIDLs and adds one at the end
    deliver(pop, ["Subject: k3\r\n\r\nlater\r\n"])
    p = login(pop)
    u2 = p.uidl()[1]
    assert u2[:3] == u1
    assert len(u2) == 4
    # UIDLs survive deletion of others and a rename by another reader
    p.dele(1)
    p.quit()
    d = maildir(pop)
    for name in os.listdir(d / "new"):
        os.rename(d / "new" / name, d / "cur" / (name + ":2,S"))
    p = login(pop)
    ids = [x.split()[1] for x in p.uidl()[1]]
    assert ids == [x.split()[1] for x in u2[1:]]
    assert len(p.retr(1)[1]) > 0
    p.quit()


def test_mail_during_session_appears_next_time(pop):
    deliver(pop, ["Subject: first\r\n\r\nx\r\n"])
    p = login(pop)
    assert p.stat()[0] == 1
    deliver(pop, ["Subject: second\r\n\r\ny\r\n"])
    assert p.stat()[0] == 1
    assert len(p.list()[1]) == 1
    p.quit()
    p = login(pop)
    assert p.stat()[0] == 2
    p.quit()


def test_in_use_lock(pop):
    deliver(pop, ["Subject: x\r\n\r\nx\r\n"])
    p = login(pop)
    q = poplib.POP3("127.0.0.1", pop.port(110), timeout=15)
    q.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        q.pass_(PW)
    # another user is not affected
    r = login(pop, "carol@example.test", "pw-carol")
    assert r.stat() == (0, 0)
    r.quit()
    p.quit()
    q = login(pop)
    assert q.stat()[0] == 1
    q.quit()


def test_stls_and_pop3s(pop):
    deliver(pop, ["Subject: tls\r\n\r\n" + "line of text\r\n" * 5000])
    p = login(pop, stls=True)
    size = p.list(1).split()[2]
    resp, lines, octets = p.retr(1)
    assert octets == int(size)
    assert "STLS" not in p.capa()
    p.quit()
    p = poplib.POP3_SSL("127.0.0.1", pop.port(995), timeout=15, context=tls_ctx())
    assert "STLS" not in p.capa()
    p.user(USER)
    p.pass_(PW)
    assert p.retr(1)[2] == octets
    p.dele(1)
    p.quit()
    assert files(pop) == []
    # STLS discards commands pipelined before the handshake
    s = socket.create_connection(("127.0.0.1", pop.port(110)), timeout=15)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"STLS\r\nUSER injected\r\n")
    assert f.readline().startswith(b"+OK")
    t = tls_ctx().wrap_socket(s, server_hostname="mx.example.test")
    tf = t.makefile("rb")
    t.sendall(b"PASS x\r\n")
    assert tf.readline().startswith(b"-ERR No USER")
    t.sendall(b"QUIT\r\n")
    assert tf.readline().startswith(b"+OK")
    t.close()


def test_pipelining(pop):
    deliver(pop, ["Subject: p%d\r\n\r\nbody%d\r\n" % (i, i) for i in range(3)])
    s, f = raw(pop)
    s.sendall(("USER %s\r\nPASS %s\r\nSTAT\r\nLIST\r\nRETR 2\r\nTOP 3 0\r\nDELE 1\r\n"
               "NOOP\r\nQUIT\r\n" % (USER, PW)).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    lines = data.split(b"\r\n")
    assert lines[0] == b"+OK Send PASS"
    assert lines[1].startswith(b"+OK Logged in, 3 messages")
    assert lines[2].startswith(b"+OK 3 ")
    assert data.count(b"\r\nbody") == 1  # RETR 2; TOP 3 0 sends no body
    assert b"Subject: p" in data
    assert data.endswith(b"+OK Logging out, 1 message(s) deleted\r\n")
    assert len(files(pop)) == 2


def test_malformed_and_overlong(pop):
    s, f = raw(pop)
    s.sendall(b"X" * 5000 + b"\r\n")
    assert f.readline().startswith(b"-ERR Line too long")
    s.sendall(b"USER a\x00b\r\n")
    assert f.readline().startswith(b"-ERR")
    s.sendall(b"\r\n")
    assert f.readline().startswith(b"-ERR")
    s.sendall(("USER %s\nPASS %s\n" % (USER, PW)).encode())  # bare LF works
    assert f.readline().startswith(b"+OK")
    assert f.readline().startswith(b"+OK Logged in")
    s.sendall(b"LIST " + b"9" * 4000 + b"\r\n")
    assert f.readline().startswith(b"-ERR Line too long")
    s.sendall(b"RETR \xff\r\n")
    assert f.readline().startswith(b"-ERR")
    s.sendall(b"STAT\r\n")
    assert f.readline().startswith(b"+OK 0 0")
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()


def test_sasl_plain_and_login(pop):
    s, f = raw(pop)
    s.sendall(b"AUTH PLAIN " + base64.b64encode(("\0%s\0%s" % (USER, PW)).encode()) + b"\r\n")
    assert f.readline().startswith(b"+OK Logged in")
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()
    s, f = raw(pop)
    s.sendall(b"AUTH LOGIN\r\n")
    assert f.readline().startswith(b"+ ")
    s.sendall(base64.b64encode(USER.encode()) + b"\r\n")
    assert f.readline().startswith(b"+ ")
    s.sendall(base64.b64encode(PW.encode()) + b"\r\n")
    assert f.readline().startswith(b"+OK Logged in")
    s.sendall(b"QUIT\r\n")
    f.readline()
    s.close()
    s, f = raw(pop)
    s.sendall(b"AUTH CRAM-MD5\r\n")
    assert f.readline().startswith(b"-ERR")
    s.sendall(b"AUTH PLAIN\r\n")
    assert f.readline().startswith(b"+ ")
    s.sendall(b"*\r\n")
    assert f.readline().startswith(b"-ERR [AUTH]")
    s.sendall(b"NOOP\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()


class Pop3Sasl:
    """test_auth.scram_client's view (start/cont answering (type, attrs))
    of a POP3 AUTH exchange (RFC 5034) on a raw connection."""

    def __init__(self, sock, f):
        self.sock, self.f = sock, f

    def _answer(self):
        line = self.f.readline().rstrip(b"\r\n").decode()
        if line.startswith("+OK"):
            return AUTH_OK, {"line": line}
        if line == "+" or line.startswith("+ "):
            return AUTH_CHALLENGE, {"challenge": line[2:]}
        return AUTH_FAIL, {"line": line, "temporary": int("[SYS/TEMP]" in line)}

    def start(self, session, mech, initial=None, client=None):
        self.sock.sendall(f"AUTH {mech}{' ' + initial if initial else ''}\r\n".encode())
        return self._answer()

    def cont(self, session, response):
        self.sock.sendall(response.encode() + b"\r\n")
        return self._answer()


def stls_raw(inst, timeout=15):
    s, f = raw(inst, timeout)
    s.sendall(b"STLS\r\n")
    assert f.readline().startswith(b"+OK")
    s = tls_ctx().wrap_socket(s)
    return s, s.makefile("rb")


def test_sasl_scram_sha256(pop):
    """AUTH SCRAM-SHA-256 end to end through pop3d and the auth service,
    with the hashlib/hmac client of test_auth.py, over STLS and plain."""
    deliver(pop, ["Subject: scram\r\n\r\nvia SCRAM\r\n"])
    for connect in (stls_raw, raw):
        s, f = connect(pop)
        t, r = scram_client(Pop3Sasl(s, f), 1, USER, PW)
        assert t == AUTH_OK and r["line"].startswith("+OK Logged in, 1 messages"), r
        s.sendall(b"RETR 1\r\n")
        assert f.readline().startswith(b"+OK")
        lines = []
        while (line := f.readline()) != b".\r\n":
            lines.append(line)
        assert b"via SCRAM\r\n" in lines
        s.sendall(b"QUIT\r\n")
        assert f.readline().startswith(b"+OK")
        s.close()
    # a wrong password fails at the proof; the session goes on
    s, f = stls_raw(pop)
    t, r = scram_client(Pop3Sasl(s, f), 1, USER, "not the password")
    assert t == AUTH_FAIL and r["line"].startswith("-ERR [AUTH]"), r
    s.sendall(b"NOOP\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()
    pop.wait_log(r"pop3d login: user=<bob@example\.test>, client=127\.0\.0\.1, "
                 r"method=SCRAM-SHA-256")
    pop.wait_log(r"login: user=<bob@example\.test>, method=SCRAM-SHA-256, client=127\.0\.0\.1, TLS")


def test_large_message_slow_reader(pop):
    """A 3 MB message to a client that waits before reading: the mail
    process streams it as the queue drains, and over STLS the login
    process's relay pauses and resumes on the drain callbacks; every
    byte arrives, in order, plain and over TLS."""
    body = "".join("line %06d %s\r\n" % (i, "x" * 40) for i in range(60000))
    deliver(pop, ["Subject: big\r\n\r\n" + body])
    for connect in (raw, stls_raw):
        s, f = connect(pop, timeout=60)
        s.sendall(("USER %s\r\nPASS %s\r\n" % (USER, PW)).encode())
        assert f.readline().startswith(b"+OK")
        assert f.readline().startswith(b"+OK Logged in, 1 messages")
        s.sendall(b"RETR 1\r\nNOOP\r\n")
        time.sleep(1.0)  # let every queue on the way fill up
        first = f.readline()
        assert first.startswith(b"+OK") and b"octets" in first
        lines = []
        while (line := f.readline()) != b".\r\n":
            assert line, "connection closed inside the message"
            lines.append(line)
        assert lines[-1] == b"line 059999 " + b"x" * 40 + b"\r\n"
        got = b"".join(lines)
        assert len(got) == int(first.split()[1])
        assert got.endswith(body.encode())
        assert f.readline().startswith(b"+OK")  # the pipelined NOOP
        s.sendall(b"QUIT\r\n")
        assert f.readline().startswith(b"+OK")
        s.close()


def test_login_failures_limited(pop):
    s, f = raw(pop, timeout=60)
    t0 = time.time()
    for i in range(3):
        s.sendall(("USER %s\r\nPASS wrong%d\r\n" % (USER, i)).encode())
        assert f.readline().startswith(b"+OK")
        assert f.readline().startswith(b"-ERR [AUTH]")
    # the auth service delays failures; the third ends the session
    assert time.time() - t0 >= 1.0
    assert f.readline() == b""
    s.close()


def test_hide_mode(pop):
    pop.set_param("pop3d_delete_mode", "hide")
    check(pop.tern("reload"), "reload")
    time.sleep(1.5)
    deliver(pop, ["Subject: h1\r\n\r\nx\r\n", "Subject: h2\r\n\r\ny\r\n"])
    p = login(pop)
    keep = p.uidl(2).split()[2]
    p.dele(1)
    p.quit()
    names = files(pop)
    assert len(names) == 2  # still there for IMAP, marked Seen
    assert any(n.endswith(":2,S") for n in names)
    p = login(pop)
    assert p.stat()[0] == 1
    assert p.uidl(1).split()[2] == keep
    p.quit()


def test_login_process_is_jailed(pop):
    # the tests run as root (as `make test` does), so master passes -C
    assert os.geteuid() == 0
    jail = str(pop.dir / "queue")
    login(pop).quit()  # the login process has done its start-up
    pids = pop.service_pids(pop.port(110)) + pop.service_pids(pop.port(995))
    assert len(pids) >= 2
    for pid in pids:
        wait_for(lambda: os.readlink(f"/proc/{pid}/root") == jail, 10,
                 what=f"pid {pid} in the jail {jail}")
    # the mail process is not jailed: it serves the Maildirs
    mail = pop.service_pids("pop3d-mail")
    assert mail and all(os.readlink(f"/proc/{p}/root") == "/" for p in mail)
