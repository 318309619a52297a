"""
test_submission.py - the submission policy (ports 587 and 465, and AUTH on
25): AUTH required before MAIL, relay allowed after AUTH and refused
without, the envelope sender must be owned by the user (own address,
aliases and virtual aliases naming the user, address extensions, or
smtpd_sender_login_maps), and the fix-ups of submitted mail: Date and
Message-ID added when missing (at the end of the header section, for DATA
and BDAT), Received: with the authenticated user and ESMTPSA, the client
hidden with smtpd_hide_client_address.

Touches:  instances under /tmp (qmgr and local off: mail stays in
          queue/active/); 127.0.0.1 and 127.0.0.2 (outside mynetworks).
Errors:   a failing test prints the instance's maillog.
"""

import re
import smtplib

import helpers
import pytest

from test_smtpd_util import queue_file, queued_id
from test_submission_util import (OTHER, PASSWORD, USER, client_ctx, make_instance, ports,
                                  submit, wait_port)

ALIASES = "sales: alice@example.test, carol@remote.example\nteam: bob\n"


@pytest.fixture(scope="module")
def mx(request):
    made = make_instance(params=[("recipient_delimiter", "+")], aliases=ALIASES)
    inst = made.inst
    (inst.dir / "virtual").write_text("alice.smith@example.test alice@example.test\n"
                                      "info@example.test bob@example.test, alice@example.test\n")
    helpers.check(inst.cmd("postmap", f"hash:{inst.dir}/virtual"), "postmap")
    restart(made, "virtual_alias_maps", "hash:$config_directory/virtual")
    _, p587, p465 = ports(made)
    wait_port(p587)
    wait_port(p465, tls=True)
    failed = request.session.testsfailed
    yield made
    made.failed = request.session.testsfailed > failed
    made.close()


def restart(made, name, value):
    """Set a parameter naming a table built after the start, restart."""
    helpers.check(made.inst.stop(), "tern stop")
    made.inst.set_param(name, value)
    made.inst.start()
    helpers.wait_for(made.ready, 15, what="smtpd greeting")


def send(c, sender, rcpts, body):
    assert c.cmd(f"MAIL FROM:<{sender}>") == "250 2.1.0 Ok"
    for r in rcpts:
        assert c.cmd(f"RCPT TO:<{r}>") == "250 2.1.5 Ok", r
    assert c.cmd("DATA").startswith("354")
    c.send(body)
    return queued_id(c.reply())


def test_auth_required_before_mail(mx):
    _, p587, p465 = ports(mx)
    for port, mode in ((p587, "starttls"), (p465, "implicit")):
        with submit(port, mode) as c:
            assert c.cmd(f"MAIL FROM:<{USER}>") == "530 5.7.0 Authentication required"
            assert c.auth_plain() == "235 2.7.0 Authentication successful"
            assert c.cmd(f"MAIL FROM:<{USER}>") == "250 2.1.0 Ok"
    # 127.0.0.1 is "localhost": smtpd looks the client up (smtpd_peername_lookup),
    # and the resolver answers 127.0.0.1 -> localhost -> 127.0.0.1 itself.
    mx.wait_log(r"NOQUEUE: reject: MAIL from localhost\[127\.0\.0\.1\]: 530 5\.7\.0 "
                r"Authentication required; proto=ESMTPS helo=<client\.example>")


def test_relay_after_auth_and_not_without(mx):
    p25, p587, _ = ports(mx)
    # 127.0.0.2 is outside mynetworks: no relay without AUTH on 25
    with submit(p25, source="127.0.0.2") as c:
        assert c.cmd("MAIL FROM:<x@remote.example>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<carol@remote.example>") == \
            "554 5.7.1 <carol@remote.example>: Relay access denied"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.auth_plain() == "235 2.7.0 Authentication successful"
        qid = send(c, USER, ["carol@remote.example"], b"Subject: relay\r\n\r\nx\r\n.\r\n")
    env = queue_file(mx.inst, qid)
    assert env["O"] == "ESMTPSA"
    assert [r["addr"] for r in env["rcpts"]] == ["carol@remote.example"]
    with submit(p587, source="127.0.0.2") as c:
        assert c.auth_plain() == "235 2.7.0 Authentication successful"
        assert c.cmd(f"MAIL FROM:<{USER}>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<dave@elsewhere.example>") == "250 2.1.5 Ok"
        # local recipients must still exist
        assert c.cmd("RCPT TO:<nobody@example.test>").startswith("550 5.1.1 ")


