/*
 * test_smtpd_data.c - unit tests for smtpd/smtpd_data.c: the end of DATA,
 * dot-stuffing, every SMTP smuggling variant, size limit, header walk,
 * BDAT mode; each input is also fed one byte at a time and in every
 * two-piece split, and must give the same result.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "smtpd/smtpd_data.h"

struct result {
	struct buf body;
	struct buf headers; /* each header followed by "|" */
	size_t used;
	bool done;
	bool too_big;
	bool cut;
	unsigned long bare_lf, bare_cr;
	uint64_t size;
};

static void sink_body(void *ctx, const char *p, size_t n)
{
	struct result *r = ctx;

	buf_add(&r->body, p, n);
}

static void sink_header(void *ctx, const char *p, size_t n)
{
	struct result *r = ctx;

	buf_add(&r->headers, p, n);
	buf_addc(&r->headers, '|');
}

static const struct smtpd_data_sink sink = {sink_body, sink_header};

/* run - feed in in pieces of step bytes (0: two pieces split at split). */
static void run(const char *in, size_t len, int flags, uint64_t limit, size_t line_max, size_t step,
		size_t split, struct result *r)
{
	struct smtpd_data d;
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	smtpd_data_init(&d, flags, limit, line_max, &sink, r);
	while (off < len) {
		size_t n = step > 0 ? step : (off == 0 ? split : len - off);
		size_t took;

		if (n > len - off)
			n = len - off;
		took = smtpd_data_feed(&d, in + off, n);
		r->used += took;
		off += n;
		if (took < n || smtpd_data_done(&d))
			break;
	}
	if (flags & SMTPD_DATA_CHUNKED)
		smtpd_data_finish(&d);
	r->done = smtpd_data_done(&d);
	r->too_big = d.too_big;
	r->cut = d.header_cut;
	r->bare_lf = d.bare_lf;
	r->bare_cr = d.bare_cr;
	r->size = d.size;
	smtpd_data_deinit(&d);
}

static void result_free(struct result *r)
{
	buf_deinit(&r->body);
	buf_deinit(&r->headers);
}

/* check - in gives body (blen bytes), used bytes taken, done, headers;
 * whole, byte by byte, and every split. */
static void check_full(const char *in, size_t len, int flags, uint64_t limit, size_t line_max,
		       const char *body, size_t blen, size_t used, bool done, const char *headers)
{
	struct result r;

	for (size_t mode = 0; mode <= len + 1; mode++) {
		if (mode == 0)
			run(in, len, flags, limit, line_max, len > 0 ? len : 1, 0, &r);
		else if (mode == 1)
			run(in, len, flags, limit, line_max, 1, 0, &r);
		else
			run(in, len, flags, limit, line_max, 0, mode - 1, &r);
		if (!(limit > 0 && r.too_big)) {
			assert_int_equal(r.body.len, blen);
			assert_memory_equal(buf_cstr(&r.body), body, blen);
		}
		assert_int_equal(r.used, used);
		assert_int_equal(r.done, done);
		if (headers != NULL)
			assert_string_equal(buf_cstr(&r.headers), headers);
		result_free(&r);
	}
}

#define CHECK(in, body, used, done, headers)                                                       \
	check_full(in, sizeof(in) - 1, 0, 0, 1000, body, sizeof(body) - 1, used, done, headers)

static void test_simple_message(void **state)
{
	CHECK("Subject: hi\r\n\r\nbody\r\n.\r\n", "Subject: hi\r\n\r\nbody\r\n", 24, true,
	      "Subject: hi|");
}

static void test_empty_message(void **state)
{
	CHECK(".\r\n", "", 3, true, "");
}

static void test_rest_is_left(void **state)
{
	CHECK("x\r\n.\r\nQUIT\r\n", "x\r\n", 6, true, NULL);
}

static void test_unterminated(void **state)
{
	CHECK("x\r\n.\r", "x\r\n", 5, false, NULL);
	CHECK("x\r\n.", "x\r\n", 4, false, NULL);
}

static void test_dot_stuffing(void **state)
{
	CHECK("..a\r\n.b\r\n..\r\n...\r\na.b\r\n.\r\n", ".a\r\nb\r\n.\r\n..\r\na.b\r\n", 26, true,
	      NULL);
}

/* The smuggling variants: none of them ends the message. */
static void test_smuggling_lf_dot_lf(void **state)
{
	CHECK("a\n.\nMAIL FROM:<x>\r\n.\r\n", "a\n.\nMAIL FROM:<x>\r\n", 22, true, NULL);
}

static void test_smuggling_cr_dot_cr(void **state)
{
	CHECK("a\r.\rMAIL FROM:<x>\r\n.\r\n", "a\r.\rMAIL FROM:<x>\r\n", 22, true, NULL);
}

static void test_smuggling_lf_dot_crlf(void **state)
{
	CHECK("a\n.\r\nMAIL FROM:<x>\r\n.\r\n", "a\n.\r\nMAIL FROM:<x>\r\n", 23, true, NULL);
}

static void test_smuggling_crlf_dot_lf(void **state)
{
	/* a line starting with "." and more after it: the dot goes */
	CHECK("a\r\n.\nMAIL FROM:<x>\r\n.\r\n", "a\r\n\nMAIL FROM:<x>\r\n", 23, true, NULL);
}

static void test_smuggling_crlf_dot_cr(void **state)
{
	CHECK("a\r\n.\rMAIL FROM:<x>\r\n.\r\n", "a\r\n\rMAIL FROM:<x>\r\n", 23, true, NULL);
	CHECK("a\r\n.\r\r\n.\r\n", "a\r\n\r\r\n", 10, true, NULL);
}

