/*
 * test_pickup_hdr.c - unit tests for pickup/pickup_hdr.c: where the header
 * section ends (whole, byte by byte, malformed), sendmail -t recipient
 * extraction with Bcc: removal and Resent-*, local addresses, the added
 * From: line.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "pickup/pickup_hdr.h"

static void test_scan_blank_line(void **state)
{
	const char m[] = "From: a@b\nSubject: x\n  folded\nDate: now\n\nbody\n";
	struct pickup_hdr_scan s;

	assert_int_equal(pickup_hdr_scan(m, sizeof(m) - 1, false, &s), 1);
	assert_true(s.has_blank);
	assert_true(s.has_from);
	assert_true(s.has_date);
	assert_false(s.has_msgid);
	assert_int_equal(s.hdr_len, strlen("From: a@b\nSubject: x\n  folded\nDate: now\n"));
	assert_int_equal(s.body_off, s.hdr_len);
}

static void test_scan_needs_more(void **state)
{
	const char m[] = "Subject: x\nTo: y\n";
	struct pickup_hdr_scan s;

	assert_int_equal(pickup_hdr_scan(m, sizeof(m) - 1, false, &s), 0);
	assert_int_equal(pickup_hdr_scan(m, sizeof(m) - 1, true, &s), 1);
	assert_false(s.has_blank);
	assert_int_equal(s.hdr_len, sizeof(m) - 1);
	/* A last line without LF at the end still counts. */
	assert_int_equal(pickup_hdr_scan("Message-ID: <x>", 15, true, &s), 1);
	assert_true(s.has_msgid);
	assert_int_equal(s.hdr_len, 15);
}

static void test_scan_body_without_headers(void **state)
{
	struct pickup_hdr_scan s;
	const char *cases[] = {"hello world\n", " starts with space\n", ": no name\n",
			       "bad name\x01: x\n", ""};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		assert_int_equal(pickup_hdr_scan(cases[i], strlen(cases[i]), true, &s), 1);
		assert_int_equal(s.hdr_len, 0);
		assert_int_equal(s.body_off, 0);
		assert_false(s.has_blank);
	}
}

static void test_scan_non_header_ends_section(void **state)
{
	const char m[] = "Subject: x\nthis is body\nFrom: not a header\n";
	struct pickup_hdr_scan s;

	assert_int_equal(pickup_hdr_scan(m, sizeof(m) - 1, false, &s), 1);
	assert_false(s.has_blank);
	assert_false(s.has_from);
	assert_int_equal(s.hdr_len, strlen("Subject: x\n"));
}

static void test_scan_crlf_and_resent(void **state)
{
	const char m[] = "Resent-To: a\r\nfrom : b\r\n\r\nx";
	struct pickup_hdr_scan s;

	assert_int_equal(pickup_hdr_scan(m, sizeof(m) - 1, false, &s), 1);
	assert_true(s.has_blank);
	assert_true(s.has_resent);
	assert_true(s.has_from);
	assert_int_equal(s.hdr_len, strlen("Resent-To: a\r\nfrom : b\r\n"));
}

/* Fed one byte more at a time, the verdict only appears once it is sure. */
static void test_scan_bytewise(void **state)
{
	const char m[] = "A: 1\nB: 2\n\tx\n\nbody";
	struct pickup_hdr_scan s;
	size_t end = strlen("A: 1\nB: 2\n\tx\n\n");

	for (size_t n = 0; n < sizeof(m) - 1; n++) {
		int rc = pickup_hdr_scan(m, n, false, &s);

		assert_int_equal(rc, n >= end ? 1 : 0);
		if (rc == 1)
			assert_int_equal(s.hdr_len, end - 1);
	}
}

struct collected {
	struct buf all;
	int count;
};

static int collect(const char *addr, size_t len, void *ctx)
{
	struct collected *c = ctx;

	buf_add(&c->all, addr, len);
	buf_addc(&c->all, ',');
	c->count++;
	return 0;
}

