"""
test_relay.py - the smtp delivery agent end to end: mail sent with smtplib
from 127.0.0.1 (in mynetworks) to a remote domain goes smtpd -> queue ->
qmgr -> smtp -> a sink found through MX records served by a DNS peer on
loopback (peers/dns.py), and arrives byte-exact at an aiosmtpd sink
(peers/sink.py) listening on 127.0.0.x:PORT (smtp_tcp_port = PORT).

Covers: byte-exact relay, MX preference and failover, 4xx retried then
delivered, 5xx bounce as a DSN in the local sender's Maildir, null MX,
NXDOMAIN and SERVFAIL, relayhost, transport_maps (smtp:, error:),
opportunistic STARTTLS, encrypt without STARTTLS, 8-bit to a 7-bit peer,
SMTPUTF8 to a peer without it, SIZE, pipelining, DSN parameters passed on,
connection reuse.

Touches:  instance directories under /tmp (see conftest.py), 127.0.0.1-9.
"""

import email
import email.policy
import re
import smtplib
import time

import pytest

import helpers
from helpers import check, wait_for
from peers.dns import DNSPeer
from peers.sink import Sink

SENDER = "alice@example.test"


def free_port_on(hosts):
    """A TCP port free on every one of the loopback addresses."""
    return helpers.free_port(hosts)


HOSTS = [f"127.0.0.{i}" for i in range(2, 10)]


class Relay:
    """An instance with a DNS peer, smtp_tcp_port and a local sender."""

    def __init__(self, inst):
        self.inst = inst
        self.dns = DNSPeer()
        self.port = free_port_on(HOSTS)
        self.sinks = []

    def sink(self, host, port=None, **kw):
        s = Sink(host, port or self.port, **kw)
        self.sinks.append(s)
        return s

    def remote(self, domain, host="127.0.0.2", mx="mx1"):
        """domain -> MX 10 mx.domain -> host."""
        self.dns.mx(domain, (10, f"{mx}.{domain}"))
        self.dns.a(f"{mx}.{domain}", host)

    def send(self, rcpts, body, sender=SENDER, **kw):
        with smtplib.SMTP("127.0.0.1", self.inst.port(25), timeout=30) as s:
            return s.sendmail(sender, rcpts, body, **kw)

    def close(self):
        for s in self.sinks:
            s.stop()
        self.dns.stop()


@pytest.fixture
def relay(instance, request):
    r = Relay(instance)
    params = {
        "dns_servers": r.dns.spec,
        "smtp_tcp_port": str(r.port),
        "smtp_connect_timeout": "5s",
        "smtp_helo_timeout": "10s",
        "minimal_backoff_time": "300s",
        "maximal_backoff_time": "300s",
        "bounce_queue_lifetime": "5d",
    }
    params.update(getattr(request, "param", {}))
    for name, value in params.items():
        instance.set_param(name, value)
    if not (helpers.LIBEXEC / "smtp").exists():
        pytest.fail(f"{helpers.LIBEXEC}/smtp is not built")
    assert re.search(r"^smtp\s+unix", instance.master_cf.read_text(), re.M), \
        "master.cf has no smtp entry"
    check(instance.tern("user", "add", SENDER, "pw-alice"), "user add")
    yield r
    r.close()


def start(relay):
    relay.inst.start()
    helpers.wait_for(lambda: (relay.inst.dir / "queue" / "private" / "smtp").exists(), 15,
                     what="private/smtp socket")


def strip_received(data):
    """The message without the Received: header smtpd added."""
    lines = data.split(b"\n")
    out, skipping, in_header = [], False, True
    for line in lines:
        if in_header and line == b"":
            in_header = False
        if in_header and skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = in_header and line.startswith(b"Received:")
        if not skipping:
            out.append(line)
    return b"\n".join(out)


def maildir_new(inst, addr):
    local, domain = addr.split("@")
    d = inst.dir / "mail" / domain / local / "new"
    return sorted(d.iterdir()) if d.is_dir() else []


