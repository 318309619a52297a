"""
test_master.py - the master process through tests/daemons/echod: service,
restart of a killed child with back-off, maxproc, reload (tern reload and
SIGHUP) keeping connected sessions, privileges of master and children,
stop with a session open, and the shape of maillog lines.

Touches:  instance directories under /tmp, 127.0.0.1 ports, processes the
          tests start (see conftest.py).
"""

import os
import signal
import socket
import time

import helpers
from helpers import EchoClient, check, echo_ready, out, pid_alive, wait_for


def echod_pids(inst, port):
    """Live echod processes of master serving port (argv has -n PORT)."""
    return [p for p in inst.service_pids(port)
            if helpers.proc_cmdline(p)[:1] == [str(helpers.ECHOD)]]


def test_echod_session(running):
    inst = running
    with EchoClient(inst.port(7)) as c:
        assert c.pid in echod_pids(inst, inst.port(7))
        assert c.echo("one") == "one\r\n"
        assert c.echo("two words") == "two words\r\n"
        c.send("QUIT\r\n")
        assert c.readline(timeout=5).startswith("221 ")
        assert c.readline(timeout=5) == "", "session open after QUIT"


def test_killed_child_is_restarted(running):
    inst = running
    with EchoClient(inst.port(7)) as c:
        old = c.pid
    mark = inst.log_size()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not pid_alive(old), 5, what="echod to die")
    inst.wait_log(r"tern/master\[\d+\]: warning: .*killed by signal 9", 10, mark)
    inst.wait_log(r"tern/master\[\d+\]: warning: .*restarting", 10, mark)

    def new_pid():
        c = helpers.try_echo(inst.port(7))
        if c is None:
            return None
        c.close()
        return c.pid if c.pid != old else None
    new = wait_for(new_pid, 20, what="a restarted echod")
    assert new in echod_pids(inst, inst.port(7))
    assert pid_alive(inst.master_pid())


def test_maxproc_enforced(instance):
    inst = instance
    port = inst.add_echod(7, maxproc=2, args=("1",))   # one session each
    inst.start()
    wait_for(lambda: echod_pids(inst, port), 15, what="first echod")
    c1 = EchoClient(port)
    c2 = EchoClient(port)
    try:
        assert c1.pid != c2.pid, "session_limit 1 but one process took two"
        c3 = socket.create_connection(("127.0.0.1", port), timeout=2)
        c3.settimeout(2.0)
        try:
            try:
                data = c3.recv(100)
            except socket.timeout:
                data = b""
            assert data == b"", f"third session served beyond maxproc: {data!r}"
            assert len(echod_pids(inst, port)) == 2, echod_pids(inst, port)
            c1.send("QUIT\r\n")
            c1.close()
            c3.settimeout(10.0)
            greeting = c3.recv(100).decode()
            assert greeting.startswith("220 echod "), greeting
        finally:
            c3.close()
        assert c2.echo("still") == "still\r\n"
        assert len(echod_pids(inst, port)) <= 2
    finally:
        c1.close()
        c2.close()


def test_reload_keeps_session_and_adds_service(running):
    inst = running
    pid = inst.master_pid()
    new_port = inst.port(8)
    assert not echo_ready(new_port)
    with EchoClient(inst.port(7)) as old:
        assert old.echo("before") == "before\r\n"
        inst.add_echod(8)
        mark = inst.log_size()
        check(inst.tern("reload"), "tern reload")
        inst.wait_log(rf"tern/master\[{pid}\]: reload", 10, mark)
        wait_for(lambda: echo_ready(new_port), 15, what="new service on reload")
        assert old.echo("after") == "after\r\n", "session lost on reload"
        assert pid_alive(old.pid)
    assert inst.master_pid() == pid and pid_alive(pid)
    assert echo_ready(inst.port(7))


