"""
dns.py - a DNS server on loopback for integration tests (python3-dnslib).

    zone = DNSPeer()                 # UDP and TCP on 127.0.0.1:<free port>
    zone.mx("remote.test", (10, "mx1.remote.test"))
    zone.a("mx1.remote.test", "127.0.0.2")
    zone.null_mx("nomail.test")      # MX 0 .
    zone.servfail("broken.test")
    zone.tlsa("_25._tcp.mx1.remote.test", 3, 1, 1, bytes.fromhex("ab.."))
    zone.ptr("127.0.0.2", "client.remote.test")   # 2.0.0.127.in-addr.arpa PTR
    inst.set_param("dns_servers", zone.spec)   # "127.0.0.1:PORT"
    ...
    zone.stop()

Names not in the zone answer NXDOMAIN; a name that has some records
answers NOERROR with no data for the other types; CNAMEs are followed in
the answer.  Every record has TTL 1 so resolvers do not keep stale data.
Touches:  one UDP and one TCP socket on 127.0.0.1.
Security: test-only; answers only what the test put in the zone.
"""

import ipaddress
import threading

from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, A, DNSLabel
from dnslib.dns import RD
from dnslib.server import BaseResolver, DNSServer

import helpers


class TLSA(RD):
    """TLSA rdata (RFC 6698), which dnslib 0.9.23 lacks."""

    def __init__(self, usage, selector, mtype, data):
        self.usage, self.selector, self.mtype, self.data = usage, selector, mtype, data

    def pack(self, buffer):
        buffer.pack("!BBB", self.usage, self.selector, self.mtype)
        buffer.append(self.data)

    def __repr__(self):
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"


QTYPE_TLSA = 52


def _free_port():
    """A port free for UDP and TCP on 127.0.0.1 (see helpers.free_port)."""
    return helpers.free_port(udp=True)


class _Resolver(BaseResolver):
    def __init__(self, peer):
        self.peer = peer

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).lower().rstrip(".")
        qtype = request.q.qtype
        self.peer.queries.append((qname, QTYPE.get(qtype)))
        with self.peer.lock:
            if qname in self.peer.servfails:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            name, hops = qname, 0
            while name in self.peer.cnames and qtype != QTYPE.CNAME and hops < 8:
                target = self.peer.cnames[name]
                reply.add_answer(RR(DNSLabel(name + "."), QTYPE.CNAME, ttl=1,
                                    rdata=CNAME(target + ".")))
                name, hops = target, hops + 1
            recs = self.peer.records.get((name, qtype), [])
            for rd in recs:
                reply.add_answer(RR(DNSLabel(name + "."), qtype, ttl=1, rdata=rd))
            if not recs and not self.peer.exists(name):
                reply.header.rcode = RCODE.NXDOMAIN
        return reply


class DNSPeer:
    """A little authoritative-and-recursive-looking server for tests."""

    def __init__(self, address="127.0.0.1", port=None):
        self.lock = threading.Lock()
        self.records = {}
        self.cnames = {}
        self.servfails = set()
        self.queries = []
        self.address = address
        self.port = port or _free_port()
        resolver = _Resolver(self)
        self.udp = DNSServer(resolver, port=self.port, address=address, tcp=False,
                             logger=_Quiet())
        self.tcp = DNSServer(resolver, port=self.port, address=address, tcp=True,
                             logger=_Quiet())
        self.udp.start_thread()
        self.tcp.start_thread()

    def exists(self, name):
        """name owns records or is an ancestor of a name that does (an
        empty non-terminal answers NOERROR, not NXDOMAIN)."""
        names = {n for n, _ in self.records} | set(self.cnames) | self.servfails
        return any(n == name or n.endswith("." + name) for n in names)

    @property
    def spec(self):
        """The dns_servers value pointing at this server."""
        return f"{self.address}:{self.port}"

    def _add(self, name, qtype, rdata):
        with self.lock:
            self.records.setdefault((name.lower().rstrip("."), qtype), []).append(rdata)

    def mx(self, domain, *pairs):
        """MX records: pairs of (preference, host)."""
        for pref, host in pairs:
            self._add(domain, QTYPE.MX, MX(host.rstrip(".") + "." if host != "." else ".",
                                           pref))

    def null_mx(self, domain):
        """RFC 7505: MX 0 ."""
        self._add(domain, QTYPE.MX, MX(".", 0))

    def a(self, name, *addrs):
        for addr in addrs:
            self._add(name, QTYPE.A, A(addr))

    def aaaa(self, name, *addrs):
        for addr in addrs:
            self._add(name, QTYPE.AAAA, AAAA(addr))

    def ptr(self, address, *names):
        """PTR records of an IPv4 or IPv6 address (at its in-addr.arpa or
        ip6.arpa name), one per name."""
        rev = ipaddress.ip_address(address).reverse_pointer
        for name in names:
            self._add(rev, QTYPE.PTR, PTR(name.rstrip(".") + "."))

    def cname(self, name, target):
        with self.lock:
            self.cnames[name.lower().rstrip(".")] = target.lower().rstrip(".")

    def tlsa(self, name, usage, selector, mtype, data):
        self._add(name, QTYPE_TLSA, TLSA(usage, selector, mtype, data))

    def servfail(self, name):
        with self.lock:
            self.servfails.add(name.lower().rstrip("."))

    def clear(self, name):
        """Forget every record of name."""
        with self.lock:
            n = name.lower().rstrip(".")
            for key in [k for k in self.records if k[0] == n]:
                del self.records[key]
            self.cnames.pop(n, None)
            self.servfails.discard(n)

    def stop(self):
        self.udp.stop()
        self.tcp.stop()


class _Quiet:
    """dnslib logger that prints nothing."""

    def __getattr__(self, name):
        return lambda *args, **kw: None
