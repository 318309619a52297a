"""
test_auth.py - the auth daemon under master, spoken to through a small
Python client of the "auth" protocol (ipcproto.py): good and bad passwords,
PLAIN and LOGIN exchanges, SCRAM-SHA-256 end to end with an independent
client written here with hashlib/hmac, user-exists queries, brute-force
blocking and unblocking, and that no password hash ever crosses the socket.

Touches:  instance directories under /tmp (see conftest.py); the
          instance's queue/private/auth socket.
"""

import base64
import hashlib
import hmac
import os
import re
import time

import pytest

import ipcproto as ip
from helpers import auth_owner_ids, check, wait_for

AUTH_PASS, AUTH_SASL_START, AUTH_SASL_CONTINUE, AUTH_SASL_END, AUTH_USER = range(16, 21)
AUTH_OK, AUTH_FAIL, AUTH_CHALLENGE, AUTH_USER_FOUND, AUTH_TOKEN = range(21, 26)

PASSWORD = "s3cret pw"


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text, validate=True)


class Auth:
    """A blocking client of private/auth that records every byte it got."""

    def __init__(self, inst):
        self.path = inst.dir / "queue" / "private" / "auth"
        wait_for(self.path.exists, 15, what="private/auth socket")
        self.conn = ip.connect_unix(self.path, "auth")
        self.reqid = 0
        self.raw = b""
        self.token = None  # the login token of the last AUTH_OK

    def call(self, mtype, attrs):
        self.reqid += 1
        self.conn.send(mtype, self.reqid, attrs)
        before = len(self.conn.rbuf)
        rtype, rid, rattrs = self.conn.recv()
        self.raw += ip.build(rtype, rid, rattrs)
        assert rid == self.reqid
        assert before >= 0
        if rtype == AUTH_OK and mtype != AUTH_TOKEN:
            # every login gets a one-time token (kept aside: the tests
            # compare the rest of the reply)
            self.token = rattrs.pop("token")
            assert re.fullmatch(r"[0-9a-f]{32}", self.token), self.token
        return rtype, rattrs

    def password(self, user, password, client="192.0.2.1"):
        return self.call(AUTH_PASS, {"service": "smtpd", "user": user,
                                     "password": password.encode(), "client": client})

    def start(self, session, mech, initial=None, client="192.0.2.1"):
        attrs = {"session": ip.U32(session), "service": "imapd", "mech": mech,
                 "client": client}
        if initial is not None:
            attrs["response"] = initial
        return self.call(AUTH_SASL_START, attrs)

    def cont(self, session, response):
        return self.call(AUTH_SASL_CONTINUE, {"session": ip.U32(session),
                                              "response": response})

    def redeem(self, user, token, service="smtpd"):
        return self.call(AUTH_TOKEN, {"service": service, "user": user, "token": token})

    def close(self):
        self.conn.close()


@pytest.fixture
def auth_instance(instance):
    inst = instance
    inst.set_param("auth_failure_delay", "0s")
    inst.set_param("auth_failure_delay_max", "0s")
    check(inst.tern("user", "add", "alice@example.test", PASSWORD), "user add")
    inst.start()
    return inst


def test_password_good_bad_unknown(auth_instance):
    a = Auth(auth_instance)
    assert a.password("alice@example.test", PASSWORD) == (AUTH_OK, {"user": "alice@example.test"})
    # case folded, bare local part gets $mydomain
    assert a.password("ALICE@Example.TEST", PASSWORD)[1]["user"] == "alice@example.test"
    assert a.password("alice", PASSWORD)[1]["user"] == "alice@example.test"
    t, r = a.password("alice@example.test", "wrong")
    assert t == AUTH_FAIL and r["temporary"] == 0
    t, r = a.password("nobody@example.test", PASSWORD)
    assert t == AUTH_FAIL and r["temporary"] == 0
    t, r = a.password("", PASSWORD)
    assert t == AUTH_FAIL and r["temporary"] == 0
    assert a.call(AUTH_USER, {"user": "Alice@example.test"}) == \
        (AUTH_USER_FOUND, {"found": 1, "user": "alice@example.test"})
    assert a.call(AUTH_USER, {"user": "bob@example.test"})[1]["found"] == 0
    a.close()
    log = auth_instance.maillog()
    assert "smtpd login: user=<alice@example.test>, client=192.0.2.1, method=password" in log
    assert "authentication failed: user=<alice@example.test>" in log
    assert PASSWORD not in log and "wrong" not in log


