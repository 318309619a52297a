/*
 * test_mailbox.c - unit tests for lib/mailbox.c in a temp Maildir: name
 * parsing (good and malformed), UIDLs, CRLF conversion fed whole and one
 * byte at a time, scans (order, sizes, W= checked against the file,
 * symlinks and directories refused, a huge directory), opening a message
 * renamed behind our back, delete, flags, and the exclusive lock.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "mailbox.h"

static char dir[64];

/* rm_rf - remove the test tree (bounded depth). */
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
	char p[PATH_MAX];

	snprintf(dir, sizeof(dir), "/tmp/test_mailbox.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, (const char *[]){"new", "cur", "tmp"}[i]);
		if (mkdir(p, 0700) < 0)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	rm_rf(dir, 0);
	return 0;
}

/* put - write sub/name with content. */
static void put(const char *sub, const char *name, const char *content)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static bool exists(const char *sub, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
	return lstat(p, &st) == 0;
}

static void test_name_parse(void **state)
{
	struct buf base = BUF_INIT, flags = BUF_INIT;
	uint64_t s, w;

	assert_int_equal(
		mailbox_name_parse("1700000000.M5P9Q1.mx,S=120,W=124:2,SR", &base, &s, &w, &flags),
		0);
	assert_string_equal(buf_cstr(&base), "1700000000.M5P9Q1.mx");
	assert_int_equal(s, 120);
	assert_int_equal(w, 124);
	assert_string_equal(buf_cstr(&flags), "SR");
	assert_int_equal(mailbox_name_parse("plain", &base, &s, &w, &flags), 0);
	assert_string_equal(buf_cstr(&base), "plain");
	assert_true(s == UINT64_MAX && w == UINT64_MAX);
	assert_string_equal(buf_cstr(&flags), "");
	/* malformed numbers and odd suffixes */
	assert_int_equal(mailbox_name_parse("a,S=,W=x1,S", &base, &s, &w, NULL), 0);
	assert_true(s == UINT64_MAX && w == UINT64_MAX);
	assert_int_equal(mailbox_name_parse("a,S=99999999999999999999999", &base, &s, &w, NULL), 0);
	assert_true(s == UINT64_MAX);
	assert_int_equal(mailbox_name_parse("a:1,junk", &base, &s, &w, &flags), 0);
	assert_string_equal(buf_cstr(&flags), "");
	assert_int_equal(mailbox_name_parse("a:2,S1\x01T", &base, &s, &w, &flags), 0);
	assert_string_equal(buf_cstr(&flags), "ST");
	assert_int_equal(mailbox_name_parse(",S=1", &base, &s, &w, NULL), -1);
	assert_int_equal(mailbox_name_parse(":2,S", &base, &s, &w, NULL), -1);
	assert_int_equal(mailbox_name_parse("", &base, &s, &w, NULL), -1);
	buf_deinit(&base);
	buf_deinit(&flags);
}

static void test_uidl(void **state)
{
	struct buf u = BUF_INIT;
	char longname[100];

	mailbox_uidl("1700000000.M5P9Q1.mx", &u);
	assert_string_equal(buf_cstr(&u), "1700000000.M5P9Q1.mx");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	mailbox_uidl(longname, &u);
	assert_int_equal(u.len, 65);
	assert_int_equal(u.data[0], 'H');
	mailbox_uidl("with space", &u);
	assert_int_equal(u.len, 65);
	longname[70] = '\0';
	mailbox_uidl(longname, &u);
	assert_string_equal(buf_cstr(&u), longname);
	buf_deinit(&u);
}

/* crlf - convert in, whole or byte by byte, return the output. */
static void crlf(const char *in, bool dot, bool bytewise, struct buf *out)
{
	struct mailbox_crlf c;
	size_t n = strlen(in);

	buf_reset(out);
	mailbox_crlf_init(&c, dot);
	if (bytewise)
		for (size_t i = 0; i < n; i++)
			mailbox_crlf_add(&c, in + i, 1, out);
	else
		mailbox_crlf_add(&c, in, n, out);
	mailbox_crlf_end(&c, out);
	assert_int_equal(c.out, out->len);
}

