/*
 * test_pop3d_cmd.c - unit tests for pop3d/pop3d_cmd.c: every verb with
 * good arguments, case, spacing, and malformed input (unknown verbs, NUL
 * and control bytes, wrong argument counts, bad and boundary numbers,
 * over-long arguments, PASS with spaces).
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "err.h"
#include "pop3d/pop3d_cmd.h"

/* parse - run the parser on a C string (or n bytes when n > 0). */
static int parse(struct pop3d_cmd *cmd, const char *line, size_t n, struct err *err)
{
	return pop3d_cmd_parse(line, n > 0 ? n : strlen(line), cmd, err);
}

static void test_good(void **state)
{
	static const struct {
		const char *line;
		enum pop3d_verb verb;
		unsigned int nargs, msg, lines;
		const char *arg, *arg2;
	} cases[] = {
		{"USER alice@example.org", POP3D_USER, 1, 0, 0, "alice@example.org", ""},
		{"user Bob", POP3D_USER, 1, 0, 0, "Bob", ""},
		{"PASS secret", POP3D_PASS, 1, 0, 0, "secret", ""},
		{"PASS  two  spaces ", POP3D_PASS, 1, 0, 0, " two  spaces ", ""},
		{"APOP mrose c4c9334bac560ecc979e58001b3e22fb", POP3D_APOP, 2, 0, 0, "mrose",
		 "c4c9334bac560ecc979e58001b3e22fb"},
		{"AUTH", POP3D_AUTH, 0, 0, 0, "", ""},
		{"AUTH PLAIN", POP3D_AUTH, 1, 0, 0, "PLAIN", ""},
		{"AUTH plain AGFsaWNlAHB3", POP3D_AUTH, 2, 0, 0, "plain", "AGFsaWNlAHB3"},
		{"AUTH PLAIN =", POP3D_AUTH, 2, 0, 0, "PLAIN", "="},
		{"STLS", POP3D_STLS, 0, 0, 0, "", ""},
		{"capa", POP3D_CAPA, 0, 0, 0, "", ""},
		{"QUIT", POP3D_QUIT, 0, 0, 0, "", ""},
		{"STAT", POP3D_STAT, 0, 0, 0, "", ""},
		{"LIST", POP3D_LIST, 0, 0, 0, "", ""},
		{"LIST 2", POP3D_LIST, 1, 2, 0, "2", ""},
		{"LiSt   17  ", POP3D_LIST, 1, 17, 0, "17", ""},
		{"RETR 1", POP3D_RETR, 1, 1, 0, "1", ""},
		{"DELE 999999999", POP3D_DELE, 1, 999999999, 0, "999999999", ""},
		{"NOOP", POP3D_NOOP, 0, 0, 0, "", ""},
		{"RSET", POP3D_RSET, 0, 0, 0, "", ""},
		{"TOP 1 0", POP3D_TOP, 2, 1, 0, "1", "0"},
		{"TOP 3 10", POP3D_TOP, 2, 3, 10, "3", "10"},
		{"UIDL", POP3D_UIDL, 0, 0, 0, "", ""},
		{"UIDL 4", POP3D_UIDL, 1, 4, 0, "4", ""},
	};
	struct pop3d_cmd cmd;
	struct err err;

	pop3d_cmd_init(&cmd);
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		if (parse(&cmd, cases[i].line, 0, &err) != 0)
			fail_msg("%s: %s", cases[i].line, err.msg);
		assert_int_equal(cmd.verb, cases[i].verb);
		assert_int_equal(cmd.nargs, cases[i].nargs);
		assert_int_equal(cmd.msg, cases[i].msg);
		assert_int_equal(cmd.lines, cases[i].lines);
		assert_string_equal(buf_cstr(&cmd.arg), cases[i].arg);
		assert_string_equal(buf_cstr(&cmd.arg2), cases[i].arg2);
	}
	pop3d_cmd_deinit(&cmd);
}

