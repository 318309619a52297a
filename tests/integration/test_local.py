"""
test_local.py - the local delivery agent end to end: mail sent with
smtplib to a running instance (smtpd -> queue -> qmgr -> local) lands
byte-exact in the user's Maildir; unknown users and Delivered-To loops
bounce; virtual aliases rewrite across domains and forward to remote
addresses by re-injection.  Also the helpers test_aliases.py uses.

Touches:  instance directories under /tmp (see conftest.py), 127.0.0.1.
"""

import os
import re
import smtplib
import time
from pathlib import Path

import helpers
from helpers import check, wait_for

HEADER_ADDED = ("Return-Path:", "Delivered-To:", "Received:")


def add_users(inst, *addrs):
    for a in addrs:
        check(inst.tern("user", "add", a, "pw-" + a.split("@")[0]), f"user add {a}")


def set_aliases(inst, text):
    (inst.dir / "aliases").write_text(text)
    check(inst.cmd("newaliases"), "newaliases")


def set_virtual(inst, text):
    (inst.dir / "virtual").write_text(text)
    check(inst.cmd("postmap", f"hash:{inst.dir}/virtual"), "postmap virtual")
    inst.set_param("virtual_alias_maps", f"hash:{inst.dir}/virtual")


def send(inst, rcpts, body, sender="alice@sender.test"):
    """Send one message over SMTP; returns the refused-recipient dict."""
    with smtplib.SMTP("127.0.0.1", inst.port(25), timeout=30) as s:
        return s.sendmail(sender, rcpts, body)


def maildir(inst, addr):
    local, domain = addr.split("@")
    return inst.dir / "mail" / domain.lower() / local.lower()


def new_files(inst, addr):
    d = maildir(inst, addr) / "new"
    return sorted(d.iterdir()) if d.is_dir() else []


def wait_mail(inst, addr, count=1, timeout=20):
    return wait_for(lambda: len(new_files(inst, addr)) >= count and new_files(inst, addr),
                    timeout, what=f"{count} message(s) in the Maildir of {addr}")


def strip_added(data):
    """The message minus the header lines delivery and smtpd add (with
    their continuation lines)."""
    lines = data.split(b"\n")
    result, skipping, in_header = [], False, True
    for line in lines:
        if in_header and line == b"":
            in_header = False
        if in_header and skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = in_header and line.decode("latin-1").startswith(HEADER_ADDED)
        if not skipping:
            result.append(line)
    return b"\n".join(result)


def queue_empty(inst):
    q = inst.dir / "queue"
    return not any((q / d).is_dir() and any((q / d).iterdir())
                   for d in ("incoming", "active", "deferred"))


def test_delivery_byte_exact(instance):
    inst = instance
    add_users(inst, "bob@example.test")
    inst.start()
    body = (b"From: Alice <alice@sender.test>\r\nTo: bob@example.test\r\n"
            b"Subject: exact\r\n\r\nline one\r\n.leading dot\r\n..two dots\r\n"
            b"From the start of a line\r\n\ttabbed \r\n" + b"x" * 990 + b"\r\n"
            + "caf\u00e9 8-bit\r\n".encode() + b"\r\nlast line\r\n")
    assert send(inst, ["bob@example.test"], body) == {}
    files = wait_mail(inst, "bob@example.test")
    assert len(files) == 1
    data = files[0].read_bytes()
    assert data.startswith(b"Return-Path: <alice@sender.test>\nDelivered-To: bob@example.test\n")
    assert strip_added(data) == body.replace(b"\r\n", b"\n")
    m = re.search(r",S=(\d+),W=(\d+)$", files[0].name)
    assert m and int(m.group(1)) == len(data)
    assert int(m.group(2)) == len(data) + data.count(b"\n")
    assert (files[0].stat().st_mode & 0o777) == 0o600
    for sub in ("new", "cur", "tmp"):
        assert (maildir(inst, "bob@example.test") / sub).stat().st_mode & 0o777 == 0o700
    assert not any((maildir(inst, "bob@example.test") / "tmp").iterdir())
    line = inst.wait_log(r"tern/local\[\d+\]: (\w+): to=<bob@example.test>, relay=local, "
                         r"delay=[\d.]+, delays=[\d.]+/0/0/[\d.]+, dsn=2\.0\.0, "
                         r"status=sent \(delivered to maildir\)")
    assert line
    wait_for(lambda: queue_empty(inst), 10, what="empty queue")


def test_two_recipients_case_folded(instance):
    inst = instance
    add_users(inst, "bob@example.test", "carol@example.test")
    inst.start()
    assert send(inst, ["Bob@EXAMPLE.test", "carol@example.test"],
                b"Subject: two\r\n\r\nbody\r\n") == {}
    wait_mail(inst, "bob@example.test")
    wait_mail(inst, "carol@example.test")
    data = new_files(inst, "bob@example.test")[0].read_bytes()
    assert b"Delivered-To: Bob@example.test\n" in data


