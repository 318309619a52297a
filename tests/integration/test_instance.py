"""
test_instance.py - `tern init` (layout, modes, certificate, tables) and the
instance life cycle through `tern start|status|stop`: start twice refused,
stale pid files (dead pid, a live pid that is not our master).

Touches:  instance directories under /tmp, 127.0.0.1 ports, processes the
          tests start (see conftest.py).
"""

import os
import re
import signal
import stat

import helpers
from helpers import check, out, pid_alive, run, wait_for


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_init_creates_layout(new_instance):
    inst = new_instance
    res = check(inst.init(), "tern init")
    d = inst.dir
    for sub in ("queue", "mail", "run", "log", "tls"):
        assert (d / sub).is_dir(), f"{sub}/ missing after init: {out(res)}"
    for q in ("incoming", "active", "deferred", "hold", "corrupt", "defer",
              "bounce", "private", "public"):
        assert (d / "queue" / q).is_dir(), f"queue/{q} missing"
    assert mode(d / "queue" / "private") == 0o700
    assert mode(d / "queue" / "public") == 0o711
    assert (d / "log" / "maillog").is_file()
    for f in ("main.cf", "master.cf", "tls/cert.pem", "tls/key.pem"):
        assert (d / f).is_file(), f"{f} missing"
    assert mode(d / "tls" / "key.pem") & 0o077 == 0, "key readable by others"
    # empty tables: users (hash:DIR/users -> users.db) and aliases
    assert (d / "users.db").is_file(), sorted(os.listdir(d))
    assert (d / "aliases").is_file() and (d / "aliases.db").is_file()
    # nothing in the instance is world-writable
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                assert mode(p) & 0o002 == 0, f"{p} is world-writable"
    if os.geteuid() == 0:
        uid, gid = helpers.mail_owner_ids(inst)
        assert uid != 0, "mail_owner resolves to root"
        for sub in ("queue", "mail", "run", "log"):
            assert os.stat(d / sub).st_uid == uid, f"{sub}/ not owned by mail_owner"


def test_init_writes_identity_and_ports(new_instance):
    inst = new_instance
    check(inst.init(), "tern init")
    main = inst.main_cf.read_text()
    assert re.search(r"^myhostname\s*=\s*mx\.example\.test\s*$", main, re.M), main
    assert re.search(r"^mydomain\s*=\s*example\.test\s*$", main, re.M), main
    master = inst.master_cf.read_text()
    # every standard service's port is computed from the base (live or
    # commented out until its daemon exists)
    for off in helpers.STD_OFFSETS:
        port = inst.port_base + off
        assert re.search(rf"^#?\s*(\S+:)?{port}\s+inet\b", master, re.M), \
            f"no master.cf entry for port {port}:\n{master}"


def test_init_standard_ports_without_base(tmp_instance_root):
    d = tmp_instance_root / "std"
    check(run([helpers.sbin("tern"), "init", d, "--hostname", "h.example.test",
               "--domain", "example.test"]), "tern init")
    master = (d / "master.cf").read_text()
    assert re.search(r"^#?\s*(587|submission)\s+inet\b", master, re.M), master
    assert re.search(r"^#?\s*(993|imaps)\s+inet\b", master, re.M), master


