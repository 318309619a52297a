"""
test_aliases.py - aliases and mailing lists through a running instance:
DIR/aliases compiled by newaliases, mail sent with smtplib.  Covers plain
and nested aliases, a :include: list of 50 members (local and remote),
owner-NAME as the envelope sender of list copies, alias loops (bounced),
|command and /file targets when allowed and refused when not, and the
sanitized environment of a command.

Touches:  instance directories under /tmp (see conftest.py), 127.0.0.1.
"""

import os
import re

from helpers import wait_for
from test_local import add_users, new_files, send, set_aliases, wait_mail


def writable_dir(inst, name):
    """A directory the mail owner (the daemons' user) may write to."""
    d = inst.dir / name
    d.mkdir()
    os.chmod(d, 0o777)
    return d


def test_alias_and_nested(instance):
    inst = instance
    add_users(inst, "bob@example.test", "carol@example.test", "dave@example.test")
    set_aliases(inst, "postmaster: bob\nstaff: team, carol\nteam: dave\n    , bob\n")
    inst.start()
    assert send(inst, ["postmaster@example.test"], b"Subject: pm\r\n\r\nx\r\n") == {}
    wait_mail(inst, "bob@example.test")
    assert send(inst, ["staff@example.test"], b"Subject: staff\r\n\r\nx\r\n") == {}
    wait_mail(inst, "bob@example.test", 2)
    wait_mail(inst, "carol@example.test")
    wait_mail(inst, "dave@example.test")
    inst.wait_log(r": to=<dave@example.test>, orig_to=<staff@example.test>, relay=local, "
                  r".*status=sent \(delivered to maildir\)")


def test_include_list_50_members_owner(instance):
    inst = instance
    members = [f"m{i:02d}@example.test" for i in range(45)]
    remote = [f"r{i}@remote.test" for i in range(5)]
    add_users(inst, "listboss@example.test", *members)
    listfile = inst.dir / "list.txt"
    listfile.write_text("# the list\n" + "\n".join(members[:20]) + "\n"
                        + ", ".join(members[20:] + remote) + "\n")
    os.chmod(listfile, 0o644)
    set_aliases(inst, f"biglist: :include:{listfile}\nowner-biglist: listboss\n")
    inst.start()
    body = b"Subject: to the list\r\n\r\nhello members\r\n"
    assert send(inst, ["biglist@example.test"], body) == {}
    for m in members:
        files = wait_mail(inst, m)
        assert len(files) == 1
        data = files[0].read_bytes()
        assert data.startswith(b"Return-Path: <owner-biglist@example.test>\n"
                               + f"Delivered-To: {m}\n".encode())
        assert data.endswith(b"\n\nhello members\n")
    # the five remote members share one re-injected copy from the owner
    m = inst.wait_log(r"(\w+): from=<owner-biglist@example.test>, nrcpt=5, forwarded from",
                      timeout=20)
    inst.wait_log(r": to=<biglist@example.test>, relay=local, .*status=sent \(forwarded as "
                  + re.escape(m.group(1)) + r"\)")


def test_owner_gets_member_bounces(instance):
    inst = instance
    add_users(inst, "boss@example.test", "bob@example.test")
    set_aliases(inst, "team: bob, ghost\nowner-team: boss\n")
    inst.start()
    assert send(inst, ["team@example.test"], b"Subject: t\r\n\r\nx\r\n") == {}
    wait_mail(inst, "bob@example.test")
    # ghost is unknown: re-injected with the owner as sender, it bounces to boss
    inst.wait_log(r"(\w+): from=<owner-team@example.test>, nrcpt=1, forwarded from", timeout=20)
    inst.wait_log(r": to=<ghost@example.test>, relay=local, .*dsn=5\.1\.1, status=bounced",
                  timeout=20)


def test_alias_loop_bounces(instance):
    inst = instance
    add_users(inst, "bob@example.test")
    set_aliases(inst, "loopa: loopb\nloopb: loopa\n")
    inst.start()
    assert send(inst, ["loopa@example.test"], b"Subject: loop\r\n\r\nx\r\n") == {}
    inst.wait_log(r": to=<loopa@example.test>, relay=local, .*dsn=5\.4\.6, status=bounced "
                  r"\(mail forwarding loop for loopa@example.test\)", timeout=20)
    assert not (inst.dir / "mail" / "example.test" / "loopa").exists()
    assert not (inst.dir / "mail" / "example.test" / "loopb").exists()


