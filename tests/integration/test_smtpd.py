"""
test_smtpd.py - smtpd with its default limits, driven by Python's smtplib,
raw sockets and swaks: every command and extension, pipelining, BDAT,
8-bit and SMTPUTF8 mail, DSN parameters, relay control, unknown users, the
SMTP smuggling variants, and the queue file each accepted message leaves
in queue/active/ (qmgr and local are left out of this instance).

Touches:  one instance under /tmp for the module; 127.0.0.1 and 127.0.0.2.
Security: mynetworks = 127.0.0.1/32, so 127.0.0.2 is an outside client.
Errors:   a failing test prints the instance's maillog.
"""

import smtplib
import subprocess
import time

import helpers
import pytest

from test_smtpd_util import (Made, Raw, body_of, greet, queue_file, queue_ids,
                             queued_id, settle)

USER = "alice@example.test"


@pytest.fixture(scope="module")
def mx(request):
    made = Made(params=[("mynetworks", "127.0.0.1/32")], users=[USER],
                aliases="staff: alice@example.test, bob@remote.example\n")
    failed = request.session.testsfailed
    yield made
    made.failed = request.session.testsfailed > failed
    made.close()


def send_message(c, body, rcpts=(USER,), sender="sender@remote.example"):
    assert c.cmd(f"MAIL FROM:<{sender}>").startswith("250 2.1.0"), "MAIL"
    for r in rcpts:
        assert c.cmd(f"RCPT TO:<{r}>").startswith("250 2.1.5"), r
    assert c.cmd("DATA").startswith("354 ")
    c.send(body)
    return c.reply()


def test_smtplib_session_queue_file_and_log(mx):
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=10) as s:
        code, banner = s.ehlo("client.example")
        assert code == 250
        for ext in ("pipelining", "size", "8bitmime", "enhancedstatuscodes",
                    "smtputf8", "chunking", "dsn", "vrfy"):
            assert s.has_extn(ext), ext
        assert s.esmtp_features["size"] == "10240000"
        msg = (b"From: s@remote.example\r\nTo: alice@example.test\r\n"
               b"Message-ID: <abc.123@remote.example>\r\nSubject: hi\r\n\r\n"
               b"line one\r\n.leading dot\r\nlast\r\n")
        refused = s.sendmail("s@remote.example", [USER], msg)
        assert refused == {}
        code, resp = s.noop()
        assert code == 250
    # 127.0.0.1 is "localhost": smtpd looks the client up (smtpd_peername_lookup),
    # and the resolver answers 127.0.0.1 -> localhost -> 127.0.0.1 itself.
    mx.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 "
                r"data=1 noop=1 quit=1 commands=6")
    log = mx.log()
    lines = [l for l in log.splitlines() if "message-id=<abc.123@remote.example>" in l]
    assert lines, log
    qid = lines[0].split("]: ")[1].split(":")[0]
    assert f"{qid}: client=localhost[127.0.0.1]" in log
    # "from=<...>, size=N, nrcpt=N (queue active)" is qmgr's line (Postfix's
    # shape), and qmgr is off in this test: smtpd must not log it itself.
    assert f"{qid}: from=<s@remote.example>, size=" not in log
    env = queue_file(mx.inst, qid)
    assert env["S"] == "s@remote.example"
    assert env["A"] == "127.0.0.1" and env["N"] == "localhost"
    assert env["H"] == "client.example" and env["O"] == "ESMTP"
    assert env["F"] == "0"
    assert [r["addr"] for r in env["rcpts"]] == [USER]
    assert env["rcpts"][0]["status"] == "P"
    content = env["content"]
    assert content.startswith(
        b"Received: from client.example (localhost [127.0.0.1])\n"
        b"\tby mx.example.test (tern) with ESMTP id " + qid.encode() +
        b"\n\tfor <alice@example.test>; ")
    assert body_of(env) == msg.replace(b"\r\n", b"\n")  # smtplib stuffed the dot


