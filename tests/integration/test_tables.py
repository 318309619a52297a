"""
test_tables.py - postmap (build, -q, -s, -d) on hash:, btree: and lmdb:
tables, cross-checked with db5.3_dump for the Berkeley DB types; the
default table type; source errors naming file and line; postalias and
newaliases.

Touches:  instance directories under /tmp (see conftest.py).
"""

import pytest

from helpers import check, out, run

SOURCE = """\
# access table for the tests
Example.COM     OK
spammer.test    REJECT go away
multi           first
   continued

blank.test      DUNNO
"""

EXPECT = {
    "example.com": "OK",
    "spammer.test": "REJECT go away",
    "blank.test": "DUNNO",
}

SUFFIX = {"hash": ".db", "btree": ".db", "lmdb": ".lmdb"}


def dump(inst, spec):
    res = check(inst.cmd("postmap", "-s", spec), f"postmap -s {spec}")
    table = {}
    for line in res.stdout.splitlines():
        key, _, value = line.partition(" ")
        table[key] = value.strip()
    return table


@pytest.mark.parametrize("kind", ["hash", "btree", "lmdb"])
def test_postmap_build_query_dump_delete(instance, kind):
    inst = instance
    src = inst.dir / "access"
    src.write_text(SOURCE)
    spec = f"{kind}:{src}"
    check(inst.cmd("postmap", spec), f"postmap {spec}")
    assert (inst.dir / ("access" + SUFFIX[kind])).is_file()
    if kind != "lmdb":
        d = check(run(["db5.3_dump", "-p", f"{src}.db"]), "db5.3_dump")
        assert f"type={kind}" in d.stdout, d.stdout
        assert "spammer.test" in d.stdout
    for key, value in EXPECT.items():
        res = inst.cmd("postmap", "-q", key, spec)
        assert res.returncode == 0 and res.stdout.strip() == value, out(res)
    res = inst.cmd("postmap", "-q", "EXAMPLE.com", spec)
    assert res.stdout.strip() == "OK", f"key not case-folded: {out(res)}"
    multi = inst.cmd("postmap", "-q", "multi", spec).stdout.strip()
    assert multi.startswith("first") and multi.endswith("continued"), multi
    res = inst.cmd("postmap", "-q", "absent.test", spec)
    assert res.returncode == 1 and res.stdout == "", out(res)

    table = dump(inst, spec)
    assert set(table) == set(EXPECT) | {"multi"}, table
    assert all(table[k] == v for k, v in EXPECT.items()), table

    check(inst.cmd("postmap", "-d", "spammer.test", spec), "postmap -d")
    assert inst.cmd("postmap", "-q", "spammer.test", spec).returncode == 1
    assert "spammer.test" not in dump(inst, spec)
    assert inst.cmd("postmap", "-q", "example.com", spec).returncode == 0

    # a rebuild replaces the whole table
    src.write_text("only.test  yes\n")
    check(inst.cmd("postmap", spec), "postmap rebuild")
    assert dump(inst, spec) == {"only.test": "yes"}


def test_postmap_missing_table_is_tempfail(instance):
    res = instance.cmd("postmap", "-q", "x", f"hash:{instance.dir}/nothere")
    assert res.returncode == 2, out(res)


def test_postmap_default_type(instance):
    inst = instance
    src = inst.dir / "transport"
    src.write_text("example.net  smtp:[127.0.0.1]\n")
    check(inst.cmd("postmap", src), "postmap (default type)")
    assert (inst.dir / "transport.db").is_file()
    inst.set_param("default_database_type", "lmdb")
    check(inst.cmd("postmap", src), "postmap (lmdb default)")
    assert (inst.dir / "transport.lmdb").is_file()
    res = inst.cmd("postmap", "-q", "example.net", f"lmdb:{src}")
    assert res.stdout.strip() == "smtp:[127.0.0.1]", out(res)


def test_postmap_source_error_names_line(instance):
    inst = instance
    src = inst.dir / "broken"
    src.write_bytes(b"good.test ok\nbad\0key value\n")
    res = inst.cmd("postmap", f"hash:{src}")
    assert res.returncode != 0, out(res)
    assert "broken:2" in out(res), out(res)
    assert not (inst.dir / "broken.db").exists(), "half-built table left"


def test_newaliases_builds_alias_database(instance):
    inst = instance
    (inst.dir / "aliases").write_text(
        "# test aliases\nPostMaster: root\n"
        "abuse: postmaster,\n  bob@example.test\n")
    check(inst.cmd("newaliases"), "newaliases")
    spec = f"hash:{inst.dir}/aliases"
    res = inst.cmd("postmap", "-q", "postmaster", spec)
    assert res.returncode == 0 and res.stdout.strip() == "root", out(res)
    abuse = inst.cmd("postmap", "-q", "abuse", spec).stdout
    assert "postmaster" in abuse and "bob@example.test" in abuse, abuse


def test_postalias_table_and_query(instance):
    inst = instance
    src = inst.dir / "other"
    src.write_text("list: a@example.test, b@example.test\nsingle: root\n")
    check(inst.cmd("postalias", f"hash:{src}"), "postalias")
    res = inst.cmd("postalias", "-q", "single", f"hash:{src}")
    assert res.returncode == 0 and res.stdout.strip() == "root", out(res)
    res = inst.cmd("postmap", "-q", "list", f"hash:{src}")
    assert "b@example.test" in res.stdout, out(res)
    # postalias without a file rebuilds $alias_database
    (inst.dir / "aliases").write_text("postmaster: someone\n")
    check(inst.cmd("postalias"), "postalias (alias_database)")
    res = inst.cmd("postmap", "-q", "postmaster", f"hash:{inst.dir}/aliases")
    assert res.stdout.strip() == "someone", out(res)


@pytest.mark.parametrize("text,line", [
    ("ok: root\nno colon here\n", 2),
    ("ok: root\nempty:\n", 2),
])
def test_postalias_source_errors(instance, text, line):
    src = instance.dir / "badaliases"
    src.write_text(text)
    res = instance.cmd("postalias", f"hash:{src}")
    assert res.returncode != 0, out(res)
    assert f"badaliases:{line}" in out(res), out(res)
