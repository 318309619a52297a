"""
test_smtpd_tls.py - TLS in smtpd: STARTTLS on 25 and 587 (smtplib, swaks
and a raw client), implicit TLS on 465, the certificate served is the one
in DIR/tls, the session reset after STARTTLS, the STARTTLS command
injection (commands pipelined after STARTTLS are never executed), the
encrypt level on 587, TLS in the Received: header, the queue file and the
log, and a new certificate picked up by `tern reload`.

Touches:  instances under /tmp (qmgr and local off: mail stays in
          queue/active/); 127.0.0.1.
Errors:   a failing test prints the instance's maillog.
"""

import smtplib
import ssl
import subprocess
import time

import helpers
import pytest

from test_smtpd_util import queue_file, queued_id
from test_submission_util import (USER, Tls, cert_der, client_ctx, make_instance, new_cert,
                                  ports, submit, wait_port)


@pytest.fixture(scope="module")
def mx(request):
    made = make_instance()
    p25, p587, p465 = ports(made)
    wait_port(p587)
    wait_port(p465, tls=True)
    failed = request.session.testsfailed
    yield made
    made.failed = request.session.testsfailed > failed
    made.close()


def test_starttls_on_25_with_smtplib(mx):
    p25, _, _ = ports(mx)
    with smtplib.SMTP("127.0.0.1", p25, timeout=10) as s:
        s.ehlo("client.example")
        assert s.has_extn("starttls")
        assert not s.has_extn("auth"), "AUTH offered before TLS"
        code, resp = s.starttls(context=client_ctx())
        assert (code, resp) == (220, b"2.0.0 Ready to start TLS")
        assert s.sock.getpeercert(binary_form=True) == cert_der(mx.inst)
        assert s.sock.version() in ("TLSv1.2", "TLSv1.3")
        s.ehlo("client.example")
        assert not s.has_extn("starttls"), "STARTTLS offered twice"
        assert s.has_extn("auth")
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
        assert s.sendmail("s@remote.example", [USER], b"Subject: tls\r\n\r\nhi\r\n") == {}
    # 127.0.0.1 is "localhost": smtpd looks the client up (smtpd_peername_lookup),
    # and the resolver answers 127.0.0.1 -> localhost -> 127.0.0.1 itself.
    log = mx.wait_log(r"Anonymous TLS connection established from localhost\[127\.0\.0\.1\]: "
                      r"TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)")
    assert log
    mx.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=2 starttls=1 mail=1 rcpt=1 "
                r"data=1 quit=1 commands=7")


def test_received_and_protocol_record_tls(mx):
    _, p587, _ = ports(mx)
    p25 = mx.port
    with submit(p25) as c:
        assert c.cmd("MAIL FROM:<s@remote.example>").startswith("250")
        assert c.cmd(f"RCPT TO:<{USER}>").startswith("250")
        assert c.cmd("DATA").startswith("354")
        c.send(b"Subject: x\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n.\r\n")
        qid = queued_id(c.reply())
    env = queue_file(mx.inst, qid)
    assert env["O"] == "ESMTPS"
    content = env["content"]
    assert content.startswith(b"Received: from client.example (localhost [127.0.0.1])\n"
                              b"\t(using TLSv1."), content[:200]
    assert b"with ESMTPS id " + qid.encode() in content
    # no fix-ups for unauthenticated mail
    assert b"Message-ID:" not in content


def test_starttls_with_swaks_on_25_and_587(mx):
    p25, p587, _ = ports(mx)
    for port in (p25, p587):
        res = helpers.run(["swaks", "--server", f"127.0.0.1:{port}", "--tls",
                           "--quit-after", "EHLO", "--ehlo", "client.example"], timeout=30)
        text = helpers.out(res)
        assert res.returncode == 0, text
        assert "220 2.0.0 Ready to start TLS" in text
        assert "TLS started with cipher" in text
        assert "CN=mx.example.test" in text


def test_implicit_tls_on_465(mx):
    _, _, p465 = ports(mx)
    pem = ssl.get_server_certificate(("127.0.0.1", p465))
    assert ssl.PEM_cert_to_DER_cert(pem) == cert_der(mx.inst)
    with smtplib.SMTP_SSL("127.0.0.1", p465, timeout=10, context=client_ctx()) as s:
        code, _ = s.ehlo("client.example")
        assert code == 250
        assert not s.has_extn("starttls")
        assert s.has_extn("auth")
        assert s.sock.getpeercert(binary_form=True) == cert_der(mx.inst)