def test_init_certificate_matches_key(new_instance):
    inst = new_instance
    check(inst.init(), "tern init")
    cert, key = inst.dir / "tls" / "cert.pem", inst.dir / "tls" / "key.pem"
    subj = check(run(["openssl", "x509", "-in", cert, "-noout", "-subject",
                      "-ext", "subjectAltName"]), "openssl x509")
    assert "mx.example.test" in subj.stdout.split("\n")[0], subj.stdout
    assert "DNS:mx.example.test" in subj.stdout, subj.stdout
    pub_cert = check(run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"]))
    pub_key = check(run(["openssl", "pkey", "-in", key, "-pubout"]))
    assert pub_cert.stdout == pub_key.stdout, "certificate and key differ"


def test_init_refuses_existing_instance(instance):
    before = instance.main_cf.read_text()
    res = instance.init()
    assert res.returncode != 0, "second init over an instance succeeded"
    assert "main.cf" in out(res) or "exists" in out(res), out(res)
    assert instance.main_cf.read_text() == before
    check(instance.init("--force"), "tern init --force")
    assert "inet_interfaces" not in instance.main_cf.read_text()


def test_start_status_stop(running):
    inst = running
    pid = inst.master_pid()
    assert any("master" in a for a in helpers.proc_cmdline(pid)[:1]), \
        helpers.proc_cmdline(pid)
    st = inst.tern("status")
    assert st.returncode == 0 and str(pid) in out(st), out(st)
    inst.wait_log(rf"tern/master\[{pid}\]: daemon started")
    kids = helpers.descendants_of(pid)
    assert kids, "master has no children"
    with helpers.EchoClient(inst.port(7)) as c:
        assert c.pid in kids
        assert c.echo("hello") == "hello\r\n"
    res = check(inst.stop(), "tern stop")
    assert not pid_alive(pid), "master still alive after tern stop"
    wait_for(lambda: not any(pid_alive(k) for k in kids), 10,
             what="children gone after stop")
    assert not inst.pid_file.exists(), "pid file left after stop"
    st = inst.tern("status")
    assert st.returncode == 1 and "not running" in out(st), out(st)
    assert helpers.port_free(inst.port(7)), "echod port still bound"
    res = inst.tern("stop")
    assert res.returncode != 0, "stop of a stopped instance reported success"


def test_status_not_running_before_start(instance):
    st = instance.tern("status")
    assert st.returncode == 1, out(st)
    assert "not running" in out(st)


def test_start_twice_refused(running):
    inst = running
    pid = inst.master_pid()
    res = inst.tern("start")
    assert res.returncode != 0, "second tern start succeeded"
    assert "already running" in out(res).lower(), out(res)
    # master itself refuses a second copy on the same instance
    master = helpers.LIBEXEC / "master"
    res = run([master, "-c", inst.dir], timeout=30)
    assert res.returncode != 0
    assert "already running" in (out(res) + inst.maillog()).lower()
    assert inst.read_pid() == pid and pid_alive(pid)
    assert helpers.echo_ready(inst.port(7))


def test_stale_pid_after_master_killed(running):
    inst = running
    pid = inst.master_pid()
    kids = helpers.descendants_of(pid)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid), 10, what="master to die")
    # children notice master is gone (EOF on the status channel) and exit
    wait_for(lambda: not any(pid_alive(k) for k in kids), 20,
             what="children to exit after master died")
    st = inst.tern("status")
    assert st.returncode == 1 and "not running" in out(st), out(st)
    inst.start()
    new = inst.master_pid()
    assert new != pid
    wait_for(lambda: helpers.echo_ready(inst.port(7)), 15, what="echod back")


def _unused_pid():
    for pid in range(30000, 2, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    raise AssertionError("no unused pid")


def test_stale_pid_file_dead_pid(instance):
    instance.add_echod(7)
    instance.pid_file.write_text(f"{_unused_pid()}\n")
    st = instance.tern("status")
    assert st.returncode == 1 and "not running" in out(st), out(st)
    instance.start()
    wait_for(lambda: helpers.echo_ready(instance.port(7)), 15, what="echod")


def test_stale_pid_file_names_other_process(instance):
    # a live pid that is not a master of this instance (this pytest)
    instance.add_echod(7)
    instance.pid_file.write_text(f"{os.getpid()}\n")
    st = instance.tern("status")
    assert st.returncode == 1, f"status trusted a foreign pid: {out(st)}"
    instance.start()
    assert instance.master_pid() != os.getpid()
    check(instance.stop(), "tern stop")
