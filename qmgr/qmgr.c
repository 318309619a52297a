/*
 * qmgr.c - the queue manager daemon: one event-driven process (master.cf
 *          maxproc 1) that moves mail from active/ to the delivery agents,
 *          retries deferred mail, and returns notifications to senders.
 *          This file: the service (QMGR_NOTIFY, QMGR_FLUSH on
 *          private/qmgr), start-up recovery, the periodic queue run and
 *          the zero-delay "kick" that feeds and schedules.
 * Touches:  $queue_directory (through qmgr_scan.c and qmgr_message.c), the
 *           delivery agents' sockets (qmgr_sched.c), master.cf (maxproc).
 * Input:    requests from local clients (smtpd, pickup, postqueue): queue
 *           IDs are checked with qid_valid before any path is made.
 * Security: runs as the mail owner; a malformed request is refused with
 *           ipc_reject and never ends the process.
 * Errors:   start-up problems (queue directories, tables) are fatal, so
 *           master retries with back-off; everything later is logged.
 * See:      docs/qmgr.md, lib/proto.h, Postfix qmgr(8).
 */
#include "sys.h"

#include <errno.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "mastercf.h"
#include "proto.h"
#include "qmgr.h"
#include "resolve.h"
#include "transport.h"
#include "server.h"
#include "xmem.h"

/* on_kick - the zero-delay timer: feed the active set, start deliveries. */
static void on_kick(struct loop_timer *t, void *arg)
{
	struct qmgr *q = arg;

	qmgr_feed(q);
	qmgr_schedule(q);
}

void qmgr_kick(struct qmgr *q)
{
	if (!loop_timer_pending(q->kick_timer))
		loop_timer_add(q->kick_timer, 0);
}

/* arm_scan - the next queue run: after queue_run_delay, or sooner when a
 * deferred message is due earlier (at least a second from now). */
static void arm_scan(struct qmgr *q, time_t now)
{
	long wait = q->queue_run_delay;

	if (q->next_due > 0 && q->next_due - now < wait)
		wait = (long)(q->next_due - now);
	if (wait < 1)
		wait = 1;
	loop_timer_add(q->scan_timer, (unsigned long)wait * 1000);
}

void qmgr_note_due(struct qmgr *q, time_t t)
{
	time_t now = time(NULL);

	if (q->next_due == 0 || t < q->next_due) {
		q->next_due = t;
		arm_scan(q, now);
	}
}

/* queue_run - the periodic scan: stale incoming files, due deferred mail,
 * and a look at active/ for files whose notification was lost. */
static void queue_run(struct qmgr *q)
{
	time_t now = time(NULL);

	q->next_due = 0;
	qmgr_scan_incoming(q, now);
	qmgr_scan_deferred(q, now);
	q->rescan_active = true;
	arm_scan(q, now);
	qmgr_kick(q);
}

static void on_scan(struct loop_timer *t, void *arg)
{
	queue_run(arg);
}

/* reply - send a reply of type with an optional count. */
static void reply(struct ipc_conn *conn, uint16_t type, uint32_t reqid, bool with_count,
		  uint32_t count)
{
	struct ipc_msg out;
	struct err err;

	ipc_msg_init(&out, type, reqid);
	if (with_count)
		ipc_put_u32(&out, "count", count);
	if (ipc_msg_finish(&out, &err) < 0 || ipc_send(conn, &out, &err) < 0)
		log_warn("%s: reply: %s", ipc_conn_peer(conn), err.msg);
	ipc_msg_deinit(&out);
}

/* on_client_msg - QMGR_NOTIFY{queue_id} or QMGR_FLUSH{[site], [queue_id]}. */
static void on_client_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	struct qmgr *q = arg;
	const char *qid = NULL, *site = NULL;

	if (fd >= 0)
		close(fd);
	if (msg->type == QMGR_NOTIFY) {
		if (ipc_get(msg, 0, IPC_STR("queue_id", &qid), IPC_END) != 1 || !qid_valid(qid)) {
			ipc_reject(conn, "malformed NOTIFY");
			return;
		}
		log_debug("%s: notify from %s", qid, ipc_conn_peer(conn));
		qmgr_waiting_push(q, qid);
		qmgr_kick(q);
		reply(conn, QMGR_NOTIFY_OK, msg->reqid, false, 0);
	} else if (msg->type == QMGR_FLUSH) {
		if (ipc_get(msg, 0, IPC_STR("site", &site), IPC_STR("queue_id", &qid), IPC_END) <
			    0 ||
		    (qid != NULL && !qid_valid(qid)) || (site != NULL && *site == '\0')) {
			ipc_reject(conn, "malformed FLUSH");
			return;
		}
		/* as Postfix's flush: suspended destinations are tried again */
		(void)qmgr_sched_revive(q, site);
		reply(conn, QMGR_FLUSH_OK, msg->reqid, true, qmgr_flush(q, site, qid));
		qmgr_kick(q);
	} else {
		ipc_reject(conn, "unexpected message type %u", (unsigned int)msg->type);
	}
}