def test_every_command_and_reply_code(mx):
    with Raw(mx.port) as c:
        assert c.reply() == "220 mx.example.test ESMTP tern"
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
        assert c.cmd("MAIL FROM:<a@b.example>") == "503 5.5.1 Error: send HELO/EHLO first"
        assert c.cmd("HELO client.example") == "250 mx.example.test"
        assert c.cmd("RCPT TO:<alice@example.test>") == "503 5.5.1 Error: need MAIL command"
        assert c.cmd("DATA") == "503 5.5.1 Error: need MAIL command"
        assert c.cmd("MAIL FROM:<a@b.example>") == "250 2.1.0 Ok"
        assert c.cmd("MAIL FROM:<a@b.example>") == "503 5.5.1 Error: nested MAIL command"
        assert c.cmd("DATA") == "554 5.5.1 Error: no valid recipients"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.cmd("VRFY alice") == ("252 2.0.0 Cannot VRFY user, but will accept "
                                       "message and attempt delivery")
        assert c.cmd("EXPN staff") == "502 5.5.1 EXPN command is disabled"
        assert c.cmd("HELP").startswith("214 2.0.0 ")
        assert c.cmd("STARTTLS") == "502 5.5.1 Error: command not implemented"
        assert c.cmd("FOO bar") == "500 5.5.2 Error: command not recognized"
        assert c.cmd("MAIL FROM:bad address").startswith("5")
        assert c.cmd("RCPT").startswith("50")
        assert c.cmd("RSET extra").startswith("501 5.5.4")
        # HELO gives no extensions: SIZE= is a syntax error there
        assert c.cmd("MAIL FROM:<a@b.example> SIZE=10").startswith("555 5.5.4")
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
        assert c.closed()
    mx.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] helo=1 starttls=0/1 mail=1/5 "
                r"rcpt=0/2 data=0/2 rset=1/2 noop=1 vrfy=1 expn=0/1 help=1 quit=1 "
                r"unknown=0/1 commands=7/19")


def test_unknown_user_refused_at_rcpt(mx):
    with greet(mx.port) as c:
        assert c.cmd("MAIL FROM:<>") == "250 2.1.0 Ok"
        r = c.cmd("RCPT TO:<nobody@example.test>")
        assert r == ("550 5.1.1 <nobody@example.test>: Recipient address rejected: "
                     "User unknown")
        assert c.cmd("RCPT TO:<Postmaster>") == "250 2.1.5 Ok"
        assert c.cmd("RCPT TO:<staff@example.test>") == "250 2.1.5 Ok"
        assert c.cmd("RCPT TO:<alice@EXAMPLE.test>") == "250 2.1.5 Ok"
        assert c.cmd("DATA").startswith("354")
        c.send(b"Subject: x\r\n\r\nx\r\n.\r\n")
        qid = queued_id(c.reply())
    env = queue_file(mx.inst, qid)
    assert env["S"] == ""
    assert [r["addr"] for r in env["rcpts"]] == [
        "postmaster@example.test", "staff@example.test", "alice@example.test"]
    # several recipients: no "for <...>" in Received:
    assert b"with ESMTP id " + qid.encode() + b";\n\t" in env["content"]
    mx.wait_log(r"NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 550 5\.1\.1 "
                r"<nobody@example\.test>: Recipient address rejected: User unknown; "
                r"from=<> to=<nobody@example\.test> proto=ESMTP helo=<client\.example>")


def test_relay_denied_from_outside_mynetworks(mx):
    with greet(mx.port, source="127.0.0.2") as c:
        assert c.cmd("MAIL FROM:<a@remote.example>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<x@elsewhere.example>") == \
            "554 5.7.1 <x@elsewhere.example>: Relay access denied"
        # local users are reachable from anywhere
        assert c.cmd(f"RCPT TO:<{USER}>") == "250 2.1.5 Ok"
    with greet(mx.port) as c:
        assert c.cmd("MAIL FROM:<a@remote.example>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<x@elsewhere.example>") == "250 2.1.5 Ok"
    mx.wait_log(r"reject: RCPT from unknown\[127\.0\.0\.2\]: 554 5\.7\.1")


