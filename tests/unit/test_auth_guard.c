/*
 * test_auth_guard.c - unit tests for auth/auth_guard.c: delays that grow
 * and cap, blocks per client and per user at their limits, unblocking after
 * block_time, the window forgetting old failures, pruning, many keys.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "auth/auth.h"

static const struct auth_guard_cfg cfg = {
	.window = 60,
	.block_time = 600,
	.client_limit = 3,
	.user_limit = 5,
	.delay_ms = 1000,
	.delay_max_ms = 4000,
};

static void test_delay_grows_and_caps(void **state)
{
	struct auth_guard_cfg c = cfg;
	struct auth_guard *g;

	c.client_limit = 0;
	c.user_limit = 0;
	g = auth_guard_new(&c);
	assert_int_equal(auth_guard_fail(g, "192.0.2.1", NULL, 100), 1000);
	assert_int_equal(auth_guard_fail(g, "192.0.2.1", NULL, 100), 2000);
	assert_int_equal(auth_guard_fail(g, "192.0.2.1", NULL, 100), 4000);
	assert_int_equal(auth_guard_fail(g, "192.0.2.1", NULL, 100), 4000);
	/* another client starts at the beginning; limits 0 never block */
	assert_int_equal(auth_guard_fail(g, "192.0.2.2", NULL, 100), 1000);
	assert_false(auth_guard_blocked(g, "192.0.2.1", NULL, 100, NULL));
	/* after the window the count starts again */
	assert_int_equal(auth_guard_fail(g, "192.0.2.1", NULL, 161), 1000);
	auth_guard_free(&g);
	assert_null(g);
}

static void test_client_block_and_unblock(void **state)
{
	struct auth_guard *g = auth_guard_new(&cfg);
	long left = 0;

	auth_guard_fail(g, "192.0.2.1", "a@example.test", 1000);
	auth_guard_fail(g, "192.0.2.1", "b@example.test", 1001);
	assert_false(auth_guard_blocked(g, "192.0.2.1", NULL, 1001, &left));
	assert_int_equal(left, 0);
	auth_guard_fail(g, "192.0.2.1", "c@example.test", 1002);
	assert_true(auth_guard_blocked(g, "192.0.2.1", NULL, 1002, &left));
	assert_int_equal(left, 600);
	assert_true(auth_guard_blocked(g, "192.0.2.1", "z@example.test", 1500, &left));
	assert_int_equal(left, 102);
	assert_false(auth_guard_blocked(g, "192.0.2.9", "a@example.test", 1002, NULL));
	assert_false(auth_guard_blocked(g, "192.0.2.1", NULL, 1602, NULL));
	/* after the block the client starts afresh */
	auth_guard_fail(g, "192.0.2.1", NULL, 1603);
	assert_false(auth_guard_blocked(g, "192.0.2.1", NULL, 1603, NULL));
	auth_guard_free(&g);
}

static void test_user_block_across_clients(void **state)
{
	struct auth_guard *g = auth_guard_new(&cfg);
	char client[32];

	for (int i = 0; i < 5; i++) {
		snprintf(client, sizeof(client), "198.51.100.%d", i);
		auth_guard_fail(g, client, "victim@example.test", 50);
	}
	assert_true(auth_guard_blocked(g, NULL, "victim@example.test", 51, NULL));
	assert_true(auth_guard_blocked(g, "203.0.113.1", "victim@example.test", 51, NULL));
	assert_false(auth_guard_blocked(g, "203.0.113.1", "other@example.test", 51, NULL));
	assert_false(auth_guard_blocked(g, NULL, "victim@example.test", 650, NULL));
	auth_guard_free(&g);
}

static void test_success_forgets_user(void **state)
{
	struct auth_guard *g = auth_guard_new(&cfg);

	for (int i = 0; i < 4; i++)
		auth_guard_fail(g, i % 2 ? "192.0.2.1" : "192.0.2.2", "u@example.test", 10);
	auth_guard_success(g, "u@example.test");
	auth_guard_fail(g, "192.0.2.3", "u@example.test", 10);
	assert_false(auth_guard_blocked(g, NULL, "u@example.test", 10, NULL));
	auth_guard_success(g, "unknown@example.test");
	auth_guard_free(&g);
}

static void test_prune_and_many(void **state)
{
	struct auth_guard *g = auth_guard_new(&cfg);
	char key[32];

	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
		auth_guard_fail(g, key, NULL, 10);
	}
	assert_int_equal(auth_guard_count(g), 5000);
	for (int i = 0; i < 3; i++)
		auth_guard_fail(g, "10.9.9.9", NULL, 20);
	auth_guard_prune(g, 50);
	assert_int_equal(auth_guard_count(g), 5001);
	auth_guard_prune(g, 71);
	/* only the blocked one is left */
	assert_int_equal(auth_guard_count(g), 1);
	assert_true(auth_guard_blocked(g, "10.9.9.9", NULL, 71, NULL));
	auth_guard_prune(g, 700);
	assert_int_equal(auth_guard_count(g), 0);
	auth_guard_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_grows_and_caps),
		cmocka_unit_test(test_client_block_and_unblock),
		cmocka_unit_test(test_user_block_across_clients),
		cmocka_unit_test(test_success_forgets_user),
		cmocka_unit_test(test_prune_and_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
