/*
 * showq_list.c - SHOWQ_LIST: the queue listing (lib/qlist) streamed to
 * one client in SHOWQ_DATA frames, made from the event loop a few
 * messages at a time and only as fast as the client reads, then
 * SHOWQ_END.
 * Touches:  reads the queue through lib/qlist; the client connection.
 * Input:    the request's format attribute (untrusted, checked).
 * Security: runs as the mail owner; the caller is checked against
 *           authorized_mailq_users (showq_access.c) before the queue is
 *           opened; what goes out is sanitized by lib/qlist.
 * Errors:   a malformed request or an unreadable queue: IPC_ERROR and the
 *           connection ends (logged); a refused caller: SHOWQ_DENIED.
 * See:      showq.h, lib/proto.h "showq", lib/qlist.h.
 */
#include "sys.h"

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "qlist.h"
#include "server.h"
#include "showq/showq.h"

/* Output queued for the client above which production waits. */
#define SHOWQ_HIGH_MARK (256 * 1024)
/* Production steps per turn of the event loop (other clients go on). */
#define SHOWQ_ROUNDS 64
/* Wait before looking again when the client reads slowly, in ms. */
#define SHOWQ_WAIT_MS 10

/* send_frame - one SHOWQ_DATA of the first len bytes of s->out, or
 * SHOWQ_END when data is NULL; false when the connection is going away. */
static bool send_frame(struct showq_sess *s, const void *data, size_t len)
{
	struct ipc_msg msg;
	struct err err;
	int rc;

	ipc_msg_init(&msg, data != NULL ? SHOWQ_DATA : SHOWQ_END, s->reqid);
	if (data != NULL)
		ipc_put_data(&msg, "text", data, len);
	rc = ipc_msg_finish(&msg, &err);
	if (rc == 0)
		rc = ipc_send(s->conn, &msg, &err);
	ipc_msg_deinit(&msg);
	if (rc < 0) {
		log_warn("uid %lu: listing stopped: %s", (unsigned long)s->uid, err.msg);
		ipc_conn_close_after_write(s->conn, err.msg);
		return false;
	}
	return true;
}

/* produce - the timer: make and send more of the listing; re-arms itself
 * until SHOWQ_END is queued. */
static void produce(struct loop_timer *timer, void *arg)
{
	struct showq_sess *s = arg;

	for (int round = 0; round < SHOWQ_ROUNDS; round++) {
		if (ipc_conn_pending(s->conn) >= SHOWQ_HIGH_MARK) {
			loop_timer_add(timer, SHOWQ_WAIT_MS);
			return;
		}
		if (!s->list_done && s->out.len < SHOWQ_DATA_MAX)
			s->list_done = qlist_next(s->ql, &s->out) == 0;
		while (s->out.len >= SHOWQ_DATA_MAX || (s->list_done && s->out.len > 0)) {
			size_t n = s->out.len < SHOWQ_DATA_MAX ? s->out.len : SHOWQ_DATA_MAX;

			if (!send_frame(s, s->out.data, n))
				return;
			buf_consume(&s->out, n);
		}
		if (s->list_done) {
			if (send_frame(s, NULL, 0))
				ipc_conn_close_after_write(s->conn, "listing sent");
			log_info("uid %lu (%s): listed %zu message%s", (unsigned long)s->uid,
				 s->login, qlist_count(s->ql), qlist_count(s->ql) == 1 ? "" : "s");
			qlist_free(&s->ql);
			return;
		}
	}
	loop_timer_add(timer, 0);
}

void showq_list_start(struct showq_sess *s, struct ipc_msg *msg)
{
	uint32_t format = SHOWQ_FORMAT_TEXT;
	struct err err;

	if (ipc_get(msg, IPC_STRICT, IPC_U32("format", &format), IPC_END) != 1 ||
	    (format != SHOWQ_FORMAT_TEXT && format != SHOWQ_FORMAT_JSON)) {
		(void)ipc_reject(s->conn, "malformed LIST request");
		return;
	}
	if (showq_access_check(s->ctx->cfg, "authorized_mailq_users", "list", s->uid, s->login,
			       &err) < 0) {
		showq_deny(s, msg->reqid, err.msg);
		return;
	}
	s->ql = qlist_open(cfg_get(s->ctx->cfg, "queue_directory"), format == SHOWQ_FORMAT_JSON,
			   &err);
	if (s->ql == NULL) {
		log_error("uid %lu: %s", (unsigned long)s->uid, err.msg);
		(void)ipc_reject(s->conn, "%s", err.msg);
		return;
	}
	s->reqid = msg->reqid;
	s->list_done = false;
	buf_reset(&s->out);
	s->timer = loop_timer_new(s->ctx->base, produce, s);
	loop_timer_add(s->timer, 0);
}

void showq_list_stop(struct showq_sess *s)
{
	loop_timer_free(&s->timer);
	qlist_free(&s->ql);
	buf_deinit(&s->out);
}