def test_command_and_file_targets(instance):
    inst = instance
    out = writable_dir(inst, "out")
    add_users(inst, "bob@example.test")
    set_aliases(inst, f'runit: "|cat > {out}/cmd.txt; env > {out}/env.txt"\n'
                      f"filed: {out}/mbox\n"
                      f'failing: "|exit 67"\n'
                      f'tempfail: "|exit 75"\n')
    inst.start()
    body = b"Subject: cmd\r\n\r\nFrom here\r\nbody\r\n"
    assert send(inst, ["runit@example.test"], body,
                sender="a`b$c&d|e@sender.test") == {}
    inst.wait_log(r": to=<runit@example.test>, relay=local, .*status=sent "
                  r"\(delivered to command\)", timeout=20)
    got = (out / "cmd.txt").read_bytes()
    assert got.startswith(b"Return-Path: <a`b$c&d|e@sender.test>\n"
                          b"Delivered-To: runit@example.test\n")
    assert got.endswith(b"\n\nFrom here\nbody\n")
    assert "SENDER" in (out / "env.txt").read_text()
    env = dict(line.split("=", 1) for line in (out / "env.txt").read_text().splitlines()
               if "=" in line)
    assert env["SENDER"] == "a_b_c_d_e@sender.test"
    assert env["RECIPIENT"] == "runit@example.test"
    assert env["LOCAL"] == "runit" and env["DOMAIN"] == "example.test"
    assert "QUEUE_ID" in env

    assert send(inst, ["filed@example.test"], body) == {}
    assert send(inst, ["filed@example.test"], b"Subject: second\r\n\r\n>From x\r\n") == {}
    inst.wait_log(r"status=sent \(delivered to file: ", timeout=20)
    mbox = wait_for(lambda: (out / "mbox").exists() and
                    (out / "mbox").read_bytes().count(b"Subject: ") == 2 and
                    (out / "mbox").read_bytes(), 20, what="two mbox entries")
    assert mbox.startswith(b"From alice@sender.test ")
    assert b"\n>From here\nbody\n\nFrom alice@sender.test " in mbox
    assert mbox.endswith(b"\n>>From x\n\n")

    assert send(inst, ["failing@example.test"], body) == {}
    inst.wait_log(r": to=<failing@example.test>, relay=local, .*dsn=5\.3\.0, "
                  r"status=bounced \(command exited 67\)", timeout=20)
    assert send(inst, ["tempfail@example.test"], body) == {}
    inst.wait_log(r": to=<tempfail@example.test>, relay=local, .*dsn=4\.3\.0, "
                  r"status=deferred \(command exited 75\)", timeout=20)


def test_command_and_file_refused(instance):
    inst = instance
    out = writable_dir(inst, "out")
    inst.set_param("allow_mail_to_commands", "none")
    inst.set_param("allow_mail_to_files", "none")
    set_aliases(inst, f'runit: "|touch {out}/ran"\nfiled: {out}/mbox\n')
    inst.start()
    assert send(inst, ["runit@example.test"], b"Subject: c\r\n\r\nx\r\n") == {}
    inst.wait_log(r": to=<runit@example.test>, relay=local, .*dsn=5\.7\.1, status=bounced "
                  r"\(mail to command is restricted\)", timeout=20)
    assert send(inst, ["filed@example.test"], b"Subject: f\r\n\r\nx\r\n") == {}
    inst.wait_log(r": to=<filed@example.test>, relay=local, .*dsn=5\.7\.1, status=bounced "
                  r"\(mail to file is restricted\)", timeout=20)
    assert not (out / "ran").exists()
    assert not (out / "mbox").exists()


def test_include_commands_need_include_class(instance):
    inst = instance
    out = writable_dir(inst, "out")
    add_users(inst, "bob@example.test")
    inc = inst.dir / "inc.txt"
    inc.write_text(f"bob\n\"|touch {out}/ran\"\n")
    set_aliases(inst, f"inclist: :include:{inc}\n")
    inst.start()
    assert send(inst, ["inclist@example.test"], b"Subject: i\r\n\r\nx\r\n") == {}
    wait_mail(inst, "bob@example.test")
    inst.wait_log(r"dsn=5\.7\.1, status=bounced \(mail to command is restricted\)", timeout=20)
    assert not (out / "ran").exists()
    assert len(new_files(inst, "bob@example.test")) == 1
