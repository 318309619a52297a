"""
test_showq.py - mailq and postqueue for every local user through the showq
service on queue/public/showq: an unprivileged user lists a deferred
message with its reason (text and JSON, the same bytes root sees and the
direct listing prints with master stopped) and flushes the queue;
authorized_mailq_users / authorized_flush_users refuse with the Postfix
message and exit 77; malformed requests on the socket get an error and
showq keeps serving; nobody can read main.cf and reach the public socket
but not the queue.

Touches:  a fresh instance per test (conftest.py); runs commands as the
          account "nobody" (the tests need root and skip otherwise).
Security: loopback only; stops only the master it started.
Errors:   assertion messages show the command output and the maillog.
"""

import json
import os
import pwd
import re
import socket
import subprocess

import pytest

import helpers
import ipcproto
from test_postqueue import disable_service, submit, wait_pickup

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root to run as another user")

# lib/proto.h: "showq" protocol
SHOWQ_LIST = ipcproto.TYPE_FIRST
SHOWQ_DATA = ipcproto.TYPE_FIRST + 1
SHOWQ_END = ipcproto.TYPE_FIRST + 2
SHOWQ_FLUSH = ipcproto.TYPE_FIRST + 3
SHOWQ_FLUSH_OK = ipcproto.TYPE_FIRST + 4
SHOWQ_DENIED = ipcproto.TYPE_FIRST + 5

NOBODY = pwd.getpwnam("nobody")


def as_nobody(inst, name, *args):
    """Run an admin command of inst as nobody (no supplementary groups)."""
    return subprocess.run(
        [str(helpers.sbin(name)), "-c", str(inst.dir), *args],
        capture_output=True, text=True, timeout=60, user=NOBODY.pw_uid,
        group=NOBODY.pw_gid, extra_groups=[])


def showq_socket(inst):
    return inst.dir / "queue/public/showq"


def start_with_showq(inst):
    inst.start()
    wait_pickup(inst)
    helpers.wait_for(lambda: showq_socket(inst).exists(), 15,
                     what="public/showq socket")