def wait_dsn(inst, addr=SENDER, timeout=30):
    files = wait_for(lambda: maildir_new(inst, addr), timeout, what=f"a DSN for {addr}")
    return email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)


def dsn_status(msg):
    """(status, diagnostic) of the first recipient of a multipart/report."""
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    parts = list(msg.iter_parts())
    ds = parts[1]
    assert ds.get_content_type() == "message/delivery-status"
    text = ds.as_string() if not ds.is_multipart() else \
        "\n".join(p.as_string() for p in ds.iter_parts())
    text = re.sub(r"\r?\n[ \t]+", " ", text)  # unfold
    status = re.search(r"^Status:\s*(\S+)", text, re.M | re.I)
    diag = re.search(r"^Diagnostic-Code:\s*(.+)$", text, re.M | re.I)
    return (status.group(1) if status else None, diag.group(1) if diag else "")


def queue_empty(inst):
    q = inst.dir / "queue"
    return not any((q / d).is_dir() and any((q / d).iterdir())
                   for d in ("incoming", "active", "deferred"))


BODY = (b"From: Alice <alice@example.test>\r\nTo: bob@remote.test\r\n"
        b"Subject: relay test\r\nMessage-ID: <relay1@example.test>\r\n\r\n"
        b"Hello Bob.\r\n.a line with a leading dot\r\n..two dots\r\n\r\n"
        b"trailing spaces   \r\nend\r\n")


def test_relay_byte_exact(relay):
    relay.remote("remote.test")
    sink = relay.sink("127.0.0.2", pipelining=True)
    start(relay)
    assert relay.send(["bob@remote.test"], BODY) == {}
    msg = sink.wait(1)[0]
    assert msg.mail_from == SENDER
    assert msg.rcpt_tos == ["bob@remote.test"]
    assert strip_received(msg.data) == BODY.replace(b"\r\n", b"\n")
    assert msg.data.startswith(b"Received: ")
    relay.inst.wait_log(r"tern/smtp\[\d+\]: \w+: to=<bob@remote.test>, "
                        rf"relay=mx1.remote.test\[127.0.0.2\]:{relay.port}, delay=[\d.]+, "
                        r"delays=[\d.]+/0/[\d.]+/[\d.]+, dsn=2.0.0, status=sent "
                        r"\(250 2.0.0 Ok: queued as SINK1\)", 20)
    wait_for(lambda: queue_empty(relay.inst), 10, what="empty queue")


def test_mx_preference_and_failover(relay):
    relay.dns.mx("remote.test", (30, "mx3.remote.test"), (10, "mx1.remote.test"),
                 (20, "mx2.remote.test"))
    relay.dns.a("mx1.remote.test", "127.0.0.3")    # nothing listens there
    relay.dns.a("mx2.remote.test", "127.0.0.4")
    relay.dns.a("mx3.remote.test", "127.0.0.5")
    second = relay.sink("127.0.0.4")
    third = relay.sink("127.0.0.5")
    start(relay)
    relay.send(["bob@remote.test"], BODY)
    assert len(second.wait(1)) == 1
    relay.inst.wait_log(rf"connect to mx1.remote.test\[127.0.0.3\]:{relay.port}: "
                        r"Connection refused", 20)
    relay.inst.wait_log(r"relay=mx2.remote.test\[127.0.0.4\].*status=sent", 20)
    assert third.messages == [] and third.sessions == 0


