"""
test_relay_loop.py - mail loops: an MX (or a relayhost) that is this very
host, i.e. a server that greets with our own myhostname, makes the smtp
agent bounce "mail for DOMAIN loops back to myself" (5.4.6) instead of
sending the mail to itself again and again, as Postfix does.

Touches:  an instance directory under /tmp, 127.0.0.1 (the instance's own
          smtpd port is the MX port).
"""

import pytest

from test_relay import BODY, dsn_status, relay, start, wait_dsn  # noqa: F401 - fixture


def test_mx_pointing_back_at_myself_bounces(relay):
    inst = relay.inst
    relay.dns.mx("loop.test", (10, "mx.loop.test"))
    relay.dns.a("mx.loop.test", "127.0.0.1")
    inst.set_param("smtp_tcp_port", str(inst.port(25)))
    start(relay)
    relay.send(["bob@loop.test"], BODY)
    inst.wait_log(r"tern/smtp\[\d+\]: warning: host mx.loop.test\[127.0.0.1\]:\d+ greeted me "
                  r"with my own hostname mx.example.test", 20)
    inst.wait_log(r"to=<bob@loop.test>, relay=mx.loop.test\[127.0.0.1\]:\d+, .*dsn=5.4.6, "
                  r"status=bounced \(mail for loop.test loops back to myself\)", 20)
    status, _ = dsn_status(wait_dsn(inst))
    assert status == "5.4.6"


@pytest.mark.parametrize("relay", [{"relayhost": "[127.0.0.1]"}], indirect=True)
def test_relayhost_pointing_back_at_myself_bounces(relay):
    inst = relay.inst
    inst.set_param("smtp_tcp_port", str(inst.port(25)))
    start(relay)
    relay.send(["carol@far.test"], BODY)
    inst.wait_log(r"to=<carol@far.test>, relay=127.0.0.1\[127.0.0.1\]:\d+, .*dsn=5.4.6, "
                  r"status=bounced \(mail for 127.0.0.1 loops back to myself\)", 20)
