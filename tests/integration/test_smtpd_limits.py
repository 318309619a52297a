"""
test_smtpd_limits.py - smtpd with small limits: message_size_limit at MAIL
(SIZE=), during DATA and during BDAT; smtpd_recipient_limit; the soft and
hard error limits; smtpd_timeout; connections per client; EXPN enabled and
VRFY disabled; smtpd_forbid_bare_newline = reject.

Touches:  one instance under /tmp for the module; 127.0.0.1.
Errors:   a failing test prints the instance's maillog.
"""

import time

import pytest

import helpers

from test_smtpd_util import Made, Raw, greet, queue_ids, settle

USER = "alice@example.test"
LIMITS = [
    ("message_size_limit", "2000"),
    ("smtpd_recipient_limit", "3"),
    ("smtpd_soft_error_limit", "3"),
    ("smtpd_hard_error_limit", "6"),
    ("smtpd_error_sleep_time", "1s"),
    ("smtpd_timeout", "2s"),
    ("smtpd_client_connection_count_limit", "3"),
    ("smtpd_client_event_limit_exceptions", ""),  # 127.0.0.1 is in mynetworks
    ("smtpd_expn_enable", "yes"),
    ("disable_vrfy_command", "yes"),
    ("smtpd_forbid_bare_newline", "reject"),
]


@pytest.fixture(scope="module")
def mx(request):
    made = Made(params=LIMITS, users=[USER],
                aliases="staff: alice@example.test, bob@remote.example\n")
    failed = request.session.testsfailed
    yield made
    made.failed = request.session.testsfailed > failed
    made.close()


def start_txn(c, rcpts=(USER,)):
    assert c.cmd("MAIL FROM:<s@remote.example>") == "250 2.1.0 Ok"
    for r in rcpts:
        assert c.cmd(f"RCPT TO:<{r}>") == "250 2.1.5 Ok"


def test_ehlo_shows_limits(mx):
    with Raw(mx.port) as c:
        c.reply()
        r = c.cmd("EHLO client.example")
        assert "250-SIZE 2000" in r
        assert "VRFY" not in r
        assert c.cmd("VRFY alice") == "502 5.5.1 VRFY command is disabled"


def test_size_refused_at_mail(mx):
    with greet(mx.port) as c:
        assert c.cmd("MAIL FROM:<s@remote.example> SIZE=2001") == \
            "552 5.3.4 Message size exceeds fixed limit"
        assert c.cmd("MAIL FROM:<s@remote.example> SIZE=2000") == "250 2.1.0 Ok"
    # 127.0.0.1 is "localhost": smtpd looks the client up (smtpd_peername_lookup),
    # and the resolver answers 127.0.0.1 -> localhost -> 127.0.0.1 itself.
    mx.wait_log(r"NOQUEUE: reject: MAIL from localhost\[127\.0\.0\.1\]: 552 5\.3\.4")


def test_size_exceeded_in_data_is_discarded(mx):
    before = queue_ids(mx.inst)
    with greet(mx.port) as c:
        start_txn(c)
        assert c.cmd("DATA").startswith("354")
        c.send(b"Subject: big\r\n\r\n" + (b"x" * 78 + b"\r\n") * 40 + b".\r\n")
        assert c.reply() == "552 5.3.4 Message size exceeds fixed limit"
        # the session is still in step and the next message goes through
        start_txn(c)
        assert c.cmd("DATA").startswith("354")
        c.send(b"Subject: small\r\n\r\nok\r\n.\r\n")
        assert c.reply().startswith("250 2.0.0 Ok: queued as ")
    settle()
    assert len(queue_ids(mx.inst)) == len(before) + 1


def test_size_exceeded_in_bdat(mx):
    with greet(mx.port) as c:
        start_txn(c)
        c.send(b"BDAT 1500\r\n" + b"a" * 1500)
        assert c.reply() == "250 2.0.0 Ok: 1500 bytes"
        c.send(b"BDAT 1000 LAST\r\n" + b"b" * 1000)
        assert c.reply() == "552 5.3.4 Message size exceeds fixed limit"
        c.send(b"BDAT 1 LAST\r\nc")
        assert c.reply() == "503 5.5.1 Error: BDAT after failed BDAT"
        assert c.cmd("RSET") == "250 2.0.0 Ok"


def test_recipient_limit(mx):
    with greet(mx.port) as c:
        start_txn(c, [USER, "postmaster@example.test", "staff@example.test"])
        assert c.cmd("RCPT TO:<alice@example.test>") == "452 4.5.3 Error: too many recipients"


