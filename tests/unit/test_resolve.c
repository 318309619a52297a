/*
 * test_resolve.c - unit tests for lib/resolve.c with inline: tables:
 * domain classes, recipient existence, aliases, virtual aliases and
 * catch-alls, address extensions, postmaster, TEMPFAIL from a missing table.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "resolve.h"
#include "tbl.h"

static const char conf[] =
	"myhostname = mx.example.test\n"
	"mydomain = example.test\n"
	"mydestination = $myhostname, localhost, inline:{alias.test=yes}\n"
	"virtual_mailbox_domains = example.test, other.test\n"
	"relay_domains = relay.test\n"
	"recipient_delimiter = +\n"
	"virtual_mailbox_maps = inline:{alice@example.test=example.test/alice/, bob@other.test=other.test/bob/}\n"
	"alias_maps = inline:{root=alice@example.test, {list = alice@example.test bob@other.test}, "
	"sales@other.test=bob@other.test}\n"
	"virtual_alias_maps = inline:{info@example.test=alice@example.test, "
	"@catch.test=alice@example.test}\n"
	"mynetworks = 127.0.0.0/8 [::1]/128\n";

static struct resolver *make(const char *text)
{
	struct err err;
	struct cfg *cfg = cfg_parse_string("/nonexistent", "main.cf", text, strlen(text), &err);
	struct resolver *r;

	if (cfg == NULL)
		fail_msg("%s", err.msg);
	r = resolver_new(cfg, &err);
	if (r == NULL)
		fail_msg("%s", err.msg);
	cfg_free(&cfg);
	return r;
}

static void test_classes(void **state)
{
	struct resolver *r = make(conf);

	assert_int_equal(resolve_domain(r, "mx.example.test"), RESOLVE_LOCAL);
	assert_int_equal(resolve_domain(r, "localhost"), RESOLVE_LOCAL);
	assert_int_equal(resolve_domain(r, "alias.test"), RESOLVE_LOCAL);
	assert_int_equal(resolve_domain(r, "example.test"), RESOLVE_VIRTUAL);
	assert_int_equal(resolve_domain(r, "other.test"), RESOLVE_VIRTUAL);
	assert_int_equal(resolve_domain(r, ""), RESOLVE_VIRTUAL); /* $myorigin */
	assert_int_equal(resolve_domain(r, "relay.test"), RESOLVE_RELAY);
	assert_int_equal(resolve_domain(r, "gmail.example"), RESOLVE_REMOTE);
	assert_string_equal(resolve_class_name(RESOLVE_REMOTE), "remote");
	resolver_free(&r);
	assert_null(r);
}

static void test_exists(void **state)
{
	struct resolver *r = make(conf);
	struct err err;

	assert_int_equal(resolve_rcpt_exists(r, "alice@example.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "ALICE@example.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "alice+news@example.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "nobody@example.test", &err), TBL_NOTFOUND);
	assert_int_equal(resolve_rcpt_exists(r, "bob@example.test", &err), TBL_NOTFOUND);
	assert_int_equal(resolve_rcpt_exists(r, "bob@other.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "info@example.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "anything@catch.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "list@example.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "root@mx.example.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "alice@mx.example.test", &err), TBL_NOTFOUND);
	assert_int_equal(resolve_rcpt_exists(r, "sales@other.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "sales@example.test", &err), TBL_NOTFOUND);
	assert_int_equal(resolve_rcpt_exists(r, "Postmaster@example.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "x@relay.test", &err), TBL_FOUND);
	assert_int_equal(resolve_rcpt_exists(r, "x@gmail.example", &err), TBL_FOUND);
	resolver_free(&r);
}

static void test_lookups(void **state)
{
	struct resolver *r = make(conf);
	struct buf v = BUF_INIT;
	struct err err;

	assert_int_equal(resolve_alias(r, "list@example.test", &v, &err), TBL_FOUND);
	assert_string_equal(buf_cstr(&v), "alice@example.test bob@other.test");
	assert_int_equal(resolve_alias(r, "list+x@example.test", &v, &err), TBL_FOUND);
	assert_int_equal(resolve_alias(r, "list@gmail.example", &v, &err), TBL_NOTFOUND);
	assert_int_equal(resolve_virtual_alias(r, "info@example.test", &v, &err), TBL_FOUND);
	assert_string_equal(buf_cstr(&v), "alice@example.test");
	assert_int_equal(resolve_virtual_alias(r, "zz@catch.test", &v, &err), TBL_FOUND);
	assert_int_equal(resolve_virtual_alias(r, "alice@example.test", &v, &err), TBL_NOTFOUND);
	assert_int_equal(resolve_user(r, "alice@example.test", &err), TBL_FOUND);
	assert_int_equal(resolve_user(r, "carol@example.test", &err), TBL_NOTFOUND);
	buf_deinit(&v);
	resolver_free(&r);
}

static void test_trusted(void **state)
{
	struct resolver *r = make(conf);
	struct sockaddr_in sin = { .sin_family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1);
	assert_true(resolve_trusted_client(r, (struct sockaddr *)&sin));
	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr), 1);
	assert_false(resolve_trusted_client(r, (struct sockaddr *)&sin));
	resolver_free(&r);
}

static void test_missing_table_tempfails(void **state)
{
	static const char text[] =
		"mydomain = example.test\n"
		"virtual_mailbox_domains = example.test\n"
		"virtual_mailbox_maps = hash:/nonexistent/tern/mailboxes\n"
		"alias_maps =\n";
	struct resolver *r = make(text);
	struct err err;

	assert_int_equal(resolve_rcpt_exists(r, "alice@example.test", &err), TBL_TEMPFAIL);
	assert_int_equal(resolve_rcpt_exists(r, "postmaster@example.test", &err), TBL_FOUND);
	resolver_free(&r);
}

static void test_bad_config(void **state)
{
	static const char *const bad[] = {
		"mynetworks = 300.0.0.1\n",
		"recipient_delimiter = +-\n",
		"alias_maps = inline:{a=b\n",
	};

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct err err;
		struct cfg *cfg = cfg_parse_string("/nonexistent", "main.cf", bad[i],
						   strlen(bad[i]), &err);
		struct resolver *r;

		assert_non_null(cfg);
		r = resolver_new(cfg, &err);
		if (r != NULL)
			fail_msg("accepted: %s", bad[i]);
		cfg_free(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_exists),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_trusted),
		cmocka_unit_test(test_missing_table_tempfails),
		cmocka_unit_test(test_bad_config),
	};

	log_init("test_resolve");
	log_set_stderr(false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