def test_4xx_is_retried_then_delivered(relay):
    relay.remote("remote.test")
    sink = relay.sink("127.0.0.2", temp_fail_rcpt=1)
    start(relay)
    relay.send(["bob@remote.test"], BODY)
    relay.inst.wait_log(r"to=<bob@remote.test>, relay=mx1.remote.test.*dsn=4.3.0, "
                        r"status=deferred \(host mx1.remote.test\[127.0.0.2\]:\d+ said: "
                        r"451 4.3.0 try again later \(in reply to RCPT TO command\)\)", 20)
    wait_for(lambda: any((relay.inst.dir / "queue" / "deferred").iterdir()), 10,
             what="message in deferred/")
    out = helpers.out(relay.inst.cmd("postqueue", "-p"))
    assert "451 4.3.0 try again later" in out, out
    check(relay.inst.cmd("postqueue", "-f"), "postqueue -f")
    msg = sink.wait(1)[0]
    assert strip_received(msg.data) == BODY.replace(b"\r\n", b"\n")
    relay.inst.wait_log(r"to=<bob@remote.test>, .*status=sent", 20)
    wait_for(lambda: queue_empty(relay.inst), 10, what="empty queue")


def test_5xx_bounces_with_dsn(relay):
    relay.remote("remote.test")
    relay.sink("127.0.0.2", rcpt_reply={"nobody@remote.test": "550 5.1.1 <nobody@remote.test>: "
                                        "Recipient address rejected"})
    start(relay)
    relay.send(["nobody@remote.test"], BODY)
    relay.inst.wait_log(r"to=<nobody@remote.test>.*dsn=5.1.1, status=bounced \(host "
                        r"mx1.remote.test\[127.0.0.2\]:\d+ said: 550 5.1.1", 20)
    msg = wait_dsn(relay.inst)
    status, diag = dsn_status(msg)
    assert status == "5.1.1"
    assert "550 5.1.1" in diag and "Recipient address rejected" in diag
    assert msg["To"] is not None and SENDER in str(msg["To"])
    wait_for(lambda: queue_empty(relay.inst), 20, what="empty queue")


def test_null_mx_bounces_at_once(relay):
    relay.dns.null_mx("nomail.test")
    start(relay)
    relay.send(["x@nomail.test"], BODY)
    relay.inst.wait_log(r"to=<x@nomail.test>, relay=none, .*dsn=5.1.10, status=bounced "
                        r"\(Domain nomail.test does not accept mail \(nullMX\)\)", 20)
    status, _ = dsn_status(wait_dsn(relay.inst))
    assert status == "5.1.10"


def test_nxdomain_bounces_servfail_defers(relay):
    relay.dns.servfail("broken.test")
    start(relay)
    relay.send(["x@nowhere.test"], BODY)
    relay.inst.wait_log(r"to=<x@nowhere.test>, relay=none, .*dsn=5.4.4, status=bounced "
                        r"\(Host or domain name not found", 20)
    relay.send(["y@broken.test"], BODY)
    relay.inst.wait_log(r"to=<y@broken.test>, relay=none, .*dsn=4.4.3, status=deferred", 40)


def test_a_record_fallback_and_cname(relay):
    relay.dns.a("plain.test", "127.0.0.6")               # no MX: the A record
    relay.dns.mx("alias.test", (10, "mxalias.alias.test"))
    relay.dns.cname("mxalias.alias.test", "real.alias.test")
    relay.dns.a("real.alias.test", "127.0.0.7")
    s6 = relay.sink("127.0.0.6")
    s7 = relay.sink("127.0.0.7")
    start(relay)
    relay.send(["p@plain.test"], BODY)
    relay.send(["q@alias.test"], BODY)
    assert s6.wait(1)[0].rcpt_tos == ["p@plain.test"]
    assert s7.wait(1)[0].rcpt_tos == ["q@alias.test"]


def test_relayhost(relay):
    port2 = free_port_on(["127.0.0.8"])
    relay.inst.set_param("relayhost", f"[127.0.0.8]:{port2}")
    sink = relay.sink("127.0.0.8", port=port2)
    start(relay)
    relay.send(["bob@anywhere.test"], BODY)      # no DNS at all for this domain
    msg = sink.wait(1)[0]
    assert msg.rcpt_tos == ["bob@anywhere.test"]
    relay.inst.wait_log(rf"to=<bob@anywhere.test>, relay=127.0.0.8\[127.0.0.8\]:{port2}, "
                        r".*status=sent", 20)