def test_smtplib_submission_end_to_end(mx):
    _, p587, _ = ports(mx)
    with smtplib.SMTP("127.0.0.1", p587, timeout=10) as s:
        s.starttls(context=client_ctx())
        s.login(USER, PASSWORD)
        assert s.sendmail(USER, ["carol@remote.example", OTHER],
                          b"From: alice@example.test\r\nSubject: hi\r\n\r\nbody\r\n") == {}
    m = mx.wait_log(r"(\w+): client=localhost\[127\.0\.0\.1\], sasl_method=PLAIN, "
                    r"sasl_username=alice@example\.test")
    assert m


@pytest.mark.parametrize("sender", [
    USER, "Alice@Example.TEST", "alice+lists@example.test", "alice.smith@example.test",
    "info@example.test", "sales@example.test", ""])
def test_sender_owned(mx, sender):
    with submit(mx.port) as c:
        assert c.auth_plain() == "235 2.7.0 Authentication successful"
        assert c.cmd(f"MAIL FROM:<{sender}>") == "250 2.1.0 Ok"


@pytest.mark.parametrize("sender", [
    OTHER, "team@example.test", "bob+x@example.test", "ceo@remote.example",
    "postmaster@example.test"])
def test_sender_spoofing_refused(mx, sender):
    _, p587, _ = ports(mx)
    with submit(p587) as c:
        assert c.auth_plain() == "235 2.7.0 Authentication successful"
        r = c.cmd(f"MAIL FROM:<{sender}>")
        assert r == (f"553 5.7.1 <{sender}>: Sender address rejected: not owned by "
                     f"user {USER}"), r
    mx.wait_log(r"NOQUEUE: reject: MAIL from localhost\[127\.0\.0\.1\]: 553 5\.7\.1 <"
                + re.escape(sender) + r">: Sender address rejected")


def test_fixups_date_and_message_id_added(mx):
    _, p587, _ = ports(mx)
    with submit(p587) as c:
        assert c.auth_plain() == "235 2.7.0 Authentication successful"
        qid = send(c, USER, [OTHER], b"From: alice@example.test\r\nSubject: no date\r\n"
                                     b"\r\nbody line\r\n.\r\n")
    env = queue_file(mx.inst, qid)
    content = env["content"]
    head, sep, body = content.partition(b"\n\n")
    assert body == b"body line\n", content
    lines = head.split(b"\n")
    assert lines[0] == b"Received: from client.example (localhost [127.0.0.1])"
    assert lines[1].startswith(b"\t(using TLSv1.")
    assert lines[2] == b"\t(Authenticated sender: alice@example.test)"
    assert lines[3] == b"\tby mx.example.test (tern) with ESMTPSA id " + qid.encode()
    assert lines[5:7] == [b"From: alice@example.test", b"Subject: no date"]
    assert re.fullmatch(rb"Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", lines[7])
    m = re.fullmatch(rb"Message-ID: <(\d{14})\." + qid.encode() + rb"@mx\.example\.test>",
                     lines[8])
    assert m, lines[8]
    assert len(lines) == 9
    mx.wait_log(qid + r": message-id=<\d{14}\." + qid + r"@mx\.example\.test>")


def test_fixups_keep_existing_headers(mx):
    with submit(mx.port) as c:
        assert c.auth_plain() == "235 2.7.0 Authentication successful"
        qid = send(c, USER, [OTHER],
                   b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <m1@x.example>\r\n"
                   b"Subject: s\r\n\r\nb\r\n.\r\n")
    content = queue_file(mx.inst, qid)["content"]
    assert content.count(b"Date:") == 1 and content.count(b"Message-ID:") == 1
    assert content.endswith(b"Message-ID: <m1@x.example>\nSubject: s\n\nb\n")


