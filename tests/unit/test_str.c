/*
 * test_str.c - unit tests for lib/str.c: number and duration parsing with
 * malformed input, splitting, sanitizing, constant-time comparison.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "str.h"

static void test_uint(void **state)
{
	unsigned int n = 7;
	uint64_t u;

	assert_int_equal(str_to_uint("0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(str_to_uint("4294967295", &n), 0);
	assert_int_equal(n, 4294967295u);
	n = 7;
	assert_int_equal(str_to_uint("4294967296", &n), -1);
	assert_int_equal(str_to_uint("", &n), -1);
	assert_int_equal(str_to_uint("-1", &n), -1);
	assert_int_equal(str_to_uint(" 1", &n), -1);
	assert_int_equal(str_to_uint("1x", &n), -1);
	assert_int_equal(n, 7);
	assert_int_equal(str_to_u64("18446744073709551615", &u), 0);
	assert_int_equal(str_to_u64("18446744073709551616", &u), -1);
}

static void test_time(void **state)
{
	long s;

	assert_int_equal(str_to_time("10", 's', &s), 0);
	assert_int_equal(s, 10);
	assert_int_equal(str_to_time("5", 'd', &s), 0);
	assert_int_equal(s, 5 * 86400);
	assert_int_equal(str_to_time("2h", 's', &s), 0);
	assert_int_equal(s, 7200);
	assert_int_equal(str_to_time("1w", 's', &s), 0);
	assert_int_equal(s, 604800);
	assert_int_equal(str_to_time("", 's', &s), -1);
	assert_int_equal(str_to_time("h", 's', &s), -1);
	assert_int_equal(str_to_time("5x", 's', &s), -1);
	assert_int_equal(str_to_time("5ss", 's', &s), -1);
	assert_int_equal(str_to_time("99999999999999999999", 's', &s), -1);
}

static void test_bool(void **state)
{
	bool b;

	assert_int_equal(str_to_bool("YES", &b), 0);
	assert_true(b);
	assert_int_equal(str_to_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(str_to_bool("maybe", &b), -1);
}

static void test_split(void **state)
{
	size_t n;
	char **v = str_split(" a, b,,c ", ", ", &n);

	assert_int_equal(n, 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "c");
	assert_null(v[3]);
	str_split_free(&v);
	assert_null(v);
	v = str_split("", ",", &n);
	assert_int_equal(n, 0);
	str_split_free(&v);
}

static void test_split_braces(void **state)
{
	size_t n;
	char **v = str_split_braces("hash:/a, inline:{a=b, c=d} {x y},z {unclosed, q", ", ", &n);

	assert_int_equal(n, 5);
	assert_string_equal(v[0], "hash:/a");
	assert_string_equal(v[1], "inline:{a=b, c=d}");
	assert_string_equal(v[2], "{x y}");
	assert_string_equal(v[3], "z");
	assert_string_equal(v[4], "{unclosed, q");
	str_split_free(&v);
}

static void test_trim_lower(void **state)
{
	char s[] = "  MiXeD \t\r\n";

	assert_string_equal(str_lower(str_trim(s)), "mixed");
	assert_true(str_eq_ci("Abc", "aBC"));
	assert_true(str_has_prefix_ci("MAIL FROM:<>", "mail from:"));
	assert_false(str_has_prefix_ci("MAIL", "mail from:"));
}

static void test_sanitize(void **state)
{
	struct buf b = BUF_INIT;

	str_sanitize(&b, "a\r\nb\0c", 6, 100);
	assert_string_equal(buf_cstr(&b), "a??b?c");
	buf_reset(&b);
	str_sanitize(&b, "caf\xc3\xa9 \xff", 7, 100);
	assert_string_equal(buf_cstr(&b), "caf\xc3\xa9 ?");
	buf_reset(&b);
	str_sanitize(&b, "\xc3", 1, 100);  /* truncated sequence */
	assert_string_equal(buf_cstr(&b), "?");
	buf_reset(&b);
	str_sanitize(&b, "\xed\xa0\x80", 3, 100);  /* surrogate */
	assert_string_equal(buf_cstr(&b), "???");
	buf_reset(&b);
	str_sanitize(&b, "abcdef", 6, 3);
	assert_string_equal(buf_cstr(&b), "abc...");
	buf_deinit(&b);
}

static void test_eq_ct(void **state)
{
	assert_true(str_eq_ct("secret", 6, "secret", 6));
	assert_false(str_eq_ct("secret", 6, "secreT", 6));
	assert_false(str_eq_ct("secret", 6, "secrets", 7));
	assert_true(str_eq_ct("", 0, "", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_braces),
		cmocka_unit_test(test_trim_lower),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_eq_ct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
