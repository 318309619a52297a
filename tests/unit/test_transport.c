/*
 * test_transport.c - unit tests for lib/transport.c: table values,
 * next-hop syntax, lookups by domain, parent domain and "*", relayhost,
 * and a table that cannot be read (TBL_TEMPFAIL).
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "tbl.h"
#include "transport.h"

static void test_parse_value(void **state)
{
	struct buf tr = BUF_INIT, nh = BUF_INIT;
	struct err err;

	assert_int_equal(
		transport_parse_value("smtp:[10.0.0.1]:2525", "d.example", "", &tr, &nh, &err), 0);
	assert_string_equal(buf_cstr(&tr), "smtp");
	assert_string_equal(buf_cstr(&nh), "[10.0.0.1]:2525");
	assert_int_equal(transport_parse_value("local:", "d.example", "", &tr, &nh, &err), 0);
	assert_string_equal(buf_cstr(&tr), "local");
	assert_string_equal(buf_cstr(&nh), "d.example");
	assert_int_equal(
		transport_parse_value("error:5.1.1 no such domain", "d", "", &tr, &nh, &err), 0);
	assert_string_equal(buf_cstr(&tr), "error");
	assert_string_equal(buf_cstr(&nh), "5.1.1 no such domain");
	assert_int_equal(transport_parse_value(":[relay]", "d", "", &tr, &nh, &err), 0);
	assert_string_equal(buf_cstr(&tr), "smtp");
	assert_string_equal(buf_cstr(&nh), "[relay]");
	/* an empty smtp next hop falls back to relayhost, then the domain */
	assert_int_equal(transport_parse_value("smtp:", "d", "[gw]:26", &tr, &nh, &err), 0);
	assert_string_equal(buf_cstr(&nh), "[gw]:26");
	assert_int_equal(transport_parse_value("discard", "d", "[gw]", &tr, &nh, &err), 0);
	assert_string_equal(buf_cstr(&tr), "discard");
	assert_string_equal(buf_cstr(&nh), "d");
	assert_int_equal(transport_parse_value("", "d", "", &tr, &nh, &err), -1);
	assert_int_equal(transport_parse_value("sm tp:x", "d", "", &tr, &nh, &err), -1);
	buf_deinit(&tr);
	buf_deinit(&nh);
}

static void test_parse_nexthop(void **state)
{
	struct buf host = BUF_INIT;
	unsigned int port;
	bool mx;
	struct err err;

	assert_int_equal(
		transport_parse_nexthop("[Relay.Example]:2525", 25, &host, &port, &mx, &err), 0);
	assert_string_equal(buf_cstr(&host), "relay.example");
	assert_int_equal(port, 2525);
	assert_false(mx);
	assert_int_equal(transport_parse_nexthop("example.com", 10025, &host, &port, &mx, &err), 0);
	assert_string_equal(buf_cstr(&host), "example.com");
	assert_int_equal(port, 10025);
	assert_true(mx);
	assert_int_equal(transport_parse_nexthop("example.com:26", 25, &host, &port, &mx, &err), 0);
	assert_int_equal(port, 26);
	assert_true(mx);
	assert_int_equal(
		transport_parse_nexthop("[ipv6:2001:db8::1]:25", 25, &host, &port, &mx, &err), 0);
	assert_string_equal(buf_cstr(&host), "2001:db8::1");
	assert_int_equal(transport_parse_nexthop("[127.0.0.1]", 25, &host, &port, &mx, &err), 0);
	assert_string_equal(buf_cstr(&host), "127.0.0.1");
	assert_false(mx);
	static const char *const bad[] = {"",	  "[x",	  "[]:25", "x:0", "x:70000",
					  "x:ab", "[x]y", "a b",   ":25"};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		assert_int_equal(transport_parse_nexthop(bad[i], 25, &host, &port, &mx, &err), -1);
	buf_deinit(&host);
}

