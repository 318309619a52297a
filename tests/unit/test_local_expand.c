/*
 * test_local_expand.c - unit tests for local/local_expand.c: table-driven
 * expansion over inline: tables (virtual aliases with catch-all and
 * self-reference, nested aliases, loops, owner- senders, :include: lists in
 * temp files, command/file permissions, limits, lookup failures) and the
 * alias value splitter.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "local/local.h"
#include "proto.h"
#include "str.h"
#include "tbl.h"

struct fake {
	struct tbl *va;
	struct tbl *al;
	const char *tempfail_key; /* this alias key answers TEMPFAIL */
};

static int fake_va(void *ctx, const char *addr, struct buf *value_r, struct err *err)
{
	struct fake *f = ctx;
	struct buf key = BUF_INIT;
	int rc;

	if (f->va == NULL)
		return TBL_NOTFOUND;
	rc = tbl_lookup(f->va, addr, value_r, err);
	if (rc == TBL_NOTFOUND && strchr(addr, '@') != NULL) {
		buf_sets(&key, strrchr(addr, '@'));
		rc = tbl_lookup(f->va, buf_cstr(&key), value_r, err);
	}
	buf_deinit(&key);
	return rc;
}

static enum resolve_class fake_domain(void *ctx, const char *domain)
{
	if (strcmp(domain, "local.test") == 0)
		return RESOLVE_LOCAL;
	if (strcmp(domain, "virt.test") == 0 || strcmp(domain, "b.test") == 0)
		return RESOLVE_VIRTUAL;
	return RESOLVE_REMOTE;
}

/* fake_alias - like resolve_alias: full address (virtual domains), then
 * the local part. */
static int fake_alias(void *ctx, const char *addr, struct buf *value_r, struct err *err)
{
	struct fake *f = ctx;
	const char *at = strrchr(addr, '@');
	struct buf local = BUF_INIT;
	int rc = TBL_NOTFOUND;

	if (f->tempfail_key != NULL && strcmp(addr, f->tempfail_key) == 0)
		return err_set(err, "table locked"), TBL_TEMPFAIL;
	if (f->al == NULL || at == NULL || fake_domain(ctx, at + 1) == RESOLVE_REMOTE)
		return TBL_NOTFOUND;
	if (fake_domain(ctx, at + 1) == RESOLVE_VIRTUAL)
		rc = tbl_lookup(f->al, addr, value_r, err);
	if (rc == TBL_NOTFOUND) {
		buf_add(&local, addr, (size_t)(at - addr));
		rc = tbl_lookup(f->al, buf_cstr(&local), value_r, err);
	}
	buf_deinit(&local);
	return rc;
}

static const struct local_limits default_limits = {
	1000, 1000, 100, 10000, LOCAL_ALLOW_ALIAS, LOCAL_ALLOW_ALIAS,
};

/* run - expand rcpt with the given tables; the destinations are rendered
 * one per line as "KIND target <sender>" (errors "ERROR target dsn reason")
 * into out. */
static int run(const char *va, const char *al, const struct local_limits *lim, const char *rcpt,
	       const char *sender, struct buf *out, const char *tempfail)
{
	struct fake f = {NULL, NULL, tempfail};
	struct local_lookup ops = {fake_va, fake_alias, fake_domain, &f};
	static const char *const kinds[] = {"MAILBOX", "FORWARD", "COMMAND", "FILE", "ERROR"};
	struct local_expansion exp;
	struct err err;
	int result;

	if (va != NULL)
		f.va = tbl_open(va, NULL, TBL_RDONLY, &err);
	if (al != NULL)
		f.al = tbl_open(al, NULL, TBL_RDONLY, &err);
	assert_true(va == NULL || f.va != NULL);
	assert_true(al == NULL || f.al != NULL);
	local_expand(lim != NULL ? lim : &default_limits, &ops, rcpt, sender, &exp);
	buf_reset(out);
	for (size_t i = 0; i < exp.n; i++) {
		const struct local_dest *d = &exp.dests[i];

		if (d->kind == LOCAL_DEST_ERROR)
			buf_printf(out, "ERROR %s %s %s\n", d->target, d->dsn, d->reason);
		else
			buf_printf(out, "%s %s <%s>\n", kinds[d->kind], d->target, d->sender);
	}
	if (exp.result != DELIVER_OK)
		buf_printf(out, "FAIL %s %s\n", exp.dsn, buf_cstr(&exp.reason));
	result = exp.result;
	local_expansion_deinit(&exp);
	tbl_close(&f.va);
	tbl_close(&f.al);
	return result;
}

