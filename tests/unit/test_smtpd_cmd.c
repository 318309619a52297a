/*
 * test_smtpd_cmd.c - unit tests for smtpd/smtpd_cmd.c: every verb, every
 * ESMTP parameter, strict and liberal modes, and the exact reply each
 * refusal gets; then random garbage in a loop with one reused record.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "smtpd/smtpd_cmd.h"

#define ALL SMTPD_CMD_EXT_ALL
#define STRICT SMTPD_CMD_STRICT
#define TXN8 SMTPD_CMD_TXN_UTF8

struct reply_case {
	const char *line;
	size_t len; /* 0: strlen(line) */
	int flags;
	const char *reply; /* NULL: accepted */
};

static const struct reply_case reply_cases[] = {
	/* verbs, case-insensitive */
	{ "HELO mail.example.com", 0, 0, NULL },
	{ "ehlo mail.example.com", 0, 0, NULL },
	{ "MAIL FROM:<a@b.example>", 0, 0, NULL },
	{ "mail from:<a@b.example>", 0, 0, NULL },
	{ "RCPT TO:<a@b.example>", 0, 0, NULL },
	{ "DATA", 0, 0, NULL },
	{ "BDAT 100", 0, 0, NULL },
	{ "RSET", 0, 0, NULL },
	{ "NOOP", 0, 0, NULL },
	{ "NOOP anything at all", 0, 0, NULL },
	{ "QUIT", 0, 0, NULL },
	{ "VRFY bob", 0, 0, NULL },
	{ "EXPN staff", 0, 0, NULL },
	{ "HELP", 0, 0, NULL },
	{ "HELP mail", 0, 0, NULL },
	{ "STARTTLS", 0, 0, NULL },
	{ "AUTH PLAIN", 0, 0, NULL },
	{ "DATA   ", 0, 0, NULL },
	{ "MAIL  FROM:<a@b.example>", 0, 0, NULL },
	/* unknown, empty, bad bytes, long */
	{ "", 0, 0, "500 5.5.2 Error: command not recognized" },
	{ " DATA", 0, 0, "500 5.5.2 Error: command not recognized" },
	{ "DATAX", 0, 0, "500 5.5.2 Error: command not recognized" },
	{ "DAT", 0, 0, "500 5.5.2 Error: command not recognized" },
	{ "GET / HTTP/1.0", 0, 0, "500 5.5.2 Error: command not recognized" },
	{ "TURN", 0, 0, "500 5.5.2 Error: command not recognized" },
	{ "DATA\0", 5, 0, "500 5.5.2 Error: bad character in command" },
	{ "MAIL FROM:<a\0b@c.example>", 25, 0, "500 5.5.2 Error: bad character in command" },
	{ "NOOP a\rb", 0, 0, "500 5.5.2 Error: bad character in command" },
	{ "NOOP a\nb", 0, 0, "500 5.5.2 Error: bad character in command" },
	{ "NOOP a\tb", 0, 0, "500 5.5.2 Error: bad character in command" },
	{ "NOOP \x7f", 0, 0, "500 5.5.2 Error: bad character in command" },
	{ "\x1b[A", 0, 0, "500 5.5.2 Error: bad character in command" },
	/* arguments where none belong */
	{ "DATA x", 0, 0, "501 5.5.4 Syntax: DATA" },
	{ "RSET now", 0, 0, "501 5.5.4 Syntax: RSET" },
	{ "QUIT please", 0, 0, "501 5.5.4 Syntax: QUIT" },
	{ "STARTTLS x", 0, 0, "501 5.5.4 Syntax: STARTTLS" },
	{ "DATA ", 0, STRICT, "501 5.5.4 Syntax: DATA" },
	/* arguments that must be there */
	{ "VRFY", 0, 0, "501 5.5.4 Syntax: VRFY address" },
	{ "EXPN", 0, 0, "501 5.5.4 Syntax: EXPN list" },
	{ "HELO", 0, 0, "501 5.5.4 Syntax: HELO hostname" },
	{ "EHLO", 0, 0, "501 5.5.4 Syntax: EHLO hostname" },
	{ "EHLO ", 0, 0, "501 5.5.4 Syntax: EHLO hostname" },
	{ "MAIL", 0, 0, "501 5.5.4 Syntax: MAIL FROM:<address>" },
	{ "MAIL TO:<a@b.example>", 0, 0, "501 5.5.4 Syntax: MAIL FROM:<address>" },
	{ "MAIL FROM <a@b.example>", 0, 0, "501 5.5.4 Syntax: MAIL FROM:<address>" },
	{ "RCPT", 0, 0, "501 5.5.4 Syntax: RCPT TO:<address>" },
	{ "RCPT FROM:<a@b.example>", 0, 0, "501 5.5.4 Syntax: RCPT TO:<address>" },
	{ "AUTH", 0, 0, "501 5.5.4 Syntax: AUTH mechanism [initial-response]" },
	{ "BDAT", 0, 0, "501 5.5.4 Syntax: BDAT count [LAST]" },
	/* HELO / EHLO */
	{ "EHLO [192.0.2.1]", 0, STRICT, NULL },
	{ "EHLO [IPv6:2001:db8::1]", 0, STRICT, NULL },
	{ "EHLO under_score.example", 0, 0, NULL },
	{ "EHLO under_score.example", 0, STRICT, "501 5.5.4 Syntax: EHLO hostname" },
	{ "EHLO a.example extra", 0, 0, NULL },
	{ "EHLO a.example extra", 0, STRICT, "501 5.5.4 Syntax: EHLO hostname" },
	{ "EHLO b\xc3\xbc" "cher.example", 0, 0, "501 5.5.4 Syntax: EHLO hostname" },
	{ "EHLO b\xc3\xbc" "cher.example", 0, SMTPD_CMD_EXT_SMTPUTF8, NULL },
	{ "EHLO \xc3(", 0, SMTPD_CMD_EXT_SMTPUTF8, "501 5.5.4 Syntax: EHLO hostname" },
	/* MAIL: spacing and paths */
	{ "MAIL FROM: <a@b.example>", 0, 0, NULL },
	{ "MAIL FROM: <a@b.example>", 0, STRICT, "501 5.5.4 Syntax: MAIL FROM:<address>" },
	{ "MAIL FROM:  <a@b.example>", 0, 0, "553 5.1.7 Bad sender address syntax" },
	{ "MAIL FROM:a@b.example", 0, 0, NULL },
	{ "MAIL FROM:a@b.example", 0, STRICT, "553 5.1.7 Bad sender address syntax" },
	{ "MAIL FROM:<a@b.example> ", 0, STRICT, "501 5.5.4 Bad parameter syntax" },
	{ "MAIL FROM:<>", 0, 0, NULL },
	{ "MAIL FROM:", 0, 0, "553 5.1.7 Bad sender address syntax" },
	{ "MAIL FROM:<a@b.example>x", 0, 0, "553 5.1.7 Bad sender address syntax" },
	{ "MAIL FROM:<a b@c.example>", 0, 0, "553 5.1.7 Bad sender address syntax" },
	{ "MAIL FROM:<@r.example:a@b.example>", 0, 0, NULL },
	{ "MAIL FROM:<postmaster>", 0, 0, "553 5.1.7 Bad sender address syntax" },
	{ "MAIL FROM:<j\xc3\xb6rg@b.example>", 0, ALL,
	  "553 5.6.7 Must declare SMTPUTF8 to send unicode address" },
	{ "MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", 0, ALL, NULL },
	{ "MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", 0, 0,
	  "553 5.1.7 Bad sender address syntax" },
	/* RCPT */
	{ "RCPT TO:<postmaster>", 0, 0, NULL },
	{ "RCPT TO:<>", 0, 0, "501 5.1.3 Bad recipient address syntax" },
	{ "RCPT TO: <a@b.example>", 0, 0, NULL },
	{ "RCPT TO:<a@b.example", 0, 0, "501 5.1.3 Bad recipient address syntax" },
	{ "RCPT TO:<a@b.example.>", 0, 0, "501 5.1.3 Bad recipient address syntax" },
	{ "RCPT TO:<j\xc3\xb6rg@b.example>", 0, ALL, "501 5.1.3 Bad recipient address syntax" },
	{ "RCPT TO:<j\xc3\xb6rg@b.example>", 0, ALL | TXN8, NULL },
	/* parameters: offered or not, which verb */
	{ "MAIL FROM:<> SIZE=100", 0, 0, "555 5.5.4 Unsupported option: SIZE" },
	{ "MAIL FROM:<> SIZE=100", 0, SMTPD_CMD_EXT_SIZE, NULL },
	{ "MAIL FROM:<> size=100", 0, SMTPD_CMD_EXT_SIZE, NULL },
	{ "MAIL FROM:<> XFOO=1", 0, ALL, "555 5.5.4 Unsupported option: XFOO" },
	{ "MAIL FROM:<> NOTIFY=NEVER", 0, ALL, "555 5.5.4 Unsupported option: NOTIFY" },
	{ "MAIL FROM:<> ORCPT=rfc822;a@b", 0, ALL, "555 5.5.4 Unsupported option: ORCPT" },
	{ "RCPT TO:<a@b.example> SIZE=1", 0, ALL, "555 5.5.4 Unsupported option: SIZE" },
	{ "RCPT TO:<a@b.example> RET=FULL", 0, ALL, "555 5.5.4 Unsupported option: RET" },
	{ "RCPT TO:<a@b.example> SMTPUTF8", 0, ALL, "555 5.5.4 Unsupported option: SMTPUTF8" },
	{ "RCPT TO:<a@b.example> AUTH=<>", 0, ALL, "555 5.5.4 Unsupported option: AUTH" },
	{ "RCPT TO:<a@b.example> NOTIFY=NEVER", 0, ALL & ~SMTPD_CMD_EXT_DSN,
	  "555 5.5.4 Unsupported option: NOTIFY" },
	{ "MAIL FROM:<> AUTH=<>", 0, ALL & ~SMTPD_CMD_EXT_AUTH,
	  "555 5.5.4 Unsupported option: AUTH" },
	/* parameter syntax */
	{ "MAIL FROM:<> =1", 0, ALL, "501 5.5.4 Bad parameter syntax" },
	{ "MAIL FROM:<> -SIZE=1", 0, ALL, "501 5.5.4 Bad parameter syntax" },
	{ "MAIL FROM:<> SI_ZE=1", 0, ALL, "501 5.5.4 Bad parameter syntax" },
	{ "MAIL FROM:<> SIZE=1  BODY=7BIT", 0, ALL, NULL },
	{ "MAIL FROM:<> SIZE=1  BODY=7BIT", 0, ALL | STRICT, "501 5.5.4 Bad parameter syntax" },
	{ "MAIL FROM:<> SIZE=1 SIZE=2", 0, ALL, "501 5.5.4 Duplicate parameter: SIZE" },
	{ "MAIL FROM:<> SIZE=1 size=1", 0, ALL, "501 5.5.4 Duplicate parameter: SIZE" },
	{ "MAIL FROM:<> SMTPUTF8 SMTPUTF8", 0, ALL, "501 5.5.4 Duplicate parameter: SMTPUTF8" },
	/* SIZE */
	{ "MAIL FROM:<> SIZE", 0, ALL, "501 5.5.4 Bad SIZE parameter value" },
	{ "MAIL FROM:<> SIZE=", 0, ALL, "501 5.5.4 Bad SIZE parameter value" },
	{ "MAIL FROM:<> SIZE=-1", 0, ALL, "501 5.5.4 Bad SIZE parameter value" },
	{ "MAIL FROM:<> SIZE=1k", 0, ALL, "501 5.5.4 Bad SIZE parameter value" },
	{ "MAIL FROM:<> SIZE==1", 0, ALL, "501 5.5.4 Bad SIZE parameter value" },
	{ "MAIL FROM:<> SIZE=18446744073709551615", 0, ALL, NULL },
	{ "MAIL FROM:<> SIZE=18446744073709551616", 0, ALL,
	  "552 5.3.4 Message size exceeds fixed limit" },
	{ "MAIL FROM:<> SIZE=123456789012345678901", 0, ALL, "501 5.5.4 Bad SIZE parameter value" },
	/* BODY */
	{ "MAIL FROM:<> BODY=7bit", 0, ALL, NULL },
	{ "MAIL FROM:<> BODY=8BITMIME", 0, ALL, NULL },
	{ "MAIL FROM:<> BODY=BINARYMIME", 0, ALL, NULL },
	{ "MAIL FROM:<> BODY=BINARYMIME", 0, SMTPD_CMD_EXT_8BITMIME,
	  "501 5.5.4 Bad BODY parameter value" },
	{ "MAIL FROM:<> BODY=8BITMIME", 0, SMTPD_CMD_EXT_BINARYMIME,
	  "501 5.5.4 Bad BODY parameter value" },
	{ "MAIL FROM:<> BODY=9BIT", 0, ALL, "501 5.5.4 Bad BODY parameter value" },
	{ "MAIL FROM:<> BODY", 0, ALL, "501 5.5.4 Bad BODY parameter value" },
	/* SMTPUTF8 */
	{ "MAIL FROM:<> SMTPUTF8=yes", 0, ALL, "501 5.5.4 Bad SMTPUTF8 parameter value" },
	/* RET / ENVID */
	{ "MAIL FROM:<> RET=HDRS ENVID=QQ314159", 0, ALL, NULL },
	{ "MAIL FROM:<> RET=NONE", 0, ALL, "501 5.5.4 Bad RET parameter value" },
	{ "MAIL FROM:<> ENVID=a+2", 0, ALL, "501 5.5.4 Bad ENVID parameter value" },
	{ "MAIL FROM:<> ENVID=a+00", 0, ALL, "501 5.5.4 Bad ENVID parameter value" },
	{ "MAIL FROM:<> ENVID=\xc3\xa9", 0, ALL, "501 5.5.4 Bad ENVID parameter value" },
	{ "MAIL FROM:<> ENVID=0123456789012345678901234567890123456789012345678901234567890"
	  "123456789012345678901234567890123456789", 0, ALL, NULL },
	{ "MAIL FROM:<> ENVID=0123456789012345678901234567890123456789012345678901234567890"
	  "1234567890123456789012345678901234567890", 0, ALL,
	  "501 5.5.4 Bad ENVID parameter value" },
	/* AUTH= */
	{ "MAIL FROM:<> AUTH=<>", 0, ALL, NULL },
	{ "MAIL FROM:<> AUTH=e+3Dmc2@example.com", 0, ALL, NULL },
	{ "MAIL FROM:<> AUTH=a+zz", 0, ALL, "501 5.5.4 Bad AUTH parameter value" },
	{ "MAIL FROM:<> AUTH", 0, ALL, "501 5.5.4 Bad AUTH parameter value" },
	/* NOTIFY */
	{ "RCPT TO:<a@b.example> NOTIFY=NEVER", 0, ALL, NULL },
	{ "RCPT TO:<a@b.example> NOTIFY=success,failure,delay", 0, ALL, NULL },
	{ "RCPT TO:<a@b.example> NOTIFY=NEVER,DELAY", 0, ALL, "501 5.5.4 Bad NOTIFY parameter value" },
	{ "RCPT TO:<a@b.example> NOTIFY=DELAY,NEVER", 0, ALL, "501 5.5.4 Bad NOTIFY parameter value" },
	{ "RCPT TO:<a@b.example> NOTIFY=SUCCESS,", 0, ALL, "501 5.5.4 Bad NOTIFY parameter value" },
	{ "RCPT TO:<a@b.example> NOTIFY=,SUCCESS", 0, ALL, "501 5.5.4 Bad NOTIFY parameter value" },
	{ "RCPT TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS", 0, ALL,
	  "501 5.5.4 Bad NOTIFY parameter value" },
	{ "RCPT TO:<a@b.example> NOTIFY=SOMETIMES", 0, ALL, "501 5.5.4 Bad NOTIFY parameter value" },
	{ "RCPT TO:<a@b.example> NOTIFY", 0, ALL, "501 5.5.4 Bad NOTIFY parameter value" },
	/* ORCPT */
	{ "RCPT TO:<a@b.example> ORCPT=rfc822;a+40b.example", 0, ALL, NULL },
	{ "RCPT TO:<a@b.example> ORCPT=RFC822;a@b.example", 0, ALL, NULL },
	{ "RCPT TO:<a@b.example> ORCPT=x-local;a+00b", 0, ALL, NULL },
	{ "RCPT TO:<a@b.example> ORCPT=rfc822;a+00b", 0, ALL, "501 5.5.4 Bad ORCPT parameter value" },
	{ "RCPT TO:<a@b.example> ORCPT=rfc822", 0, ALL, "501 5.5.4 Bad ORCPT parameter value" },
	{ "RCPT TO:<a@b.example> ORCPT=;a@b", 0, ALL, "501 5.5.4 Bad ORCPT parameter value" },
	{ "RCPT TO:<a@b.example> ORCPT=rfc822;", 0, ALL, "501 5.5.4 Bad ORCPT parameter value" },
	{ "RCPT TO:<a@b.example> ORCPT=rf_c;a", 0, ALL, "501 5.5.4 Bad ORCPT parameter value" },
	{ "RCPT TO:<a@b.example> ORCPT=rfc822;a+4", 0, ALL, "501 5.5.4 Bad ORCPT parameter value" },
	{ "RCPT TO:<a@b.example> ORCPT=utf-8;j\\x{F6}rg@b.example", 0, ALL, NULL },
	{ "RCPT TO:<a@b.example> ORCPT=utf-8;j\\x{D800}", 0, ALL,
	  "501 5.5.4 Bad ORCPT parameter value" },
	{ "RCPT TO:<a@b.example> ORCPT=utf-8;j\xc3\xb6rg@b.example", 0, ALL,
	  "501 5.5.4 Bad ORCPT parameter value" },
	{ "RCPT TO:<a@b.example> ORCPT=utf-8;j\xc3\xb6rg@b.example", 0, ALL | TXN8, NULL },
	{ "RCPT TO:<a@b.example> ORCPT=rfc822;j\xc3\xb6rg", 0, ALL | TXN8,
	  "501 5.5.4 Bad ORCPT parameter value" },
	/* BDAT */
	{ "BDAT 0", 0, 0, NULL },
	{ "BDAT 100 LAST", 0, 0, NULL },
	{ "BDAT 100 last", 0, 0, NULL },
	{ "BDAT 100  LAST", 0, 0, NULL },
	{ "BDAT 100  LAST", 0, STRICT, "501 5.5.4 Syntax: BDAT count [LAST]" },
	{ "BDAT 100 FIRST", 0, 0, "501 5.5.4 Syntax: BDAT count [LAST]" },
	{ "BDAT 100 LAST x", 0, 0, "501 5.5.4 Syntax: BDAT count [LAST]" },
	{ "BDAT LAST", 0, 0, "501 5.5.4 Syntax: BDAT count [LAST]" },
	{ "BDAT -1", 0, 0, "501 5.5.4 Syntax: BDAT count [LAST]" },
	{ "BDAT 99999999999999999999", 0, 0, "501 5.5.4 Syntax: BDAT count [LAST]" },
	{ "BDAT 123456789012345678901", 0, 0, "501 5.5.4 Syntax: BDAT count [LAST]" },
	/* AUTH */
	{ "AUTH PLAIN AGJvYgBzZWNyZXQ=", 0, 0, NULL },
	{ "AUTH PLAIN =", 0, 0, NULL },
	{ "AUTH LOGIN", 0, 0, NULL },
	{ "AUTH SCRAM-SHA-256", 0, 0, NULL },
	{ "AUTH PL@IN", 0, 0, "501 5.5.4 Syntax: AUTH mechanism [initial-response]" },
	{ "AUTH ABCDEFGHIJKLMNOPQRSTU", 0, 0, "501 5.5.4 Syntax: AUTH mechanism [initial-response]" },
	{ "AUTH PLAIN AGJv YgBz", 0, 0, "501 5.5.2 Cannot decode response" },
	{ "AUTH PLAIN AGJv*YgBz", 0, 0, "501 5.5.2 Cannot decode response" },
	{ "AUTH PLAIN =AGJv", 0, 0, "501 5.5.2 Cannot decode response" },
	{ "AUTH PLAIN AG=Jv", 0, 0, "501 5.5.2 Cannot decode response" },
	{ "AUTH PLAIN AGJ===", 0, 0, "501 5.5.2 Cannot decode response" },
};

