/*
 * test_showq_access.c - unit tests for showq/showq_access.c: matching a
 * user name against authorized_*_users lists (names, static:anyone,
 * inline tables, an unreadable table fails closed) and the refusal text.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "err.h"
#include "showq/showq.h"
#include "str.h"

/* match - showq_access_match of login against the list text. */
static int match(const char *list_text, const char *login)
{
	size_t n;
	char **list = str_split_braces(list_text, ", \t", &n);
	struct err err;
	int rc = showq_access_match(list, login, &err);

	str_split_free(&list);
	return rc;
}

static void test_match(void **state)
{
	assert_int_equal(match("static:anyone", "nobody"), 1);
	assert_int_equal(match("", "nobody"), 0);
	assert_int_equal(match("root", "nobody"), 0);
	assert_int_equal(match("root", "root"), 1);
	assert_int_equal(match("alice, nobody bob", "nobody"), 1);
	assert_int_equal(match("Nobody", "nobody"), 0); /* user names are exact */
	assert_int_equal(match("nobodyx", "nobody"), 0);
	assert_int_equal(match("inline:{nobody=yes, carol=yes}", "nobody"), 1);
	assert_int_equal(match("inline:{carol=yes}", "nobody"), 0);
	assert_int_equal(match("root inline:{carol=yes} nobody", "nobody"), 1);
}

static void test_unreadable_table_fails_closed(void **state)
{
	assert_int_equal(match("hash:/nonexistent/dir/users", "nobody"), -1);
	assert_int_equal(match("nosuchtype:/x", "nobody"), -1);
	/* A name found before the broken table still matches. */
	assert_int_equal(match("nobody hash:/nonexistent/dir/users", "nobody"), 1);
}

/* check - showq_access_check with this main.cf text. */
static int check(const char *maincf, uid_t uid, const char *login, const char *param,
		 const char *verb, struct err *err)
{
	struct cfg *cfg = cfg_parse_string("/nonexistent", "main.cf", maincf, strlen(maincf), err);
	int rc;

	assert_non_null(cfg);
	showq_access_init(cfg);
	rc = showq_access_check(cfg, param, verb, uid, login, err);
	cfg_free(&cfg);
	return rc;
}

static void test_check(void **state)
{
	struct err err;

	/* The default: anyone. */
	assert_int_equal(check("", 4321, "nobody", "authorized_mailq_users", "list", &err), 0);
	assert_int_equal(check("", 4321, "nobody", "authorized_flush_users", "flush", &err), 0);
	/* Refused, with the message postqueue prints. */
	assert_int_equal(check("authorized_mailq_users = root\n", 4321, "nobody",
			       "authorized_mailq_users", "list", &err),
			 -1);
	assert_string_equal(err.msg, "User nobody(4321) is not allowed to list the mail queue");
	assert_int_equal(check("authorized_flush_users = alice\n", 4321, "nobody",
			       "authorized_flush_users", "flush", &err),
			 -1);
	assert_string_equal(err.msg, "User nobody(4321) is not allowed to flush the mail queue");
	/* Only the list in question counts. */
	assert_int_equal(check("authorized_flush_users = root\n", 4321, "nobody",
			       "authorized_mailq_users", "list", &err),
			 0);
	/* root, and this process's own uid (the mail owner), always may. */
	assert_int_equal(check("authorized_mailq_users =\n", 0, "root", "authorized_mailq_users",
			       "list", &err),
			 0);
	assert_int_equal(check("authorized_mailq_users =\n", getuid(), "me",
			       "authorized_mailq_users", "list", &err),
			 0);
	/* An unreadable table refuses. */
	assert_int_equal(check("authorized_mailq_users = hash:/nonexistent/x\n", 4321, "nobody",
			       "authorized_mailq_users", "list", &err),
			 -1);
	assert_string_equal(err.msg, "User nobody(4321) is not allowed to list the mail queue");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_unreadable_table_fails_closed),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
