/*
 * test_log.c - unit tests for lib/log.c: the Postfix line shape in a
 * maillog file, level prefixes, control-byte sanitizing, fatal hook.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <limits.h>
#include <regex.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "safefile.h"

static char path[PATH_MAX];

static int setup(void **state)
{
	struct err err;
	int fd;

	snprintf(path, sizeof(path), "/tmp/tern-test-log.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	log_init("unittest");
	log_set_hostname("mx.example.test");
	log_set_stderr(false);
	return log_set_file(path, &err);
}

static int teardown(void **state)
{
	struct err err;

	if (log_set_file(NULL, &err) < 0)
		return -1;
	unlink(path);
	return 0;
}

static char *read_log(void)
{
	struct err err;
	size_t len;

	return safefile_read(path, 1 << 20, &len, &err);
}

static void test_line_shape(void **state)
{
	regex_t re;
	char *text;

	log_info("%s: from=<%s>, size=%d", "4Z3bYF2xz5", "a@b.example", 42);
	text = read_log();
	assert_non_null(text);
	assert_int_equal(regcomp(&re,
				 "^[A-Z][a-z][a-z] [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] "
				 "mx\\.example\\.test tern/unittest\\[[0-9]+\\]: "
				 "4Z3bYF2xz5: from=<a@b\\.example>, size=42\n$",
				 REG_EXTENDED),
			 0);
	assert_int_equal(regexec(&re, text, 0, NULL, 0), 0);
	regfree(&re);
	free(text);
}

static void test_prefixes_and_debug(void **state)
{
	char *text;

	log_warn("w");
	log_error("e");
	log_debug("hidden");
	log_set_debug(true);
	log_debug("shown");
	log_set_debug(false);
	text = read_log();
	assert_non_null(strstr(text, "]: warning: w\n"));
	assert_non_null(strstr(text, "]: error: e\n"));
	assert_null(strstr(text, "hidden"));
	assert_non_null(strstr(text, "]: shown\n"));
	free(text);
}

static void test_sanitized(void **state)
{
	char *text;

	log_info("evil%s", "\r\nMar  1 00:00:00 host tern/smtpd[1]: forged");
	text = read_log();
	/* One line only: the CR LF became "??". */
	assert_non_null(strstr(text, "evil??Mar"));
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
	free(text);
}

static void test_name_prefix(void **state)
{
	char *text;

	log_set_name("tern/smtpd");
	log_info("x");
	log_set_name("qmgr");
	log_info("y");
	text = read_log();
	assert_non_null(strstr(text, " tern/smtpd["));
	assert_non_null(strstr(text, " tern/qmgr["));
	assert_null(strstr(text, "tern/tern/"));
	free(text);
}

static void test_bad_syslog_facility(void **state)
{
	struct err err;

	assert_int_equal(log_set_syslog(true, "nosuch", "tern", &err), -1);
	assert_non_null(strstr(err.msg, "nosuch"));
}

static void test_bad_file(void **state)
{
	struct err err;

	assert_int_equal(log_set_file("/nonexistent/dir/maillog", &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/dir/maillog"));
}

static void test_format_delay(void **state)
{
	struct buf b = BUF_INIT;
	static const double in[] = { -1, 0.004, 0.1, 0.123, 3.46, 9.99, 10, 75.4 };

	for (size_t i = 0; i < N_ELEMENTS(in); i++) {
		if (i > 0)
			buf_adds(&b, " ");
		log_format_delay(&b, in[i]);
	}
	assert_string_equal(buf_cstr(&b), "0 0 0.1 0.12 3.5 10 10 75");
	buf_deinit(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefixes_and_debug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sanitized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_prefix, setup, teardown),
		cmocka_unit_test(test_bad_syslog_facility),
		cmocka_unit_test(test_bad_file),
		cmocka_unit_test(test_format_delay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
