/*
 * test_dns_ptr.c - unit tests for the reverse-lookup helpers of lib/dns
 * (dns_util.c): the in-addr.arpa / ip6.arpa name of an address (IPv4,
 * IPv6, IPv4-mapped IPv6, other families), PTR rdata decoding (good,
 * truncated, trailing bytes, upper case), the host-name check applied to
 * PTR names (good names, address literals, bad bytes, label and name
 * lengths, hyphens), and the address match of forward confirmation.
 */
#include "sys.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/un.h>
#include <cmocka.h>

#include "buf.h"
#include "dns.h"
#include "xmem.h"

/* sa_of - text address into ss (port 25). */
static const struct sockaddr *sa_of(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') == NULL) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(25);
		assert_int_equal(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(25);
		assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	}
	return (const struct sockaddr *)ss;
}

static void test_ptr_name_ipv4(void **state)
{
	static const struct {
		const char *addr, *name;
	} cases[] = {
		{"192.0.2.1", "1.2.0.192.in-addr.arpa"},
		{"127.0.0.1", "1.0.0.127.in-addr.arpa"},
		{"0.0.0.0", "0.0.0.0.in-addr.arpa"},
		{"255.255.255.255", "255.255.255.255.in-addr.arpa"},
		{"10.20.30.40", "40.30.20.10.in-addr.arpa"},
		/* IPv4-mapped IPv6 is looked up as IPv4 */
		{"::ffff:198.51.100.7", "7.100.51.198.in-addr.arpa"},
	};
	struct buf out = BUF_INIT;
	struct sockaddr_storage ss;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		assert_int_equal(dns_ptr_name(sa_of(cases[i].addr, &ss), &out), 0);
		assert_string_equal(buf_cstr(&out), cases[i].name);
	}
	buf_deinit(&out);
}

static void test_ptr_name_ipv6(void **state)
{
	struct buf out = BUF_INIT;
	struct sockaddr_storage ss;

	/* RFC 3596 2.5's example address */
	assert_int_equal(dns_ptr_name(sa_of("4321:0:1:2:3:4:567:89ab", &ss), &out), 0);
	assert_string_equal(buf_cstr(&out),
			    "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0."
			    "1.2.3.4.ip6.arpa");
	assert_int_equal(dns_ptr_name(sa_of("::1", &ss), &out), 0);
	assert_string_equal(buf_cstr(&out),
			    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
			    "0.0.0.0.ip6.arpa");
	assert_int_equal(dns_ptr_name(sa_of("2001:db8::fe", &ss), &out), 0);
	assert_string_equal(buf_cstr(&out),
			    "e.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0."
			    "1.0.0.2.ip6.arpa");
	/* 32 nibbles and their dots, then "ip6.arpa" */
	assert_int_equal(out.len, 64 + 8);
	buf_deinit(&out);
}

static void test_ptr_name_other_family(void **state)
{
	struct sockaddr_un sun;
	struct buf out = BUF_INIT;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(dns_ptr_name((const struct sockaddr *)&sun, &out), -1);
	buf_deinit(&out);
}

static void test_rdata_ptr(void **state)
{
	static const unsigned char good[] = "\4mail\7Example\3com"; /* + root */
	static const unsigned char trunc[] = {4, 'm', 'a', 'i'};    /* label cut */
	static const unsigned char extra[] = {1, 'a', 0, 'x'};	    /* bytes after */
	static const unsigned char bad[] = {3, 'a', ' ', 'b', 0};   /* space */
	static const unsigned char root[] = {0};
	struct buf name = BUF_INIT;

	assert_int_equal(dns_rdata_ptr(good, sizeof(good), &name), 0);
	assert_string_equal(buf_cstr(&name), "mail.example.com");
	assert_int_equal(dns_rdata_ptr(trunc, sizeof(trunc), &name), -1);
	assert_int_equal(dns_rdata_ptr(extra, sizeof(extra), &name), -1);
	assert_int_equal(dns_rdata_ptr(bad, sizeof(bad), &name), -1);
	assert_int_equal(dns_rdata_ptr(root, 0, &name), -1);
	assert_int_equal(dns_rdata_ptr(root, sizeof(root), &name), 0);
	assert_string_equal(buf_cstr(&name), "");
	buf_deinit(&name);
}

