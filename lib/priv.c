/*
 * priv.c - permanent privilege drop and account lookup (see priv.h).
 * Touches:  the process credentials, its root directory and cwd; the passwd
 *           and group databases (NSS).
 * Security: the drop is verified after the fact: a process that could get
 *           uid 0 back, or that kept a supplementary group, is refused.
 * Errors:   -1 with "STEP: strerror" in err; never aborts, never logs.
 */
#include "sys.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "priv.h"
#include "xmem.h"

/* nss_bufsize - buffer size for the *_r NSS calls. */
static size_t nss_bufsize(int which)
{
	long n = sysconf(which);

	return n > 0 && n < 1024 * 1024 ? (size_t)n : 16384;
}

int priv_lookup_user(const char *name, uid_t *uid_r, gid_t *gid_r, struct err *err)
{
	size_t size = nss_bufsize(_SC_GETPW_R_SIZE_MAX);
	struct passwd pw, *res = NULL;
	char *mem;
	int rc;

	for (int tries = 0; tries < 8; tries++) {
		mem = xmalloc(size);
		rc = getpwnam_r(name, &pw, mem, size, &res);
		if (rc == ERANGE) {
			free(mem);
			size *= 2;
			continue;
		}
		if (rc == 0 && res != NULL) {
			*uid_r = pw.pw_uid;
			*gid_r = pw.pw_gid;
			free(mem);
			return 0;
		}
		free(mem);
		if (rc == 0 || rc == ENOENT || rc == ESRCH)
			return err_set_code(err, ENOENT, "unknown user \"%s\"", name);
		return err_set_code(err, rc, "look up user \"%s\": %s", name, strerror(rc));
	}
	return err_set_code(err, ERANGE, "look up user \"%s\": entry too large", name);
}

int priv_lookup_group(const char *name, gid_t *gid_r, struct err *err)
{
	size_t size = nss_bufsize(_SC_GETGR_R_SIZE_MAX);
	struct group gr, *res = NULL;
	char *mem;
	int rc;

	for (int tries = 0; tries < 8; tries++) {
		mem = xmalloc(size);
		rc = getgrnam_r(name, &gr, mem, size, &res);
		if (rc == ERANGE) {
			free(mem);
			size *= 2;
			continue;
		}
		if (rc == 0 && res != NULL) {
			*gid_r = gr.gr_gid;
			free(mem);
			return 0;
		}
		free(mem);
		if (rc == 0 || rc == ENOENT || rc == ESRCH)
			return err_set_code(err, ENOENT, "unknown group \"%s\"", name);
		return err_set_code(err, rc, "look up group \"%s\": %s", name, strerror(rc));
	}
	return err_set_code(err, ERANGE, "look up group \"%s\": entry too large", name);
}

/* verify - the credentials are exactly uid/gid, one group, no way back. */
static int verify(uid_t uid, gid_t gid, struct err *err)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return err_set_code(err, errno, "getresuid: %s", strerror(errno));
	if (ru != uid || eu != uid || su != uid || getuid() != uid || geteuid() != uid)
		return err_set(err, "uid is %ld/%ld/%ld after drop, wanted %ld", (long)ru,
			       (long)eu, (long)su, (long)uid);
	if (rg != gid || eg != gid || sg != gid || getgid() != gid || getegid() != gid)
		return err_set(err, "gid is %ld/%ld/%ld after drop, wanted %ld", (long)rg,
			       (long)eg, (long)sg, (long)gid);
	n = getgroups(N_ELEMENTS(groups), groups);
	if (uid != 0 && (n < 0 || n > 1 || (n == 1 && groups[0] != gid)))
		return err_set(err, "supplementary groups remain after drop");
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return err_set(err, "uid 0 could be regained after drop");
	return 0;
}

int priv_drop(uid_t uid, gid_t gid, const char *chroot_dir, struct err *err)
{
	bool do_chroot = chroot_dir != NULL && *chroot_dir != '\0';

	if (geteuid() != 0) {
		if (do_chroot)
			return err_set_code(err, EPERM, "chroot %s: not running as root",
					    chroot_dir);
		if (getuid() != uid || getgid() != gid)
			return err_set_code(err, EPERM, "cannot become uid %ld gid %ld: "
					    "not running as root", (long)uid, (long)gid);
		return verify(uid, gid, err);
	}
	if (do_chroot) {
		if (chroot(chroot_dir) < 0)
			return err_set_code(err, errno, "chroot %s: %s", chroot_dir,
					    strerror(errno));
		if (chdir("/") < 0)
			return err_set_code(err, errno, "chdir / in %s: %s", chroot_dir,
					    strerror(errno));
	}
	if (setgroups(1, &gid) < 0)
		return err_set_code(err, errno, "setgroups %ld: %s", (long)gid, strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		return err_set_code(err, errno, "setresgid %ld: %s", (long)gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		return err_set_code(err, errno, "setresuid %ld: %s", (long)uid, strerror(errno));
	return verify(uid, gid, err);
}

int priv_peer(int fd, uid_t *uid_r, char *login, size_t size)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct passwd pw, *res = NULL;
	char sbuf[4096];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || clen != sizeof(cred))
		return -1;
	*uid_r = cred.uid;
	if (getpwuid_r(cred.uid, &pw, sbuf, sizeof(sbuf), &res) == 0 && res != NULL &&
	    res->pw_name[0] != '\0' && strlen(res->pw_name) < size)
		snprintf(login, size, "%s", res->pw_name);
	else
		snprintf(login, size, "#%lu", (unsigned long)cred.uid);
	return 0;
}
