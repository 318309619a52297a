"""
test_pop3_clients.py - the real POP3 clients fetchmail and mpop (Debian
packages, mk/deps.sh TEST_PKGS) download a mailbox from pop3d in keep and
in delete mode, over plain POP3 and STLS; what they deliver must be
byte-identical to what was sent over SMTP, once the header lines tern adds
on the way in (Return-Path, Delivered-To, smtpd's Received) are taken off
and line ends are compared as LF (both clients store LF).

Touches:  instance directories under /tmp (see conftest.py), 127.0.0.1,
          client output directories under the instance's tmp directory.
"""

import os
import shutil
import smtplib
import stat

import pytest

from helpers import check, run, wait_for

USER = "dave@example.test"
PW = "pw-dave"
ADDED = (b"Return-Path:", b"Delivered-To:", b"Received:")

MESSAGES = [
    b"From: alice@sender.test\r\nTo: dave@example.test\r\nSubject: plain\r\n\r\n"
    b"Hello Dave.\r\n",
    b"From: alice@sender.test\r\nTo: dave@example.test\r\nSubject: dots\r\n\r\n"
    b".starts with a dot\r\n..two dots\r\n.\r\nend\r\n",
    b"From: alice@sender.test\r\nTo: dave@example.test\r\nSubject: long\r\n"
    b"X-Folded: one\r\n two\r\n\r\n" + b"".join(b"line %05d of a longer body\r\n" % i
                                               for i in range(3000)),
    b"From: alice@sender.test\r\nTo: dave@example.test\r\nSubject: 8bit\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n\r\n\r\n",
]


def strip_added(data):
    """data (LF line ends) without the leading header lines tern adds."""
    lines = data.split(b"\n")
    out, skipping, i = [], False, 0
    while i < len(lines) and lines[i] != b"":
        line = lines[i]
        if skipping and line[:1] in (b" ", b"\t"):
            i += 1
            continue
        skipping = line.startswith(ADDED)
        if not skipping:
            out.append(line)
        i += 1
    return b"\n".join(out + lines[i:])


def expected():
    return sorted(m.replace(b"\r\n", b"\n") for m in MESSAGES)


def maildir_files(inst):
    d = inst.dir / "mail" / "example.test" / "dave"
    return sorted(p for sub in ("new", "cur") if (d / sub).is_dir() for p in (d / sub).iterdir())


@pytest.fixture
def loaded(instance):
    for prog in ("fetchmail", "mpop"):
        assert shutil.which(prog), f"{prog} is not installed (sh mk/deps.sh test)"
    check(instance.tern("user", "add", USER, PW), "user add")
    instance.start()
    wait_for(lambda: (instance.dir / "queue" / "private" / "pop3d-mail").exists(), 15,
             what="pop3d-mail socket")
    with smtplib.SMTP("127.0.0.1", instance.port(25), timeout=30) as s:
        for m in MESSAGES:
            s.sendmail("alice@sender.test", [USER], m)
    wait_for(lambda: len(maildir_files(instance)) == len(MESSAGES), 30,
             what="delivery of the test messages")
    return instance


def outdir(inst, name):
    d = inst.dir / "client" / name
    d.mkdir(parents=True)
    return d


def collected(d):
    return sorted(strip_added(p.read_bytes()) for p in d.iterdir())


def fetchmail(inst, out, keep, tls=False):
    rc = inst.dir / "client" / "fetchmailrc"
    script = inst.dir / "client" / "deliver.sh"
    script.write_text('#!/bin/sh\ncat > "$1/msg.$$"\n')
    os.chmod(script, 0o700)
    # sslproto without ssl: STLS, required (tls1.2+); '' turns it off
    tls_opts = 'sslproto "tls1.2+" no sslcertck' if tls else 'sslproto ""'
    rc.write_text(
        f'set no bouncemail\n'
        f'poll 127.0.0.1 port {inst.port(110)} proto pop3 auth password\n'
        f'  user "{USER}" password "{PW}" is root here\n'
        f'  {tls_opts} {"keep" if keep else "nokeep"} fetchall\n'
        f'  mda "{script} {out}"\n')
    os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
    env = {"HOME": str(inst.dir / "client"), "FETCHMAILHOME": str(inst.dir / "client")}
    res = run(["fetchmail", "-f", str(rc), "--invisible", "--nosyslog", "-v"], env=env,
              timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def mpop(inst, out, keep, tls):
    args = ["mpop", f"--host=127.0.0.1", f"--port={inst.port(110)}", "--auth=user",
            f"--user={USER}", f"--passwordeval=echo {PW}", "--received-header=off",
            f"--keep={'on' if keep else 'off'}", "--only-new=off",
            f"--uidls-file={inst.dir}/client/uidls-{out.name}",
            f"--delivery=maildir,{out}"]
    if tls:
        args += ["--tls=on", "--tls-starttls=on", "--tls-certcheck=off"]
    else:
        args += ["--tls=off"]
    for sub in ("new", "cur", "tmp"):
        (out / sub).mkdir(exist_ok=True)
    res = run(args, env={"HOME": str(inst.dir / "client")}, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    return sorted(strip_added(p.read_bytes()) for p in (out / "new").iterdir())


def test_fetchmail_keep_then_delete(loaded):
    before = [(p.name, p.read_bytes()) for p in maildir_files(loaded)]
    out = outdir(loaded, "fetch-keep")
    fetchmail(loaded, out, keep=True)
    assert collected(out) == expected()
    assert [(p.name, p.read_bytes()) for p in maildir_files(loaded)] == before
    out = outdir(loaded, "fetch-delete")
    fetchmail(loaded, out, keep=False)
    assert collected(out) == expected()
    assert maildir_files(loaded) == []


def test_fetchmail_stls_keep_then_delete(loaded):
    """fetchmail over STLS: the session is relayed through the login
    process's TLS proxy; the messages must come out the same."""
    before = [(p.name, p.read_bytes()) for p in maildir_files(loaded)]
    out = outdir(loaded, "fetch-stls-keep")
    mark = loaded.log_size()
    fetchmail(loaded, out, keep=True, tls=True)
    assert collected(out) == expected()
    assert [(p.name, p.read_bytes()) for p in maildir_files(loaded)] == before
    loaded.wait_log(r"login: user=<dave@example\.test>, method=USER, client=127\.0\.0\.1, TLS",
                    after=mark)
    out = outdir(loaded, "fetch-stls-delete")
    mark = loaded.log_size()
    fetchmail(loaded, out, keep=False, tls=True)
    assert collected(out) == expected()
    assert maildir_files(loaded) == []
    loaded.wait_log(r"logout: user=<dave@example\.test>, client=127\.0\.0\.1, retr=4, top=0, "
                    r"deleted=4, left=0", after=mark)


def test_mpop_keep_then_delete(loaded):
    before = [(p.name, p.read_bytes()) for p in maildir_files(loaded)]
    got = mpop(loaded, outdir(loaded, "mpop-keep"), keep=True, tls=False)
    assert got == expected()
    assert [(p.name, p.read_bytes()) for p in maildir_files(loaded)] == before
    got = mpop(loaded, outdir(loaded, "mpop-delete"), keep=False, tls=True)
    assert got == expected()
    assert maildir_files(loaded) == []
