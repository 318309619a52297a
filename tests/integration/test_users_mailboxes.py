"""
test_users_mailboxes.py - `tern user` keeps the secret-free mailbox table
(virtual_mailbox_maps) in step with the users table, and mail delivery
depends on the mailbox table alone: the daemons never need the hashes.

Touches:  a fresh instance per test.
Security: loopback only.
"""

import os
import smtplib

import helpers


def lookup(inst, table, key):
    return inst.cmd("postmap", "-q", key, f"hash:{inst.dir}/{table}")


def test_add_del_keep_tables_in_step(instance):
    helpers.check(instance.tern("user", "add", "bob@example.test", "pw"))
    res = lookup(instance, "mailboxes", "bob@example.test")
    assert res.returncode == 0 and res.stdout.strip() == "example.test/bob/"
    assert lookup(instance, "users", "bob@example.test").stdout.startswith("$y$")
    mode = os.stat(instance.dir / "mailboxes.db").st_mode & 0o777
    assert mode == 0o640, oct(mode)
    assert os.stat(instance.dir / "users.db").st_mode & 0o777 == 0o600
    helpers.check(instance.tern("user", "passwd", "bob@example.test", "pw2"))
    assert lookup(instance, "mailboxes", "bob@example.test").returncode == 0
    helpers.check(instance.tern("user", "del", "bob@example.test"))
    assert lookup(instance, "mailboxes", "bob@example.test").returncode == 1
    assert lookup(instance, "users", "bob@example.test").returncode == 1


def test_delivery_needs_no_password_table(instance):
    helpers.check(instance.tern("user", "add", "bob@example.test", "pw"))
    instance.start()
    # Take the password table away: only the auth service would notice.
    os.rename(instance.dir / "users.db", instance.dir / "users.db.away")
    with smtplib.SMTP("127.0.0.1", instance.port(25), timeout=30) as s:
        s.sendmail("x@client.test", ["bob@example.test"], "Subject: t\r\n\r\nhi\r\n")
    new = instance.dir / "mail" / "example.test" / "bob" / "new"
    helpers.wait_for(lambda: new.is_dir() and any(new.iterdir()), 20, what="delivery")
    with smtplib.SMTP("127.0.0.1", instance.port(25), timeout=30) as s:
        s.ehlo()
        s.mail("x@client.test")
        code, _ = s.rcpt("nobody@example.test")
        assert code == 550