static void test_crlf(void **state)
{
	static const struct {
		const char *in;
		bool dot;
		const char *out;
	} cases[] = {
		{"", false, ""},
		{"a\nb\n", false, "a\r\nb\r\n"},
		{"a\r\nb\r\n", false, "a\r\nb\r\n"},
		{"a\n\n", false, "a\r\n\r\n"},
		{"no end", false, "no end\r\n"},
		{"cr end\r", false, "cr end\r\n"},
		{"bare\rcr\n", false, "bare\rcr\r\n"},
		{".a\n..b\nc.\n.\n", true, "..a\r\n...b\r\nc.\r\n..\r\n"},
		{".a\n", false, ".a\r\n"},
		{"x\r\n.y\r\n", true, "x\r\n..y\r\n"},
		{".", true, "..\r\n"},
	};
	struct buf out = BUF_INIT;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			crlf(cases[i].in, cases[i].dot, bytewise, &out);
			assert_string_equal(buf_cstr(&out), cases[i].out);
		}
	}
	buf_deinit(&out);
}

static void test_scan_order_sizes(void **state)
{
	struct mailbox *mb;
	struct err err;

	put("new", "1700000010.M5P1Q1.mx,S=4,W=6", "a\nb\n");
	put("new", "1700000002.M999999P1Q1.mx,S=2,W=3", "x\n");
	put("cur", "1700000002.M1000000P1Q2.mx,S=3,W=4:2,S", "yz\n");
	/* W= that does not fit the file: counted from the content */
	put("new", "1700000011.M1P1Q1.mx,S=99,W=99", "one\ntwo\n");
	/* no size fields at all, and a CRLF file */
	put("cur", "other-mua-name", "r\r\ns\n");
	assert_int_equal(mailbox_open(dir, &mb, &err), 0);
	assert_int_equal(mailbox_scan(mb, 0, &err), 0);
	assert_int_equal(mb->count, 5);
	assert_string_equal(mb->msgs[0].base, "1700000002.M999999P1Q1.mx");
	assert_int_equal(mb->msgs[0].vsize, 3);
	assert_string_equal(mb->msgs[1].base, "1700000002.M1000000P1Q2.mx");
	assert_string_equal(mb->msgs[1].flags, "S");
	assert_false(mb->msgs[1].in_new);
	assert_string_equal(mb->msgs[2].base, "1700000010.M5P1Q1.mx");
	assert_int_equal(mb->msgs[2].vsize, 6);
	assert_string_equal(mb->msgs[3].base, "1700000011.M1P1Q1.mx");
	assert_int_equal(mb->msgs[3].size, 8);
	assert_int_equal(mb->msgs[3].vsize, 10);
	assert_string_equal(mb->msgs[4].base, "other-mua-name");
	assert_int_equal(mb->msgs[4].vsize, 6);
	/* a scan leaves new/ alone */
	assert_true(exists("new", "1700000010.M5P1Q1.mx,S=4,W=6"));
	mailbox_free(&mb);
	assert_null(mb);
}

static void test_scan_refuses_links_and_dirs(void **state)
{
	struct mailbox *mb;
	struct err err;
	char target[PATH_MAX], link[PATH_MAX];

	put("new", "1.M1P1Q1.h,S=2,W=3", "a\n");
	put("tmp", "secret", "secret\n");
	snprintf(target, sizeof(target), "%s/tmp/secret", dir);
	snprintf(link, sizeof(link), "%s/new/2.M1P1Q1.h", dir);
	assert_int_equal(symlink(target, link), 0);
	snprintf(link, sizeof(link), "%s/cur/3.M1P1Q1.h", dir);
	assert_int_equal(mkdir(link, 0700), 0);
	snprintf(link, sizeof(link), "%s/cur/4.M1P1Q1.h", dir);
	assert_int_equal(mkfifo(link, 0600), 0);
	put("cur", ".hidden", "x\n");
	assert_int_equal(mailbox_open(dir, &mb, &err), 0);
	assert_int_equal(mailbox_scan(mb, 0, &err), 0);
	assert_int_equal(mb->count, 1);
	assert_int_equal(mb->skipped, 3);
	mailbox_free(&mb);

	/* a symlinked Maildir or new/ is refused */
	snprintf(link, sizeof(link), "%s/tmp/link", dir);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(mailbox_open(link, &mb, &err), -1);
	assert_true(err.code == ELOOP || err.code == ENOTDIR);
}

