/*
 * auth_client.c - the client side of the "auth" protocol for smtpd, pop3d
 * and imapd: one lazily opened connection per process to private/auth,
 * requests matched to replies by request id, callbacks from the loop; and
 * a blocking password check for simple callers.
 * Touches:  the socket $queue_directory/private/auth.
 * Input:    replies from the auth daemon (trusted peer; still parsed with
 *           ipc_get, unknown request ids ignored).
 * Security: passwords and SASL lines are copied into the request frame,
 *           which is wiped once queued; nothing here logs them.  A reply
 *           never carries a hash.
 * Errors:   a service that cannot be reached, or a connection that breaks,
 *           fails every affected request with AUTH_STATUS_TEMPFAIL and
 *           "auth service unavailable: ..."; the next request reconnects.
 * See:      auth_client.h, lib/proto.h "auth", docs/auth.md.
 */
#include "sys.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "auth_client.h"
#include "buf.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "xmem.h"

struct ac_req {
	struct ac_req *next;
	uint32_t id;
	uint32_t session; /* SASL session, 0 for none */
	auth_client_cb *cb;
	void *arg;
};

struct auth_client {
	struct event_base *base;
	struct cfg *cfg;
	struct ipc_conn *conn;
	struct ac_req *pending; /* sent, waiting for the reply */
	struct ac_req *failed;	/* to fail from the loop (no connection) */
	struct buf fail_reason;
	struct loop_timer *fail_timer;
	uint32_t next_id;
	bool *destroyed; /* set by auth_client_free inside a callback */
};

void auth_client_socket_path(struct cfg *cfg, struct buf *path_r)
{
	proto_socket_path(cfg, "auth", false, path_r);
}

struct auth_client *auth_client_new(struct event_base *base, struct cfg *cfg)
{
	struct auth_client *ac = xcalloc(1, sizeof(*ac));

	ac->base = base;
	ac->cfg = cfg;
	ac->next_id = 1;
	buf_init(&ac->fail_reason, 0);
	return ac;
}

/* free_list - drop requests without calling them. */
static void free_list(struct ac_req **list)
{
	while (*list != NULL) {
		struct ac_req *r = *list;
		*list = r->next;
		free(r);
	}
}

void auth_client_free(struct auth_client **acp)
{
	struct auth_client *ac = *acp;

	if (ac == NULL)
		return;
	if (ac->destroyed != NULL)
		*ac->destroyed = true;
	ipc_conn_free(&ac->conn);
	free_list(&ac->pending);
	free_list(&ac->failed);
	loop_timer_free(&ac->fail_timer);
	buf_deinit(&ac->fail_reason);
	free(ac);
	*acp = NULL;
}

/* deliver - run the callbacks of a detached list with one reply; stops if
 * a callback frees the client.  ac->destroyed points at a local only while
 * the callbacks run and is cleared before returning (gcc 12's
 * -Wdangling-pointer cannot see that). */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
