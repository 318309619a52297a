"""
test_qmgr_rate.py - qmgr's per-destination rate delay, per-transport
limits and dead-destination suspension, end to end: mail relayed through
smtpd -> qmgr -> smtp to sinks found through a DNS peer (the set-up of
test_relay.py: peers/dns.py, peers/sink.py, 127.0.0.x loopback hosts).

Covers: TRANSPORT_destination_rate_delay on a master.cf clone of smtp
(a name with '-') spacing deliveries to one destination while smtp mail
to another flows at once; a destination whose only MX accepts and closes
every connection is tried once, marked dead, and the other messages for it
are deferred "delivery temporarily suspended" without a connection, while
a healthy destination gets its mail; a recipient-level 450 does not
suspend the destination; postconf shows the per-transport names.

Touches:  instance directories under /tmp (see conftest.py), 127.0.0.1-4.
"""

import re
import smtplib
import socket
import threading
import time

import pytest

import helpers
from helpers import check, wait_for
from peers.dns import DNSPeer
from peers.sink import Sink

SENDER = "alice@example.test"
HOSTS = [f"127.0.0.{i}" for i in range(2, 5)]


def body(n, to):
    return (f"From: Alice <{SENDER}>\r\nTo: {to}\r\nSubject: rate {n}\r\n"
            f"Message-ID: <rate{n}.{time.monotonic_ns()}@example.test>\r\n\r\n"
            f"message {n}\r\n").encode()


class Net:
    """A DNS peer, the smtp port shared by the sinks, and helpers."""

    def __init__(self, inst):
        self.inst = inst
        self.dns = DNSPeer()
        self.port = helpers.free_port(HOSTS)
        self.closers = []
        self.sinks = []

    def remote(self, domain, host):
        self.dns.mx(domain, (10, f"mx1.{domain}"))
        self.dns.a(f"mx1.{domain}", host)

    def sink(self, host, **kw):
        s = Sink(host, self.port, **kw)
        self.sinks.append(s)
        return s

    def closer(self, host):
        c = Closer(host, self.port)
        self.closers.append(c)
        return c

    def send_each(self, rcpt_msgs):
        """One SMTP session, one message per (rcpt, body)."""
        with smtplib.SMTP("127.0.0.1", self.inst.port(25), timeout=30) as s:
            for rcpt, data in rcpt_msgs:
                assert s.sendmail(SENDER, [rcpt], data) == {}

    def close(self):
        for s in self.sinks:
            s.stop()
        for c in self.closers:
            c.stop()
        self.dns.stop()