static void test_lookup(void **state)
{
	struct buf tr = BUF_INIT, nh = BUF_INIT;
	struct err err;
	struct transport *t =
		transport_new_spec("inline:{a.example=smtp:[10.0.0.1]:2525, .sub.example=relay:gw, "
				   "local.example=local:, {bad.example=error:5.7.1 go away}}",
				   "", &err);

	assert_non_null(t);
	assert_int_equal(transport_lookup(t, "a.example", true, &tr, &nh, &err), TBL_FOUND);
	assert_string_equal(buf_cstr(&tr), "smtp");
	assert_string_equal(buf_cstr(&nh), "[10.0.0.1]:2525");
	assert_int_equal(transport_lookup(t, "x.sub.example", true, &tr, &nh, &err), TBL_FOUND);
	assert_string_equal(buf_cstr(&tr), "relay");
	assert_string_equal(buf_cstr(&nh), "gw");
	/* ".sub.example" matches subdomains only */
	assert_int_equal(transport_lookup(t, "sub.example", true, &tr, &nh, &err), TBL_NOTFOUND);
	assert_string_equal(buf_cstr(&tr), "smtp");
	assert_string_equal(buf_cstr(&nh), "sub.example");
	assert_int_equal(transport_lookup(t, "local.example", false, &tr, &nh, &err), TBL_FOUND);
	assert_string_equal(buf_cstr(&tr), "local");
	assert_int_equal(transport_lookup(t, "bad.example", true, &tr, &nh, &err), TBL_FOUND);
	assert_string_equal(buf_cstr(&tr), "error");
	assert_int_equal(transport_lookup(t, "other.example", false, &tr, &nh, &err), TBL_NOTFOUND);
	assert_string_equal(buf_cstr(&tr), "");
	transport_free(&t);
	assert_null(t);
	buf_deinit(&tr);
	buf_deinit(&nh);
}

static void test_relayhost_and_wildcard(void **state)
{
	struct buf tr = BUF_INIT, nh = BUF_INIT;
	struct err err;
	struct transport *t =
		transport_new_spec("inline:{x.example=smtp:}", "[gw.example]:587", &err);

	assert_non_null(t);
	assert_int_equal(transport_lookup(t, "remote.example", true, &tr, &nh, &err), TBL_FOUND);
	assert_string_equal(buf_cstr(&tr), "smtp");
	assert_string_equal(buf_cstr(&nh), "[gw.example]:587");
	assert_int_equal(transport_lookup(t, "x.example", true, &tr, &nh, &err), TBL_FOUND);
	assert_string_equal(buf_cstr(&nh), "[gw.example]:587");
	/* not remote: relayhost does not apply */
	assert_int_equal(transport_lookup(t, "mine.example", false, &tr, &nh, &err), TBL_NOTFOUND);
	assert_string_equal(buf_cstr(&nh), "mine.example");
	transport_free(&t);

	t = transport_new_spec("inline:{*=smtp:[smart]:2525}", "", &err);
	assert_non_null(t);
	assert_int_equal(transport_lookup(t, "any.example", true, &tr, &nh, &err), TBL_FOUND);
	assert_string_equal(buf_cstr(&nh), "[smart]:2525");
	transport_free(&t);

	assert_null(transport_new_spec("", "[unclosed", &err));
	buf_deinit(&tr);
	buf_deinit(&nh);
}

static void test_missing_table_tempfails(void **state)
{
	struct buf tr = BUF_INIT, nh = BUF_INIT;
	struct err err;
	struct transport *t = transport_new_spec("hash:/nonexistent/tern-transport", "", &err);

	assert_non_null(t);
	assert_int_equal(transport_lookup(t, "a.example", true, &tr, &nh, &err), TBL_TEMPFAIL);
	transport_free(&t);
	buf_deinit(&tr);
	buf_deinit(&nh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_value),
		cmocka_unit_test(test_parse_nexthop),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_relayhost_and_wildcard),
		cmocka_unit_test(test_missing_table_tempfails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