static void on_client_close(struct ipc_conn *conn, const char *why, void *arg)
{
	server_session_end();
}

static void qmgr_accept(struct server_ctx *ctx, int fd, const struct sockaddr *peer,
			socklen_t peerlen, int listener_index)
{
	struct qmgr *q = ctx->data;
	struct ipc_conn *conn;

	server_session_begin();
	conn = ipc_conn_new(ctx->base, fd, &proto_qmgr, "qmgr client", on_client_msg,
			    on_client_close, q);
	ipc_conn_set_timeout(conn, 60 * 1000);
}

/* cfg_ulong - an integer parameter, at least min. */
static unsigned long cfg_ulong(struct cfg *cfg, const char *name, unsigned long min)
{
	long v = cfg_get_int(cfg, name);

	return v < (long)min ? min : (unsigned long)v;
}

/* read_params - the main.cf numbers qmgr uses; the per-transport limits
 * are read when a transport is first used (qmgr_sched.c). */
static void read_params(struct qmgr *q)
{
	struct cfg *cfg = q->cfg;

	q->queue_run_delay = cfg_get_time(cfg, "queue_run_delay");
	if (q->queue_run_delay < 1)
		q->queue_run_delay = 1;
	q->min_backoff = cfg_get_time(cfg, "minimal_backoff_time");
	q->max_backoff = cfg_get_time(cfg, "maximal_backoff_time");
	q->max_lifetime = cfg_get_time(cfg, "maximal_queue_lifetime");
	q->bounce_lifetime = cfg_get_time(cfg, "bounce_queue_lifetime");
	q->delay_warning = cfg_get_time(cfg, "delay_warning_time");
	q->active_limit = cfg_ulong(cfg, "qmgr_message_active_limit", 1);
	q->default_proc_limit = cfg_ulong(cfg, "default_process_limit", 1);
	q->bounce_size_limit = cfg_ulong(cfg, "bounce_size_limit", 0);
	q->ipc_timeout = cfg_get_time(cfg, "ipc_timeout");
	q->queue_dir = xstrdup(cfg_get(cfg, "queue_directory"));
	q->hostname = xstrdup(cfg_get(cfg, "myhostname"));
}

/* load_mastercf - master.cf gives each transport's process limit; without
 * it the default_process_limit applies. */
static void load_mastercf(struct qmgr *q, const char *config_dir)
{
	struct buf path = BUF_INIT;
	struct err err;

	buf_printf(&path, "%s/master.cf", config_dir);
	q->mcf = mastercf_load(path.data, (unsigned int)q->default_proc_limit, &err);
	if (q->mcf == NULL)
		log_warn("%s; using default_process_limit for every transport", err.msg);
	buf_deinit(&path);
}

static int qmgr_init(struct server_ctx *ctx)
{
	struct qmgr *q = xcalloc(1, sizeof(*q));
	struct err err;
	time_t now = time(NULL);

	ctx->data = q;
	q->base = ctx->base;
	q->cfg = ctx->cfg;
	read_params(q);
	load_mastercf(q, ctx->config_dir);
	if (qmgr_dirs_open(q, &err) < 0) {
		log_error("%s", err.msg);
		return -1;
	}
	q->resolver = resolver_new(q->cfg, &err);
	if (q->resolver == NULL) {
		log_error("%s", err.msg);
		return -1;
	}
	q->routes = transport_new(q->cfg, &err);
	if (q->routes == NULL) {
		log_error("%s", err.msg);
		return -1;
	}
	qmgr_map_init(&q->known);
	q->waiting_cap = q->active_limit * 4 < 1000 ? 1000 : q->active_limit * 4;
	q->waiting = xcalloc(q->waiting_cap, sizeof(*q->waiting));
	q->kick_timer = loop_timer_new(q->base, on_kick, q);
	q->scan_timer = loop_timer_new(q->base, on_scan, q);
	/* crash recovery: whatever is in active/ is to be delivered */
	qmgr_scan_incoming(q, now);
	qmgr_scan_orphans(q);
	q->rescan_active = true;
	qmgr_scan_deferred(q, now);
	arm_scan(q, now);
	qmgr_kick(q);
	log_info("started, active limit %lu, queue run every %lds", q->active_limit,
		 q->queue_run_delay);
	return 0;
}

static void qmgr_wakeup(struct server_ctx *ctx)
{
	queue_run(ctx->data);
}

/* qmgr_stop - nothing to drain: every state is on disk; deliveries in
 * flight finish in the agents and the next start picks up the rest. */
static void qmgr_stop(struct server_ctx *ctx)
{
	struct qmgr *q = ctx->data;

	if (q != NULL)
		qmgr_sched_free(q);
	server_exit(0);
}

int main(int argc, char **argv)
{
	static const struct server_hooks hooks = {
		.name = "qmgr",
		.init = qmgr_init,
		.accept = qmgr_accept,
		.wakeup = qmgr_wakeup,
		.stop = qmgr_stop,
	};

	return server_main(argc, argv, &hooks);
}
