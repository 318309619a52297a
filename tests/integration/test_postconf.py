"""
test_postconf.py - postconf -c DIR: every parameter of lib/params.def,
-n (only main.cf), -d (defaults), -h (values only), -x (expanded), and
name=value edits that round-trip and keep the rest of main.cf.

Touches:  instance directories under /tmp (see conftest.py).
"""

import re

import helpers
from helpers import check, out

LINE_RE = re.compile(r"^([A-Za-z0-9_]+) =(?: (.*))?$")


def param_names():
    text = (helpers.REPO / "lib" / "params.def").read_text()
    return re.findall(r"^PARAM\((\w+),", text, re.M)


def parse(res):
    table = {}
    for line in check(res).stdout.splitlines():
        m = LINE_RE.match(line)
        assert m, f"not 'name = value': {line!r}"
        table[m.group(1)] = m.group(2) or ""
    return table


def test_postconf_lists_every_parameter_sorted(instance):
    res = check(instance.cmd("postconf"), "postconf")
    names = [LINE_RE.match(ln).group(1) for ln in res.stdout.splitlines()]
    assert names == sorted(names), "output not sorted"
    assert set(names) == set(param_names()), \
        set(names) ^ set(param_names())


def test_postconf_h_and_n(instance):
    inst = instance
    res = check(inst.cmd("postconf", "-h", "myhostname"))
    assert res.stdout == "mx.example.test\n", res.stdout
    res = check(inst.cmd("postconf", "-h", "mydomain", "myhostname"))
    assert res.stdout.splitlines() == ["example.test", "mx.example.test"]
    set_in_file = set(re.findall(r"^([a-z0-9_]+)\s*=", inst.main_cf.read_text(), re.M))
    table = parse(inst.cmd("postconf", "-n"))
    assert set(table) == set_in_file, set(table) ^ set_in_file
    assert table["myhostname"] == "mx.example.test"
    assert "ipc_max_frame" not in table


def test_postconf_defaults(instance):
    inst = instance
    inst.set_param("default_process_limit", "5")
    assert check(inst.cmd("postconf", "-h", "default_process_limit")).stdout == "5\n"
    res = check(inst.cmd("postconf", "-d", "-h", "default_process_limit"))
    assert res.stdout == "100\n", res.stdout
    table = parse(inst.cmd("postconf", "-d"))
    # defaults ignore main.cf (myhostname's default is the system name)
    assert table["myhostname"] != "mx.example.test"
    assert table["default_process_limit"] == "100"
    assert table["queue_directory"] == "$config_directory/queue"


def test_postconf_expand(instance):
    inst = instance
    res = check(inst.cmd("postconf", "-h", "queue_directory"))
    assert res.stdout.strip() == "$config_directory/queue", res.stdout
    res = check(inst.cmd("postconf", "-x", "-h", "queue_directory"))
    assert res.stdout.strip() == f"{inst.dir}/queue", res.stdout


def test_postconf_edit_round_trip(instance):
    inst = instance
    inst.append_main_cf("# a comment the edit must keep")
    before = inst.main_cf.read_text()
    check(inst.cmd("postconf", "default_process_limit=7"), "postconf edit")
    assert check(inst.cmd("postconf", "-h", "default_process_limit")).stdout == "7\n"
    assert parse(inst.cmd("postconf", "-n"))["default_process_limit"] == "7"
    check(inst.cmd("postconf", "default_process_limit=8"), "postconf edit again")
    text = inst.main_cf.read_text()
    assert len(re.findall(r"^default_process_limit\s*=", text, re.M)) == 1, text
    assert "# a comment the edit must keep" in text
    kept = [ln for ln in before.splitlines()
            if not ln.startswith("default_process_limit")]
    assert all(ln in text.splitlines() for ln in kept), "edit lost lines"
    assert check(inst.cmd("postconf", "-h", "default_process_limit")).stdout == "8\n"
    # a value with spaces and a $name keeps its text
    check(inst.cmd("postconf", "myorigin=$myhostname"), "postconf edit $name")
    assert check(inst.cmd("postconf", "-h", "myorigin")).stdout == "$myhostname\n"
    assert check(inst.cmd("postconf", "-x", "-h", "myorigin")).stdout == \
        "mx.example.test\n"


def test_postconf_rejects_bad_value(instance):
    inst = instance
    before = inst.main_cf.read_text()
    res = inst.cmd("postconf", "default_process_limit=abc")
    assert res.returncode == 1, out(res)
    assert "default_process_limit" in out(res)
    assert inst.main_cf.read_text() == before
    res = inst.cmd("postconf", "syslog_enable=maybe")
    assert res.returncode == 1, out(res)
    assert inst.main_cf.read_text() == before


def test_postconf_unknown_name_warns(instance):
    res = instance.cmd("postconf", "no_such_parameter_xyz")
    assert res.returncode == 0, out(res)
    assert "warning" in res.stderr and "no_such_parameter_xyz" in res.stderr
