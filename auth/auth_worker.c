/*
 * auth_worker.c - the auth daemon's password-check threads: yescrypt
 * (tens of milliseconds a check) runs in a small pool, so the event loop
 * keeps answering SASL steps, user queries, tokens and other logins
 * meanwhile.  Jobs go in a FIFO under a mutex; a worker takes one, runs
 * passwd_verify, puts the answer on the done list and wakes the loop
 * through a loop_notify; the callback then runs in the loop thread.
 * Touches:  its own threads and memory; libcrypt (crypt_ra, reentrant).
 * Input:    passwords (untrusted) and hashes (from the users table),
 *           copied into the job at submit time.
 * Security: the job's password and hash copies are wiped when the check
 *           is done or the job is dropped; workers never log, touch no
 *           table and no brute-force counter (those stay in the loop
 *           thread, auth.c).
 * Errors:   none reach the caller: a thread that cannot be created is
 *           fatal at start (log_fatal, master restarts the service).
 * See:      auth.h, auth.c, lib/passwd.h, lib/loop.h "loop_notify".
 */
#include "sys.h"

#include <pthread.h>

#include "auth/auth.h"
#include "log.h"
#include "loop.h"
#include "passwd.h"
#include "xmem.h"

enum job_state {
	JOB_QUEUED,  /* in todo, no worker has it */
	JOB_RUNNING, /* a worker is hashing */
	JOB_DONE,    /* on done or being delivered */
};

struct auth_job {
	struct auth_job *next;
	enum job_state state; /* under the mutex */
	char *password;
	char *hash;
	bool match;	/* written by the worker before JOB_DONE */
	bool cancelled; /* loop thread only */
	auth_verify_cb *cb;
	void *arg;
};

struct auth_workers {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct auth_job *todo, *todo_tail;
	struct auth_job *done, *done_tail;
	bool stop;
	unsigned int nthreads;
	pthread_t *threads;
	struct loop_notify *notify;
	size_t queued; /* jobs submitted and not yet delivered (loop thread) */
};

/* job_free - wipe the secrets and free. */
static void job_free(struct auth_job *j)
{
	if (j->password != NULL)
		explicit_bzero(j->password, strlen(j->password));
	if (j->hash != NULL)
		explicit_bzero(j->hash, strlen(j->hash));
	free(j->password);
	free(j->hash);
	free(j);
}

/* worker - take jobs until told to stop. */
static void *worker(void *arg)
{
	struct auth_workers *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct auth_job *j;
		bool match;

		while (!w->stop && w->todo == NULL)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j = w->todo;
		w->todo = j->next;
		if (w->todo == NULL)
			w->todo_tail = NULL;
		j->next = NULL;
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&w->mu);

		match = passwd_verify(j->password, j->hash);
		explicit_bzero(j->password, strlen(j->password));

		pthread_mutex_lock(&w->mu);
		j->match = match;
		j->state = JOB_DONE;
		if (w->done_tail != NULL)
			w->done_tail->next = j;
		else
			w->done = j;
		w->done_tail = j;
		loop_notify_post(w->notify);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* on_notify - in the loop thread: deliver the finished jobs. */
static void on_notify(struct loop_notify *n, void *arg)
{
	struct auth_workers *w = arg;
	struct auth_job *list;

	pthread_mutex_lock(&w->mu);
	list = w->done;
	w->done = w->done_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	while (list != NULL) {
		struct auth_job *j = list;

		list = j->next;
		w->queued--;
		/* a callback may cancel a later job of this list: checked here */
		if (!j->cancelled)
			j->cb(j->match, j->arg);
		job_free(j);
	}
}

struct auth_workers *auth_workers_new(struct event_base *base, unsigned int nthreads)
{
	struct auth_workers *w = xcalloc(1, sizeof(*w));

	if (nthreads < 1)
		nthreads = 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->notify = loop_notify_new(base, on_notify, w);
	w->threads = xcalloc(nthreads, sizeof(*w->threads));
	for (unsigned int i = 0; i < nthreads; i++) {
		int e = pthread_create(&w->threads[i], NULL, worker, w);

		if (e != 0)
			log_fatal("auth: cannot start a password-check thread: %s", strerror(e));
		w->nthreads++;
	}
	return w;
}

void auth_workers_free(struct auth_workers **wp)
{
	struct auth_workers *w = *wp;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (unsigned int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	/* no thread runs now: drop what is left without callbacks */
	while (w->todo != NULL) {
		struct auth_job *j = w->todo;
		w->todo = j->next;
		job_free(j);
	}
	while (w->done != NULL) {
		struct auth_job *j = w->done;
		w->done = j->next;
		job_free(j);
	}
	loop_notify_free(&w->notify);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->threads);
	free(w);
	*wp = NULL;
}

struct auth_job *auth_workers_verify(struct auth_workers *w, const char *password, const char *hash,
				     auth_verify_cb *cb, void *arg)
{
	struct auth_job *j = xcalloc(1, sizeof(*j));

	j->password = xstrdup(password);
	j->hash = xstrdup(hash);
	j->cb = cb;
	j->arg = arg;
	j->state = JOB_QUEUED;
	w->queued++;
	pthread_mutex_lock(&w->mu);
	if (w->todo_tail != NULL)
		w->todo_tail->next = j;
	else
		w->todo = j;
	w->todo_tail = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return j;
}

void auth_workers_cancel(struct auth_workers *w, struct auth_job *job)
{
	bool dropped = false;

	pthread_mutex_lock(&w->mu);
	if (job->state == JOB_QUEUED) {
		/* nobody has it yet: take it out of the queue */
		struct auth_job *prev = NULL;

		for (struct auth_job *j = w->todo; j != NULL; prev = j, j = j->next) {
			if (j != job)
				continue;
			if (prev != NULL)
				prev->next = j->next;
			else
				w->todo = j->next;
			if (w->todo_tail == j)
				w->todo_tail = prev;
			dropped = true;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (dropped) {
		w->queued--;
		job_free(job);
	} else {
		job->cancelled = true; /* running or done: freed on delivery */
	}
}

size_t auth_workers_queued(const struct auth_workers *w)
{
	return w->queued;
}