static void test_replies(void **state)
{
	struct smtpd_cmd cmd;
	struct err err;

	smtpd_cmd_init(&cmd);
	for (size_t i = 0; i < N_ELEMENTS(reply_cases); i++) {
		const struct reply_case *c = &reply_cases[i];
		size_t len = c->len ? c->len : strlen(c->line);
		int rc = smtpd_cmd_parse(c->line, len, c->flags, &cmd, &err);
		if (c->reply == NULL) {
			if (rc != 0)
				fail_msg("case %zu (%s) refused: %s", i, c->line, err.msg);
		} else {
			if (rc != -1)
				fail_msg("case %zu (%s) accepted", i, c->line);
			if (strcmp(err.msg, c->reply) != 0)
				fail_msg("case %zu (%s): got \"%s\", want \"%s\"", i, c->line,
					 err.msg, c->reply);
			assert_int_equal(err.code, atoi(c->reply));
		}
	}
	smtpd_cmd_deinit(&cmd);
}

static void test_fields(void **state)
{
	struct smtpd_cmd cmd;
	struct err err;
	const char *l;

	smtpd_cmd_init(&cmd);
	l = "mail FROM:<@r.example:Joe@Example.COM> SIZE=1000 BODY=8BITMIME RET=HDRS "
	    "ENVID=QQ+2B1 AUTH=joe+2Bx@example.com";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), ALL, &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTPD_VERB_MAIL);
	assert_string_equal(buf_cstr(&cmd.addr), "Joe@example.com");
	assert_int_equal(cmd.params, SMTPD_PARAM_SIZE | SMTPD_PARAM_BODY | SMTPD_PARAM_RET |
					     SMTPD_PARAM_ENVID | SMTPD_PARAM_AUTH);
	assert_int_equal(cmd.size, 1000);
	assert_int_equal(cmd.body, SMTPD_BODY_8BITMIME);
	assert_int_equal(cmd.ret, SMTPD_RET_HDRS);
	assert_string_equal(buf_cstr(&cmd.envid), "QQ+1");
	assert_string_equal(buf_cstr(&cmd.auth), "joe+x@example.com");

	/* every field is reset by the next parse */
	l = "RCPT TO:<\"a b\"@x.example> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a+20b@x.example";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), ALL, &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTPD_VERB_RCPT);
	assert_string_equal(buf_cstr(&cmd.addr), "\"a b\"@x.example");
	assert_int_equal(cmd.params, SMTPD_PARAM_NOTIFY | SMTPD_PARAM_ORCPT);
	assert_int_equal(cmd.size, 0);
	assert_int_equal(cmd.body, SMTPD_BODY_NONE);
	assert_int_equal(cmd.ret, SMTPD_RET_NONE);
	assert_int_equal(cmd.envid.len, 0);
	assert_int_equal(cmd.auth.len, 0);
	assert_int_equal(cmd.notify, SMTPD_NOTIFY_FAILURE | SMTPD_NOTIFY_DELAY);
	assert_string_equal(buf_cstr(&cmd.orcpt_type), "rfc822");
	assert_string_equal(buf_cstr(&cmd.orcpt), "a b@x.example");

	l = "RCPT TO:<a@b.example> ORCPT=UTF-8;j\\x{F6}rg@b.example NOTIFY=never";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), ALL, &cmd, &err), 0);
	assert_string_equal(buf_cstr(&cmd.orcpt_type), "utf-8");
	assert_string_equal(buf_cstr(&cmd.orcpt), "j\xc3\xb6rg@b.example");
	assert_int_equal(cmd.notify, SMTPD_NOTIFY_NEVER);

	l = "MAIL FROM:<> AUTH=<> SMTPUTF8 BODY=binarymime";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), ALL, &cmd, &err), 0);
	assert_int_equal(cmd.addr.len, 0);
	assert_int_equal(cmd.auth.len, 0);
	assert_true(cmd.params & SMTPD_PARAM_AUTH);
	assert_true(cmd.params & SMTPD_PARAM_SMTPUTF8);
	assert_int_equal(cmd.body, SMTPD_BODY_BINARYMIME);

	l = "RCPT TO:<PostMaster>";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_string_equal(buf_cstr(&cmd.addr), "postmaster");
	l = "RCPT TO:<j\xc3\xb6rg@B\xc3\x9c.example>";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), ALL | TXN8, &cmd, &err), 0);
	assert_string_equal(buf_cstr(&cmd.addr), "j\xc3\xb6rg@b\xc3\x9c.example");

	l = "EHLO Mail.Example.COM";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTPD_VERB_EHLO);
	assert_string_equal(buf_cstr(&cmd.arg), "mail.example.com");
	assert_true(cmd.helo_valid);
	l = "HELO Bad_Name ignored words";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTPD_VERB_HELO);
	assert_string_equal(buf_cstr(&cmd.arg), "Bad_Name");
	assert_false(cmd.helo_valid);
	l = "EHLO [IPv6:2001:DB8::0:1]";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_string_equal(buf_cstr(&cmd.arg), "[IPv6:2001:db8::1]");

	l = "BDAT 4096 LAST";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTPD_VERB_BDAT);
	assert_int_equal(cmd.size, 4096);
	assert_true(cmd.last);
	l = "bdat 0";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_int_equal(cmd.size, 0);
	assert_false(cmd.last);

	l = "auth plain AGJvYgBzZWNyZXQ=";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTPD_VERB_AUTH);
	assert_string_equal(buf_cstr(&cmd.arg), "PLAIN");
	assert_true(cmd.has_auth_resp);
	assert_string_equal(buf_cstr(&cmd.auth_resp), "AGJvYgBzZWNyZXQ=");
	l = "AUTH PLAIN =";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_true(cmd.has_auth_resp);
	assert_int_equal(cmd.auth_resp.len, 0);
	l = "AUTH login";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_false(cmd.has_auth_resp);

	l = "VRFY  Joe Smith ";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTPD_VERB_VRFY);
	assert_string_equal(buf_cstr(&cmd.arg), "Joe Smith");
	l = "quit";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTPD_VERB_QUIT);
	assert_int_equal(cmd.arg.len, 0);

	/* a refused command still names its verb */
	l = "MAIL FROM:<bad";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), -1);
	assert_int_equal(cmd.verb, SMTPD_VERB_MAIL);
	l = "XYZZY";
	assert_int_equal(smtpd_cmd_parse(l, strlen(l), 0, &cmd, &err), -1);
	assert_int_equal(cmd.verb, SMTPD_VERB_NONE);
	smtpd_cmd_deinit(&cmd);
}

