/*
 * auth.h - private interfaces of the auth daemon: the brute-force guard
 * (auth_guard.c, pure: time is an argument) and the users table
 * (auth_users.c, the only code in tern that reads password hashes).
 * See: auth.c, docs/auth.md.
 */
#ifndef TERN_AUTH_H
#define TERN_AUTH_H

#include "sys.h"

#include <time.h>

#include "sasl.h"

struct buf;
struct cfg;
struct err;

/*
 * Brute-force guard.  Failures are counted per client address and per
 * user within a window; at the limit the client or user is blocked for
 * block_time (attempts then get a temporary failure without a password
 * check).  Every failure delays its reply: delay_ms doubled for each
 * earlier failure in the window, at most delay_max_ms.
 */
struct auth_guard_cfg {
	long window;		   /* seconds: failures older than this are forgotten */
	long block_time;	   /* seconds a block lasts */
	unsigned int client_limit; /* failures per client address (0: no block) */
	unsigned int user_limit;   /* failures per user (0: no block) */
	unsigned long delay_ms;	   /* first failure's reply delay */
	unsigned long delay_max_ms;
};

struct auth_guard;

/* auth_guard_new / auth_guard_free - an empty guard; free accepts NULL. */
struct auth_guard *auth_guard_new(const struct auth_guard_cfg *cfg);
void auth_guard_free(struct auth_guard **gp);
/* auth_guard_blocked - true when client (or user, if not NULL) is blocked
 * at now; *left_r gets the seconds left of the longer block. */
bool auth_guard_blocked(struct auth_guard *g, const char *client, const char *user, time_t now,
			long *left_r);
/* auth_guard_fail - count one failure of client (and user if not NULL);
 * logs "warning: auth: client ADDR blocked for Ns after N failures" (or
 * user) when a block starts.  Returns the reply delay in milliseconds. */
unsigned long auth_guard_fail(struct auth_guard *g, const char *client, const char *user,
			      time_t now);
/* auth_guard_success - forget the user's failures (the client's stay:
 * one good account must not hide guessing at others). */
void auth_guard_success(struct auth_guard *g, const char *user);
/* auth_guard_prune - drop records with nothing left to remember. */
void auth_guard_prune(struct auth_guard *g, time_t now);
/* auth_guard_count - records held (tests, logs). */
size_t auth_guard_count(const struct auth_guard *g);

/*
 * Users table.  Canonical user names are lower case local@domain; a name
 * without '@' gets @$mydomain.
 */
struct auth_users;

/* auth_users_open - open virtual_user_maps read-only (a missing file is
 * not an error: lookups answer TEMPFAIL until it appears). */
struct auth_users *auth_users_open(struct cfg *cfg, struct err *err) ATTR_WARN_UNUSED;
void auth_users_close(struct auth_users **up);
/* auth_users_canon - the canonical form of user into out; -1 when the name
 * cannot be a user (empty, over 320 bytes, spaces, control bytes). */
int auth_users_canon(const struct auth_users *u, const char *user,
		     struct buf *out) ATTR_WARN_UNUSED;
/* auth_users_exists - TBL_FOUND, TBL_NOTFOUND or TBL_TEMPFAIL (err). */
int auth_users_exists(struct auth_users *u, const char *canon, struct err *err);
/* auth_users_check - SASL_OK when password matches canon's hash,
 * SASL_FAIL when not or unknown (a dummy hash is checked then, so the
 * time taken does not tell), SASL_TEMPFAIL with err. */
enum sasl_result auth_users_check(struct auth_users *u, const char *canon, const char *password,
				  struct err *err);
/* auth_users_hash - the hash to check canon's password against, for a
 * worker thread (auth_worker.c): SASL_OK with the user's crypt hash and
 * *known_r true, or with a dummy hash and *known_r false for an unknown
 * user or an unusable entry (check it all the same: the time taken must
 * not tell, then fail); SASL_TEMPFAIL with err.  Wipe hash_r after use. */
enum sasl_result auth_users_hash(struct auth_users *u, const char *canon, struct buf *hash_r,
				 bool *known_r, struct err *err);
/* auth_users_scram - canon's SCRAM-SHA-256 secret: SASL_OK, SASL_FAIL
 * (unknown user, no or a malformed secret: logged), SASL_TEMPFAIL. */
enum sasl_result auth_users_scram(struct auth_users *u, const char *canon,
				  struct sasl_scram_secret *secret_r, struct err *err);

/*
 * One-time login tokens (auth_token.c, pure: time is an argument).  A
 * successful login gets a random 128-bit token bound to the canonical
 * user and the service that asked; it can be redeemed once, by the same
 * user and service, within the lifetime.
 */
#define AUTH_TOKEN_BYTES 16
#define AUTH_TOKEN_HEX (2 * AUTH_TOKEN_BYTES)

struct auth_tokens;

/* auth_tokens_new - an empty table of at most max tokens (the oldest goes
 * when a new one would exceed it), each valid for lifetime seconds. */
struct auth_tokens *auth_tokens_new(size_t max, long lifetime);
/* auth_tokens_free - wipe and free; accepts NULL, sets *tp NULL. */
void auth_tokens_free(struct auth_tokens **tp);
/* auth_tokens_issue - a new token for user and service at now, as lower
 * case hex (AUTH_TOKEN_HEX characters and a NUL) in token_r; -1 with err
 * when no random bytes can be had. */
int auth_tokens_issue(struct auth_tokens *t, const char *user, const char *service, time_t now,
		      char token_r[AUTH_TOKEN_HEX + 1], struct err *err) ATTR_WARN_UNUSED;
/* auth_tokens_redeem - true when token (hex, any case) was issued to user
 * and service and has neither expired nor been redeemed; the token is
 * used up then.  Compared in constant time; false for malformed text. */
bool auth_tokens_redeem(struct auth_tokens *t, const char *user, const char *service,
			const char *token, time_t now);
/* auth_tokens_prune - drop expired tokens. */
void auth_tokens_prune(struct auth_tokens *t, time_t now);
/* auth_tokens_count - tokens held (tests). */
size_t auth_tokens_count(const struct auth_tokens *t);

/*
 * Password-check threads (auth_worker.c).  Jobs are submitted and their
 * callbacks run in the loop thread; only passwd_verify runs in a worker.
 */
struct event_base;
struct auth_workers;
struct auth_job;

/* auth_verify_cb - the answer, in the loop thread: match is true when the
 * password fits the hash. */
typedef void auth_verify_cb(bool match, void *arg);

/* auth_workers_new - nthreads (at least 1) lib/workq threads answering
 * through base's loop; fatal when a thread cannot be started. */
struct auth_workers *auth_workers_new(struct event_base *base, unsigned int nthreads);
/* auth_workers_free - stop and join the threads; jobs not delivered yet
 * are dropped without their callbacks.  Accepts NULL, sets *wp NULL. */
void auth_workers_free(struct auth_workers **wp);
/* auth_workers_verify - check password against hash (both copied, the
 * copies wiped after use); cb(match, arg) runs later from the loop,
 * never inside this call.  The job handle is valid until cb runs or the
 * job is cancelled. */
struct auth_job *auth_workers_verify(struct auth_workers *w, const char *password, const char *hash,
				     auth_verify_cb *cb, void *arg);
/* auth_workers_cancel - the asker went away: cb will not run (a job no
 * worker has started skips the hash). */
void auth_workers_cancel(struct auth_workers *w, struct auth_job *job);
/* auth_workers_queued - jobs submitted whose callback has not run yet. */
size_t auth_workers_queued(const struct auth_workers *w);

#endif
