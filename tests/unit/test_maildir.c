/*
 * test_maildir.c - unit tests for lib/maildir.c in a temp directory: name
 * helpers, creation, delivery (content, size in the name, unique names),
 * tmp cleanup when the source fails, symlink refusal.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "maildir.h"

static char dir[64];

/* rm_rf - remove a small test tree (bounded depth). */
static void rm_rf(const char *path, int depth)
{
	DIR *d;
	struct dirent *de;
	char p[PATH_MAX];
	struct stat st;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode) || depth > 4) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		rm_rf(p, depth + 1);
	}
	if (d != NULL)
		closedir(d);
	rmdir(path);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tern-test-maildir.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	rm_rf(dir, 0);
	return 0;
}

/* count_in - entries (not . or ..) in dir/sub; the first name to first. */
static int count_in(const char *sub, char *first, size_t size)
{
	char p[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	d = opendir(p);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 0 && first != NULL)
			snprintf(first, size, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

struct src {
	const char *const *chunks;
	int next;
	int fail_at; /* -1: never */
};

static int src_fn(void *ctx, struct buf *chunk_r, struct err *err)
{
	struct src *s = ctx;

	if (s->next == s->fail_at)
		return err_set(err, "source failed");
	if (s->chunks[s->next] == NULL)
		return 0;
	buf_sets(chunk_r, s->chunks[s->next++]);
	return 1;
}

static void test_names(void **state)
{
	struct buf b = BUF_INIT, f = BUF_INIT;
	struct timeval tv = {1700000000, 123456};
	uint64_t size = 0;

	maildir_tmp_name(&b, &tv, 4242, 7, "mx/a:b");
	assert_string_equal(buf_cstr(&b), "1700000000.M123456P4242Q7.mx\\057a\\072b");
	maildir_final_name(&f, buf_cstr(&b), 120, 125);
	assert_string_equal(buf_cstr(&f), "1700000000.M123456P4242Q7.mx\\057a\\072b,S=120,W=125");
	assert_int_equal(maildir_name_size(buf_cstr(&f), &size), 0);
	assert_int_equal(size, 120);
	assert_int_equal(maildir_name_size("1.M1P1Q1.h,S=99:2,S", &size), 0);
	assert_int_equal(size, 99);
	assert_int_equal(maildir_name_size("1.M1P1Q1.h", &size), -1);
	assert_int_equal(maildir_name_size("1.M1P1Q1.h,S=", &size), -1);
	assert_int_equal(maildir_name_size("1.M1P1Q1.h,S=12x", &size), -1);
	assert_int_equal(maildir_name_size("1.M1P1Q1.h,S=99999999999999999999999", &size), -1);
	buf_deinit(&b);
	buf_deinit(&f);
}

static void test_create(void **state)
{
	char p[PATH_MAX];
	struct err err;
	struct stat st;

	snprintf(p, sizeof(p), "%s/md", dir);
	assert_int_equal(maildir_create(p, (uid_t)-1, (gid_t)-1, &err), 0);
	assert_int_equal(maildir_create(p, (uid_t)-1, (gid_t)-1, &err), 0);
	snprintf(p, sizeof(p), "%s/md/cur", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* no parents are made */
	snprintf(p, sizeof(p), "%s/nope/md", dir);
	assert_int_equal(maildir_create(p, (uid_t)-1, (gid_t)-1, &err), -1);
}

static void test_deliver(void **state)
{
	static const char *const chunks[] = {"Subject: hi\n\n", "line 1\n", "line 2\n", NULL};
	const char prefix[] = "Return-Path: <a@b>\n";
	struct src s = {chunks, 0, -1};
	struct buf name = BUF_INIT;
	struct err err;
	char first[NAME_MAX + 1], p[PATH_MAX + NAME_MAX + 8], data[256];
	uint64_t size;
	FILE *f;
	size_t n;

	assert_int_equal(maildir_create(dir, (uid_t)-1, (gid_t)-1, &err), 0);
	assert_int_equal(maildir_deliver(dir, prefix, sizeof(prefix) - 1, src_fn, &s, &name, &err),
			 0);
	assert_int_equal(count_in("new", first, sizeof(first)), 1);
	assert_int_equal(count_in("tmp", NULL, 0), 0);
	assert_string_equal(first, buf_cstr(&name));
	snprintf(p, sizeof(p), "%s/new/%s", dir, first);
	f = fopen(p, "rb");
	assert_non_null(f);
	n = fread(data, 1, sizeof(data) - 1, f);
	fclose(f);
	data[n] = '\0';
	assert_string_equal(data, "Return-Path: <a@b>\nSubject: hi\n\nline 1\nline 2\n");
	assert_int_equal(maildir_name_size(first, &size), 0);
	assert_int_equal(size, n);
	/* W= counts a CR for each of the 5 LFs */
	assert_non_null(strstr(first, ",W="));
	assert_int_equal(strtoull(strstr(first, ",W=") + 3, NULL, 10), n + 5);
	buf_deinit(&name);
}

static void test_unique_names(void **state)
{
	static const char *const chunks[] = {"x\n", NULL};
	struct buf name = BUF_INIT, prev = BUF_INIT;
	struct err err;

	assert_int_equal(maildir_create(dir, (uid_t)-1, (gid_t)-1, &err), 0);
	for (int i = 0; i < 50; i++) {
		struct src s = {chunks, 0, -1};

		assert_int_equal(maildir_deliver(dir, NULL, 0, src_fn, &s, &name, &err), 0);
		assert_string_not_equal(buf_cstr(&name), buf_cstr(&prev));
		buf_sets(&prev, buf_cstr(&name));
	}
	assert_int_equal(count_in("new", NULL, 0), 50);
	buf_deinit(&name);
	buf_deinit(&prev);
}

static void test_source_failure_cleans_tmp(void **state)
{
	static const char *const chunks[] = {"a\n", "b\n", NULL};
	struct src s = {chunks, 0, 1};
	struct buf name = BUF_INIT;
	struct err err;

	assert_int_equal(maildir_create(dir, (uid_t)-1, (gid_t)-1, &err), 0);
	assert_int_equal(maildir_deliver(dir, "P\n", 2, src_fn, &s, &name, &err), -1);
	assert_string_equal(err.msg, "source failed");
	assert_int_equal(count_in("tmp", NULL, 0), 0);
	assert_int_equal(count_in("new", NULL, 0), 0);
	buf_deinit(&name);
}

static void test_symlinks_refused(void **state)
{
	static const char *const chunks[] = {"a\n", NULL};
	struct src s = {chunks, 0, -1};
	struct buf name = BUF_INIT;
	struct err err;
	char real[PATH_MAX], link_[PATH_MAX], p[PATH_MAX];

	snprintf(real, sizeof(real), "%s/real", dir);
	snprintf(link_, sizeof(link_), "%s/link", dir);
	assert_int_equal(maildir_create(real, (uid_t)-1, (gid_t)-1, &err), 0);
	assert_int_equal(symlink(real, link_), 0);
	/* the Maildir itself is a link */
	assert_int_equal(maildir_deliver(link_, NULL, 0, src_fn, &s, &name, &err), -1);
	assert_int_equal(maildir_create(link_, (uid_t)-1, (gid_t)-1, &err), -1);
	/* its tmp/ is a link */
	snprintf(p, sizeof(p), "%s/md2", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/md2/new", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/md2/tmp", dir);
	assert_int_equal(symlink(real, p), 0);
	snprintf(p, sizeof(p), "%s/md2", dir);
	s.next = 0;
	assert_int_equal(maildir_deliver(p, NULL, 0, src_fn, &s, &name, &err), -1);
	assert_non_null(strstr(err.msg, "symlink"));
	assert_int_equal(count_in("real/tmp", NULL, 0), 0);
	assert_int_equal(count_in("real/new", NULL, 0), 0);
	buf_deinit(&name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unique_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_failure_cleans_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
