/*
 * smtp_sess.h - the inside of one SMTP client session, shared by the
 * files that run it: smtp_session.c (connect, greeting, EHLO, the
 * transaction, reuse), smtp_tls.c (STARTTLS and the verdict) and
 * smtp_auth.c (SMTP AUTH to a relayhost).  Not for the rest of the agent,
 * which sees sessions through smtp.h only.
 * See: docs/smtp.md.
 */
#ifndef TERN_SMTP_SESS_H
#define TERN_SMTP_SESS_H

#include "sys.h"

#include "smtp/smtp.h"

enum sess_state {
	S_CONNECTING,
	S_GREETING,
	S_EHLO,
	S_HELO,
	S_STARTTLS,
	S_TLS,
	S_AUTH,
	S_TRANS,
	S_DOT,
	S_RSET,
	S_IDLE,
	S_QUIT,
};

enum expect_kind { X_MAIL, X_RCPT, X_DATA };

struct expect {
	enum expect_kind kind;
	size_t idx;
};

struct smtp_sess {
	struct smtp_agent *a;
	struct smtp_req *req; /* NULL while idle or closing */
	struct loop_conn *conn;
	struct smtp_connect *connecting;
	enum sess_state state;
	struct smtp_reply reply;
	struct smtp_ehlo ehlo;
	char *host, *addr, *relay, *key;
	struct smtp_tls_policy pol;
	bool tls;
	bool authed;		/* AUTH succeeded in this session */
	struct smtp_auth *auth; /* the AUTH exchange under way */
	unsigned int deliveries;
	struct loop_timer *idle;
	struct smtp_body *body;	 /* the content being streamed after 354 */
	struct loop_timer *pump; /* polls the output until it drains */
	struct smtp_sess *next;	 /* the agent's cache list */
	/* the transaction */
	struct expect *exp;
	size_t nexp, exp_head;
	size_t next_rcpt;
	bool pipelining, mail_ok, dot_ignore, reused;
	size_t naccepted;
};

/* smtp_sess_fail - the session cannot go on; it is freed.  try_next:
 * recipients without a result may go to the next address; otherwise they
 * all get result with the text. */
void smtp_sess_fail(struct smtp_sess *s, int result, const char *dsn, bool try_next,
		    const char *diag, const char *fmt, ...) ATTR_PRINTF(6, 7);
/* smtp_sess_reply_fail - the current reply ends the session: 4xx defer,
 * 5xx bounce, "host X said: ... (in reply to WHAT)". */
void smtp_sess_reply_fail(struct smtp_sess *s, bool try_next, const char *what);
/* smtp_sess_send - one command line (CRLF added). */
void smtp_sess_send(struct smtp_sess *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* smtp_sess_ehlo - send EHLO (again, after STARTTLS). */
void smtp_sess_ehlo(struct smtp_sess *s);
/* smtp_sess_begin - MAIL, RCPT..., DATA for the session's request. */
void smtp_sess_begin(struct smtp_sess *s);

/* ---- smtp_tls.c ---- */

/* smtp_tls_start - the 220 to STARTTLS came: set up the handshake. */
void smtp_tls_start(struct smtp_sess *s);
/* smtp_tls_done - on_tls of the connection: log, judge, EHLO again. */
void smtp_tls_done(struct loop_conn *conn, void *arg);

/* ---- smtp_auth.c ---- */

/* smtp_auth_start - after EHLO: AUTH when smtp_sasl_auth_enable, the
 * server offers AUTH and a password is known for it.  true when it took
 * the session over (AUTH sent, or the session failed); false: go on to
 * MAIL. */
bool smtp_auth_start(struct smtp_sess *s);
/* smtp_auth_reply - a reply in state S_AUTH: the next step, MAIL after
 * 235, or the session fails. */
void smtp_auth_reply(struct smtp_sess *s);
/* smtp_auth_free - wipe and free the exchange's credentials (NULL-safe). */
void smtp_auth_free(struct smtp_sess *s);

#endif
