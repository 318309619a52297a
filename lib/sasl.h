/*
 * sasl.h - server-side SASL mechanisms as pure state machines: PLAIN
 * (RFC 4616), LOGIN (draft-murchison-sasl-login) and SCRAM-SHA-256
 * (RFC 5802, RFC 7677; no channel binding: the gs2 header must be "n,,"
 * or "y,,").  The machine is fed the client's base64 text exactly as the
 * protocol carried it and answers with base64 challenges; it never does
 * I/O itself.  Credentials are checked through a backend (the auth daemon's
 * users table, or a test's), so the machine works anywhere.
 *
 * Exchanges:
 *   PLAIN   [ir: authzid NUL authcid NUL passwd] or challenge "" then it.
 *           authzid must be empty or equal to authcid.
 *   LOGIN   challenge "Username:", then "Password:" (an initial response
 *           is the user name).
 *   SCRAM   client-first -> server-first (r=,s=,i=) -> client-final ->
 *           server-final (v=...) as a challenge -> an empty response -> OK.
 *           An unknown user or one without a SCRAM secret gets a made-up,
 *           stable salt and fails at the proof like a wrong password.
 * Secrets (passwords, salted passwords, keys, proofs) are wiped with
 * explicit_bzero; proofs are compared with CRYPTO_memcmp.
 * See: docs/auth.md, lib/auth_client.h.
 */
#ifndef TERN_SASL_H
#define TERN_SASL_H

#include "sys.h"

struct buf;
struct err;

/* What one step produced. */
enum sasl_result {
	SASL_CONTINUE, /* send the challenge, wait for the next response */
	SASL_OK,       /* authenticated: sasl_server_user says who */
	SASL_FAIL,     /* failed; err->code is one of SASL_E_* */
	SASL_TEMPFAIL, /* the backend cannot answer now (table down, blocked) */
	SASL_PENDING,  /* check_password goes on elsewhere (a worker thread):
			* call sasl_server_resume with its answer */
};

/* err->code of a SASL_FAIL. */
#define SASL_E_CREDENTIALS 1 /* wrong password or unknown user */
#define SASL_E_MALFORMED 2   /* input broke the mechanism's syntax */
#define SASL_E_CANCELLED 3   /* the client sent "*" */

/* SCRAM-SHA-256 parameters. */
#define SASL_SCRAM_KEY_LEN 32	     /* SHA-256 output */
#define SASL_SCRAM_SALT_MAX 64	     /* longest salt accepted, bytes */
#define SASL_SCRAM_ITER_DEFAULT 4096 /* RFC 7677's minimum */
#define SASL_SCRAM_ITER_MAX 10000000 /* bound on a stored iteration count */

/* A user's stored SCRAM-SHA-256 secret (never the password). */
struct sasl_scram_secret {
	uint32_t iter;
	size_t salt_len;
	unsigned char salt[SASL_SCRAM_SALT_MAX];
	unsigned char stored_key[SASL_SCRAM_KEY_LEN];
	unsigned char server_key[SASL_SCRAM_KEY_LEN];
};

/* Where credentials come from.  user_r receives the canonical user name
 * on SASL_OK (check_password) or with the secret (scram_secret).  Both
 * answer SASL_OK, SASL_FAIL (bad password, unknown user, no SCRAM secret)
 * or SASL_TEMPFAIL with a reason in err.  check_password may also answer
 * SASL_PENDING: it started a check that finishes later (password hashing
 * in a worker thread); it must copy the password, which is wiped when it
 * returns, and may set user_r now (it is kept).  The machine then waits
 * for sasl_server_resume. */
struct sasl_backend {
	enum sasl_result (*check_password)(void *ctx, const char *authcid, const char *password,
					   struct buf *user_r, struct err *err);
	enum sasl_result (*scram_secret)(void *ctx, const char *authcid,
					 struct sasl_scram_secret *secret_r, struct buf *user_r,
					 struct err *err);
	void *ctx;
};

struct sasl_server;

/* sasl_mech_known - true if mech (any case) is a mechanism offered here. */
bool sasl_mech_known(const char *mech);

/* sasl_server_new - a machine for mech (any case); NULL with err for an
 * unknown mechanism.  be must outlive the machine. */