def test_fixups_only_date_missing_and_no_header_section(mx):
    with submit(mx.port) as c:
        assert c.auth_plain() == "235 2.7.0 Authentication successful"
        qid = send(c, USER, [OTHER], b"Message-Id: <m2@x.example>\r\n\r\nb\r\n.\r\n")
        content = queue_file(mx.inst, qid)["content"]
        assert re.search(rb"\nMessage-Id: <m2@x\.example>\nDate: [^\n]+\n\nb\n$", content)
        # a body without headers: ours first, then an empty line
        qid = send(c, USER, [OTHER], b"just text\r\n.\r\n")
        content = queue_file(mx.inst, qid)["content"]
        assert re.search(rb"\nDate: [^\n]+\nMessage-ID: <[^\n]+>\n\njust text\n$", content)


def test_fixups_with_bdat(mx):
    with submit(mx.port) as c:
        assert c.auth_plain() == "235 2.7.0 Authentication successful"
        assert c.cmd(f"MAIL FROM:<{USER}>") == "250 2.1.0 Ok"
        assert c.cmd(f"RCPT TO:<{OTHER}>") == "250 2.1.5 Ok"
        part1 = b"Subject: chunked\r\nX-A: 1\r\n"
        part2 = b"\r\nbody\r\n"
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        assert c.reply().startswith("250 2.0.0 Ok: ")
        c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        qid = queued_id(c.reply())
    content = queue_file(mx.inst, qid)["content"]
    assert re.search(rb"\nSubject: chunked\nX-A: 1\nDate: [^\n]+\nMessage-ID: <[^\n]+>\n"
                     rb"\nbody\n$", content), content


def test_unauthenticated_mail_gets_no_fixups(mx):
    with submit(mx.port) as c:
        qid = send(c, "x@remote.example", [USER], b"Subject: plain\r\n\r\nb\r\n.\r\n")
    content = queue_file(mx.inst, qid)["content"]
    assert b"Message-ID" not in content and b"\nDate:" not in content
    assert b"Authenticated sender" not in content


def test_hidden_client_and_sender_login_maps():
    made = make_instance(params=[("smtpd_hide_client_address", "yes")])
    try:
        inst = made.inst
        (inst.dir / "senders").write_text(
            "boss@example.test alice@example.test, bob@example.test\n"
            "@shared.example alice@example.test\n")
        helpers.check(inst.cmd("postmap", f"hash:{inst.dir}/senders"), "postmap")
        restart(made, "smtpd_sender_login_maps", "hash:$config_directory/senders")
        _, p587, _ = ports(made)
        wait_port(p587)
        with submit(p587) as c:
            assert c.auth_plain() == "235 2.7.0 Authentication successful"
            qid = send(c, "boss@example.test", [OTHER],
                       b"Subject: s\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                       b"Message-ID: <a@b>\r\n\r\nx\r\n.\r\n")
            assert c.cmd("MAIL FROM:<anyone@shared.example>") == "250 2.1.0 Ok"
            assert c.cmd("RSET") == "250 2.0.0 Ok"
            # with a table, only the table counts: the own address is not listed
            assert c.cmd(f"MAIL FROM:<{USER}>").startswith("553 5.7.1 ")
        content = queue_file(inst, qid)["content"]
        first = content.split(b"\n\tby ")[0]
        assert first.startswith(b"Received: (using TLSv1."), content[:200]
        assert b"(Authenticated sender: alice@example.test)" in first
        assert b"127.0.0.1" not in content and b"client.example" not in content
        env = queue_file(inst, qid)
        assert env["A"] == "127.0.0.1"  # the envelope keeps it for the logs
    except BaseException:
        made.failed = True
        raise
    finally:
        made.close()
