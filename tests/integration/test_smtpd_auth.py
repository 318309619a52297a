"""
test_smtpd_auth.py - SMTP AUTH (RFC 4954) in smtpd through the auth
service: PLAIN, LOGIN and SCRAM-SHA-256 (a hashlib/hmac client) with good
and bad passwords, with and without the initial response, smtplib and
swaks; cancel, AUTH twice, unknown mechanism, AUTH refused before TLS
(538 on 25, 530 on 587), the TLS exemption for listed networks, the MAIL
AUTH= parameter, and the brute-force defence seen from SMTP: blocked (454)
after too many failures, unblocked after the block time.

Touches:  instances under /tmp (qmgr and local off); 127.0.0.1.
Errors:   a failing test prints the instance's maillog.
"""

import smtplib
import time

import helpers
import pytest

from test_submission_util import (OTHER, PASSWORD, USER, Tls, b64, client_ctx, make_instance,
                                  ports, submit, wait_port)


@pytest.fixture(scope="module")
def mx(request):
    made = make_instance()
    _, p587, p465 = ports(made)
    wait_port(p587)
    wait_port(p465, tls=True)
    failed = request.session.testsfailed
    yield made
    made.failed = request.session.testsfailed > failed
    made.close()


def test_plain_with_smtplib_on_587_and_465(mx):
    _, p587, p465 = ports(mx)
    with smtplib.SMTP("127.0.0.1", p587, timeout=10) as s:
        s.starttls(context=client_ctx())
        s.ehlo("client.example")
        s.login(USER, PASSWORD, initial_response_ok=True)
    with smtplib.SMTP_SSL("127.0.0.1", p465, timeout=10, context=client_ctx()) as s:
        s.ehlo("client.example")
        assert s.login(USER, PASSWORD) == (235, b"2.7.0 Authentication successful")
        # smtplib takes 503 (already authenticated) as success
        assert s.login(USER, PASSWORD) == (503, b"5.5.1 Error: already authenticated")
    mx.wait_log(r"tern/auth\[\d+\]: smtpd login: user=<alice@example\.test>, "
                r"client=127\.0\.0\.1, method=PLAIN")


def test_plain_forms_and_failures(mx):
    with submit(mx.port) as c:
        r = c.auth_plain(USER, "wrong")
        assert r == "535 5.7.8 Error: authentication failed: authentication failed", r
        # no initial response: an empty 334, then the response
        assert c.cmd("AUTH PLAIN") == "334 "
        assert c.cmd(b64(f"\0{USER}\0{PASSWORD}")) == "235 2.7.0 Authentication successful"
        assert c.cmd("AUTH PLAIN " + b64(f"\0{USER}\0{PASSWORD}")) == \
            "503 5.5.1 Error: already authenticated"
    # 127.0.0.1 is "localhost": smtpd looks the client up (smtpd_peername_lookup),
    # and the resolver answers 127.0.0.1 -> localhost -> 127.0.0.1 itself.
    mx.wait_log(r"warning: localhost\[127\.0\.0\.1\]: SASL PLAIN authentication failed: "
                r"authentication failed")
    assert PASSWORD not in mx.log() and "wrong" not in mx.log()


def test_login_good_and_bad(mx):
    with submit(mx.port) as c:
        assert c.cmd("AUTH LOGIN") == "334 " + b64("Username:")
        assert c.cmd(b64(USER)) == "334 " + b64("Password:")
        assert c.cmd(b64("nope")).startswith("535 5.7.8 ")
        # the initial response is the user name
        assert c.cmd("AUTH LOGIN " + b64(USER)) == "334 " + b64("Password:")
        assert c.cmd(b64(PASSWORD)) == "235 2.7.0 Authentication successful"


def test_login_with_swaks(mx):
    _, p587, _ = ports(mx)
    res = helpers.run(["swaks", "--server", f"127.0.0.1:{p587}", "--tls",
                       "--auth", "LOGIN", "--auth-user", USER, "--auth-password", PASSWORD,
                       "--quit-after", "AUTH"], timeout=30)
    assert res.returncode == 0, helpers.out(res)
    assert "235 2.7.0 Authentication successful" in helpers.out(res)
    res = helpers.run(["swaks", "--server", f"127.0.0.1:{p587}", "--tls",
                       "--auth", "PLAIN", "--auth-user", USER, "--auth-password", "bad",
                       "--quit-after", "AUTH"], timeout=30)
    assert res.returncode != 0
    assert "535 5.7.8 Error: authentication failed" in helpers.out(res)


def test_scram_sha256(mx):
    _, p587, p465 = ports(mx)
    with submit(p587) as c:
        assert c.auth_scram(USER, "wrong").startswith("535 5.7.8 ")
        assert c.auth_scram(USER, PASSWORD) == "235 2.7.0 Authentication successful"
    with submit(p465, tls_mode="implicit") as c:
        assert c.auth_scram(OTHER, PASSWORD, initial=False) == \
            "235 2.7.0 Authentication successful"
        assert c.cmd(f"MAIL FROM:<{OTHER}>") == "250 2.1.0 Ok"
    mx.wait_log(r"smtpd login: user=<bob@example\.test>, client=127\.0\.0\.1, "
                r"method=SCRAM-SHA-256")


