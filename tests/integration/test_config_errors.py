"""
test_config_errors.py - bad main.cf and master.cf lines give an error that
names the file and line, from `tern start` (which then starts nothing) and
from `tern check`; `tern check` reports every problem in one run.

Touches:  instance directories under /tmp (see conftest.py).
"""

import os

import pytest

from helpers import check, out, pid_alive

BAD_MAIN = [
    ("this line has no equals sign", "missing"),
    ("default_process_limit = many", "default_process_limit"),
    ("syslog_enable = perhaps", "syslog_enable"),
    ("bad name! = 1", None),
]

BAD_MASTER = [
    "10999 tcp n - n - 1 echod",           # unknown type
    "10999 inet x - n - 1 echod",          # bad y/n column
    "10999 inet n - n - lots echod",       # bad maxproc
    "10999 inet n - n -",                  # no command
]


def append_bad(inst, which, line):
    """Append line to main.cf or master.cf; return its line number."""
    path = inst.main_cf if which == "main" else inst.master_cf
    n = len(path.read_text().splitlines()) + 1
    (inst.append_main_cf if which == "main" else inst.append_master_cf)(line)
    return n


def assert_not_started(inst):
    pid = inst.read_pid()
    assert pid is None or not pid_alive(pid), "a master runs after a failed start"
    st = inst.tern("status")
    assert st.returncode == 1, out(st)


def test_check_passes_on_fresh_instance(instance):
    res = instance.tern("check")
    assert res.returncode == 0, out(res)


@pytest.mark.parametrize("line,word", BAD_MAIN)
def test_bad_main_cf_line(instance, line, word):
    n = append_bad(instance, "main", line)
    res = instance.tern("check")
    assert res.returncode == 1, out(res)
    assert f"main.cf:{n}:" in out(res), out(res)
    if word:
        assert word in out(res), out(res)
    res = instance.tern("start")
    assert res.returncode != 0, "tern start accepted a bad main.cf"
    assert f"main.cf:{n}:" in out(res), out(res)
    assert_not_started(instance)


@pytest.mark.parametrize("line", BAD_MASTER)
def test_bad_master_cf_line(instance, line):
    n = append_bad(instance, "master", line)
    res = instance.tern("check")
    assert res.returncode == 1, out(res)
    assert f"master.cf:{n}:" in out(res), out(res)
    res = instance.tern("start")
    assert res.returncode != 0, "tern start accepted a bad master.cf"
    assert f"master.cf:{n}:" in out(res), out(res)
    assert_not_started(instance)


def test_check_reports_every_problem(instance):
    m = append_bad(instance, "main", "no equals sign here")
    k = append_bad(instance, "master", "10999 tcp n - n - 1 echod")
    key = instance.dir / "tls" / "key.pem"
    os.chmod(key, 0o644)
    res = instance.tern("check")
    text = out(res)
    assert res.returncode == 1, text
    assert f"main.cf:{m}:" in text, text
    assert f"master.cf:{k}:" in text, text
    assert "key.pem" in text, text


def test_check_missing_command(instance):
    instance.append_master_cf(
        f"{instance.port(9)} inet n - n - 1 /nonexistent/tern-echod")
    res = instance.tern("check")
    assert res.returncode == 1, out(res)
    assert "/nonexistent/tern-echod" in out(res), out(res)


def test_check_unknown_parameter_is_not_fatal(instance):
    instance.append_main_cf("no_such_parameter_xyz = 1")
    res = instance.tern("check")
    assert "no_such_parameter_xyz" in out(res), out(res)
    check(instance.tern("start"), "tern start with an unknown name")
