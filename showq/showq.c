/*
 * showq.c - the showq daemon: lists and flushes the mail queue for any
 * local user over the world-reachable socket $queue_directory/public/showq
 * (protocol "showq", lib/proto.h), so postqueue and mailq need no access
 * to the queue or to private/.
 * Touches:  its client sockets; the queue (read only, showq_list.c);
 *           private/qmgr (showq_flush.c).
 * Input:    untrusted: any local user may connect.  The peer's uid comes
 *           from SO_PEERCRED and is the only thing believed; one request
 *           per connection, frames capped by lib/ipc, the session by
 *           showq_timeout.
 * Security: runs as the mail owner (master.cf unpriv n); callers are
 *           checked against authorized_mailq_users / authorized_flush_users
 *           (showq_access.c); never opens a path a client names.
 * Errors:   a bad request gets IPC_ERROR{reason} and the connection ends; a
 *           refused caller SHOWQ_DENIED{reason} and a log line.  Nothing a
 *           client sends stops the daemon.
 * See:      showq.h, lib/proto.h "showq", Postfix showq(8), postqueue(1).
 */
#include "sys.h"

#include <unistd.h>

#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "priv.h"
#include "proto.h"
#include "server.h"
#include "showq/showq.h"
#include "xmem.h"

/* Longest showq_timeout honoured, seconds. */
#define SHOWQ_TIMEOUT_MAX 86400

void showq_deny(struct showq_sess *s, uint32_t reqid, const char *reason)
{
	struct ipc_msg msg;
	struct err err;

	ipc_msg_init(&msg, SHOWQ_DENIED, reqid);
	ipc_put_str(&msg, "reason", reason);
	if (ipc_msg_finish(&msg, &err) < 0 || ipc_send(s->conn, &msg, &err) < 0)
		log_warn("uid %lu: reply: %s", (unsigned long)s->uid, err.msg);
	ipc_msg_deinit(&msg);
	ipc_conn_close_after_write(s->conn, "refused");
}

/* on_msg - the client's one request. */
static void on_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	struct showq_sess *s = arg;

	if (s->answered) {
		(void)ipc_reject(conn, "one request per connection");
		return;
	}
	s->answered = true;
	if (server_stopping()) {
		(void)ipc_reject(conn, "mail system is shutting down");
		return;
	}
	switch (msg->type) {
	case SHOWQ_LIST:
		showq_list_start(s, msg);
		break;
	case SHOWQ_FLUSH:
		showq_flush(s, msg);
		break;
	default:
		(void)ipc_reject(conn, "unexpected message type %u", msg->type);
		break;
	}
}

/* on_close - the session ended: drop a listing in progress. */
static void on_close(struct ipc_conn *conn, const char *why, void *arg)
{
	struct showq_sess *s = arg;

	showq_list_stop(s);
	free(s);
	server_session_end();
}

/* showq_accept - learn the peer's uid, then speak the protocol. */
static void showq_accept(struct server_ctx *ctx, int fd, const struct sockaddr *peer,
			 socklen_t peerlen, int listener_index)
{
	struct showq_sess *s = xcalloc(1, sizeof(*s));
	char name[64];
	long timeout;

	if (priv_peer(fd, &s->uid, s->login, sizeof(s->login)) < 0) {
		log_warn("connection without peer credentials refused");
		free(s);
		close(fd);
		return;
	}
	s->ctx = ctx;
	buf_init(&s->out, 0);
	snprintf(name, sizeof(name), "uid %lu", (unsigned long)s->uid);
	server_session_begin();
	s->conn = ipc_conn_new(ctx->base, fd, &proto_showq, name, on_msg, on_close, s);
	timeout = cfg_get_time(ctx->cfg, "showq_timeout");
	if (timeout <= 0 || timeout > SHOWQ_TIMEOUT_MAX)
		timeout = SHOWQ_TIMEOUT_MAX;
	ipc_conn_set_timeout(s->conn, (unsigned int)timeout * 1000u);
}

/* showq_init - learn the mail owner's uid; the queue is opened per
 * request. */
static int showq_init(struct server_ctx *ctx)
{
	showq_access_init(ctx->cfg);
	log_debug("%s: started, uid %lu", ctx->service, (unsigned long)getuid());
	return 0;
}

int main(int argc, char **argv)
{
	static const struct server_hooks hooks = {
		.name = "showq",
		.init = showq_init,
		.accept = showq_accept,
	};

	return server_main(argc, argv, &hooks);
}