static void deliver(struct auth_client *ac, struct ac_req *list, const struct auth_reply *reply)
{
	bool destroyed = false;

	ac->destroyed = &destroyed;
	while (list != NULL) {
		struct ac_req *r = list;
		list = r->next;
		if (!destroyed)
			r->cb(r->id, reply, r->arg);
		free(r);
	}
	if (!destroyed)
		ac->destroyed = NULL;
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

/* on_fail_timer - fail the requests that found no connection. */
static void on_fail_timer(struct loop_timer *timer, void *arg)
{
	struct auth_client *ac = arg;
	struct ac_req *list = ac->failed;
	struct auth_reply reply = {AUTH_STATUS_TEMPFAIL, NULL, NULL, NULL, NULL};
	char reason[ERR_MSG_MAX + 64];

	snprintf(reason, sizeof(reason), "%s", buf_cstr(&ac->fail_reason));
	reply.reason = reason;
	ac->failed = NULL;
	deliver(ac, list, &reply);
}

/* on_close - the service went away: fail what was waiting for it. */
static void on_close(struct ipc_conn *conn, const char *why, void *arg)
{
	struct auth_client *ac = arg;
	struct ac_req *list = ac->pending;
	struct auth_reply reply = {AUTH_STATUS_TEMPFAIL, NULL, NULL, NULL, NULL};
	char reason[ERR_MSG_MAX + 64];

	ac->conn = NULL;
	ac->pending = NULL;
	if (list != NULL)
		log_warn("auth service connection lost: %s", why);
	snprintf(reason, sizeof(reason), "auth service unavailable: %s", why);
	reply.reason = reason;
	deliver(ac, list, &reply);
}

/* take - unlink the pending request id, or NULL. */
static struct ac_req *take(struct auth_client *ac, uint32_t id)
{
	for (struct ac_req **pp = &ac->pending; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			struct ac_req *r = *pp;
			*pp = r->next;
			r->next = NULL;
			return r;
		}
	return NULL;
}

/* parse_reply - an auth reply frame into reply (strings point into msg). */
static void parse_reply(struct ipc_msg *msg, struct auth_reply *reply)
{
	uint32_t temp = 1, found = 0;
	const char *user = NULL, *challenge = NULL, *reason = NULL, *token = NULL;

	memset(reply, 0, sizeof(*reply));
	(void)ipc_get(msg, 0, IPC_STR("user", &user), IPC_STR("challenge", &challenge),
		      IPC_STR("reason", &reason), IPC_U32("temporary", &temp),
		      IPC_U32("found", &found), IPC_STR("token", &token), IPC_END);
	switch (msg->type) {
	case AUTH_OK:
		reply->status = user != NULL ? AUTH_STATUS_OK : AUTH_STATUS_TEMPFAIL;
		reply->user = user;
		reply->token = user != NULL ? token : NULL;
		reply->reason = user != NULL ? NULL : "malformed reply from the auth service";
		break;
	case AUTH_CHALLENGE:
		reply->status = challenge != NULL ? AUTH_STATUS_CONTINUE : AUTH_STATUS_TEMPFAIL;
		reply->challenge = challenge;
		reply->reason = challenge != NULL ? NULL : "malformed reply from the auth service";
		break;
	case AUTH_USER_FOUND:
		reply->status = found ? AUTH_STATUS_OK : AUTH_STATUS_FAIL;
		reply->user = user;
		reply->reason = found ? NULL : "no such user";
		break;
	case AUTH_FAIL:
		reply->status = temp ? AUTH_STATUS_TEMPFAIL : AUTH_STATUS_FAIL;
		reply->reason = reason != NULL ? reason : "authentication failed";
		break;
	case IPC_ERROR:
		reply->status = AUTH_STATUS_TEMPFAIL;
		reply->reason = reason != NULL ? reason : "auth service error";
		break;
	default:
		reply->status = AUTH_STATUS_TEMPFAIL;
		reply->reason = "unexpected reply from the auth service";
		break;
	}
}

/* on_msg - one reply. */
static void on_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	struct auth_client *ac = arg;
	struct ac_req *r = take(ac, msg->reqid);
	struct auth_reply reply;

	if (r == NULL)
		return; /* cancelled */
	parse_reply(msg, &reply);
	deliver(ac, r, &reply);
}