static void test_open_missing(void **state)
{
	struct mailbox *mb = NULL;
	struct err err;
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/nonexistent", dir);
	assert_int_equal(mailbox_open(p, &mb, &err), -1);
	assert_int_equal(err.code, ENOENT);
	snprintf(p, sizeof(p), "%s/cur", dir);
	rm_rf(p, 0);
	assert_int_equal(mailbox_open(dir, &mb, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_null(mb);
}

static void test_open_renamed_delete_flags(void **state)
{
	struct mailbox *mb;
	struct err err;
	char from[PATH_MAX], to[PATH_MAX], data[16];
	int fd;

	put("new", "5.M1P1Q1.h,S=6,W=7", "hello\n");
	put("new", "6.M1P1Q1.h,S=2,W=3", "b\n");
	assert_int_equal(mailbox_open(dir, &mb, &err), 0);
	assert_int_equal(mailbox_scan(mb, 0, &err), 0);
	assert_int_equal(mb->count, 2);
	/* another process moves it to cur/ with flags */
	snprintf(from, sizeof(from), "%s/new/5.M1P1Q1.h,S=6,W=7", dir);
	snprintf(to, sizeof(to), "%s/cur/5.M1P1Q1.h,S=6,W=7:2,RS", dir);
	assert_int_equal(rename(from, to), 0);
	fd = mailbox_msg_open(mb, 0, &err);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, data, sizeof(data)), 6);
	close(fd);
	assert_string_equal(mb->msgs[0].name, "5.M1P1Q1.h,S=6,W=7:2,RS");
	/* flags: sorted, no repeats, into cur/ */
	assert_int_equal(mailbox_msg_set_flags(mb, 1, "TSS", &err), 0);
	assert_true(exists("cur", "6.M1P1Q1.h,S=2,W=3:2,ST"));
	assert_false(exists("new", "6.M1P1Q1.h,S=2,W=3"));
	assert_string_equal(mb->msgs[1].flags, "ST");
	/* delete, and deleting again is fine */
	assert_int_equal(mailbox_msg_delete(mb, 0, &err), 0);
	assert_false(exists("cur", "5.M1P1Q1.h,S=6,W=7:2,RS"));
	assert_int_equal(mailbox_msg_delete(mb, 0, &err), 0);
	/* opening a deleted one is ENOENT */
	assert_int_equal(mailbox_msg_open(mb, 0, &err), -1);
	assert_int_equal(err.code, ENOENT);
	mailbox_free(&mb);
}

static void test_move_new(void **state)
{
	struct mailbox *mb;
	struct err err;

	put("new", "7.M1P1Q1.h,S=2,W=3", "b\n");
	assert_int_equal(mailbox_open(dir, &mb, &err), 0);
	assert_int_equal(mailbox_scan(mb, MAILBOX_SCAN_MOVE_NEW, &err), 0);
	assert_int_equal(mb->count, 1);
	assert_false(mb->msgs[0].in_new);
	assert_true(exists("cur", "7.M1P1Q1.h,S=2,W=3:2,"));
	mailbox_free(&mb);
}

static void test_lock(void **state)
{
	struct mailbox *a, *b;
	struct err err;

	assert_int_equal(mailbox_open(dir, &a, &err), 0);
	assert_int_equal(mailbox_open(dir, &b, &err), 0);
	assert_int_equal(mailbox_lock(a, "pop3", &err), 0);
	assert_int_equal(mailbox_lock(b, "pop3", &err), -1);
	assert_int_equal(err.code, EWOULDBLOCK);
	assert_int_equal(mailbox_lock(b, "other", &err), 0);
	mailbox_free(&a);
	mailbox_free(&b);
	assert_int_equal(mailbox_open(dir, &b, &err), 0);
	assert_int_equal(mailbox_lock(b, "pop3", &err), 0);
	mailbox_free(&b);
	assert_true(exists(".", "tern-pop3.lock"));
}

static void test_huge_directory(void **state)
{
	struct mailbox *mb;
	struct err err;
	char name[64];
	const unsigned int n = 5000;

	for (unsigned int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%u.M%uP1Q%u.h,S=2,W=3", 1700000000 + i / 10, i % 10,
			 i);
		put(i % 2 == 0 ? "new" : "cur", name, "m\n");
	}
	assert_int_equal(mailbox_open(dir, &mb, &err), 0);
	assert_int_equal(mailbox_scan(mb, 0, &err), 0);
	assert_int_equal(mb->count, n);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%u.M%uP1Q%u.h", 1700000000 + i / 10, i % 10, i);
		assert_string_equal(mb->msgs[i].base, name);
	}
	mailbox_free(&mb);
}

static void test_vsize_fd(void **state)
{
	uint64_t v;
	struct err err;
	char p[PATH_MAX];
	int fd;

	put("tmp", "v", "a\nb\r\nc");
	snprintf(p, sizeof(p), "%s/tmp/v", dir);
	fd = open(p, O_RDONLY);
	assert_int_equal(mailbox_vsize_fd(fd, &v, &err), 0);
	assert_int_equal(v, 9);
	close(fd);
	assert_int_equal(mailbox_vsize_fd(-1, &v, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_parse),
		cmocka_unit_test(test_uidl),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test_setup_teardown(test_scan_order_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_refuses_links_and_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_renamed_delete_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsize_fd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
