"""
test_qmgr.py - the queue manager end to end: a real instance (master, qmgr)
with a scripted fake delivery agent on queue/private/local speaking the
deliver protocol (lib/proto.h) through ipcproto.py.  Queue files are
written here in the documented record format (docs/queue-format.md), put
in active/ the way qreceive does, and qmgr is told with QMGR_NOTIFY.

The fake agent acts per recipient as scripted: ok (mark DONE), defer
(defer log), bounce (bounce log, then DONE), crash (close the connection
without an answer), hold (wait until released).  Every message it is asked
to deliver is recorded, so the DSNs qmgr sends to a local sender are read
back and parsed with Python's email package.

Touches:  a tern instance under /tmp (helpers.Instance); its private/local
          socket; queue files it creates (chowned to the mail owner).
Security: test-only; the fake agent validates the frames it receives.
Errors:   assertion failures name the file, directory or log line awaited.
"""

import email
import email.policy
import os
import re
import signal
import socket
import threading
import time

import pytest

import helpers
import ipcproto as ipc

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_seq = [0]


def b62(n, width):
    out = ""
    for _ in range(width):
        out = B62[n % 62] + out
        n //= 62
    return out


def make_qid(t=None):
    """A queue ID in lib/qid's layout (time, usec, pid, sequence)."""
    t = time.time() if t is None else t
    _seq[0] += 1
    return (b62(int(t), 6) + b62(int((t % 1) * 1e6), 4)
            + b62(os.getpid() % (62 ** 4), 4) + b62(_seq[0] % 3844, 2))


# ---- queue files (docs/queue-format.md) -----------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def rec(t, data):
    return t.encode() + varint(len(data)) + data


def queue_file(sender, rcpts, content, arrival=None, flags=0, envid=None):
    """Bytes of a queue file; rcpts are addresses or dicts with addr,
    notify, status, orcpt ("type;value")."""
    arrival = time.time() if arrival is None else arrival
    out = rec("V", b"1") + rec("S", sender.encode())
    if envid:
        out += rec("E", envid.encode())
    for r in rcpts:
        r = {"addr": r} if isinstance(r, str) else r
        otype, _, oval = r.get("orcpt", "").partition(";")
        data = (r.get("status", "P").encode() + bytes([r.get("notify", 0)])
                + varint(len(r["addr"])) + r["addr"].encode()
                + varint(len(otype)) + otype.encode()
                + varint(len(oval)) + oval.encode())
        out += rec("R", data)
    body = content.encode() if isinstance(content, str) else content
    out += rec("T", b"%d.%06d" % (int(arrival), int((arrival % 1) * 1e6)))
    out += rec("F", b"%d" % flags) + rec("W", b"\0")
    out += rec("Z", b"%015d" % len(body)) + rec("M", b"")
    for i in range(0, len(body), 32768):
        out += rec("D", body[i:i + 32768])
    return out + rec("X", b"")


def read_varint(data, pos):
    n, shift = 0, 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, pos


def parse_queue_file(data):
    """Envelope and content of a queue file: dict with sender, flags,
    mstat, rcpts [{addr, status, notify, offset}], content."""
    pos, env = 0, {"rcpts": [], "content": b"", "sender": None}
    while pos < len(data):
        t = chr(data[pos])
        n, start = read_varint(data, pos + 1)
        d = data[start:start + n]
        pos = start + n
        if t == "S":
            env["sender"] = d.decode()
        elif t == "F":
            env["flags"] = int(d)
        elif t == "W":
            env["mstat"] = d[0]
        elif t == "R":
            alen, p = read_varint(d, 2)
            env["rcpts"].append({"status": chr(d[0]), "notify": d[1],
                                 "addr": d[p:p + alen].decode(), "offset": start})
        elif t == "D":
            env["content"] += d
        elif t == "X":
            break
    return env


def log_escape(s):
    return "".join(c if 0x20 < ord(c) < 0x7F and c != "%" else
                   "".join("%%%02X" % b for b in c.encode()) for c in s)


def log_line(off, rcpt, status, action, reason):
    return (f"tern1 time={int(time.time())} off={off} rcpt={log_escape(rcpt)} "
            f"status={status} action={action} diag={log_escape('smtp;' + reason)} "
            f"reason={log_escape(reason)}\n")


