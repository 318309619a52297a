/*
 * test_paths.c - unit tests for lib/paths.c: the daemon directory from
 * main.cf, beside a daemon, and beside an admin command in sbin/.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "paths.h"

struct tree {
	char root[PATH_MAX];
	char sbin[PATH_MAX + 16];
	char libexec[PATH_MAX + 16];
	char master[PATH_MAX + 32];
};

/* tree_make - ROOT/sbin and ROOT/libexec/tern/master (executable). */
static void tree_make(struct tree *t)
{
	char real[PATH_MAX];
	int fd;

	snprintf(t->root, sizeof(t->root), "/tmp/tern-paths-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	assert_non_null(realpath(t->root, real));
	snprintf(t->root, sizeof(t->root), "%s", real);
	snprintf(t->sbin, sizeof(t->sbin), "%s/sbin", t->root);
	snprintf(t->libexec, sizeof(t->libexec), "%s/libexec", t->root);
	assert_int_equal(mkdir(t->sbin, 0755), 0);
	assert_int_equal(mkdir(t->libexec, 0755), 0);
	snprintf(t->libexec, sizeof(t->libexec), "%s/libexec/tern", t->root);
	assert_int_equal(mkdir(t->libexec, 0755), 0);
	snprintf(t->master, sizeof(t->master), "%s/master", t->libexec);
	fd = open(t->master, O_WRONLY | O_CREAT | O_EXCL, 0755);
	assert_true(fd >= 0);
	close(fd);
}

static void tree_remove(struct tree *t)
{
	char p[PATH_MAX + 64];

	unlink(t->master);
	rmdir(t->libexec);
	snprintf(p, sizeof(p), "%s/libexec", t->root);
	rmdir(p);
	rmdir(t->sbin);
	rmdir(t->root);
}

static void test_beside_daemon(void **state)
{
	struct tree t;
	struct buf out = BUF_INIT;
	char exe[PATH_MAX + 64];

	tree_make(&t);
	snprintf(exe, sizeof(exe), "%s/smtpd", t.libexec);
	paths_beside(exe, &out);
	assert_string_equal(buf_cstr(&out), t.libexec);
	paths_beside(t.master, &out);
	assert_string_equal(buf_cstr(&out), t.libexec);
	tree_remove(&t);
	buf_deinit(&out);
}

static void test_beside_admin_command(void **state)
{
	struct tree t;
	struct buf out = BUF_INIT;
	char exe[PATH_MAX + 64];

	tree_make(&t);
	snprintf(exe, sizeof(exe), "%s/tern", t.sbin);
	paths_beside(exe, &out);
	assert_string_equal(buf_cstr(&out), t.libexec);
	tree_remove(&t);
	buf_deinit(&out);
}

static void test_beside_missing_tree(void **state)
{
	struct buf out = BUF_INIT;

	/* nothing exists: the path is given as computed, not canonical */
	paths_beside("/nonexistent-tern/sbin/tern", &out);
	assert_string_equal(buf_cstr(&out), "/nonexistent-tern/sbin/../libexec/tern");
	paths_beside("tern", &out);
	assert_string_equal(buf_cstr(&out), "./../libexec/tern");
	buf_deinit(&out);
}

static void test_daemon_dir_from_config(void **state)
{
	struct buf out = BUF_INIT;
	struct err err;
	struct cfg *cfg;
	const char text[] = "daemon_directory = /opt/tern/libexec\n";

	cfg = cfg_parse_string("/etc/tern", "main.cf", text, sizeof(text) - 1, &err);
	assert_non_null(cfg);
	assert_int_equal(paths_daemon_dir(cfg, &out, &err), 0);
	assert_string_equal(buf_cstr(&out), "/opt/tern/libexec");
	cfg_free(&cfg);
	buf_deinit(&out);
}

static void test_daemon_dir_default(void **state)
{
	struct buf out = BUF_INIT, want = BUF_INIT;
	struct err err;
	struct cfg *cfg = cfg_new_defaults("/etc/tern");
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	paths_beside(exe, &want);
	assert_int_equal(paths_daemon_dir(cfg, &out, &err), 0);
	assert_string_equal(buf_cstr(&out), buf_cstr(&want));
	assert_int_equal(paths_daemon_dir(NULL, &out, &err), 0);
	assert_string_equal(buf_cstr(&out), buf_cstr(&want));
	cfg_free(&cfg);
	buf_deinit(&out);
	buf_deinit(&want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_beside_daemon),
		cmocka_unit_test(test_beside_admin_command),
		cmocka_unit_test(test_beside_missing_tree),
		cmocka_unit_test(test_daemon_dir_from_config),
		cmocka_unit_test(test_daemon_dir_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
