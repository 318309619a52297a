/*
 * test_netmatch.c - unit tests for lib/netmatch.c: IPv4/IPv6 CIDR lists,
 * mapped addresses, malformed entries.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "err.h"
#include "netmatch.h"

static void test_match(void **state)
{
	char *list[] = { "127.0.0.0/8", "[::1]/128", "192.0.2.7", "2001:db8::/32",
			 "10.1.0.0/16", NULL };
	struct err err;
	struct netmatch *nm = netmatch_new(list, &err);

	assert_non_null(nm);
	assert_true(netmatch_str(nm, "127.0.0.1"));
	assert_true(netmatch_str(nm, "127.255.255.254"));
	assert_false(netmatch_str(nm, "128.0.0.1"));
	assert_true(netmatch_str(nm, "::1"));
	assert_false(netmatch_str(nm, "::2"));
	assert_true(netmatch_str(nm, "192.0.2.7"));
	assert_false(netmatch_str(nm, "192.0.2.8"));
	assert_true(netmatch_str(nm, "2001:db8:ffff::1"));
	assert_false(netmatch_str(nm, "2001:db9::1"));
	assert_true(netmatch_str(nm, "10.1.200.3"));
	assert_false(netmatch_str(nm, "10.2.0.1"));
	assert_true(netmatch_str(nm, "::ffff:127.0.0.1"));
	assert_false(netmatch_str(nm, "not-an-address"));
	netmatch_free(&nm);
	assert_null(nm);
}

static void test_sockaddr(void **state)
{
	char *list[] = { "127.0.0.1/32", NULL };
	struct err err;
	struct netmatch *nm = netmatch_new(list, &err);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1);
	assert_true(netmatch_sockaddr(nm, (struct sockaddr *)&sin));
	assert_int_equal(inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr), 1);
	assert_false(netmatch_sockaddr(nm, (struct sockaddr *)&sin));
	assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr), 1);
	assert_true(netmatch_sockaddr(nm, (struct sockaddr *)&sin6));
	netmatch_free(&nm);
}

static void test_empty_list(void **state)
{
	char *list[] = { NULL };
	struct err err;
	struct netmatch *nm = netmatch_new(list, &err);

	assert_non_null(nm);
	assert_false(netmatch_str(nm, "127.0.0.1"));
	netmatch_free(&nm);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "/8", "127.0.0.0/33", "::1/129", "127.0.0.1/", "127.0.0.1/x",
		"127.0.0.1/-1", "[127.0.0.1", "host.example", "127.0.0.1/8",
		"1.2.3.4.5", "[::1]/", "2001:db8::1/32", "[]",
	};

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		char *list[] = { (char *)bad[i], NULL };
		struct err err;
		struct netmatch *nm = netmatch_new(list, &err);

		if (nm != NULL)
			fail_msg("accepted bad network \"%s\"", bad[i]);
		assert_non_null(strstr(err.msg, "bad network"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_empty_list),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