class Queue:
    """The instance's queue directory, files owned by the mail owner."""

    def __init__(self, inst):
        self.inst = inst
        self.dir = inst.dir / "queue"
        self.uid, self.gid = helpers.mail_owner_ids(inst)

    def path(self, sub, qid):
        return self.dir / sub / qid

    def own(self, path):
        os.chown(path, self.uid, self.gid)

    def put(self, data, sub="active", qid=None, notify=True):
        """Write a committed queue file (incoming/ then rename, as qreceive)."""
        qid = qid or make_qid()
        tmp = self.path("incoming", qid)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        self.own(tmp)
        os.rename(tmp, self.path(sub, qid))
        if notify and sub == "active":
            self.notify(qid)
        return qid

    def call(self, mtype, attrs):
        return ipc.call(self.dir / "private" / "qmgr", "qmgr", mtype, attrs)

    def notify(self, qid):
        mtype, _, _ = self.call(ipc.QMGR_NOTIFY, {"queue_id": qid})
        assert mtype == ipc.QMGR_NOTIFY_OK

    def flush(self, **attrs):
        mtype, _, reply = self.call(ipc.QMGR_FLUSH, attrs)
        assert mtype == ipc.QMGR_FLUSH_OK, reply
        return reply["count"]

    def where(self, qid):
        return [d for d in ("incoming", "active", "deferred", "hold", "corrupt")
                if self.path(d, qid).exists()]


# ---- the fake delivery agent ------------------------------------------------

class FakeAgent:
    """A scripted delivery agent on queue/private/NAME (see file header)."""

    def __init__(self, queue, name="local"):
        self.q = queue
        self.path = queue.dir / "private" / name
        self.script = {}        # rcpt -> list of actions, last one repeats
        self.requests = []      # (qid, nexthop, [rcpt...])
        self.delivered = []     # dicts: qid, sender, rcpt, content
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.stop = False
        if self.path.exists():
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        os.chmod(self.path, 0o666)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stop = True
        self.release.set()
        self.thread.join(5)
        self.sock.close()

    def _serve(self):
        while not self.stop:
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._conn, args=(s,), daemon=True).start()

    def _action(self, rcpt):
        with self.lock:
            acts = self.script.get(rcpt, [("ok",)])
            act = acts[0]
            if len(acts) > 1:
                self.script[rcpt] = acts[1:]
            return act

    def _conn(self, s):
        c = ipc.Conn(s, timeout=120)
        try:
            c.hello("deliver")
            while not self.stop:
                mtype, reqid, attrs = c.recv()
                assert mtype == ipc.DELIVER_REQUEST, mtype
                if not self._request(c, reqid, attrs):
                    return
        except (EOFError, OSError, ipc.ProtocolError):
            pass
        finally:
            c.close()

    def _log(self, sub, qid, line):
        path = self.q.path(sub, qid)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        self.q.own(path)

    def _request(self, c, reqid, attrs):
        qid, offs = attrs["queue_id"], attrs["offsets"]
        offsets = [int.from_bytes(offs[i:i + 8], "big") for i in range(0, len(offs), 8)]
        path = self.q.path(attrs["queue"], qid)
        env = parse_queue_file(path.read_bytes())
        by_off = {r["offset"]: r for r in env["rcpts"]}
        with self.lock:
            self.requests.append((qid, attrs["nexthop"], [by_off[o]["addr"] for o in offsets]))
        for off in offsets:
            rcpt = by_off[off]["addr"]
            act = self._action(rcpt)
            if act[0] == "hold":
                self.release.wait(60)
                act = ("ok",)
            if act[0] == "crash":
                return False
            if act[0] == "ok":
                with open(path, "r+b") as f:
                    f.seek(off)
                    f.write(b"D")
                    f.flush()
                    os.fsync(f.fileno())
                with self.lock:
                    self.delivered.append({"qid": qid, "sender": env["sender"],
                                           "rcpt": rcpt, "content": env["content"]})
                result, dsn, reason = ipc.DELIVER_OK, "2.0.0", "delivered to maildir"
            elif act[0] == "defer":
                self._log("defer", qid, log_line(off, rcpt, act[1], "delayed", act[2]))
                result, dsn, reason = ipc.DELIVER_DEFER, act[1], act[2]
            else:
                self._log("bounce", qid, log_line(off, rcpt, act[1], "failed", act[2]))
                with open(path, "r+b") as f:
                    f.seek(off)
                    f.write(b"D")
                    f.flush()
                    os.fsync(f.fileno())
                result, dsn, reason = ipc.DELIVER_BOUNCE, act[1], act[2]
            c.send(ipc.DELIVER_STATUS, reqid, {"offset": ipc.U64(off), "result": result,
                                               "dsn": dsn, "reason": reason})
        c.send(ipc.DELIVER_DONE, reqid)
        return True

    def dsns(self, to=None):
        """Messages from <> this agent delivered, parsed."""
        with self.lock:
            got = [d for d in self.delivered if d["sender"] == ""
                   and (to is None or d["rcpt"] == to)]
        return [email.message_from_bytes(d["content"], policy=email.policy.default)
                for d in got]

    def delivered_to(self, rcpt):
        with self.lock:
            return [d for d in self.delivered if d["rcpt"] == rcpt]


