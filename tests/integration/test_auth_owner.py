"""
test_auth_owner.py - the auth service runs as an account of its own
(auth_owner; `tern init` as root creates "tern-auth"), the only one that
can read the password hashes: the mail owner, whom smtpd, pop3d, qmgr and
local run as, cannot open virtual_user_maps.  AUTH still works, the auth
service still logs to the maillog, and `tern check` reports a users table
that the auth service could not read.

Touches:  a fresh instance per test; as root the account database (tern
          init's useradd of tern-auth).
Security: loopback only.
"""

import os
import pwd
import re
import smtplib
import ssl
import subprocess

import helpers
from helpers import check, wait_for

PASSWORD = "owner-test-pw-1"


def auth_pid(inst):
    for pid in helpers.descendants_of(inst.master_pid()):
        argv = helpers.proc_cmdline(pid)
        if argv and os.path.basename(argv[0]) == "auth":
            return pid
    return None


def test_auth_runs_as_its_own_account(instance):
    inst = instance
    main = inst.main_cf.read_text()
    m = re.search(r"^auth_owner\s*=\s*(\S+)\s*$", main, re.M)
    assert m, "tern init wrote no auth_owner"
    if os.geteuid() == 0:
        assert m.group(1) == "tern-auth", m.group(1)
    else:
        assert m.group(1) == pwd.getpwuid(os.getuid()).pw_name
    auth_uid, auth_gid = helpers.auth_owner_ids(inst)
    mail_uid, mail_gid = helpers.mail_owner_ids(inst)
    check(inst.tern("user", "add", "alice@example.test", PASSWORD), "tern user add")
    st = os.stat(inst.dir / "users.db")
    assert (st.st_uid, st.st_gid) == (auth_uid, auth_gid), (st.st_uid, st.st_gid)
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    if os.geteuid() == 0:
        assert auth_uid not in (0, mail_uid), "auth_owner is root or the mail owner"
        # the mail owner (every other daemon) cannot read the hashes
        res = subprocess.run(["setpriv", f"--reuid={mail_uid}", f"--regid={mail_gid}",
                              "--clear-groups", "cat", str(inst.dir / "users.db")],
                             capture_output=True)
        assert res.returncode != 0 and b"Permission denied" in res.stderr, res
    inst.start()
    pid = wait_for(lambda: auth_pid(inst), 10, what="the auth process")
    # it starts as root and drops to auth_owner before reading any input
    wait_for(lambda: helpers.proc_status(pid)["Uid"] != ["0"] * 4, 10,
             what="auth to drop privileges")
    status = helpers.proc_status(pid)
    assert status["Uid"] == [str(auth_uid)] * 4, status["Uid"]
    assert status["Gid"] == [str(auth_gid)] * 4, status["Gid"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", inst.port(587), timeout=30) as s:
        s.starttls(context=ctx)
        code, _ = s.login("alice@example.test", PASSWORD)
        assert code == 235
    with smtplib.SMTP("127.0.0.1", inst.port(587), timeout=30) as s:
        s.starttls(context=ctx)
        try:
            s.login("alice@example.test", "wrong")
            raise AssertionError("a wrong password was accepted")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535
    # the auth service, running as another account, still logs
    inst.wait_log(r"tern/auth\[\d+\]: smtpd login: user=<alice@example.test>")


def test_check_reports_table_the_auth_service_cannot_read(instance):
    inst = instance
    assert "no problems found" in helpers.out(check(inst.tern("check"), "tern check"))
    if os.geteuid() != 0:
        return
    mail_uid, mail_gid = helpers.mail_owner_ids(inst)
    os.chown(inst.dir / "users.db", mail_uid, mail_gid)
    res = inst.tern("check")
    assert res.returncode != 0
    assert "not by auth_owner tern-auth" in helpers.out(res), helpers.out(res)


def test_missing_auth_owner_refuses_start(instance):
    inst = instance
    if os.geteuid() != 0:
        # a plain user's instance runs everything as that user
        inst.set_param("auth_owner", "no-such-account-x")
        inst.start()
        return
    inst.set_param("auth_owner", "no-such-account-x")
    res = inst.tern("start")
    assert res.returncode != 0
    assert re.search(r'auth_owner (account )?"no-such-account-x" does not exist',
                     helpers.out(res)), helpers.out(res)