def test_expn_enabled(mx):
    with greet(mx.port) as c:
        assert c.cmd("EXPN staff") == \
            "250-2.1.5 alice@example.test\n250 2.1.5 bob@remote.example"
        assert c.cmd("EXPN alice@example.test") == "250 2.1.5 <alice@example.test>"
        assert c.cmd("EXPN nobody@example.test").startswith("550 5.1.1")


def test_bare_lf_rejected(mx):
    with greet(mx.port) as c:
        start_txn(c)
        assert c.cmd("DATA").startswith("354")
        c.send(b"Subject: lf\n\nbody\r\n.\r\n")
        assert c.reply() == "550 5.5.2 Error: bare <LF> received"
        c.send(b"NOOP\n")
        assert c.reply() == "550 5.5.2 Error: bare <LF> received"
        assert c.closed()


def test_timeout(mx):
    with greet(mx.port) as c:
        start = time.monotonic()
        assert c.reply() == "421 4.4.2 mx.example.test Error: timeout exceeded"
        assert 1.5 < time.monotonic() - start < 6
        assert c.closed()
    mx.wait_log(r"timeout after EHLO from localhost\[127\.0\.0\.1\]")


def test_timeout_in_data(mx):
    with greet(mx.port) as c:
        start_txn(c)
        assert c.cmd("DATA").startswith("354")
        c.send(b"Subject: slow\r\n")
        assert c.reply() == "421 4.4.2 mx.example.test Error: timeout exceeded"
    mx.wait_log(r"timeout after END-OF-MESSAGE from localhost\[127\.0\.0\.1\]")


def test_soft_then_hard_error_limit(mx):
    with greet(mx.port) as c:
        times = []
        for _ in range(5):
            start = time.monotonic()
            assert c.cmd("BOGUS") == "500 5.5.2 Error: command not recognized"
            times.append(time.monotonic() - start)
        # errors 1..3 at once, past the soft limit each reply waits 1 s
        assert max(times[:3]) < 0.8, times
        assert min(times[3:]) >= 0.9, times
        c.send("BOGUS\r\n")
        assert c.reply() == "500 5.5.2 Error: command not recognized"
        assert c.reply() == "421 4.7.0 mx.example.test Error: too many errors"
        assert c.closed()
    mx.wait_log(r"too many errors after UNKNOWN from localhost\[127\.0\.0\.1\]")


def test_connection_count_limit(mx):
    conns = [greet(mx.port) for _ in range(3)]
    try:
        with Raw(mx.port) as extra:
            assert extra.reply() == ("421 4.7.0 mx.example.test Error: too many "
                                     "connections from 127.0.0.1")
            assert extra.closed()
    finally:
        for c in conns:
            c.close()
    time.sleep(0.5)
    with greet(mx.port) as c:
        assert c.cmd("QUIT") == "221 2.0.0 Bye"


def test_reload_keeps_every_session():
    """As with Postfix, a reload cuts no session: idle and busy sessions of
    the old process go on with the old settings until QUIT; new connections
    get the new process and the new settings; the old process then exits."""
    made = Made()
    try:
        with greet(made.port) as idle, greet(made.port) as busy:
            old = set(made.inst.service_pids(made.port))
            assert busy.cmd("MAIL FROM:<>") == "250 2.1.0 Ok"
            made.inst.set_param("smtpd_banner", "$myhostname ESMTP reloaded")
            assert made.inst.tern("reload").returncode == 0
            helpers.wait_for(lambda: set(made.inst.service_pids(made.port)) - old, 15,
                             what="a new smtpd process")
            with Raw(made.port) as fresh:
                assert fresh.reply() == "220 mx.example.test ESMTP reloaded"
                assert fresh.cmd("QUIT") == "221 2.0.0 Bye"
            assert idle.cmd("NOOP") == "250 2.0.0 Ok"
            assert busy.cmd("RCPT TO:<postmaster@example.test>") == "250 2.1.5 Ok"
            assert busy.cmd("RSET") == "250 2.0.0 Ok"
            assert busy.cmd("NOOP") == "250 2.0.0 Ok"
            assert idle.cmd("QUIT") == "221 2.0.0 Bye"
            assert busy.cmd("QUIT") == "221 2.0.0 Bye"
        helpers.wait_for(lambda: not (old & set(made.inst.service_pids(made.port))), 15,
                         what="the old smtpd process to exit after its last session")
    finally:
        made.close()
