/*
 * test_addr.c - unit tests for lib/addr.c: paths, mailboxes, domains,
 * helpers and the RFC 5322 address-list reader.  Table-driven: each case
 * gives the input, the flags and the canonical output (NULL = refused).
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "addr.h"
#include "buf.h"
#include "err.h"

struct path_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	int flags;
	const char *out; /* NULL: refused */
};

#define S ADDR_SENDER
#define U ADDR_UTF8
#define PM ADDR_POSTMASTER_OK
#define NUL_OK ADDR_NULL_OK

static const struct path_case path_cases[] = {
	/* good */
	{ "<user@example.com>", 0, 0, "user@example.com" },
	{ "<User.Name@EXAMPLE.Com>", 0, 0, "User.Name@example.com" },
	{ "<a+tag=x/y!#$%&'*?^_`{|}~-@ex-ample.com>", 0, 0,
	  "a+tag=x/y!#$%&'*?^_`{|}~-@ex-ample.com" },
	{ "<\"quoted\"@example.com>", 0, 0, "quoted@example.com" },
	{ "<\"a b\"@example.com>", 0, 0, "\"a b\"@example.com" },
	{ "<\"a\\\"b\"@example.com>", 0, 0, "\"a\\\"b\"@example.com" },
	{ "<\"a\\b\"@example.com>", 0, 0, "ab@example.com" },
	{ "<\"a\\\\b\"@example.com>", 0, 0, "\"a\\\\b\"@example.com" },
	{ "<\"a@b\"@example.com>", 0, 0, "\"a@b\"@example.com" },
	{ "<\"a..b\"@example.com>", 0, 0, "\"a..b\"@example.com" },
	{ "<\"\"@example.com>", 0, 0, "\"\"@example.com" },
	{ "<@relay.example,@b.example:user@example.com>", 0, 0, "user@example.com" },
	{ "<@[192.0.2.1]:user@example.com>", 0, 0, "user@example.com" },
	{ "<user@[192.0.2.1]>", 0, 0, "user@[192.0.2.1]" },
	{ "<user@[IPv6:2001:DB8:0:0:0:0:0:1]>", 0, 0, "user@[IPv6:2001:db8::1]" },
	{ "<user@[ipv6:::1]>", 0, 0, "user@[IPv6:::1]" },
	{ "<user@[IPv6:::ffff:192.0.2.1]>", 0, 0, "user@[IPv6:::ffff:192.0.2.1]" },
	{ "<user@localhost>", 0, 0, "user@localhost" },
	{ "<user@123.example>", 0, 0, "user@123.example" },
	{ "<>", 0, NUL_OK, "" },
	{ "<postmaster>", 0, PM, "postmaster" },
	{ "<PostMaster>", 0, PM, "postmaster" },
	{ "<Postmaster@Example.ORG>", 0, PM, "Postmaster@example.org" },
	{ "<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", 0, U, "j\xc3\xb6rg@b\xc3\xbc" "cher.example" },
	{ "<\"\xe2\x82\xac uro\"@example.com>", 0, U, "\"\xe2\x82\xac uro\"@example.com" },
	/* refused */
	{ "<>", 0, 0, NULL },
	{ "", 0, 0, NULL },
	{ "<", 0, 0, NULL },
	{ "<user@example.com", 0, 0, NULL },
	{ "user@example.com>", 0, 0, NULL },
	{ "user@example.com", 0, 0, NULL },
	{ "<user@example.com> ", 0, 0, NULL },
	{ "<user>", 0, 0, NULL },
	{ "<postmaster>", 0, 0, NULL },
	{ "<\"postmaster\">", 0, PM, NULL },
	{ "<@example.com>", 0, 0, NULL },
	{ "<user@>", 0, 0, NULL },
	{ "<user@@example.com>", 0, 0, NULL },
	{ "<.user@example.com>", 0, 0, NULL },
	{ "<user.@example.com>", 0, 0, NULL },
	{ "<us..er@example.com>", 0, 0, NULL },
	{ "<user@example.com.>", 0, 0, NULL },
	{ "<user@.example.com>", 0, 0, NULL },
	{ "<user@exa..mple.com>", 0, 0, NULL },
	{ "<user@-example.com>", 0, 0, NULL },
	{ "<user@example-.com>", 0, 0, NULL },
	{ "<user@exa_mple.com>", 0, 0, NULL },
	{ "<us er@example.com>", 0, 0, NULL },
	{ "<user@exa mple.com>", 0, 0, NULL },
	{ "< user@example.com>", 0, 0, NULL },
	{ "<user@example.com >", 0, 0, NULL },
	{ "<\"unterminated@example.com>", 0, 0, NULL },
	{ "<\"a\\", 0, 0, NULL },
	{ "<\"tab\there\"@example.com>", 0, 0, NULL },
	{ "<\"a\\\x01\"@example.com>", 0, 0, NULL },
	{ "<user@[192.0.2.256]>", 0, 0, NULL },
	{ "<user@[192.0.2]>", 0, 0, NULL },
	{ "<user@[01.2.3.4]>", 0, 0, NULL },
	{ "<user@[IPv6:2001:db8::1::2]>", 0, 0, NULL },
	{ "<user@[IPv6:1.2.3.4]>", 0, 0, NULL },
	{ "<user@[2001:db8::1]>", 0, 0, NULL },
	{ "<user@[x-tag:abc]>", 0, 0, NULL },
	{ "<user@[192.0.2.1>", 0, 0, NULL },
	{ "<user@[192.0.2.1]x>", 0, 0, NULL },
	{ "<@relay.example user@example.com>", 0, 0, NULL },
	{ "<@relay.example,user@example.com>", 0, 0, NULL },
	{ "<@:user@example.com>", 0, 0, NULL },
	{ "<@relay_bad:user@example.com>", 0, 0, NULL },
	{ "<u\nser@example.com>", 0, 0, NULL },
	{ "<u\rser@example.com>", 0, 0, NULL },
	{ "<u\0ser@example.com>", 18, 0, NULL },
	{ "<user@exa\0mple.com>", 19, 0, NULL },
	{ "<\"u\0\"@example.com>", 17, 0, NULL },
	{ "<j\xc3\xb6rg@example.com>", 0, 0, NULL },
	{ "<jorg@b\xc3\xbc" "cher.example>", 0, 0, NULL },
	{ "<j\xc3(rg@example.com>", 0, U, NULL },
	{ "<j\xc0\xafrg@example.com>", 0, U, NULL },
	{ "<j\xed\xa0\x80rg@example.com>", 0, U, NULL },
	{ "<j\xf4\x90\x80\x80rg@example.com>", 0, U, NULL },
	{ "<j\xc3", 0, U, NULL },
	{ "<\"\xff\"@example.com>", 0, U, NULL },
};

