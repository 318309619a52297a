/*
 * showq_flush.c - SHOWQ_FLUSH: retry deferred mail now on behalf of a
 * local user who may not reach private/qmgr: check the request and the
 * caller, then relay one QMGR_FLUSH (lib/qflush) and pass the count back.
 * Touches:  private/qmgr (connect, one request); the client connection.
 * Input:    site and queue_id are untrusted: qflush_site_ok and qid_valid
 *           before anything is sent on.
 * Security: runs as the mail owner; the caller is checked against
 *           authorized_flush_users (showq_access.c).
 * Errors:   malformed request or qmgr down: IPC_ERROR with the reason,
 *           logged; a refused caller: SHOWQ_DENIED.
 * Limits:   the relay is a blocking call (bounded by 30 s in lib/qflush),
 *           so other showq clients wait for it.
 * See:      showq.h, lib/proto.h "showq" and "qmgr", lib/qflush.h.
 */
#include "sys.h"

#include "err.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "qflush.h"
#include "qid.h"
#include "server.h"
#include "showq/showq.h"

void showq_flush(struct showq_sess *s, struct ipc_msg *msg)
{
	const char *site = NULL, *queue_id = NULL;
	struct ipc_msg ok;
	struct err err;
	uint32_t count = 0;
	int n = ipc_get(msg, IPC_STRICT, IPC_STR("site", &site), IPC_STR("queue_id", &queue_id),
			IPC_END);

	if (n < 0 || (site != NULL && queue_id != NULL) ||
	    (site != NULL && !qflush_site_ok(site)) || (queue_id != NULL && !qid_valid(queue_id))) {
		(void)ipc_reject(s->conn, "malformed FLUSH request");
		return;
	}
	if (showq_access_check(s->ctx->cfg, "authorized_flush_users", "flush", s->uid, s->login,
			       &err) < 0) {
		showq_deny(s, msg->reqid, err.msg);
		return;
	}
	if (qflush_qmgr(s->ctx->cfg, site, queue_id, &count, &err) < 0) {
		log_warn("uid %lu (%s): %s", (unsigned long)s->uid, s->login, err.msg);
		(void)ipc_reject(s->conn, "%s", err.msg);
		return;
	}
	if (site == NULL)
		site = queue_id != NULL ? queue_id : "all";
	log_info("uid %lu (%s): flush %s: %u message%s scheduled", (unsigned long)s->uid, s->login,
		 site, count, count == 1 ? "" : "s");
	ipc_msg_init(&ok, SHOWQ_FLUSH_OK, msg->reqid);
	ipc_put_u32(&ok, "count", count);
	if (ipc_msg_finish(&ok, &err) < 0 || ipc_send(s->conn, &ok, &err) < 0)
		log_warn("uid %lu: reply: %s", (unsigned long)s->uid, err.msg);
	ipc_msg_deinit(&ok);
	ipc_conn_close_after_write(s->conn, "flush answered");
}
