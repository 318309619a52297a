/*
 * test_smtp_reply.c - unit tests for smtp/smtp_reply.c: single and
 * multi-line replies, enhanced status codes, malformed lines, one line at
 * a time, EHLO keywords; and smtp_wire_encode-like dot stuffing is in
 * test_smtp_wire (smtp_req.c needs the daemon).
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "smtp/smtp_reply.h"

static int feed(struct smtp_reply *r, const char *line)
{
	struct err err;

	return smtp_reply_feed(r, line, strlen(line), &err);
}

static void test_single_line(void **state)
{
	struct smtp_reply r;
	struct buf out = BUF_INIT;

	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250 2.1.0 Ok"), 1);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.dsn, "2.1.0");
	assert_true(r.dsn_given);
	assert_true(r.done);
	smtp_reply_format(&r, &out, 100);
	assert_string_equal(buf_cstr(&out), "250 2.1.0 Ok");
	buf_deinit(&out);
	smtp_reply_deinit(&r);
}

static void test_multi_line(void **state)
{
	struct smtp_reply r;
	struct buf out = BUF_INIT;

	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "550-5.7.1 first"), 0);
	assert_int_equal(feed(&r, "550-5.7.1 second"), 0);
	assert_int_equal(feed(&r, "550 5.7.1 third"), 1);
	assert_int_equal(r.code, 550);
	assert_int_equal(r.lines, 3);
	assert_string_equal(r.dsn, "5.7.1");
	smtp_reply_format(&r, &out, 200);
	assert_string_equal(buf_cstr(&out), "550-5.7.1 first 550-5.7.1 second 550 5.7.1 third");
	/* a new reply starts after a complete one */
	assert_int_equal(feed(&r, "354 go ahead"), 1);
	assert_int_equal(r.code, 354);
	assert_string_equal(r.dsn, "3.0.0");
	assert_false(r.dsn_given);
	buf_deinit(&out);
	smtp_reply_deinit(&r);
}

static void test_derived_dsn_and_bare_code(void **state)
{
	struct smtp_reply r;

	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "451 try later"), 1);
	assert_string_equal(r.dsn, "4.0.0");
	assert_int_equal(feed(&r, "250"), 1);
	assert_int_equal(r.code, 250);
	/* a status of the wrong class is not taken */
	assert_int_equal(feed(&r, "550 4.1.1 odd"), 1);
	assert_string_equal(r.dsn, "5.0.0");
	smtp_reply_deinit(&r);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "25", "2x0 ok", "650 no", "150 no", "250Xok", "abc", "099 x",
	};
	struct smtp_reply r;

	smtp_reply_init(&r);
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		smtp_reply_reset(&r);
		assert_int_equal(feed(&r, bad[i]), -1);
	}
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "250-a"), 0);
	assert_int_equal(feed(&r, "251 b"), -1); /* code changed */
	smtp_reply_reset(&r);
	{
		struct err err;
		const char nul[] = "250 a\0b";

		assert_int_equal(smtp_reply_feed(&r, nul, sizeof(nul) - 1, &err), -1);
	}
	smtp_reply_deinit(&r);
}

static void test_too_many_lines(void **state)
{
	struct smtp_reply r;
	int rc = 0;

	smtp_reply_init(&r);
	for (size_t i = 0; i <= SMTP_REPLY_LINES_MAX && rc == 0; i++)
		rc = feed(&r, "250-x");
	assert_int_equal(rc, -1);
	smtp_reply_deinit(&r);
}

static void test_dsn_parse(void **state)
{
	char d[12];

	assert_int_equal(smtp_dsn_parse("5.1.1 x", 7, d), 5);
	assert_string_equal(d, "5.1.1");
	assert_int_equal(smtp_dsn_parse("4.123.456", 9, d), 9);
	assert_int_equal(smtp_dsn_parse("4.1234.5", 8, d), 0);
	assert_int_equal(smtp_dsn_parse("3.1.1", 5, d), 0);
	assert_int_equal(smtp_dsn_parse("5.1.1x", 6, d), 0);
	assert_int_equal(smtp_dsn_parse("5..1", 4, d), 0);
}

static void test_ehlo(void **state)
{
	struct smtp_reply r;
	struct smtp_ehlo e;

	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250-mx.example.net hello"), 0);
	assert_int_equal(feed(&r, "250-PIPELINING"), 0);
	assert_int_equal(feed(&r, "250-size 10240000"), 0);
	assert_int_equal(feed(&r, "250-8BITMIME"), 0);
	assert_int_equal(feed(&r, "250-STARTTLS"), 0);
	assert_int_equal(feed(&r, "250-DSN"), 0);
	assert_int_equal(feed(&r, "250-SMTPUTF8X"), 0);
	assert_int_equal(feed(&r, "250 ENHANCEDSTATUSCODES"), 1);
	smtp_ehlo_parse(&r, &e);
	assert_true(e.pipelining);
	assert_true(e.size);
	assert_int_equal(e.size_limit, 10240000);
	assert_true(e.eightbitmime);
	assert_true(e.starttls);
	assert_true(e.dsn);
	assert_false(e.smtputf8); /* SMTPUTF8X is another keyword */
	assert_true(e.enhancedstatuscodes);
	assert_false(e.chunking);
	/* the greeting line is not a keyword; SIZE without a number */
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "250-PIPELINING"), 0);
	assert_int_equal(feed(&r, "250 SIZE abc"), 1);
	smtp_ehlo_parse(&r, &e);
	assert_false(e.pipelining);
	assert_true(e.size);
	assert_int_equal(e.size_limit, 0);
	assert_int_equal(e.auth, 0);
	/* AUTH mechanisms, in the standard and the old AUTH= form */
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "250-mx hello"), 0);
	assert_int_equal(feed(&r, "250-AUTH SCRAM-SHA-256 login"), 0);
	assert_int_equal(feed(&r, "250-AUTH=PLAIN"), 0);
	assert_int_equal(feed(&r, "250 AUTHX PLAIN"), 1);
	smtp_ehlo_parse(&r, &e);
	assert_int_equal(e.auth, SMTP_AUTH_LOGIN | SMTP_AUTH_OTHER | SMTP_AUTH_PLAIN);
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "250-mx hello"), 0);
	assert_int_equal(feed(&r, "250 AUTH  PLAINX CRAM-MD5 "), 1);
	smtp_ehlo_parse(&r, &e);
	assert_int_equal(e.auth, SMTP_AUTH_OTHER);
	smtp_reply_deinit(&r);
}

static void test_byte_at_a_time_lines(void **state)
{
	/* replies arrive line by line; a reply split over many feeds keeps
	 * its state between calls */
	static const char *const lines[] = {"220-a", "220-b", "220-c", "220 d"};
	struct smtp_reply r;
	int rc = 0;

	smtp_reply_init(&r);
	for (size_t i = 0; i < N_ELEMENTS(lines); i++) {
		rc = feed(&r, lines[i]);
		assert_int_equal(rc, i + 1 == N_ELEMENTS(lines) ? 1 : 0);
	}
	assert_int_equal(r.lines, 4);
	smtp_reply_deinit(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line),
		cmocka_unit_test(test_multi_line),
		cmocka_unit_test(test_derived_dsn_and_bare_code),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_too_many_lines),
		cmocka_unit_test(test_dsn_parse),
		cmocka_unit_test(test_ehlo),
		cmocka_unit_test(test_byte_at_a_time_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
