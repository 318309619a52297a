/*
 * test_tbl.c - unit tests for lib/tbl*.c: hash, btree and lmdb files in a
 * temp directory (build, lookup, case folding, NUL forms, update, delete,
 * iterate, missing and corrupt files, reopen after replacement, the reopen
 * interval), static: and inline: tables including malformed specs.
 * Touches:  a mkdtemp directory under $TMPDIR (or /tmp), removed at the end.
 */
#include "sys.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "tbl.h"
#include "xmem.h"

static char tmpdir[256];

/* path_of - NAME inside the temp directory (heap). */
static char *path_of(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* tpath - TYPE-NAME inside the temp directory (heap), so that the types'
 * runs of one test do not share files. */
static char *tpath(const char *type, const char *name)
{
	return xasprintf("%s/%s-%s", tmpdir, type, name);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* make_source - "TYPE:TMPDIR/TYPE-NAME" (heap), with text in that file. */
static char *make_source(const char *type, const char *name, const char *text)
{
	char *src = tpath(type, name), *spec = xasprintf("%s:%s", type, src);

	write_file(src, text, strlen(text));
	free(src);
	return spec;
}

static void build(const char *spec, const char *text, int kind, int flags)
{
	const char *src = strchr(spec, ':') + 1;
	struct err err;

	write_file(src, text, strlen(text));
	if (tbl_build(spec, NULL, src, kind, flags, &err) < 0)
		fail_msg("tbl_build %s: %s", spec, err.msg);
}

/* lookup - the result code; the value in *val (static buffer of the test). */
static int lookup(struct tbl *t, const char *key, char *val, size_t size)
{
	struct buf b = BUF_INIT;
	struct err err;
	int rc = tbl_lookup(t, key, &b, &err);

	snprintf(val, size, "%s", rc == TBL_TEMPFAIL ? err.msg : buf_cstr(&b));
	buf_deinit(&b);
	return rc;
}

static void assert_found(struct tbl *t, const char *key, const char *want)
{
	char val[512];

	if (lookup(t, key, val, sizeof(val)) != TBL_FOUND)
		fail_msg("%s: %s not found (%s)", tbl_spec(t), key, val);
	assert_string_equal(val, want);
}

static void assert_notfound(struct tbl *t, const char *key)
{
	char val[512];

	assert_int_equal(lookup(t, key, val, sizeof(val)), TBL_NOTFOUND);
}

static int count_pair(const char *key, const char *value, void *ctx)
{
	struct buf *b = ctx;

	buf_printf(b, "%s=%s;", key, value);
	return 0;
}

static int setup_dir(void **state)
{
	const char *base = getenv("TMPDIR");
	int n = snprintf(tmpdir, sizeof(tmpdir) - 7, "%s/test_tbl.", base ? base : "/tmp");

	/* mkdtemp's template: six 'X' at the end. */
	assert_true(n > 0 && (size_t)n < sizeof(tmpdir) - 7);
	memset(tmpdir + n, 'X', 6);
	tmpdir[n + 6] = '\0';
	assert_non_null(mkdtemp(tmpdir));
	tbl_set_reopen_check(0);
	return 0;
}

static int teardown_dir(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = path_of(de->d_name);
		unlink(p);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(tmpdir);
	return 0;
}

/* test_file_basic - build, found/not found, folding, iterate (per type). */
static void test_file_basic(void **state)
{
	const char *type = *state;
	char *spec = make_source(type, "basic", "");
	struct buf all = BUF_INIT;
	struct err err;
	struct tbl *t;

	build(spec, "# users\nAlice@Example.COM  one\nbob two\n  continued\ncarol three\n",
	      TBL_SRC_MAP, 0);
	t = tbl_open(spec, NULL, TBL_RDONLY, &err);
	assert_non_null(t);
	assert_string_equal(tbl_spec(t), spec);
	assert_found(t, "alice@example.com", "one");
	assert_found(t, "ALICE@example.com", "one");
	assert_found(t, "bob", "two continued");
	assert_notfound(t, "dave");
	assert_notfound(t, "");
	assert_int_equal(tbl_iterate(t, count_pair, &all, &err), 0);
	if (strcmp(type, "hash") != 0)
		assert_string_equal(buf_cstr(&all),
				    "alice@example.com=one;bob=two continued;carol=three;");
	else
		assert_int_equal(all.len, strlen("alice@example.com=one;bob=two continued;"
						 "carol=three;"));
	assert_int_equal(tbl_update(t, "x", "y", &err), -1);
	assert_non_null(strstr(err.msg, "read-only"));
	tbl_close(&t);
	assert_null(t);
	buf_deinit(&all);
	free(spec);
}

/* test_file_nofold_nul - TBL_NOFOLD keeps case; TBL_NUL tables are read
 * by handles that do not ask for NUL, and the other way round. */
static void test_file_nofold_nul(void **state)
{
	const char *type = *state;
	char *spec = make_source(type, "nofold", "");
	struct err err;
	struct tbl *t;

	build(spec, "Key Value\n", TBL_SRC_MAP, TBL_NOFOLD | TBL_NUL);
	t = tbl_open(spec, NULL, TBL_NOFOLD, &err);
	assert_non_null(t);
	assert_found(t, "Key", "Value");
	assert_notfound(t, "KEY");
	tbl_close(&t);
	t = tbl_open(spec, NULL, 0, &err);
	assert_notfound(t, "key");
	tbl_close(&t);
	t = tbl_open(spec, NULL, TBL_RDWR | TBL_NUL, &err);
	assert_non_null(t);
	assert_notfound(t, "KEY2");
	assert_int_equal(tbl_update(t, "KEY2", "v2", &err), 0);
	assert_found(t, "key2", "v2");
	tbl_close(&t);
	t = tbl_open(spec, NULL, 0, &err);
	assert_found(t, "key2", "v2");
	tbl_close(&t);
	free(spec);
}

/* test_file_update - update, replace, delete, visible to another reader. */
static void test_file_update(void **state)
{
	const char *type = *state;
	char *spec = make_source(type, "upd", "");
	struct buf all = BUF_INIT;
	struct err err;
	struct tbl *w, *r;

	build(spec, "a 1\n", TBL_SRC_MAP, 0);
	w = tbl_open(spec, NULL, TBL_RDWR, &err);
	r = tbl_open(spec, NULL, TBL_RDONLY, &err);
	assert_non_null(w);
	assert_non_null(r);
	assert_found(r, "a", "1");
	assert_int_equal(tbl_update(w, "B", "2", &err), 0);
	assert_int_equal(tbl_update(w, "a", "one", &err), 0);
	assert_found(w, "b", "2");
	assert_found(r, "b", "2");
	assert_found(r, "a", "one");
	assert_int_equal(tbl_delete(w, "A", &err), TBL_FOUND);
	assert_int_equal(tbl_delete(w, "a", &err), TBL_NOTFOUND);
	assert_notfound(r, "a");
	assert_int_equal(tbl_update(w, "", "x", &err), -1);
	assert_int_equal(tbl_iterate(r, count_pair, &all, &err), 0);
	assert_string_equal(buf_cstr(&all), "b=2;");
	assert_int_equal(tbl_update(r, "c", "3", &err), -1);
	assert_non_null(strstr(err.msg, "read-only"));
	tbl_close(&r);
	tbl_close(&w);
	buf_deinit(&all);
	free(spec);
}

/* test_file_missing - TEMPFAIL until the file appears; TBL_CREATE. */
static void test_file_missing(void **state)
{
	const char *type = *state;
	char *src = tpath(type, "missing"), *spec = xasprintf("%s:%s", type, src), val[512];
	struct err err;
	struct tbl *t, *c;

	unlink(src);
	t = tbl_open(spec, NULL, TBL_RDONLY, &err);
	assert_non_null(t);
	assert_int_equal(lookup(t, "a", val, sizeof(val)), TBL_TEMPFAIL);
	if (strstr(val, "No such file") == NULL)
		fail_msg("%s", val);
	assert_int_equal(tbl_update(t, "a", "b", &err), -1);
	assert_int_equal(tbl_iterate(t, count_pair, NULL, &err), -1);
	c = tbl_open(spec, NULL, TBL_RDWR, &err);
	assert_int_equal(tbl_update(c, "a", "b", &err), -1);
	tbl_close(&c);
	c = tbl_open(spec, NULL, TBL_RDWR | TBL_CREATE, &err);
	assert_non_null(c);
	assert_notfound(c, "a");
	assert_notfound(t, "a");
	assert_int_equal(tbl_update(c, "a", "b", &err), 0);
	assert_found(t, "a", "b");
	tbl_close(&c);
	tbl_close(&t);
	free(spec);
	free(src);
}

/* test_file_corrupt - random bytes in the file: TEMPFAIL, no crash. */
static void test_file_corrupt(void **state)
{
	const char *type = *state;
	char *src = tpath(type, "corrupt"), *spec = xasprintf("%s:%s", type, src), val[512];
	char *file = xasprintf("%s.%s", src, strcmp(type, "lmdb") == 0 ? "lmdb" : "db");
	unsigned char junk[16384];
	struct err err;
	struct tbl *t;

	srand(42);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rand();
	write_file(file, junk, sizeof(junk));
	t = tbl_open(spec, NULL, TBL_RDONLY, &err);
	assert_non_null(t);
	assert_int_equal(lookup(t, "a", val, sizeof(val)), TBL_TEMPFAIL);
	assert_int_equal(tbl_iterate(t, count_pair, NULL, &err), -1);
	/* postmap fixes it: the next lookup reopens. */
	build(spec, "a fixed\n", TBL_SRC_MAP, 0);
	assert_found(t, "a", "fixed");
	tbl_close(&t);
	free(file);
	free(spec);
	free(src);
}

/* test_file_reopen - a rebuilt file is picked up, once per interval. */
static void test_file_reopen(void **state)
{
	const char *type = *state;
	char *spec = make_source(type, "reopen", "");
	struct err err;
	struct tbl *t;

	build(spec, "k old\n", TBL_SRC_MAP, 0);
	t = tbl_open(spec, NULL, TBL_RDONLY, &err);
	assert_found(t, "k", "old");
	build(spec, "k new\nk2 v2\n", TBL_SRC_MAP, 0);
	assert_found(t, "k", "new");
	assert_found(t, "k2", "v2");
	if (strcmp(type, "lmdb") != 0) {
		/* With a long interval the replaced file is not looked at. */
		tbl_set_reopen_check(3600);
		assert_found(t, "k", "new");
		build(spec, "k newer\n", TBL_SRC_MAP, 0);
		assert_found(t, "k", "new");
		tbl_set_reopen_check(0);
		assert_found(t, "k", "newer");
		assert_notfound(t, "k2");
	}
	tbl_close(&t);
	free(spec);
}

/* test_file_concurrent - a reader never sees a half-written table while
 * another process updates and rebuilds it. */
static void test_file_concurrent(void **state)
{
	const char *type = *state;
	char *spec = make_source(type, "conc", ""), val[512];
	struct err err;
	struct tbl *t;
	int status = 0, reads = 0;
	pid_t pid;

	build(spec, "stable yes\n", TBL_SRC_MAP, 0);
	if ((pid = fork()) == 0) {
		struct tbl *w = tbl_open(spec, NULL, TBL_RDWR, &err);
		char key[32];
		int bad = w == NULL;

		for (int i = 0; i < 40 && !bad; i++) {
			snprintf(key, sizeof(key), "k%d", i);
			bad = tbl_update(w, key, "v", &err) < 0 ||
			      tbl_delete(w, key, &err) != TBL_FOUND;
		}
		tbl_close(&w);
		for (int i = 0; i < 10 && !bad; i++)
			bad = tbl_build(spec, NULL, strchr(spec, ':') + 1, TBL_SRC_MAP, 0, &err);
		_exit(bad);
	}
	assert_true(pid > 0);
	t = tbl_open(spec, NULL, 0, &err);
	for (int i = 0; i < 1000000 && waitpid(pid, &status, WNOHANG) == 0; i++, reads++) {
		if (lookup(t, "stable", val, sizeof(val)) != TBL_FOUND)
			fail_msg("read %d: %s", i, val);
	}
	assert_found(t, "stable", "yes");
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(reads > 0);
	tbl_close(&t);
	free(spec);
}

/* test_build_errors - a bad source leaves the old table in place. */
static void test_build_errors(void **state)
{
	const char *type = *state;
	char *spec = make_source(type, "builderr", ""), *src = tpath(type, "builderr");
	struct err err;
	struct tbl *t;

	build(spec, "a 1\n", TBL_SRC_MAP, 0);
	write_file(src, "b 2\nbad\n", 8);
	assert_int_equal(tbl_build(spec, NULL, src, TBL_SRC_MAP, 0, &err), -1);
	assert_non_null(strstr(err.msg, "builderr:2:"));
	t = tbl_open(spec, NULL, 0, &err);
	assert_found(t, "a", "1");
	assert_notfound(t, "b");
	tbl_close(&t);
	/* Duplicates: the last one wins. */
	build(spec, "d 1\nD 2\n", TBL_SRC_MAP, 0);
	t = tbl_open(spec, NULL, 0, &err);
	assert_found(t, "d", "2");
	tbl_close(&t);
	unlink(src);
	assert_int_equal(tbl_build(spec, NULL, src, TBL_SRC_MAP, 0, &err), -1);
	free(src);
	free(spec);
}

static void test_default_type(void **state)
{
	char *src = path_of("deftype"), *file = xasprintf("%s.lmdb", src);
	struct err err;
	struct tbl *t;

	write_file(src, "x y\n", 4);
	assert_int_equal(tbl_build(src, "lmdb", src, TBL_SRC_MAP, 0, &err), 0);
	assert_int_equal(access(file, F_OK), 0);
	t = tbl_open(src, "lmdb", 0, &err);
	assert_found(t, "x", "y");
	tbl_close(&t);
	assert_null(tbl_open("nosuch:/x", NULL, 0, &err));
	assert_non_null(strstr(err.msg, "unsupported type"));
	assert_null(tbl_open("hash:", NULL, 0, &err));
	assert_int_equal(tbl_build("static:x", NULL, src, TBL_SRC_MAP, 0, &err), -1);
	free(file);
	free(src);
}

static void test_static(void **state)
{
	struct buf all = BUF_INIT;
	struct err err;
	struct tbl *t = tbl_open("static:OK", NULL, 0, &err);

	assert_non_null(t);
	assert_found(t, "anything", "OK");
	assert_found(t, "", "OK");
	assert_int_equal(tbl_update(t, "a", "b", &err), -1);
	assert_int_equal(tbl_delete(t, "a", &err), TBL_TEMPFAIL);
	assert_int_equal(tbl_iterate(t, count_pair, &all, &err), -1);
	tbl_close(&t);
	t = tbl_open("static:{ text with spaces }", NULL, 0, &err);
	assert_found(t, "x", "text with spaces");
	tbl_close(&t);
	buf_deinit(&all);
}

static void test_inline(void **state)
{
	struct buf all = BUF_INIT;
	struct err err;
	struct tbl *t = tbl_open("inline:{A=b, c=d e=f,{ g h = i, j }, a=z}", NULL, 0, &err);

	if (t == NULL)
		fail_msg("%s", err.msg);
	assert_found(t, "a", "z");
	assert_found(t, "C", "d");
	assert_found(t, "e", "f");
	assert_found(t, "g h", "i, j");
	assert_notfound(t, "b");
	assert_int_equal(tbl_iterate(t, count_pair, &all, &err), 0);
	assert_string_equal(buf_cstr(&all), "a=b;c=d;e=f;g h=i, j;a=z;");
	assert_int_equal(tbl_update(t, "a", "b", &err), -1);
	tbl_close(&t);
	t = tbl_open("inline:{}", NULL, 0, &err);
	assert_notfound(t, "a");
	tbl_close(&t);
	t = tbl_open("inline:{Key=V}", NULL, TBL_NOFOLD, &err);
	assert_found(t, "Key", "V");
	assert_notfound(t, "key");
	tbl_close(&t);
	buf_deinit(&all);
}

static void test_inline_malformed(void **state)
{
	static const char *const bad[] = {
		"inline:{a=b", "inline:a=b}", "inline:a=b", "inline:{a}", "inline:{=b}",
		"inline:{a=}", "inline:{{a=b}", "inline:{a={b}}", "inline:{a=b}}",
		"inline:{{a=b}, {c}}", "inline:", "inline:{ , ,a}",
	};
	struct err err;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct tbl *t = tbl_open(bad[i], NULL, 0, &err);

		if (t != NULL)
			fail_msg("%s was accepted", bad[i]);
		assert_non_null(strstr(err.msg, bad[i]));
	}
}

#define FILE_TESTS(fn) \
	cmocka_unit_test_prestate(fn, "hash"), cmocka_unit_test_prestate(fn, "btree"), \
	cmocka_unit_test_prestate(fn, "lmdb")

int main(void)
{
	const struct CMUnitTest tests[] = {
		FILE_TESTS(test_file_basic),
		FILE_TESTS(test_file_nofold_nul),
		FILE_TESTS(test_file_update),
		FILE_TESTS(test_file_missing),
		FILE_TESTS(test_file_corrupt),
		FILE_TESTS(test_file_reopen),
		FILE_TESTS(test_file_concurrent),
		FILE_TESTS(test_build_errors),
		cmocka_unit_test(test_default_type),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_inline_malformed),
	};

	log_init("test_tbl");
	log_set_stderr(false);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
