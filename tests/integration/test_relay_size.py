"""
test_relay_size.py - a message near message_size_limit relayed by the smtp
agent arrives byte-exact while the agent's memory stays small: the content
is streamed from the queue file in chunks (CRLF and dot-stuffing on the
fly), never held whole.  The agent's peak resident size (VmHWM in
/proc/PID/status) after the big message is compared with its peak after a
small one, in the same process.

Touches:  an instance directory under /tmp, 127.0.0.2, /proc/PID/status of
          the instance's smtp process.
"""

import hashlib
import os
import re

import pytest

from helpers import wait_for
from test_relay import BODY, relay, start, strip_received  # noqa: F401 - fixture

LIMIT = 10240000          # message_size_limit's default
GROWTH_MAX = 6 * 1024 * 1024


@pytest.fixture(autouse=True)
def _small_asan_quarantine(monkeypatch):
    """Under AddressSanitizer freed memory sits in a quarantine (256 MB by
    default) and would count as resident; keep it small so VmHWM measures
    what the agent holds."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", (opts + ":" if opts else "") + "quarantine_size_mb=1")


def big_message(size):
    head = (b"From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: big\r\n"
            b"Message-ID: <big@example.test>\r\n\r\n")
    lines, n, i = [head], len(head), 0
    while n < size:
        line = (b"." if i % 7 == 0 else b"") + b"%08d " % i + b"x" * 66 + b"\r\n"
        lines.append(line)
        n += len(line)
        i += 1
    return b"".join(lines)


def smtp_pid(inst, qid_line):
    m = re.search(r"tern/smtp\[(\d+)\]: \w+: to=<" + re.escape(qid_line) + ">", inst.maillog())
    return int(m.group(1)) if m else None


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_big_message_streams_with_small_memory(relay):
    relay.remote("remote.test")
    sink = relay.sink("127.0.0.2", pipelining=True)
    start(relay)
    relay.send(["small@remote.test"], BODY)
    sink.wait(1)
    pid = wait_for(lambda: smtp_pid(relay.inst, "small@remote.test"), 20, what="smtp log line")
    before = vm_hwm_kib(pid)

    body = big_message(LIMIT - 300 * 1024)
    relay.send(["big@remote.test"], body)
    got = sink.wait(2, timeout=120)[1]
    sent = body.replace(b"\r\n", b"\n")
    assert hashlib.sha256(strip_received(got.data)).hexdigest() == \
        hashlib.sha256(sent).hexdigest(), "content changed on the way"
    big_pid = wait_for(lambda: smtp_pid(relay.inst, "big@remote.test"), 20,
                       what="smtp log line")
    assert big_pid == pid, "the big message went through another smtp process"
    growth = (vm_hwm_kib(pid) - before) * 1024
    assert growth < GROWTH_MAX, \
        f"smtp grew by {growth} bytes for a {len(body)}-byte message"