def test_unknown_user_bounces(instance):
    inst = instance
    add_users(inst, "bob@example.test")
    set_aliases(inst, "ghost: nobody\n")
    inst.start()
    assert send(inst, ["ghost@example.test"], b"Subject: ghost\r\n\r\nx\r\n") == {}
    inst.wait_log(r": to=<nobody@example.test>, orig_to=<ghost@example.test>, relay=local, "
                  r".*dsn=5\.1\.1, status=bounced \(user unknown\)", timeout=20)
    assert not maildir(inst, "nobody@example.test").exists()


def test_delivered_to_loop(instance):
    inst = instance
    add_users(inst, "bob@example.test")
    inst.start()
    body = b"Delivered-To: bob@example.test\r\nSubject: loop\r\n\r\nx\r\n"
    assert send(inst, ["bob@example.test"], body) == {}
    inst.wait_log(r": to=<bob@example.test>, relay=local, .*dsn=5\.4\.6, "
                  r"status=bounced \(mail forwarding loop for bob@example.test\)", timeout=20)
    assert new_files(inst, "bob@example.test") == []
    # a Delivered-To for someone else does not stop delivery
    body = b"Delivered-To: other@example.test\r\nSubject: fine\r\n\r\nx\r\n"
    assert send(inst, ["bob@example.test"], body) == {}
    wait_mail(inst, "bob@example.test")


def test_virtual_alias_across_domains(instance):
    inst = instance
    inst.set_param("virtual_mailbox_domains", "example.test, other.test")
    add_users(inst, "carol@other.test", "dave@example.test")
    set_virtual(inst, "bob@example.test carol@other.test\n"
                      "both@example.test carol@other.test, dave@example.test\n"
                      "@catch.test dave@example.test\n")
    inst.set_param("virtual_mailbox_domains", "example.test, other.test, catch.test")
    inst.start()
    assert send(inst, ["bob@example.test"], b"Subject: v1\r\n\r\nx\r\n") == {}
    wait_mail(inst, "carol@other.test")
    inst.wait_log(r": to=<carol@other.test>, orig_to=<bob@example.test>, relay=local, "
                  r".*status=sent \(delivered to maildir\)")
    assert send(inst, ["both@example.test"], b"Subject: v2\r\n\r\nx\r\n") == {}
    wait_mail(inst, "carol@other.test", 2)
    wait_mail(inst, "dave@example.test", 1)
    assert send(inst, ["anyone@catch.test"], b"Subject: v3\r\n\r\nx\r\n") == {}
    wait_mail(inst, "dave@example.test", 2)


def test_forward_to_remote_reinjects(instance):
    inst = instance
    add_users(inst, "bob@example.test")
    set_virtual(inst, "fwd@example.test bob@example.test, someone@remote.test\n")
    # remote.test goes to a closed loopback port: the copy is deferred and
    # stays in the queue to be read (an NXDOMAIN would bounce it at once)
    inst.set_param("transport_maps",
                   f"inline:{{remote.test=smtp:[127.0.0.1]:{helpers.free_port()}}}")
    inst.start()
    assert send(inst, ["fwd@example.test"], b"Subject: fw\r\n\r\nforwarded\r\n") == {}
    wait_mail(inst, "bob@example.test")
    m = inst.wait_log(r"(\w+): to=<fwd@example.test>, relay=local, .*dsn=2\.0\.0, "
                      r"status=sent \(forwarded as (\w+)\)", timeout=20)
    new_id = m.group(2)
    assert new_id != m.group(1)
    inst.wait_log(re.escape(new_id) + r": from=<alice@sender.test>, nrcpt=1, forwarded from "
                  + re.escape(m.group(1)))
    # the copy in the queue carries the expanded address as Delivered-To
    def queued():
        for d in ("active", "deferred"):
            p = inst.dir / "queue" / d / new_id
            if p.exists():
                return p.read_bytes()
        return None
    data = wait_for(queued, 10, what="re-injected queue file")
    assert b"Delivered-To: fwd@example.test\n" in data
    assert b"someone@remote.test" in data


def test_mailbox_base_symlink_refused(instance):
    """A Maildir replaced by a symlink is never written through."""
    inst = instance
    add_users(inst, "bob@example.test")
    target = inst.dir / "elsewhere"
    for sub in ("", "new", "cur", "tmp"):
        (target / sub).mkdir(exist_ok=True)
    os.system(f"chown -R --reference={inst.dir / 'mail'} {target}")
    (inst.dir / "mail" / "example.test").mkdir(mode=0o700, exist_ok=True)
    os.system(f"chown --reference={inst.dir / 'mail'} {inst.dir / 'mail' / 'example.test'}")
    os.symlink(target, maildir(inst, "bob@example.test"))
    inst.start()
    assert send(inst, ["bob@example.test"], b"Subject: s\r\n\r\nx\r\n") == {}
    inst.wait_log(r": to=<bob@example.test>, relay=local, .*status=deferred \(cannot create "
                  r"maildir", timeout=20)
    time.sleep(0.5)
    assert not any((target / "new").iterdir())
    assert Path(maildir(inst, "bob@example.test")).is_symlink()
