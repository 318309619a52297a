/*
 * priv.h - give up root for good, and look up the accounts to become.
 * Order (OpenSMTPD's): optional chroot (then chdir "/"), setgroups to the one
 * group, setresgid, setresuid; then verify that none of the real, effective
 * or saved ids is still privileged and that setuid(0) fails.
 * See: OpenSMTPD queue.c, docs/architecture.md "Processes".
 */
#ifndef TERN_PRIV_H
#define TERN_PRIV_H

#include "sys.h"

struct err;

/* priv_drop - become uid/gid permanently, after chroot to chroot_dir when it
 * is neither NULL nor "".  As root every step runs; as a non-root process
 * the call succeeds only when no change is asked for (uid and gid are the
 * current ones and no chroot), so daemons started by a plain user work.
 * -1 with err naming the step that failed; the process must then exit. */
int priv_drop(uid_t uid, gid_t gid, const char *chroot_dir, struct err *err)
	ATTR_WARN_UNUSED;

/* priv_lookup_user - uid and primary gid of account name (getpwnam_r).
 * -1 with err->code ENOENT for "no such user", another errno otherwise. */
int priv_lookup_user(const char *name, uid_t *uid_r, gid_t *gid_r, struct err *err)
	ATTR_WARN_UNUSED;

/* priv_lookup_group - gid of group name (getgrnam_r); errors as above. */
int priv_lookup_group(const char *name, gid_t *gid_r, struct err *err) ATTR_WARN_UNUSED;

/* priv_peer - the uid of the process at the other end of UNIX socket fd,
 * from the kernel (SO_PEERCRED), and its login name into login (size
 * bytes; "#UID" when the uid has no name, which no account can be
 * called).  -1 when the kernel gives no credentials. */
int priv_peer(int fd, uid_t *uid_r, char *login, size_t size) ATTR_WARN_UNUSED;

#endif