static void test_smuggling_cr_crlf(void **state)
{
	CHECK("a\r\r\n.\r\n", "a\r\r\n", 7, true, NULL);
	CHECK("a\r\r.\r\n.\r\n", "a\r\r.\r\n", 9, true, NULL);
}

static void test_bare_counts(void **state)
{
	static const char in[] = "a\nb\rc\r\r\n.\r\n";
	struct result r;

	run(in, sizeof(in) - 1, 0, 0, 1000, 1, 0, &r);
	assert_true(r.done);
	assert_int_equal(r.bare_lf, 1);
	assert_int_equal(r.bare_cr, 2);
	result_free(&r);
}

static void test_nul_kept(void **state)
{
	static const char in[] = "a\0b\r\n.\r\n";
	static const char body[] = "a\0b\r\n";

	check_full(in, sizeof(in) - 1, 0, 0, 1000, body, sizeof(body) - 1, 8, true, NULL);
}

static void test_size_limit(void **state)
{
	static const char in[] = "0123456789\r\n.\r\n";
	struct result r;

	run(in, sizeof(in) - 1, 0, 12, 1000, 1, 0, &r);
	assert_false(r.too_big);
	assert_int_equal(r.size, 12);
	assert_true(r.done);
	result_free(&r);
	run(in, sizeof(in) - 1, 0, 11, 1000, 1, 0, &r);
	assert_true(r.too_big);
	assert_true(r.done);
	assert_int_equal(r.used, sizeof(in) - 1);
	assert_true(r.body.len <= 11);
	result_free(&r);
	check_full(in, sizeof(in) - 1, 0, 5, 1000, "", 0, sizeof(in) - 1, true, NULL);
}

static void test_headers_folded(void **state)
{
	CHECK("Message-ID:\r\n <a@b>\r\nSubject: x\r\n\r\nNot-A: header\r\n.\r\n",
	      "Message-ID:\r\n <a@b>\r\nSubject: x\r\n\r\nNot-A: header\r\n", 53, true,
	      "Message-ID:\r\n <a@b>|Subject: x|");
}

static void test_headers_without_body(void **state)
{
	CHECK("A: 1\r\nB: 2\r\n.\r\n", "A: 1\r\nB: 2\r\n", 15, true, "A: 1|B: 2|");
}

static void test_header_walk_ends_at_non_header(void **state)
{
	CHECK("A: 1\r\nnot a header\r\nB: 2\r\n.\r\n", "A: 1\r\nnot a header\r\nB: 2\r\n", 29, true,
	      "A: 1|");
	CHECK(" folded\r\nA: 1\r\n.\r\n", " folded\r\nA: 1\r\n", 18, true, "");
}

static void test_long_header_line_kept(void **state)
{
	char in[200], body[200];
	size_t n = 0;
	struct result r;

	n += (size_t)snprintf(in, sizeof(in), "A: 1\r\nB: ");
	memset(in + n, 'x', 60);
	n += 60;
	memcpy(in + n, "\r\nC: 3\r\n\r\n.\r\n", 13);
	n += 13;
	memcpy(body, in, n - 3);
	check_full(in, n, 0, 0, 40, body, n - 3, n, true, "A: 1|");
	run(in, n, 0, 0, 40, 1, 0, &r);
	assert_true(r.cut);
	result_free(&r);
}

static void test_chunked(void **state)
{
	static const char in[] = "A: 1\r\n\r\na\r\n.\r\nb\n.\n";

	check_full(in, sizeof(in) - 1, SMTPD_DATA_CHUNKED, 0, 1000, in, sizeof(in) - 1,
		   sizeof(in) - 1, false, "A: 1|");
}

static void test_chunked_headers_at_finish(void **state)
{
	static const char in[] = "A: 1\r\nB: 2";

	/* B has no CR LF: an unfinished line is not handed over */
	check_full(in, sizeof(in) - 1, SMTPD_DATA_CHUNKED, 0, 1000, in, sizeof(in) - 1,
		   sizeof(in) - 1, false, "A: 1|");
}

static void test_nothing_after_end(void **state)
{
	struct smtpd_data d;
	struct result r;

	memset(&r, 0, sizeof(r));
	smtpd_data_init(&d, 0, 0, 100, &sink, &r);
	assert_int_equal(smtpd_data_feed(&d, ".\r\n", 3), 3);
	assert_true(smtpd_data_done(&d));
	assert_int_equal(smtpd_data_feed(&d, "x\r\n", 3), 0);
	smtpd_data_deinit(&d);
	assert_int_equal(r.body.len, 0);
	result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_message),
		cmocka_unit_test(test_empty_message),
		cmocka_unit_test(test_rest_is_left),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_dot_stuffing),
		cmocka_unit_test(test_smuggling_lf_dot_lf),
		cmocka_unit_test(test_smuggling_cr_dot_cr),
		cmocka_unit_test(test_smuggling_lf_dot_crlf),
		cmocka_unit_test(test_smuggling_crlf_dot_lf),
		cmocka_unit_test(test_smuggling_crlf_dot_cr),
		cmocka_unit_test(test_smuggling_cr_crlf),
		cmocka_unit_test(test_bare_counts),
		cmocka_unit_test(test_nul_kept),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_headers_folded),
		cmocka_unit_test(test_headers_without_body),
		cmocka_unit_test(test_header_walk_ends_at_non_header),
		cmocka_unit_test(test_long_header_line_kept),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_chunked_headers_at_finish),
		cmocka_unit_test(test_nothing_after_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
