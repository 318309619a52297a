/*
 * test_defer_log.c - unit tests for lib/defer_log.c: append and read back,
 * encoding of hostile text, the last reason per recipient, a cut last
 * entry, malformed lines, validation of entries and file errors.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "defer_log.h"
#include "err.h"

static char dir[64];
static int dfd = -1;

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_defer_log.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	return dfd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	unlinkat(dfd, "log", 0);
	close(dfd);
	return rmdir(dir);
}

static struct defer_log_entry entry(const char *rcpt, const char *status, const char *action,
				    const char *reason)
{
	struct defer_log_entry e = {
		.time = 1700000000, .rcpt_offset = 77, .rcpt = rcpt,
		.orcpt = "rfc822;Bob@Example.NET", .status = status, .action = action,
		.mta = "dns;mx.example.net", .diag = "smtp;451 4.4.1 try again later",
		.reason = reason,
	};

	return e;
}

static void test_append_read(void **state)
{
	struct defer_log_entry e1 = entry("bob@example.net", "4.4.1", "delayed",
					  "connect to mx.example.net[192.0.2.7]:25: timed out");
	struct defer_log_entry e2 = entry("carol@example.net", "5.1.1", "failed",
					  "host said: 550 5.1.1 unknown user\r\n(in reply to RCPT)");
	struct defer_log_entry e3 = entry("bob@example.net", "4.2.0", "delayed", "100% full");
	const struct defer_log_entry *last;
	struct defer_log log;
	struct err err;

	assert_int_equal(defer_log_remove(dfd, "log", &err), 0);
	e2.rcpt_offset = -1;
	e2.orcpt = NULL;
	e2.mta = NULL;
	assert_int_equal(defer_log_append(dfd, "log", &e1, &err), 0);
	assert_int_equal(defer_log_append(dfd, "log", &e2, &err), 0);
	assert_int_equal(defer_log_append(dfd, "log", &e3, &err), 0);
	assert_int_equal(defer_log_read(dfd, "log", &log, &err), 0);
	assert_int_equal(log.count, 3);
	assert_int_equal(log.skipped, 0);
	assert_int_equal(log.entries[0].time, 1700000000);
	assert_int_equal(log.entries[0].rcpt_offset, 77);
	assert_string_equal(log.entries[0].rcpt, "bob@example.net");
	assert_string_equal(log.entries[0].orcpt, "rfc822;Bob@Example.NET");
	assert_string_equal(log.entries[0].status, "4.4.1");
	assert_string_equal(log.entries[0].action, "delayed");
	assert_string_equal(log.entries[0].mta, "dns;mx.example.net");
	assert_string_equal(log.entries[0].diag, "smtp;451 4.4.1 try again later");
	assert_string_equal(log.entries[0].reason, e1.reason);
	assert_int_equal(log.entries[1].rcpt_offset, -1);
	assert_string_equal(log.entries[1].orcpt, "");
	assert_string_equal(log.entries[1].mta, "");
	assert_string_equal(log.entries[1].reason, e2.reason);
	last = defer_log_last(&log, "bob@example.net");
	assert_non_null(last);
	assert_string_equal(last->reason, "100% full");
	assert_null(defer_log_last(&log, "nobody@example.net"));
	defer_log_deinit(&log);
	assert_int_equal(defer_log_remove(dfd, "log", &err), 0);
	assert_int_equal(defer_log_remove(dfd, "log", &err), 0);
}

static void test_one_line_per_entry(void **state)
{
	struct defer_log_entry e = entry("a b@x", "4.0.0", "delayed", "x\ny\rz\t%\x7f end");
	struct buf b = BUF_INIT;
	struct err err;

	assert_int_equal(defer_log_format(&b, &e, &err), 0);
	assert_non_null(memchr(b.data, '\n', b.len));
	assert_ptr_equal(memchr(b.data, '\n', b.len), b.data + b.len - 1);
	assert_null(memchr(b.data, '\r', b.len));
	assert_null(memchr(b.data, '\t', b.len));
	assert_non_null(strstr(b.data, "rcpt=a%20b@x "));
	assert_non_null(strstr(b.data, "reason=x%0Ay%0Dz%09%25%7F%20end\n"));
	buf_deinit(&b);
}

static void test_cut_last_entry(void **state)
{
	struct defer_log_entry e = entry("bob@x", "4.4.1", "delayed", "first");
	struct buf b = BUF_INIT;
	struct defer_log log;
	struct err err;
	int fd;

	assert_int_equal(defer_log_format(&b, &e, &err), 0);
	/* Every cut of a one-entry log reads as empty (never a crash). */
	for (size_t len = 0; len < b.len; len++) {
		defer_log_parse(b.data, len, &log);
		assert_int_equal(log.count, 0);
		assert_int_equal(log.skipped, 0);
		defer_log_deinit(&log);
	}
	/* On disk: a cut entry, then an append starts a fresh line. */
	fd = openat(dfd, "log", O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_int_equal(write(fd, b.data, 20), 20);
	close(fd);
	e.reason = "second";
	assert_int_equal(defer_log_append(dfd, "log", &e, &err), 0);
	assert_int_equal(defer_log_read(dfd, "log", &log, &err), 0);
	assert_int_equal(log.count, 1);
	assert_int_equal(log.skipped, 1);
	assert_string_equal(log.entries[0].reason, "second");
	defer_log_deinit(&log);
	assert_int_equal(defer_log_remove(dfd, "log", &err), 0);
	buf_deinit(&b);
}

