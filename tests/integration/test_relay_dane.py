"""
test_relay_dane.py - DANE for SMTP (RFC 7672) end to end: the smtp agent
at smtp_tls_security_level = dane resolves through libunbound with a trust
anchor for a zone signed at test time and served by NSD (peers/dnssec.py),
and relays to aiosmtpd sinks that offer STARTTLS with the instance's
certificate.

Covers: a TLSA 3 1 1 record matching the sink's key -> delivered over a
"Verified TLS connection"; a TLSA record that does not match -> deferred,
nothing sent; a TLSA RRset whose signature does not verify (bogus) ->
deferred, not even a connection; a signed zone without TLSA records for
the MX -> opportunistic TLS, as at level may; and a peer without STARTTLS
then gets the mail in plain text.

Touches:  instance directories under /tmp, a zone directory under the
          instance's root, 127.0.0.1-6.
"""

import hashlib
import subprocess

import pytest

import helpers
from helpers import check
from peers.dnssec import SignedZone, tools_missing
from peers.sink import Sink
from test_relay import BODY, HOSTS, SENDER, free_port_on, strip_received



@pytest.fixture(autouse=True)
def _tools():
    assert not tools_missing(), f"{tools_missing()} missing: run mk/deps.sh test"


def spki_sha256(cert_pem):
    """The SHA-256 of the certificate's SubjectPublicKeyInfo (TLSA 3 1 1)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_pem, "-noout", "-pubkey"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der).digest()


class Dane:
    """An instance at level dane, the signed zone dane.test and sinks.

    good.dane.test   MX mx.good   -> 127.0.0.2, TLSA 3 1 1 of the sink's key
    bad.dane.test    MX mx.bad    -> 127.0.0.3, TLSA 3 1 1 of another key
    bogus.dane.test  MX mx.bogus  -> 127.0.0.4, TLSA altered after signing
    none.dane.test   MX mx.none   -> 127.0.0.5, no TLSA (NSEC proves it)
    plain.dane.test  MX mx.plain  -> 127.0.0.6, no TLSA, sink without TLS
    """

    def __init__(self, inst, root):
        self.inst = inst
        self.port = free_port_on(HOSTS)
        self.cert = str(inst.dir / "tls" / "cert.pem")
        self.key = str(inst.dir / "tls" / "key.pem")
        self.zone = SignedZone(root / "zone", "dane.test")
        self.sinks = {}
        digest = spki_sha256(self.cert)
        for i, name in enumerate(("good", "bad", "bogus", "none", "plain")):
            host = f"127.0.0.{i + 2}"
            self.zone.mx(f"{name}.dane.test", 10, f"mx.{name}.dane.test")
            self.zone.a(f"mx.{name}.dane.test", host)
            tls = None if name == "plain" else (self.cert, self.key)
            self.sinks[name] = Sink(host, self.port, tls_cert=tls, pipelining=True)
        tlsa = lambda name, d: self.zone.tlsa(f"_{self.port}._tcp.mx.{name}.dane.test",
                                               3, 1, 1, d)
        tlsa("good", digest)
        tlsa("bad", hashlib.sha256(b"some other key").digest())
        tlsa("bogus", digest)
        try:
            self.zone.start(corrupt=[f"_{self.port}._tcp.mx.bogus.dane.test"])
        except BaseException:
            self.close()
            raise

    def send(self, rcpt):
        import smtplib
        with smtplib.SMTP("127.0.0.1", self.inst.port(25), timeout=30) as s:
            return s.sendmail(SENDER, [rcpt], BODY)

    def close(self):
        for s in self.sinks.values():
            s.stop()
        self.zone.stop()


@pytest.fixture
def dane(instance, tmp_instance_root):
    d = Dane(instance, tmp_instance_root)
    params = {
        "smtp_tls_security_level": "dane",
        "dns_servers": d.zone.spec,
        "dns_trust_anchor_file": d.zone.anchor_file,
        "smtp_tcp_port": str(d.port),
        "smtp_connect_timeout": "5s",
        "smtp_helo_timeout": "10s",
        "minimal_backoff_time": "300s",
        "maximal_backoff_time": "300s",
    }
    for name, value in params.items():
        instance.set_param(name, value)
    check(instance.tern("user", "add", SENDER, "pw-alice"), "user add")
    instance.start()
    helpers.wait_for(lambda: (instance.dir / "queue" / "private" / "smtp").exists(), 15,
                     what="private/smtp socket")
    yield d
    d.close()


def test_dane_matching_tlsa_is_verified(dane):
    dane.send("bob@good.dane.test")
    msg = dane.sinks["good"].wait(1)[0]
    assert msg.tls
    assert strip_received(msg.data) == BODY.replace(b"\r\n", b"\n")
    dane.inst.wait_log(r"tern/smtp\[\d+\]: Verified TLS connection established to "
                       rf"mx.good.dane.test\[127.0.0.2\]:{dane.port}: TLSv1.[23] with cipher",
                       20)
    dane.inst.wait_log(r"to=<bob@good.dane.test>, relay=mx.good.dane.test\[127.0.0.2\]:\d+, "
                       r".*status=sent", 20)


def test_dane_mismatching_tlsa_defers(dane):
    dane.send("bob@bad.dane.test")
    dane.inst.wait_log(r"to=<bob@bad.dane.test>, .*dsn=4.7.5, status=deferred \(TLS with "
                       r"mx.bad.dane.test\[127.0.0.3\]:\d+: ", 20)
    assert dane.sinks["bad"].messages == []


def test_dane_bogus_tlsa_defers_without_connecting(dane):
    dane.send("bob@bogus.dane.test")
    dane.inst.wait_log(r"to=<bob@bogus.dane.test>, .*dsn=4.7.5, status=deferred \(TLSA lookup "
                       r"error for mx.bogus.dane.test:\d+: ", 20)
    assert dane.sinks["bogus"].messages == []
    assert dane.sinks["bogus"].sessions == 0, "connected despite a bogus TLSA answer"


def test_dane_without_tlsa_is_opportunistic(dane):
    dane.send("bob@none.dane.test")
    msg = dane.sinks["none"].wait(1)[0]
    assert msg.tls, "STARTTLS was offered and not used"
    dane.inst.wait_log(r"tern/smtp\[\d+\]: (Untrusted|Trusted) TLS connection established to "
                       r"mx.none.dane.test\[127.0.0.5\]", 20)
    dane.send("carol@plain.dane.test")
    msg = dane.sinks["plain"].wait(1)[0]
    assert not msg.tls
    assert msg.rcpt_tos == ["carol@plain.dane.test"]

