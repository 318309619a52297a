/*
 * test_priv.c - unit tests for lib/priv.c: account lookup, and the drop
 * itself in forked children (as root: to nobody, with and without chroot;
 * as any user: the no-change case and the refusals).
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "priv.h"

#define NOBODY 65534

/* run_child - fork, run fn in the child, return its exit status. */
static int run_child(int (*fn)(void))
{
	int status = -1;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* become_unprivileged - as root drop to nobody first, so the non-root
 * branch is exercised under any test runner. */
static int become_unprivileged(void)
{
	struct err err;

	if (geteuid() == 0 && priv_drop(NOBODY, NOBODY, NULL, &err) < 0)
		return 90;
	return 0;
}

static int child_drop_to_nobody(void)
{
	struct err err;
	gid_t groups[4];
	uid_t r, e, s;

	if (geteuid() != 0)
		return become_unprivileged() == 0 && getuid() != 0 ? 0 : 1;
	if (priv_drop(NOBODY, NOBODY, NULL, &err) < 0)
		return 2;
	if (getresuid(&r, &e, &s) < 0 || r != NOBODY || e != NOBODY || s != NOBODY)
		return 3;
	if (getgid() != NOBODY || getegid() != NOBODY)
		return 4;
	if (getgroups(4, groups) != 1 || groups[0] != NOBODY)
		return 5;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return 6;
	return 0;
}

static void test_drop_to_nobody(void **state)
{
	assert_int_equal(run_child(child_drop_to_nobody), 0);
}

static char jail[] = "/tmp/tern-priv-XXXXXX";

static int child_drop_chroot(void)
{
	struct err err;
	char cwd[64];

	if (geteuid() != 0) /* a plain user may not chroot */
		return priv_drop(getuid(), getgid(), jail, &err) == -1 && err.code == EPERM ? 0 : 11;
	if (priv_drop(NOBODY, NOBODY, jail, &err) < 0)
		return 12;
	if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0)
		return 13;
	if (access("/etc/passwd", F_OK) == 0)
		return 14;
	return 0;
}

static void test_drop_chroot(void **state)
{
	assert_non_null(mkdtemp(jail));
	assert_int_equal(run_child(child_drop_chroot), 0);
	assert_int_equal(rmdir(jail), 0);
}

static int child_no_change_and_refusals(void)
{
	struct err err;

	if (become_unprivileged() != 0)
		return 20;
	if (priv_drop(getuid(), getgid(), NULL, &err) != 0)
		return 21;
	if (priv_drop(getuid(), getgid(), "", &err) != 0)
		return 22;
	if (priv_drop(0, 0, NULL, &err) != -1 || err.code != EPERM)
		return 23;
	if (strstr(err.msg, "not running as root") == NULL)
		return 24;
	if (priv_drop(getuid(), getgid(), "/", &err) != -1)
		return 25;
	return 0;
}

static void test_no_change_and_refusals(void **state)
{
	assert_int_equal(run_child(child_no_change_and_refusals), 0);
}

static void test_lookup_user(void **state)
{
	struct err err;
	uid_t uid = 1;
	gid_t gid = 1;

	assert_int_equal(priv_lookup_user("root", &uid, &gid, &err), 0);
	assert_int_equal(uid, 0);
	assert_int_equal(gid, 0);
	assert_int_equal(priv_lookup_user("no-such-user-tern", &uid, &gid, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_string_equal(err.msg, "unknown user \"no-such-user-tern\"");
	assert_int_equal(priv_lookup_user("", &uid, &gid, &err), -1);
}

static void test_peer(void **state)
{
	int sv[2], fd;
	uid_t uid = (uid_t)-1;
	char login[64];
	char small[2];
	struct passwd *pw = getpwuid(getuid());

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(priv_peer(sv[0], &uid, login, sizeof(login)), 0);
	assert_int_equal(uid, getuid());
	if (pw != NULL)
		assert_string_equal(login, pw->pw_name);
	/* a name that does not fit: "#UID" is cut, never a wrong name */
	assert_int_equal(priv_peer(sv[0], &uid, small, sizeof(small)), 0);
	assert_int_equal(small[0], '#');
	close(sv[0]);
	close(sv[1]);
	/* not a socket: no credentials */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(priv_peer(fd, &uid, login, sizeof(login)), -1);
	close(fd);
}

static void test_lookup_group(void **state)
{
	struct err err;
	gid_t gid = 1;

	assert_int_equal(priv_lookup_group("root", &gid, &err), 0);
	assert_int_equal(gid, 0);
	assert_int_equal(priv_lookup_group("no-such-group-tern", &gid, &err), -1);
	assert_int_equal(err.code, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_to_nobody),
		cmocka_unit_test(test_drop_chroot),
		cmocka_unit_test(test_no_change_and_refusals),
		cmocka_unit_test(test_lookup_user),
		cmocka_unit_test(test_lookup_group),
		cmocka_unit_test(test_peer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
