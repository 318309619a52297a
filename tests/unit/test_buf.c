/*
 * test_buf.c - unit tests for lib/buf.c: growth, caps, binary data.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"

static void test_append_and_cstr(void **state)
{
	struct buf b = BUF_INIT;

	assert_string_equal(buf_cstr(&b), "");
	buf_adds(&b, "hello");
	buf_addc(&b, ' ');
	buf_printf(&b, "%d-%s", 42, "x");
	assert_string_equal(buf_cstr(&b), "hello 42-x");
	assert_int_equal(b.len, 10);
	buf_deinit(&b);
}

static void test_binary_safe(void **state)
{
	struct buf b = BUF_INIT;
	const char data[] = { 'a', '\0', 'b' };

	buf_add(&b, data, sizeof(data));
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, data, 3);
	assert_int_equal(b.data[3], '\0');
	buf_deinit(&b);
}

static void test_cap_sets_overflow(void **state)
{
	struct buf b;

	buf_init(&b, 4);
	buf_adds(&b, "abcd");
	assert_false(buf_overflowed(&b));
	buf_addc(&b, 'e');
	assert_true(buf_overflowed(&b));
	assert_string_equal(buf_cstr(&b), "abcd");
	buf_printf(&b, "%s", "a very long string that does not fit");
	assert_string_equal(buf_cstr(&b), "abcd");
	buf_reset(&b);
	assert_false(buf_overflowed(&b));
	buf_deinit(&b);
}

static void test_large_printf(void **state)
{
	struct buf b = BUF_INIT;
	char big[1000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_printf(&b, "[%s]", big);
	assert_int_equal(b.len, 1001);
	assert_int_equal(b.data[0], '[');
	assert_int_equal(b.data[1000], ']');
	buf_deinit(&b);
}

static void test_consume_truncate_steal(void **state)
{
	struct buf *b = buf_new(0);
	char *s;

	buf_sets(b, "0123456789");
	buf_consume(b, 3);
	assert_string_equal(buf_cstr(b), "3456789");
	buf_truncate(b, 2);
	assert_string_equal(buf_cstr(b), "34");
	buf_consume(b, 10);
	assert_int_equal(b->len, 0);
	buf_sets(b, "kept");
	s = buf_steal(b);
	assert_string_equal(s, "kept");
	assert_int_equal(b->len, 0);
	free(s);
	buf_free(&b);
	assert_null(b);
	buf_free(&b);
}

static void test_reserve_commit(void **state)
{
	struct buf b;
	char *p;

	buf_init(&b, 8);
	p = buf_reserve(&b, 5);
	assert_non_null(p);
	memcpy(p, "abcde", 5);
	buf_commit(&b, 5);
	assert_string_equal(buf_cstr(&b), "abcde");
	assert_null(buf_reserve(&b, 4));
	assert_true(buf_overflowed(&b));
	buf_deinit(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_cstr),
		cmocka_unit_test(test_binary_safe),
		cmocka_unit_test(test_cap_sets_overflow),
		cmocka_unit_test(test_large_printf),
		cmocka_unit_test(test_consume_truncate_steal),
		cmocka_unit_test(test_reserve_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
