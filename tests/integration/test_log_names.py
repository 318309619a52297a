"""
test_log_names.py - maillog lines name their program as Postfix does:
$syslog_name/DAEMON, so the submission (587) and smtps (465) entries of
master.cf, which set -o syslog_name=tern/submission and tern/smtps, log as
tern/submission/smtpd and tern/smtps/smtpd, and port 25 as tern/smtpd
(log filters such as fail2ban's tell the ports apart this way).

Touches:  a fresh instance under /tmp, 127.0.0.1 ports.
"""

import smtplib
import ssl


def test_program_names_follow_syslog_name(instance):
    inst = instance
    inst.start()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", inst.port(25), timeout=30) as s:
        s.ehlo("port25.test")
    with smtplib.SMTP("127.0.0.1", inst.port(587), timeout=30) as s:
        s.ehlo("port587.test")
    with smtplib.SMTP_SSL("127.0.0.1", inst.port(465), timeout=30, context=ctx) as s:
        s.ehlo("port465.test")
    for prog in ("tern/smtpd", "tern/submission/smtpd", "tern/smtps/smtpd"):
        inst.wait_log(prog.replace("/", r"/") + r"\[\d+\]: disconnect from ", 10)
    assert "tern/master[" in inst.maillog()
    # the harness parses every form into the daemon name
    names = {m.group("name") for m in inst.log_lines()}
    assert "smtpd" in names and "master" in names, names