static void test_hostname_ok(void **state)
{
	static const char *const good[] = {
		"localhost",	   "mail.example.com",	 "a.b",
		"x-1.example",	   "_dmarc-ish.example", "1host.example",
		"123.example.com", "host.example.c0m",
	};
	static const char *const bad[] = {
		"",
		"192.0.2.1",
		"12345",
		"a..b",
		".a",
		"a.",
		"-a.example",
		"a-.example",
		"a b.example",
		"a/b.example",
		"a\\.example",
		"a.b.1",
		"ex\xc3\xa9.example",
	};
	char label[70], longname[300];

	for (size_t i = 0; i < N_ELEMENTS(good); i++)
		assert_true(dns_hostname_ok(good[i]));
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		assert_false(dns_hostname_ok(bad[i]));
	/* a label of 63 is fine, 64 is not */
	memset(label, 'a', 63);
	label[63] = '\0';
	assert_true(dns_hostname_ok(label));
	memset(label, 'a', 64);
	label[64] = '\0';
	assert_false(dns_hostname_ok(label));
	/* 253 bytes in all is fine, 254 is not */
	for (size_t i = 0; i < 253; i++)
		longname[i] = i % 2 == 0 ? 'a' : '.';
	longname[253] = '\0';
	assert_true(dns_hostname_ok(longname));
	longname[253] = 'a';
	longname[254] = '\0';
	assert_false(dns_hostname_ok(longname));
}

static void test_dest_has_addr(void **state)
{
	struct dns_dest d;
	struct sockaddr_storage ss;
	struct sockaddr_un sun;

	memset(&d, 0, sizeof(d));
	d.addrs = xcalloc(3, sizeof(*d.addrs));
	d.n = 3;
	for (size_t i = 0; i < d.n; i++)
		d.addrs[i].host = xstrdup("h.example");
	sa_of("192.0.2.9", &d.addrs[0].sa);
	sa_of("2001:db8::5", &d.addrs[1].sa);
	sa_of("::ffff:198.51.100.1", &d.addrs[2].sa);
	((struct sockaddr_in *)&d.addrs[0].sa)->sin_port = htons(0);

	assert_true(dns_dest_has_addr(&d, sa_of("192.0.2.9", &ss)));
	assert_true(dns_dest_has_addr(&d, sa_of("::ffff:192.0.2.9", &ss)));
	assert_true(dns_dest_has_addr(&d, sa_of("2001:db8::5", &ss)));
	assert_true(dns_dest_has_addr(&d, sa_of("198.51.100.1", &ss)));
	assert_false(dns_dest_has_addr(&d, sa_of("192.0.2.10", &ss)));
	assert_false(dns_dest_has_addr(&d, sa_of("2001:db8::6", &ss)));
	/* the same 4 bytes as the start of an IPv6 address do not match */
	assert_false(dns_dest_has_addr(&d, sa_of("c000:209::", &ss)));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_false(dns_dest_has_addr(&d, (const struct sockaddr *)&sun));
	dns_dest_deinit(&d);
	assert_int_equal(d.n, 0);
	d.addrs = NULL;
	assert_false(dns_dest_has_addr(&d, sa_of("192.0.2.9", &ss)));
}

static void test_ptr_result_deinit(void **state)
{
	struct dns_ptr_result p;

	memset(&p, 0, sizeof(p));
	dns_ptr_result_deinit(&p); /* empty */
	p.names = xcalloc(2, sizeof(*p.names));
	p.names[0] = xstrdup("a.example");
	p.names[1] = xstrdup("b.example");
	p.n = 2;
	dns_ptr_result_deinit(&p);
	assert_null(p.names);
	assert_int_equal(p.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ptr_name_ipv4),	      cmocka_unit_test(test_ptr_name_ipv6),
		cmocka_unit_test(test_ptr_name_other_family), cmocka_unit_test(test_rdata_ptr),
		cmocka_unit_test(test_hostname_ok),	      cmocka_unit_test(test_dest_has_addr),
		cmocka_unit_test(test_ptr_result_deinit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
