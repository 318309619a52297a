/*
 * test_smtpd_header_end.c - unit tests for smtpd_data's header_end: the
 * content offset where smtpd_queue.c inserts a missing Date/Message-ID
 * (before the empty line, before the first line that is not a header,
 * before a folded header cut at a limit, at the end of a header-only
 * message).  Each input is fed whole, one byte at a time and in every
 * two-piece split, in DATA and BDAT mode, and must give the same offset.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "smtpd/smtpd_data.h"

static void sink_body(void *ctx, const char *p, size_t n)
{
	buf_add(ctx, p, n);
}

static const struct smtpd_data_sink sink = {sink_body, NULL};

/* header_end - feed in (steps of step bytes; 0: split at split) and
 * return header_end; body_r gets the content. */
static uint64_t header_end(const char *in, size_t len, int flags, size_t line_max, size_t step,
			   size_t split, struct buf *body_r)
{
	struct smtpd_data d;
	size_t off = 0;
	uint64_t end;

	buf_reset(body_r);
	smtpd_data_init(&d, flags, 0, line_max, &sink, body_r);
	while (off < len) {
		size_t n = step > 0 ? step : (off == 0 ? split : len - off);

		if (n > len - off)
			n = len - off;
		off += n;
		smtpd_data_feed(&d, in + off - n, n);
	}
	if (flags & SMTPD_DATA_CHUNKED)
		smtpd_data_finish(&d);
	assert_false(d.in_header);
	end = d.header_end;
	smtpd_data_deinit(&d);
	return end;
}

/* check - every way of feeding in gives expect; the content before that
 * offset is prefix (same in DATA mode with ".\r\n" appended). */
static void check(const char *in, size_t line_max, const char *prefix)
{
	struct buf body = BUF_INIT, data = BUF_INIT;
	size_t len = strlen(in);
	uint64_t expect = strlen(prefix);

	buf_sets(&data, in);
	buf_adds(&data, ".\r\n");
	for (int mode = 0; mode < 2; mode++) {
		const char *p = mode == 0 ? in : data.data;
		size_t n = mode == 0 ? len : data.len;
		int flags = mode == 0 ? SMTPD_DATA_CHUNKED : 0;

		assert_int_equal(header_end(p, n, flags, line_max, n, 0, &body), expect);
		assert_memory_equal(body.data, prefix, expect);
		assert_int_equal(header_end(p, n, flags, line_max, 1, 0, &body), expect);
		for (size_t split = 1; split < n; split++)
			assert_int_equal(header_end(p, n, flags, line_max, 0, split, &body),
					 expect);
	}
	buf_deinit(&body);
	buf_deinit(&data);
}

static void test_before_empty_line(void **state)
{
	check("From: a@b\r\nSubject: s\r\n\r\nbody\r\n", 100, "From: a@b\r\nSubject: s\r\n");
	check("\r\nbody only\r\n", 100, "");
}

static void test_folded_header_kept_whole(void **state)
{
	check("Subject: one\r\n two\r\n\tthree\r\nX: y\r\n\r\nb\r\n", 100,
	      "Subject: one\r\n two\r\n\tthree\r\nX: y\r\n");
}

static void test_before_non_header_line(void **state)
{
	check("From: a@b\r\nnot a header\r\nmore\r\n", 100, "From: a@b\r\n");
	check("just text\r\n", 100, "");
	check(" leading space\r\nX: y\r\n", 100, "");
}

static void test_header_only_message(void **state)
{
	check("From: a@b\r\nSubject: s\r\n", 100, "From: a@b\r\nSubject: s\r\n");
}

static void test_cut_at_long_line(void **state)
{
	/* a long header line: the section ends before it */
	check("A: 1\r\nB: 0123456789012345678901234567890123456789\r\n\r\nb\r\n", 20, "A: 1\r\n");
	/* a long continuation: before the header it folds */
	check("A: 1\r\nB: 2\r\n 0123456789012345678901234567890123456789\r\n\r\nb\r\n", 20,
	      "A: 1\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_before_empty_line),
		cmocka_unit_test(test_folded_header_kept_whole),
		cmocka_unit_test(test_before_non_header_line),
		cmocka_unit_test(test_header_only_message),
		cmocka_unit_test(test_cut_at_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