static void test_verb_names(void **state)
{
	assert_string_equal(smtpd_verb_name(SMTPD_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtpd_verb_name(SMTPD_VERB_MAIL), "MAIL");
	assert_string_equal(smtpd_verb_name(SMTPD_VERB_NONE), "");
}

static void test_lengths(void **state)
{
	struct smtpd_cmd cmd;
	struct buf l = BUF_INIT;
	struct err err;

	smtpd_cmd_init(&cmd);
	buf_sets(&l, "NOOP ");
	while (l.len < SMTPD_CMD_LINE_MAX)
		buf_addc(&l, 'x');
	assert_int_equal(smtpd_cmd_parse(l.data, l.len, 0, &cmd, &err), -1);
	assert_string_equal(err.msg, "501 5.5.4 Syntax: NOOP [text]");
	buf_addc(&l, 'x');
	assert_int_equal(smtpd_cmd_parse(l.data, l.len, 0, &cmd, &err), -1);
	assert_string_equal(err.msg, "500 5.5.2 Error: line too long");
	buf_sets(&l, "VRFY ");
	while (l.len < 5 + SMTPD_CMD_ARG_MAX)
		buf_addc(&l, 'v');
	assert_int_equal(smtpd_cmd_parse(l.data, l.len, 0, &cmd, &err), 0);
	buf_addc(&l, 'v');
	assert_int_equal(smtpd_cmd_parse(l.data, l.len, 0, &cmd, &err), -1);
	buf_sets(&l, "EHLO ");
	while (l.len < 5 + SMTPD_CMD_HELO_MAX)
		buf_addc(&l, l.len % 50 == 0 ? '.' : 'h');
	assert_int_equal(smtpd_cmd_parse(l.data, l.len, 0, &cmd, &err), 0);
	buf_addc(&l, 'h');
	assert_int_equal(smtpd_cmd_parse(l.data, l.len, 0, &cmd, &err), -1);
	assert_string_equal(err.msg, "501 5.5.4 Syntax: EHLO hostname");
	/* an over-long local part in MAIL */
	buf_sets(&l, "MAIL FROM:<");
	for (int i = 0; i < 300; i++)
		buf_addc(&l, 'l');
	buf_adds(&l, "@x.example>");
	assert_int_equal(smtpd_cmd_parse(l.data, l.len, 0, &cmd, &err), -1);
	assert_string_equal(err.msg, "553 5.1.7 Bad sender address syntax");
	/* an ORCPT past 500 octets */
	buf_sets(&l, "RCPT TO:<a@b.example> ORCPT=rfc822;");
	for (int i = 0; i < 493; i++)
		buf_addc(&l, 'o');
	assert_int_equal(smtpd_cmd_parse(l.data, l.len, ALL, &cmd, &err), 0);
	buf_addc(&l, 'o');
	assert_int_equal(smtpd_cmd_parse(l.data, l.len, ALL, &cmd, &err), -1);
	assert_string_equal(err.msg, "501 5.5.4 Bad ORCPT parameter value");
	buf_deinit(&l);
	smtpd_cmd_deinit(&cmd);
}

/* test_garbage - random lines built from SMTP-ish pieces and raw bytes:
 * never a crash, a leak or an error without a 3-digit reply. */
static void test_garbage(void **state)
{
	static const char *const pieces[] = {
		"MAIL", "RCPT", "FROM:", "TO:", "<", ">", "@", ".", " ", "  ", "\"", "\\",
		"SIZE=", "BODY=", "8BITMIME", "NOTIFY=", "NEVER", ",", "ORCPT=", "utf-8;",
		"rfc822;", "\\x{", "}", "+4", "0", "ENVID=", "AUTH=", "SMTPUTF8", "EHLO", "BDAT",
		"LAST", "[", "]", "IPv6:", "::1", "\xc3\xb6", "\xff", "\0", "\r", "=", "a", "Z9",
	};
	struct smtpd_cmd cmd;
	struct buf l = BUF_INIT;
	struct err err;
	uint32_t seed = 4242;

	smtpd_cmd_init(&cmd);
	for (int round = 0; round < 50000; round++) {
		int n;
		buf_reset(&l);
		seed = seed * 1103515245u + 12345u;
		n = (int)((seed >> 16) % 16);
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			const char *p = pieces[(seed >> 16) % N_ELEMENTS(pieces)];
			buf_add(&l, p, *p == '\0' ? 1 : strlen(p));
		}
		seed = seed * 1103515245u + 12345u;
		if (smtpd_cmd_parse(l.data != NULL ? l.data : "", l.len, (int)((seed >> 16) & 0x1ff),
				    &cmd, &err) < 0) {
			assert_true(err.code >= 500 && err.code <= 555);
			assert_int_equal(atoi(err.msg), err.code);
		}
	}
	buf_deinit(&l);
	smtpd_cmd_deinit(&cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_verb_names),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