static void test_malformed_lines(void **state)
{
	static const char *bad[] = {
		"tern2 time=1 rcpt=a status=4.0.0 action=delayed\n",
		"tern1 rcpt=a status=4.0.0 action=delayed\n",                /* no time */
		"tern1 time=1 status=4.0.0 action=delayed\n",                /* no rcpt */
		"tern1 time=1 rcpt= status=4.0.0 action=delayed\n",
		"tern1 time=1 rcpt=a status=3.0.0 action=delayed\n",
		"tern1 time=1 rcpt=a status=4.0 action=delayed\n",
		"tern1 time=1 rcpt=a status=4.0.0000 action=delayed\n",
		"tern1 time=1 rcpt=a status=4.0.0 action=exploded\n",
		"tern1 time=x rcpt=a status=4.0.0 action=delayed\n",
		"tern1 time=-5 rcpt=a status=4.0.0 action=delayed\n",
		"tern1 time=1 rcpt=a%0 status=4.0.0 action=delayed\n",
		"tern1 time=1 rcpt=a%zz status=4.0.0 action=delayed\n",
		"tern1 time=1 rcpt=a%00b status=4.0.0 action=delayed\n",
		"tern1 time=1 rcpt=a status=4.0.0 action=delayed junk\n",
		"tern1 time=1 off=z rcpt=a status=4.0.0 action=delayed\n",
		"tern1\n",
		"\x01\x02\xff\n",
	};
	const char good[] = "tern1 time=5 rcpt=a status=2.0.0 action=delivered future=x\n";
	struct defer_log log;
	struct buf all = BUF_INIT;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		defer_log_parse(bad[i], strlen(bad[i]), &log);
		assert_int_equal(log.count, 0);
		assert_int_equal(log.skipped, 1);
		defer_log_deinit(&log);
		buf_adds(&all, bad[i]);
		buf_adds(&all, "\n");
	}
	buf_adds(&all, good);
	defer_log_parse(all.data, all.len, &log);
	assert_int_equal(log.count, 1);
	assert_int_equal(log.skipped, N_ELEMENTS(bad));
	assert_string_equal(log.entries[0].action, "delivered");
	assert_string_equal(log.entries[0].reason, "");
	defer_log_deinit(&log);
	buf_deinit(&all);
}

