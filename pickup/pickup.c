/*
 * pickup.c - the pickup daemon: takes messages from sendmail(1) over the
 * world-reachable socket $queue_directory/public/pickup (protocol "pickup",
 * lib/proto.h) and puts them into the queue, then tells qmgr.
 * Touches:  its client sockets; the queue through pickup_msg.c;
 *           private/qmgr (qreceive_notify).
 * Input:    untrusted: any local user may connect.  The peer's uid comes
 *           from SO_PEERCRED and is the only thing believed; frames are
 *           capped by lib/ipc, sessions by pickup_timeout.
 * Security: runs as the mail owner (master.cf unpriv); never runs anything
 *           for a client, never opens a path named by one.
 * Errors:   a bad request gets IPC_ERROR{reason} and the connection ends;
 *           the incomplete queue file is removed.  Nothing a client sends
 *           stops the daemon.
 * See:      pickup.h, lib/proto.h "pickup", Postfix pickup(8) and postdrop(1).
 */
#include "sys.h"

#include <unistd.h>

#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "priv.h"
#include "pickup.h"
#include "proto.h"
#include "qreceive.h"
#include "server.h"
#include "xmem.h"

enum pickup_state {
	PS_IDLE,  /* between messages */
	PS_RCPTS, /* after BEGIN: RCPTS, CHUNK or END may come */
	PS_DATA,  /* after the first CHUNK: CHUNK or END */
};

struct pickup_conn {
	struct server_ctx *ctx;
	struct ipc_conn *conn;
	uid_t uid;
	char login[64];
	enum pickup_state state;
	struct pickup_msg *msg;
};

/* reply_ok - PICKUP_OK with the queue ID of the committed message. */
static void reply_ok(struct pickup_conn *pc, uint32_t reqid, const char *qid)
{
	struct ipc_msg ok;
	struct err err;

	ipc_msg_init(&ok, PICKUP_OK, reqid);
	ipc_put_str(&ok, "queue_id", qid);
	if (ipc_msg_finish(&ok, &err) < 0 || ipc_send(pc->conn, &ok, &err) < 0)
		log_warn("%s: reply to uid %lu: %s", qid, (unsigned long)pc->uid, err.msg);
	ipc_msg_deinit(&ok);
}

/* refuse - drop the message in progress and end the session with reason;
 * -1 for tail calls. */
static int refuse(struct pickup_conn *pc, const char *reason)
{
	pickup_msg_free(&pc->msg);
	pc->state = PS_IDLE;
	return ipc_reject(pc->conn, "%s", reason);
}

/* on_begin - PICKUP_BEGIN: a new message. */
static int on_begin(struct pickup_conn *pc, struct ipc_msg *msg)
{
	struct err err;

	if (pc->state != PS_IDLE)
		return refuse(pc, "BEGIN inside a message");
	if (server_stopping())
		return refuse(pc, "mail system is shutting down");
	pc->msg = pickup_msg_new(pc->ctx->cfg, pc->uid, pc->login);
	if (pickup_msg_begin(pc->msg, msg, &err) < 0)
		return refuse(pc, err.msg);
	pc->state = PS_RCPTS;
	return 0;
}

/* on_data - PICKUP_RCPTS or PICKUP_CHUNK: one DATA attribute each. */
static int on_data(struct pickup_conn *pc, struct ipc_msg *msg, const char *name)
{
	const void *data = NULL;
	size_t len = 0;
	struct err err;
	bool chunk = msg->type == PICKUP_CHUNK;

	if (pc->state == PS_IDLE || (!chunk && pc->state != PS_RCPTS))
		return refuse(pc, chunk ? "CHUNK outside a message" : "RCPTS after content");
	if (ipc_get(msg, IPC_STRICT, IPC_DATA(name, &data, &len), IPC_END) != 1 ||
	    (chunk && (len == 0 || len > PICKUP_CHUNK_MAX)))
		return refuse(pc, chunk ? "malformed CHUNK" : "malformed RCPTS");
	if ((chunk ? pickup_msg_chunk(pc->msg, data, len, &err)
		   : pickup_msg_rcpts(pc->msg, data, len, &err)) < 0)
		return refuse(pc, err.msg);
	if (chunk)
		pc->state = PS_DATA;
	return 0;
}

/* on_end - PICKUP_END: commit, answer, tell qmgr. */
static int on_end(struct pickup_conn *pc, struct ipc_msg *msg)
{
	struct err err;
	char qid[64];

	if (pc->state == PS_IDLE)
		return refuse(pc, "END outside a message");
	if (msg->nattrs != 0)
		return refuse(pc, "malformed END");
	if (pickup_msg_end(pc->msg, &err) < 0) {
		log_error("uid %lu: cannot queue message: %s", (unsigned long)pc->uid, err.msg);
		return refuse(pc, err.msg);
	}
	snprintf(qid, sizeof(qid), "%s", pickup_msg_id(pc->msg));
	pickup_msg_free(&pc->msg);
	pc->state = PS_IDLE;
	reply_ok(pc, msg->reqid, qid);
	qreceive_notify(pc->ctx->cfg, qid);
	return 0;
}

/* on_msg - one frame from sendmail. */
static void on_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	struct pickup_conn *pc = arg;

	switch (msg->type) {
	case PICKUP_BEGIN:
		(void)on_begin(pc, msg);
		break;
	case PICKUP_RCPTS:
		(void)on_data(pc, msg, "rcpts");
		break;
	case PICKUP_CHUNK:
		(void)on_data(pc, msg, "data");
		break;
	case PICKUP_END:
		(void)on_end(pc, msg);
		break;
	default:
		(void)refuse(pc, "unexpected message type");
		break;
	}
}

/* on_close - the session ended; an unfinished message is removed. */
static void on_close(struct ipc_conn *conn, const char *why, void *arg)
{
	struct pickup_conn *pc = arg;

	if (pc->msg != NULL)
		log_info("uid %lu: message abandoned (%s)", (unsigned long)pc->uid, why);
	pickup_msg_free(&pc->msg);
	free(pc);
	server_session_end();
}

/* pickup_accept - learn the peer's uid, then speak the protocol. */
static void pickup_accept(struct server_ctx *ctx, int fd, const struct sockaddr *peer,
			  socklen_t peerlen, int listener_index)
{
	struct pickup_conn *pc = xcalloc(1, sizeof(*pc));
	char name[64];
	long timeout;

	if (priv_peer(fd, &pc->uid, pc->login, sizeof(pc->login)) < 0) {
		log_warn("connection without peer credentials refused");
		free(pc);
		close(fd);
		return;
	}
	pc->ctx = ctx;
	snprintf(name, sizeof(name), "uid %lu", (unsigned long)pc->uid);
	server_session_begin();
	pc->conn = ipc_conn_new(ctx->base, fd, &proto_pickup, name, on_msg, on_close, pc);
	timeout = cfg_get_time(ctx->cfg, "pickup_timeout");
	if (timeout > 86400)
		timeout = 86400;
	ipc_conn_set_timeout(pc->conn, (unsigned int)timeout * 1000u);
}

/* pickup_init - nothing to open: the queue is opened per message. */
static int pickup_init(struct server_ctx *ctx)
{
	log_debug("%s: started, uid %lu", ctx->service, (unsigned long)getuid());
	return 0;
}

int main(int argc, char **argv)
{
	static const struct server_hooks hooks = {
		.name = "pickup",
		.init = pickup_init,
		.accept = pickup_accept,
	};

	return server_main(argc, argv, &hooks);
}
