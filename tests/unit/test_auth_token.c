/*
 * test_auth_token.c - unit tests for auth/auth_token.c: issue and redeem,
 * single use, binding to user and service, expiry, forged and malformed
 * tokens, hex case, the size limit dropping the oldest, pruning.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "auth/auth.h"
#include "err.h"

static void issue(struct auth_tokens *t, const char *user, const char *service, time_t now,
		  char tok[AUTH_TOKEN_HEX + 1])
{
	struct err err;

	assert_int_equal(auth_tokens_issue(t, user, service, now, tok, &err), 0);
	assert_int_equal(strlen(tok), AUTH_TOKEN_HEX);
	assert_int_equal(strspn(tok, "0123456789abcdef"), AUTH_TOKEN_HEX);
}

static void test_issue_and_redeem_once(void **state)
{
	struct auth_tokens *t = auth_tokens_new(100, 5);
	char a[AUTH_TOKEN_HEX + 1], b[AUTH_TOKEN_HEX + 1];

	issue(t, "bob@example.test", "pop3d", 1000, a);
	issue(t, "bob@example.test", "pop3d", 1000, b);
	assert_string_not_equal(a, b);
	assert_int_equal(auth_tokens_count(t), 2);
	assert_true(auth_tokens_redeem(t, "bob@example.test", "pop3d", a, 1001));
	assert_int_equal(auth_tokens_count(t), 1);
	/* single use */
	assert_false(auth_tokens_redeem(t, "bob@example.test", "pop3d", a, 1001));
	assert_true(auth_tokens_redeem(t, "bob@example.test", "pop3d", b, 1002));
	assert_int_equal(auth_tokens_count(t), 0);
	auth_tokens_free(&t);
	assert_null(t);
	auth_tokens_free(&t);
}

static void test_bound_to_user_and_service(void **state)
{
	struct auth_tokens *t = auth_tokens_new(100, 5);
	char a[AUTH_TOKEN_HEX + 1];

	issue(t, "bob@example.test", "pop3d", 1000, a);
	assert_false(auth_tokens_redeem(t, "carol@example.test", "pop3d", a, 1000));
	assert_false(auth_tokens_redeem(t, "bob@example.test", "imapd", a, 1000));
	assert_false(auth_tokens_redeem(t, "Bob@example.test", "pop3d", a, 1000));
	/* failed attempts do not use it up */
	assert_true(auth_tokens_redeem(t, "bob@example.test", "pop3d", a, 1000));
	auth_tokens_free(&t);
}

static void test_expiry(void **state)
{
	struct auth_tokens *t = auth_tokens_new(100, 5);
	char a[AUTH_TOKEN_HEX + 1], b[AUTH_TOKEN_HEX + 1];

	issue(t, "bob@example.test", "pop3d", 1000, a);
	issue(t, "bob@example.test", "pop3d", 1003, b);
	assert_false(auth_tokens_redeem(t, "bob@example.test", "pop3d", a, 1006));
	assert_int_equal(auth_tokens_count(t), 1);
	/* a clock that went back does not revive or accept anything early */
	assert_false(auth_tokens_redeem(t, "bob@example.test", "pop3d", b, 999));
	auth_tokens_free(&t);
	t = auth_tokens_new(100, 5);
	issue(t, "bob@example.test", "pop3d", 1000, a);
	assert_true(auth_tokens_redeem(t, "bob@example.test", "pop3d", a, 1005));
	issue(t, "x@example.test", "pop3d", 1000, a);
	issue(t, "y@example.test", "pop3d", 1010, b);
	auth_tokens_prune(t, 1010);
	assert_int_equal(auth_tokens_count(t), 1);
	auth_tokens_free(&t);
}

static void test_forged_and_malformed(void **state)
{
	struct auth_tokens *t = auth_tokens_new(100, 5);
	char a[AUTH_TOKEN_HEX + 1], up[AUTH_TOKEN_HEX + 1], forged[AUTH_TOKEN_HEX + 1];

	issue(t, "bob@example.test", "pop3d", 1000, a);
	memcpy(forged, a, sizeof(forged));
	forged[AUTH_TOKEN_HEX - 1] = forged[AUTH_TOKEN_HEX - 1] == '0' ? '1' : '0';
	assert_false(auth_tokens_redeem(t, "bob@example.test", "pop3d", forged, 1000));
	assert_false(auth_tokens_redeem(t, "bob@example.test", "pop3d", "", 1000));
	assert_false(auth_tokens_redeem(t, "bob@example.test", "pop3d", "00", 1000));
	assert_false(auth_tokens_redeem(t, "bob@example.test", "pop3d",
					"zz000000000000000000000000000000", 1000));
	assert_false(auth_tokens_redeem(t, "bob@example.test", "pop3d",
					"000000000000000000000000000000000", 1000));
	/* upper case hex is the same token */
	for (size_t i = 0; i <= AUTH_TOKEN_HEX; i++)
		up[i] = (char)(a[i] >= 'a' && a[i] <= 'f' ? a[i] - 'a' + 'A' : a[i]);
	assert_true(auth_tokens_redeem(t, "bob@example.test", "pop3d", up, 1000));
	auth_tokens_free(&t);
}

static void test_limit_drops_oldest(void **state)
{
	struct auth_tokens *t = auth_tokens_new(3, 5);
	char tok[5][AUTH_TOKEN_HEX + 1];

	for (int i = 0; i < 5; i++)
		issue(t, "bob@example.test", "pop3d", 1000, tok[i]);
	assert_int_equal(auth_tokens_count(t), 3);
	assert_false(auth_tokens_redeem(t, "bob@example.test", "pop3d", tok[0], 1000));
	assert_false(auth_tokens_redeem(t, "bob@example.test", "pop3d", tok[1], 1000));
	/* the youngest in the middle, then the rest: the list stays sound */
	assert_true(auth_tokens_redeem(t, "bob@example.test", "pop3d", tok[3], 1000));
	assert_true(auth_tokens_redeem(t, "bob@example.test", "pop3d", tok[4], 1000));
	issue(t, "bob@example.test", "pop3d", 1001, tok[0]);
	assert_true(auth_tokens_redeem(t, "bob@example.test", "pop3d", tok[2], 1001));
	assert_true(auth_tokens_redeem(t, "bob@example.test", "pop3d", tok[0], 1001));
	assert_int_equal(auth_tokens_count(t), 0);
	auth_tokens_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_and_redeem_once),
		cmocka_unit_test(test_bound_to_user_and_service),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_forged_and_malformed),
		cmocka_unit_test(test_limit_drops_oldest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
