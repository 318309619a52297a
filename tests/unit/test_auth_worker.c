/*
 * test_auth_worker.c - unit tests for auth/auth_worker.c: answers come
 * from the loop (never inside the submit call) and are right for good and
 * bad passwords, two threads check at once (a wrapped passwd_verify makes
 * them meet), cancelling a queued or
 * running job silences its callback, a callback may cancel a later job,
 * freeing the pool with work outstanding drops it quietly.
 * Touches:  an event base, the pool's threads, libcrypt.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include <event2/event.h>

#include "auth/auth.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "passwd.h"

static struct buf hash;

struct answer {
	int calls;
	bool match;
	struct auth_workers *w;
	struct auth_job **cancel_next; /* cancel this job from the callback */
};

static void on_answer(bool match, void *arg)
{
	struct answer *a = arg;

	a->calls++;
	a->match = match;
	if (a->cancel_next != NULL && *a->cancel_next != NULL) {
		auth_workers_cancel(a->w, *a->cancel_next);
		*a->cancel_next = NULL;
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* run_until - loop until the pool has nothing outstanding (or 10 s). */
static void run_until_idle(struct event_base *base, struct auth_workers *w)
{
	int64_t end = mono_ms() + 10000;

	while (auth_workers_queued(w) > 0 && mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(auth_workers_queued(w), 0);
}

static int setup(void **state)
{
	struct err err;

	buf_init(&hash, 0);
	assert_int_equal(passwd_hash_prefix("right", "$y$", &hash, &err), 0);
	return 0;
}

static int teardown(void **state)
{
	buf_deinit(&hash);
	return 0;
}

static void test_answers(void **state)
{
	struct event_base *base = event_base_new();
	struct auth_workers *w = auth_workers_new(base, 2);
	struct answer good = {0}, bad = {0}, other = {0};

	auth_workers_verify(w, "right", buf_cstr(&hash), on_answer, &good);
	auth_workers_verify(w, "wrong", buf_cstr(&hash), on_answer, &bad);
	auth_workers_verify(w, "right", "$6$not$a-real-hash", on_answer, &other);
	assert_int_equal(good.calls + bad.calls + other.calls, 0);
	assert_int_equal(auth_workers_queued(w), 3);
	run_until_idle(base, w);
	assert_int_equal(good.calls, 1);
	assert_true(good.match);
	assert_int_equal(bad.calls, 1);
	assert_false(bad.match);
	assert_int_equal(other.calls, 1);
	assert_false(other.match);
	auth_workers_free(&w);
	assert_null(w);
	auth_workers_free(&w);
	event_base_free(base);
}

/*
 * passwd_verify is wrapped (-Wl,--wrap, auth/module.mk): normally the real
 * one; in rendezvous mode each call waits up to 5 s for a second call to
 * be running at the same time and answers whether it met one, so the
 * test sees real parallelism whatever the machine's load.
 */
bool __real_passwd_verify(const char *password, const char *crypted);
bool __wrap_passwd_verify(const char *password, const char *crypted);

static bool rendezvous;
static int arrived;
static pthread_mutex_t rv_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rv_cv = PTHREAD_COND_INITIALIZER;

bool __wrap_passwd_verify(const char *password, const char *crypted)
{
	struct timespec until;
	bool met;

	if (!rendezvous)
		return __real_passwd_verify(password, crypted);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&rv_mu);
	arrived++;
	pthread_cond_broadcast(&rv_cv);
	while (arrived < 2 && pthread_cond_timedwait(&rv_cv, &rv_mu, &until) == 0)
		;
	met = arrived >= 2;
	pthread_mutex_unlock(&rv_mu);
	return met;
}

static void test_parallel(void **state)
{
	struct event_base *base = event_base_new();
	struct auth_workers *w = auth_workers_new(base, 2);
	struct answer a[2] = {0};

	rendezvous = true;
	arrived = 0;
	auth_workers_verify(w, "right", buf_cstr(&hash), on_answer, &a[0]);
	auth_workers_verify(w, "right", buf_cstr(&hash), on_answer, &a[1]);
	run_until_idle(base, w);
	rendezvous = false;
	/* each check saw the other one running: two threads at once */
	assert_int_equal(a[0].calls, 1);
	assert_true(a[0].match);
	assert_int_equal(a[1].calls, 1);
	assert_true(a[1].match);
	auth_workers_free(&w);
	event_base_free(base);
}

static void test_cancel(void **state)
{
	struct event_base *base = event_base_new();
	struct auth_workers *w = auth_workers_new(base, 1);
	struct answer a[4] = {0};
	struct auth_job *j[4], *later;

	for (int i = 0; i < 4; i++)
		j[i] = auth_workers_verify(w, "right", buf_cstr(&hash), on_answer, &a[i]);
	/* j[0] may be running already, j[3] is surely still queued */
	auth_workers_cancel(w, j[0]);
	auth_workers_cancel(w, j[3]);
	/* the answer of j[1] cancels j[2] */
	later = j[2];
	a[1].w = w;
	a[1].cancel_next = &later;
	run_until_idle(base, w);
	assert_int_equal(a[0].calls, 0);
	assert_int_equal(a[1].calls, 1);
	assert_int_equal(a[2].calls, 0);
	assert_int_equal(a[3].calls, 0);
	/* freeing with work outstanding: no callbacks, no leaks */
	for (int i = 0; i < 4; i++)
		auth_workers_verify(w, "right", buf_cstr(&hash), on_answer, &a[0]);
	auth_workers_free(&w);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(a[0].calls, 0);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_cancel),
	};

	log_init("test_auth_worker");
	return cmocka_run_group_tests(tests, setup, teardown);
}
