/*
 * workq.h - a small pool of worker threads for an event-driven daemon:
 * blocking work (fsync, rename, a slow library call) runs on a worker
 * thread while the libevent loop keeps serving everyone else, and the
 * result comes back on the loop thread.
 *
 *   wq = workq_new(base, 4)                  threads started
 *   workq_submit(wq, work, done, arg)        work(arg) on a worker thread,
 *                                            later done(arg) on the loop
 *   workq_free(&wq)                          finish everything, stop
 *
 * Every submitted job gets work(arg) exactly once and then done(arg)
 * exactly once, never inside workq_submit: done runs from base's loop (a
 * lib/loop notification) or from workq_free.  Jobs start in submission
 * order; with one thread (or none) they also complete in that order, with
 * more they complete as the work finishes, and done calls come in
 * completion order.  work must not touch anything the loop thread uses
 * until done (hand it a job of its own); it may log (lib/log writes each
 * line with one write(2) from stack buffers).  The handover of arg
 * through the pool's mutex orders everything work wrote before done runs.
 * nthreads 0 runs work inside workq_submit on the caller's thread (the
 * synchronous behaviour, for comparison), done still from the loop.
 * Workers block every signal, so signals reach the loop thread.
 * See: lib/loop.h (loop_notify), docs/smtpd.md "Performance".
 */
#ifndef TERN_WORKQ_H
#define TERN_WORKQ_H

#include "sys.h"

struct event_base;
struct workq;

/* WORKQ_MAX_THREADS - most worker threads of one pool. */
#define WORKQ_MAX_THREADS 64

/* workq_fn - a job's work or completion; arg as given to workq_submit. */
typedef void workq_fn(void *arg);

/* workq_new - a pool of nthreads (0..WORKQ_MAX_THREADS) worker threads
 * whose completions run in base's loop.  Out of threads or descriptors
 * is fatal (a daemon's start-up). */
struct workq *workq_new(struct event_base *base, unsigned int nthreads);

/* workq_submit - queue a job (loop thread only); work and done non-NULL. */
void workq_submit(struct workq *wq, workq_fn *work, workq_fn *done, void *arg);

/* workq_in_flight - jobs submitted whose done has not run yet. */
size_t workq_in_flight(const struct workq *wq);

/* workq_threads - the pool's worker threads. */
unsigned int workq_threads(const struct workq *wq);

/* workq_free - finish every job still queued or running (the caller
 * waits), run the done of every completed job on the calling thread in
 * completion order, stop and join the threads; accepts NULL and sets *wqp
 * NULL.  No job may be submitted meanwhile, and done must not submit. */
void workq_free(struct workq **wqp);

#endif