def status_blocks(msg):
    """The delivery-status part's blocks as lists of (name, value)."""
    for part in msg.walk():
        if part.get_content_type() in ("message/delivery-status",
                                       "message/global-delivery-status"):
            payload = part.get_payload()
            if isinstance(payload, list):  # email parses it as header blocks
                return [list(b.items()) for b in payload]
            text = payload if isinstance(payload, str) else payload.decode()
            blocks = []
            for chunk in re.split(r"\n\s*\n", text.strip()):
                blocks.append([tuple(x.strip() for x in line.split(":", 1))
                               for line in chunk.splitlines() if ":" in line])
            return blocks
    raise AssertionError("no delivery-status part")


def field(block, name):
    for k, v in block:
        if k.lower() == name.lower():
            return str(v)
    return None


# ---- fixtures -----------------------------------------------------------------

CONTENT = ("From: Alice <alice@example.test>\nTo: bob@example.test\n"
           "Subject: queue test\nMessage-ID: <t1@example.test>\n\nHello, Bob.\n")


def strip_services(inst, names):
    """Drop master.cf entries of these unix services (the fake agent stands
    in for them)."""
    lines = inst.master_cf.read_text().splitlines()
    keep = [ln for ln in lines
            if not any(re.match(rf"^#?{n}\s+unix\b", ln) for n in names)]
    inst.master_cf.write_text("\n".join(keep) + "\n")


@pytest.fixture
def qm(instance, request):
    """A started instance whose qmgr hands local mail to a FakeAgent;
    indirect parametrization passes main.cf settings."""
    for name, value in getattr(request, "param", {}).items():
        instance.set_param(name, value)
    if not (helpers.LIBEXEC / "qmgr").exists():
        pytest.fail(f"{helpers.LIBEXEC}/qmgr is not built")
    strip_services(instance, ("local", "smtp"))
    assert re.search(r"^qmgr\s+unix", instance.master_cf.read_text(), re.M), \
        "master.cf has no qmgr entry"
    q = Queue(instance)
    agent = FakeAgent(q)
    instance.start()
    helpers.wait_for(lambda: (q.dir / "private" / "qmgr").exists(), 15,
                     what="private/qmgr socket")
    instance.wait_log(r"tern/qmgr\[\d+\]: started", 15)
    yield instance, q, agent
    agent.close()


def wait_removed(inst, qid, timeout=20):
    inst.wait_log(rf"tern/qmgr\[\d+\]: {qid}: removed", timeout)


# ---- tests ----------------------------------------------------------------------

def test_delivered_message_is_removed(qm):
    inst, q, agent = qm
    qid = q.put(queue_file("alice@example.test", ["bob@example.test"], CONTENT))
    wait_removed(inst, qid)
    assert q.where(qid) == []
    assert len(agent.delivered_to("bob@example.test")) == 1
    assert agent.requests[0][1] == "example.test"  # nexthop
    inst.wait_log(rf"{qid}: from=<alice@example.test>, size={len(CONTENT)}, nrcpt=1 "
                  r"\(queue active\)")
    assert not q.path("defer", qid).exists() and not q.path("bounce", qid).exists()


