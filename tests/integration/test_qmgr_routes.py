"""
test_qmgr_routes.py - qmgr's routing through transport_maps: error:
bounces at once with the table's text, discard: drops the recipient as
delivered, a table that cannot be read defers (never bounces), and the
other recipients of the same message are unaffected.

Touches:  a fresh instance per test; its tables, queue and Maildirs.
Security: loopback only.
"""

import email
import email.policy
import smtplib

import helpers


def maildir(inst, user):
    new = inst.dir / "mail" / "example.test" / user / "new"
    return sorted(new.iterdir()) if new.is_dir() else []


def start_with_routes(inst, table_text):
    (inst.dir / "transport").write_text(table_text)
    helpers.check(inst.cmd("postmap", f"hash:{inst.dir}/transport"))
    inst.set_param("transport_maps", f"hash:{inst.dir}/transport")
    for u in ("alice", "bob"):
        helpers.check(inst.tern("user", "add", f"{u}@example.test", "pw"))
    inst.start()


def send(inst, rcpts):
    with smtplib.SMTP("127.0.0.1", inst.port(25), timeout=30) as s:
        s.sendmail("alice@example.test", rcpts,
                   "Subject: routes\r\nMessage-ID: <r1@example.test>\r\n\r\nhello\r\n")


def test_error_and_discard(instance):
    start_with_routes(instance, "refused.test error:5.7.1 we take no mail for this domain\n"
                    "blackhole.test discard:\n")
    send(instance, ["x@refused.test", "y@blackhole.test", "bob@example.test"])
    helpers.wait_for(lambda: maildir(instance, "bob"), 20, what="bob's copy")
    dsn_files = helpers.wait_for(lambda: maildir(instance, "alice"), 20,
                                 what="the bounce in alice's Maildir")
    msg = email.message_from_bytes(dsn_files[0].read_bytes(), policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    report = [p for p in msg.walk() if p.get_content_type() == "message/delivery-status"]
    assert report, msg.as_string()[:2000]
    text = report[0].as_string()
    assert "x@refused.test" in text
    assert "we take no mail for this domain" in text
    # The discarded recipient is not reported as failed.
    assert "blackhole.test" not in text
    log = instance.maillog()
    assert "to=<y@blackhole.test>, relay=none" in log and "status=sent (discarded)" in log
    assert "to=<x@refused.test>, relay=none" in log and "status=bounced" in log
    # The status code at the start of the error: text becomes the DSN status.
    assert "dsn=5.7.1, status=bounced (we take no mail for this domain)" in log
    assert "Status: 5.7.1" in text
    helpers.wait_for(lambda: "removed" in instance.maillog(), 20, what="queue file removed")


def test_unreadable_table_defers(instance):
    # Check the file on every lookup, so qmgr sees the corruption at once.
    instance.set_param("table_reopen_check", "0s")
    start_with_routes(instance, "refused.test error:no\n")
    # Corrupt the compiled table: lookups must say "try again", not "no rule".
    (instance.dir / "transport.db").write_bytes(b"\0garbage" * 64)
    send(instance, ["x@refused.test"])
    instance.wait_log(r"to=<x@refused\.test>, relay=none, delay=\d+, dsn=4\.3\.0, "
                      r"status=deferred", timeout=20)
    res = helpers.check(instance.cmd("postqueue", "-p"))
    assert "x@refused.test" in res.stdout
    assert not maildir(instance, "alice"), "a table failure must not bounce"