def test_transport_maps(relay):
    port2 = free_port_on(["127.0.0.9"])
    (relay.inst.dir / "transport").write_text(
        f"routed.test smtp:[127.0.0.9]:{port2}\n"
        ".sub.routed.test smtp:[127.0.0.9]:" + str(port2) + "\n"
        "refused.test error:5.7.1 mail to this domain is refused\n")
    check(relay.inst.cmd("postmap", f"hash:{relay.inst.dir}/transport"), "postmap transport")
    relay.inst.set_param("transport_maps", f"hash:{relay.inst.dir}/transport")
    sink = relay.sink("127.0.0.9", port=port2)
    start(relay)
    relay.send(["a@routed.test", "b@x.sub.routed.test"], BODY)
    msgs = wait_for(lambda: sum(len(m.rcpt_tos) for m in sink.messages) >= 2 and sink.messages,
                    30, what="both recipients at the routed sink")
    assert sorted(r for m in msgs for r in m.rcpt_tos) == ["a@routed.test",
                                                            "b@x.sub.routed.test"]
    relay.send(["c@refused.test"], BODY)
    # qmgr (or, before it routes, the smtp agent) bounces error: routes
    relay.inst.wait_log(r"to=<c@refused.test>, relay=none, .*dsn=5.\d.\d, status=bounced "
                        r"\((5.7.1 )?mail to this domain is refused\)", 20)


def test_starttls_used_when_offered(relay):
    relay.remote("remote.test")
    tls = (str(relay.inst.dir / "tls" / "cert.pem"), str(relay.inst.dir / "tls" / "key.pem"))
    sink = relay.sink("127.0.0.2", tls_cert=tls)
    start(relay)
    relay.send(["bob@remote.test"], BODY)
    msg = sink.wait(1)[0]
    assert msg.tls
    assert strip_received(msg.data) == BODY.replace(b"\r\n", b"\n")
    relay.inst.wait_log(r"tern/smtp\[\d+\]: (Untrusted|Trusted|Verified|Anonymous) TLS "
                        r"connection established to mx1.remote.test\[127.0.0.2\]:\d+: "
                        r"TLSv1.[23] with cipher \S+", 20)


@pytest.mark.parametrize("relay", [{"smtp_tls_security_level": "encrypt"}], indirect=True)
def test_encrypt_defers_without_starttls(relay):
    relay.remote("remote.test")
    sink = relay.sink("127.0.0.2")
    start(relay)
    relay.send(["bob@remote.test"], BODY)
    relay.inst.wait_log(r"to=<bob@remote.test>, .*status=deferred \(TLS is required, but was "
                        r"not offered by host mx1.remote.test\[127.0.0.2\]", 20)
    assert sink.messages == []


@pytest.mark.parametrize("relay", [{"smtp_tls_security_level": "verify"}], indirect=True)
def test_verify_defers_on_untrusted_certificate(relay):
    relay.remote("remote.test")
    tls = (str(relay.inst.dir / "tls" / "cert.pem"), str(relay.inst.dir / "tls" / "key.pem"))
    sink = relay.sink("127.0.0.2", tls_cert=tls)
    start(relay)
    relay.send(["bob@remote.test"], BODY)
    relay.inst.wait_log(r"to=<bob@remote.test>, .*status=deferred \(TLS with "
                        r"mx1.remote.test\[127.0.0.2\]:\d+: Server certificate not verified", 20)
    assert sink.messages == []


EIGHT_BIT = ("From: alice@example.test\nTo: bob@remote.test\nSubject: 8bit\n"
             "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XyZ\"\n\n"
             "--XyZ\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
             "Grüße aus Köln = gleich\nzweite Zeile  \n--XyZ\n"
             "Content-Type: application/octet-stream\n\n").encode("utf-8") + \
    bytes(range(128, 256)) + b"\n--XyZ--\n"