def test_login_tokens(auth_instance):
    """A login's token is redeemed once, by its user and service only, and
    expires after auth_token_lifetime; never logged."""
    a = Auth(auth_instance)
    assert a.password("alice@example.test", PASSWORD)[0] == AUTH_OK
    tok = a.token
    assert a.redeem("bob@example.test", tok)[0] == AUTH_FAIL
    assert a.redeem("alice@example.test", tok, service="pop3d")[0] == AUTH_FAIL
    forged = tok[:-1] + ("0" if tok[-1] != "0" else "1")
    assert a.redeem("alice@example.test", forged)[0] == AUTH_FAIL
    assert a.redeem("alice@example.test", "not hex")[0] == AUTH_FAIL
    assert a.redeem("alice@example.test", tok) == (AUTH_OK, {"user": "alice@example.test"})
    t, r = a.redeem("alice@example.test", tok)
    assert t == AUTH_FAIL and r["temporary"] == 0
    # SASL logins get one too, bound to the asking service (imapd here)
    a.start(7, "PLAIN", b64(b"\0alice@example.test\0" + PASSWORD.encode()))
    assert a.redeem("alice@example.test", a.token, service="imapd")[0] == AUTH_OK
    # another connection can redeem it (pop3d's mail process does)
    a.password("alice@example.test", PASSWORD)
    b = Auth(auth_instance)
    assert b.redeem("alice@example.test", a.token)[0] == AUTH_OK
    # expiry (auth_token_lifetime = 5s by default)
    a.password("alice@example.test", PASSWORD)
    time.sleep(6.2)
    assert b.redeem("alice@example.test", a.token)[0] == AUTH_FAIL
    # a malformed AUTH_TOKEN ends the connection
    b.conn.send(AUTH_TOKEN, 99, {"service": "smtpd", "user": "alice@example.test"})
    assert b.conn.recv()[0] == ip.ERROR
    b.close()
    a.close()
    log = auth_instance.maillog()
    assert tok not in log and forged not in log
    assert "smtpd login token refused: user=<bob@example.test>" in log


def test_plain_and_login(auth_instance):
    a = Auth(auth_instance)
    t, r = a.start(1, "PLAIN", b64(b"\0alice@example.test\0" + PASSWORD.encode()))
    assert (t, r) == (AUTH_OK, {"session": 1, "user": "alice@example.test"})
    t, r = a.start(2, "plain")
    assert (t, r["challenge"]) == (AUTH_CHALLENGE, "")
    t, r = a.cont(2, b64(b"alice@example.test\0alice@example.test\0bad"))
    assert t == AUTH_FAIL and r["temporary"] == 0
    t, r = a.start(3, "LOGIN")
    assert unb64(r["challenge"]) == b"Username:"
    t, r = a.cont(3, b64(b"alice@example.test"))
    assert unb64(r["challenge"]) == b"Password:"
    assert a.cont(3, b64(PASSWORD.encode()))[0] == AUTH_OK
    # cancel, unknown session, unknown mechanism, malformed base64
    a.start(4, "LOGIN")
    t, r = a.cont(4, "*")
    assert t == AUTH_FAIL and r["reason"] == "cancelled"
    t, r = a.cont(99, "AAAA")
    assert t == AUTH_FAIL and r["temporary"] == 1
    t, r = a.start(5, "CRAM-MD5")
    assert t == AUTH_FAIL and r["temporary"] == 0
    t, r = a.start(6, "PLAIN", "not base64!")
    assert t == AUTH_FAIL
    a.close()


