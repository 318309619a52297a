/*
 * test_qmgr_util.c - unit tests for qmgr/qmgr_util.c: retry backoff and
 * expiry arithmetic, delay-warning and NOTIFY rules, recipient grouping
 * into per-destination batches, the string hash map, per-transport
 * parameter names, the destination start rule (concurrency, rate delay,
 * dead and probing), and the suspension reason and status.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "qmgr/qmgr.h"

static void test_backoff_doubles_within_bounds(void **state)
{
	/* table: age -> wait with min 300, max 4000 */
	static const struct {
		long age, want;
	} t[] = {
		{0, 300},     {10, 300},    {300, 300},	  {600, 600},	 {1200, 1200},
		{2400, 2400}, {3999, 3999}, {4000, 4000}, {86400, 4000},
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(t); i++)
		assert_int_equal(qmgr_backoff(t[i].age, 300, 4000), t[i].want);
	/* nonsense settings still give a positive, ordered range */
	assert_int_equal(qmgr_backoff(5, 0, 0), 1);
	assert_int_equal(qmgr_backoff(100, 500, 200), 500);
}

static void test_retry_sequence(void **state)
{
	time_t arrival = 1000000, now = arrival;
	long waits[8];
	size_t i;

	/* each retry at the computed time: waits double until the cap */
	for (i = 0; i < N_ELEMENTS(waits); i++) {
		time_t next = qmgr_retry_time(now, arrival, 300, 4000, 5 * 86400);

		waits[i] = (long)(next - now);
		now = next;
	}
	assert_int_equal(waits[0], 300);
	assert_int_equal(waits[1], 300);
	assert_int_equal(waits[2], 600);
	assert_int_equal(waits[3], 1200);
	assert_int_equal(waits[4], 2400);
	assert_int_equal(waits[5], 4000);
	assert_int_equal(waits[6], 4000);
}

static void test_retry_capped_at_expiry(void **state)
{
	/* expires 100 s after arrival: no retry is scheduled past that */
	assert_int_equal(qmgr_retry_time(1050, 1000, 300, 4000, 100), 1100);
	/* already past expiry: the next second, so the expiry is handled */
	assert_int_equal(qmgr_retry_time(1200, 1000, 300, 4000, 100), 1201);
	assert_true(qmgr_expired(1100, 1000, 100));
	assert_false(qmgr_expired(1099, 1000, 100));
}

static void test_delay_due(void **state)
{
	assert_false(qmgr_delay_due(5000, 1000, 0, 0));	   /* off */
	assert_false(qmgr_delay_due(1500, 1000, 3600, 0)); /* too young */
	assert_true(qmgr_delay_due(4600, 1000, 3600, 0));
	assert_false(qmgr_delay_due(4600, 1000, 3600, QFILE_MSTAT_DELAY_SENT)); /* once */
}

static void test_notify_rules(void **state)
{
	assert_true(qmgr_notify_wants(0, DSN_FAILURE));
	assert_true(qmgr_notify_wants(0, DSN_DELAY));
	assert_false(qmgr_notify_wants(0, DSN_SUCCESS));
	assert_false(qmgr_notify_wants(QFILE_NOTIFY_NEVER, DSN_FAILURE));
	assert_false(qmgr_notify_wants(QFILE_NOTIFY_NEVER, DSN_DELAY));
	assert_true(qmgr_notify_wants(QFILE_NOTIFY_SUCCESS, DSN_SUCCESS));
	assert_false(qmgr_notify_wants(QFILE_NOTIFY_SUCCESS, DSN_FAILURE));
	assert_false(qmgr_notify_wants(QFILE_NOTIFY_FAILURE, DSN_DELAY));
	assert_true(qmgr_notify_wants(QFILE_NOTIFY_FAILURE | QFILE_NOTIFY_DELAY, DSN_DELAY));
}

