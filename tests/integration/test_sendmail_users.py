"""
test_sendmail_users.py - any local user may submit mail with sendmail, as
with Postfix: the public pickup socket is reachable by everyone, and pickup
records who the caller is from the kernel (SO_PEERCRED), not from anything
the caller says.

Touches:  a fresh instance; runs sendmail as the unprivileged account
          "nobody" (only when the suite runs as root).
Security: loopback only; no network.
"""

import os
import pwd
import subprocess

import pytest

import helpers
from test_sendmail import started_with_users, wait_mail


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_unprivileged_user_submits(instance):
    nobody = pwd.getpwnam("nobody")
    started_with_users(instance, "bob")
    # The instance directory must be traversable; the queue itself is not.
    res = subprocess.run(
        [str(helpers.sbin("sendmail")), "-C", str(instance.dir), "-f",
         "nobody@example.test", "bob@example.test"],
        input=b"Subject: from nobody\n\nhello\n", capture_output=True, timeout=60,
        user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[])
    assert res.returncode == 0, res.stderr.decode()
    files = wait_mail(instance, "bob")
    data = files[0].read_bytes()
    assert b"Subject: from nobody" in data
    # pickup names the real uid, whatever the caller claimed as sender.
    assert f"from userid {nobody.pw_uid}".encode() in data
    # Listing the queue directories stays closed to that user.
    res = subprocess.run(["ls", str(instance.dir / "queue" / "public")],
                         capture_output=True, user=nobody.pw_uid, group=nobody.pw_gid,
                         extra_groups=[])
    assert res.returncode != 0