def scram_client(a, session, user, password, mutate_proof=False):
    """RFC 5802 client with hashlib/hmac; returns (type, attrs) of the end."""
    cnonce = b64(os.urandom(18))
    bare = f"n={user},r={cnonce}"
    t, r = a.start(session, "SCRAM-SHA-256", b64(("n,," + bare).encode()))
    assert t == AUTH_CHALLENGE, r
    server_first = unb64(r["challenge"]).decode()
    fields = dict(f.split("=", 1) for f in server_first.split(","))
    assert fields["r"].startswith(cnonce) and len(fields["r"]) > len(cnonce)
    salt, iters = base64.b64decode(fields["s"]), int(fields["i"])
    assert iters >= 4096
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iters)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    without_proof = f"c=biws,r={fields['r']}"
    auth_msg = f"{bare},{server_first},{without_proof}".encode()
    sig = hmac.new(stored_key, auth_msg, hashlib.sha256).digest()
    proof = bytes(x ^ y for x, y in zip(client_key, sig))
    if mutate_proof:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    t, r = a.cont(session, b64(f"{without_proof},p={b64(proof)}".encode()))
    if t != AUTH_CHALLENGE:
        return t, r
    final = unb64(r["challenge"]).decode()
    expect = hmac.new(server_key, auth_msg, hashlib.sha256).digest()
    assert final == "v=" + b64(expect), "server signature does not verify"
    return a.cont(session, "")


def test_scram_sha256_end_to_end(auth_instance):
    a = Auth(auth_instance)
    assert scram_client(a, 1, "alice@example.test", PASSWORD) == \
        (AUTH_OK, {"session": 1, "user": "alice@example.test"})
    t, r = scram_client(a, 2, "alice@example.test", "wrong")
    assert t == AUTH_FAIL and r["temporary"] == 0
    t, r = scram_client(a, 3, "alice@example.test", PASSWORD, mutate_proof=True)
    assert t == AUTH_FAIL
    # an unknown user goes through the same steps and fails at the proof
    t, r = scram_client(a, 4, "ghost@example.test", PASSWORD)
    assert t == AUTH_FAIL and r["temporary"] == 0
    # a new password gets a new SCRAM secret
    check(auth_instance.tern("user", "passwd", "alice@example.test", "n3w pass"), "passwd")
    time.sleep(1.2)  # table_reopen_check
    assert scram_client(a, 5, "alice@example.test", "n3w pass")[0] == AUTH_OK
    assert scram_client(a, 6, "alice@example.test", PASSWORD)[0] == AUTH_FAIL
    a.close()


def test_user_without_scram_secret(auth_instance):
    """An entry written before SCRAM secrets existed: PLAIN works, SCRAM fails."""
    inst = auth_instance
    res = inst.cmd("postmap", "-q", "alice@example.test", f"hash:{inst.dir}/users")
    value = res.stdout.strip()
    assert " scram-sha-256=" in value
    crypt_hash = value.split()[0]
    src = inst.dir / "legacy"
    src.write_text(f"carol@example.test {crypt_hash}\n")
    check(inst.cmd("postmap", f"hash:{src}"), "postmap")
    os.chmod(f"{src}.db", 0o600)
    os.chown(f"{src}.db", *auth_owner_ids(inst))
    inst.stop()
    inst.set_param("virtual_user_maps", f"hash:{src}")
    inst.start()
    a = Auth(inst)
    assert a.password("carol@example.test", PASSWORD)[0] == AUTH_OK
    t, r = scram_client(a, 1, "carol@example.test", PASSWORD)
    assert t == AUTH_FAIL and r["temporary"] == 0
    a.close()
    inst.wait_log(r"carol@example.test has no SCRAM-SHA-256 secret")


def test_hash_never_crosses_socket(auth_instance):
    inst = auth_instance
    value = inst.cmd("postmap", "-q", "alice@example.test", f"hash:{inst.dir}/users")
    crypt_hash = value.stdout.split()[0]
    secret = value.stdout.split("scram-sha-256=")[1].split()[0]
    a = Auth(inst)
    a.password("alice@example.test", PASSWORD)
    a.password("alice@example.test", "bad")
    a.call(AUTH_USER, {"user": "alice@example.test"})
    scram_client(a, 1, "alice@example.test", PASSWORD)
    a.start(2, "PLAIN", b64(b"\0alice@example.test\0" + PASSWORD.encode()))
    a.close()
    raw = a.raw
    assert crypt_hash.encode() not in raw
    assert crypt_hash.split("$")[-1].encode() not in raw
    for part in secret.split(":")[2:]:
        assert part.encode() not in raw and base64.b64decode(part) not in raw
    assert crypt_hash not in inst.maillog()