static void test_grouping(void **state)
{
	static const struct {
		const char *transport, *addr;
		bool per_rcpt;
	} in[] = {
		{"smtp", "a@Remote.example", false}, {"local", "x@example.test", true},
		{"smtp", "b@remote.example", false}, {"smtp", "c@other.example", false},
		{"local", "X@example.test", true},   {"smtp", "d@remote.example", false},
		{"local", "y@example.test", true},
	};
	struct qmgr_route r[N_ELEMENTS(in)];
	size_t i, start, end, batches = 0;

	for (i = 0; i < N_ELEMENTS(in); i++)
		qmgr_route_set(&r[i], in[i].transport, in[i].addr, i, in[i].per_rcpt);
	assert_string_equal(r[0].nexthop, "remote.example");
	assert_string_equal(r[0].dest, "remote.example");
	assert_string_equal(r[1].dest, "x@example.test");
	assert_string_equal(r[1].nexthop, "example.test");
	qmgr_routes_sort(r, N_ELEMENTS(r));
	/* local first (x twice: same mailbox, any case), then smtp by domain */
	assert_string_equal(r[0].transport, "local");
	assert_int_equal(r[0].rcpt, 1);
	assert_int_equal(r[1].rcpt, 4);
	assert_int_equal(r[2].rcpt, 6);
	assert_string_equal(r[3].dest, "other.example");
	assert_int_equal(r[4].rcpt, 0);
	assert_int_equal(r[5].rcpt, 2);
	assert_int_equal(r[6].rcpt, 5);

	/* batches: local limit 1 -> one each; remote.example limit 2 -> 2 + 1 */
	start = 0;
	end = qmgr_routes_batch(r, 7, start, 1);
	assert_int_equal(end, 1);
	end = qmgr_routes_batch(r, 7, 0, 50);
	assert_int_equal(end, 2); /* x@ twice, then y@ is another dest */
	assert_int_equal(qmgr_routes_batch(r, 7, 2, 50), 3);
	assert_int_equal(qmgr_routes_batch(r, 7, 3, 50), 4); /* other.example alone */
	assert_int_equal(qmgr_routes_batch(r, 7, 4, 2), 6);
	assert_int_equal(qmgr_routes_batch(r, 7, 6, 2), 7);
	assert_int_equal(qmgr_routes_batch(r, 7, 7, 2), 7);
	assert_int_equal(qmgr_routes_batch(r, 7, 4, 0), 5); /* limit 0 acts as 1 */
	for (start = 0; start < 7; start = end, batches++)
		end = qmgr_routes_batch(r, 7, start, 50);
	assert_int_equal(batches, 4);
	for (i = 0; i < N_ELEMENTS(r); i++)
		qmgr_route_deinit(&r[i]);
}

static void test_route_without_domain(void **state)
{
	struct qmgr_route r;

	qmgr_route_set(&r, "local", "postmaster", 3, false);
	assert_string_equal(r.nexthop, "");
	assert_string_equal(r.dest, "");
	assert_int_equal(r.rcpt, 3);
	qmgr_route_deinit(&r);
	/* the last '@' separates the domain (quoted local parts may hold '@') */
	qmgr_route_set(&r, "smtp", "\"a@b\"@Dom.Example", 0, false);
	assert_string_equal(r.nexthop, "dom.example");
	qmgr_route_deinit(&r);
}

static void test_map(void **state)
{
	struct qmgr_map m;
	char key[32];
	int vals[3] = {1, 2, 3};
	size_t i;

	qmgr_map_init(&m);
	assert_null(qmgr_map_get(&m, "a"));
	qmgr_map_put(&m, "a", &vals[0]);
	qmgr_map_put(&m, "b", &vals[1]);
	assert_ptr_equal(qmgr_map_get(&m, "a"), &vals[0]);
	qmgr_map_put(&m, "a", &vals[2]); /* replace */
	assert_ptr_equal(qmgr_map_get(&m, "a"), &vals[2]);
	assert_int_equal(m.count, 2);
	/* grow through several doublings and find everything again */
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		qmgr_map_put(&m, key, &vals[i % 3]);
	}
	assert_int_equal(m.count, 5002);
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		assert_ptr_equal(qmgr_map_get(&m, key), &vals[i % 3]);
	}
	for (i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "k%zu", i);
		assert_true(qmgr_map_del(&m, key));
		assert_false(qmgr_map_del(&m, key));
	}
	assert_int_equal(m.count, 2502);
	assert_null(qmgr_map_get(&m, "k0"));
	assert_non_null(qmgr_map_get(&m, "k1"));
	qmgr_map_deinit(&m);
}

