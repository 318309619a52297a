/*
 * test_workq.c - unit tests for lib/workq.c: completions on the loop
 * thread, their order with one thread, many jobs over several threads,
 * the synchronous mode, and workq_free with jobs still queued and running.
 */
#include "sys.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "workq.h"
#include "xmem.h"

#define MANY 2000

struct job {
	int id;
	unsigned int sleep_us;
	bool worked;
	bool done;
	bool on_worker; /* work ran on another thread than the loop's */
	bool done_on_loop;
	struct state *st;
};

struct state {
	struct event_base *base;
	pthread_t loop_thread;
	int order[MANY];
	int ndone;
	int target; /* break the loop at this many completions */
	pthread_mutex_t mu;
	int running, max_running;
};

static void work_fn(void *arg)
{
	struct job *j = arg;
	struct state *st = j->st;

	pthread_mutex_lock(&st->mu);
	if (++st->running > st->max_running)
		st->max_running = st->running;
	pthread_mutex_unlock(&st->mu);
	if (j->sleep_us > 0)
		usleep(j->sleep_us);
	j->on_worker = !pthread_equal(pthread_self(), st->loop_thread);
	j->worked = true;
	pthread_mutex_lock(&st->mu);
	st->running--;
	pthread_mutex_unlock(&st->mu);
}

static void done_fn(void *arg)
{
	struct job *j = arg;
	struct state *st = j->st;

	assert_true(j->worked);
	assert_false(j->done);
	j->done = true;
	j->done_on_loop = pthread_equal(pthread_self(), st->loop_thread);
	st->order[st->ndone++] = j->id;
	if (st->ndone == st->target)
		event_base_loopbreak(st->base);
}

static void state_init(struct state *st, int target)
{
	memset(st, 0, sizeof(*st));
	st->base = event_base_new();
	assert_non_null(st->base);
	st->loop_thread = pthread_self();
	st->target = target;
	pthread_mutex_init(&st->mu, NULL);
}

static void state_deinit(struct state *st)
{
	event_base_free(st->base);
	pthread_mutex_destroy(&st->mu);
}

static struct job *jobs_new(struct state *st, int n, unsigned int sleep_us)
{
	struct job *jobs = xcalloc((size_t)n, sizeof(*jobs));

	for (int i = 0; i < n; i++) {
		jobs[i].id = i;
		jobs[i].sleep_us = sleep_us;
		jobs[i].st = st;
	}
	return jobs;
}

/* run_until - run the loop until st->target completions (bounded). */
static void run_until(struct state *st)
{
	struct timeval tv = {20, 0};

	event_base_loopexit(st->base, &tv); /* a safety net: never hang */
	event_base_dispatch(st->base);
	assert_int_equal(st->ndone, st->target);
}

static void test_one_thread_keeps_order(void **state)
{
	struct state st;
	struct workq *wq;
	struct job *jobs;

	state_init(&st, 50);
	jobs = jobs_new(&st, 50, 0);
	wq = workq_new(st.base, 1);
	assert_int_equal(workq_threads(wq), 1);
	for (int i = 0; i < 50; i++)
		workq_submit(wq, work_fn, done_fn, &jobs[i]);
	assert_int_equal(workq_in_flight(wq), 50);
	run_until(&st);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(st.order[i], i);
		assert_true(jobs[i].on_worker);
		assert_true(jobs[i].done_on_loop);
	}
	assert_int_equal(workq_in_flight(wq), 0);
	workq_free(&wq);
	assert_null(wq);
	free(jobs);
	state_deinit(&st);
}

static void test_done_never_inside_submit(void **state)
{
	struct state st;
	struct workq *wq;
	struct job *jobs;

	state_init(&st, 1);
	jobs = jobs_new(&st, 1, 0);
	wq = workq_new(st.base, 2);
	workq_submit(wq, work_fn, done_fn, &jobs[0]);
	usleep(20000); /* the work is surely over; done still waits for the loop */
	assert_false(jobs[0].done);
	run_until(&st);
	assert_true(jobs[0].done);
	workq_free(&wq);
	free(jobs);
	state_deinit(&st);
}