static void test_bad(void **state)
{
	static const struct {
		const char *line;
		const char *msg;
	} cases[] = {
		{"", "Unknown command"},
		{" ", "Unknown command"},
		{"HELO x", "Unknown command"},
		{"RETRX 1", "Unknown command"},
		{"RET 1", "Unknown command"},
		{"USER", "USER: wrong number of arguments"},
		{"USER a b", "USER: wrong number of arguments"},
		{"PASS", "PASS needs an argument"},
		{"PASS ", "PASS needs an argument"},
		{"APOP a", "APOP: wrong number of arguments"},
		{"AUTH a b c", "AUTH: wrong number of arguments"},
		{"STAT 1", "STAT takes no arguments"},
		{"QUIT now", "QUIT takes no arguments"},
		{"LIST 1 2", "LIST: wrong number of arguments"},
		{"LIST 0", "LIST: invalid message number"},
		{"LIST -1", "LIST: invalid message number"},
		{"LIST +1", "LIST: invalid message number"},
		{"LIST 1x", "LIST: invalid message number"},
		{"LIST 1234567890", "LIST: invalid message number"},
		{"RETR", "RETR: wrong number of arguments"},
		{"RETR a", "RETR: invalid message number"},
		{"DELE 0", "DELE: invalid message number"},
		{"TOP 1", "TOP: wrong number of arguments"},
		{"TOP 0 1", "TOP: invalid message number"},
		{"TOP 1 -1", "TOP: invalid line count"},
		{"TOP 1 2 3", "TOP: wrong number of arguments"},
		{"UIDL x", "UIDL: invalid message number"},
		{"STAT\t", "Invalid characters in command"},
		{"NOOP\r", "Invalid characters in command"},
		{"USER a\x7f", "Invalid characters in command"},
	};
	struct pop3d_cmd cmd;
	struct err err;

	pop3d_cmd_init(&cmd);
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		if (parse(&cmd, cases[i].line, 0, &err) != -1)
			fail_msg("%s: accepted", cases[i].line);
		assert_string_equal(err.msg, cases[i].msg);
	}
	pop3d_cmd_deinit(&cmd);
}

static void test_nul_and_long(void **state)
{
	static const char nul[] = "USER a\0b";
	struct pop3d_cmd cmd;
	struct err err;
	char longarg[POP3D_ARG_MAX + 16];

	pop3d_cmd_init(&cmd);
	assert_int_equal(parse(&cmd, nul, sizeof(nul) - 1, &err), -1);
	assert_string_equal(err.msg, "Invalid characters in command");
	memcpy(longarg, "USER ", 5);
	memset(longarg + 5, 'a', POP3D_ARG_MAX);
	longarg[5 + POP3D_ARG_MAX] = '\0';
	assert_int_equal(parse(&cmd, longarg, 0, &err), 0);
	longarg[5 + POP3D_ARG_MAX] = 'a';
	longarg[6 + POP3D_ARG_MAX] = '\0';
	assert_int_equal(parse(&cmd, longarg, 0, &err), -1);
	assert_string_equal(err.msg, "USER: argument too long");
	/* an AUTH initial response may be long */
	memcpy(longarg, "AUTH PLAIN ", 11);
	memset(longarg + 11, 'A', POP3D_ARG_MAX);
	longarg[11 + POP3D_ARG_MAX] = '\0';
	assert_int_equal(parse(&cmd, longarg, 0, &err), 0);
	assert_int_equal(cmd.arg2.len, POP3D_ARG_MAX);
	pop3d_cmd_deinit(&cmd);
}

static void test_reuse_resets(void **state)
{
	struct pop3d_cmd cmd;
	struct err err;

	pop3d_cmd_init(&cmd);
	assert_int_equal(parse(&cmd, "TOP 2 5", 0, &err), 0);
	assert_int_equal(parse(&cmd, "LIST", 0, &err), 0);
	assert_int_equal(cmd.nargs, 0);
	assert_int_equal(cmd.msg, 0);
	assert_int_equal(cmd.lines, 0);
	assert_string_equal(buf_cstr(&cmd.arg2), "");
	pop3d_cmd_deinit(&cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_nul_and_long),
		cmocka_unit_test(test_reuse_resets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