static void test_rcpts_to_cc_bcc(void **state)
{
	const char h[] = "From: me@x\nTo: Bob <bob@example.net>, carol\nSubject: s\n"
			 "Cc: \"D, d\" <d@example.org>\nBcc: secret@example.com,\n"
			 " other@example.com\nX: y\n";
	struct collected c = {BUF_INIT, 0};
	struct buf out = BUF_INIT;
	struct err err;

	assert_int_equal(pickup_hdr_rcpts(h, sizeof(h) - 1, collect, &c, &out, &err), 0);
	assert_int_equal(c.count, 5);
	assert_string_equal(buf_cstr(&c.all), "bob@example.net,carol,d@example.org,"
					      "secret@example.com,other@example.com,");
	assert_string_equal(buf_cstr(&out), "From: me@x\nTo: Bob <bob@example.net>, carol\n"
					    "Subject: s\nCc: \"D, d\" <d@example.org>\nX: y\n");
	buf_deinit(&c.all);
	buf_deinit(&out);
}

static void test_rcpts_resent_wins(void **state)
{
	const char h[] = "To: old@example.net\nResent-To: new@example.net\n"
			 "Resent-Bcc: hidden@example.net\n";
	struct collected c = {BUF_INIT, 0};
	struct buf out = BUF_INIT;
	struct err err;

	assert_int_equal(pickup_hdr_rcpts(h, sizeof(h) - 1, collect, &c, &out, &err), 0);
	assert_string_equal(buf_cstr(&c.all), "new@example.net,hidden@example.net,");
	assert_string_equal(buf_cstr(&out), "To: old@example.net\nResent-To: new@example.net\n");
	buf_deinit(&c.all);
	buf_deinit(&out);
}

static void test_rcpts_bad_address(void **state)
{
	const char h[] = "To: <unterminated\n";
	struct collected c = {BUF_INIT, 0};
	struct err err;

	assert_int_equal(pickup_hdr_rcpts(h, sizeof(h) - 1, collect, &c, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "5.1.3"));
	buf_deinit(&c.all);
}

static void test_addr_parse(void **state)
{
	struct buf out = BUF_INIT;
	struct err err;

	assert_int_equal(pickup_addr_parse("alice", 5, true, &out, &err), 0);
	assert_string_equal(buf_cstr(&out), "alice");
	assert_int_equal(pickup_addr_parse("<Bob@Example.NET>", 17, false, &out, &err), 0);
	assert_string_equal(buf_cstr(&out), "Bob@example.net");
	assert_int_equal(pickup_addr_parse("<>", 2, true, &out, &err), 0);
	assert_string_equal(buf_cstr(&out), "");
	assert_int_equal(pickup_addr_parse("", 0, true, &out, &err), 0);
	assert_int_equal(pickup_addr_parse("<>", 2, false, &out, &err), -1);
	assert_int_equal(pickup_addr_parse("a b", 3, false, &out, &err), -1);
	assert_int_equal(pickup_addr_parse("a\nb", 3, false, &out, &err), -1);
	assert_int_equal(pickup_addr_parse("a\0b", 3, true, &out, &err), -1);
	buf_deinit(&out);
}

static void test_from_line(void **state)
{
	struct buf out = BUF_INIT;

	pickup_hdr_from(NULL, "a@b", &out);
	assert_string_equal(buf_cstr(&out), "From: a@b\n");
	buf_reset(&out);
	pickup_hdr_from("Alice Liddell", "a@b", &out);
	assert_string_equal(buf_cstr(&out), "From: Alice Liddell <a@b>\n");
	buf_reset(&out);
	pickup_hdr_from("Doe, \"J\"\r\nBcc: x", "a@b", &out);
	assert_string_equal(buf_cstr(&out), "From: \"Doe, \\\"J\\\"Bcc: x\" <a@b>\n");
	buf_deinit(&out);
}

static void test_date_shape(void **state)
{
	struct buf out = BUF_INIT;

	pickup_hdr_date(0, &out);
	/* "Thu, 1 Jan 1970 00:00:00 +0000" in UTC; the zone varies elsewhere. */
	assert_true(out.len >= 30);
	assert_non_null(strchr(buf_cstr(&out), ','));
	assert_true(strstr(buf_cstr(&out), " +") != NULL || strstr(buf_cstr(&out), " -") != NULL);
	buf_deinit(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_blank_line),
		cmocka_unit_test(test_scan_needs_more),
		cmocka_unit_test(test_scan_body_without_headers),
		cmocka_unit_test(test_scan_non_header_ends_section),
		cmocka_unit_test(test_scan_crlf_and_resent),
		cmocka_unit_test(test_scan_bytewise),
		cmocka_unit_test(test_rcpts_to_cc_bcc),
		cmocka_unit_test(test_rcpts_resent_wins),
		cmocka_unit_test(test_rcpts_bad_address),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_from_line),
		cmocka_unit_test(test_date_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