static void test_paths(void **state)
{
	struct buf out = BUF_INIT;
	struct err err;

	for (size_t i = 0; i < N_ELEMENTS(path_cases); i++) {
		const struct path_case *c = &path_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		int rc = addr_parse_path(c->in, len, c->flags, NULL, &out, NULL, &err);
		if (c->out == NULL) {
			if (rc != -1)
				fail_msg("case %zu (%s) accepted as %s", i, c->in, buf_cstr(&out));
			assert_int_equal(out.len, 0);
			assert_int_equal(err.code, 501);
			assert_string_equal(err.msg, "501 5.1.3 Bad recipient address syntax");
		} else {
			if (rc != 0)
				fail_msg("case %zu (%s) refused", i, c->in);
			assert_string_equal(buf_cstr(&out), c->out);
		}
	}
	buf_deinit(&out);
}

static void test_sender_error_text(void **state)
{
	struct buf out = BUF_INIT;
	struct err err;

	assert_int_equal(addr_parse_path("<a b>", 5, S | NUL_OK, NULL, &out, NULL, &err), -1);
	assert_int_equal(err.code, 553);
	assert_string_equal(err.msg, "553 5.1.7 Bad sender address syntax");
	buf_deinit(&out);
}

static void test_used_and_bare(void **state)
{
	struct buf out = BUF_INIT;
	struct err err;
	size_t used = 0;
	const char *s = "<\"a> b\"@example.com> SIZE=10";

	assert_int_equal(addr_parse_path(s, strlen(s), 0, NULL, &out, &used, &err), 0);
	assert_int_equal(used, 20);
	assert_string_equal(buf_cstr(&out), "\"a> b\"@example.com");
	s = "user@example.com SIZE=10";
	assert_int_equal(addr_parse_path(s, strlen(s), 0, NULL, &out, &used, &err), -1);
	assert_int_equal(addr_parse_path(s, strlen(s), ADDR_BARE_OK, NULL, &out, &used, &err), 0);
	assert_int_equal(used, 16);
	assert_string_equal(buf_cstr(&out), "user@example.com");
	s = "user@example.com;x";
	assert_int_equal(addr_parse_path(s, strlen(s), ADDR_BARE_OK, NULL, &out, &used, &err), -1);
	s = "postmaster";
	assert_int_equal(addr_parse_path(s, strlen(s), ADDR_BARE_OK | PM, NULL, &out, NULL, &err),
			 0);
	buf_deinit(&out);
}