def test_defer_flush_deliver(qm):
    inst, q, agent = qm
    agent.script["bob@example.test"] = [("defer", "4.2.2", "mailbox busy"), ("ok",)]
    before = time.time()
    qid = q.put(queue_file("alice@example.test", ["bob@example.test"], CONTENT))
    helpers.wait_for(lambda: q.where(qid) == ["deferred"], 20, what="file in deferred/")
    st = q.path("deferred", qid).stat()
    # next retry: minimal_backoff_time (300 s) from now
    assert st.st_mtime >= before + 299, st.st_mtime - before
    assert "mailbox%20busy" in q.path("defer", qid).read_text()
    assert q.flush(queue_id=qid) == 1
    wait_removed(inst, qid)
    assert len(agent.delivered_to("bob@example.test")) == 1
    assert not q.path("defer", qid).exists()
    assert agent.dsns() == []


def test_flush_all_and_site(qm):
    inst, q, agent = qm
    agent.script["bob@example.test"] = [("defer", "4.2.2", "busy"), ("defer", "4.2.2", "busy"),
                                        ("ok",)]
    qid = q.put(queue_file("alice@example.test", ["bob@example.test"], CONTENT))
    helpers.wait_for(lambda: q.where(qid) == ["deferred"], 20, what="file in deferred/")
    assert q.flush(site="nowhere.example") == 0
    assert q.where(qid) == ["deferred"]
    assert q.flush(site="EXAMPLE.test") == 1
    helpers.wait_for(lambda: len(agent.requests) >= 2 and q.where(qid) == ["deferred"], 20,
                     what="second deferral")
    assert q.flush() == 1
    wait_removed(inst, qid)


def test_bounce_sends_dsn_with_original(qm):
    inst, q, agent = qm
    agent.script["carol@example.test"] = [("bounce", "5.1.1", "unknown user carol")]
    qid = q.put(queue_file("alice@example.test",
                           ["bob@example.test",
                            {"addr": "carol@example.test", "orcpt": "rfc822;Carol@Example.TEST"}],
                           CONTENT, envid="ENV-7"))
    wait_removed(inst, qid)
    m = inst.wait_log(rf"{qid}: sender non-delivery notification: (\w+)")
    dsn_qid = m.group(1)
    wait_removed(inst, dsn_qid)
    dsns = agent.dsns("alice@example.test")
    assert len(dsns) == 1
    d = dsns[0]
    assert d["Subject"] == "Undelivered Mail Returned to Sender"
    assert d["From"].addresses[0].addr_spec == "MAILER-DAEMON@mx.example.test"
    assert d.get_content_type() == "multipart/report"
    assert d.get_param("report-type") == "delivery-status"
    blocks = status_blocks(d)
    assert field(blocks[0], "Reporting-MTA") == "dns; mx.example.test"
    assert field(blocks[0], "Original-Envelope-Id") == "ENV-7"
    assert len(blocks) == 2  # carol only: bob was delivered
    assert field(blocks[1], "Final-Recipient") == "rfc822; carol@example.test"
    assert field(blocks[1], "Original-Recipient") == "rfc822; Carol@Example.TEST"
    assert field(blocks[1], "Action") == "failed"
    assert field(blocks[1], "Status") == "5.1.1"
    assert "unknown user carol" in field(blocks[1], "Diagnostic-Code")
    parts = [p.get_content_type() for p in d.iter_parts()]
    assert parts == ["text/plain", "message/delivery-status", "message/rfc822"]
    returned = list(d.iter_parts())[2].get_payload()[0]
    assert returned["Subject"] == "queue test"
    assert "Hello, Bob." in returned.get_content()
    assert not q.path("bounce", qid).exists()


