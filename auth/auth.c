/*
 * auth.c - the auth daemon: answers smtpd, pop3d and imapd on
 * $queue_directory/private/auth (protocol "auth", lib/proto.h) with
 * password checks, SASL exchanges (lib/sasl), user-exists queries and
 * one-time login tokens (auth_token.c), and keeps the brute-force defence
 * for all of them (auth_guard.c).  One
 * process (master.cf maxproc 1) so the failure counts are complete.
 * Touches:  the users table through auth_users.c; its client sockets.
 * Input:    requests from the mail daemons: trusted to speak the protocol,
 *           but every user name, password and SASL line in them comes from
 *           a network client and is checked like one.
 * Security: runs as the mail owner; the only process that reads password
 *           hashes, and it never sends one.  Passwords and SASL data live
 *           in memory only, are wiped after use (the request's copy too),
 *           and are never logged: log lines name the user, the client and
 *           the mechanism.  Login tokens are wiped from the reply frame
 *           once sent and never logged.
 * Errors:   a malformed request gets IPC_ERROR and its connection ends;
 *           a users table that cannot be read gives temporary failures;
 *           nothing a peer sends stops the daemon.
 *           Password hashing (yescrypt: tens of ms) runs in
 *           auth_worker_count threads (auth_worker.c); everything else,
 *           the brute-force counts included, stays in the loop thread.
 * Limits:   the frame bytes in lib/ipc's receive buffer are released
 *           without wiping.
 * See:      auth.h, lib/auth_client.h, docs/auth.md.
 */
#include "sys.h"

#include <time.h>

#include "auth/auth.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "sasl.h"
#include "server.h"
#include "tbl.h"
#include "xmem.h"

/* AUTH_SESSIONS_MAX - SASL exchanges open at once on one connection. */
#define AUTH_SESSIONS_MAX 10000
/* AUTH_NAME_MAX - longest service or client attribute. */
#define AUTH_NAME_MAX 128
/* AUTH_RESPONSE_MAX - longest base64 SASL line. */
#define AUTH_RESPONSE_MAX (AUTH_SECRET_MAX / 3 * 4 + 4)

struct auth_conn;

/* One SASL exchange; be.ctx points back to it for the backend calls. */
struct auth_sess {
	struct auth_sess *next;
	struct auth_conn *ac;
	uint32_t id;
	struct sasl_server *sasl;
	struct sasl_backend be;
	char *service;
	char *client;
	struct buf canon; /* canonical form of the authcid, once known */
	time_t last;
	uint32_t reqid;	      /* the request being answered */
	struct auth_job *job; /* the password check running, or NULL */
	bool known;	      /* the user exists (with job) */
};

/* An AUTH_PASS whose password is being checked by a worker. */
struct auth_pass {
	struct auth_pass *next;
	struct auth_conn *ac;
	struct auth_job *job;
	uint32_t reqid;
	bool known;
	char *service;
	char *client;
	char *canon;
};

/* A reply held back by the failure delay. */
struct auth_delayed {
	struct auth_delayed *next;
	struct auth_conn *ac;
	struct loop_timer *timer;
	struct ipc_msg msg;
};

struct auth_conn {
	struct auth_conn *next;
	struct ipc_conn *conn;
	struct auth_sess *sessions;
	size_t nsessions;
	struct auth_delayed *delayed;
	struct auth_pass *passes;
};

static struct {
	struct server_ctx *ctx;
	struct auth_users *users;
	struct auth_guard *guard;
	struct loop_timer *tick;
	struct auth_conn *conns;
	struct auth_tokens *tokens;
	struct auth_workers *workers;
	long timeout;
} st;

/* AUTH_TOKENS_MAX - login tokens held at once (the oldest goes first). */
#define AUTH_TOKENS_MAX 20000

/* wipe_attr - zero a request attribute's value in the parsed message. */
static void wipe_attr(struct ipc_msg *msg, const char *name)
{
	const struct ipc_attr *a = ipc_find(msg, name);

	if (a != NULL && a->vlen > 0)
		explicit_bzero((void *)(uintptr_t)a->value, a->vlen);
}

