/*
 * test_tbl_source.c - unit tests for tbl_parse_source (lib/tbl_source.c):
 * map and aliases formats, comments, continuations, CRLF, and the errors
 * for NUL, bare CR, over-long lines and entries, missing value or colon.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "tbl.h"

struct src_case {
	int kind;
	const char *in;
	size_t len;       /* 0: strlen(in) */
	const char *out;  /* "key=value@line;"..., or NULL for an error */
	const char *msg;  /* expected error message (prefix) */
};

static int collect(const char *key, const char *value, int line, void *ctx)
{
	buf_printf(ctx, "%s=%s@%d;", key, value, line);
	return 0;
}

static void run_case(const struct src_case *c)
{
	struct buf out = BUF_INIT;
	struct err err;
	size_t len = c->len != 0 ? c->len : strlen(c->in);
	int rc = tbl_parse_source("src", c->in, len, c->kind, collect, &out, &err);

	if (c->out != NULL) {
		if (rc != 0)
			fail_msg("\"%s\": %s", c->in, err.msg);
		assert_string_equal(buf_cstr(&out), c->out);
	} else {
		if (rc != -1)
			fail_msg("\"%s\" was accepted: %s", c->in, buf_cstr(&out));
		if (strncmp(err.msg, c->msg, strlen(c->msg)) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", c->in, err.msg, c->msg);
	}
	buf_deinit(&out);
}

static void test_map_good(void **state)
{
	static const struct src_case cases[] = {
		{ TBL_SRC_MAP, "", 0, "", NULL },
		{ TBL_SRC_MAP, "\n\n# only comments\n   # indented\n", 0, "", NULL },
		{ TBL_SRC_MAP, "a b\nc  d e  \n", 0, "a=b@1;c=d e@2;", NULL },
		{ TBL_SRC_MAP, "a\tb", 0, "a=b@1;", NULL },
		{ TBL_SRC_MAP, "a b\n  c\n\td\n", 0, "a=b c d@1;", NULL },
		{ TBL_SRC_MAP, "a b\n# note\n\n  c\nx y\n", 0, "a=b c@1;x=y@5;", NULL },
		{ TBL_SRC_MAP, "a\n  b\n", 0, "a=b@1;", NULL },
		{ TBL_SRC_MAP, "a b\r\nc d\r\n", 0, "a=b@1;c=d@2;", NULL },
		{ TBL_SRC_MAP, "a b#c\n", 0, "a=b#c@1;", NULL },
		{ TBL_SRC_MAP, "a:b c\n", 0, "a:b=c@1;", NULL },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++)
		run_case(&cases[i]);
}

static void test_map_bad(void **state)
{
	static const struct src_case cases[] = {
		{ TBL_SRC_MAP, "a\n", 0, NULL, "src:1: expected \"key whitespace value\"" },
		{ TBL_SRC_MAP, "x y\na   \n", 0, NULL, "src:2: expected" },
		{ TBL_SRC_MAP, " a b\n", 0, NULL, "src:1: continuation line without an entry" },
		{ TBL_SRC_MAP, "# c\n\tb\n", 0, NULL, "src:2: continuation line" },
		{ TBL_SRC_MAP, "a b\n c\0d\n", 9, NULL, "src:2: NUL byte" },
		{ TBL_SRC_MAP, "\0", 1, NULL, "src:1: NUL byte" },
		{ TBL_SRC_MAP, "a b\rc d\n", 0, NULL, "src:1: carriage return" },
		{ TBL_SRC_MAP, "a b\r\r\n", 0, NULL, "src:1: carriage return" },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++)
		run_case(&cases[i]);
}

/* test_long_lines - 64 KiB is the longest line and entry. */
static void test_long_lines(void **state)
{
	size_t max = 65536;
	char *in = malloc(max + 16);
	struct err err;
	struct buf out = BUF_INIT;

	assert_non_null(in);
	memset(in, 'v', max + 1);
	memcpy(in, "k ", 2);
	in[max] = '\n';
	assert_int_equal(tbl_parse_source("src", in, max + 1, TBL_SRC_MAP, collect, &out,
					  &err), 0);
	assert_int_equal(out.len, max + strlen("=@1;") - 1);
	in[max] = 'v';
	in[max + 1] = '\n';
	assert_int_equal(tbl_parse_source("src", in, max + 2, TBL_SRC_MAP, collect, &out,
					  &err), -1);
	assert_string_equal(err.msg, "src:1: line longer than 65536 bytes");
	/* Lines under the limit that add up past it through continuations. */
	memset(in, 'v', max);
	memcpy(in, "k ", 2);
	in[max / 2] = '\n';
	in[max / 2 + 1] = ' ';
	in[max - 1] = '\n';
	assert_int_equal(tbl_parse_source("src", in, max, TBL_SRC_MAP, collect, &out, &err),
			 0);
	in[max - 1] = 'v';
	in[max] = 'v';
	in[max + 1] = 'v';
	in[max + 2] = '\n';
	assert_int_equal(tbl_parse_source("src", in, max + 3, TBL_SRC_MAP, collect, &out,
					  &err), -1);
	assert_string_equal(err.msg, "src:1: entry longer than 65536 bytes");
	buf_deinit(&out);
	free(in);
}

static void test_aliases_good(void **state)
{
	static const struct src_case cases[] = {
		{ TBL_SRC_ALIASES, "root: alice, bob\npostmaster:root\n", 0,
		  "root=alice, bob@1;postmaster=root@2;", NULL },
		{ TBL_SRC_ALIASES, "list:\n  a,\n  b\n", 0, "list=a, b@1;", NULL },
		{ TBL_SRC_ALIASES, "pipe : |/bin/cat\n", 0, "pipe=|/bin/cat@1;", NULL },
		{ TBL_SRC_ALIASES, "\"a b\": c\n", 0, "a b=c@1;", NULL },
		{ TBL_SRC_ALIASES, "\"a:b\" : c\n", 0, "a:b=c@1;", NULL },
		{ TBL_SRC_ALIASES, "inc: :include:/etc/list\n", 0, "inc=:include:/etc/list@1;",
		  NULL },
		{ TBL_SRC_ALIASES, "# c\nx: y\r\n", 0, "x=y@2;", NULL },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++)
		run_case(&cases[i]);
}

static void test_aliases_bad(void **state)
{
	static const struct src_case cases[] = {
		{ TBL_SRC_ALIASES, "root alice\n", 0, NULL, "src:1: missing ':'" },
		{ TBL_SRC_ALIASES, "a: b\nroot:\n", 0, NULL, "src:2: empty value for \"root\"" },
		{ TBL_SRC_ALIASES, "root:   \n# c\n", 0, NULL, "src:1: empty value" },
		{ TBL_SRC_ALIASES, ": x\n", 0, NULL, "src:1: empty name" },
		{ TBL_SRC_ALIASES, "\"\": x\n", 0, NULL, "src:1: empty name" },
		{ TBL_SRC_ALIASES, "a b: c\n", 0, NULL, "src:1: whitespace in name" },
		{ TBL_SRC_ALIASES, "\"ab: c\n", 0, NULL, "src:1: missing closing" },
		{ TBL_SRC_ALIASES, "\"ab\" c\n", 0, NULL, "src:1: missing ':'" },
		{ TBL_SRC_ALIASES, "  x: y\n", 0, NULL, "src:1: continuation line" },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++)
		run_case(&cases[i]);
}

static int stop_at_b(const char *key, const char *value, int line, void *ctx)
{
	if (strcmp(key, "b") == 0)
		return err_set(ctx, "stop at %d", line);
	return 0;
}

/* test_callback_stops - fn's -1 ends the parse with fn's own message. */
static void test_callback_stops(void **state)
{
	struct err err;

	assert_int_equal(tbl_parse_source("src", "a 1\nb 2\nc 3\n", 12, TBL_SRC_MAP, stop_at_b,
					  &err, &err), -1);
	assert_string_equal(err.msg, "stop at 2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_good),
		cmocka_unit_test(test_map_bad),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_aliases_good),
		cmocka_unit_test(test_aliases_bad),
		cmocka_unit_test(test_callback_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
