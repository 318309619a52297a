"""
test_users.py - `tern -c DIR user add|list|passwd|del`: the users table
(hash:DIR/users) holds a yescrypt hash that verifies with the system's
crypt(3), seen through postmap -q and independently through db5.3_dump;
bad addresses are refused.

Touches:  instance directories under /tmp (see conftest.py).
"""

import warnings

import pytest

from helpers import check, out, run

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # libcrypt's crypt(3), independent of tern's lib/passwd


def users(inst):
    return check(inst.tern("user", "list"), "tern user list").stdout.split()


def stored_hash(inst, addr):
    res = inst.cmd("postmap", "-q", addr, f"hash:{inst.dir}/users")
    assert res.returncode == 0, f"{addr} not in users table: {out(res)}"
    return res.stdout.strip().split()[0]


def verifies(password, hashed):
    return crypt.crypt(password, hashed) == hashed


def test_user_add_list_passwd_del(instance):
    inst = instance
    assert users(inst) == []
    check(inst.tern("user", "add", "alice@example.test", "s3cret pw"), "user add")
    assert users(inst) == ["alice@example.test"]
    h1 = stored_hash(inst, "alice@example.test")
    assert h1.startswith("$y$"), h1
    assert verifies("s3cret pw", h1) and not verifies("wrong", h1)

    check(inst.tern("user", "passwd", "alice@example.test", "n3w-pass"), "passwd")
    h2 = stored_hash(inst, "alice@example.test")
    assert h2 != h1 and h2.startswith("$y$")
    assert verifies("n3w-pass", h2) and not verifies("s3cret pw", h2)

    check(inst.tern("user", "add", "bob@example.test", "b0b"), "user add bob")
    assert sorted(users(inst)) == ["alice@example.test", "bob@example.test"]
    check(inst.tern("user", "del", "alice@example.test"), "user del")
    assert users(inst) == ["bob@example.test"]
    res = inst.cmd("postmap", "-q", "alice@example.test", f"hash:{inst.dir}/users")
    assert res.returncode == 1, out(res)


def test_users_db_is_berkeley_db_hash(instance):
    inst = instance
    check(inst.tern("user", "add", "dave@example.test", "pw-dave"), "user add")
    dump = check(run(["db5.3_dump", "-p", inst.dir / "users.db"]), "db5.3_dump")
    assert "type=hash" in dump.stdout, dump.stdout
    assert "dave@example.test" in dump.stdout, dump.stdout
    assert "$y$" in dump.stdout, dump.stdout
    assert "pw-dave" not in dump.stdout, "clear-text password stored"


def test_user_password_from_stdin(instance):
    inst = instance
    check(inst.tern("user", "add", "erin@example.test", input="from-stdin\n"),
          "user add (stdin)")
    assert verifies("from-stdin", stored_hash(inst, "erin@example.test"))


def test_user_domain_lowercased(instance):
    inst = instance
    check(inst.tern("user", "add", "carol@EXAMPLE.Test", "pw"), "user add")
    listed = users(inst)
    assert len(listed) == 1 and listed[0].endswith("@example.test"), listed
    assert stored_hash(inst, "carol@example.test").startswith("$y$")


@pytest.mark.parametrize("addr", ["noatsign", "a@", "@example.test",
                                  "a b@example.test", "a@b@example.test",
                                  "x\x01y@example.test"])
def test_user_add_rejects_bad_address(instance, addr):
    res = instance.tern("user", "add", addr, "pw")
    assert res.returncode != 0, f"accepted {addr!r}"
    assert users(instance) == []


def test_user_del_unknown_fails(instance):
    res = instance.tern("user", "del", "nobody@example.test")
    assert res.returncode != 0, out(res)


def test_user_add_twice_keeps_one_entry(instance):
    inst = instance
    check(inst.tern("user", "add", "frank@example.test", "first"), "user add")
    res = inst.tern("user", "add", "frank@example.test", "second")
    assert users(inst) == ["frank@example.test"]
    h = stored_hash(inst, "frank@example.test")
    # either refused (and the old password stays) or replaced
    assert verifies("second" if res.returncode == 0 else "first", h)
