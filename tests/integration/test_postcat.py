"""
test_postcat.py - postcat on queue files of a real instance (qmgr switched
off so the message stays queued): the whole display in Postfix's shape,
-e, -h and -b alone, a file given by path, and the errors for a missing
message, a bad ID and a file that is not a queue file.

Touches:  a fresh instance per test (conftest.py) and its queue.
Security: loopback only; stops only the master it started.
Errors:   assertion messages show the command output and the maillog.
"""

import re

import helpers


def test_postcat_shapes(instance):
    lines = instance.master_cf.read_text().splitlines()
    instance.master_cf.write_text("\n".join(
        "#" + l if re.match(r"^qmgr\s+unix\s", l) else l for l in lines) + "\n")
    instance.start()
    helpers.wait_for(lambda: (instance.dir / "queue/public/pickup").exists(), 15,
                     what="public/pickup socket")
    res = helpers.check(helpers.run(
        [helpers.sbin("sendmail"), "-C", instance.dir, "-v", "-f", "a@example.org",
         "bob@example.net", "carol@example.net"],
        input="Subject: cat me\nX-Test: 1\n\nbody line 1\nbody line 2\n"))
    qid = re.search(r"queued as (\w{16})", res.stderr).group(1)

    out = helpers.check(instance.cmd("postcat", "-q", qid)).stdout
    label = f"active/{qid}"
    marks = [l for l in out.splitlines() if l.startswith("***")]
    assert marks == [f"*** ENVELOPE RECORDS {label} ***",
                     f"*** MESSAGE CONTENTS {label} ***",
                     f"*** HEADER EXTRACTED {label} ***",
                     f"*** MESSAGE FILE END {label} ***"], out
    assert "sender: a@example.org\n" in out
    assert "recipient: bob@example.net\nrecipient: carol@example.net\n" in out
    assert "protocol_name: LOCAL\n" in out
    assert "client_name: localhost\n" in out
    assert re.search(r"^named_attribute: local_uid=\d+$", out, re.M)
    assert "Subject: cat me\nX-Test: 1\n" in out
    assert "\nbody line 1\nbody line 2\n*** HEADER" in out

    env = helpers.check(instance.cmd("postcat", "-e", "-q", qid)).stdout
    assert "MESSAGE CONTENTS" not in env and "sender: a@example.org" in env
    hdr = helpers.check(instance.cmd("postcat", "-h", "-q", qid)).stdout
    assert "Subject: cat me" in hdr and "body line" not in hdr
    assert hdr.startswith(f"*** MESSAGE CONTENTS {label} ***\nReceived: by ")
    body = helpers.check(instance.cmd("postcat", "-b", "-q", qid)).stdout
    assert body == f"*** MESSAGE CONTENTS {label} ***\nbody line 1\nbody line 2\n"

    path = instance.dir / "queue" / "active" / qid
    res = helpers.check(helpers.run([helpers.sbin("postcat"), "-e", path]))
    assert f"*** ENVELOPE RECORDS {path} ***" in res.stdout


def test_postcat_errors(instance, tmp_path):
    res = instance.cmd("postcat", "-q", "1xUy7u10n501xa00")
    assert res.returncode == 1 and "no such message" in res.stderr
    res = instance.cmd("postcat", "-q", "../main.cf")
    assert res.returncode == 1 and "invalid queue ID" in res.stderr
    junk = tmp_path / "junk"
    junk.write_bytes(b"V\x011garbage")
    res = helpers.run([helpers.sbin("postcat"), junk])
    assert res.returncode == 1 and "not a valid queue file" in res.stderr
