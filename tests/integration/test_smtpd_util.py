"""
test_smtpd_util.py - helpers (no tests here) for the smtpd integration tests: a raw SMTP client
that reads whole (multi-line) replies, a reader of queue files written
independently of lib/qfile (docs/queue-format.md), and an instance factory
with qmgr and local left out so accepted mail stays in queue/active/.

Touches:  the instance directories the tests create; 127.0.0.1/127.0.0.2.
Security: test-only; never signals a process itself (Instance.cleanup does).
Errors:   assertion messages name the reply or file that was wrong.
"""

import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

import helpers


class Raw:
    """An SMTP client on a plain socket: send bytes, read whole replies."""

    def __init__(self, port, source=None, timeout=10.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                rest, self.buf = self.buf, b""
                return rest.decode("utf-8", "replace")
            self.buf += chunk
        ln, _, self.buf = self.buf.partition(b"\r\n")
        return ln.decode("utf-8", "replace")

    def reply(self):
        """One reply: the lines joined by newlines ("" at EOF)."""
        lines = []
        while True:
            ln = self.line()
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return "\n".join(lines)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5.0):
        """True when the server has closed the connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(4096)
                if not data:
                    return True
                self.buf += data
        except OSError:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def greet(port, source=None, ehlo="client.example"):
    c = Raw(port, source)
    assert c.reply().startswith("220 "), "no 220 greeting"
    r = c.cmd(f"EHLO {ehlo}")
    assert r.startswith("250"), r
    return c


def varint(data, i):
    v, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def read_qfile(path):
    """The envelope fields and content of a queue file (dict)."""
    data = Path(path).read_bytes()
    i, recs = 0, []
    while i < len(data):
        t = chr(data[i])
        n, i = varint(data, i + 1)
        recs.append((t, data[i:i + n]))
        i += n
    env = {"rcpts": [], "content": b"", "types": [t for t, _ in recs]}
    for t, d in recs:
        if t == "D":
            env["content"] += d
        elif t == "R":
            status, notify = chr(d[0]), d[1]
            j, parts = 2, []
            for _ in range(3):
                n, j = varint(d, j)
                parts.append(d[j:j + n].decode())
                j += n
            env["rcpts"].append({"status": status, "notify": notify,
                                 "addr": parts[0], "orcpt_type": parts[1],
                                 "orcpt": parts[2]})
        elif t not in ("M", "X"):
            env[t] = d.decode("utf-8", "replace")
    assert env["types"][-1] == "X", f"{path}: no END record"
    return env


def queued_id(reply):
    m = re.search(r"queued as (\w+)", reply)
    assert m, f"not queued: {reply!r}"
    return m.group(1)


def queue_file(inst, qid, timeout=5.0):
    """The parsed queue file of qid in active/ (or deferred/)."""
    def find():
        for sub in ("active", "deferred", "hold"):
            p = inst.dir / "queue" / sub / qid
            if p.exists():
                return p
        return None
    path = helpers.wait_for(find, timeout, what=f"queue file {qid}")
    return read_qfile(path)


def queue_ids(inst):
    ids = []
    for sub in ("active", "deferred", "hold", "incoming"):
        d = inst.dir / "queue" / sub
        if d.exists():
            ids += [p.name for p in d.iterdir()]
    return sorted(ids)


def body_of(env):
    """Content without our Received: header (its first three or two lines)."""
    content = env["content"]
    assert content.startswith(b"Received: from "), content[:80]
    head, sep, rest = content.partition(b"\n\tby ")
    line2, _, rest = rest.partition(b"\n")
    if not line2.endswith(b";") and rest.startswith(b"\tfor <"):
        _, _, rest = rest.partition(b"\n")
    elif line2.endswith(b";"):
        _, _, rest = rest.partition(b"\n")
    return rest


class Made:
    """An instance made by new_instance() (for module-scoped fixtures)."""

    def __init__(self, params=(), users=(), aliases=None, deliver=False):
        self.root = Path(tempfile.mkdtemp(prefix="tern-smtpd-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        self.inst = helpers.Instance(self.root / "inst", helpers.find_port_base())
        helpers.check(self.inst.init(), "tern init")
        self.inst.set_param("inet_interfaces", "127.0.0.1")
        for name, value in params:
            self.inst.set_param(name, value)
        if not deliver:
            # keep accepted mail in queue/active/ where the tests read it
            text = self.inst.master_cf.read_text()
            text = re.sub(r"(?m)^(qmgr|local|smtp|pickup)(\s)", r"#\1\2", text)
            self.inst.master_cf.write_text(text)
        for user in users:
            helpers.check(self.inst.tern("user", "add", user, "secret-pw"), "user add")
        if aliases is not None:
            (self.inst.dir / "aliases").write_text(aliases)
            helpers.check(self.inst.cmd("newaliases"), "newaliases")
        self.inst.start()
        self.port = self.inst.port(25)
        helpers.wait_for(self.ready, 15, what="smtpd greeting")
        self.failed = False

    def ready(self):
        try:
            with Raw(self.port, timeout=2) as c:
                ok = c.reply().startswith("220")
                c.cmd("QUIT")
                return ok
        except OSError:
            return False

    def log(self):
        return self.inst.maillog() or ""

    def wait_log(self, pattern, timeout=5.0):
        rx = re.compile(pattern)
        return helpers.wait_for(lambda: rx.search(self.log()), timeout,
                                what=f"log line {pattern!r}")

    def close(self):
        self.inst.cleanup()
        if self.failed:
            print(f"\n[itest] kept {self.root}\n{self.log()}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def settle():
    time.sleep(0.2)