def test_ret_hdrs_notify_never_and_null_sender(qm):
    inst, q, agent = qm
    for r in ("dan@example.test", "erin@example.test", "fay@example.test"):
        agent.script[r] = [("bounce", "5.1.1", "no such user")]
    # RET=HDRS: only the header comes back
    q1 = q.put(queue_file("alice@example.test", ["dan@example.test"], CONTENT, flags=16))
    # NOTIFY=NEVER: no report at all
    q2 = q.put(queue_file("alice@example.test",
                          [{"addr": "erin@example.test", "notify": 1}], CONTENT))
    # the null sender never gets one
    q3 = q.put(queue_file("", ["fay@example.test"], CONTENT))
    for qid in (q1, q2, q3):
        wait_removed(inst, qid)
    m = inst.wait_log(rf"{q1}: sender non-delivery notification: (\w+)")
    wait_removed(inst, m.group(1))
    dsns = agent.dsns()
    assert len(dsns) == 1
    parts = list(dsns[0].iter_parts())
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert "Subject: queue test" in parts[2].get_content()
    assert "Hello, Bob." not in dsns[0].as_string()
    log = inst.maillog()
    assert f"{q2}: sender non-delivery" not in log
    assert f"{q3}: sender non-delivery" not in log
    assert re.search(rf"{q3}: undeliverable mail from the null sender", log)


def test_success_notification(qm):
    inst, q, agent = qm
    qid = q.put(queue_file("alice@example.test",
                           [{"addr": "bob@example.test", "notify": 2}], CONTENT))
    wait_removed(inst, qid)
    m = inst.wait_log(rf"{qid}: sender delivery status notification: (\w+)")
    wait_removed(inst, m.group(1))
    d = agent.dsns("alice@example.test")[0]
    assert d["Subject"] == "Successful Mail Delivery Report"
    blocks = status_blocks(d)
    assert field(blocks[1], "Action") == "delivered"
    assert field(blocks[1], "Status") == "2.0.0"


@pytest.mark.parametrize("qm", [{"maximal_queue_lifetime": "1h"}], indirect=True)
def test_expired_message_is_returned(qm):
    inst, q, agent = qm
    agent.script["bob@example.test"] = [("defer", "4.4.1", "connection timed out")]
    qid = q.put(queue_file("alice@example.test", ["bob@example.test"], CONTENT,
                           arrival=time.time() - 7200))
    wait_removed(inst, qid)
    inst.wait_log(rf"{qid}: from=<alice@example.test>, status=expired, returned to sender")
    m = inst.wait_log(rf"{qid}: sender non-delivery notification: (\w+)")
    wait_removed(inst, m.group(1))
    d = agent.dsns("alice@example.test")[0]
    blocks = status_blocks(d)
    assert field(blocks[1], "Status") == "5.4.7"
    assert field(blocks[1], "Action") == "failed"
    assert "connection timed out" in d.as_string()


@pytest.mark.parametrize("qm", [{"delay_warning_time": "1h"}], indirect=True)
def test_delay_warning_sent_once(qm):
    inst, q, agent = qm
    agent.script["bob@example.test"] = [("defer", "4.4.1", "host unreachable")]
    qid = q.put(queue_file("alice@example.test", ["bob@example.test"], CONTENT,
                           arrival=time.time() - 7200))
    helpers.wait_for(lambda: q.where(qid) == ["deferred"], 20, what="file in deferred/")
    m = inst.wait_log(rf"{qid}: sender delay notification: (\w+)")
    wait_removed(inst, m.group(1))
    assert parse_queue_file(q.path("deferred", qid).read_bytes())["mstat"] & 1
    n_req = len(agent.requests)
    assert q.flush(queue_id=qid) == 1
    helpers.wait_for(lambda: len(agent.requests) > n_req and q.where(qid) == ["deferred"],
                     20, what="second deferral")
    time.sleep(0.5)
    assert len(re.findall(rf"{qid}: sender delay notification", inst.maillog())) == 1
    dsns = agent.dsns("alice@example.test")
    assert len(dsns) == 1
    assert dsns[0]["Subject"] == "Delayed Mail (still being retried)"
    blocks = status_blocks(dsns[0])
    assert field(blocks[1], "Action") == "delayed"
    assert field(blocks[1], "Will-Retry-Until") is not None


def test_agent_crash_defers(qm):
    inst, q, agent = qm
    agent.script["bob@example.test"] = [("crash",), ("ok",)]
    qid = q.put(queue_file("alice@example.test", ["bob@example.test"], CONTENT))
    helpers.wait_for(lambda: q.where(qid) == ["deferred"], 20, what="file in deferred/")
    assert "delivery%20agent%20crashed" in q.path("defer", qid).read_text()
    assert q.flush(queue_id=qid) == 1
    wait_removed(inst, qid)


