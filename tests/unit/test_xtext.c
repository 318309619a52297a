/*
 * test_xtext.c - unit tests for lib/xtext.c: RFC 3461 xtext and the
 * RFC 6533 utf-8-addr-xtext / unitext forms, table-driven, plus round
 * trips over every byte.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "xtext.h"

struct case_ {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *out; /* NULL: refused */
};

static void test_decode(void **state)
{
	static const struct case_ cases[] = {
		{ "abc", 0, "abc" },
		{ "user+40example.com", 0, "user@example.com" },
		{ "a+2Bb", 0, "a+b" },
		{ "+3D", 0, "=" },
		{ "+20+09", 0, " \t" },
		{ "!~", 0, "!~" },
		{ "<>", 0, "<>" },
		{ "", 0, NULL },
		{ "a b", 0, NULL },
		{ "a=b", 0, NULL },
		{ "a+", 0, NULL },
		{ "a+4", 0, NULL },
		{ "a+4g", 0, NULL },
		{ "a+2b", 0, NULL },
		{ "a+G0", 0, NULL },
		{ "a\x7f", 0, NULL },
		{ "a\x01", 0, NULL },
		{ "\xc3\xa9", 0, NULL },
		{ "a\0b", 3, NULL },
		{ "a\r\n", 0, NULL },
	};
	struct buf out = BUF_INIT;
	struct err err;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		int rc = xtext_decode(cases[i].in, len, &out, &err);
		assert_int_equal(xtext_valid(cases[i].in, len), rc == 0);
		if (cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("case %zu accepted", i);
			assert_int_equal(out.len, 0);
			assert_int_equal(err.code, 501);
			assert_string_equal(err.msg, "501 5.5.4 Bad xtext");
		} else {
			if (rc != 0)
				fail_msg("case %zu refused", i);
			assert_string_equal(buf_cstr(&out), cases[i].out);
		}
	}
	/* a decoded NUL is data, not an end */
	assert_int_equal(xtext_decode("a+00b", 5, &out, &err), 0);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, "a\0b", 3);
	buf_deinit(&out);
}

static void test_encode_roundtrip(void **state)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	struct err err;
	char all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	xtext_encode(all, sizeof(all), &enc);
	assert_true(xtext_valid(enc.data, enc.len));
	assert_int_equal(xtext_decode(enc.data, enc.len, &dec, &err), 0);
	assert_int_equal(dec.len, 256);
	assert_memory_equal(dec.data, all, 256);
	buf_reset(&enc);
	xtext_encode("a+b=c d", 7, &enc);
	assert_string_equal(buf_cstr(&enc), "a+2Bb+3Dc+20d");
	buf_deinit(&enc);
	buf_deinit(&dec);
}

static void test_decode_utf8addr(void **state)
{
	static const struct {
		const char *in;
		bool utf8;
		const char *out;
	} cases[] = {
		{ "user@example.com", false, "user@example.com" },
		{ "j\\x{F6}rg@example.com", false, "j\xc3\xb6rg@example.com" },
		{ "j\\x{f6}rg@example.com", false, "j\xc3\xb6rg@example.com" },
		{ "\\x{20AC}@example.com", false, "\xe2\x82\xac@example.com" },
		{ "\\x{1F600}@x", false, "\xf0\x9f\x98\x80@x" },
		{ "\\x{10FFFF}", false, "\xf4\x8f\xbf\xbf" },
		{ "a\\x{2B}b\\x{3D}c\\x{5C}", false, "a+b=c\\" },
		{ "\\x{20}", false, " " },
		{ "j\xc3\xb6rg@example.com", true, "j\xc3\xb6rg@example.com" },
		{ "j\xc3\xb6rg@example.com", false, NULL },
		{ "j\xc3rg@example.com", true, NULL },
		{ "\xed\xa0\x80", true, NULL },
		{ "", false, NULL },
		{ "a+b", false, NULL },
		{ "a=b", false, NULL },
		{ "a b", false, NULL },
		{ "a\\b", false, NULL },
		{ "a\\", false, NULL },
		{ "\\x{}", false, NULL },
		{ "\\x{0}", false, NULL },
		{ "\\x{0F6}", false, NULL },
		{ "\\x{110000}", false, NULL },
		{ "\\x{D800}", false, NULL },
		{ "\\x{1000000}", false, NULL },
		{ "\\x{F6", false, NULL },
		{ "\\x{G}", false, NULL },
		{ "\\X{F6}", false, NULL },
		{ "\\x(F6)", false, NULL },
		{ "a\x01", false, NULL },
		{ "a\x7f", true, NULL },
	};
	struct buf out = BUF_INIT;
	struct err err;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		int rc = xtext_decode_utf8addr(cases[i].in, strlen(cases[i].in), cases[i].utf8,
					       &out, &err);
		if (cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("case %zu (%s) accepted", i, cases[i].in);
			assert_int_equal(out.len, 0);
			assert_string_equal(err.msg, "501 5.5.4 Bad utf-8-addr-xtext");
		} else {
			if (rc != 0)
				fail_msg("case %zu (%s) refused", i, cases[i].in);
			assert_string_equal(buf_cstr(&out), cases[i].out);
		}
	}
	assert_int_equal(xtext_decode_utf8addr("a\0b", 3, true, &out, &err), -1);
	buf_deinit(&out);
}

static void test_encode_utf8addr(void **state)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	struct err err;
	const char *in = "J\xc3\xb6rg+x=y\\z \xf0\x9f\x98\x80@b\xc3\xbc" "cher.example";

	xtext_encode_utf8addr(in, strlen(in), &enc);
	assert_string_equal(buf_cstr(&enc), "J\\x{F6}rg\\x{2B}x\\x{3D}y\\x{5C}z\\x{20}\\x{1F600}"
					    "@b\\x{FC}cher.example");
	assert_int_equal(xtext_decode_utf8addr(enc.data, enc.len, false, &dec, &err), 0);
	assert_string_equal(buf_cstr(&dec), in);
	buf_reset(&enc);
	xtext_encode_utf8addr("a\xff\0", 3, &enc);
	assert_string_equal(buf_cstr(&enc), "a\\x{FFFD}\\x{FFFD}");
	buf_deinit(&enc);
	buf_deinit(&dec);
}

/* test_garbage - random input never crashes; accepted input round-trips. */
static void test_garbage(void **state)
{
	static const char alphabet[] = "+=\\x{}0123456789ABCDEFabcdefg \x01\x7f\xc3\xa9\xff";
	struct buf out = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
	struct err err;
	char in[48];
	uint32_t seed = 777;

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(round % 32);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		if (xtext_decode(in, len, &out, &err) == 0) {
			buf_reset(&enc);
			xtext_encode(out.data, out.len, &enc);
			assert_int_equal(xtext_decode(enc.data, enc.len, &dec, &err), 0);
			assert_int_equal(dec.len, out.len);
			assert_memory_equal(dec.data, out.data, out.len);
		}
		if (xtext_decode_utf8addr(in, len, round & 1, &out, &err) == 0) {
			buf_reset(&enc);
			xtext_encode_utf8addr(out.data, out.len, &enc);
			assert_int_equal(xtext_decode_utf8addr(enc.data, enc.len, false, &dec, &err), 0);
			assert_string_equal(buf_cstr(&dec), buf_cstr(&out));
		}
	}
	buf_deinit(&out);
	buf_deinit(&enc);
	buf_deinit(&dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_decode_utf8addr),
		cmocka_unit_test(test_encode_utf8addr),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
