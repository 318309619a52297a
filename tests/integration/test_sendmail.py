"""
test_sendmail.py - sendmail(1) and the pickup daemon on a real instance:
recipients on the command line and from headers (-t, Bcc: removed), -f,
dot handling with and without -i, 8-bit content, the headers pickup adds,
-bs SMTP on stdin/stdout, and the exit statuses (sysexits).

Touches:  a fresh instance per test (conftest.py); its Maildirs and queue.
Security: loopback only; stops only the master it started.
Errors:   assertion messages show the command output and the maillog.
"""

import re
import subprocess

import helpers

EX_USAGE, EX_DATAERR, EX_TEMPFAIL = 64, 65, 75


def disable_service(inst, name):
    """Comment out master.cf entries of a unix service (e.g. qmgr, smtp)."""
    lines = inst.master_cf.read_text().splitlines()
    out = ["#" + l if re.match(rf"^{re.escape(name)}\s+unix\s", l) else l
           for l in lines]
    inst.master_cf.write_text("\n".join(out) + "\n")


def sendmail(inst, *args, input="", timeout=60):
    return helpers.run([helpers.sbin("sendmail"), "-C", inst.dir, *args],
                       input=input, timeout=timeout)


def maildir_files(inst, user, domain="example.test"):
    new = inst.dir / "mail" / domain / user / "new"
    return sorted(new.iterdir()) if new.is_dir() else []


def wait_mail(inst, user, count=1, timeout=20):
    return helpers.wait_for(
        lambda: (lambda f: f if len(f) >= count else None)(
            maildir_files(inst, user)),
        timeout, what=f"{count} message(s) in {user}'s Maildir")


def started_with_users(inst, *users):
    for u in users:
        helpers.check(inst.tern("user", "add", f"{u}@example.test", "pw"))
    inst.start()
    helpers.wait_for(lambda: (inst.dir / "queue/public/pickup").exists(), 15,
                     what="public/pickup socket")


def header_block(data):
    return data.split(b"\n\n", 1)[0].decode("utf-8", "replace")


def test_recipients_and_added_headers(instance):
    started_with_users(instance, "bob", "alice")
    res = sendmail(instance, "-v", "bob", "alice@example.test",
                   input="Subject: hello\n\nfirst line\n..two dots\n.\nnot sent\n")
    helpers.check(res, "sendmail")
    m = re.search(r"queued as ([0-9A-Za-z]{16})", res.stderr)
    assert m, res.stderr
    qid = m.group(1)
    for user in ("bob", "alice"):
        data = wait_mail(instance, user)[0].read_bytes()
        hdr = header_block(data)
        assert re.search(r"^Received: by mx\.example\.test \(tern, from userid \d+\)\n"
                         rf"\tid {qid}; ", hdr, re.M), hdr
        assert re.search(r"^From: .*<?\w+@example\.test>?$", hdr, re.M), hdr
        assert re.search(r"^Date: \w{3}, \d{1,2} \w{3} \d{4} ", hdr, re.M), hdr
        assert re.search(rf"^Message-ID: <\d{{14}}\.{qid}@mx\.example\.test>$",
                         hdr, re.M), hdr
        body = data.split(b"\n\n", 1)[1]
        # sendmail does no dot-unstuffing; a lone "." ends the message.
        assert body == b"first line\n..two dots\n", body
    instance.wait_log(rf"tern/pickup\[\d+\]: {qid}: uid=\d+ from=<")


def test_dash_i_and_oi_keep_dot_lines(instance):
    started_with_users(instance, "bob")
    for flag in ("-i", "-oi"):
        helpers.check(sendmail(instance, flag, "bob",
                               input=f"Subject: {flag}\n\na\n.\nb\n"))
    files = wait_mail(instance, "bob", 2)
    bodies = sorted(f.read_bytes().split(b"\n\n", 1)[1] for f in files)
    assert bodies == [b"a\n.\nb\n", b"a\n.\nb\n"]


def test_t_extracts_recipients_and_removes_bcc(instance):
    started_with_users(instance, "bob", "alice", "carol")
    msg = ("From: Someone <someone@example.org>\n"
           "To: Bob <bob@example.test>\n"
           "Cc: carol\n"
           "Bcc: alice@example.test\n"
           "Subject: extracted\n\nbody\n")
    helpers.check(sendmail(instance, "-t", input=msg))
    for user in ("bob", "alice", "carol"):
        data = wait_mail(instance, user)[0].read_bytes()
        hdr = header_block(data)
        assert "Bcc:" not in hdr, hdr
        assert "From: Someone <someone@example.org>" in hdr
        assert hdr.count("From:") == 1, hdr


def test_f_sets_envelope_sender(instance):
    started_with_users(instance, "bob")
    helpers.check(sendmail(instance, "-f", "list-owner@example.org", "-F", "List Owner",
                           "bob", input="Subject: f\n\nx\n"))
    data = wait_mail(instance, "bob")[0].read_bytes()
    hdr = header_block(data)
    assert "From: List Owner <list-owner@example.org>" in hdr, hdr
    instance.wait_log(r"uid=\d+ from=<list-owner@example\.org>")