class Closer:
    """A TCP listener that accepts and at once closes every connection,
    counting them: an MX that is up but never greets."""

    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.count = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.count += 1
            conn.close()

    def stop(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def net(instance):
    n = Net(instance)
    for name, value in {
        "dns_servers": n.dns.spec,
        "smtp_tcp_port": str(n.port),
        "smtp_connect_timeout": "5s",
        "smtp_helo_timeout": "5s",
        "minimal_backoff_time": "300s",
        "maximal_backoff_time": "300s",
    }.items():
        instance.set_param(name, value)
    check(instance.tern("user", "add", SENDER, "pw-alice"), "user add")
    yield n
    n.close()


def start(net):
    net.inst.start()
    wait_for(lambda: (net.inst.dir / "queue" / "private" / "smtp").exists(), 15,
             what="private/smtp socket")


def qmgr_log(inst):
    """The maillog lines of qmgr."""
    return "\n".join(line for line in inst.maillog().splitlines() if "tern/qmgr[" in line)


def arrivals(sinks, count, timeout=30):
    """For each sink, the monotonic times at which its message count
    reached 1..count (all sampled together every 20 ms)."""
    times = [[] for _ in sinks]
    deadline = time.monotonic() + timeout
    while any(len(t) < count for t in times) and time.monotonic() < deadline:
        now = time.monotonic()
        for sink, t in zip(sinks, times):
            while len(t) < min(len(sink.messages), count):
                t.append(now)
        time.sleep(0.02)
    for sink, t in zip(sinks, times):
        assert len(t) == count, f"{len(sink.messages)} of {count} messages at {sink.host}"
    return times


def test_rate_delay_spaces_one_destination_only(net):
    inst = net.inst
    # slow.test goes through a clone of smtp with a 2 s rate delay
    inst.append_master_cf("slow-out   unix  -       -       n       -       -       smtp")
    (inst.dir / "transport").write_text(f"slow.test slow-out:[127.0.0.2]:{net.port}\n")
    check(inst.cmd("postmap", f"hash:{inst.dir}/transport"), "postmap transport")
    inst.set_param("transport_maps", f"hash:{inst.dir}/transport")
    inst.set_param("slow-out_destination_rate_delay", "2s")
    net.remote("fast.test", "127.0.0.3")
    slow = net.sink("127.0.0.2")
    fast = net.sink("127.0.0.3")
    res = inst.cmd("postconf", "-n")
    assert "slow-out_destination_rate_delay = 2s" in helpers.out(res)
    assert "unknown parameter" not in res.stderr
    res = inst.cmd("postconf", "smtp_destination_rate_delay")
    assert helpers.out(res).strip() == \
        "smtp_destination_rate_delay = $default_destination_rate_delay"
    start(net)
    net.send_each([(f"s{i}@slow.test", body(i, f"s{i}@slow.test")) for i in range(3)])
    sent_fast = time.monotonic()
    net.send_each([(f"f{i}@fast.test", body(10 + i, f"f{i}@fast.test")) for i in range(3)])
    t_slow, t_fast = arrivals([slow, fast], 3)
    gaps = [b - a for a, b in zip(t_slow, t_slow[1:])]
    assert all(g >= 1.5 for g in gaps), f"slow.test deliveries {gaps} s apart"
    # the other destination is not held up by slow.test's waits
    assert t_fast[-1] < t_slow[-1], "fast.test mail waited for slow.test"
    assert t_fast[-1] - sent_fast < 3.5, f"fast.test took {t_fast[-1] - sent_fast:.1f} s"
    assert "slow.test" not in qmgr_log(inst), "qmgr logged the rate-delay waits"
    assert sorted(r for m in slow.messages for r in m.rcpt_tos) == \
        ["s0@slow.test", "s1@slow.test", "s2@slow.test"]


def test_dead_destination_is_suspended(net):
    inst = net.inst
    inst.set_param("smtp_destination_concurrency_limit", "1")
    net.remote("dead.test", "127.0.0.3")
    net.remote("ok.test", "127.0.0.4")
    closer = net.closer("127.0.0.3")
    ok = net.sink("127.0.0.4")
    start(net)
    net.send_each([(f"d{i}@dead.test", body(i, f"d{i}@dead.test")) for i in range(5)])
    inst.wait_log(r"tern/qmgr\[\d+\]: smtp/dead\.test: destination marked dead for 300s: "
                  r"lost connection with mx1\.dead\.test\[127\.0\.0\.3\]", 20)
    # every other message deferred by qmgr, without a connection
    suspended = re.compile(r"to=<d\d@dead\.test>, relay=none, .*dsn=4\.\d\.\d, status=deferred "
                           r"\(delivery temporarily suspended: lost connection")
    wait_for(lambda: len(suspended.findall(inst.maillog())) >= 4, 20,
             what="4 suspended deferrals")
    net.send_each([("x@ok.test", body(20, "x@ok.test")),
                   ("d9@dead.test", body(21, "d9@dead.test"))])
    assert ok.wait(1)[0].rcpt_tos == ["x@ok.test"]
    inst.wait_log(r"to=<d9@dead\.test>, relay=none, .*status=deferred \(delivery "
                  r"temporarily suspended: ", 20)
    assert closer.count in (1, 2), f"{closer.count} connections to the dead MX"
    wait_for(lambda: "delivery temporarily suspended" in
             helpers.out(inst.cmd("postqueue", "-p")), 10, what="suspension in mailq")
    assert qmgr_log(inst).count("marked dead") == 1
    # a flush revives the destination (as Postfix's does): one more attempt
    check(inst.cmd("postqueue", "-f"), "postqueue -f")
    inst.wait_log(r"smtp/dead\.test: destination revived \(flush\)", 20)
    wait_for(lambda: closer.count >= 2, 20, what="a new connection after the flush")


def test_recipient_450_does_not_suspend(net):
    inst = net.inst
    net.remote("busy.test", "127.0.0.2")
    sink = net.sink("127.0.0.2", rcpt_reply={"full@busy.test": "450 4.2.2 mailbox full"})
    start(net)
    net.send_each([("full@busy.test", body(1, "full@busy.test"))])
    inst.wait_log(r"to=<full@busy\.test>, relay=mx1\.busy\.test.*dsn=4\.2\.2, "
                  r"status=deferred \(host mx1\.busy\.test\[127\.0\.0\.2\]:\d+ said: 450", 20)
    net.send_each([("ok@busy.test", body(2, "ok@busy.test"))])
    assert sink.wait(1)[0].rcpt_tos == ["ok@busy.test"]
    inst.wait_log(r"to=<ok@busy\.test>, relay=mx1\.busy\.test.*status=sent", 20)
    assert "marked dead" not in inst.maillog()
    assert "temporarily suspended" not in inst.maillog()


def test_clone_transport_with_domain_nexthop(net):
    """A transport_maps entry naming a master.cf clone of smtp with no
    explicit next hop (`clone.test relay-out:`): the clone looks up the
    domain's MX itself, as smtp does, instead of deferring the mail as
    routed elsewhere."""
    inst = net.inst
    inst.append_master_cf("relay-out  unix  -       -       n       -       -       smtp")
    (inst.dir / "transport").write_text("clone.test relay-out:\n")
    check(inst.cmd("postmap", f"hash:{inst.dir}/transport"), "postmap")
    inst.set_param("transport_maps", f"hash:{inst.dir}/transport")
    net.remote("clone.test", HOSTS[0])
    sink = net.sink(HOSTS[0])
    start(net)
    net.send_each([("bob@clone.test", body(1, "bob@clone.test"))])
    wait_for(lambda: len(sink.messages) == 1, 30, what="the message at the sink")
    inst.wait_log(r"tern/[\w/-]+\[\d+\]: \w+: to=<bob@clone\.test>, relay=mx1\.clone\.test"
                  r"\[127\.0\.0\.2\]:\d+, .*status=sent", 10)