/* make - "<" + n_local x "@" + domain of n_dom octets in labels of 50 + ">" */
static void make(struct buf *b, size_t n_local, size_t n_dom)
{
	buf_reset(b);
	buf_addc(b, '<');
	for (size_t i = 0; i < n_local; i++)
		buf_addc(b, 'x');
	buf_addc(b, '@');
	for (size_t i = 0; i < n_dom; i++)
		buf_addc(b, (i % 51) == 50 && i + 1 < n_dom ? '.' : 'd');
	buf_addc(b, '>');
}

static void test_limits(void **state)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct err err;
	struct addr_limits lim = { 10, 20, 40 };

	make(&in, 64, 20);
	assert_int_equal(addr_parse_path(in.data, in.len, ADDR_RFC_LIMITS, NULL, &out, NULL, &err), 0);
	make(&in, 65, 20);
	assert_int_equal(addr_parse_path(in.data, in.len, ADDR_RFC_LIMITS, NULL, &out, NULL, &err),
			 -1);
	assert_int_equal(addr_parse_path(in.data, in.len, 0, NULL, &out, NULL, &err), 0);
	make(&in, 256, 20);
	assert_int_equal(addr_parse_path(in.data, in.len, 0, NULL, &out, NULL, &err), 0);
	make(&in, 257, 20);
	assert_int_equal(addr_parse_path(in.data, in.len, 0, NULL, &out, NULL, &err), -1);
	make(&in, 10, 255);
	assert_int_equal(addr_parse_path(in.data, in.len, 0, NULL, &out, NULL, &err), 0);
	make(&in, 10, 256);
	assert_int_equal(addr_parse_path(in.data, in.len, 0, NULL, &out, NULL, &err), -1);
	/* path: 1 + 64 + 1 + 189 + 1 = 256 octets fits the RFC limit, 257 not */
	make(&in, 64, 189);
	assert_int_equal(in.len, 256);
	assert_int_equal(addr_parse_path(in.data, in.len, ADDR_RFC_LIMITS, NULL, &out, NULL, &err), 0);
	make(&in, 64, 190);
	assert_int_equal(addr_parse_path(in.data, in.len, ADDR_RFC_LIMITS, NULL, &out, NULL, &err),
			 -1);
	/* labels: 63 octets fit, 64 do not */
	buf_sets(&in, "<a@");
	for (int i = 0; i < 63; i++)
		buf_addc(&in, 'l');
	buf_adds(&in, ".example>");
	assert_int_equal(addr_parse_path(in.data, in.len, 0, NULL, &out, NULL, &err), 0);
	buf_sets(&in, "<a@l");
	for (int i = 0; i < 63; i++)
		buf_addc(&in, 'l');
	buf_adds(&in, ".example>");
	assert_int_equal(addr_parse_path(in.data, in.len, 0, NULL, &out, NULL, &err), -1);
	/* caller's limits */
	make(&in, 10, 20);
	assert_int_equal(addr_parse_path(in.data, in.len, 0, &lim, &out, NULL, &err), 0);
	make(&in, 11, 20);
	assert_int_equal(addr_parse_path(in.data, in.len, 0, &lim, &out, NULL, &err), -1);
	make(&in, 10, 21);
	assert_int_equal(addr_parse_path(in.data, in.len, 0, &lim, &out, NULL, &err), -1);
	lim.domain_max = 100;
	make(&in, 10, 30);
	assert_int_equal(addr_parse_path(in.data, in.len, 0, &lim, &out, NULL, &err), -1);
	buf_deinit(&in);
	buf_deinit(&out);
}

static void test_mailbox(void **state)
{
	struct buf out = BUF_INIT;
	struct err err;

	assert_int_equal(addr_parse_mailbox("bob", 3, 0, NULL, &out, &err), -1);
	assert_int_equal(addr_parse_mailbox("bob", 3, ADDR_LOCAL_OK, NULL, &out, &err), 0);
	assert_string_equal(buf_cstr(&out), "bob");
	assert_int_equal(addr_parse_mailbox("Bob@X.Y", 7, 0, NULL, &out, &err), 0);
	assert_string_equal(buf_cstr(&out), "Bob@x.y");
	assert_int_equal(addr_parse_mailbox("<a@b>", 5, 0, NULL, &out, &err), -1);
	assert_int_equal(addr_parse_mailbox("a@b x", 5, 0, NULL, &out, &err), -1);
	assert_int_equal(out.len, 0);
	buf_deinit(&out);
}

