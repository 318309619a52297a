/*
 * test_dns.c - unit tests for the pure parts of lib/dns (dns_util.c): MX ordering
 * (preference order, equal preferences shuffled, every order reachable),
 * MX and TLSA rdata decoding (good, truncated, over-long labels), and
 * dns_servers entries.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "dns.h"

/* seq_rnd - deterministic "random" values from a counter. */
static unsigned long seq_rnd(unsigned long bound, void *ctx)
{
	unsigned long *state = ctx;

	*state = *state * 6364136223846793005UL + 1442695040888963407UL;
	return (*state >> 33) % bound;
}

static void test_mx_order(void **state)
{
	struct dns_mx mx[] = {{20, "c"}, {10, "a"}, {30, "d"}, {10, "b"}, {5, "z"}};
	unsigned long s = 1;

	dns_mx_sort(mx, N_ELEMENTS(mx), seq_rnd, &s);
	assert_int_equal(mx[0].pref, 5);
	assert_int_equal(mx[1].pref, 10);
	assert_int_equal(mx[2].pref, 10);
	assert_int_equal(mx[3].pref, 20);
	assert_int_equal(mx[4].pref, 30);
	assert_string_equal(mx[0].host, "z");
	assert_string_equal(mx[3].host, "c");
}

static void test_mx_shuffle_reaches_every_order(void **state)
{
	bool seen_ab = false, seen_ba = false;
	unsigned long s = 7;

	for (int round = 0; round < 200; round++) {
		struct dns_mx mx[] = {{10, "a"}, {10, "b"}, {20, "c"}};

		dns_mx_sort(mx, N_ELEMENTS(mx), seq_rnd, &s);
		assert_string_equal(mx[2].host, "c");
		if (strcmp(mx[0].host, "a") == 0)
			seen_ab = true;
		else
			seen_ba = true;
	}
	assert_true(seen_ab);
	assert_true(seen_ba);
}

static void test_rdata_mx(void **state)
{
	const unsigned char mx[] = {0, 10, 2, 'M', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
	const unsigned char null_mx[] = {0, 0, 0};
	const unsigned char trunc[] = {0, 10, 5, 'a', 'b'};
	const unsigned char junk[] = {0, 10, 1, 'a', 0, 'x'};
	const unsigned char toolong[] = {0, 1, 64};
	struct buf name = BUF_INIT;
	unsigned int pref = 0;

	assert_int_equal(dns_rdata_mx(mx, sizeof(mx), &pref, &name), 0);
	assert_int_equal(pref, 10);
	assert_string_equal(buf_cstr(&name), "mx.example");
	assert_int_equal(dns_rdata_mx(null_mx, sizeof(null_mx), &pref, &name), 0);
	assert_int_equal(pref, 0);
	assert_string_equal(buf_cstr(&name), "");
	assert_int_equal(dns_rdata_mx(trunc, sizeof(trunc), &pref, &name), -1);
	assert_int_equal(dns_rdata_mx(junk, sizeof(junk), &pref, &name), -1);
	assert_int_equal(dns_rdata_mx(toolong, sizeof(toolong), &pref, &name), -1);
	assert_int_equal(dns_rdata_mx(mx, 2, &pref, &name), -1);
	buf_deinit(&name);
}

static void test_rdata_tlsa(void **state)
{
	const unsigned char rec[] = {3, 1, 1, 0xab, 0xcd};
	struct dns_tlsa t;

	assert_int_equal(dns_rdata_tlsa(rec, sizeof(rec), &t), 0);
	assert_int_equal(t.usage, 3);
	assert_int_equal(t.selector, 1);
	assert_int_equal(t.mtype, 1);
	assert_int_equal(t.len, 2);
	assert_int_equal(t.data[1], 0xcd);
	free(t.data);
	assert_int_equal(dns_rdata_tlsa(rec, 3, &t), -1);
}

static void test_server_spec(void **state)
{
	struct buf out = BUF_INIT;

	assert_int_equal(dns_server_spec("127.0.0.1", &out), 0);
	assert_string_equal(buf_cstr(&out), "127.0.0.1");
	assert_int_equal(dns_server_spec("127.0.0.1:5353", &out), 0);
	assert_string_equal(buf_cstr(&out), "127.0.0.1@5353");
	assert_int_equal(dns_server_spec("[::1]:53", &out), 0);
	assert_string_equal(buf_cstr(&out), "::1@53");
	assert_int_equal(dns_server_spec("::1", &out), 0);
	assert_string_equal(buf_cstr(&out), "::1");
	assert_int_equal(dns_server_spec("dns.example:53", &out), -1);
	assert_int_equal(dns_server_spec("127.0.0.1:0", &out), -1);
	assert_int_equal(dns_server_spec("127.0.0.1:99999", &out), -1);
	assert_int_equal(dns_server_spec("[::1", &out), -1);
	assert_int_equal(dns_server_spec("", &out), -1);
	buf_deinit(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_order),
		cmocka_unit_test(test_mx_shuffle_reaches_every_order),
		cmocka_unit_test(test_rdata_mx),
		cmocka_unit_test(test_rdata_tlsa),
		cmocka_unit_test(test_server_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