def showq_down(inst):
    """True when nothing accepts on public/showq."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(showq_socket(inst)))
    except OSError:
        return True
    finally:
        s.close()
    return False


def stop_master(inst):
    helpers.check(inst.stop(), "tern stop")
    helpers.wait_for(lambda: showq_down(inst), 15, what="showq gone")


def deferred_message(inst):
    """Submit remote mail with no smtp transport: it is deferred with a
    reason.  Returns its queue ID once mailq shows the reason."""
    qid = submit(inst, "carol@example.net", sender="alice@example.org")

    def listed():
        out = inst.cmd("mailq").stdout
        return out if re.search(rf"^{qid} ", out, re.M) and "(" in out else None
    helpers.wait_for(listed, 30, what="deferred message in mailq")
    return qid


def test_nobody_lists_deferred_message(instance):
    disable_service(instance, "smtp")
    start_with_showq(instance)
    qid = deferred_message(instance)

    res = as_nobody(instance, "mailq")
    assert res.returncode == 0, helpers.out(res)
    assert res.stderr == "", res.stderr
    out = res.stdout
    assert re.search(rf"^{qid} +\d+ \w{{3}} \w{{3}} [ \d]\d \d\d:\d\d:\d\d  "
                     r"alice@example\.org$", out, re.M), out
    assert re.search(r"^ +\(.+\)$", out, re.M), out
    assert re.search(r"^ +carol@example\.net$", out, re.M), out
    assert out.endswith("-- 1 Kbytes in 1 Request.\n"), out
    assert helpers.check(instance.cmd("mailq")).stdout == out
    assert helpers.check(as_nobody(instance, "postqueue", "-p")).stdout == out

    res = as_nobody(instance, "postqueue", "-j")
    assert res.returncode == 0, helpers.out(res)
    obj = json.loads(res.stdout)
    assert obj["queue_id"] == qid and obj["queue_name"] == "deferred"
    assert obj["recipients"][0]["address"] == "carol@example.net"
    assert obj["recipients"][0]["delay_reason"]
    json_out = res.stdout
    instance.wait_log(r"showq.*uid %d \(nobody\): listed 1 message" % NOBODY.pw_uid)

    # With master stopped root reads the queue directly: the same bytes.
    stop_master(instance)
    res = helpers.check(instance.cmd("mailq"))
    assert res.stdout == out
    assert "accessing the queue directly" in res.stderr
    assert helpers.check(instance.cmd("postqueue", "-j")).stdout == json_out
    # nobody cannot: the mail system is down.
    res = as_nobody(instance, "mailq")
    assert res.returncode == 69, helpers.out(res)
    assert "mail system is down" in res.stderr
    assert res.stdout == ""


def test_nobody_flushes(instance):
    disable_service(instance, "smtp")
    start_with_showq(instance)
    qid = deferred_message(instance)
    for args in (("-f",), ("-i", qid), ("-s", "example.net")):
        res = as_nobody(instance, "postqueue", *args)
        assert res.returncode == 0, helpers.out(res)
    instance.wait_log(r"uid %d \(nobody\): flush all: " % NOBODY.pw_uid)
    instance.wait_log(r"uid %d \(nobody\): flush %s: 1 message scheduled"
                      % (NOBODY.pw_uid, qid))
    instance.wait_log(r"uid %d \(nobody\): flush example\.net: " % NOBODY.pw_uid)
    # Still invalid arguments are refused before anything is sent.
    res = as_nobody(instance, "postqueue", "-i", "../x")
    assert res.returncode == 64, helpers.out(res)


def test_authorized_users_refuse(instance):
    instance.set_param("authorized_mailq_users", "root")
    instance.set_param("authorized_flush_users", "root, someone")
    start_with_showq(instance)

    res = as_nobody(instance, "mailq")
    assert res.returncode == 77, helpers.out(res)
    assert res.stderr == ("mailq: fatal: User nobody(%d) is not allowed to list "
                          "the mail queue\n" % NOBODY.pw_uid), res.stderr
    assert res.stdout == ""
    res = as_nobody(instance, "postqueue", "-j")
    assert res.returncode == 77, helpers.out(res)
    res = as_nobody(instance, "postqueue", "-f")
    assert res.returncode == 77, helpers.out(res)
    assert res.stderr == ("postqueue: fatal: User nobody(%d) is not allowed to flush "
                          "the mail queue\n" % NOBODY.pw_uid), res.stderr
    instance.wait_log(r"uid %d \(nobody\): not in authorized_mailq_users"
                      % NOBODY.pw_uid)
    instance.wait_log(r"uid %d \(nobody\): not in authorized_flush_users"
                      % NOBODY.pw_uid)
    # root always may.
    assert helpers.check(instance.cmd("mailq")).stdout == "Mail queue is empty\n"
    helpers.check(instance.cmd("postqueue", "-f"))

    # A user name in the list, and a table lookup, let nobody in.
    instance.set_param("authorized_mailq_users", "root nobody")
    instance.set_param("authorized_flush_users", "inline:{nobody=yes}")
    helpers.check(instance.tern("reload"), "tern reload")

    def listed():
        res = as_nobody(instance, "mailq")
        return res if res.returncode == 0 else None
    res = helpers.wait_for(listed, 15, what="mailq allowed after reload")
    assert res.stdout == "Mail queue is empty\n"
    res = as_nobody(instance, "postqueue", "-f")
    assert res.returncode == 0, helpers.out(res)


def raw_connect(inst):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(str(showq_socket(inst)))
    return s


def read_until_eof(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def request(inst, mtype, attrs=None):
    """One request after a proper HELLO: the list of replies up to EOF."""
    c = ipcproto.connect_unix(showq_socket(inst), "showq", timeout=15)
    replies = []
    try:
        c.send(mtype, 7, attrs)
        while True:
            try:
                replies.append(c.recv())
            except (EOFError, ConnectionResetError):
                break
    finally:
        c.close()
    return replies


def test_malformed_requests(instance):
    start_with_showq(instance)
    path = showq_socket(instance)

    # Garbage instead of a HELLO: an error frame or a plain close.
    s = raw_connect(instance)
    s.sendall(b"\x00\x00\x00\x10garbage bytes here, not a frame" * 4)
    data = read_until_eof(s)
    s.close()
    assert len(data) < 4096, data  # at most an error frame, then EOF
    # A length field past every limit.
    s = raw_connect(instance)
    s.sendall(b"\xff\xff\xff\xff" + b"x" * 100)
    read_until_eof(s)
    s.close()
    # The wrong protocol in HELLO.
    with pytest.raises((ipcproto.ProtocolError, EOFError)):
        ipcproto.connect_unix(path, "qmgr", timeout=15)

    cases = [
        (SHOWQ_LIST, {}),                                   # no format
        (SHOWQ_LIST, {"format": 9}),                        # unknown format
        (SHOWQ_LIST, {"format": "text"}),                   # wrong kind
        (SHOWQ_LIST, {"format": 0, "extra": "x"}),          # unknown attribute
        (SHOWQ_FLUSH, {"site": "bad/site"}),
        (SHOWQ_FLUSH, {"queue_id": "../../etc/passwd"}),
        (SHOWQ_FLUSH, {"site": "example.net", "queue_id": "A" * 16}),
        (SHOWQ_DATA, {"text": b"x"}),                       # a reply type
        (999, {}),
    ]
    for mtype, attrs in cases:
        replies = request(instance, mtype, attrs)
        assert replies and replies[0][0] == ipcproto.ERROR, (mtype, attrs, replies)
        assert replies[0][2]["reason"], replies

    # A second request on one connection is a protocol error: IPC_ERROR.
    c = ipcproto.connect_unix(path, "showq", timeout=15)
    c.send(SHOWQ_LIST, 1, {"format": 0})
    c.send(SHOWQ_LIST, 2, {"format": 0})
    types = []
    while True:
        try:
            types.append(c.recv()[0])
        except (EOFError, ConnectionResetError):
            break
    c.close()
    assert types and types[-1] == ipcproto.ERROR, types

    # showq still serves, and said why it closed.
    replies = request(instance, SHOWQ_LIST, {"format": 0})
    assert [r[0] for r in replies] == [SHOWQ_DATA, SHOWQ_END], replies
    assert replies[0][2]["text"] == b"Mail queue is empty\n"
    assert replies[0][1] == 7
    assert helpers.check(as_nobody(instance, "mailq")).stdout == "Mail queue is empty\n"
    instance.wait_log(r"showq.*malformed LIST request")
    assert not re.search(r"showq.*(panic|fatal)", instance.maillog())


def test_permissions_for_users(instance):
    """What `tern init` leaves reachable for another user: main.cf (to
    find the queue) and public/showq, nothing of the queue itself."""
    start_with_showq(instance)
    res = subprocess.run(["cat", str(instance.main_cf)], capture_output=True,
                         user=NOBODY.pw_uid, group=NOBODY.pw_gid, extra_groups=[])
    assert res.returncode == 0, res.stderr
    st = os.stat(instance.dir / "queue/public")
    assert st.st_mode & 0o777 == 0o711
    assert os.stat(showq_socket(instance)).st_mode & 0o777 == 0o666
    for d in ("private", "deferred", "active", "incoming", "hold", "defer"):
        assert os.stat(instance.dir / "queue" / d).st_mode & 0o077 == 0, d
        res = subprocess.run(["ls", str(instance.dir / "queue" / d)], capture_output=True,
                             user=NOBODY.pw_uid, group=NOBODY.pw_gid, extra_groups=[])
        assert res.returncode != 0, d
    # Without showq nobody gets no listing and no flush, root still does.
    stop_master(instance)
    res = as_nobody(instance, "postqueue", "-f")
    assert res.returncode == 69, helpers.out(res)
    assert "mail system is down" in res.stderr
