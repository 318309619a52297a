"""
helpers.py - the integration harness: where the binaries are, free port
bases, an Instance (one `tern init` directory) with helpers to edit its
main.cf/master.cf, start and stop it, read its maillog and inspect its
processes through /proc, plus small clients (line protocol over TCP).

Touches:  a temporary instance directory it creates, 127.0.0.1 ports, and
          only the processes this harness started (master and its children,
          found by walking /proc from master's pid).
Security: runs the tern commands with fixed argv lists (no shell); kills only
          pids it recorded itself and re-checks /proc/PID/cmdline first.
Errors:   helpers raise AssertionError with a message naming what was waited
          for or which command failed, so a pytest failure says why.
"""

import os
import pwd
import random
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("TERN_BUILD") or (REPO / "build" / "asan")).resolve()
SBIN = BUILD / "sbin"
LIBEXEC = BUILD / "libexec" / "tern"
ECHOD = BUILD / "tests" / "echod"

# Offsets from the port base that `tern init --port-base N` gives services
# (DESIGN.md "The outside contract") and those the tests use for echod.
STD_OFFSETS = (25, 587, 465, 110, 143, 995, 993)
ECHO_OFFSETS = (7, 8, 9, 11, 12)

# Mon DD HH:MM:SS host tern/NAME[pid]: text
LOG_RE = re.compile(
    r"^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-3]\d "
    r"\d\d:\d\d:\d\d (?P<host>\S+) tern/(?:[\w.-]+/)*(?P<name>[\w.-]+)\[(?P<pid>\d+)\]: "
    r"(?P<text>.*)$")

# greeting of tests/daemons/echod.c: "220 echod PID UID"
ECHO_GREETING_RE = re.compile(r"^220 echod (\d+) (\d+)\r\n$")


def sbin(name):
    """Path of an admin command in BUILD/sbin; fails the test if unbuilt."""
    path = SBIN / name
    assert path.exists(), f"{path} is not built (TERN_BUILD={BUILD})"
    return path


def require_echod():
    assert ECHOD.exists(), f"{ECHOD} is not built (make BUILD=... {ECHOD})"
    return ECHOD


def run(argv, input=None, timeout=60, env=None):
    """Run argv (no shell) and return CompletedProcess with text output."""
    argv = [str(a) for a in argv]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(argv, input=input, capture_output=True, text=True,
                          timeout=timeout, env=full_env, stdin=None
                          if input is not None else subprocess.DEVNULL)


def out(res):
    """stdout and stderr of a CompletedProcess, for messages and asserts."""
    return (res.stdout or "") + (res.stderr or "")


def check(res, what=""):
    """Assert exit 0; the message shows the command and its output."""
    assert res.returncode == 0, \
        f"{what or res.args} exited {res.returncode}:\n{out(res)}"
    return res


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Poll predicate until it returns something true; return that value.
    Exceptions from predicate count as "not yet"; the last one is shown."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, ValueError, AssertionError) as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}"
                + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


def port_free(port, host="127.0.0.1", udp=False):
    """True if nothing listens on host:port (wildcard listeners included:
    binding the wildcard address fails when any address has the port).
    With udp, the UDP port must be free too."""
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if udp \
        else (socket.SOCK_STREAM,)
    for kind in kinds:
        for addr in (host, "0.0.0.0"):
            s = socket.socket(socket.AF_INET, kind)
            try:
                if kind == socket.SOCK_STREAM:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((addr, port))
            except OSError:
                return False
            finally:
                s.close()
    return True


def _ephemeral_range():
    """The kernel's ephemeral port range (outgoing connections take their
    local port from it, so a port picked there can be taken at any time)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def _port_window(span):
    """(first, last) base candidates for ports base..base+span, outside the
    ephemeral range: below it when there is room, else above it."""
    lo, hi = _ephemeral_range()
    if lo - span - 1 > 12000:
        return 10000, lo - span - 1
    return hi + 1, 65535 - span


# Ports this test process has handed out: two instances (or an instance and
# a peer) made in one test must never be given overlapping ports, even
# before the first of them binds.
_RESERVED = set()


def find_port_base(offsets=STD_OFFSETS + ECHO_OFFSETS, tries=400):
    """A random base (multiple of 10) whose base+offset ports are all free,
    outside the ephemeral range and not handed out before in this run."""
    rng = random.SystemRandom()
    first, last = _port_window(max(offsets))
    for _ in range(tries):
        base = rng.randrange(first - first % 10 + 10, last, 10)
        ports = [base + off for off in offsets]
        if any(p in _RESERVED for p in ports):
            continue
        if all(port_free(p) for p in ports):
            _RESERVED.update(ports)
            return base
    raise AssertionError(f"no free port base found in {first}..{last}")


def free_port(hosts=("127.0.0.1",), tries=400, udp=False):
    """One TCP (and with udp, UDP) port free on every address in hosts,
    outside the ephemeral range and not handed out before in this run."""
    rng = random.SystemRandom()
    first, last = _port_window(0)
    for _ in range(tries):
        port = rng.randrange(first, last)
        if port in _RESERVED:
            continue
        if all(port_free(port, h, udp) for h in hosts):
            _RESERVED.add(port)
            return port
    raise AssertionError("no free port on " + ", ".join(hosts))


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return False
    state = stat[stat.rindex(")") + 2:].split()[0]
    return state not in ("Z", "X")


def proc_ppid(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read().decode("ascii", "replace")
    return int(stat[stat.rindex(")") + 2:].split()[1])


def proc_cmdline(pid):
    """argv of pid as a list ([] if it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]