struct exp_case {
	const char *name;
	const char *va;
	const char *al;
	const char *rcpt;
	const char *sender;
	const char *want;
};

static const struct exp_case cases[] = {
	{"plain mailbox", NULL, NULL, "bob@virt.test", "s@x.test",
	 "MAILBOX bob@virt.test <s@x.test>\n"},
	{"remote recipient", NULL, NULL, "bob@far.test", "s@x.test",
	 "FORWARD bob@far.test <s@x.test>\n"},
	{"virtual alias across domains", "inline:{ {bob@virt.test = bob@b.test, bob@far.test} }",
	 NULL, "bob@virt.test", "s@x", "MAILBOX bob@b.test <s@x>\nFORWARD bob@far.test <s@x>\n"},
	{"virtual alias self stops rewriting",
	 "inline:{ {al@virt.test = al@virt.test, copy@far.test}, @virt.test=catch@b.test }", NULL,
	 "al@virt.test", "s@x", "MAILBOX al@virt.test <s@x>\nFORWARD copy@far.test <s@x>\n"},
	{"catch-all", "inline:{ @virt.test=catch@b.test }", NULL, "who@virt.test", "s@x",
	 "MAILBOX catch@b.test <s@x>\n"},
	{"virtual alias chain", "inline:{ a@virt.test=b@virt.test, b@virt.test=c@b.test }", NULL,
	 "a@virt.test", "s@x", "MAILBOX c@b.test <s@x>\n"},
	{"virtual alias loop", "inline:{ a@virt.test=b@virt.test, b@virt.test=a@virt.test }", NULL,
	 "a@virt.test", "s@x", "ERROR a@virt.test 5.4.6 mail forwarding loop for a@virt.test\n"},
	{"nested aliases", NULL, "inline:{ {staff = team, carol}, {team = dave, erin@b.test} }",
	 "staff@virt.test", "s@x",
	 "MAILBOX dave@virt.test <s@x>\nMAILBOX erin@b.test <s@x>\nMAILBOX carol@virt.test "
	 "<s@x>\n"},
	{"alias on a local domain", NULL, "inline:{ root=admin@virt.test }", "root@local.test",
	 "s@x", "MAILBOX admin@virt.test <s@x>\n"},
	{"alias loop", NULL, "inline:{ a=b, b=a }", "a@virt.test", "s@x",
	 "ERROR a@virt.test 5.4.6 mail forwarding loop for a@virt.test\n"},
	{"alias names itself", NULL, "inline:{ {bob = bob, x@far.test} }", "bob@virt.test", "s@x",
	 "MAILBOX bob@virt.test <s@x>\nFORWARD x@far.test <s@x>\n"},
	{"backslash skips aliases", NULL, "inline:{ {bob = \\bob, \\carol} carol=zed }",
	 "bob@virt.test", "s@x", "MAILBOX bob@virt.test <s@x>\nMAILBOX carol@virt.test <s@x>\n"},
	{"owner- sender", NULL, "inline:{ {list = m1, m2@far.test}, owner-list=boss }",
	 "list@virt.test", "s@x",
	 "MAILBOX m1@virt.test <owner-list@virt.test>\nFORWARD m2@far.test "
	 "<owner-list@virt.test>\n"},
	{"null sender stays null", NULL, "inline:{ list=m1, owner-list=boss }", "list@virt.test",
	 "", "MAILBOX m1@virt.test <>\n"},
	{"duplicates delivered once", NULL, "inline:{ {l = a, b, a, b@virt.test}, b=a }",
	 "l@virt.test", "s@x", "MAILBOX a@virt.test <s@x>\n"},
	{"command and file from alias", NULL,
	 "inline:{ {p = \"|/bin/cat > /dev/null\", /tmp/box, \"/tmp/with space\"} }", "p@virt.test",
	 "s@x",
	 "COMMAND /bin/cat > /dev/null <s@x>\nFILE /tmp/box <s@x>\nFILE /tmp/with space <s@x>\n"},
	{"quoted local part", NULL, "inline:{ {q = \"john smith\", \"a,b\"@far.test} }",
	 "q@virt.test", "s@x",
	 "MAILBOX \"john smith\"@virt.test <s@x>\nFORWARD \"a,b\"@far.test <s@x>\n"},
	{"bad member", NULL, "inline:{ {q = good, <<bad} }", "q@virt.test", "s@x",
	 "MAILBOX good@virt.test <s@x>\nERROR q@virt.test 5.1.3 bad address \"<<bad\" in alias "
	 "q@virt.test\n"},
	{"virtual alias to a command is refused", "inline:{ {v@virt.test = |/bin/true} }", NULL,
	 "v@virt.test", "s@x",
	 "ERROR v@virt.test 5.1.3 bad address \"|/bin/true\" in virtual alias v@virt.test\n"},
	{"virtual then alias", "inline:{ v@virt.test=staff@virt.test }", "inline:{ staff=d }",
	 "v@virt.test", "s@x", "MAILBOX d@virt.test <s@x>\n"},
};

