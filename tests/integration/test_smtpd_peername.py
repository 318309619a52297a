"""
test_smtpd_peername.py - smtpd's client name lookup against a DNS peer on
loopback (peers/dns.py, dns_servers = 127.0.0.1:PORT): a PTR name whose
address is the client's is used (connect/disconnect lines, client= line,
reject lines, the Received: header, the queue file), in lower case; a name
that does not resolve back, or does not resolve at all, gives "unknown" and
Postfix's "hostname NAME does not resolve to address ADDR" warning; no PTR
or a failing PTR lookup gives "unknown" without one; the resolver is asked
even for 127.0.0.1 (libunbound's own loopback zone is off with
dns_servers); smtpd_hide_client_address still hides a confirmed name;
the per-client connection limit warning names the client;
smtpd_peername_lookup = no makes no query; a resolver that never answers
delays the greeting by smtpd_peername_timeout only, and the sessions
already greeted are served meanwhile.

Touches:  instance directories under /tmp; 127.0.0.1-127.0.0.9 as client
          source addresses; a UDP socket that never answers.
Security: test-only.
Errors:   a failing test prints the instance's maillog.
"""

import base64
import socket
import threading
import time

import pytest

import helpers
from peers.dns import DNSPeer
from test_smtpd_util import Made, Raw, greet, queue_file, queued_id

USER = "alice@example.test"
PASSWORD = "secret-pw"


@pytest.fixture(scope="module")
def zone():
    z = DNSPeer()
    # confirmed: PTR -> name -> A of the client (mixed case on the wire)
    z.ptr("127.0.0.2", "Client.Remote.TEST")
    z.a("client.remote.test", "127.0.0.2")
    # the name resolves, but to another address
    z.ptr("127.0.0.3", "forged.remote.test")
    z.a("forged.remote.test", "127.0.0.9")
    # the name does not resolve at all
    z.ptr("127.0.0.4", "ghost.remote.test")
    # 127.0.0.5 has no PTR; the PTR lookup of 127.0.0.6 fails
    z.servfail("6.0.0.127.in-addr.arpa")
    # a name that reads as an address is not a name
    z.ptr("127.0.0.7", "192.0.2.1")
    z.a("192.0.2.1", "127.0.0.7")
    yield z
    z.stop()


def made_with(request, params):
    made = Made(params=params, users=[USER])
    failed = request.session.testsfailed
    return made, failed


@pytest.fixture(scope="module")
def mx(request, zone):
    made, failed = made_with(request, [
        ("dns_servers", zone.spec),
        ("mynetworks", "127.0.0.1/32"),
        ("smtpd_peername_timeout", "5s"),
        ("smtpd_sasl_auth_enable", "yes"),
        ("smtpd_tls_auth_only", "no"),
        ("smtpd_hide_client_address", "yes"),
    ])
    yield made
    made.failed = request.session.testsfailed > failed
    made.close()


def send(c, body=b"Subject: t\r\n\r\nhello\r\n", sender="s@remote.example"):
    assert c.cmd(f"MAIL FROM:<{sender}>").startswith("250"), "MAIL"
    assert c.cmd(f"RCPT TO:<{USER}>").startswith("250"), "RCPT"
    assert c.cmd("DATA").startswith("354"), "DATA"
    c.send(body + b".\r\n")
    return queued_id(c.reply())


def test_confirmed_name_in_logs_header_and_queue_file(mx):
    with greet(mx.port, source="127.0.0.2", ehlo="helo.remote.test") as c:
        qid = send(c)
        # a refused recipient: the reject line names the client too
        assert c.cmd("RCPT TO:<x@elsewhere.example>").startswith("503")
        assert c.cmd("MAIL FROM:<a@remote.example>").startswith("250")
        assert c.cmd("RCPT TO:<x@elsewhere.example>").startswith("554 5.7.1")
        c.cmd("QUIT")
    mx.wait_log(r"connect from client\.remote\.test\[127\.0\.0\.2\]")
    mx.wait_log(rf"{qid}: client=client\.remote\.test\[127\.0\.0\.2\]")
    mx.wait_log(r"NOQUEUE: reject: RCPT from client\.remote\.test\[127\.0\.0\.2\]: 554 5\.7\.1")
    mx.wait_log(r"disconnect from client\.remote\.test\[127\.0\.0\.2\] ehlo=1 ")
    env = queue_file(mx.inst, qid)
    assert env["N"] == "client.remote.test" and env["A"] == "127.0.0.2"
    assert env["content"].startswith(
        b"Received: from helo.remote.test (client.remote.test [127.0.0.2])\n"
        b"\tby mx.example.test (tern) with ESMTP id " + qid.encode()), env["content"][:200]
    assert "does not resolve" not in mx.log()


def test_name_that_resolves_elsewhere_is_unknown_with_a_warning(mx):
    with greet(mx.port, source="127.0.0.3") as c:
        qid = send(c)
    mx.wait_log(r"(?m)warning: hostname forged\.remote\.test does not resolve to address "
                r"127\.0\.0\.3$")
    mx.wait_log(r"connect from unknown\[127\.0\.0\.3\]")
    env = queue_file(mx.inst, qid)
    assert env["N"] == "unknown"
    assert env["content"].startswith(b"Received: from client.example (unknown [127.0.0.3])\n")
    assert "forged.remote.test[" not in mx.log()


