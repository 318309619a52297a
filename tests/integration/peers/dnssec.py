"""
dnssec.py - a DNSSEC-signed zone on loopback for the DANE tests: the zone
is written at test time, signed with BIND's dnssec-keygen and
dnssec-signzone (ECDSA P-256, one KSK and one ZSK, NSEC denial) and served
by NSD, a real authoritative server, so that libunbound validates it the
way it validates the Internet.

    zone = SignedZone(workdir, "dane.test")
    zone.mx("good.dane.test", 10, "mx.good.dane.test")
    zone.a("mx.good.dane.test", "127.0.0.2")
    zone.tlsa("_25._tcp.mx.good.dane.test", 3, 1, 1, digest)
    zone.start(corrupt=["_25._tcp.mx.bogus.dane.test"])
    inst.set_param("dns_servers", zone.spec)          # "127.0.0.1:PORT"
    inst.set_param("dns_trust_anchor_file", zone.anchor_file)
    ...
    zone.stop()

corrupt: owner names whose TLSA data is altered AFTER signing, so their
RRSIG no longer matches: a validating resolver calls the answer bogus.
The trust anchor file holds the zone's DS records (the dsset file), so the
zone is its own island of trust; names outside it are insecure.

Touches:  workdir (zone, keys, nsd.conf, nsd.log), one UDP and one TCP
          socket on 127.0.0.1 (NSD in the foreground, stopped by pid).
Security: test-only.
"""

import re
import subprocess
import time
from pathlib import Path

import helpers

TOOLS = ("dnssec-keygen", "dnssec-signzone", "nsd")


def tools_missing():
    """The programs this peer needs that are not installed (mk/deps.sh
    test installs them: bind9-utils, nsd)."""
    import shutil
    paths = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
    return [t for t in TOOLS
            if shutil.which(t) is None and not any(Path(p, t).exists() for p in paths)]


def _which(tool):
    import shutil
    found = shutil.which(tool)
    if found:
        return found
    for p in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if Path(p, tool).exists():
            return str(Path(p, tool))
    raise AssertionError(f"{tool} is not installed (mk/deps.sh test)")


def _free_port():
    """A port free for UDP and TCP on 127.0.0.1 (see helpers.free_port)."""
    return helpers.free_port(udp=True)


def _run(args, cwd):
    res = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise AssertionError(f"{' '.join(args)}: {res.stderr.strip()}")
    return res.stdout.strip()


class SignedZone:
    def __init__(self, workdir, origin="dane.test"):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.origin = origin.rstrip(".").lower()
        self.port = _free_port()
        self.lines = []
        self.proc = None

    @property
    def spec(self):
        return f"127.0.0.1:{self.port}"

    @property
    def anchor_file(self):
        return str(self.dir / f"dsset-{self.origin}.")

    def _fq(self, name):
        name = name.rstrip(".").lower()
        assert name == self.origin or name.endswith("." + self.origin), name
        return name + "."

    def record(self, name, rtype, rdata):
        self.lines.append(f"{self._fq(name)} 1 IN {rtype} {rdata}")

    def mx(self, domain, pref, host):
        self.record(domain, "MX", f"{pref} {host.rstrip('.')}.")

    def a(self, name, addr):
        self.record(name, "A", addr)

    def tlsa(self, name, usage, selector, mtype, data):
        self.record(name, "TLSA", f"{usage} {selector} {mtype} {data.hex()}")

    def _zone_text(self):
        o = self.origin + "."
        head = [f"$ORIGIN {o}", "$TTL 1",
                f"@ IN SOA ns.{o} hostmaster.{o} 1 3600 600 86400 1",
                f"@ IN NS ns.{o}", f"ns.{o} IN A 127.0.0.1"]
        return "\n".join(head + self.lines) + "\n"

    def _sign(self, corrupt):
        zone = self.dir / f"{self.origin}.zone"
        zone.write_text(self._zone_text())
        keygen = _which("dnssec-keygen")
        ksk = _run([keygen, "-q", "-K", str(self.dir), "-a", "ECDSAP256SHA256", "-f", "KSK",
                    "-n", "ZONE", self.origin], self.dir)
        zsk = _run([keygen, "-q", "-K", str(self.dir), "-a", "ECDSAP256SHA256",
                    "-n", "ZONE", self.origin], self.dir)
        signed = self.dir / f"{self.origin}.signed"
        with zone.open("a") as f:
            for key in (ksk, zsk):
                f.write(f"$INCLUDE {self.dir / key}.key\n")
        _run([_which("dnssec-signzone"), "-q", "-O", "full", "-d", str(self.dir),
              "-K", str(self.dir), "-o", self.origin, "-f", str(signed),
              "-k", ksk, str(zone), zsk], self.dir)
        text = signed.read_text()
        for name in corrupt:
            owner = re.escape(self._fq(name))
            pat = re.compile(rf"^({owner}\s+\d+\s+IN\s+TLSA\s+\d+\s+\d+\s+\d+\s+)(\S)",
                             re.M | re.I)
            text, n = pat.subn(lambda m: m.group(1) + ("0" if m.group(2) != "0" else "1"),
                               text, count=1)
            assert n == 1, f"no TLSA record at {name} to corrupt"
        signed.write_text(text)
        return signed

    def start(self, corrupt=()):
        signed = self._sign(corrupt)
        conf = self.dir / "nsd.conf"
        conf.write_text(
            "server:\n"
            f"  ip-address: 127.0.0.1@{self.port}\n"
            f"  port: {self.port}\n"
            "  username: \"\"\n"
            "  chroot: \"\"\n"
            f"  zonesdir: \"{self.dir}\"\n"
            "  database: \"\"\n"
            f"  zonelistfile: \"{self.dir}/zone.list\"\n"
            f"  xfrdfile: \"{self.dir}/xfrd.state\"\n"
            f"  xfrdir: \"{self.dir}\"\n"
            f"  pidfile: \"{self.dir}/nsd.pid\"\n"
            f"  logfile: \"{self.dir}/nsd.log\"\n"
            "  server-count: 1\n"
            "  verbosity: 1\n"
            "  hide-version: yes\n"
            "remote-control:\n"
            "  control-enable: no\n"
            "zone:\n"
            f"  name: {self.origin}\n"
            f"  zonefile: \"{signed}\"\n")
        _run([_which("nsd-checkconf"), str(conf)], self.dir)
        self.proc = subprocess.Popen([_which("nsd"), "-d", "-c", str(conf)], cwd=self.dir,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.dir / "nsd.log"
                raise AssertionError("nsd exited: " +
                                     (log.read_text() if log.exists() else "no log"))
            if self._answers():
                return
            time.sleep(0.1)
        self.stop()
        raise AssertionError("nsd did not answer within 15s")

    def _answers(self):
        """NSD answers the SOA query of the origin over UDP."""
        from dnslib import DNSRecord
        try:
            q = DNSRecord.question(self.origin, "SOA")
            r = DNSRecord.parse(q.send("127.0.0.1", self.port, timeout=0.5))
            return r.header.rcode == 0 and len(r.rr) > 0
        except Exception:  # noqa: BLE001 - not up yet, whatever the error
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