static void test_cases(void **state)
{
	struct buf out = BUF_INIT;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		const struct exp_case *c = &cases[i];

		run(c->va, c->al, NULL, c->rcpt, c->sender, &out, NULL);
		if (strcmp(buf_cstr(&out), c->want) != 0)
			fail_msg("case \"%s\":\nwant:\n%sgot:\n%s", c->name, c->want,
				 buf_cstr(&out));
	}
	buf_deinit(&out);
}

static void test_commands_refused(void **state)
{
	struct local_limits lim = default_limits;
	struct buf out = BUF_INIT;

	lim.allow_commands = 0;
	lim.allow_files = 0;
	run(NULL, "inline:{ {p = |/bin/true, /tmp/box, ok} }", &lim, "p@virt.test", "s@x", &out,
	    NULL);
	assert_string_equal(buf_cstr(&out),
			    "ERROR p@virt.test 5.7.1 mail to command is restricted\n"
			    "ERROR p@virt.test 5.7.1 mail to file is restricted\n"
			    "MAILBOX ok@virt.test <s@x>\n");
	buf_deinit(&out);
}

static void test_limits(void **state)
{
	struct local_limits lim = default_limits;
	struct buf out = BUF_INIT;

	lim.alias_expansion = 3;
	assert_int_equal(
		run(NULL, "inline:{ {l = a, b, c, d, e} }", &lim, "l@virt.test", "s@x", &out, NULL),
		DELIVER_BOUNCE);
	assert_non_null(strstr(buf_cstr(&out), "FAIL 5.3.0 alias expansion limit exceeded"));
	lim = default_limits;
	lim.va_recursion = 2;
	run("inline:{ a@virt.test=b@virt.test, b@virt.test=c@virt.test, c@virt.test=d@virt.test }",
	    NULL, &lim, "a@virt.test", "s@x", &out, NULL);
	assert_string_equal(buf_cstr(&out), "ERROR c@virt.test 5.4.6 virtual alias table recursion "
					    "limit exceeded for c@virt.test\n");
	lim = default_limits;
	lim.va_expansion = 2;
	assert_int_equal(run("inline:{ {a@virt.test = x, y, z} }", NULL, &lim, "a@virt.test", "s@x",
			     &out, NULL),
			 DELIVER_BOUNCE);
	lim = default_limits;
	lim.alias_recursion = 2;
	run(NULL, "inline:{ a=b, b=c, c=d }", &lim, "a@virt.test", "s@x", &out, NULL);
	assert_string_equal(
		buf_cstr(&out),
		"ERROR c@virt.test 5.4.6 alias recursion limit exceeded for c@virt.test\n");
	buf_deinit(&out);
}

static void test_tempfail(void **state)
{
	struct buf out = BUF_INIT;

	run(NULL, "inline:{ {l = a, b} }", NULL, "l@virt.test", "s@x", &out, "b@virt.test");
	assert_string_equal(buf_cstr(&out), "MAILBOX a@virt.test <s@x>\n"
					    "ERROR b@virt.test 4.3.0 alias_maps lookup failure: "
					    "table locked\n");
	buf_deinit(&out);
}

