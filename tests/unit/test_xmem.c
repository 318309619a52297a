/*
 * test_xmem.c - unit tests for lib/xmem.c: copies, formatting, and that an
 * overflowing array size is fatal instead of a short allocation.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "log.h"
#include "xmem.h"

static jmp_buf fatal_jmp;

static void fatal_hook(void)
{
	longjmp(fatal_jmp, 1);
}

static void test_copies(void **state)
{
	char *s = xstrdup("abc");
	char *n = xstrndup("abcdef", 2);
	char *m = xmemdup("a\0b", 3);
	char *f = xasprintf("%s-%d", "x", 7);

	assert_string_equal(s, "abc");
	assert_string_equal(n, "ab");
	assert_memory_equal(m, "a\0b", 4);
	assert_string_equal(f, "x-7");
	xfree(&s);
	assert_null(s);
	xfree(&s);
	free(n);
	free(m);
	free(f);
}

static void test_zero_sizes(void **state)
{
	void *p = xmalloc(0);
	void *q = xcalloc(0, 0);

	assert_non_null(p);
	assert_non_null(q);
	free(p);
	free(q);
}

static void test_overflow_is_fatal(void **state)
{
	void *volatile p = NULL;

	log_set_stderr(false);
	log_set_fatal_hook(fatal_hook);
	if (setjmp(fatal_jmp) == 0) {
		p = xreallocarray(NULL, SIZE_MAX / 2, 4);
		fail_msg("xreallocarray overflow returned %p", p);
	}
	log_set_fatal_hook(NULL);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copies),
		cmocka_unit_test(test_zero_sizes),
		cmocka_unit_test(test_overflow_is_fatal),
	};

	log_init("test_xmem");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