static void test_param_name(void **state)
{
	static const struct {
		const char *transport, *suffix, *want;
	} t[] = {
		{"smtp", "destination_rate_delay", "smtp_destination_rate_delay"},
		{"relay-out", "destination_concurrency_limit",
		 "relay-out_destination_concurrency_limit"},
		{"local", "destination_recipient_limit", "local_destination_recipient_limit"},
		{"local", "destination_rate_delay", "local_destination_rate_delay"},
		/* names that cannot be parameters: the default */
		{"Smtp", "destination_rate_delay", "default_destination_rate_delay"},
		{"smtp.v2", "destination_concurrency_limit",
		 "default_destination_concurrency_limit"},
		{"", "destination_recipient_limit", "default_destination_recipient_limit"},
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		qmgr_param_name(t[i].transport, t[i].suffix, &b);
		assert_string_equal(buf_cstr(&b), t[i].want);
	}
	buf_deinit(&b);
}

static void test_dest_room(void **state)
{
	/* state, busy, conc, rate_limited, rate_wait -> may start */
	static const struct {
		enum qmgr_dest_state st;
		unsigned long busy, conc;
		bool rate_limited, rate_wait, want;
	} t[] = {
		{QMGR_DEST_ALIVE, 0, 20, false, false, true},
		{QMGR_DEST_ALIVE, 19, 20, false, false, true},
		{QMGR_DEST_ALIVE, 20, 20, false, false, false},
		{QMGR_DEST_ALIVE, 0, 0, false, false, true}, /* 0 counts as 1 */
		{QMGR_DEST_ALIVE, 1, 0, false, false, false},
		/* rate delay: one at a time, none while the delay runs */
		{QMGR_DEST_ALIVE, 0, 20, true, false, true},
		{QMGR_DEST_ALIVE, 1, 20, true, false, false},
		{QMGR_DEST_ALIVE, 0, 20, true, true, false},
		{QMGR_DEST_ALIVE, 0, 20, false, true, true}, /* a stale timer without a delay */
		/* dead: nothing; probing: one */
		{QMGR_DEST_DEAD, 0, 20, false, false, false},
		{QMGR_DEST_DEAD, 0, 20, true, false, false},
		{QMGR_DEST_PROBE, 0, 20, false, false, true},
		{QMGR_DEST_PROBE, 1, 20, false, false, false},
		{QMGR_DEST_PROBE, 0, 20, true, true, false},
	};

	for (size_t i = 0; i < N_ELEMENTS(t); i++)
		assert_int_equal(qmgr_dest_room(t[i].st, t[i].busy, t[i].conc, t[i].rate_limited,
						t[i].rate_wait),
				 t[i].want);
}

static void test_site_reason_and_dsn(void **state)
{
	struct buf b = BUF_INIT;
	char big[2000];

	qmgr_site_reason("connect to mx[127.0.0.3]:25: Connection refused", &b);
	assert_string_equal(buf_cstr(&b), "delivery temporarily suspended: connect to "
					  "mx[127.0.0.3]:25: Connection refused");
	qmgr_site_reason("", &b);
	assert_string_equal(buf_cstr(&b), "delivery temporarily suspended");
	qmgr_site_reason(NULL, &b);
	assert_string_equal(buf_cstr(&b), "delivery temporarily suspended");
	qmgr_site_reason("bad\nline\x01", &b);
	assert_string_equal(buf_cstr(&b), "delivery temporarily suspended: bad?line?");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	qmgr_site_reason(big, &b);
	assert_true(b.len < 900);
	buf_deinit(&b);

	assert_string_equal(qmgr_site_dsn("4.4.1"), "4.4.1");
	assert_string_equal(qmgr_site_dsn("4.7.5"), "4.7.5");
	assert_string_equal(qmgr_site_dsn("4.123.456"), "4.123.456");
	assert_string_equal(qmgr_site_dsn("5.1.1"), "4.4.1");
	assert_string_equal(qmgr_site_dsn("4.4"), "4.4.1");
	assert_string_equal(qmgr_site_dsn("4.4.1 x"), "4.4.1");
	assert_string_equal(qmgr_site_dsn("4.1234.1"), "4.4.1");
	assert_string_equal(qmgr_site_dsn("4..1"), "4.4.1");
	assert_string_equal(qmgr_site_dsn(""), "4.4.1");
	assert_string_equal(qmgr_site_dsn(NULL), "4.4.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_within_bounds),
		cmocka_unit_test(test_retry_sequence),
		cmocka_unit_test(test_retry_capped_at_expiry),
		cmocka_unit_test(test_delay_due),
		cmocka_unit_test(test_notify_rules),
		cmocka_unit_test(test_grouping),
		cmocka_unit_test(test_route_without_domain),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_param_name),
		cmocka_unit_test(test_dest_room),
		cmocka_unit_test(test_site_reason_and_dsn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