static void test_domain(void **state)
{
	struct buf out = BUF_INIT;
	struct err err;
	static const struct {
		const char *in;
		int flags;
		const char *out;
	} cases[] = {
		{ "Mail.Example.COM", 0, "mail.example.com" },
		{ "localhost", 0, "localhost" },
		{ "[127.0.0.1]", 0, "[127.0.0.1]" },
		{ "[IPv6:0::1]", 0, "[IPv6:::1]" },
		{ "xn--bcher-kva.example", 0, "xn--bcher-kva.example" },
		{ "B\xc3\xbc" "cher.example", U, "b\xc3\xbc" "cher.example" },
		{ "B\xc3\xbc" "cher.example", 0, NULL },
		{ "", 0, NULL },
		{ "example.com.", 0, NULL },
		{ "under_score.example", 0, NULL },
		{ "127.0.0.1]", 0, NULL },
		{ "[127.0.0.1", 0, NULL },
		{ "a b", 0, NULL },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		int rc = addr_parse_domain(cases[i].in, strlen(cases[i].in), cases[i].flags, &out,
					   &err);
		if (cases[i].out == NULL) {
			assert_int_equal(rc, -1);
			assert_string_equal(err.msg, "501 5.5.4 Invalid domain name");
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(buf_cstr(&out), cases[i].out);
		}
	}
	buf_deinit(&out);
}

static void test_helpers(void **state)
{
	struct addr_parts p;
	struct buf b = BUF_INIT;
	const char *a = "\"x@y\"@example.com";

	addr_split(a, strlen(a), &p);
	assert_int_equal(p.local_len, 5);
	assert_memory_equal(p.local, "\"x@y\"", 5);
	assert_int_equal(p.domain_len, 11);
	assert_memory_equal(p.domain, "example.com", 11);
	addr_split("postmaster", 10, &p);
	assert_int_equal(p.local_len, 10);
	assert_int_equal(p.domain_len, 0);
	addr_split("", 0, &p);
	assert_int_equal(p.local_len, 0);
	assert_int_equal(p.domain_len, 0);

	addr_local_unquote("\"a \\\"b\\\\\"", 9, &b);
	assert_string_equal(buf_cstr(&b), "a \"b\\");
	buf_reset(&b);
	addr_local_unquote("plain", 5, &b);
	assert_string_equal(buf_cstr(&b), "plain");

	assert_true(addr_needs_utf8("j\xc3\xb6rg@x", 8));
	assert_false(addr_needs_utf8("jorg@x", 6));
	assert_true(addr_is_null("", 0));
	assert_true(addr_is_null(NULL, 0));
	assert_false(addr_is_null("a@b", 3));
	buf_deinit(&b);
}

/* struct collect - the callback's record of what it was given. */
struct collect {
	struct buf all; /* addresses joined by '|' */
	int stop_after; /* return -1 on this call (1-based); 0 never */
	int calls;
};

static int collect_fn(const char *addr, size_t len, void *ctx)
{
	struct collect *c = ctx;

	struct buf again = BUF_INIT;

	/* a canonical address parses again to itself */
	assert_int_equal(addr[len], '\0');
	assert_int_equal(addr_parse_mailbox(addr, len, ADDR_UTF8 | ADDR_LOCAL_OK, NULL, &again, NULL),
			 0);
	assert_string_equal(buf_cstr(&again), addr);
	buf_deinit(&again);
	if (c->all.len > 0)
		buf_addc(&c->all, '|');
	buf_add(&c->all, addr, len);
	return ++c->calls == c->stop_after ? -1 : 0;
}

