"""
test_postqueue.py - mailq / postqueue -p / -j / -f / -i / -s on a real
instance: the empty queue, active messages (qmgr switched off so they stay),
a deferred message with its reason (remote mail with no smtp transport in
master.cf), the JSON lines, flush requests and refused arguments.

Touches:  a fresh instance per test (conftest.py) and its queue.
Security: loopback only; stops only the master it started.
Errors:   assertion messages show the command output and the maillog.
"""

import json
import re

import helpers

QID_RE = r"[0-9A-Za-z]{16}"


def disable_service(inst, name):
    """Comment out master.cf entries of a unix service (e.g. qmgr, smtp)."""
    lines = inst.master_cf.read_text().splitlines()
    out = ["#" + l if re.match(rf"^{re.escape(name)}\s+unix\s", l) else l
           for l in lines]
    inst.master_cf.write_text("\n".join(out) + "\n")


def submit(inst, *rcpts, sender=None, text="Subject: q\n\nbody\n"):
    args = [helpers.sbin("sendmail"), "-C", inst.dir, "-v"]
    if sender:
        args += ["-f", sender]
    res = helpers.check(helpers.run(args + list(rcpts), input=text), "sendmail")
    return re.search(rf"queued as ({QID_RE})", res.stderr).group(1)


def wait_pickup(inst):
    helpers.wait_for(lambda: (inst.dir / "queue/public/pickup").exists(), 15,
                     what="public/pickup socket")


def test_empty_queue(instance):
    res = helpers.check(instance.cmd("postqueue", "-p"))
    assert res.stdout == "Mail queue is empty\n"
    res = helpers.check(instance.cmd("mailq"))
    assert res.stdout == "Mail queue is empty\n"
    res = helpers.check(instance.cmd("postqueue", "-j"))
    assert res.stdout == ""


def test_active_messages_listed(instance):
    disable_service(instance, "qmgr")
    instance.start()
    wait_pickup(instance)
    a = submit(instance, "bob@example.test", "carol@example.net",
               sender="alice@example.org")
    b = submit(instance, "dave@example.net", sender="<>")
    out = helpers.check(instance.cmd("mailq")).stdout
    lines = out.splitlines()
    assert lines[0] == ("-Queue ID-  --Size-- ----Arrival Time---- "
                        "-Sender/Recipient-------"), out
    assert re.search(rf"^{a}\*\s+\d+ \w{{3}} \w{{3}} [ \d]\d \d\d:\d\d:\d\d  "
                     r"alice@example\.org$", out, re.M), out
    assert re.search(rf"^{b}\*\s+\d+ .*  MAILER-DAEMON$", out, re.M), out
    assert re.search(r"^\s+bob@example\.test$", out, re.M), out
    assert re.search(r"^\s+carol@example\.net$", out, re.M), out
    assert re.match(r"^-- \d+ Kbytes in 2 Requests\.$", lines[-1]), out
    assert helpers.check(instance.cmd("postqueue", "-p")).stdout == out
    # sendmail -bp is the same listing.
    res = helpers.run([helpers.sbin("sendmail"), "-C", instance.dir, "-bp"])
    assert helpers.check(res).stdout == out

    objs = [json.loads(l) for l in
            helpers.check(instance.cmd("postqueue", "-j")).stdout.splitlines()]
    assert [o["queue_id"] for o in objs] == sorted([a, b])
    first = next(o for o in objs if o["queue_id"] == a)
    assert first["queue_name"] == "active"
    assert first["sender"] == "alice@example.org"
    assert first["forced_expire"] is False
    assert isinstance(first["arrival_time"], int) and first["message_size"] > 0
    assert [r["address"] for r in first["recipients"]] == [
        "bob@example.test", "carol@example.net"]


def test_deferred_message_shows_reason(instance):
    disable_service(instance, "smtp")   # remote mail has no transport
    instance.start()
    wait_pickup(instance)
    qid = submit(instance, "carol@example.net", sender="alice@example.org")

    def deferred_listing():
        out = instance.cmd("mailq").stdout
        return out if re.search(rf"^{qid}\s", out, re.M) and "(" in out else None
    out = helpers.wait_for(deferred_listing, 30, what="deferred message in mailq")
    assert re.search(rf"^{qid} +\d+ ", out, re.M), out   # no '*': deferred
    assert re.search(r"^\s+\(.+\)$", out, re.M), out
    obj = json.loads(helpers.check(instance.cmd("postqueue", "-j")).stdout)
    assert obj["queue_name"] == "deferred"
    assert obj["recipients"][0]["address"] == "carol@example.net"
    assert obj["recipients"][0]["delay_reason"]

    # Flushing reaches qmgr; the message stays deferred (still no transport).
    helpers.check(instance.cmd("postqueue", "-f"))
    helpers.check(instance.cmd("postqueue", "-i", qid))
    helpers.check(instance.cmd("postqueue", "-s", "example.net"))
    res = helpers.run([helpers.sbin("sendmail"), "-C", instance.dir, "-q"])
    helpers.check(res)


def test_flush_without_qmgr_and_bad_arguments(instance):
    res = instance.cmd("postqueue", "-f")
    assert res.returncode == 69, helpers.out(res)
    assert "mail system is down" in res.stderr
    res = instance.cmd("postqueue", "-i", "../../etc/passwd")
    assert res.returncode == 64, helpers.out(res)
    res = instance.cmd("postqueue", "-s", "bad/site")
    assert res.returncode == 64, helpers.out(res)
    res = instance.cmd("postqueue", "-p", "-f")
    assert res.returncode == 64, helpers.out(res)
    res = instance.cmd("postqueue")
    assert res.returncode == 64, helpers.out(res)