def test_8bit_to_7bit_peer_is_converted(relay):
    relay.remote("remote.test")
    sink = relay.sink("127.0.0.2", eightbit=False)
    start(relay)
    relay.send(["bob@remote.test"], EIGHT_BIT.replace(b"\n", b"\r\n"),
               mail_options=["BODY=8BITMIME"])
    got = sink.wait(1)[0]
    assert not any(b > 127 for b in got.data), "8-bit byte sent to a 7-bit peer"
    assert "BODY=8BITMIME" not in got.mail_options
    orig = email.message_from_bytes(EIGHT_BIT, policy=email.policy.default)
    conv = email.message_from_bytes(got.data, policy=email.policy.default)
    op, cp = list(orig.iter_parts()), list(conv.iter_parts())
    assert len(op) == len(cp) == 2
    assert cp[0]["Content-Transfer-Encoding"] == "quoted-printable"
    assert cp[1]["Content-Transfer-Encoding"] == "base64"
    for a, b in zip(op, cp):
        assert b.get_payload(decode=True) == a.get_payload(decode=True)


def test_8bit_to_8bit_peer_is_sent_as_is(relay):
    relay.remote("remote.test")
    sink = relay.sink("127.0.0.2", eightbit=True)
    start(relay)
    relay.send(["bob@remote.test"], EIGHT_BIT.replace(b"\n", b"\r\n"),
               mail_options=["BODY=8BITMIME"])
    got = sink.wait(1)[0]
    assert "BODY=8BITMIME" in got.mail_options
    assert strip_received(got.data) == EIGHT_BIT


def test_smtputf8_needed_but_not_offered_bounces(relay):
    relay.remote("remote.test")
    sink = relay.sink("127.0.0.2", smtputf8=False)
    start(relay)
    body = "From: alice@example.test\r\nSubject: ü\r\n\r\nhi\r\n".encode("utf-8")
    relay.send(["jörg@remote.test"], body, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    relay.inst.wait_log(r"to=<jörg@remote.test>, .*dsn=5.6.7, status=bounced \(SMTPUTF8 is "
                        r"required, but was not offered by host mx1.remote.test", 20)
    assert sink.messages == []


def test_dsn_parameters_and_size_passed_on(relay):
    relay.remote("remote.test")
    sink = relay.sink("127.0.0.2", dsn=True, pipelining=True, size_limit=10000000)
    start(relay)
    relay.send(["bob@remote.test"], BODY, mail_options=["RET=HDRS", "ENVID=env+2B1"],
               rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Bob@remote.test"])
    got = sink.wait(1)[0]
    assert any(o.startswith("SIZE=") for o in got.mail_options), got.mail_options
    assert got.dsn_params == ["RET=HDRS", "ENVID=env+2B1", "NOTIFY=SUCCESS,FAILURE",
                              "ORCPT=rfc822;Bob@remote.test"]


def test_oversize_for_peer_bounces(relay):
    relay.remote("remote.test")
    sink = relay.sink("127.0.0.2", size_limit=100)
    start(relay)
    relay.send(["bob@remote.test"], BODY + b"x" * 200 + b"\r\n")
    relay.inst.wait_log(r"to=<bob@remote.test>, .*dsn=5.3.4, status=bounced \(message size "
                        r"\d+ exceeds size limit 100 of server mx1.remote.test", 20)
    assert sink.messages == []


@pytest.mark.parametrize("relay", [{"smtp_connection_cache_time_limit": "10s"}], indirect=True)
def test_connection_reuse(relay):
    relay.remote("remote.test")
    sink = relay.sink("127.0.0.2", pipelining=True)
    start(relay)
    n = 12
    for i in range(n):
        relay.send([f"u{i}@remote.test"], BODY)
        time.sleep(0.05)
    sink.wait(n, timeout=60)
    assert sink.sessions < n, f"{sink.sessions} sessions for {n} messages"
    wait_for(lambda: queue_empty(relay.inst), 10, what="empty queue")