static void test_many_jobs_many_threads(void **state)
{
	struct state st;
	struct workq *wq;
	struct job *jobs;
	bool seen[MANY] = {false};

	state_init(&st, MANY);
	jobs = jobs_new(&st, MANY, 0);
	for (int i = 0; i < MANY; i += 50)
		jobs[i].sleep_us = 2000; /* some slow ones, so others overtake them */
	wq = workq_new(st.base, 4);
	for (int i = 0; i < MANY; i++)
		workq_submit(wq, work_fn, done_fn, &jobs[i]);
	run_until(&st);
	for (int i = 0; i < MANY; i++) {
		assert_false(seen[st.order[i]]);
		seen[st.order[i]] = true;
		assert_true(jobs[i].done_on_loop);
		assert_true(jobs[i].on_worker);
	}
	assert_true(st.max_running > 1);
	assert_true(st.max_running <= 4);
	workq_free(&wq);
	free(jobs);
	state_deinit(&st);
}

/* resubmit_done - a done that submits the next job (the chain a session
 * makes: commit, reply, next message, commit). */
static struct workq *chain_wq;

static void resubmit_done(void *arg)
{
	struct job *j = arg;

	done_fn(arg);
	if (j->id + 1 < j->st->target)
		workq_submit(chain_wq, work_fn, resubmit_done, j + 1);
}

static void test_done_may_submit(void **state)
{
	struct state st;
	struct job *jobs;

	state_init(&st, 100);
	jobs = jobs_new(&st, 100, 0);
	chain_wq = workq_new(st.base, 3);
	workq_submit(chain_wq, work_fn, resubmit_done, &jobs[0]);
	run_until(&st);
	for (int i = 0; i < 100; i++)
		assert_int_equal(st.order[i], i);
	workq_free(&chain_wq);
	free(jobs);
	state_deinit(&st);
}

static void test_no_threads_is_synchronous(void **state)
{
	struct state st;
	struct workq *wq;
	struct job *jobs;

	state_init(&st, 10);
	jobs = jobs_new(&st, 10, 0);
	wq = workq_new(st.base, 0);
	assert_int_equal(workq_threads(wq), 0);
	for (int i = 0; i < 10; i++) {
		workq_submit(wq, work_fn, done_fn, &jobs[i]);
		assert_true(jobs[i].worked);	 /* ran inside submit */
		assert_false(jobs[i].on_worker); /* on this thread */
		assert_false(jobs[i].done);	 /* done waits for the loop */
	}
	run_until(&st);
	for (int i = 0; i < 10; i++)
		assert_int_equal(st.order[i], i);
	workq_free(&wq);
	free(jobs);
	state_deinit(&st);
}

static void test_free_finishes_jobs_in_flight(void **state)
{
	struct state st;
	struct workq *wq;
	struct job *jobs;

	state_init(&st, -1);
	jobs = jobs_new(&st, 40, 3000);
	wq = workq_new(st.base, 2);
	for (int i = 0; i < 40; i++)
		workq_submit(wq, work_fn, done_fn, &jobs[i]);
	usleep(1000); /* some running, most still queued */
	workq_free(&wq);
	assert_null(wq);
	assert_int_equal(st.ndone, 40);
	for (int i = 0; i < 40; i++) {
		assert_true(jobs[i].worked);
		assert_true(jobs[i].done);
		assert_true(jobs[i].done_on_loop); /* the thread that called free */
	}
	free(jobs);
	state_deinit(&st);
}

static void test_free_null_and_idle(void **state)
{
	struct state st;
	struct workq *wq = NULL;

	workq_free(&wq);
	state_init(&st, 0);
	wq = workq_new(st.base, WORKQ_MAX_THREADS);
	assert_int_equal(workq_threads(wq), WORKQ_MAX_THREADS);
	workq_free(&wq);
	assert_null(wq);
	state_deinit(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_thread_keeps_order),
		cmocka_unit_test(test_done_never_inside_submit),
		cmocka_unit_test(test_many_jobs_many_threads),
		cmocka_unit_test(test_done_may_submit),
		cmocka_unit_test(test_no_threads_is_synchronous),
		cmocka_unit_test(test_free_finishes_jobs_in_flight),
		cmocka_unit_test(test_free_null_and_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
