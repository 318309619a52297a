/*
 * workq.c - worker threads for event-driven daemons (see workq.h): one
 *           mutex, a condition variable for the workers, a FIFO of jobs
 *           to run and a FIFO of jobs whose done is due, and a
 *           lib/loop notification (an eventfd) that wakes the loop.
 * Touches:  threads, one eventfd, the event base it is given; nothing of
 *           the jobs but the functions and argument handed in.
 * Security: no input of its own; workers block every signal, so handlers
 *           and libevent's signal events stay with the loop thread.
 * Errors:   thread creation failure is fatal (start-up); pthread mutex
 *           and condition calls on valid objects do not fail.
 * See:      lib/workq.h, lib/loop.h (loop_notify).
 */
#include "sys.h"

#include <pthread.h>
#include <signal.h>

#include "log.h"
#include "loop.h"
#include "workq.h"
#include "xmem.h"

struct workq_job {
	struct workq_job *next;
	workq_fn *work;
	workq_fn *done;
	void *arg;
};

/* struct workq_list - a FIFO of jobs. */
struct workq_list {
	struct workq_job *head;
	struct workq_job **tail;
};

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* queued grew, or stop */
	struct workq_list queued; /* to run (under mu) */
	struct workq_list done; /* run, done due (under mu) */
	bool stop;		/* under mu */
	size_t in_flight;	/* loop thread only */
	unsigned int nthreads;
	pthread_t *threads;
	struct loop_notify *notify;
};

/* list_init - an empty FIFO. */
static void list_init(struct workq_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

/* list_push - append j; true when the list was empty. */
static bool list_push(struct workq_list *l, struct workq_job *j)
{
	bool was_empty = l->head == NULL;

	j->next = NULL;
	*l->tail = j;
	l->tail = &j->next;
	return was_empty;
}

/* list_take - the whole list, leaving it empty. */
static struct workq_job *list_take(struct workq_list *l)
{
	struct workq_job *j = l->head;

	list_init(l);
	return j;
}

/* finished - j's work is over: queue its done, wake the loop when the
 * done list was empty (otherwise a wakeup is already due). */
static void finished(struct workq *wq, struct workq_job *j)
{
	bool wake;

	pthread_mutex_lock(&wq->mu);
	wake = list_push(&wq->done, j);
	pthread_mutex_unlock(&wq->mu);
	if (wake)
		loop_notify_post(wq->notify);
}

/* run_done - the done calls of the jobs in list j, in order. */
static void run_done(struct workq *wq, struct workq_job *j)
{
	while (j != NULL) {
		struct workq_job *next = j->next;

		wq->in_flight--;
		j->done(j->arg);
		free(j);
		j = next;
	}
}

/* on_notify - loop thread: take every completed job, run its done. */
static void on_notify(struct loop_notify *n, void *arg)
{
	struct workq *wq = arg;
	struct workq_job *j;

	pthread_mutex_lock(&wq->mu);
	j = list_take(&wq->done);
	pthread_mutex_unlock(&wq->mu);
	run_done(wq, j);
}

/* worker - a worker thread: run jobs until stopped and nothing is left. */
static void *worker(void *arg)
{
	struct workq *wq = arg;

	pthread_mutex_lock(&wq->mu);
	for (;;) {
		struct workq_job *j;

		while (wq->queued.head == NULL && !wq->stop)
			pthread_cond_wait(&wq->cv, &wq->mu);
		j = wq->queued.head;
		if (j == NULL)
			break;
		wq->queued.head = j->next;
		if (wq->queued.head == NULL)
			wq->queued.tail = &wq->queued.head;
		pthread_mutex_unlock(&wq->mu);
		j->work(j->arg);
		finished(wq, j);
		pthread_mutex_lock(&wq->mu);
	}
	pthread_mutex_unlock(&wq->mu);
	return NULL;
}

struct workq *workq_new(struct event_base *base, unsigned int nthreads)
{
	struct workq *wq = xcalloc(1, sizeof(*wq));
	sigset_t all, old;

	if (nthreads > WORKQ_MAX_THREADS)
		log_fatal("workq: %u threads: at most %d", nthreads, WORKQ_MAX_THREADS);
	pthread_mutex_init(&wq->mu, NULL);
	pthread_cond_init(&wq->cv, NULL);
	list_init(&wq->queued);
	list_init(&wq->done);
	wq->notify = loop_notify_new(base, on_notify, wq);
	wq->threads = xcalloc(nthreads > 0 ? nthreads : 1, sizeof(*wq->threads));
	/* threads inherit the creator's mask: block everything for them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; wq->nthreads < nthreads; wq->nthreads++) {
		int e = pthread_create(&wq->threads[wq->nthreads], NULL, worker, wq);

		if (e != 0)
			log_fatal("workq: cannot start a worker thread: %s", strerror(e));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return wq;
}

void workq_submit(struct workq *wq, workq_fn *work, workq_fn *done, void *arg)
{
	struct workq_job *j = xmalloc(sizeof(*j));

	j->work = work;
	j->done = done;
	j->arg = arg;
	wq->in_flight++;
	if (wq->nthreads == 0) {
		work(arg);
		finished(wq, j);
		return;
	}
	pthread_mutex_lock(&wq->mu);
	list_push(&wq->queued, j);
	pthread_cond_signal(&wq->cv);
	pthread_mutex_unlock(&wq->mu);
}

size_t workq_in_flight(const struct workq *wq)
{
	return wq->in_flight;
}

unsigned int workq_threads(const struct workq *wq)
{
	return wq->nthreads;
}

void workq_free(struct workq **wqp)
{
	struct workq *wq = *wqp;

	if (wq == NULL)
		return;
	pthread_mutex_lock(&wq->mu);
	wq->stop = true;
	pthread_cond_broadcast(&wq->cv);
	pthread_mutex_unlock(&wq->mu);
	for (unsigned int i = 0; i < wq->nthreads; i++)
		pthread_join(wq->threads[i], NULL);
	/* every job has run; no thread is left to touch the lists */
	run_done(wq, list_take(&wq->done));
	loop_notify_free(&wq->notify);
	pthread_cond_destroy(&wq->cv);
	pthread_mutex_destroy(&wq->mu);
	free(wq->threads);
	xfree(wqp);
}