static void test_header_list(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: error */
	} cases[] = {
		{ "user@example.com", "user@example.com" },
		{ "a@x.test, b@y.test", "a@x.test|b@y.test" },
		{ "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
		  "mary@x.test|jdoe@example.org|one@y.test" },
		{ "\"Doe, John\" <jdoe@Example.ORG>", "jdoe@example.org" },
		{ "John Q. Public <JQP@x.test> (the man)", "JQP@x.test" },
		{ "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, z@z.test",
		  "c@a.test|joe@where.test|jdoe@one.test|z@z.test" },
		{ "undisclosed-recipients:;", "" },
		{ "undisclosed-recipients:", "" },
		{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
		  "pete@silly.test" },
		{ "bob", "bob" },
		{ "bob, alice (local) ,", "bob|alice" },
		{ "<@route.test,@r2.test:x@y.test>", "x@y.test" },
		{ "john . doe @ example . com", "john.doe@example.com" },
		{ "\"quoted local\"@example.com", "\"quoted local\"@example.com" },
		{ "<>", "" },
		{ ",,,", "" },
		{ "", "" },
		{ "J\xc3\xb6rg <j\xc3\xb6rg@example.com>", "j\xc3\xb6rg@example.com" },
		{ "x@[192.0.2.1]", "x@[192.0.2.1]" },
		{ "John Smith", NULL },
		{ "John Smith <a@b.test", NULL },
		{ "\"unterminated <a@b.test>", NULL },
		{ "(unterminated a@b.test", NULL },
		{ "a@b.test)", NULL },
		{ "<a@b.test> c@d.test", NULL },
		{ "a@b.test;", NULL },
		{ "g1: g2: a@b.test;;", NULL },
		{ "a@b.test>", NULL },
		{ "<a@b.test, c@d.test>", NULL },
		{ "a@b@c.test", NULL },
		{ "a\0b@c.test", NULL },
		{ "<@route.test x@y.test>", NULL },
	};
	struct collect c = { BUF_INIT, 0, 0 };
	struct err err;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		size_t len = strlen(cases[i].in);
		if (i == N_ELEMENTS(cases) - 2)
			len = 10;
		buf_reset(&c.all);
		int rc = addr_parse_header_list(cases[i].in, len, collect_fn, &c, &err);
		if (cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("case %zu (%s) accepted: %s", i, cases[i].in,
					 buf_cstr(&c.all));
			assert_int_equal(err.code, 501);
			assert_true(strncmp(err.msg, "501 5.1.3 ", 10) == 0);
		} else {
			if (rc != 0)
				fail_msg("case %zu (%s) refused: %s", i, cases[i].in, err.msg);
			assert_string_equal(buf_cstr(&c.all), cases[i].out);
		}
	}
	/* the callback stops the walk */
	buf_reset(&c.all);
	c.stop_after = 2;
	c.calls = 0;
	err.code = 42;
	assert_int_equal(addr_parse_header_list("a@x, b@x, c@x", 13, collect_fn, &c, &err), -1);
	assert_string_equal(buf_cstr(&c.all), "a@x|b@x");
	assert_int_equal(err.code, 42);
	buf_deinit(&c.all);
}

static void test_comment_depth(void **state)
{
	struct collect c = { BUF_INIT, 0, 0 };
	struct buf in = BUF_INIT;
	struct err err;

	for (int i = 0; i < 32; i++)
		buf_addc(&in, '(');
	for (int i = 0; i < 32; i++)
		buf_addc(&in, ')');
	buf_adds(&in, "a@b.test");
	assert_int_equal(addr_parse_header_list(in.data, in.len, collect_fn, &c, &err), 0);
	buf_reset(&in);
	for (int i = 0; i < 1000; i++)
		buf_addc(&in, '(');
	assert_int_equal(addr_parse_header_list(in.data, in.len, collect_fn, &c, &err), -1);
	buf_deinit(&in);
	buf_deinit(&c.all);
}

/* test_garbage - random bytes never crash and never leave output on error. */
static void test_garbage(void **state)
{
	static const char alphabet[] = "<>@.:,;\"\\[]()aZ9- \t\r\n\0\xc3\xa9\xff=+IPv6";
	struct collect c = { BUF_INIT, 0, 0 };
	struct buf out = BUF_INIT;
	struct err err;
	char in[64];
	uint32_t seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(round % 40);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		int flags = round & 0x7f;
		if (addr_parse_path(in, len, flags, NULL, &out, NULL, &err) < 0) {
			assert_int_equal(out.len, 0);
		} else if (out.len > 0) {
			struct buf again = BUF_INIT;
			assert_int_equal(addr_parse_mailbox(out.data, out.len, flags | ADDR_LOCAL_OK,
							    NULL, &again, &err), 0);
			assert_string_equal(buf_cstr(&again), buf_cstr(&out));
			buf_deinit(&again);
		}
		if (addr_parse_header_list(in, len, collect_fn, &c, &err) < 0)
			assert_int_equal(err.code, 501);
		buf_reset(&c.all);
	}
	buf_deinit(&out);
	buf_deinit(&c.all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_sender_error_text),
		cmocka_unit_test(test_used_and_bare),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mailbox),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_header_list),
		cmocka_unit_test(test_comment_depth),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