def test_cancel_unknown_mechanism_and_sequence(mx):
    with submit(mx.port) as c:
        assert c.cmd("AUTH LOGIN") == "334 " + b64("Username:")
        assert c.cmd("*") == "501 5.7.0 Authentication aborted"
        assert c.cmd("AUTH CRAM-MD5") == "504 5.5.4 Unsupported authentication mechanism"
        assert c.cmd("AUTH PLAIN !!!") == "501 5.5.2 Cannot decode response"
        # "=" is an empty initial response, which PLAIN cannot take
        assert c.cmd("AUTH PLAIN =") == \
            "535 5.7.8 Error: authentication failed: malformed PLAIN response"
        assert c.cmd("AUTH SCRAM-SHA-256") == "334 "
        assert c.cmd("*") == "501 5.7.0 Authentication aborted"
        assert c.cmd("MAIL FROM:<a@remote.example>") == "250 2.1.0 Ok"
        assert c.cmd("AUTH PLAIN") == "503 5.5.1 Error: MAIL transaction in progress"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.auth_plain() == "235 2.7.0 Authentication successful"
    with Tls(mx.port) as c:
        assert c.reply().startswith("220")
        assert c.cmd("HELO x.example") == "250 mx.example.test"
        assert c.cmd("AUTH PLAIN") == "503 5.5.1 Error: send EHLO first"


def test_auth_refused_before_tls(mx):
    p25, p587, _ = ports(mx)
    with Tls(p25) as c:
        assert c.reply().startswith("220")
        lines = c.ehlo()
        assert not any(ln.startswith("250-AUTH") for ln in lines), lines
        assert c.auth_plain() == ("538 5.7.11 Encryption required for requested "
                                  "authentication mechanism")
    with Tls(p587) as c:
        assert c.reply().startswith("220")
        c.ehlo()
        assert c.auth_plain() == "530 5.7.0 Must issue a STARTTLS command first"


def test_mail_auth_parameter_accepted(mx):
    with submit(mx.port) as c:
        assert c.auth_plain() == "235 2.7.0 Authentication successful"
        assert c.cmd(f"MAIL FROM:<{USER}> AUTH=<{USER}>") == "250 2.1.0 Ok"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.cmd(f"MAIL FROM:<{USER}> AUTH=<>") == "250 2.1.0 Ok"


def test_tls_exempt_network_may_auth_in_clear(tmp_path):
    made = make_instance(params=[("smtpd_tls_exempt_networks", "127.0.0.1/32")])
    try:
        _, p587, _ = ports(made)
        wait_port(p587)
        for port in (made.port, p587):
            with Tls(port) as c:
                assert c.reply().startswith("220")
                lines = c.ehlo()
                assert "250-AUTH PLAIN LOGIN SCRAM-SHA-256" in lines, lines
                assert c.auth_plain() == "235 2.7.0 Authentication successful"
                assert c.cmd(f"MAIL FROM:<{USER}>") == "250 2.1.0 Ok"
        # 127.0.0.2 is not exempt
        with Tls(made.port, source="127.0.0.2") as c:
            assert c.reply().startswith("220")
            c.ehlo()
            assert c.auth_plain().startswith("538 5.7.11 ")
    except BaseException:
        made.failed = True
        raise
    finally:
        made.close()


def test_brute_force_blocked_then_unblocked():
    made = make_instance(params=[("auth_client_failure_limit", "3"),
                                 ("auth_user_failure_limit", "0"),
                                 ("auth_failure_window", "60s"),
                                 ("auth_block_time", "3s")])
    try:
        with submit(made.port) as c:
            for _ in range(3):
                assert c.auth_plain(USER, "guess").startswith("535 5.7.8 ")
            # blocked: even the right password gets a temporary failure
            assert c.auth_plain(USER, PASSWORD) == "454 4.7.0 Temporary authentication failure"
        made.wait_log(r"warning: auth: client 127\.0\.0\.1 blocked for 3s after 3 failures")
        # 127.0.0.1 is "localhost": smtpd looks the client up (smtpd_peername_lookup),
        # and the resolver answers 127.0.0.1 -> localhost -> 127.0.0.1 itself.
        made.wait_log(r"warning: localhost\[127\.0\.0\.1\]: SASL PLAIN authentication failed: "
                      r"too many authentication failures")
        time.sleep(3.5)
        with submit(made.port) as c:
            assert c.auth_plain(USER, PASSWORD) == "235 2.7.0 Authentication successful"
    except BaseException:
        made.failed = True
        raise
    finally:
        made.close()
