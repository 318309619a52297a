/*
 * auth_worker.c - the auth daemon's password checks off the event loop:
 * yescrypt costs tens of milliseconds a check, so each runs as a lib/workq
 * job while the loop keeps answering SASL steps, user queries, tokens and
 * other logins; the answer comes back in the loop thread.
 * Touches:  lib/workq's threads; libcrypt (crypt_ra, reentrant).
 * Input:    passwords (untrusted) and hashes (from the users table),
 *           copied into the job at submit time.
 * Security: the copies are wiped as soon as the check is done or the job is
 *           dropped; work runs no table lookup and touches no brute-force
 *           counter (those stay in the loop thread, auth.c).
 * Errors:   none reach the caller (threads that cannot start are fatal at
 *           start-up, in workq_new).
 * See:      auth.h, lib/workq.h, lib/passwd.h.
 */
#include "sys.h"

#include <stdatomic.h>

#include "auth/auth.h"
#include "passwd.h"
#include "workq.h"
#include "xmem.h"

struct auth_job {
	char *password;
	char *hash;
	bool match;                /* written by work, read by done */
	atomic_bool cancelled;     /* set in the loop thread, read by work */
	auth_verify_cb *cb;
	void *arg;
	struct auth_workers *w;
};

struct auth_workers {
	struct workq *wq;
	atomic_bool closing; /* auth_workers_free: no more callbacks or hashes */
};

/* wipe - forget a secret copy. */
static void wipe(char **sp)
{
	if (*sp != NULL)
		explicit_bzero(*sp, strlen(*sp));
	xfree(sp);
}

/* verify_work - on a worker thread: the slow hash (skipped when the asker
 * already went away). */
static void verify_work(void *arg)
{
	struct auth_job *j = arg;

	if (!atomic_load(&j->cancelled) && !atomic_load(&j->w->closing))
		j->match = passwd_verify(j->password, j->hash);
	wipe(&j->password);
	wipe(&j->hash);
}

/* verify_done - in the loop thread: the answer, unless cancelled. */
static void verify_done(void *arg)
{
	struct auth_job *j = arg;

	if (!atomic_load(&j->cancelled) && !atomic_load(&j->w->closing))
		j->cb(j->match, j->arg);
	free(j);
}

struct auth_workers *auth_workers_new(struct event_base *base, unsigned int nthreads)
{
	struct auth_workers *w = xcalloc(1, sizeof(*w));

	atomic_init(&w->closing, false);
	w->wq = workq_new(base, nthreads < 1 ? 1 : nthreads);
	return w;
}

void auth_workers_free(struct auth_workers **wp)
{
	if (*wp == NULL)
		return;
	/* Jobs still queued skip their hash; none calls back. */
	atomic_store(&(*wp)->closing, true);
	workq_free(&(*wp)->wq);
	xfree(wp);
}

struct auth_job *auth_workers_verify(struct auth_workers *w, const char *password, const char *hash,
				     auth_verify_cb *cb, void *arg)
{
	struct auth_job *j = xcalloc(1, sizeof(*j));

	j->password = xstrdup(password);
	j->hash = xstrdup(hash);
	atomic_init(&j->cancelled, false);
	j->cb = cb;
	j->arg = arg;
	j->w = w;
	workq_submit(w->wq, verify_work, verify_done, j);
	return j;
}

void auth_workers_cancel(struct auth_workers *w, struct auth_job *job)
{
	/* The job stays with the pool (it may be running): its callback will
	 * not run, and a job not started yet skips the hash. */
	atomic_store(&job->cancelled, true);
}

size_t auth_workers_queued(const struct auth_workers *w)
{
	return workq_in_flight(w->wq);
}
