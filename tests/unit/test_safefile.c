/*
 * test_safefile.c - unit tests for lib/safefile.c in a temp directory:
 * durable replace, symlink refusal, component validation, mkdir modes.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "safefile.h"

static char dir[PATH_MAX];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tern-test-safefile.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX + 300];

	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (unlink(p) < 0)
			rmdir(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

/* count_entries - files in dir (to prove no temp file is left behind). */
static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_write_and_read(void **state)
{
	char path[PATH_MAX + 16];
	struct err err;
	struct stat st;
	size_t len;
	char *data;

	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(safefile_write(path, "one", 3, 0640, &err), 0);
	assert_int_equal(safefile_write(path, "two\0x", 5, 0600, &err), 0);
	data = safefile_read(path, 100, &len, &err);
	assert_non_null(data);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "two\0x", 5);
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_entries(), 1);
	assert_null(safefile_read(path, 4, &len, &err));
	assert_non_null(strstr(err.msg, "larger than"));
}

static void test_symlink_refused(void **state)
{
	char path[PATH_MAX + 16], target[PATH_MAX + 16];
	struct err err;
	size_t len;
	char *data;

	snprintf(path, sizeof(path), "%s/link", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	assert_int_equal(safefile_write(target, "x", 1, 0600, &err), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(safefile_open(path, O_RDONLY, 0, &err), -1);
	assert_null(safefile_read(path, 100, &len, &err));
	/* Replacing the link replaces the link itself, not the target. */
	assert_int_equal(safefile_write(path, "new", 3, 0600, &err), 0);
	assert_null(safefile_read(target, 0, &len, &err));
	data = safefile_read(path, 3, &len, &err);
	assert_non_null(data);
	assert_string_equal(data, "new");
	free(data);
}

static void test_read_missing(void **state)
{
	struct err err;
	size_t len;

	assert_null(safefile_read("/nonexistent/tern/x", 10, &len, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/tern/x"));
}

static void test_component(void **state)
{
	char longname[300];

	assert_true(safefile_component_ok("user"));
	assert_true(safefile_component_ok("first.last"));
	assert_false(safefile_component_ok(""));
	assert_false(safefile_component_ok("."));
	assert_false(safefile_component_ok(".."));
	assert_false(safefile_component_ok("a/b"));
	assert_false(safefile_component_ok("-rf"));
	assert_false(safefile_component_ok("a\nb"));
	assert_false(safefile_component_ok("a\x7f"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(safefile_component_ok(longname));
}

static void test_mkdir(void **state)
{
	char path[PATH_MAX + 16];
	struct err err;
	struct stat st;

	snprintf(path, sizeof(path), "%s/d", dir);
	assert_int_equal(safefile_mkdir(path, 0700, (uid_t)-1, (gid_t)-1, &err), 0);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(safefile_mkdir(path, 0710, getuid(), getgid(), &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0710);
	assert_int_equal(safefile_fsync_dir(path, true, &err), 0);
	snprintf(path, sizeof(path), "%s/missing/d", dir);
	assert_int_equal(safefile_mkdir(path, 0700, (uid_t)-1, (gid_t)-1, &err), -1);
}

static void test_streamed_commit(void **state)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 64];
	struct err err;
	size_t len;
	char *data;
	int fd;

	snprintf(path, sizeof(path), "%s/s", dir);
	fd = safefile_tmp_open(path, 0600, tmp, sizeof(tmp), &err);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(safefile_commit(fd, tmp, path, &err), 0);
	data = safefile_read(path, 10, &len, &err);
	assert_string_equal(data, "abc");
	free(data);
	assert_int_equal(access(tmp, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_and_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
		cmocka_unit_test(test_read_missing),
		cmocka_unit_test(test_component),
		cmocka_unit_test_setup_teardown(test_mkdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streamed_commit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