def test_name_that_does_not_resolve_is_unknown_with_a_warning(mx):
    with greet(mx.port, source="127.0.0.4") as c:
        c.cmd("QUIT")
    mx.wait_log(r"warning: hostname ghost\.remote\.test does not resolve to address "
                r"127\.0\.0\.4: Name or service not known")
    mx.wait_log(r"disconnect from unknown\[127\.0\.0\.4\] ehlo=1 quit=1 commands=2")


@pytest.mark.parametrize("source", ["127.0.0.5", "127.0.0.6", "127.0.0.7"])
def test_no_usable_ptr_is_unknown_without_a_warning(mx, zone, source):
    """No PTR (NXDOMAIN), a SERVFAIL, a PTR that reads as an address."""
    with greet(mx.port, source=source) as c:
        c.cmd("QUIT")
    esc = source.replace(".", r"\.")
    mx.wait_log(rf"disconnect from unknown\[{esc}\] ehlo=1 quit=1 commands=2")
    assert f"address {source}" not in mx.log()
    rev = ".".join(reversed(source.split("."))) + ".in-addr.arpa"
    assert (rev, "PTR") in zone.queries
    # the numeric "name" was never looked up as a host
    assert ("192.0.2.1", "A") not in zone.queries


def test_loopback_is_asked_of_dns_servers(mx, zone):
    """With dns_servers, 127.0.0.1 goes to that resolver (which has no PTR
    for it here), not to libunbound's built-in localhost answer."""
    with greet(mx.port) as c:
        c.cmd("QUIT")
    mx.wait_log(r"disconnect from unknown\[127\.0\.0\.1\] ehlo=1 quit=1")
    assert ("1.0.0.127.in-addr.arpa", "PTR") in zone.queries


def test_hidden_client_hides_the_name(mx):
    """smtpd_hide_client_address: authenticated mail carries no name."""
    with greet(mx.port, source="127.0.0.2") as c:
        token = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
        assert c.cmd(f"AUTH PLAIN {token}").startswith("235"), "AUTH"
        qid = send(c, sender=USER)
    content = queue_file(mx.inst, qid)["content"]
    assert b"client.remote.test" not in content and b"127.0.0.2" not in content
    mx.wait_log(rf"{qid}: client=client\.remote\.test\[127\.0\.0\.2\], sasl_method=PLAIN")


def test_lookup_off_makes_no_query(request):
    z = DNSPeer()
    z.ptr("127.0.0.2", "client.remote.test")
    z.a("client.remote.test", "127.0.0.2")
    made, failed = made_with(request, [("dns_servers", z.spec),
                                       ("smtpd_peername_lookup", "no")])
    try:
        with greet(made.port, source="127.0.0.2") as c:
            c.cmd("QUIT")
        made.wait_log(r"connect from unknown\[127\.0\.0\.2\]")
        made.wait_log(r"disconnect from unknown\[127\.0\.0\.2\] ehlo=1 quit=1")
        assert not [q for q in z.queries if q[1] == "PTR"], z.queries
    finally:
        made.failed = request.session.testsfailed > failed
        made.close()
        z.stop()


def test_connection_limit_line_names_the_client(request, zone):
    made, failed = made_with(request, [("dns_servers", zone.spec),
                                       ("mynetworks", "127.0.0.1/32"),
                                       ("smtpd_client_connection_count_limit", "1")])
    try:
        with Raw(made.port, "127.0.0.2") as first:
            assert first.reply().startswith("220 ")
            with Raw(made.port, "127.0.0.2") as second:
                assert second.reply() == ("421 4.7.0 mx.example.test Error: too many "
                                          "connections from 127.0.0.2")
            made.wait_log(r"warning: too many connections from "
                          r"client\.remote\.test\[127\.0\.0\.2\]: 2")
            first.cmd("QUIT")
    finally:
        made.failed = request.session.testsfailed > failed
        made.close()


def greet_time(port, source, out, i):
    start = time.monotonic()
    try:
        with Raw(port, source, timeout=20) as c:
            out[i] = (c.reply(), time.monotonic() - start)
            c.cmd("QUIT")
    except OSError as e:
        out[i] = (repr(e), time.monotonic() - start)


def test_silent_resolver_delays_only_by_the_timeout(request):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", helpers.free_port(udp=True)))
    spec = f"127.0.0.1:{silent.getsockname()[1]}"
    made, failed = None, request.session.testsfailed
    # 1s: under the 2s socket timeout of Made's readiness probe
    try:
        made = Made(params=[("dns_servers", spec), ("smtpd_peername_timeout", "1s")],
                    users=[USER])
        # a session that got its greeting (after the timeout) ...
        with Raw(made.port, "127.0.0.2", timeout=20) as first:
            start = time.monotonic()
            assert first.reply().startswith("220 "), "first greeting"
            assert first.cmd("EHLO a.example").startswith("250")
            # ... is served while three new ones wait for their names
            out = [None] * 3
            threads = [threading.Thread(target=greet_time,
                                        args=(made.port, f"127.0.0.{3 + i}", out, i))
                       for i in range(3)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            t0 = time.monotonic()
            assert first.cmd("NOOP") == "250 2.0.0 Ok"
            assert time.monotonic() - t0 < 1.0, "a greeted session waited"
            for t in threads:
                t.join(30)
            for reply, took in out:
                assert reply.startswith("220 "), reply
                # the timeout, not three timeouts in a row
                assert 0.8 < took < 4.0, took
        made.wait_log(r"127\.0\.0\.3: client name lookup timed out")
        made.wait_log(r"connect from unknown\[127\.0\.0\.5\]")
        assert time.monotonic() - start < 30
    finally:
        if made is not None:
            made.failed = request.session.testsfailed > failed
            made.close()
        silent.close()
