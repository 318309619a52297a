/*
 * pop3d_mail.c - the mail process's side of the hand-over: login processes
 *                connect to private/$pop3d_mail_service and pass a logged-in
 *                session (POP3D_LOGIN with the client descriptor), or ask
 *                for the TLS key files (POP3D_TLS_GET).
 * Touches:  the private socket's connections; starts pop3d_trans sessions.
 * Security: only the mail owner can connect (private/ is 0700).  The user
 *           name is the auth service's canonical name as relayed by the
 *           login process; it must still name a safe Maildir path
 *           (pop3d_user_maildir) and is never used otherwise.
 * Errors:   a malformed request is IPC_ERROR and that connection ends; the
 *           client's session then gets -ERR [SYS/TEMP] from the login side.
 * See:      pop3d.h "Protocol", docs/pop3d.md.
 */
#include "sys.h"

#include <unistd.h>

#include "err.h"
#include "log.h"
#include "pop3d/pop3d.h"

/* on_msg - one request from a login process. */
static void on_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	const char *user = NULL, *client = "unknown", *method = "USER";
	const void *pending = NULL;
	size_t pending_len = 0;
	uint32_t port = 0, tls = 0;
	struct ipc_msg ok;
	struct err err;

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
	if (ipc_get(msg, IPC_STRICT, IPC_STR("user", &user), IPC_STR("client", &client),
		    IPC_U32("port", &port), IPC_U32("tls", &tls), IPC_STR("method", &method),
		    IPC_DATA("pending", &pending, &pending_len), IPC_END) < 1 ||
	    user == NULL) {
		close(fd);
		ipc_reject(conn, "malformed LOGIN");
		return;
	}
	ipc_msg_init(&ok, POP3D_LOGIN_OK, msg->reqid);
	if (ipc_msg_finish(&ok, &err) < 0 || ipc_send(conn, &ok, &err) < 0) {
		ipc_msg_deinit(&ok);
		close(fd);
		ipc_reject(conn, "LOGIN_OK: %s", err.msg);
		return;
	}
	ipc_msg_deinit(&ok);
	pop3d_trans_start(fd, user, client, port, tls != 0, pending, pending_len);
}

/* on_close - a login process hung up (normal after LOGIN_OK). */
static void on_close(struct ipc_conn *conn, const char *why, void *arg)
{
}

void pop3d_mail_accept(int fd)
{
	struct ipc_conn *conn = ipc_conn_new(pop3d_conf.base, fd, &pop3d_proto,
					     "pop3d login process", on_msg, on_close, NULL);

	ipc_conn_set_max_frame(conn, POP3D_IPC_MAX_FRAME);
	ipc_conn_set_timeout(conn, pop3d_conf.timeout_ms);
}