/* connect_service - open the connection; -1 with the reason kept. */
static int connect_service(struct auth_client *ac)
{
	struct buf path = BUF_INIT;
	struct sockaddr_un sun;
	int fd = -1, rc = -1;

	auth_client_socket_path(ac->cfg, &path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path.len >= sizeof(sun.sun_path)) {
		buf_reset(&ac->fail_reason);
		buf_printf(&ac->fail_reason, "auth service unavailable: socket path too long");
		goto out;
	}
	memcpy(sun.sun_path, path.data, path.len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		buf_reset(&ac->fail_reason);
		buf_printf(&ac->fail_reason, "auth service unavailable: connect %s: %s",
			   buf_cstr(&path), strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	ac->conn = ipc_conn_new(ac->base, fd, &proto_auth, "auth", on_msg, on_close, ac);
	rc = 0;
out:
	buf_deinit(&path);
	return rc;
}

/* submit - send a finished request (wiping it) and register its callback. */
static uint32_t submit(struct auth_client *ac, struct ipc_msg *msg, uint32_t session,
		       auth_client_cb *cb, void *arg)
{
	struct ac_req *r = xcalloc(1, sizeof(*r));
	uint32_t id = msg->reqid;
	struct err err;
	int rc = ipc_msg_finish(msg, &err);

	r->id = id;
	r->session = session;
	r->cb = cb;
	r->arg = arg;
	if (rc == 0 && ac->conn == NULL && connect_service(ac) < 0) {
		rc = -1; /* fail_reason set */
	} else if (rc < 0 || ipc_send(ac->conn, msg, &err) < 0) {
		buf_reset(&ac->fail_reason);
		buf_printf(&ac->fail_reason, "auth request failed: %s", err.msg);
		rc = -1;
	}
	if (rc < 0) {
		r->next = ac->failed;
		ac->failed = r;
		if (ac->fail_timer == NULL)
			ac->fail_timer = loop_timer_new(ac->base, on_fail_timer, ac);
		loop_timer_add(ac->fail_timer, 0);
	} else {
		r->next = ac->pending;
		ac->pending = r;
	}
	if (msg->frame.data != NULL)
		explicit_bzero(msg->frame.data, msg->frame.cap);
	ipc_msg_deinit(msg);
	return id;
}

/* new_id - the next request id (never 0). */
static uint32_t new_id(struct auth_client *ac)
{
	uint32_t id = ac->next_id++;

	if (ac->next_id == 0)
		ac->next_id = 1;
	return id;
}

uint32_t auth_client_password(struct auth_client *ac, const char *service, const char *user,
			      const char *password, size_t password_len, const char *client,
			      auth_client_cb *cb, void *arg)
{
	struct ipc_msg msg;

	ipc_msg_init(&msg, AUTH_PASS, new_id(ac));
	ipc_put_str(&msg, "service", service);
	ipc_put_str(&msg, "user", user);
	ipc_put_data(&msg, "password", password, password_len);
	ipc_put_str(&msg, "client", client);
	return submit(ac, &msg, 0, cb, arg);
}

uint32_t auth_client_sasl_start(struct auth_client *ac, const char *service, const char *mech,
				const char *initial, const char *client, auth_client_cb *cb,
				void *arg)
{
	struct ipc_msg msg;
	uint32_t id = new_id(ac);

	ipc_msg_init(&msg, AUTH_SASL_START, id);
	ipc_put_u32(&msg, "session", id);
	ipc_put_str(&msg, "service", service);
	ipc_put_str(&msg, "mech", mech);
	ipc_put_str(&msg, "client", client);
	if (initial != NULL)
		ipc_put_str(&msg, "response", initial);
	return submit(ac, &msg, id, cb, arg);
}

uint32_t auth_client_sasl_continue(struct auth_client *ac, uint32_t session, const char *response,
				   auth_client_cb *cb, void *arg)
{
	struct ipc_msg msg;

	ipc_msg_init(&msg, AUTH_SASL_CONTINUE, new_id(ac));
	ipc_put_u32(&msg, "session", session);
	ipc_put_str(&msg, "response", response);
	return submit(ac, &msg, session, cb, arg);
}

void auth_client_sasl_end(struct auth_client *ac, uint32_t session)
{
	struct ipc_msg msg;
	struct err err;

	for (struct ac_req **pp = &ac->pending; *pp != NULL;) {
		struct ac_req *r = *pp;
		if (r->session == session) {
			*pp = r->next;
			free(r);
		} else {
			pp = &r->next;
		}
	}
	if (ac->conn == NULL)
		return; /* the service forgot it with the connection */
	ipc_msg_init(&msg, AUTH_SASL_END, new_id(ac));
	ipc_put_u32(&msg, "session", session);
	if (ipc_msg_finish(&msg, &err) < 0 || ipc_send(ac->conn, &msg, &err) < 0)
		log_debug("auth: SASL_END: %s", err.msg);
	ipc_msg_deinit(&msg);
}

uint32_t auth_client_user_exists(struct auth_client *ac, const char *user, auth_client_cb *cb,
				 void *arg)
{
	struct ipc_msg msg;

	ipc_msg_init(&msg, AUTH_USER, new_id(ac));
	ipc_put_str(&msg, "user", user);
	return submit(ac, &msg, 0, cb, arg);
}

uint32_t auth_client_token(struct auth_client *ac, const char *service, const char *user,
			   const char *token, auth_client_cb *cb, void *arg)
{
	struct ipc_msg msg;

	ipc_msg_init(&msg, AUTH_TOKEN, new_id(ac));
	ipc_put_str(&msg, "service", service);
	ipc_put_str(&msg, "user", user);
	ipc_put_str(&msg, "token", token);
	return submit(ac, &msg, 0, cb, arg);
}

void auth_client_cancel(struct auth_client *ac, uint32_t id)
{
	struct ac_req *r = take(ac, id);

	if (r == NULL) {
		for (struct ac_req **pp = &ac->failed; *pp != NULL; pp = &(*pp)->next)
			if ((*pp)->id == id) {
				r = *pp;
				*pp = r->next;
				break;
			}
	}
	free(r);
}

enum auth_status auth_client_check_password(struct cfg *cfg, const char *service, const char *user,
					    const char *password, const char *client,
					    int timeout_msec, struct buf *user_r, struct err *err)
{
	struct buf path = BUF_INIT;
	struct ipc_msg req, reply;
	struct auth_reply r;
	enum auth_status st = AUTH_STATUS_TEMPFAIL;
	int fd;

	auth_client_socket_path(cfg, &path);
	fd = ipc_connect_unix(buf_cstr(&path), &proto_auth, timeout_msec, err);
	buf_deinit(&path);
	if (fd < 0) {
		char why[ERR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", err->msg);
		err_set(err, "auth service unavailable: %s", why);
		return AUTH_STATUS_TEMPFAIL;
	}
	memset(&reply, 0, sizeof(reply));
	ipc_msg_init(&req, AUTH_PASS, 1);
	ipc_put_str(&req, "service", service);
	ipc_put_str(&req, "user", user);
	ipc_put_data(&req, "password", password, strlen(password));
	ipc_put_str(&req, "client", client);
	if (ipc_msg_finish(&req, err) == 0 && ipc_call(fd, &req, &reply, timeout_msec, err) == 0) {
		parse_reply(&reply, &r);
		st = r.status;
		if (st == AUTH_STATUS_OK)
			buf_sets(user_r, r.user);
		else
			err_set(err, "%s", r.reason);
	} else {
		char why[ERR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", err->msg);
		err_set(err, "auth service unavailable: %s", why);
	}
	ipc_msg_deinit(&reply);
	if (req.frame.data != NULL)
		explicit_bzero(req.frame.data, req.frame.cap);
	ipc_msg_deinit(&req);
	close(fd);
	return st;
}
