/*
 * auth_client.h - how smtpd, pop3d and imapd ask the auth service
 * (private/auth, protocol "auth" in lib/proto.h) to check a password, to run
 * a SASL exchange, or whether a user exists.  The daemons never see a
 * password hash: the auth service answers OK with the canonical user, or a
 * failure that is either permanent (bad credentials) or temporary (the
 * client or user is blocked after too many failures, the users table cannot
 * be read, the auth service is down).  Callers map a temporary failure to
 * 454 4.7.0 / -ERR [SYS/TEMP] / NO [UNAVAILABLE] and a permanent one to
 * 535 5.7.8 / -ERR [AUTH] / NO [AUTHENTICATIONFAILED].
 *
 * Two flavours:
 *   - async, for event-driven daemons: one struct auth_client per process
 *     holds one connection to private/auth, opened on the first request and
 *     reopened after it broke; every request gets exactly one callback
 *     (unless cancelled), from the event loop, never from inside the call
 *     that made the request;
 *   - blocking, for simple callers and tests: auth_client_check_password.
 * See: docs/auth.md, lib/proto.h "auth", lib/sasl.h.
 */
#ifndef TERN_AUTH_CLIENT_H
#define TERN_AUTH_CLIENT_H

#include "sys.h"

struct buf;
struct cfg;
struct err;
struct event_base;

/* The outcome of one request. */
enum auth_status {
	AUTH_STATUS_OK,	      /* authenticated (or: the user exists) */
	AUTH_STATUS_FAIL,     /* bad credentials, unknown mechanism, cancelled,
			       * malformed SASL data (or: no such user) */
	AUTH_STATUS_TEMPFAIL, /* try again later: blocked, table or service down */
	AUTH_STATUS_CONTINUE, /* SASL: send challenge, then continue */
};

/* What a callback gets; every pointer is valid during the call only. */
struct auth_reply {
	enum auth_status status;
	const char *user;      /* OK: the canonical user ("alice@example.com") */
	const char *challenge; /* CONTINUE: base64 text for 334 / + (may be "") */
	const char *reason;    /* FAIL/TEMPFAIL: why, for the log (never secret) */
	const char *token;     /* OK of a login: the one-time login token to
				* hand to the post-login process, or NULL */
};

/* auth_client_cb - the answer to one request; id is what the request call
 * returned.  The callback may make new requests or free the client. */
typedef void auth_client_cb(uint32_t id, const struct auth_reply *reply, void *arg);

struct auth_client;

/* auth_client_new - a client for this process; nothing is connected yet.
 * The socket is $queue_directory/private/auth (cfg is kept for the path
 * and must outlive the client). */
struct auth_client *auth_client_new(struct event_base *base, struct cfg *cfg);
/* auth_client_free - close the connection; pending callbacks are dropped
 * (never called).  Accepts NULL, sets *acp NULL. */
void auth_client_free(struct auth_client **acp);

/* auth_client_password - check user's password (the password is copied
 * into the request and the copy wiped once sent).  service is the caller's
 * name ("smtpd", "pop3d", "imapd"), client the client's IP address.
 * Returns the request id (never 0); the callback gets OK, FAIL or
 * TEMPFAIL.  A service that cannot be reached gives TEMPFAIL with
 * "auth service unavailable: ..." from the loop. */
uint32_t auth_client_password(struct auth_client *ac, const char *service, const char *user,
			      const char *password, size_t password_len, const char *client,
			      auth_client_cb *cb, void *arg);

/* auth_client_sasl_start - begin a SASL exchange with mechanism mech (as
 * the client named it; the service checks it).  initial is the initial
 * response exactly as the client sent it in base64 ("=" for empty), or
 * NULL when it sent none.  Returns the request id, which also names the
 * SASL session for auth_client_sasl_continue and auth_client_sasl_end.
 * The callback gets CONTINUE (with a challenge), OK, FAIL or TEMPFAIL. */
uint32_t auth_client_sasl_start(struct auth_client *ac, const char *service, const char *mech,
				const char *initial, const char *client, auth_client_cb *cb,
				void *arg);
/* auth_client_sasl_continue - the client's base64 response line to the
 * last challenge of session (the id sasl_start returned); "*" cancels
 * (FAIL with reason "cancelled").  Returns a new request id for the
 * callback; the session keeps its own id. */
uint32_t auth_client_sasl_continue(struct auth_client *ac, uint32_t session, const char *response,
				   auth_client_cb *cb, void *arg);
/* auth_client_sasl_end - forget session (the client disconnected or the
 * exchange was abandoned); any pending callback for it is cancelled. */
void auth_client_sasl_end(struct auth_client *ac, uint32_t session);

/* auth_client_user_exists - OK with the canonical user when user exists,
 * FAIL when not, TEMPFAIL when that cannot be told now. */
uint32_t auth_client_user_exists(struct auth_client *ac, const char *user, auth_client_cb *cb,
				 void *arg);

/* auth_client_token - redeem a login token (auth_reply.token of a
 * successful login) for user and service: OK when the auth service issued
 * it to that user and service, less than auth_token_lifetime ago, and it
 * was not redeemed before (it is used up now); FAIL otherwise; TEMPFAIL
 * when the service cannot be reached.  pop3d's mail process calls it
 * before it opens a mailbox. */
uint32_t auth_client_token(struct auth_client *ac, const char *service, const char *user,
			   const char *token, auth_client_cb *cb, void *arg);

/* auth_client_cancel - the caller's session went away: the callback of
 * request id will not run (a no-op for an unknown or finished id). */
void auth_client_cancel(struct auth_client *ac, uint32_t id);

/* auth_client_check_password - blocking: connect, check, disconnect.
 * Returns AUTH_STATUS_OK (canonical user in user_r), AUTH_STATUS_FAIL or
 * AUTH_STATUS_TEMPFAIL (reason in err either way).  timeout_msec bounds the
 * whole call, including the service's failure delay. */
enum auth_status auth_client_check_password(struct cfg *cfg, const char *service, const char *user,
					    const char *password, const char *client,
					    int timeout_msec, struct buf *user_r, struct err *err);

/* auth_client_socket_path - $queue_directory/private/auth into path_r. */
void auth_client_socket_path(struct cfg *cfg, struct buf *path_r);

#endif
