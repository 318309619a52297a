/*
 * pop3d_login.c - the AUTHORIZATION state in the login process: greeting,
 *                 CAPA, STLS, USER/PASS and AUTH through the auth service,
 *                 then the hand-over of the session to the mail process.
 * Touches:  client sockets, the auth service (lib/auth_client), the mail
 *           process's socket; never a Maildir (it runs in the jail).
 * Input:    untrusted lines capped at $pop3d_line_length_limit.
 * Security: passwords go to the auth service only and are wiped here;
 *           input read before STLS is discarded by loop_conn_starttls;
 *           $pop3d_tls_security_level = encrypt refuses logins before TLS;
 *           $pop3d_auth_failure_limit failures end the session, and the
 *           auth service delays and blocks repeated failures.
 * Errors:   every bad command gets -ERR and the session goes on; a broken
 *           auth service or mail process gets -ERR [SYS/TEMP].
 * See:      RFC 1939 4-7, RFC 2449, RFC 2595, RFC 3206, RFC 5034,
 *           docs/pop3d.md.
 */
#include "sys.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "auth_client.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "pop3d/pop3d.h"
#include "pop3d/pop3d_cmd.h"
#include "sasl.h"
#include "server.h"
#include "str.h"
#include "xmem.h"

/* LOGIN_PENDING_MAX - client bytes read ahead that the hand-over carries. */
#define LOGIN_PENDING_MAX (48 * 1024)

enum login_state {
	L_AUTHORIZATION, /* commands */
	L_WAIT_AUTH,	 /* a request to the auth service is out */
	L_SASL,		 /* the next line is a SASL response */
	L_HANDOFF,	 /* waiting for the mail process's LOGIN_OK */
	L_PROXY,	 /* logged in over TLS: relaying (pop3d_proxy.c) */
};

struct login {
	struct login *prev, *next;
	struct loop_conn *conn;
	struct ipc_conn *ipc;
	struct buf addr;
	unsigned int port;
	enum login_state state;
	struct buf user;      /* from USER */
	struct buf canonical; /* from the auth service */
	struct buf token;     /* the one-time login token for the mail process */
	const char *method;   /* "USER" or the SASL mechanism */
	char mech[32];
	uint32_t req;  /* the auth request out, 0 none */
	uint32_t sasl; /* the SASL session, 0 none */
	unsigned int failures;
	bool tls;
	int inner_fd; /* TLS hand-over: the socketpair end kept */
	struct pop3d_proxy *proxy;
	struct pop3d_cmd cmd;
};

static struct login *logins;

/* wipe_token - forget the login token (sent, or never to be sent). */
static void wipe_token(struct login *s)
{
	if (s->token.data != NULL)
		explicit_bzero(s->token.data, s->token.cap);
	buf_reset(&s->token);
}

/* login_free - end the session (the server counts one less). */
static void login_free(struct login *s)
{
	if (s->req != 0)
		auth_client_cancel(pop3d_conf.auth, s->req);
	if (s->sasl != 0)
		auth_client_sasl_end(pop3d_conf.auth, s->sasl);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		logins = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	loop_conn_free(&s->conn);
	ipc_conn_free(&s->ipc);
	if (s->inner_fd >= 0)
		close(s->inner_fd);
	pop3d_cmd_deinit(&s->cmd);
	buf_deinit(&s->addr);
	buf_deinit(&s->user);
	buf_deinit(&s->canonical);
	wipe_token(s);
	buf_deinit(&s->token);
	free(s);
	server_session_end();
}

