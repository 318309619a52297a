/*
 * test_pop3d_msg.c - unit tests for pop3d/pop3d_msg.c: TOP's cut (0 and n
 * lines, no body, CRLF files, fed whole and one byte at a time) and the
 * hidden list of pop3d_delete_mode = hide (parse, malformed lines, add,
 * pruning against a mailbox).
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "mailbox.h"
#include "pop3d/pop3d_msg.h"

/* top - what TOP lines sends of msg (raw bytes, before CRLF conversion). */
static void top(const char *msg, unsigned int lines, bool bytewise, struct buf *out)
{
	struct pop3d_top t;
	size_t n = strlen(msg);

	buf_reset(out);
	pop3d_top_init(&t, lines);
	if (!bytewise) {
		buf_add(out, msg, pop3d_top_take(&t, msg, n));
		return;
	}
	for (size_t i = 0; i < n; i++)
		buf_add(out, msg + i, pop3d_top_take(&t, msg + i, 1));
}

static void test_top(void **state)
{
	static const struct {
		const char *msg;
		unsigned int lines;
		const char *out;
	} cases[] = {
		{"A: 1\nB: 2\n\nl1\nl2\nl3\n", 0, "A: 1\nB: 2\n\n"},
		{"A: 1\nB: 2\n\nl1\nl2\nl3\n", 2, "A: 1\nB: 2\n\nl1\nl2\n"},
		{"A: 1\nB: 2\n\nl1\nl2\nl3\n", 3, "A: 1\nB: 2\n\nl1\nl2\nl3\n"},
		{"A: 1\nB: 2\n\nl1\nl2\nl3\n", 99, "A: 1\nB: 2\n\nl1\nl2\nl3\n"},
		{"A: 1\r\n\r\nx\r\ny\r\n", 1, "A: 1\r\n\r\nx\r\n"},
		{"A: 1\nB: 2\n", 0, "A: 1\nB: 2\n"},
		{"A: 1\n\n\n\nx\n", 2, "A: 1\n\n\n\n"},
		{"A: 1\n\nno newline", 5, "A: 1\n\nno newline"},
		{"\nbody\n", 0, "\n"},
	};
	struct buf out = BUF_INIT;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		for (int bw = 0; bw < 2; bw++) {
			top(cases[i].msg, cases[i].lines, bw, &out);
			assert_string_equal(buf_cstr(&out), cases[i].out);
		}
	}
	buf_deinit(&out);
}

static void test_hidden(void **state)
{
	static const char text[] = "b.M1\n\na.M2\nbad/name\nctl\x01x\nc.M3";
	struct pop3d_hidden h = {NULL, 0};
	struct buf out = BUF_INIT;

	pop3d_hidden_parse(&h, text, sizeof(text) - 1);
	assert_int_equal(h.n, 3);
	assert_true(pop3d_hidden_has(&h, "a.M2"));
	assert_true(pop3d_hidden_has(&h, "c.M3"));
	assert_false(pop3d_hidden_has(&h, "bad/name"));
	assert_false(pop3d_hidden_has(&h, "z"));
	pop3d_hidden_add(&h, "0.M0");
	pop3d_hidden_add(&h, "0.M0");
	pop3d_hidden_add(&h, "");
	assert_int_equal(h.n, 4);
	pop3d_hidden_format(&h, NULL, &out);
	assert_string_equal(buf_cstr(&out), "0.M0\na.M2\nb.M1\nc.M3\n");
	pop3d_hidden_deinit(&h);
	assert_int_equal(h.n, 0);
	buf_deinit(&out);
}

static void test_hidden_prune(void **state)
{
	struct mailbox_msg msgs[2] = {{.base = (char *)"b.M1"}, {.base = (char *)"x.M9"}};
	struct mailbox mb = {.msgs = msgs, .count = 2};
	struct pop3d_hidden h = {NULL, 0};
	struct buf out = BUF_INIT;

	pop3d_hidden_parse(&h, "a.M2\nb.M1\n", 10);
	pop3d_hidden_format(&h, &mb, &out);
	assert_string_equal(buf_cstr(&out), "b.M1\n");
	pop3d_hidden_parse(&h, "", 0);
	pop3d_hidden_format(&h, &mb, &out);
	assert_string_equal(buf_cstr(&out), "");
	pop3d_hidden_deinit(&h);
	buf_deinit(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_hidden),
		cmocka_unit_test(test_hidden_prune),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