/* send_msg - finish and send, logging a failure (the conn then closes). */
static void send_msg(struct auth_conn *ac, struct ipc_msg *msg)
{
	struct err err;

	if (ipc_msg_finish(msg, &err) < 0 || ipc_send(ac->conn, msg, &err) < 0)
		log_warn("%s: reply: %s", ipc_conn_peer(ac->conn), err.msg);
	if (msg->frame.data != NULL) /* it may hold a login token */
		explicit_bzero(msg->frame.data, msg->frame.cap);
	ipc_msg_deinit(msg);
}

/* on_delay - the failure delay passed: send the held reply. */
static void on_delay(struct loop_timer *timer, void *arg)
{
	struct auth_delayed *d = arg;
	struct auth_conn *ac = d->ac;
	struct auth_delayed **pp = &ac->delayed;

	while (*pp != d)
		pp = &(*pp)->next;
	*pp = d->next;
	send_msg(ac, &d->msg);
	loop_timer_free(&d->timer);
	free(d);
}

/* reply_fail - AUTH_FAIL now, or after delay_ms. */
static void reply_fail(struct auth_conn *ac, uint32_t reqid, const uint32_t *session,
		       bool temporary, const char *reason, unsigned long delay_ms)
{
	struct auth_delayed *d;

	if (delay_ms == 0) {
		struct ipc_msg msg;
		ipc_msg_init(&msg, AUTH_FAIL, reqid);
		if (session != NULL)
			ipc_put_u32(&msg, "session", *session);
		ipc_put_u32(&msg, "temporary", temporary ? 1 : 0);
		ipc_put_str(&msg, "reason", reason);
		send_msg(ac, &msg);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->ac = ac;
	ipc_msg_init(&d->msg, AUTH_FAIL, reqid);
	if (session != NULL)
		ipc_put_u32(&d->msg, "session", *session);
	ipc_put_u32(&d->msg, "temporary", temporary ? 1 : 0);
	ipc_put_str(&d->msg, "reason", reason);
	d->timer = loop_timer_new(st.ctx->base, on_delay, d);
	d->next = ac->delayed;
	ac->delayed = d;
	loop_timer_add(d->timer, delay_ms);
}

/* reply_ok - AUTH_OK with the canonical user, and for a login (service
 * not NULL) a one-time token bound to user and service. */
static void reply_ok(struct auth_conn *ac, uint32_t reqid, const uint32_t *session,
		     const char *user, const char *service)
{
	struct ipc_msg msg;
	char token[AUTH_TOKEN_HEX + 1];
	struct err err;

	ipc_msg_init(&msg, AUTH_OK, reqid);
	if (session != NULL)
		ipc_put_u32(&msg, "session", *session);
	ipc_put_str(&msg, "user", user);
	if (service != NULL) {
		if (auth_tokens_issue(st.tokens, user, service, time(NULL), token, &err) == 0)
			ipc_put_str(&msg, "token", token);
		else
			log_warn("%s login of %s: %s", service, user, err.msg);
		explicit_bzero(token, sizeof(token));
	}
	send_msg(ac, &msg);
}

/* blocked_reply - a temporary failure for a blocked client or user. */
static void blocked_reply(struct auth_conn *ac, uint32_t reqid, const uint32_t *session,
			  const char *service, const char *user, const char *client, long left)
{
	log_info("%s authentication refused: user=<%s>, client=%s: blocked for %lds more", service,
		 user != NULL ? user : "", client, left);
	reply_fail(ac, reqid, session, true, "too many authentication failures; try again later",
		   0);
}

/* name_ok - a service or client attribute: 1..AUTH_NAME_MAX bytes. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= AUTH_NAME_MAX;
}

/* pass_answer - the outcome of an AUTH_PASS: reply, count, log.  canon
 * is "" when the name could not be a user (user is what was asked). */
static void pass_answer(struct auth_conn *ac, uint32_t reqid, const char *service,
			const char *client, const char *canon, const char *user, enum sasl_result r,
			const struct err *err)
{
	if (r == SASL_OK) {
		auth_guard_success(st.guard, canon);
		log_info("%s login: user=<%s>, client=%s, method=password", service, canon, client);
		reply_ok(ac, reqid, NULL, canon, service);
	} else if (r == SASL_TEMPFAIL) {
		log_warn("%s authentication: user=<%s>, client=%s: %s", service, canon, client,
			 err->msg);
		reply_fail(ac, reqid, NULL, true, "user database unavailable", 0);
	} else {
		unsigned long delay = auth_guard_fail(st.guard, client,
						      canon[0] != '\0' ? canon : NULL, time(NULL));
		log_info("%s authentication failed: user=<%s>, client=%s, method=password", service,
			 canon[0] != '\0' ? canon : user, client);
		reply_fail(ac, reqid, NULL, false, "authentication failed", delay);
	}
}

/* pass_free - unlink and free a pending AUTH_PASS (its job is gone). */
static void pass_free(struct auth_pass *p)
{
	struct auth_pass **pp = &p->ac->passes;

	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	free(p->service);
	free(p->client);
	free(p->canon);
	free(p);
}

/* pass_checked - a worker compared the password: answer in the loop. */
static void pass_checked(bool match, void *arg)
{
	struct auth_pass *p = arg;
	struct err err;
	long left;

	p->job = NULL;
	err_clear(&err);
	/* pipelined guesses all passed the block check when they arrived:
	 * one that lands after a block began gets the block's answer */
	if (auth_guard_blocked(st.guard, p->client, p->canon, time(NULL), &left))
		blocked_reply(p->ac, p->reqid, NULL, p->service, p->canon, p->client, left);
	else
		pass_answer(p->ac, p->reqid, p->service, p->client, p->canon, p->canon,
			    match && p->known ? SASL_OK : SASL_FAIL, &err);
	pass_free(p);
}

/* pass_start - hand the password check to a worker: SASL_PENDING, or
 * SASL_TEMPFAIL with err when the table cannot be read. */
static enum sasl_result pass_start(struct auth_conn *ac, uint32_t reqid, const char *service,
				   const char *client, const char *canon, const char *password,
				   struct err *err)
{
	struct buf hash = BUF_INIT;
	bool known;
	struct auth_pass *p;

	if (auth_users_hash(st.users, canon, &hash, &known, err) != SASL_OK) {
		buf_deinit(&hash);
		return SASL_TEMPFAIL;
	}
	p = xcalloc(1, sizeof(*p));
	p->ac = ac;
	p->reqid = reqid;
	p->known = known;
	p->service = xstrdup(service);
	p->client = xstrdup(client);
	p->canon = xstrdup(canon);
	p->next = ac->passes;
	ac->passes = p;
	p->job = auth_workers_verify(st.workers, password, buf_cstr(&hash), pass_checked, p);
	explicit_bzero(hash.data, hash.cap);
	buf_deinit(&hash);
	return SASL_PENDING;
}

/* on_pass - AUTH_PASS: one password check. */
static int on_pass(struct auth_conn *ac, struct ipc_msg *msg)
{
	const char *service = NULL, *user = NULL, *client = NULL;
	const void *pw = NULL;
	size_t pwlen = 0;
	struct buf canon = BUF_INIT, password = BUF_INIT;
	struct err err;
	enum sasl_result r;
	long left;

	if (ipc_get(msg, IPC_STRICT, IPC_STR("service", &service), IPC_STR("user", &user),
		    IPC_DATA("password", &pw, &pwlen), IPC_STR("client", &client), IPC_END) != 4 ||
	    !name_ok(service) || !name_ok(client)) {
		wipe_attr(msg, "password");
		return ipc_reject(ac->conn, "malformed AUTH_PASS");
	}
	buf_set(&password, pw, pwlen);
	wipe_attr(msg, "password");
	err_clear(&err);
	if (auth_guard_blocked(st.guard, client, NULL, time(NULL), &left)) {
		blocked_reply(ac, msg->reqid, NULL, service, user, client, left);
		goto out;
	}
	if (auth_users_canon(st.users, user, &canon) < 0 || pwlen == 0 || pwlen > AUTH_SECRET_MAX ||
	    memchr(password.data, '\0', pwlen) != NULL) {
		r = SASL_FAIL;
	} else if (auth_guard_blocked(st.guard, NULL, buf_cstr(&canon), time(NULL), &left)) {
		blocked_reply(ac, msg->reqid, NULL, service, buf_cstr(&canon), client, left);
		goto out;
	} else {
		r = pass_start(ac, msg->reqid, service, client, buf_cstr(&canon), password.data,
			       &err);
	}
	if (r != SASL_PENDING)
		pass_answer(ac, msg->reqid, service, client, buf_cstr(&canon), user, r, &err);
out:
	if (password.data != NULL)
		explicit_bzero(password.data, password.cap);
	buf_deinit(&password);
	buf_deinit(&canon);
	return 0;
}

/* sess_canon - canonical authcid into s->canon (backend helper). */
static int sess_canon(struct auth_sess *s, const char *authcid, struct err *err)
{
	long left;

	if (auth_users_canon(st.users, authcid, &s->canon) < 0)
		return SASL_FAIL;
	if (auth_guard_blocked(st.guard, NULL, buf_cstr(&s->canon), time(NULL), &left)) {
		err_set(err, "user %s blocked for %lds more", buf_cstr(&s->canon), left);
		return SASL_TEMPFAIL;
	}
	return SASL_OK;
}

static void sasl_result(struct auth_sess *s, uint32_t reqid, enum sasl_result r,
			const struct buf *challenge, const struct err *err);

/* sess_checked - a worker compared the SASL password: resume the
 * exchange and answer its request. */
static void sess_checked(bool match, void *arg)
{
	struct auth_sess *s = arg;
	struct buf challenge = BUF_INIT;
	struct err err;
	enum sasl_result r;
	long left;

	s->job = NULL;
	err_clear(&err);
	if (auth_guard_blocked(st.guard, s->client, buf_cstr(&s->canon), time(NULL), &left)) {
		err_set(&err, "client %s or user %s blocked for %lds more", s->client,
			buf_cstr(&s->canon), left);
		r = SASL_TEMPFAIL;
	} else {
		r = match && s->known ? SASL_OK : SASL_FAIL;
	}
	r = sasl_server_resume(s->sasl, r, &challenge, &err);
	sasl_result(s, s->reqid, r, &challenge, &err);
	buf_deinit(&challenge);
}

/* be_check - sasl backend: the password check goes to a worker. */
static enum sasl_result be_check(void *ctx, const char *authcid, const char *password,
				 struct buf *user_r, struct err *err)
{
	struct auth_sess *s = ctx;
	struct buf hash = BUF_INIT;
	int r = sess_canon(s, authcid, err);

	if (r != SASL_OK)
		return (enum sasl_result)r;
	buf_sets(user_r, buf_cstr(&s->canon));
	r = auth_users_hash(st.users, buf_cstr(&s->canon), &hash, &s->known, err);
	if (r == SASL_OK)
		s->job =
			auth_workers_verify(st.workers, password, buf_cstr(&hash), sess_checked, s);
	if (hash.data != NULL)
		explicit_bzero(hash.data, hash.cap);
	buf_deinit(&hash);
	return r == SASL_OK ? SASL_PENDING : (enum sasl_result)r;
}

/* be_scram - sasl backend: the SCRAM secret. */
static enum sasl_result be_scram(void *ctx, const char *authcid, struct sasl_scram_secret *secret_r,
				 struct buf *user_r, struct err *err)
{
	struct auth_sess *s = ctx;
	int r = sess_canon(s, authcid, err);

	if (r != SASL_OK)
		return (enum sasl_result)r;
	buf_sets(user_r, buf_cstr(&s->canon));
	return auth_users_scram(st.users, buf_cstr(&s->canon), secret_r, err);
}

/* sess_find - the session with this id, or NULL. */
static struct auth_sess *sess_find(struct auth_conn *ac, uint32_t id)
{
	for (struct auth_sess *s = ac->sessions; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* sess_free - unlink and free one session. */
static void sess_free(struct auth_sess *s)
{
	struct auth_sess **pp = &s->ac->sessions;

	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	s->ac->nsessions--;
	if (s->job != NULL)
		auth_workers_cancel(st.workers, s->job);
	sasl_server_free(&s->sasl);
	free(s->service);
	free(s->client);
	buf_deinit(&s->canon);
	free(s);
}

/* sasl_result - answer one SASL step and end the session when it is over. */
static void sasl_result(struct auth_sess *s, uint32_t reqid, enum sasl_result r,
			const struct buf *challenge, const struct err *err)
{
	struct auth_conn *ac = s->ac;
	const char *who = s->canon.len > 0			 ? buf_cstr(&s->canon)
			  : sasl_server_authcid(s->sasl) != NULL ? sasl_server_authcid(s->sasl)
								 : "";
	uint32_t id = s->id;

	if (r == SASL_PENDING)
		return; /* sess_checked answers */
	if (r == SASL_CONTINUE) {
		struct ipc_msg msg;
		ipc_msg_init(&msg, AUTH_CHALLENGE, reqid);
		ipc_put_u32(&msg, "session", id);
		ipc_put_str(&msg, "challenge", buf_cstr(challenge));
		send_msg(ac, &msg);
		s->last = time(NULL);
		return;
	}
	if (r == SASL_OK) {
		auth_guard_success(st.guard, sasl_server_user(s->sasl));
		log_info("%s login: user=<%s>, client=%s, method=%s", s->service,
			 sasl_server_user(s->sasl), s->client, sasl_server_mech(s->sasl));
		reply_ok(ac, reqid, &id, sasl_server_user(s->sasl), s->service);
	} else if (r == SASL_TEMPFAIL) {
		log_warn("%s authentication: user=<%s>, client=%s, method=%s: %s", s->service, who,
			 s->client, sasl_server_mech(s->sasl), err->msg);
		reply_fail(ac, reqid, &id, true,
			   strstr(err->msg, "blocked") != NULL
				   ? "too many authentication failures; try again later"
				   : "user database unavailable",
			   0);
	} else if (err->code == SASL_E_CANCELLED) {
		log_info("%s authentication cancelled: user=<%s>, client=%s, method=%s", s->service,
			 who, s->client, sasl_server_mech(s->sasl));
		reply_fail(ac, reqid, &id, false, "cancelled", 0);
	} else {
		unsigned long delay =
			auth_guard_fail(st.guard, s->client,
					s->canon.len > 0 ? buf_cstr(&s->canon) : NULL, time(NULL));
		log_info("%s authentication failed: user=<%s>, client=%s, method=%s: %s",
			 s->service, who, s->client, sasl_server_mech(s->sasl), err->msg);
		reply_fail(ac, reqid, &id, false, err->msg, delay);
	}
	sess_free(s);
}

/* on_sasl_start - AUTH_SASL_START: a new exchange. */
static int on_sasl_start(struct auth_conn *ac, struct ipc_msg *msg)
{
	const char *service = NULL, *mech = NULL, *client = NULL, *resp = NULL;
	uint32_t id = 0;
	struct auth_sess *s;
	struct buf challenge = BUF_INIT;
	struct err err;
	enum sasl_result r;
	long left;
	int n = ipc_get(msg, IPC_STRICT, IPC_U32("session", &id), IPC_STR("service", &service),
			IPC_STR("mech", &mech), IPC_STR("client", &client),
			IPC_STR("response", &resp), IPC_END);

	if (n < 4 || service == NULL || client == NULL || mech == NULL || !name_ok(service) ||
	    !name_ok(client) || (resp != NULL && strlen(resp) > AUTH_RESPONSE_MAX)) {
		wipe_attr(msg, "response");
		return ipc_reject(ac->conn, "malformed AUTH_SASL_START");
	}
	if ((s = sess_find(ac, id)) != NULL)
		sess_free(s);
	if (auth_guard_blocked(st.guard, client, NULL, time(NULL), &left)) {
		wipe_attr(msg, "response");
		blocked_reply(ac, msg->reqid, &id, service, NULL, client, left);
		return 0;
	}
	if (!sasl_mech_known(mech) || ac->nsessions >= AUTH_SESSIONS_MAX) {
		wipe_attr(msg, "response");
		reply_fail(ac, msg->reqid, &id, ac->nsessions >= AUTH_SESSIONS_MAX,
			   ac->nsessions >= AUTH_SESSIONS_MAX ? "too many SASL sessions"
							      : "unsupported mechanism",
			   0);
		return 0;
	}
	s = xcalloc(1, sizeof(*s));
	s->ac = ac;
	s->id = id;
	s->service = xstrdup(service);
	s->client = xstrdup(client);
	s->be.check_password = be_check;
	s->be.scram_secret = be_scram;
	s->be.ctx = s;
	buf_init(&s->canon, 0);
	s->sasl = sasl_server_new(mech, &s->be, &err);
	s->last = time(NULL);
	s->next = ac->sessions;
	ac->sessions = s;
	ac->nsessions++;
	s->reqid = msg->reqid;
	r = sasl_server_start(s->sasl, resp, &challenge, &err);
	wipe_attr(msg, "response");
	sasl_result(s, msg->reqid, r, &challenge, &err);
	buf_deinit(&challenge);
	return 0;
}

/* on_sasl_continue - AUTH_SASL_CONTINUE: the next client line. */
static int on_sasl_continue(struct auth_conn *ac, struct ipc_msg *msg)
{
	const char *resp = NULL;
	uint32_t id = 0;
	struct auth_sess *s;
	struct buf challenge = BUF_INIT;
	struct err err;
	enum sasl_result r;

	if (ipc_get(msg, IPC_STRICT, IPC_U32("session", &id), IPC_STR("response", &resp),
		    IPC_END) != 2 ||
	    strlen(resp) > AUTH_RESPONSE_MAX) {
		wipe_attr(msg, "response");
		return ipc_reject(ac->conn, "malformed AUTH_SASL_CONTINUE");
	}
	if ((s = sess_find(ac, id)) == NULL) {
		wipe_attr(msg, "response");
		reply_fail(ac, msg->reqid, &id, true, "unknown or expired SASL session", 0);
		return 0;
	}
	s->reqid = msg->reqid;
	r = sasl_server_step(s->sasl, resp, &challenge, &err);
	wipe_attr(msg, "response");
	sasl_result(s, msg->reqid, r, &challenge, &err);
	buf_deinit(&challenge);
	return 0;
}

/* on_user - AUTH_USER: does the user exist. */
static int on_user(struct auth_conn *ac, struct ipc_msg *msg)
{
	const char *user = NULL;
	struct buf canon = BUF_INIT;
	struct ipc_msg reply;
	struct err err;
	int found = TBL_NOTFOUND;

	if (ipc_get(msg, IPC_STRICT, IPC_STR("user", &user), IPC_END) != 1)
		return ipc_reject(ac->conn, "malformed AUTH_USER");
	if (auth_users_canon(st.users, user, &canon) == 0)
		found = auth_users_exists(st.users, buf_cstr(&canon), &err);
	if (found == TBL_TEMPFAIL) {
		log_warn("user lookup of %s: %s", buf_cstr(&canon), err.msg);
		reply_fail(ac, msg->reqid, NULL, true, "user database unavailable", 0);
	} else {
		ipc_msg_init(&reply, AUTH_USER_FOUND, msg->reqid);
		ipc_put_u32(&reply, "found", found == TBL_FOUND ? 1 : 0);
		ipc_put_str(&reply, "user", buf_cstr(&canon));
		send_msg(ac, &reply);
	}
	buf_deinit(&canon);
	return 0;
}

/* on_token - AUTH_TOKEN: redeem a login token (once). */
static int on_token(struct auth_conn *ac, struct ipc_msg *msg)
{
	const char *service = NULL, *user = NULL, *token = NULL;
	bool ok;

	if (ipc_get(msg, IPC_STRICT, IPC_STR("service", &service), IPC_STR("user", &user),
		    IPC_STR("token", &token), IPC_END) != 3 ||
	    !name_ok(service)) {
		wipe_attr(msg, "token");
		return ipc_reject(ac->conn, "malformed AUTH_TOKEN");
	}
	ok = auth_tokens_redeem(st.tokens, user, service, token, time(NULL));
	wipe_attr(msg, "token");
	if (ok) {
		log_debug("%s login token redeemed: user=<%s>", service, user);
		reply_ok(ac, msg->reqid, NULL, user, NULL);
	} else {
		log_warn("%s login token refused: user=<%s> (unknown, used, expired or not "
			 "this user's)",
			 service, user);
		reply_fail(ac, msg->reqid, NULL, false, "login token refused", 0);
	}
	return 0;
}

/* on_msg - one request. */
static void on_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	struct auth_conn *ac = arg;
	uint32_t id = 0;
	struct auth_sess *s;

	switch (msg->type) {
	case AUTH_PASS:
		(void)on_pass(ac, msg);
		break;
	case AUTH_SASL_START:
		(void)on_sasl_start(ac, msg);
		break;
	case AUTH_SASL_CONTINUE:
		(void)on_sasl_continue(ac, msg);
		break;
	case AUTH_SASL_END:
		if (ipc_get(msg, IPC_STRICT, IPC_U32("session", &id), IPC_END) != 1) {
			(void)ipc_reject(conn, "malformed AUTH_SASL_END");
			break;
		}
		if ((s = sess_find(ac, id)) != NULL)
			sess_free(s);
		break;
	case AUTH_USER:
		(void)on_user(ac, msg);
		break;
	case AUTH_TOKEN:
		(void)on_token(ac, msg);
		break;
	default:
		(void)ipc_reject(conn, "unexpected message type %u", msg->type);
		break;
	}
}

/* conn_release - free a connection's state (the ipc_conn is the caller's). */
static void conn_release(struct auth_conn *ac)
{
	struct auth_conn **pp = &st.conns;

	while (ac->sessions != NULL)
		sess_free(ac->sessions);
	while (ac->passes != NULL) {
		auth_workers_cancel(st.workers, ac->passes->job);
		pass_free(ac->passes);
	}
	while (ac->delayed != NULL) {
		struct auth_delayed *d = ac->delayed;
		ac->delayed = d->next;
		loop_timer_free(&d->timer);
		ipc_msg_deinit(&d->msg);
		free(d);
	}
	while (*pp != ac)
		pp = &(*pp)->next;
	*pp = ac->next;
	free(ac);
	server_session_end();
}

/* on_close - a daemon went away: its sessions and held replies go too. */
static void on_close(struct ipc_conn *conn, const char *why, void *arg)
{
	conn_release(arg);
}

/* auth_accept - a daemon connects. */
static void auth_accept(struct server_ctx *ctx, int fd, const struct sockaddr *peer,
			socklen_t peerlen, int listener_index)
{
	struct auth_conn *ac = xcalloc(1, sizeof(*ac));

	server_session_begin();
	ac->next = st.conns;
	st.conns = ac;
	ac->conn = ipc_conn_new(ctx->base, fd, &proto_auth, "auth client", on_msg, on_close, ac);
}

/* on_tick - forget idle SASL sessions and stale failure records. */
static void on_tick(struct loop_timer *timer, void *arg)
{
	time_t now = time(NULL);

	for (struct auth_conn *ac = st.conns; ac != NULL; ac = ac->next)
		for (struct auth_sess *s = ac->sessions, *next; s != NULL; s = next) {
			next = s->next;
			if (now - s->last > st.timeout)
				sess_free(s);
		}
	auth_guard_prune(st.guard, now);
	auth_tokens_prune(st.tokens, now);
	loop_timer_add(st.tick, 10000);
}

/* auth_stop - graceful stop: the clients reconnect to the next process. */
static void auth_stop(struct server_ctx *ctx)
{
	while (st.conns != NULL) {
		struct auth_conn *ac = st.conns;
		struct ipc_conn *conn = ac->conn;
		ipc_conn_free(&conn);
		conn_release(ac);
	}
	auth_workers_free(&st.workers);
}

/* auth_init - open the users table, set up the guard. */
static int auth_init(struct server_ctx *ctx)
{
	struct auth_guard_cfg g;
	struct err err;
	long workers;

	st.ctx = ctx;
	st.users = auth_users_open(ctx->cfg, &err);
	if (st.users == NULL) {
		log_error("cannot open virtual_user_maps: %s", err.msg);
		return -1;
	}
	g.window = cfg_get_time(ctx->cfg, "auth_failure_window");
	g.block_time = cfg_get_time(ctx->cfg, "auth_block_time");
	g.client_limit = (unsigned int)cfg_get_int(ctx->cfg, "auth_client_failure_limit");
	g.user_limit = (unsigned int)cfg_get_int(ctx->cfg, "auth_user_failure_limit");
	g.delay_ms = (unsigned long)cfg_get_time(ctx->cfg, "auth_failure_delay") * 1000ul;
	g.delay_max_ms = (unsigned long)cfg_get_time(ctx->cfg, "auth_failure_delay_max") * 1000ul;
	st.guard = auth_guard_new(&g);
	st.timeout = cfg_get_time(ctx->cfg, "auth_timeout");
	workers = cfg_get_int(ctx->cfg, "auth_worker_count");
	if (workers < 1 || workers > 64) {
		log_error("auth_worker_count = %ld: must be between 1 and 64", workers);
		return -1;
	}
	st.workers = auth_workers_new(ctx->base, (unsigned int)workers);
	st.tokens = auth_tokens_new(AUTH_TOKENS_MAX, cfg_get_time(ctx->cfg, "auth_token_lifetime"));
	st.tick = loop_timer_new(ctx->base, on_tick, NULL);
	loop_timer_add(st.tick, 10000);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct server_hooks hooks = {
		.name = "auth",
		.init = auth_init,
		.accept = auth_accept,
		.stop = auth_stop,
	};

	return server_main(argc, argv, &hooks);
}