/* reply - one status line. */
static void reply(struct login *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void reply(struct login *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	loop_conn_vline(s->conn, fmt, ap);
	va_end(ap);
}

/* login_allowed - logins are possible now (TLS or not required). */
static bool login_allowed(const struct login *s)
{
	return s->tls || pop3d_conf.tls_level != POP3D_TLS_ENCRYPT;
}

/* stls_offered - STLS may be used now. */
static bool stls_offered(const struct login *s)
{
	return !s->tls && pop3d_conf.tls_ctx != NULL && pop3d_conf.tls_level != POP3D_TLS_NONE;
}

/* do_capa - RFC 2449 capabilities of the AUTHORIZATION state. */
static void do_capa(struct login *s)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		     "AUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (login_allowed(s))
		buf_adds(&b, "USER\r\nSASL PLAIN LOGIN SCRAM-SHA-256\r\n");
	if (stls_offered(s))
		buf_adds(&b, "STLS\r\n");
	buf_adds(&b, "IMPLEMENTATION tern\r\n.\r\n");
	loop_conn_write(s->conn, b.data, b.len);
	buf_deinit(&b);
}

/* auth_failed - count a failure; at the limit the session ends. */
static void auth_failed(struct login *s, const char *why)
{
	s->failures++;
	log_info("authentication failed: client=%s, method=%s, user=<%s>, reason=%s",
		 buf_cstr(&s->addr), s->method, buf_cstr(&s->user), why);
	if (s->failures >= pop3d_conf.failure_limit) {
		reply(s, "-ERR [AUTH] Authentication failed, too many failures: bye");
		loop_conn_close_after_write(s->conn);
		return;
	}
	reply(s, "-ERR [AUTH] Authentication failed");
}

static void handoff(struct login *s);

/* on_auth - the auth service's answer to PASS or a SASL step. */
static void on_auth(uint32_t id, const struct auth_reply *r, void *arg)
{
	struct login *s = arg;

	s->req = 0;
	s->state = L_AUTHORIZATION;
	switch (r->status) {
	case AUTH_STATUS_CONTINUE:
		s->state = L_SASL;
		reply(s, "+ %s", r->challenge);
		break;
	case AUTH_STATUS_OK:
		s->sasl = 0;
		buf_sets(&s->canonical, r->user);
		if (r->token == NULL) {
			log_warn("login of %s from %s: the auth service issued no login token",
				 r->user, buf_cstr(&s->addr));
			reply(s, "-ERR [SYS/TEMP] Authentication temporarily unavailable");
			break;
		}
		buf_sets(&s->token, r->token);
		handoff(s);
		return;
	case AUTH_STATUS_FAIL:
		s->sasl = 0;
		auth_failed(s, r->reason);
		break;
	case AUTH_STATUS_TEMPFAIL:
		s->sasl = 0;
		log_warn("authentication unavailable: client=%s, user=<%s>: %s", buf_cstr(&s->addr),
			 buf_cstr(&s->user), r->reason);
		reply(s, "-ERR [SYS/TEMP] Authentication temporarily unavailable");
		break;
	}
	loop_conn_pause(s->conn, false);
}

/* do_pass - PASS after USER: ask the auth service. */
static void do_pass(struct login *s)
{
	if (s->user.len == 0) {
		reply(s, "-ERR No USER given");
		return;
	}
	s->method = "USER";
	s->state = L_WAIT_AUTH;
	loop_conn_pause(s->conn, true);
	s->req = auth_client_password(pop3d_conf.auth, "pop3d", buf_cstr(&s->user), s->cmd.arg.data,
				      s->cmd.arg.len, buf_cstr(&s->addr), on_auth, s);
}

