"""
test_relay_auth.py - SMTP AUTH as a client, for relayhost setups: the smtp
agent of one instance relays through the submission port of a second tern
instance that requires AUTH (smtpd_sasl_auth_required, after STARTTLS),
with the password from smtp_sasl_password_maps (a hash: table keyed by the
relayhost "[127.0.0.1]:PORT").

Covers: AUTH PLAIN over STARTTLS accepted (the relay logs the SASL user);
a wrong password defers with the server's 535 reply; a password table
other users can read defers without a login attempt; in clear text
(smtp_tls_security_level = none, a relay that offers AUTH without TLS)
the default smtp_sasl_security_options (noplaintext) defers with "no
mechanism available", and noanonymous alone lets PLAIN through; AUTH LOGIN
with a server (an aiosmtpd sink) that offers only LOGIN.

Touches:  two instance directories under /tmp (the relay keeps mail in
          queue/active: its qmgr is off), 127.0.0.1.
"""

import os

import pytest

from helpers import check, mail_owner_ids
from test_relay import BODY, relay, start  # noqa: F401 - fixture
from test_smtpd_util import Made

USER = "alice@example.test"
PASSWORD = "secret-pw"  # what Made gives every user


@pytest.fixture
def upstream(request):
    """The relay: a second instance, AUTH on (also on port 25 in clear
    text when the test asks for it), its own host name (a shared one would
    be a mail loop)."""
    params = [("myhostname", "relay.upstream.test"), ("mynetworks", "127.0.0.2/32"),
              ("smtpd_sasl_auth_enable", "yes"), ("auth_failure_delay", "0s"),
              ("auth_failure_delay_max", "0s")]
    params += list(getattr(request, "param", []))
    made = Made(params=params, users=(USER,))
    failed = request.session.testsfailed
    yield made
    made.failed = request.session.testsfailed > failed
    made.close()


def passwords(inst, key, secret, mode=0o600):
    """smtp_sasl_password_maps = hash:DIR/sasl_passwd with one entry."""
    path = inst.dir / "sasl_passwd"
    path.write_text(f"{key} {secret}\n")
    check(inst.cmd("postmap", f"hash:{path}"), "postmap sasl_passwd")
    uid, gid = mail_owner_ids(inst)
    for p in (path, inst.dir / "sasl_passwd.db"):
        os.chown(p, uid, gid)
        os.chmod(p, mode)
    inst.set_param("smtp_sasl_auth_enable", "yes")
    inst.set_param("smtp_sasl_password_maps", f"hash:{path}")


def via(relay, port, secret=f"{USER}:{PASSWORD}", mode=0o600, host="127.0.0.1"):
    relay.inst.set_param("relayhost", f"[{host}]:{port}")
    passwords(relay.inst, f"[{host}]:{port}", secret, mode)
    start(relay)
    relay.send(["carol@far.test"], BODY)


def test_auth_plain_over_starttls_to_submission(relay, upstream):
    port = upstream.inst.port(587)
    via(relay, port)
    relay.inst.wait_log(rf"to=<carol@far.test>, relay=127.0.0.1\[127.0.0.1\]:{port}, .*"
                        r"status=sent \(250 ", 30)
    upstream.wait_log(r"client=\S+\[127.0.0.1\], sasl_method=PLAIN, "
                      rf"sasl_username={USER}", 10)
    relay.inst.wait_log(r"tern/smtp\[\d+\]: \w+ TLS connection established to 127.0.0.1", 5)
    assert PASSWORD not in relay.inst.maillog()


def test_wrong_password_defers(relay, upstream):
    port = upstream.inst.port(587)
    via(relay, port, secret=f"{USER}:not-the-password")
    relay.inst.wait_log(r"to=<carol@far.test>, .*dsn=4.7.8, status=deferred \(SASL "
                        rf"authentication failed; server 127.0.0.1\[127.0.0.1\]:{port} "
                        r"said: 535 ", 30)
    assert "not-the-password" not in relay.inst.maillog()


def test_password_table_readable_by_others_defers(relay, upstream):
    port = upstream.inst.port(587)
    via(relay, port, mode=0o644)
    relay.inst.wait_log(r"to=<carol@far.test>, .*dsn=4.3.0, status=deferred "
                        r"\(smtp_sasl_password_maps lookup error: smtp_sasl_password_maps: "
                        r"\S+sasl_passwd gives access to other users \(mode 0644\)", 30)
    assert "sasl_method" not in upstream.log()


CLEAR = [("smtpd_tls_auth_only", "no")]


@pytest.mark.parametrize("upstream", [CLEAR], indirect=True)
@pytest.mark.parametrize("relay", [{"smtp_tls_security_level": "none"}], indirect=True)
def test_no_password_in_clear_text_by_default(relay, upstream):
    port = upstream.inst.port(25)
    via(relay, port)
    relay.inst.wait_log(r"to=<carol@far.test>, .*dsn=4.7.0, status=deferred \(SASL "
                        r"authentication failed; cannot authenticate to server "
                        rf"127.0.0.1\[127.0.0.1\]:{port}: no mechanism available\)", 30)
    assert "sasl_method" not in upstream.log()


@pytest.mark.parametrize("upstream", [CLEAR], indirect=True)
@pytest.mark.parametrize("relay", [{"smtp_tls_security_level": "none",
                                    "smtp_sasl_security_options": "noanonymous"}],
                         indirect=True)
def test_clear_text_allowed_by_security_options(relay, upstream):
    port = upstream.inst.port(25)
    via(relay, port)
    relay.inst.wait_log(rf"to=<carol@far.test>, relay=127.0.0.1\[127.0.0.1\]:{port}, .*"
                        r"status=sent \(250 ", 30)
    upstream.wait_log(rf"sasl_method=PLAIN, sasl_username={USER}", 10)


@pytest.mark.parametrize("relay", [{"smtp_tls_security_level": "none",
                                    "smtp_sasl_security_options": "noanonymous"}],
                         indirect=True)
def test_auth_login_when_only_login_is_offered(relay):
    sink = relay.sink("127.0.0.8", auth=("relayuser", "relay-pw"), auth_mechs=("LOGIN",))
    via(relay, relay.port, secret="relayuser:relay-pw", host="127.0.0.8")
    got = sink.wait(1)[0]
    assert got.rcpt_tos == ["carol@far.test"]
    assert sink.logins == [("LOGIN", "relayuser", True)]
