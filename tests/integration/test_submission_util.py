"""
test_submission_util.py - helpers (no tests here) for the STARTTLS, AUTH and
submission tests: an SMTP client on a raw socket that can switch to TLS in
place (STARTTLS) or start in TLS (port 465), a SCRAM-SHA-256 client written
with hashlib/hmac (RFC 5802/7677), the instance's certificate in DER form,
and an instance factory with the auth service's delays turned down.

Touches:  the instance directories the tests create; 127.0.0.1/127.0.0.2.
Security: test-only; certificates are not verified by a CA (the instance's
          pair is self-signed) but compared byte for byte with the file.
Errors:   assertion messages name the reply that was wrong.
"""

import base64
import hashlib
import hmac
import os
import socket
import ssl
from pathlib import Path

from test_smtpd_util import Made, Raw

PASSWORD = "secret-pw"  # what Made gives every user
USER = "alice@example.test"
OTHER = "bob@example.test"


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def client_ctx():
    """A TLS client context that accepts the self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def cert_der(inst):
    """The first certificate of DIR/tls/cert.pem, DER."""
    pem = (inst.dir / "tls" / "cert.pem").read_text()
    first = pem[:pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return ssl.PEM_cert_to_DER_cert(first)


class Tls(Raw):
    """Raw plus TLS: starttls() after a 220, or tls=True for port 465."""

    def __init__(self, port, source=None, timeout=10.0, tls=False):
        super().__init__(port, source, timeout)
        self.tls = False
        if tls:
            self.wrap()

    def wrap(self):
        assert self.buf == b"", f"bytes before the handshake: {self.buf!r}"
        self.sock = client_ctx().wrap_socket(self.sock, server_hostname="mx.example.test")
        self.tls = True

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r == "220 2.0.0 Ready to start TLS", r
        self.wrap()

    def peer_der(self):
        return self.sock.getpeercert(binary_form=True)

    def ehlo(self, name="client.example"):
        r = self.cmd(f"EHLO {name}")
        assert r.startswith("250-"), r
        return r.split("\n")

    def auth_plain(self, user=USER, password=PASSWORD):
        return self.cmd("AUTH PLAIN " + b64(f"\0{user}\0{password}"))

    def auth_scram(self, user=USER, password=PASSWORD, initial=True):
        """RFC 5802 client; returns the final reply."""
        cnonce = b64(os.urandom(18))
        bare = f"n={user},r={cnonce}"
        if initial:
            r = self.cmd("AUTH SCRAM-SHA-256 " + b64("n,," + bare))
        else:
            r = self.cmd("AUTH SCRAM-SHA-256")
            assert r == "334 ", repr(r)
            r = self.cmd(b64("n,," + bare))
        assert r.startswith("334 "), r
        server_first = base64.b64decode(r[4:]).decode()
        fields = dict(f.split("=", 1) for f in server_first.split(","))
        assert fields["r"].startswith(cnonce)
        salt, iters = base64.b64decode(fields["s"]), int(fields["i"])
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iters)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        without_proof = f"c=biws,r={fields['r']}"
        auth_msg = f"{bare},{server_first},{without_proof}".encode()
        sig = hmac.new(stored_key, auth_msg, hashlib.sha256).digest()
        proof = bytes(x ^ y for x, y in zip(client_key, sig))
        r = self.cmd(b64(f"{without_proof},p={b64(proof)}"))
        if not r.startswith("334 "):
            return r
        final = base64.b64decode(r[4:]).decode()
        expect = hmac.new(server_key, auth_msg, hashlib.sha256).digest()
        assert final == "v=" + b64(expect), "server signature does not verify"
        return self.cmd("")


def submit(port, tls_mode="starttls", source=None):
    """A client on port, greeted, in TLS (starttls or implicit), after EHLO."""
    c = Tls(port, source, tls=(tls_mode == "implicit"))
    r = c.reply()
    assert r.startswith("220 "), r
    c.ehlo()
    if tls_mode == "starttls":
        c.starttls()
        c.ehlo()
    return c


def make_instance(params=(), users=(USER, OTHER), aliases=None):
    """Made with AUTH on port 25 too, fast auth replies, mynetworks =
    127.0.0.1 only (127.0.0.2 is an outside client)."""
    base = [("mynetworks", "127.0.0.1/32"),
            ("smtpd_sasl_auth_enable", "yes"),
            ("auth_failure_delay", "0s"),
            ("auth_failure_delay_max", "0s")]
    return Made(params=base + list(params), users=users, aliases=aliases)


def ports(made):
    inst = made.inst
    return inst.port(25), inst.port(587), inst.port(465)


def wait_port(port, tls=False, timeout=15.0):
    """Wait until the service on port greets (through TLS when asked)."""
    import helpers

    def ready():
        try:
            c = Tls(port, timeout=2, tls=tls)
        except (OSError, ssl.SSLError):
            return False
        try:
            return c.reply().startswith("220")
        except (OSError, ssl.SSLError):
            return False
        finally:
            c.close()
    helpers.wait_for(ready, timeout, what=f"greeting on {port}")


def new_cert(inst, cn):
    """Replace DIR/tls/cert.pem and key.pem by a new self-signed pair."""
    import helpers
    tls = inst.dir / "tls"
    res = helpers.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                       "-days", "2", "-subj", f"/CN={cn}",
                       "-keyout", tls / "key.new", "-out", tls / "cert.new"])
    helpers.check(res, "openssl req")
    for name in ("key", "cert"):
        src = tls / f"{name}.new"
        st = os.stat(tls / f"{name}.pem")
        os.chown(src, st.st_uid, st.st_gid)
        os.chmod(src, st.st_mode & 0o777)
        os.replace(src, tls / f"{name}.pem")
    return Path(tls / "cert.pem")


__all__ = ["PASSWORD", "USER", "OTHER", "b64", "client_ctx", "cert_der", "Tls",
           "submit", "make_instance", "ports", "wait_port", "new_cert", "socket"]