def test_sighup_reload_removes_service(running):
    inst = running
    pid = inst.master_pid()
    port8 = inst.add_echod(8)
    os.kill(pid, signal.SIGHUP)
    wait_for(lambda: echo_ready(port8), 15, what="service added by SIGHUP")
    lines = [ln for ln in inst.master_cf.read_text().splitlines()
             if not ln.startswith(f"{port8} ")]
    inst.master_cf.write_text("\n".join(lines) + "\n")
    os.kill(pid, signal.SIGHUP)

    def refused():
        try:
            socket.create_connection(("127.0.0.1", port8), timeout=1).close()
        except ConnectionRefusedError:
            return True
        return False
    wait_for(refused, 15, what="removed service's port to close")
    assert echo_ready(inst.port(7))
    assert pid_alive(pid)


def test_reload_refuses_broken_master_cf(running):
    inst = running
    pid = inst.master_pid()
    n = inst.master_cf_line_count() + 1
    inst.append_master_cf("10999 tcp n - n - 1 echod")
    res = inst.tern("reload")
    assert res.returncode != 0, "reload accepted a broken master.cf"
    assert f"master.cf:{n}:" in out(res), out(res)
    assert pid_alive(pid)
    assert echo_ready(inst.port(7))


def test_privileges(running):
    inst = running
    master = inst.master_pid()
    mail_uid, mail_gid = helpers.mail_owner_ids(inst)
    mst = helpers.proc_status(master)
    expect_master = "0" if os.geteuid() == 0 else str(os.getuid())
    assert mst["Uid"] == [expect_master] * 4, mst["Uid"]
    kids = helpers.descendants_of(master)
    assert kids
    auth_ids = helpers.auth_owner_ids(inst)
    for kid in kids:
        st = helpers.proc_status(kid)
        argv = helpers.proc_cmdline(kid)
        # the auth service runs as auth_owner (test_auth_owner.py)
        uid, gid = auth_ids if os.path.basename(argv[0]) == "auth" else (mail_uid, mail_gid)
        assert st["Uid"] == [str(uid)] * 4, f"{argv} runs with Uid {st['Uid']}"
        assert st["Gid"] == [str(gid)] * 4, f"{argv} runs with Gid {st['Gid']}"
        if os.geteuid() == 0:
            assert set(st.get("Groups", [])) <= {str(gid)}, \
                f"{argv} keeps groups {st['Groups']}"
    with EchoClient(inst.port(7)) as c:
        assert c.uid == mail_uid


def test_stop_with_open_session(running):
    inst = running
    c = EchoClient(inst.port(7))
    try:
        pid = inst.master_pid()
        t0 = time.monotonic()
        check(inst.stop(), "tern stop")
        assert time.monotonic() - t0 < 30
        assert not pid_alive(pid)
        assert not pid_alive(c.pid), "echod outlived master"
        assert c.readline(timeout=5) == "", "session still open after stop"
    finally:
        c.close()


def test_maillog_lines_have_postfix_shape(running):
    inst = running
    pid = inst.master_pid()
    with EchoClient(inst.port(7)) as c:
        c.echo("x")
    check(inst.stop(), "tern stop")
    text = inst.maillog()
    lines = [ln for ln in text.splitlines() if ln]
    assert lines, "maillog is empty"
    bad = [ln for ln in lines if not helpers.LOG_RE.match(ln)]
    assert not bad, f"lines not in Postfix shape: {bad[:5]}"
    masters = inst.log_lines("master")
    assert masters and all(int(m.group("pid")) == pid for m in masters)
    assert any("terminating" in m.group("text") for m in masters), \
        [m.group(0) for m in masters]


def test_start_fails_cleanly_when_port_taken(instance):
    inst = instance
    port = inst.add_echod(7)
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        blocker.bind(("127.0.0.1", port))
        blocker.listen(1)
        res = inst.start(check_ok=False)
        assert res.returncode != 0, "start succeeded with its port taken"
        assert str(port) in out(res), out(res)
        pid = inst.read_pid()
        assert pid is None or not pid_alive(pid), "master left running"
    finally:
        blocker.close()
    inst.start()
    wait_for(lambda: echo_ready(port), 15, what="echod after the port freed")


def test_reload_and_stop_when_not_running(instance):
    res = instance.tern("reload")
    assert res.returncode != 0 and "not running" in out(res), out(res)
    res = instance.tern("stop")
    assert res.returncode != 0, out(res)