def test_brute_force_block_and_unblock(instance):
    inst = instance
    inst.set_param("auth_failure_delay", "0s")
    inst.set_param("auth_failure_delay_max", "0s")
    inst.set_param("auth_client_failure_limit", "3")
    inst.set_param("auth_user_failure_limit", "5")
    inst.set_param("auth_failure_window", "60s")
    inst.set_param("auth_block_time", "3s")
    check(inst.tern("user", "add", "alice@example.test", PASSWORD), "user add")
    inst.start()
    a = Auth(inst)
    for _ in range(3):
        t, r = a.password("alice@example.test", "guess", client="198.51.100.7")
        assert t == AUTH_FAIL and r["temporary"] == 0
    inst.wait_log(r"warning: auth: client 198\.51\.100\.7 blocked for 3s after 3 failures")
    # blocked: even the right password gets a temporary failure, for any mechanism
    t, r = a.password("alice@example.test", PASSWORD, client="198.51.100.7")
    assert t == AUTH_FAIL and r["temporary"] == 1
    t, r = a.start(1, "PLAIN", b64(b"\0alice@example.test\0" + PASSWORD.encode()),
                   client="198.51.100.7")
    assert t == AUTH_FAIL and r["temporary"] == 1
    # another client is not affected
    assert a.password("alice@example.test", PASSWORD, client="198.51.100.8")[0] == AUTH_OK
    time.sleep(3.5)
    assert a.password("alice@example.test", PASSWORD, client="198.51.100.7")[0] == AUTH_OK
    # per user: failures from many addresses block the user
    for i in range(5):
        t, r = a.password("alice@example.test", "guess", client=f"203.0.113.{i}")
        assert t == AUTH_FAIL and r["temporary"] == 0
    inst.wait_log(r"warning: auth: user alice@example\.test blocked for 3s after 5 failures")
    t, r = a.password("alice@example.test", PASSWORD, client="203.0.113.99")
    assert t == AUTH_FAIL and r["temporary"] == 1
    time.sleep(3.5)
    assert a.password("alice@example.test", PASSWORD, client="203.0.113.99")[0] == AUTH_OK
    a.close()


def test_failure_delay_grows(instance):
    inst = instance
    inst.set_param("auth_failure_delay", "1s")
    inst.set_param("auth_failure_delay_max", "2s")
    check(inst.tern("user", "add", "alice@example.test", PASSWORD), "user add")
    inst.start()
    a = Auth(inst)
    t0 = time.monotonic()
    assert a.password("alice@example.test", PASSWORD)[0] == AUTH_OK
    assert time.monotonic() - t0 < 1.0
    delays = []
    for _ in range(3):
        t0 = time.monotonic()
        assert a.password("alice@example.test", "bad")[0] == AUTH_FAIL
        delays.append(time.monotonic() - t0)
    assert 0.9 <= delays[0] < 1.8
    assert 1.9 <= delays[1] < 3.0 and 1.9 <= delays[2] < 3.0
    # a delayed failure does not hold up other requests on the connection
    b = Auth(inst)
    b.conn.send(AUTH_PASS, 1, {"service": "pop3d", "user": "alice@example.test",
                               "password": b"bad", "client": "192.0.2.50"})
    b.conn.send(AUTH_USER, 2, {"user": "alice@example.test"})
    t0 = time.monotonic()
    first = b.conn.recv()
    assert first[0] == AUTH_USER_FOUND and time.monotonic() - t0 < 0.9
    assert b.conn.recv()[0] == AUTH_FAIL
    b.close()
    a.close()


def test_malformed_requests_and_service_survives(auth_instance):
    a = Auth(auth_instance)
    a.conn.send(AUTH_PASS, 1, {"user": "alice@example.test"})
    t, _, r = a.conn.recv()
    assert t == ip.ERROR
    with pytest.raises((EOFError, ConnectionResetError)):
        a.conn.recv()
    a.close()
    b = Auth(auth_instance)
    b.conn.send(77, 1, {})
    assert b.conn.recv()[0] == ip.ERROR
    b.close()
    c = Auth(auth_instance)
    assert c.password("alice@example.test", PASSWORD)[0] == AUTH_OK
    c.close()