/* do_auth - AUTH [mech [initial]] (RFC 5034). */
static void do_auth(struct login *s)
{
	if (s->cmd.nargs == 0) {
		loop_conn_write(s->conn, "+OK\r\nPLAIN\r\nLOGIN\r\nSCRAM-SHA-256\r\n.\r\n", 36);
		return;
	}
	if (s->cmd.arg.len >= sizeof(s->mech) || !sasl_mech_known(buf_cstr(&s->cmd.arg))) {
		reply(s, "-ERR Unsupported authentication mechanism");
		return;
	}
	for (size_t i = 0; i <= s->cmd.arg.len; i++) {
		char c = s->cmd.arg.data[i];

		s->mech[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
	}
	s->method = s->mech;
	buf_reset(&s->user);
	s->state = L_WAIT_AUTH;
	loop_conn_pause(s->conn, true);
	s->req = s->sasl = auth_client_sasl_start(pop3d_conf.auth, "pop3d", s->mech,
						  s->cmd.nargs == 2 ? buf_cstr(&s->cmd.arg2) : NULL,
						  buf_cstr(&s->addr), on_auth, s);
}

/* sasl_line - a SASL response line. */
static void sasl_line(struct login *s, const char *line)
{
	s->state = L_WAIT_AUTH;
	loop_conn_pause(s->conn, true);
	s->req = auth_client_sasl_continue(pop3d_conf.auth, s->sasl, line, on_auth, s);
}

/* do_stls - RFC 2595. */
static void do_stls(struct login *s)
{
	struct err err;

	if (!stls_offered(s)) {
		reply(s, s->tls ? "-ERR Already using TLS" : "-ERR STLS not available");
		return;
	}
	reply(s, "+OK Begin TLS negotiation");
	if (loop_conn_starttls(s->conn, pop3d_conf.tls_ctx, &err) < 0) {
		log_warn("STLS from %s: %s", buf_cstr(&s->addr), err.msg);
		loop_conn_close_after_write(s->conn);
		return;
	}
	s->tls = true;
	buf_reset(&s->user);
}

/* on_line - one command in the AUTHORIZATION state. */
static void on_line(struct loop_conn *conn, const char *line, size_t len, int flags, void *arg)
{
	struct login *s = arg;
	struct err err;

	if (s->state == L_SASL) {
		if ((flags & LOOP_LINE_TOO_LONG) != 0) {
			auth_client_sasl_end(pop3d_conf.auth, s->sasl);
			s->sasl = 0;
			s->state = L_AUTHORIZATION;
			auth_failed(s, "SASL response too long");
			return;
		}
		sasl_line(s, line);
		return;
	}
	if ((flags & LOOP_LINE_TOO_LONG) != 0) {
		reply(s, "-ERR Line too long");
		return;
	}
	if (pop3d_cmd_parse(line, len, &s->cmd, &err) < 0) {
		reply(s, "-ERR %s", err.msg);
		return;
	}
	switch (s->cmd.verb) {
	case POP3D_CAPA:
		do_capa(s);
		break;
	case POP3D_QUIT:
		reply(s, "+OK %s POP3 server signing off", pop3d_conf.hostname);
		loop_conn_close_after_write(conn);
		break;
	case POP3D_NOOP:
		reply(s, "+OK");
		break;
	case POP3D_STLS:
		do_stls(s);
		break;
	case POP3D_USER:
	case POP3D_PASS:
	case POP3D_AUTH:
		if (!login_allowed(s)) {
			reply(s, "-ERR [AUTH] TLS required: use STLS first");
			break;
		}
		if (s->cmd.verb == POP3D_USER) {
			buf_set(&s->user, s->cmd.arg.data, s->cmd.arg.len);
			reply(s, "+OK Send PASS");
		} else if (s->cmd.verb == POP3D_PASS) {
			do_pass(s);
		} else {
			do_auth(s);
		}
		break;
	case POP3D_APOP:
		reply(s, "-ERR APOP is not supported");
		break;
	default:
		reply(s, "-ERR [AUTH] Not logged in: %s is a TRANSACTION command", s->cmd.name);
		break;
	}
	/* the PASS line's copy of the password */
	if (s->cmd.arg.data != NULL)
		explicit_bzero(s->cmd.arg.data, s->cmd.arg.cap);
}

/* on_close - the client went away. */
static void on_close(struct loop_conn *conn, enum loop_close why, const char *detail, void *arg)
{
	struct login *s = arg;

	s->conn = NULL;
	if (s->proxy != NULL) {
		struct pop3d_proxy *p = s->proxy;

		s->proxy = NULL;
		pop3d_proxy_client_gone(p); /* login_free follows from proxy_done */
		return;
	}
	if (why == LOOP_CLOSE_TIMEOUT)
		log_info("timeout in AUTHORIZATION from %s", buf_cstr(&s->addr));
	else if (why == LOOP_CLOSE_TLS)
		log_info("TLS error from %s: %s", buf_cstr(&s->addr), detail);
	log_debug("disconnect from %s", buf_cstr(&s->addr));
	login_free(s);
}

/* on_tls - the handshake (STLS or port 995) finished. */
static void on_tls(struct loop_conn *conn, void *arg)
{
	struct login *s = arg;

	s->tls = true;
	log_info("TLS established from %s", buf_cstr(&s->addr));
}

/* on_data - raw mode, only while relaying TLS. */
static void on_data(struct loop_conn *conn, struct evbuffer *in, void *arg)
{
	struct login *s = arg;

	if (s->proxy != NULL)
		pop3d_proxy_client_data(s->proxy, in);
	else
		evbuffer_drain(in, evbuffer_get_length(in));
}

/* proxy_done - the relayed session ended on both sides. */
static void proxy_done(void *arg)
{
	login_free(arg);
}

static const struct loop_conn_cb login_cb = {
	.on_line = on_line,
	.on_data = on_data,
	.on_tls = on_tls,
	.on_close = on_close,
};

/* handoff_fail - the mail process cannot take the session. */
static void handoff_fail(struct login *s, const char *why)
{
	log_warn("cannot hand %s over to %s: %s", buf_cstr(&s->canonical), pop3d_conf.mail_socket,
		 why);
	ipc_conn_free(&s->ipc);
	if (s->inner_fd >= 0)
		close(s->inner_fd);
	s->inner_fd = -1;
	s->state = L_AUTHORIZATION;
	reply(s, "-ERR [SYS/TEMP] Mailbox service unavailable, try again later");
	loop_conn_close_after_write(s->conn);
}

/* on_ipc_msg - LOGIN_OK: the session is the mail process's now. */
static void on_ipc_msg(struct ipc_conn *ipc, struct ipc_msg *msg, int fd, void *arg)
{
	struct login *s = arg;

	if (fd >= 0)
		close(fd);
	if (msg->type != POP3D_LOGIN_OK) {
		const char *reason = "unexpected reply";

		if (msg->type == IPC_ERROR)
			(void)ipc_get(msg, 0, IPC_STR("reason", &reason), IPC_END);
		handoff_fail(s, reason);
		return;
	}
	log_info("login: user=<%s>, method=%s, client=%s%s", buf_cstr(&s->canonical), s->method,
		 buf_cstr(&s->addr), s->tls ? ", TLS" : "");
	ipc_conn_free(&s->ipc);
	if (!s->tls) {
		login_free(s); /* closes our copy of the client socket */
		return;
	}
	s->state = L_PROXY;
	s->proxy = pop3d_proxy_new(s->conn, s->inner_fd, proxy_done, s);
	s->inner_fd = -1;
	loop_conn_set_timeout(s->conn, 0); /* the mail process keeps the time */
	loop_conn_pause(s->conn, false);
}

/* on_ipc_close - the mail process hung up before LOGIN_OK. */
static void on_ipc_close(struct ipc_conn *ipc, const char *why, void *arg)
{
	struct login *s = arg;

	s->ipc = NULL;
	if (s->inner_fd >= 0) {
		close(s->inner_fd);
		s->inner_fd = -1;
	}
	handoff_fail(s, why);
}

/* connect_mail - a non-blocking connection to the mail process. */
static int connect_mail(struct err *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(pop3d_conf.mail_socket) >= sizeof(sun.sun_path))
		return err_set(err, "socket path too long");
	memcpy(sun.sun_path, pop3d_conf.mail_socket, strlen(pop3d_conf.mail_socket) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 && errno != EINPROGRESS) {
		err_set(err, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* handoff - send the session to the mail process: the client socket itself
 * (plain), or one end of a socketpair we relay TLS through. */
static void handoff(struct login *s)
{
	struct evbuffer *in = loop_conn_input(s->conn);
	size_t pending_len = evbuffer_get_length(in);
	struct ipc_msg msg;
	struct err err;
	int fd, sp[2] = {-1, -1}, pass_fd;
	void *pending;

	if (pending_len > LOGIN_PENDING_MAX) {
		reply(s, "-ERR Too much pipelined input");
		loop_conn_close_after_write(s->conn);
		return;
	}
	fd = connect_mail(&err);
	if (fd < 0) {
		handoff_fail(s, err.msg);
		return;
	}
	if (s->tls && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		close(fd);
		handoff_fail(s, strerror(errno));
		return;
	}
	s->state = L_HANDOFF;
	s->ipc = ipc_conn_new(pop3d_conf.base, fd, &pop3d_proto, "pop3d mail process", on_ipc_msg,
			      on_ipc_close, s);
	ipc_conn_set_max_frame(s->ipc, POP3D_IPC_MAX_FRAME);
	ipc_conn_set_timeout(s->ipc, pop3d_conf.timeout_ms);
	pending = xmalloc(pending_len + 1);
	evbuffer_remove(in, pending, pending_len);
	ipc_msg_init(&msg, POP3D_LOGIN, 1);
	ipc_msg_set_max(&msg, POP3D_IPC_MAX_FRAME);
	ipc_put_str(&msg, "user", buf_cstr(&s->canonical));
	ipc_put_str(&msg, "token", buf_cstr(&s->token));
	wipe_token(s);
	ipc_put_str(&msg, "client", buf_cstr(&s->addr));
	ipc_put_u32(&msg, "port", s->port);
	ipc_put_u32(&msg, "tls", s->tls ? 1 : 0);
	ipc_put_str(&msg, "method", s->method);
	ipc_put_data(&msg, "pending", pending, pending_len);
	pass_fd = s->tls ? sp[1] : loop_conn_fd(s->conn);
	if (ipc_msg_finish(&msg, &err) < 0 || ipc_send_fd(s->ipc, &msg, pass_fd, &err) < 0) {
		if (sp[0] >= 0) {
			close(sp[0]);
			close(sp[1]);
		}
		handoff_fail(s, err.msg);
	} else if (s->tls) {
		close(sp[1]);
		s->inner_fd = sp[0];
	}
	if (msg.frame.data != NULL) /* it holds the login token */
		explicit_bzero(msg.frame.data, msg.frame.cap);
	ipc_msg_deinit(&msg);
	free(pending);
}

void pop3d_login_accept(int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	struct login *s = xcalloc(1, sizeof(*s));
	struct err err;

	server_session_begin();
	buf_init(&s->addr, 0);
	buf_init(&s->user, POP3D_ARG_MAX + 1);
	buf_init(&s->canonical, 0);
	buf_init(&s->token, 0);
	pop3d_cmd_init(&s->cmd);
	if (loop_addr_format(peer, peerlen, &s->addr, &s->port, &err) < 0)
		buf_sets(&s->addr, "unknown");
	s->method = "USER";
	s->inner_fd = -1;
	s->conn = loop_conn_new(pop3d_conf.base, fd, pop3d_conf.wrapper ? pop3d_conf.tls_ctx : NULL,
				&login_cb, s);
	loop_conn_set_max_line(s->conn, pop3d_conf.line_max);
	loop_conn_set_timeout(s->conn, pop3d_conf.timeout_ms);
	s->next = logins;
	if (logins != NULL)
		logins->prev = s;
	logins = s;
	log_debug("connect from %s", buf_cstr(&s->addr));
	if (server_stopping()) {
		reply(s, "-ERR [SYS/TEMP] Server shutting down");
		loop_conn_close_after_write(s->conn);
		return;
	}
	reply(s, "+OK %s", pop3d_conf.banner);
}

void pop3d_login_stop(void)
{
	struct login *s = logins, *next;

	for (; s != NULL; s = next) {
		next = s->next;
		if (s->state == L_AUTHORIZATION) {
			reply(s, "-ERR [SYS/TEMP] Server shutting down");
			loop_conn_close_after_write(s->conn);
		}
	}
}