def test_transport_unavailable_defers(qm):
    inst, q, agent = qm
    qid = q.put(queue_file("alice@example.test", ["dave@remote.example"], CONTENT))
    helpers.wait_for(lambda: q.where(qid) == ["deferred"], 20, what="file in deferred/")
    assert "mail%20transport%20unavailable" in q.path("defer", qid).read_text()
    inst.wait_log(rf"{qid}: to=<dave@remote.example>, relay=none, .*status=deferred "
                  r"\(mail transport unavailable\)")


def test_corrupt_file_is_kept_aside(qm):
    inst, q, agent = qm
    qid = q.put(b"V\x011Sgarbage")  # incomplete: no END record
    helpers.wait_for(lambda: q.where(qid) == ["corrupt"], 20, what="file in corrupt/")
    inst.wait_log(rf"warning: {qid}: .*moved to the corrupt queue")


def test_vanished_file_is_tolerated(qm):
    inst, q, agent = qm
    agent.script["bob@example.test"] = [("hold",)]
    qid = q.put(queue_file("alice@example.test", ["bob@example.test"], CONTENT))
    helpers.wait_for(lambda: agent.requests, 20, what="delivery request")
    os.rename(q.path("active", qid), q.path("hold", qid))  # postsuper -h
    agent.release.set()
    inst.wait_log(rf"{qid}: no longer in the active queue")
    assert q.where(qid) == ["hold"]
    # qmgr still works afterwards
    q2 = q.put(queue_file("alice@example.test", ["bob@example.test"], CONTENT))
    wait_removed(inst, q2)


def test_restart_recovery(qm):
    inst, q, agent = qm
    helpers.check(inst.stop(), "tern stop")
    # a half-done message: bob delivered, carol pending
    qid = q.put(queue_file("alice@example.test",
                           [{"addr": "bob@example.test", "status": "D"}, "carol@example.test"],
                           CONTENT), notify=False)
    # a stale incoming file (never committed) and an orphan defer log
    stale = make_qid()
    q.path("incoming", stale).write_bytes(b"V\x011")
    old = time.time() - 7200
    os.utime(q.path("incoming", stale), (old, old))
    orphan = make_qid()
    q.path("defer", orphan).write_text(log_line(1, "x@example.test", "4.0.0", "delayed", "x"))
    # a deferred message that is due
    due = q.put(queue_file("alice@example.test", ["gus@example.test"], CONTENT),
                sub="deferred", notify=False)
    os.utime(q.path("deferred", due), (old, old))
    inst.start()
    wait_removed(inst, qid)
    wait_removed(inst, due)
    assert agent.delivered_to("bob@example.test") == []
    assert len(agent.delivered_to("carol@example.test")) == 1
    assert not q.path("incoming", stale).exists()
    assert not q.path("defer", orphan).exists()


def test_kill9_qmgr_mid_delivery(qm):
    inst, q, agent = qm
    agent.script["bob@example.test"] = [("hold",), ("ok",)]
    qid = q.put(queue_file("alice@example.test", ["bob@example.test"], CONTENT))
    helpers.wait_for(lambda: agent.requests, 20, what="delivery request")
    pids = [p for p, argv in inst.processes() if argv and argv[0].endswith("/qmgr")]
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    agent.release.set()  # the agent finishes its request: DONE on disk
    # master restarts qmgr; its start-up scan finds the file in active/
    wait_removed(inst, qid, timeout=90)
    assert len(agent.delivered_to("bob@example.test")) >= 1


def test_notify_rejects_bad_queue_id(qm):
    inst, q, agent = qm
    with pytest.raises((EOFError, ipc.ProtocolError, OSError, AssertionError)):
        mtype, _, attrs = q.call(ipc.QMGR_NOTIFY, {"queue_id": "../../etc/passwd"})
        assert mtype == ipc.QMGR_NOTIFY_OK
    inst.wait_log(r"malformed NOTIFY")
    qid = q.put(queue_file("alice@example.test", ["bob@example.test"], CONTENT))
    wait_removed(inst, qid)