/* write_file - a temp include file with text; its name in path. */
static void write_file(char *path, size_t size, const char *text)
{
	int fd;

	snprintf(path, size, "/tmp/tern-test-include.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_include(void **state)
{
	char path[64], inner[64], spec[300];
	struct buf text = BUF_INIT, out = BUF_INIT, want = BUF_INIT;
	struct local_limits lim = default_limits;

	write_file(inner, sizeof(inner), "# inner list\nin1, in2@far.test\n");
	buf_printf(&text, "# members\n  # indented comment\n\n");
	for (int i = 0; i < 50; i++)
		buf_printf(&text, "%s%d%s", i % 2 ? "r" : "m", i, i % 2 ? "@far.test\n" : " ");
	buf_printf(&text, "\n:include:%s\n|/bin/true\n", inner);
	write_file(path, sizeof(path), buf_cstr(&text));
	snprintf(spec, sizeof(spec), "inline:{ {list = :include:%s}, owner-list=boss }", path);
	run(NULL, spec, NULL, "list@virt.test", "s@x", &out, NULL);
	for (int i = 0; i < 50; i++)
		buf_printf(&want, "%s %s%d@%s <owner-list@virt.test>\n",
			   i % 2 ? "FORWARD" : "MAILBOX", i % 2 ? "r" : "m", i,
			   i % 2 ? "far.test" : "virt.test");
	buf_adds(&want, "MAILBOX in1@virt.test <owner-list@virt.test>\n"
			"FORWARD in2@far.test <owner-list@virt.test>\n"
			"ERROR list@virt.test 5.7.1 mail to command is restricted\n");
	assert_string_equal(buf_cstr(&out), buf_cstr(&want));

	/* allowed from include files when configured */
	lim.allow_commands = LOCAL_ALLOW_ALIAS | LOCAL_ALLOW_INCLUDE;
	run(NULL, spec, &lim, "list@virt.test", "s@x", &out, NULL);
	assert_non_null(strstr(buf_cstr(&out), "COMMAND /bin/true <owner-list@virt.test>\n"));

	/* an include file that includes itself */
	buf_reset(&text);
	buf_printf(&text, "a\n:include:%s\n", inner);
	unlink(inner);
	{
		int fd = open(inner, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, text.data, text.len), (ssize_t)text.len);
		close(fd);
	}
	snprintf(spec, sizeof(spec), "inline:{ {self = :include:%s} }", inner);
	run(NULL, spec, NULL, "self@virt.test", "s@x", &out, NULL);
	buf_reset(&want);
	buf_printf(&want,
		   "MAILBOX a@virt.test <s@x>\n"
		   "ERROR self@virt.test 5.4.6 mail forwarding loop for self@virt.test "
		   "(include %s)\n",
		   inner);
	assert_string_equal(buf_cstr(&out), buf_cstr(&want));

	/* a missing include file defers that member */
	unlink(inner);
	run(NULL, spec, NULL, "self@virt.test", "s@x", &out, NULL);
	assert_non_null(strstr(buf_cstr(&out), "ERROR self@virt.test 4.3.0 cannot read include"));
	/* a relative path is refused */
	run(NULL, "inline:{ {r = :include:list.txt} }", NULL, "r@virt.test", "s@x", &out, NULL);
	assert_non_null(strstr(buf_cstr(&out), "5.3.5 :include: needs an absolute path"));
	unlink(path);
	buf_deinit(&text);
	buf_deinit(&out);
	buf_deinit(&want);
}

static void test_split(void **state)
{
	size_t n;
	char **v =
		local_alias_split(" a, b c,\"|cmd a, b\" , |x y , \"q r\"@d, /f,:include:/i ", &n);

	assert_int_equal(n, 8);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "c");
	assert_string_equal(v[3], "|cmd a, b");
	assert_string_equal(v[4], "|x y");
	assert_string_equal(v[5], "\"q r\"@d");
	assert_string_equal(v[6], "/f");
	assert_string_equal(v[7], ":include:/i");
	str_split_free(&v);
	v = local_alias_split("", &n);
	assert_int_equal(n, 0);
	str_split_free(&v);
}

static void test_allow_parse(void **state)
{
	unsigned int m = 99;
	struct err err;

	assert_int_equal(local_allow_parse("alias, include", &m, &err), 0);
	assert_int_equal(m, LOCAL_ALLOW_ALIAS | LOCAL_ALLOW_INCLUDE);
	assert_int_equal(local_allow_parse("", &m, &err), 0);
	assert_int_equal(m, 0);
	assert_int_equal(local_allow_parse("none", &m, &err), 0);
	assert_int_equal(m, 0);
	assert_int_equal(local_allow_parse("alias forward", &m, &err), -1);
	assert_string_equal(err.msg, "unknown class \"forward\" (alias, include or none)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),	    cmocka_unit_test(test_commands_refused),
		cmocka_unit_test(test_limits),	    cmocka_unit_test(test_tempfail),
		cmocka_unit_test(test_include),	    cmocka_unit_test(test_split),
		cmocka_unit_test(test_allow_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
