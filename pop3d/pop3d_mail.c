/*
 * pop3d_mail.c - the mail process's side of the hand-over: login processes
 *                connect to private/$pop3d_mail_service and pass a logged-in
 *                session (POP3D_LOGIN with the client descriptor and the
 *                auth service's one-time login token), or ask for the TLS
 *                key files (POP3D_TLS_GET).
 * Touches:  the private socket's connections, the auth service (AUTH_TOKEN);
 *           starts pop3d_trans sessions.
 * Security: only the mail owner can connect (private/ is 0700), but the
 *           login processes parse network input in their jail, so their
 *           word is not enough: the user name counts only once the auth
 *           service has redeemed the token it issued for that user and
 *           service at login (single use, seconds old).  Until then the
 *           descriptor is held, nothing is read from it and no Maildir is
 *           opened; a refused token closes it without a byte sent.  The
 *           name must still name a safe Maildir path (pop3d_user_maildir).
 *           Tokens are wiped after use and never logged.
 * Errors:   a malformed request or a refused token is IPC_ERROR and that
 *           connection ends; the client's session then gets -ERR
 *           [SYS/TEMP] from the login side.
 * See:      pop3d.h "Protocol", docs/pop3d.md "Privilege separation".
 */
#include "sys.h"

#include <unistd.h>

#include "auth_client.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "pop3d/pop3d.h"
#include "xmem.h"

/* A login process's connection, and the hand-over waiting for its token. */
struct mail_conn {
	struct ipc_conn *conn;
	uint32_t auth_req; /* AUTH_TOKEN out, 0 none */
	uint32_t reqid;	   /* of the POP3D_LOGIN */
	int fd;		   /* the client's descriptor, -1 none */
	char *user;
	char *client;
	unsigned int port;
	bool tls;
	struct buf pending;
};

/* handover_drop - forget the waiting hand-over (closing its descriptor). */
static void handover_drop(struct mail_conn *mc)
{
	if (mc->auth_req != 0)
		auth_client_cancel(pop3d_conf.auth, mc->auth_req);
	mc->auth_req = 0;
	if (mc->fd >= 0)
		close(mc->fd);
	mc->fd = -1;
	xfree(&mc->user);
	xfree(&mc->client);
	buf_reset(&mc->pending);
}

/* on_token - the auth service's word on the login token. */
static void on_token(uint32_t id, const struct auth_reply *r, void *arg)
{
	struct mail_conn *mc = arg;
	struct ipc_msg ok;
	struct err err;
	int fd = mc->fd;

	mc->auth_req = 0;
	if (r->status != AUTH_STATUS_OK) {
		log_warn("hand-over refused: user=<%s>, client=%s: %s", mc->user, mc->client,
			 r->reason);
		handover_drop(mc);
		ipc_reject(mc->conn, "login token refused");
		return;
	}
	ipc_msg_init(&ok, POP3D_LOGIN_OK, mc->reqid);
	if (ipc_msg_finish(&ok, &err) < 0 || ipc_send(mc->conn, &ok, &err) < 0) {
		ipc_msg_deinit(&ok);
		handover_drop(mc);
		ipc_reject(mc->conn, "LOGIN_OK: %s", err.msg);
		return;
	}
	ipc_msg_deinit(&ok);
	mc->fd = -1;
	pop3d_trans_start(fd, mc->user, mc->client, mc->port, mc->tls, mc->pending.data,
			  mc->pending.len);
	handover_drop(mc);
}

/* on_login - POP3D_LOGIN: hold the session, ask the auth service. */
static void on_login(struct mail_conn *mc, struct ipc_msg *msg, int fd)
{
	const char *user = NULL, *token = NULL, *client = "unknown", *method = "USER";
	const void *pending = NULL;
	size_t pending_len = 0;
	uint32_t port = 0, tls = 0;
	const struct ipc_attr *a;

	if (ipc_get(msg, IPC_STRICT, IPC_STR("user", &user), IPC_STR("token", &token),
		    IPC_STR("client", &client), IPC_U32("port", &port), IPC_U32("tls", &tls),
		    IPC_STR("method", &method), IPC_DATA("pending", &pending, &pending_len),
		    IPC_END) < 2 ||
	    user == NULL || token == NULL || mc->fd >= 0 || mc->auth_req != 0) {
		close(fd);
		if ((a = ipc_find(msg, "token")) != NULL && a->vlen > 0)
			explicit_bzero((void *)(uintptr_t)a->value, a->vlen);
		ipc_reject(mc->conn, "malformed LOGIN");
		return;
	}
	mc->fd = fd;
	mc->reqid = msg->reqid;
	mc->user = xstrdup(user);
	mc->client = xstrdup(client);
	mc->port = port;
	mc->tls = tls != 0;
	buf_set(&mc->pending, pending, pending_len);
	mc->auth_req = auth_client_token(pop3d_conf.auth, "pop3d", user, token, on_token, mc);
	a = ipc_find(msg, "token");
	explicit_bzero((void *)(uintptr_t)a->value, a->vlen);
}

/* on_msg - one request from a login process. */
static void on_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	struct mail_conn *mc = arg;

	if (msg->type == POP3D_TLS_GET) {
		if (fd >= 0)
			close(fd);
		pop3d_tls_serve(conn, msg);
		return;
	}
	if (msg->type != POP3D_LOGIN || fd < 0) {
		if (fd >= 0)
			close(fd);
		ipc_reject(conn, "unexpected message type %u", msg->type);
		return;
	}
	on_login(mc, msg, fd);
}

/* on_close - a login process hung up (normal after LOGIN_OK): a session
 * still waiting for its token goes with it. */
static void on_close(struct ipc_conn *conn, const char *why, void *arg)
{
	struct mail_conn *mc = arg;

	handover_drop(mc);
	buf_deinit(&mc->pending);
	free(mc);
}

void pop3d_mail_accept(int fd)
{
	struct mail_conn *mc = xcalloc(1, sizeof(*mc));

	mc->fd = -1;
	buf_init(&mc->pending, 0);
	mc->conn = ipc_conn_new(pop3d_conf.base, fd, &pop3d_proto, "pop3d login process", on_msg,
				on_close, mc);
	ipc_conn_set_max_frame(mc->conn, POP3D_IPC_MAX_FRAME);
	ipc_conn_set_timeout(mc->conn, pop3d_conf.timeout_ms);
}