struct sasl_server *sasl_server_new(const char *mech, const struct sasl_backend *be,
				    struct err *err);
/* sasl_server_free - wipe and free; accepts NULL, sets *sp NULL. */
void sasl_server_free(struct sasl_server **sp);

/* sasl_server_start - the first step: initial is the initial response in
 * base64 as sent ("=" means empty), or NULL when there was none.  On
 * SASL_CONTINUE the base64 challenge replaces challenge_r's contents. */
enum sasl_result sasl_server_start(struct sasl_server *s, const char *initial,
				   struct buf *challenge_r, struct err *err);
/* sasl_server_step - the client's next base64 line ("*" cancels).  Steps
 * after SASL_OK or SASL_FAIL fail with SASL_E_MALFORMED. */
enum sasl_result sasl_server_step(struct sasl_server *s, const char *response,
				  struct buf *challenge_r, struct err *err);
/* sasl_server_resume - the answer of a check_password that said
 * SASL_PENDING: r is SASL_OK, SASL_FAIL or SASL_TEMPFAIL with err holding
 * the backend's reason (may be empty).  Returns what the step that went
 * pending would have returned: SASL_OK, or SASL_FAIL / SASL_TEMPFAIL with
 * err.  Without a pending check (or after a step meanwhile, which fails
 * the exchange) it is SASL_FAIL with SASL_E_MALFORMED. */
enum sasl_result sasl_server_resume(struct sasl_server *s, enum sasl_result r,
				    struct buf *challenge_r, struct err *err);
/* sasl_server_pending - a check_password answer is awaited. */
bool sasl_server_pending(const struct sasl_server *s);

/* sasl_server_authcid - the user name the client gave, once known (for
 * logs; NULL before). */
const char *sasl_server_authcid(const struct sasl_server *s);
/* sasl_server_user - the canonical user after SASL_OK, else NULL. */
const char *sasl_server_user(const struct sasl_server *s);
/* sasl_server_mech - the mechanism's name in upper case. */
const char *sasl_server_mech(const struct sasl_server *s);

/* sasl_server_set_nonce - tests only: use this server nonce part instead
 * of a random one (RFC 7677's test vector). */
void sasl_server_set_nonce(struct sasl_server *s, const char *nonce);

/* sasl_scram_secret_make - derive a secret from password, salt and iter
 * (PBKDF2-HMAC-SHA-256); -1 with err for bad sizes. */
int sasl_scram_secret_make(const char *password, size_t password_len, const unsigned char *salt,
			   size_t salt_len, uint32_t iter, struct sasl_scram_secret *secret_r,
			   struct err *err) ATTR_WARN_UNUSED;
/* sasl_scram_secret_new - the same with a fresh random 16-byte salt. */
int sasl_scram_secret_new(const char *password, size_t password_len, uint32_t iter,
			  struct sasl_scram_secret *secret_r, struct err *err) ATTR_WARN_UNUSED;
/* sasl_scram_secret_format - append "ITER:SALT:STOREDKEY:SERVERKEY"
 * (base64 fields) to out: the value of the users table attribute
 * scram-sha-256=. */
void sasl_scram_secret_format(const struct sasl_scram_secret *secret, struct buf *out);
/* sasl_scram_secret_parse - the reverse; -1 with err when malformed. */
int sasl_scram_secret_parse(const char *text, struct sasl_scram_secret *secret_r,
			    struct err *err) ATTR_WARN_UNUSED;
/* sasl_scram_secret_find - look for scram-sha-256=VALUE among the
 * space-separated key=value attributes of a users table value (the text
 * passwd_entry_split returns): 1 and the parsed secret, 0 when absent,
 * -1 with err when present but malformed. */
int sasl_scram_secret_find(const char *attrs, struct sasl_scram_secret *secret_r,
			   struct err *err) ATTR_WARN_UNUSED;

/* sasl_base64_encode - append base64 of n bytes to out. */
void sasl_base64_encode(const void *p, size_t n, struct buf *out);
/* sasl_base64_decode - strict base64 (no whitespace, right padding) of the
 * n bytes at s into out (replacing it); -1 when malformed. */
int sasl_base64_decode(const char *s, size_t n, struct buf *out) ATTR_WARN_UNUSED;

#endif