def proc_status(pid):
    """/proc/PID/status as a dict of name -> list of fields."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            fields[name] = value.split()
    return fields


def children_of(pid):
    """Live direct children of pid."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if proc_ppid(int(entry)) == pid and pid_alive(int(entry)):
                kids.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(kids)


def descendants_of(pid):
    """Every live descendant of pid (bounded walk)."""
    found, pending = [], [pid]
    while pending and len(found) < 10000:
        for kid in children_of(pending.pop()):
            if kid not in found:
                found.append(kid)
                pending.append(kid)
    return sorted(found)


class LineClient:
    """A TCP line client for text protocols on 127.0.0.1 (echod, later SMTP)."""

    def __init__(self, port, timeout=10.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.rbuf = b""

    def readline(self, timeout=None):
        """One CRLF- or LF-terminated line as str; "" on EOF."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        while b"\n" not in self.rbuf:
            data = self.sock.recv(4096)
            if not data:
                line, self.rbuf = self.rbuf, b""
                return line.decode("utf-8", "replace")
            self.rbuf += data
        line, _, self.rbuf = self.rbuf.partition(b"\n")
        return (line + b"\n").decode("utf-8", "replace")

    def send(self, text):
        self.sock.sendall(text.encode("utf-8"))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class EchoClient(LineClient):
    """A session with tests/daemons/echod: reads the greeting on connect."""

    def __init__(self, port, timeout=10.0):
        super().__init__(port, timeout)
        self.greeting = self.readline()
        m = ECHO_GREETING_RE.match(self.greeting)
        assert m, f"bad echod greeting {self.greeting!r} on port {port}"
        self.pid, self.uid = int(m.group(1)), int(m.group(2))

    def echo(self, text):
        self.send(text + "\r\n")
        return self.readline()


def try_echo(port):
    """An EchoClient on port if one connects and greets now, else None."""
    try:
        return EchoClient(port, timeout=2.0)
    except (OSError, AssertionError):
        return None


def echo_ready(port):
    """True once echod on port greets (the probe session is closed)."""
    c = try_echo(port)
    if c is None:
        return False
    c.close()
    return True


class Instance:
    """One tern instance directory made by `tern init`, on a free port base."""

    def __init__(self, path, port_base, hostname="mx.example.test",
                 domain="example.test"):
        self.dir = Path(path)
        self.port_base = port_base
        self.hostname = hostname
        self.domain = domain
        self.started_pids = set()   # masters this harness started
        self.seen_children = set()  # their children, as last observed

    # --- commands -------------------------------------------------------
    def tern(self, *args, input=None, timeout=60):
        res = run([sbin("tern"), "-c", self.dir, *args], input=input,
                  timeout=timeout)
        if args[:1] == ("start",):
            self.note_master()
        return res

    def cmd(self, name, *args, input=None, timeout=60):
        """An admin command (postconf, postmap...) with -c DIR first."""
        return run([sbin(name), "-c", self.dir, *args], input=input,
                   timeout=timeout)

    def init(self, *extra):
        return run([sbin("tern"), "init", self.dir, "--port-base",
                    self.port_base, "--hostname", self.hostname,
                    "--domain", self.domain, *extra])

    # --- files ----------------------------------------------------------
    @property
    def main_cf(self):
        return self.dir / "main.cf"

    @property
    def master_cf(self):
        return self.dir / "master.cf"

    @property
    def pid_file(self):
        return self.dir / "run" / "master.pid"

    @property
    def maillog_path(self):
        return self.dir / "log" / "maillog"

    def port(self, offset):
        return self.port_base + offset

    def set_param(self, name, value):
        """Set name = value in main.cf by text edit (no postconf needed):
        replaces an existing entry with its continuation lines, or appends."""
        lines = self.main_cf.read_text().splitlines()
        result, replaced, skipping = [], False, False
        pat = re.compile(rf"^{re.escape(name)}\s*=")
        for line in lines:
            if skipping and line[:1] in (" ", "\t") and line.strip():
                continue
            skipping = False
            if pat.match(line):
                if not replaced:
                    result.append(f"{name} = {value}")
                    replaced = True
                skipping = True
                continue
            result.append(line)
        if not replaced:
            result.append(f"{name} = {value}")
        self.main_cf.write_text("\n".join(result) + "\n")

    def append_main_cf(self, text):
        with open(self.main_cf, "a") as f:
            f.write(text if text.endswith("\n") else text + "\n")

    def append_master_cf(self, text):
        with open(self.master_cf, "a") as f:
            f.write(text if text.endswith("\n") else text + "\n")

    def master_cf_line_count(self):
        return len(self.master_cf.read_text().splitlines())

    def add_echod(self, offset=7, maxproc="-", args=()):
        """Append `PORT inet n - n - MAXPROC /abs/echod ARGS`; return port."""
        port = self.port(offset)
        line = " ".join([str(port), "inet", "n", "-", "n", "-", str(maxproc),
                         str(require_echod()), *map(str, args)])
        self.append_master_cf(line)
        return port

    # --- lifecycle --------------------------------------------------------
    def read_pid(self):
        """The pid in run/master.pid, or None."""
        try:
            text = self.pid_file.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def master_pid(self):
        pid = self.read_pid()
        assert pid is not None, f"no pid in {self.pid_file}"
        return pid

    def is_our_master(self, pid):
        """True if pid is alive and runs BUILD's master on this instance."""
        argv = proc_cmdline(pid)
        return (pid_alive(pid) and argv[:1] == [str(LIBEXEC / "master")]
                and str(self.dir) in argv)

    def note_master(self):
        """Record the pid-file master (however it was started) for cleanup."""
        pid = self.read_pid()
        if pid and self.is_our_master(pid):
            self.started_pids.add(pid)
        return pid

    def start(self, check_ok=True):
        res = self.tern("start")
        pid = self.note_master()
        if check_ok:
            check(res, "tern start")
            assert pid and pid_alive(pid), \
                f"tern start succeeded but {self.pid_file} names no live pid"
            self.note_children()
        return res

    def stop(self):
        self.note_children()
        return self.tern("stop", timeout=60)

    def note_children(self):
        for pid in self.started_pids:
            if self.is_our_master(pid):
                self.seen_children.update(descendants_of(pid))

    def processes(self):
        """Live children of the master (pid, argv)."""
        return [(p, proc_cmdline(p)) for p in descendants_of(self.master_pid())]

    def service_pids(self, port):
        """Live children whose argv names this service (-n PORT)."""
        result = []
        for pid, argv in self.processes():
            for i, a in enumerate(argv[:-1]):
                if a == "-n" and argv[i + 1] == str(port):
                    result.append(pid)
        return result

    def cleanup(self):
        """Stop what this harness started: tern stop, then SIGKILL leftovers
        (only recorded pids still running one of our programs)."""
        self.note_master()
        alive = [p for p in self.started_pids if self.is_our_master(p)]
        if alive:
            try:
                self.stop()
            except (subprocess.TimeoutExpired, AssertionError, OSError):
                pass
        self.note_children()
        ours = (str(BUILD), str(ECHOD))
        for pid in sorted(self.started_pids | self.seen_children):
            if pid_alive(pid) and any(
                    a.startswith(ours) for a in proc_cmdline(pid)[:1]):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    # --- log --------------------------------------------------------------
    def maillog(self):
        try:
            return self.maillog_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_lines(self, name=None):
        """Parsed maillog lines (LOG_RE matches) for program tern/NAME."""
        result = []
        for line in self.maillog().splitlines():
            m = LOG_RE.match(line)
            if m and (name is None or m.group("name") == name):
                result.append(m)
        return result

    def wait_log(self, pattern, timeout=10.0, after=0):
        """Wait for a maillog line (from byte offset after) matching the
        regex pattern; return the re.Match."""
        rx = re.compile(pattern)

        def find():
            for line in self.maillog()[after:].splitlines():
                m = rx.search(line)
                if m:
                    return m
            return None
        return wait_for(find, timeout, what=f"maillog line /{pattern}/")

    def log_size(self):
        return len(self.maillog())


def _owner_ids(instance, param, default):
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    owner = default
    for line in instance.main_cf.read_text().splitlines():
        m = re.match(rf"^{param}\s*=\s*(\S+)\s*$", line)
        if m:
            owner = m.group(1)
    if owner == "$mail_owner":
        return mail_owner_ids(instance)
    pw = pwd.getpwnam(owner)
    return pw.pw_uid, pw.pw_gid


def mail_owner_ids(instance):
    """(uid, gid) daemons should run as: mail_owner of main.cf (default
    "tern") when root, else the invoking user."""
    return _owner_ids(instance, "mail_owner", "tern")


def auth_owner_ids(instance):
    """(uid, gid) the auth service runs as and owns the password table
    with: auth_owner of main.cf (tern init as root writes "tern-auth";
    default $mail_owner) when root, else the invoking user."""
    return _owner_ids(instance, "auth_owner", "$mail_owner")
