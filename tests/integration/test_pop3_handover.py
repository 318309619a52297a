"""
test_pop3_handover.py - the pop3d hand-over protocol spoken directly to
private/pop3d-mail, as a login process taken over in its jail would: a
forged, missing, foreign (another user's or service's) or reused login
token gets IPC_ERROR and the passed client socket is closed without a
byte, and no mailbox is opened; the token a real login got from the auth
service opens exactly that user's session once; poplib logins (plain and
STLS) still work.

Touches:  instance directories under /tmp (see conftest.py); the
          instance's queue/private/pop3d-mail and queue/private/auth
          sockets; 127.0.0.1.
"""

import os
import poplib
import smtplib
import socket
import ssl

import pytest

import ipcproto as ip
from helpers import check, wait_for

POP3D_LOGIN, POP3D_LOGIN_OK = ip.TYPE_FIRST, ip.TYPE_FIRST + 1
AUTH_PASS, AUTH_OK = 16, 21
BOB, BOB_PW = "bob@example.test", "pw-bob"
CAROL, CAROL_PW = "carol@example.test", "pw-carol"


@pytest.fixture
def pop(instance):
    check(instance.tern("user", "add", BOB, BOB_PW), "user add")
    check(instance.tern("user", "add", CAROL, CAROL_PW), "user add")
    instance.start()
    wait_for(lambda: (instance.dir / "queue" / "private" / "pop3d-mail").exists(), 15,
             what="pop3d-mail socket")
    with smtplib.SMTP("127.0.0.1", instance.port(25), timeout=30) as s:
        s.sendmail("alice@sender.test", [CAROL], "Subject: for carol\r\n\r\nsecret\r\n")
    carol_new = instance.dir / "mail" / "example.test" / "carol" / "new"
    wait_for(lambda: carol_new.is_dir() and any(carol_new.iterdir()), 20,
             what="delivery to carol")
    return instance


def login_token(inst, user, pw, service="pop3d"):
    """The one-time token the auth service gives a successful login."""
    c = ip.connect_unix(inst.dir / "queue" / "private" / "auth", "auth")
    try:
        c.send(AUTH_PASS, 1, {"service": service, "user": user, "password": pw.encode(),
                              "client": "127.0.0.1"})
        t, _, attrs = c.recv()
        assert t == AUTH_OK, attrs
        return attrs["token"]
    finally:
        c.close()


def handover(inst, attrs):
    """Send POP3D_LOGIN with one end of a socketpair as the client; return
    (reply type, reply attrs, our end of the pair)."""
    c = ip.connect_unix(inst.dir / "queue" / "private" / "pop3d-mail", "pop3d")
    ours, theirs = socket.socketpair()
    try:
        socket.send_fds(c.sock, [ip.build(POP3D_LOGIN, 1, attrs)], [theirs.fileno()])
    finally:
        theirs.close()
    try:
        t, _, r = c.recv()
    finally:
        c.close()
    ours.settimeout(10)
    return t, r, ours


def login_attrs(user, token=None):
    attrs = {"user": user, "client": "192.0.2.66", "port": 4242, "tls": 0,
             "method": "USER", "pending": b""}
    if token is not None:
        attrs["token"] = token
    return attrs


def assert_refused(inst, attrs):
    t, r, s = handover(inst, attrs)
    assert t == ip.ERROR, (t, r)
    assert s.recv(4096) == b"", "the mail process spoke to a refused client"
    s.close()


def test_forged_tokens_refused(pop):
    inst = pop
    before = sorted(os.listdir(inst.dir / "mail" / "example.test" / "carol" / "new"))
    # no token at all, a made-up one, garbage
    assert_refused(inst, login_attrs(CAROL))
    assert_refused(inst, login_attrs(CAROL, os.urandom(16).hex()))
    assert_refused(inst, login_attrs(CAROL, "x" * 32))
    # bob's genuine token does not open carol's mailbox ...
    tok = login_token(inst, BOB, BOB_PW)
    assert_refused(inst, login_attrs(CAROL, tok))
    # ... nor does a token issued to another service (smtpd)
    assert_refused(inst, login_attrs(CAROL, login_token(inst, CAROL, CAROL_PW, "smtpd")))
    # bob's token opens bob's session, once
    t, r, s = handover(inst, login_attrs(BOB, tok))
    assert t == POP3D_LOGIN_OK, (t, r)
    f = s.makefile("rwb")
    assert f.readline().startswith(b"+OK Logged in, 0 messages")
    f.write(b"QUIT\r\n")
    f.flush()
    assert f.readline().startswith(b"+OK")
    s.close()
    assert_refused(inst, login_attrs(BOB, tok))
    # carol's mailbox was never opened: nothing listed, nothing locked
    assert sorted(os.listdir(inst.dir / "mail" / "example.test" / "carol" / "new")) == before
    assert not (inst.dir / "mail" / "example.test" / "carol" / "tern-pop3.lock").exists()
    log = inst.maillog()
    assert "hand-over refused: user=<carol@example.test>, client=192.0.2.66" in log
    assert "session: user=<carol@example.test>" not in log
    assert tok not in log


def test_real_logins_still_work(pop):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for stls in (False, True):
        p = poplib.POP3("127.0.0.1", pop.port(110), timeout=15)
        if stls:
            p.stls(context=ctx)
        p.user("Carol")
        p.pass_(CAROL_PW)
        assert p.stat()[0] == 1
        assert b"secret" in b"\n".join(p.retr(1)[1])
        assert p.quit().startswith(b"+OK")
    p = poplib.POP3_SSL("127.0.0.1", pop.port(995), timeout=15, context=ctx)
    p.user(CAROL)
    p.pass_(CAROL_PW)
    assert p.stat()[0] == 1
    p.quit()
    pop.wait_log(r"login: user=<carol@example\.test>, method=USER, client=127\.0\.0\.1, TLS")