def test_pipelining_in_one_write(mx):
    with Raw(mx.port) as c:
        c.send("EHLO pipe.example\r\nMAIL FROM:<p@remote.example>\r\n"
               "RCPT TO:<nobody@example.test>\r\nRCPT TO:<alice@example.test>\r\n"
               "RCPT TO:<postmaster@example.test>\r\nDATA\r\n")
        assert c.reply().startswith("220 ")
        assert c.reply().startswith("250-mx.example.test")
        assert c.reply() == "250 2.1.0 Ok"
        assert c.reply().startswith("550 5.1.1")
        assert c.reply() == "250 2.1.5 Ok"
        assert c.reply() == "250 2.1.5 Ok"
        assert c.reply().startswith("354 ")
        # the message, its end and the next transaction in one write
        c.send(b"Subject: p1\r\n\r\none\r\n.\r\nRSET\r\nMAIL FROM:<>\r\n"
               b"RCPT TO:<alice@example.test>\r\nDATA\r\n")
        q1 = queued_id(c.reply())
        assert c.reply() == "250 2.0.0 Ok"
        assert c.reply() == "250 2.1.0 Ok"
        assert c.reply() == "250 2.1.5 Ok"
        assert c.reply().startswith("354 ")
        c.send(b"Subject: p2\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
        q2 = queued_id(c.reply())
        assert c.reply() == "221 2.0.0 Bye"
    assert body_of(queue_file(mx.inst, q1)) == b"Subject: p1\n\none\n"
    assert body_of(queue_file(mx.inst, q2)) == b"Subject: p2\n\ntwo\n"


def test_bdat_chunks_pipelined(mx):
    part1 = b"Subject: chunked\r\n\r\nfirst part\r\n"
    part2 = b".not stuffed\r\nlast\r\n"
    with greet(mx.port) as c:
        c.send(b"MAIL FROM:<b@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
               b"BDAT %d\r\n%sBDAT %d LAST\r\n%sNOOP\r\n"
               % (len(part1), part1, len(part2), part2))
        assert c.reply() == "250 2.1.0 Ok"
        assert c.reply() == "250 2.1.5 Ok"
        assert c.reply() == f"250 2.0.0 Ok: {len(part1)} bytes"
        qid = queued_id(c.reply())
        assert c.reply() == "250 2.0.0 Ok"
    assert body_of(queue_file(mx.inst, qid)) == (part1 + part2).replace(b"\r\n", b"\n")


def test_bdat_errors_consume_the_chunk(mx):
    with greet(mx.port) as c:
        # no MAIL: refused, but the 10 bytes are read and not taken as commands
        c.send(b"BDAT 10\r\nNOOP\r\nXX\r\nNOOP\r\n")
        assert c.reply() == "503 5.5.1 Error: need MAIL command"
        assert c.reply() == "250 2.0.0 Ok"
        assert c.cmd("MAIL FROM:<b@remote.example>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<alice@example.test>") == "250 2.1.5 Ok"
        assert c.cmd("DATA").startswith("354")
        c.send(b"x\r\n.\r\n")
        queued_id(c.reply())
        # DATA after BDAT is a bad sequence
        assert c.cmd("MAIL FROM:<b@remote.example>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<nobody@example.test>").startswith("550")
        c.send(b"BDAT 3\r\nabc")
        assert c.reply() == "554 5.5.1 Error: no valid recipients"
        assert c.cmd("RCPT TO:<alice@example.test>") == "250 2.1.5 Ok"
        c.send(b"BDAT 3\r\nabc")
        assert c.reply() == "503 5.5.1 Error: BDAT after failed BDAT"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.cmd("MAIL FROM:<b@remote.example>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<alice@example.test>") == "250 2.1.5 Ok"
        c.send(b"BDAT 4\r\nab\r\n")
        assert c.reply() == "250 2.0.0 Ok: 4 bytes"
        assert c.cmd("DATA") == "503 5.5.1 Error: DATA after BDAT"
        qid = queued_id(c.cmd("BDAT 0 LAST"))
    assert body_of(queue_file(mx.inst, qid)) == b"ab\n"


def test_8bit_and_smtputf8(mx):
    body = "Subject: caf\u00e9\r\n\r\nna\u00efve \u65e5\u672c\r\n".encode()
    with greet(mx.port) as c:
        assert c.cmd("MAIL FROM:<j\u00fcrgen@b\u00fccher.example> SMTPUTF8 BODY=8BITMIME"
                     ) == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<alice@example.test>") == "250 2.1.5 Ok"
        assert c.cmd("DATA").startswith("354")
        c.send(body + b".\r\n")
        qid = queued_id(c.reply())
        # without SMTPUTF8 a UTF-8 address is refused
        r = c.cmd("MAIL FROM:<j\u00fcrgen@b\u00fccher.example>")
        assert r.startswith("553 5.6.7") or r.startswith("553 5.1.7"), r
    env = queue_file(mx.inst, qid)
    assert env["S"] == "j\u00fcrgen@b\u00fccher.example"
    assert env["F"] == "5"
    assert body_of(env) == body.replace(b"\r\n", b"\n")
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=10) as s:
        s.ehlo("client.example")
        refused = s.sendmail("\u00fc@remote.example", [USER],
                             "Subject: \u00fc\r\n\r\n\u00fc\r\n".encode(),
                             mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        assert refused == {}


def test_dsn_parameters_reach_the_queue_file(mx):
    with greet(mx.port) as c:
        assert c.cmd("MAIL FROM:<d@remote.example> RET=HDRS ENVID=abc+2Bdef") == \
            "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE "
                     "ORCPT=rfc822;Alice+40example.test") == "250 2.1.5 Ok"
        assert c.cmd("RCPT TO:<postmaster@example.test> NOTIFY=NEVER") == "250 2.1.5 Ok"
        assert c.cmd("DATA").startswith("354")
        c.send(b"x\r\n.\r\n")
        qid = queued_id(c.reply())
    env = queue_file(mx.inst, qid)
    assert env["E"] == "abc+def"
    assert env["F"] == "16"
    a, p = env["rcpts"]
    assert (a["notify"], a["orcpt_type"], a["orcpt"]) == (6, "rfc822", "Alice@example.test")
    assert (p["notify"], p["orcpt_type"], p["orcpt"]) == (1, "", "")