static void test_bad_entries(void **state)
{
	struct defer_log_entry e = entry("a@x", "4.4.1", "delayed", "r");
	char big[DEFER_LOG_ADDR_MAX + 2];
	struct buf b = BUF_INIT;
	struct err err;

	e.status = "4.4";
	assert_int_equal(defer_log_format(&b, &e, &err), -1);
	e.status = "4.4.1";
	e.action = "gone";
	assert_int_equal(defer_log_format(&b, &e, &err), -1);
	e.action = "failed";
	e.rcpt = "";
	assert_int_equal(defer_log_format(&b, &e, &err), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	e.rcpt = big;
	assert_int_equal(defer_log_append(dfd, "log", &e, &err), -1);
	assert_int_equal(b.len, 0);
	buf_deinit(&b);
}

static void test_long_text_cut(void **state)
{
	char reason[3 * DEFER_LOG_TEXT_MAX];
	struct defer_log_entry e = entry("a@x", "5.0.0", "failed", reason);
	struct buf b = BUF_INIT;
	struct defer_log log;
	struct err err;

	/* Two-byte UTF-8 characters shifted by one: the cut must not split one. */
	reason[0] = 'x';
	for (size_t i = 1; i + 1 < sizeof(reason) - 1; i += 2) {
		reason[i] = (char)0xc3;
		reason[i + 1] = (char)0xa4;
	}
	reason[sizeof(reason) - 1] = '\0';
	assert_int_equal(defer_log_format(&b, &e, &err), 0);
	assert_true(b.len < DEFER_LOG_LINE_MAX);
	defer_log_parse(b.data, b.len, &log);
	assert_int_equal(log.count, 1);
	assert_true(strlen(log.entries[0].reason) <= DEFER_LOG_TEXT_MAX);
	assert_int_equal(strlen(log.entries[0].reason) % 2, 1);
	defer_log_deinit(&log);
	buf_deinit(&b);
}

static void test_file_errors(void **state)
{
	struct defer_log_entry e = entry("a@x", "4.4.1", "delayed", "r");
	struct defer_log log;
	struct err err;

	/* Missing: empty.  A directory or a symlink: an error. */
	assert_int_equal(defer_log_read(dfd, "missing", &log, &err), 0);
	assert_int_equal(log.count, 0);
	defer_log_deinit(&log);
	assert_int_equal(mkdirat(dfd, "sub", 0700), 0);
	assert_int_equal(defer_log_read(dfd, "sub", &log, &err), -1);
	assert_int_equal(defer_log_append(dfd, "sub", &e, &err), -1);
	assert_int_equal(unlinkat(dfd, "sub", AT_REMOVEDIR), 0);
	assert_int_equal(symlinkat("/etc/passwd", dfd, "link"), 0);
	assert_int_equal(defer_log_read(dfd, "link", &log, &err), -1);
	assert_int_equal(defer_log_append(dfd, "link", &e, &err), -1);
	assert_int_equal(unlinkat(dfd, "link", 0), 0);
}

/* The agents' entry point: the log directory is made when missing; a
 * symlink in its place is refused. */
static void test_append_queue(void **state)
{
	struct defer_log_entry e = entry("a@x", "5.1.1", "failed", "no such user");
	struct defer_log log;
	struct err err;
	int bfd;

	assert_int_equal(defer_log_append_queue(dir, "bounce", "QID1", &e, &err), 0);
	assert_int_equal(defer_log_append_queue(dir, "bounce", "QID1", &e, &err), 0);
	bfd = openat(dfd, "bounce", O_RDONLY | O_DIRECTORY);
	assert_true(bfd >= 0);
	assert_int_equal(defer_log_read(bfd, "QID1", &log, &err), 0);
	assert_int_equal(log.count, 2);
	assert_string_equal(log.entries[1].reason, "no such user");
	defer_log_deinit(&log);
	assert_int_equal(defer_log_remove(bfd, "QID1", &err), 0);
	close(bfd);
	assert_int_equal(unlinkat(dfd, "bounce", AT_REMOVEDIR), 0);
	assert_int_equal(symlinkat("/tmp", dfd, "defer"), 0);
	assert_int_equal(defer_log_append_queue(dir, "defer", "QID1", &e, &err), -1);
	assert_int_equal(unlinkat(dfd, "defer", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_read),
		cmocka_unit_test(test_one_line_per_entry),
		cmocka_unit_test(test_cut_last_entry),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_long_text_cut),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_append_queue),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