def test_plain_text_on_465_fails(mx):
    _, _, p465 = ports(mx)
    c = Tls(p465, timeout=10)
    c.send("EHLO client.example\r\n")
    got = b""
    try:
        while True:  # a TLS alert at most, then the end (EOF or reset)
            data = c.sock.recv(4096)
            if not data:
                break
            got += data
    except ConnectionResetError:
        pass
    c.close()
    assert b"250" not in got and b"220" not in got, got
    mx.wait_log(r"SSL_accept error from localhost\[127\.0\.0\.1\]")


def test_starttls_on_587_and_encrypt_level(mx):
    _, p587, _ = ports(mx)
    with Tls(p587) as c:
        assert c.reply().startswith("220 ")
        lines = c.ehlo()
        assert "250-STARTTLS" in lines
        assert not any("AUTH" in ln for ln in lines), lines
        assert c.cmd("MAIL FROM:<a@example.test>") == \
            "530 5.7.0 Must issue a STARTTLS command first"
        assert c.cmd("AUTH PLAIN " + "AGFAYgBj") == \
            "530 5.7.0 Must issue a STARTTLS command first"
        c.starttls()
        assert c.peer_der() == cert_der(mx.inst)
        lines = c.ehlo()
        assert "250-AUTH PLAIN LOGIN SCRAM-SHA-256" in lines
        assert "250-STARTTLS" not in lines
        assert c.cmd("STARTTLS") == "554 5.5.1 Error: TLS already active"


def test_state_reset_after_starttls(mx):
    p25 = mx.port
    with Tls(p25) as c:
        assert c.reply().startswith("220 ")
        c.ehlo()
        c.starttls()
        # the EHLO before STARTTLS no longer counts
        assert c.cmd("MAIL FROM:<a@remote.example>") == \
            "503 5.5.1 Error: send HELO/EHLO first"
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.example>") == "250 2.1.0 Ok"
        assert c.cmd("STARTTLS") == "554 5.5.1 Error: TLS already active"


def test_starttls_refused_in_transaction_and_after_helo(mx):
    with Tls(mx.port) as c:
        assert c.reply().startswith("220 ")
        assert c.cmd("HELO client.example") == "250 mx.example.test"
        assert c.cmd("STARTTLS") == "502 5.5.1 Error: command not implemented"
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.example>") == "250 2.1.0 Ok"
        assert c.cmd("STARTTLS") == "503 5.5.1 Error: MAIL transaction in progress"


@pytest.mark.parametrize("injected", [
    b"RSET\r\n",
    b"MAIL FROM:<evil@remote.example>\r\n",
    b"MAIL FROM:<evil@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n",
])
def test_commands_pipelined_after_starttls_are_discarded(mx, injected):
    size = mx.inst.log_size()
    with Tls(mx.port) as c:
        assert c.reply().startswith("220 ")
        c.ehlo()
        c.send(b"STARTTLS\r\n" + injected)
        assert c.reply() == "220 2.0.0 Ready to start TLS"
        time.sleep(0.3)  # any reply to the injected commands would be here now
        c.wrap()        # asserts nothing followed the 220 in plain text
        # the first reply inside TLS is the EHLO's: nothing injected ran
        r = c.cmd("EHLO client.example")
        assert r.startswith("250-mx.example.test\n"), r
        assert c.cmd(f"RCPT TO:<{USER}>") == "503 5.5.1 Error: need MAIL command"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    m = mx.inst.wait_log(r"improper command pipelining after STARTTLS from "
                         r"localhost\[127\.0\.0\.1\]: (\d+) bytes discarded", after=size)
    assert int(m.group(1)) == len(injected)
    # (the line of this session: earlier sessions may log theirs late)
    m = mx.inst.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] (ehlo=2 starttls=1 .*)",
                         after=size)
    counts = m.group(1)
    assert "mail=" not in counts and "rset=" not in counts and "data=" not in counts, counts
    assert counts == "ehlo=2 starttls=1 rcpt=0/1 quit=1 commands=4/5", counts


def test_reload_picks_up_a_new_certificate(mx):
    inst = mx.inst
    _, p587, p465 = ports(mx)
    old = cert_der(inst)
    new_cert(inst, "new.example.test")
    new = cert_der(inst)
    assert new != old
    helpers.check(inst.tern("reload"), "tern reload")

    def served():
        try:
            pem = ssl.get_server_certificate(("127.0.0.1", p465), timeout=3)
        except (OSError, ssl.SSLError, subprocess.SubprocessError):
            return False
        return ssl.PEM_cert_to_DER_cert(pem) == new
    helpers.wait_for(served, 20, interval=0.3, what="the new certificate on 465")

    def served_starttls():
        try:
            with submit(p587) as c:
                return c.peer_der() == new
        except (OSError, ssl.SSLError, AssertionError):
            return False
    helpers.wait_for(served_starttls, 20, interval=0.3, what="the new certificate on 587")
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=10) as s:
        s.starttls(context=client_ctx())
        assert s.sock.getpeercert(binary_form=True) == new