SMUGGLING = [
    (b"a\n.\nMAIL FROM:<evil@x>\r\n", b"a\n.\nMAIL FROM:<evil@x>\n"),
    (b"a\r.\rMAIL FROM:<evil@x>\r\n", b"a\r.\rMAIL FROM:<evil@x>\n"),
    (b"a\n.\r\nMAIL FROM:<evil@x>\r\n", b"a\n.\nMAIL FROM:<evil@x>\n"),
    (b"a\r\n.\nMAIL FROM:<evil@x>\r\n", b"a\n\nMAIL FROM:<evil@x>\n"),
    (b"a\r\n.\rMAIL FROM:<evil@x>\r\n", b"a\n\rMAIL FROM:<evil@x>\n"),
]


@pytest.mark.parametrize("smuggled,stored", SMUGGLING)
def test_smuggling_never_splits_a_message(mx, smuggled, stored):
    before = set(queue_ids(mx.inst))
    with greet(mx.port) as c:
        r = send_message(c, b"Subject: s\r\n\r\n" + smuggled + b"end\r\n.\r\n")
        qid = queued_id(r)
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
    settle()
    assert set(queue_ids(mx.inst)) - before == {qid}
    assert body_of(queue_file(mx.inst, qid)) == b"Subject: s\n\n" + stored + b"end\n"


