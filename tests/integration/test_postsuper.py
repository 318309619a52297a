"""
test_postsuper.py - postsuper on a real instance with qmgr switched off (so
messages stay where postsuper puts them): hold, release, requeue, delete by
ID, by ALL and from stdin, queue-name limits, the structure check (-s) and
the purge of stale incoming files (-p), and refused IDs.

Touches:  a fresh instance per test (conftest.py) and its queue.
Security: loopback only; stops only the master it started.
Errors:   assertion messages show the command output and the maillog.
"""

import os
import re
import time

import helpers

QID_RE = r"[0-9A-Za-z]{16}"


def disable_service(inst, name):
    lines = inst.master_cf.read_text().splitlines()
    out = ["#" + l if re.match(rf"^{re.escape(name)}\s+unix\s", l) else l
           for l in lines]
    inst.master_cf.write_text("\n".join(out) + "\n")


def started_without_qmgr(inst):
    disable_service(inst, "qmgr")
    inst.start()
    helpers.wait_for(lambda: (inst.dir / "queue/public/pickup").exists(), 15,
                     what="public/pickup socket")


def submit(inst, rcpt="bob@example.net"):
    res = helpers.check(helpers.run([helpers.sbin("sendmail"), "-C", inst.dir, "-v",
                                     rcpt], input="Subject: s\n\nx\n"))
    return re.search(rf"queued as ({QID_RE})", res.stderr).group(1)


def where(inst, qid):
    found = [q for q in ("incoming", "active", "deferred", "hold", "corrupt")
             if (inst.dir / "queue" / q / qid).exists()]
    return found[0] if len(found) == 1 else found


def test_hold_release_requeue_delete(instance):
    started_without_qmgr(instance)
    a, b = submit(instance), submit(instance)
    res = helpers.check(instance.cmd("postsuper", "-h", a))
    assert "postsuper: Placed on hold: 1 message\n" in res.stderr
    assert where(instance, a) == "hold" and where(instance, b) == "active"
    assert re.search(rf"^{a}!", instance.cmd("mailq").stdout, re.M)

    res = helpers.check(instance.cmd("postsuper", "-H", "ALL"))
    assert "Released from hold: 1 message\n" in res.stderr
    assert where(instance, a) == "active"

    # Requeue a deferred message: back to active, its defer log dropped.
    os.rename(instance.dir / "queue/active" / b, instance.dir / "queue/deferred" / b)
    (instance.dir / "queue/defer" / b).write_text("")
    res = helpers.check(instance.cmd("postsuper", "-r", b))
    assert "Requeued: 1 message\n" in res.stderr
    assert where(instance, b) == "active"
    assert not (instance.dir / "queue/defer" / b).exists()

    res = helpers.check(instance.cmd("postsuper", "-d", a))
    assert "postsuper: Deleted: 1 message\n" in res.stderr
    assert where(instance, a) == []
    instance.wait_log(rf"tern/postsuper\[\d+\]: {a}: removed")
    instance.wait_log(rf"tern/postsuper\[\d+\]: {a}: placed on hold")

    res = helpers.check(instance.cmd("postsuper", "-d", "ALL"))
    assert "Deleted: 1 message\n" in res.stderr
    assert helpers.check(instance.cmd("mailq")).stdout == "Mail queue is empty\n"


def test_ids_from_stdin_and_queue_limits(instance):
    started_without_qmgr(instance)
    ids = [submit(instance) for _ in range(3)]
    helpers.check(instance.cmd("postsuper", "-h", ids[0]))
    # ALL limited to the hold queue touches only the held one.
    res = helpers.check(instance.cmd("postsuper", "-d", "ALL", "hold"))
    assert "Deleted: 1 message\n" in res.stderr
    assert where(instance, ids[1]) == "active"
    # mailq-style lines with a status mark, plus junk that is skipped.
    text = f"{ids[1]}*\n{ids[2]}\nnot-an-id\n"
    res = helpers.check(instance.cmd("postsuper", "-d", "-", input=text))
    assert "Deleted: 2 messages\n" in res.stderr
    assert "invalid queue ID" in res.stderr
    assert helpers.check(instance.cmd("mailq")).stdout == "Mail queue is empty\n"


def test_refused_arguments(instance):
    res = instance.cmd("postsuper", "-d", "../../etc/passwd")
    assert res.returncode == 1 and "invalid queue ID" in res.stderr
    res = instance.cmd("postsuper", "-d", "ALL", "nosuchqueue")
    assert res.returncode == 1 and "invalid queue name" in res.stderr
    res = instance.cmd("postsuper")
    assert res.returncode == 1 and "usage" in res.stderr
    # Nothing there: no summary, success.
    res = helpers.check(instance.cmd("postsuper", "-d", "1xUy7u10n501xa00"))
    assert "Deleted" not in res.stderr


def test_structure_check_and_purge(instance):
    started_without_qmgr(instance)
    good = submit(instance)
    q = instance.dir / "queue"
    (q / "active" / "junk-name").write_text("x")
    bad_id = "1xUy7u10n501xa00"
    (q / "deferred" / bad_id).write_bytes(b"not a queue file")
    stale = q / "incoming" / "1xUy7u10n501xa01"
    stale.write_text("")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    fresh = q / "incoming" / "1xUy7u10n501xa02"
    fresh.write_text("")
    (q / "defer" / "1xUy7u10n501xa03").write_text("")

    res = helpers.check(instance.cmd("postsuper", "-s"))
    assert "Moved to corrupt: 2 files" in res.stderr, res.stderr
    assert "Removed stale files: 1 file" in res.stderr, res.stderr
    assert "Removed orphaned logs: 1 file" in res.stderr, res.stderr
    assert (q / "corrupt" / "junk-name").exists()
    assert (q / "corrupt" / bad_id).exists()
    assert not stale.exists() and fresh.exists()
    assert where(instance, good) == "active"

    os.utime(fresh, (old, old))
    res = helpers.check(instance.cmd("postsuper", "-p"))
    assert "Removed stale files: 1 file" in res.stderr
    assert not fresh.exists()
