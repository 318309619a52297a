"""
test_smtpd_auth_down.py - when the auth service is gone, SMTP AUTH answers
454 4.7.0 (try again later), never 535: a failure of our own must not look
like a wrong password to the client, and nothing is let through.

Touches:  one instance; edits its master.cf and reloads it.
Security: loopback only.
"""

import re

import helpers
from test_submission_util import PASSWORD, USER, b64, make_instance, submit


def test_auth_service_down_is_temporary():
    made = make_instance()
    try:
        inst = made.inst
        with submit(made.port) as c:
            assert c.auth_plain(USER, PASSWORD) == "235 2.7.0 Authentication successful"
        # Remove the auth service and reload: its socket goes away.
        text = inst.master_cf.read_text()
        inst.master_cf.write_text(re.sub(r"(?m)^auth(\s)", r"#auth\1", text))
        helpers.check(inst.tern("reload"))
        helpers.wait_for(lambda: not (inst.dir / "queue/private/auth").exists(), 20,
                         what="the auth socket removed")
        # From outside mynetworks (127.0.0.2), so only AUTH could allow relaying.
        with submit(made.port, source="127.0.0.2") as c:
            r = c.auth_plain(USER, PASSWORD)
            assert r.startswith("454 4.7.0"), r
            # Still unauthenticated: relaying is refused.
            assert c.cmd("MAIL FROM:<alice@example.test>").startswith("250")
            assert c.cmd("RCPT TO:<x@remote.example>").startswith("554 5.7.1")
        assert PASSWORD not in inst.maillog()
    finally:
        made.close()