def test_dot_stuffing_and_binary_bytes(mx):
    with greet(mx.port) as c:
        qid = queued_id(send_message(
            c, b"X: y\r\n\r\n..\r\n...two\r\n.x\r\nnul\x00byte \xff\r\n.\r\n"))
    assert body_of(queue_file(mx.inst, qid)) == b"X: y\n\n.\n..two\nx\nnul\x00byte \xff\n"


def test_long_lines(mx):
    with greet(mx.port) as c:
        assert c.cmd("NOOP " + "x" * 3000) == "500 5.5.2 Error: line too long"
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
        long_header = b"X-Long: " + b"y" * 5000
        long_body = b"z" * 20000
        qid = queued_id(send_message(
            c, long_header + b"\r\nSubject: l\r\n\r\n" + long_body + b"\r\n.\r\n"))
    assert body_of(queue_file(mx.inst, qid)) == \
        long_header + b"\nSubject: l\n\n" + long_body + b"\n"


def test_tempfail_when_a_table_is_missing(mx):
    db = mx.inst.dir / "aliases.db"
    saved = db.read_bytes()
    db.unlink()
    db.write_bytes(b"not a database")
    time.sleep(1.5)  # table_reopen_check
    try:
        with greet(mx.port) as c:
            assert c.cmd("MAIL FROM:<a@remote.example>") == "250 2.1.0 Ok"
            r = c.cmd("RCPT TO:<someone@mx.example.test>")
            assert r == "451 4.3.0 <someone@mx.example.test>: Temporary lookup failure"
    finally:
        db.unlink()
        db.write_bytes(saved)
        db.chmod(0o644)
        time.sleep(1.5)


def test_queue_write_error_is_451(mx):
    incoming = mx.inst.dir / "queue" / "incoming"
    mode = incoming.stat().st_mode & 0o7777
    incoming.chmod(0o500)
    try:
        with greet(mx.port) as c:
            assert c.cmd("MAIL FROM:<a@remote.example>") == "250 2.1.0 Ok"
            assert c.cmd(f"RCPT TO:<{USER}>") == "250 2.1.5 Ok"
            assert c.cmd("DATA") == "451 4.3.0 Error: queue file write error"
            assert c.cmd("RSET") == "250 2.0.0 Ok"
    finally:
        incoming.chmod(mode)


def test_swaks_session(mx):
    res = subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(mx.port), "--from",
         "swaks@remote.example", "--to", USER, "--helo", "swaks.example",
         "--header", "Subject: from swaks", "--body", "swaks body"],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    qid = queued_id(res.stdout)
    env = queue_file(mx.inst, qid)
    assert env["H"] == "swaks.example"
    assert b"Subject: from swaks\n" in env["content"]
    assert b"swaks body" in env["content"]


def test_delivered_byte_exact_into_the_maildir():
    """With qmgr and local running, a message accepted by smtpd lands in the
    user's Maildir with our Received: header and the body byte for byte."""
    made = Made(users=[USER], deliver=True)
    try:
        body = b"Subject: to the maildir\r\n\r\n..dot\r\n8bit \xc3\xa9\r\n"
        with greet(made.port) as c:
            qid = queued_id(send_message(c, body + b".\r\n"))
        new = made.inst.dir / "mail" / "example.test" / "alice" / "new"
        files = helpers.wait_for(lambda: list(new.iterdir()) if new.exists() else [],
                                 20, what="Maildir delivery")
        data = files[0].read_bytes()
        assert qid.encode() in data
        # 127.0.0.1 is "localhost": smtpd looks the client up (smtpd_peername_lookup),
        # and the resolver answers 127.0.0.1 -> localhost -> 127.0.0.1 itself.
        assert b"Received: from client.example (localhost [127.0.0.1])" in data
        assert data.endswith(b"Subject: to the maildir\n\n.dot\n8bit \xc3\xa9\n")
    finally:
        made.close()
