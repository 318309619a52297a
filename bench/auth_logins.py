#!/usr/bin/python3
"""
auth_logins.py - logins per second of the auth service: a fresh instance
(`tern init` in a temporary directory, one user with the default yescrypt
hash, no failure delay), then COUNT AUTH_PASS requests over the "auth"
protocol (tests/integration/ipcproto.py) from CONC parallel connections,
each sending its next request when the last one was answered, while one
more connection times AUTH_USER queries (what else waits behind the
hashing).  Prints one line per concurrency level:

    auth logins: conc=8 count=400 ok=400 fail=0 elapsed=2.31s rate=173.2/s user-query-median=0.3ms

Usage:   bench/auth_logins.py [--build DIR] [--count N] [--conc "1 4 8"]
         [--workers N] [--bad]   (--bad: wrong passwords, counted as FAIL)
Touches: a temporary instance directory under /tmp (removed at the end),
         loopback ports of a free port base, the processes it starts (by
         pid, through the integration harness), nothing else.
Limits:  COUNT is capped at 100000 requests per level.
"""

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

AUTH_PASS = 16
AUTH_USER = 20
AUTH_OK = 21
AUTH_FAIL = 22
PASSWORD = "bench password"
USER = "bench@example.test"


def worker(path, n, password, results, idx):
    import ipcproto as ip

    conn = ip.connect_unix(path, "auth", timeout=120)
    ok = fail = 0
    try:
        for i in range(n):
            conn.send(AUTH_PASS, i + 1, {"service": "pop3d", "user": USER,
                                         "password": password.encode(),
                                         "client": f"192.0.2.{idx % 250 + 1}"})
            mtype, reqid, _ = conn.recv()
            assert reqid == i + 1
            if mtype == AUTH_OK:
                ok += 1
            elif mtype == AUTH_FAIL:
                fail += 1
    finally:
        conn.close()
    results[idx] = (ok, fail)


def probe(path, stop, lat):
    """AUTH_USER round trips while the logins run: what else has to wait."""
    import ipcproto as ip

    conn = ip.connect_unix(path, "auth", timeout=120)
    i = 0
    while not stop.is_set() and i < 100000:
        i += 1
        t0 = time.monotonic()
        conn.send(AUTH_USER, i, {"user": USER})
        conn.recv()
        lat.append(time.monotonic() - t0)
        time.sleep(0.01)
    conn.close()


def level(path, count, conc, password):
    per = [count // conc + (1 if i < count % conc else 0) for i in range(conc)]
    results = [None] * conc
    threads = [threading.Thread(target=worker, args=(path, per[i], password, results, i))
               for i in range(conc)]
    stop, lat = threading.Event(), []
    prober = threading.Thread(target=probe, args=(path, stop, lat))
    prober.start()
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    stop.set()
    prober.join()
    ok = sum(r[0] for r in results if r)
    fail = sum(r[1] for r in results if r)
    lat.sort()
    median = lat[len(lat) // 2] * 1000 if lat else 0.0
    return ok, fail, elapsed, median


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--build", default=os.environ.get("TERN_BUILD", str(ROOT / "build")))
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--conc", default="1 4 8")
    ap.add_argument("--workers", type=int, default=None,
                    help="auth_worker_count (left at its default when absent)")
    ap.add_argument("--bad", action="store_true", help="send wrong passwords")
    args = ap.parse_args()
    count = max(1, min(args.count, 100000))
    os.environ["TERN_BUILD"] = str(Path(args.build).resolve())
    import helpers

    root = Path(tempfile.mkdtemp(prefix="tern-bench-auth-", dir="/tmp"))
    os.chmod(root, 0o755)
    inst = helpers.Instance(root / "inst", helpers.find_port_base())
    try:
        helpers.check(inst.init(), "tern init")
        inst.set_param("inet_interfaces", "127.0.0.1")
        inst.set_param("auth_failure_delay", "0s")
        inst.set_param("auth_failure_delay_max", "0s")
        inst.set_param("auth_client_failure_limit", "0")
        inst.set_param("auth_user_failure_limit", "0")
        if args.workers is not None:
            inst.set_param("auth_worker_count", str(args.workers))
        helpers.check(inst.tern("user", "add", USER, PASSWORD), "user add")
        inst.start()
        path = inst.dir / "queue" / "private" / "auth"
        helpers.wait_for(path.exists, 15, what="private/auth socket")
        password = "wrong password" if args.bad else PASSWORD
        level(path, 4, 1, password)  # warm up: the process, the table
        for conc in (int(c) for c in args.conc.split()):
            ok, fail, elapsed, median = level(path, count, conc, password)
            print(f"auth logins: conc={conc} count={count} ok={ok} fail={fail} "
                  f"elapsed={elapsed:.2f}s rate={count / elapsed:.1f}/s "
                  f"user-query-median={median:.1f}ms", flush=True)
    finally:
        inst.cleanup()
        import shutil
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