def test_8bit_content_is_kept_and_flagged(instance):
    disable_service(instance, "qmgr")
    instance.start()
    body = "Grüße aus Köln — ünïcödé\n".encode()
    proc = subprocess.run([str(helpers.sbin("sendmail")), "-C", str(instance.dir),
                           "-v", "bob@example.test"],
                          input=b"Subject: 8bit\n\n" + body, capture_output=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    qid = re.search(rb"queued as (\w{16})", proc.stderr).group(1).decode()
    env = helpers.check(instance.cmd("postcat", "-e", "-q", qid)).stdout
    assert "8BITMIME" in env, env
    raw = subprocess.run([str(helpers.sbin("postcat")), "-c", str(instance.dir), "-b",
                          "-q", qid], capture_output=True, timeout=60).stdout
    assert body in raw, raw


def test_crlf_input_is_normalised(instance):
    started_with_users(instance, "bob")
    helpers.check(sendmail(instance, "bob", input="Subject: crlf\r\n\r\nline\r\n"))
    data = wait_mail(instance, "bob")[0].read_bytes()
    assert b"\r" not in data
    assert data.endswith(b"\n\nline\n")


def test_bs_smtp_session(instance):
    started_with_users(instance, "bob")
    script = ("EHLO client.example\r\n"
              "MAIL FROM:<sender@example.org>\r\n"
              "RCPT TO:<bob@example.test>\r\n"
              "DATA\r\n"
              "Subject: via -bs\r\n\r\n..stuffed\r\nend\r\n.\r\n"
              "QUIT\r\n")
    res = helpers.check(sendmail(instance, "-bs", input=script))
    lines = res.stdout.splitlines()
    assert lines[0].startswith("220 "), lines
    assert any(l.startswith("250-8BITMIME") for l in lines), lines
    assert any(re.match(r"250 2\.0\.0 Ok: queued as \w{16}$", l) for l in lines), lines
    assert lines[-1].startswith("221 "), lines
    data = wait_mail(instance, "bob")[0].read_bytes()
    assert data.split(b"\n\n", 1)[1] == b".stuffed\nend\n"


def test_bs_protocol_errors(instance):
    started_with_users(instance)
    res = helpers.check(sendmail(instance, "-bs",
                                 input="RCPT TO:<a@b>\r\nDATA\r\nBOGUS\r\nQUIT\r\n"))
    codes = [l[:3] for l in res.stdout.splitlines()]
    assert codes[0] == "220" and codes[-1] == "221", codes
    assert codes[1] == "503" and codes[2] == "503" and codes[3][0] == "5", codes


def test_bs_refuses_what_it_does_not_offer(instance):
    """sendmail -bs is a local submission session: no CHUNKING, STARTTLS or
    AUTH in its EHLO, and those commands get 502 while the session goes on."""
    started_with_users(instance)
    res = helpers.check(sendmail(instance, "-bs", input=(
        "EHLO local\r\nBDAT 5 LAST\r\nSTARTTLS\r\nAUTH PLAIN\r\nNOOP\r\nQUIT\r\n")))
    lines = res.stdout.splitlines()
    end = next(i for i, l in enumerate(lines) if l.startswith("250 "))  # EHLO's last
    ehlo = lines[1:end + 1]
    assert not any(k in l for l in ehlo for k in ("CHUNKING", "STARTTLS", "AUTH")), ehlo
    after = [l[:3] for l in lines[end + 1:]]
    assert after == ["502", "502", "502", "250", "221"], lines


def test_exit_statuses(instance):
    # Not started: pickup is unreachable.
    res = sendmail(instance, "bob", input="x\n")
    assert res.returncode == EX_TEMPFAIL, helpers.out(res)
    assert "pickup" in res.stderr
    res = sendmail(instance, input="x\n")
    assert res.returncode == EX_USAGE, helpers.out(res)
    res = sendmail(instance, "bad address@", input="x\n")
    assert res.returncode == EX_DATAERR, helpers.out(res)
    res = sendmail(instance, "-f", "a b", "bob", input="x\n")
    assert res.returncode == EX_DATAERR, helpers.out(res)
    res = sendmail(instance, "-t", input="Subject: no rcpt\n\nx\n")
    assert res.returncode == EX_USAGE, helpers.out(res)
    res = sendmail(instance, "-bd")
    assert res.returncode == EX_USAGE, helpers.out(res)


def test_message_size_limit(instance):
    instance.set_param("message_size_limit", "1000")
    started_with_users(instance, "bob")
    res = sendmail(instance, "bob", input="Subject: big\n\n" + "x" * 2000 + "\n")
    assert res.returncode == EX_DATAERR, helpers.out(res)
    assert list((instance.dir / "queue" / "incoming").iterdir()) == []


def test_bp_lists_queue(instance):
    res = helpers.check(sendmail(instance, "-bp"))
    assert res.stdout == "Mail queue is empty\n"
