/*
 * smtp_session.c - one SMTP client session: connect, greeting, EHLO (HELO
 * fallback), STARTTLS per the TLS policy, then transactions: MAIL, RCPT,
 * DATA (pipelined when PIPELINING is offered), the content, and RSET or
 * caching or QUIT afterwards.  Per-recipient results go to the request
 * (smtp_req.c); session-level failures make the request try the next
 * address.
 * Touches:  one TCP connection (through lib/loop), the request it serves.
 * Input:    untrusted replies from a remote server: parsed by
 *           smtp_reply.c, every state bounded by its own timeout.
 * Security: runs as the mail owner; a slow or silent peer only ever
 *           blocks its own session; certificates are judged by
 *           lib/tls_client before any mail is sent under encrypt, verify
 *           or dane.
 * Errors:   4xx and connection failures defer, 5xx bounce, with the
 *           remote reply in the reason ("host X said: ... (in reply to
 *           RCPT TO command)"), as Postfix words them.
 * See:      RFC 5321, RFC 2920, RFC 3207, RFC 3461, docs/smtp.md.
 */
#include "sys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <strings.h>

#include "err.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "server.h"
#include "smtp/smtp.h"
#include "xmem.h"
#include "xtext.h"

enum sess_state {
	S_CONNECTING,
	S_GREETING,
	S_EHLO,
	S_HELO,
	S_STARTTLS,
	S_TLS,
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
	unsigned int deliveries;
	struct loop_timer *idle;
	struct smtp_sess *next; /* the agent's cache list */
	/* the transaction */
	struct expect *exp;
	size_t nexp, exp_head;
	size_t next_rcpt;
	bool pipelining, mail_ok, dot_ignore, reused;
	size_t naccepted;
};

static void sess_free(struct smtp_sess *s);

const char *smtp_sess_key(const struct smtp_sess *s)
{
	return s->key;
}

struct smtp_sess **smtp_sess_nextp(struct smtp_sess *s)
{
	return &s->next;
}

/* doing - what the session was doing, for "timed out while ..." */
static const char *doing(const struct smtp_sess *s)
{
	switch (s->state) {
	case S_CONNECTING:
	case S_GREETING:
		return "receiving the initial server greeting";
	case S_EHLO:
		return "performing the EHLO handshake";
	case S_HELO:
		return "performing the HELO handshake";
	case S_STARTTLS:
		return "sending STARTTLS";
	case S_TLS:
		return "performing the TLS handshake";
	case S_TRANS:
		if (s->exp_head < s->nexp)
			return s->exp[s->exp_head].kind == X_MAIL   ? "sending MAIL FROM"
			       : s->exp[s->exp_head].kind == X_RCPT ? "sending RCPT TO"
								    : "sending DATA command";
		return "sending MAIL FROM";
	case S_DOT:
		return "sending end of data -- message may be sent more than once";
	case S_RSET:
		return "sending RSET";
	case S_IDLE:
	case S_QUIT:
		break;
	}
	return "sending QUIT";
}

/* reply_text - "550 5.1.1 ..." of the current reply, sanitized. */
static void reply_text(const struct smtp_sess *s, struct buf *out)
{
	smtp_reply_format(&s->reply, out, 900);
}

/* fail - the session cannot go on.  try_next: recipients without a
 * result may go to the next address; otherwise they all get result. */
static void fail(struct smtp_sess *s, int result, const char *dsn, bool try_next, const char *diag,
		 const char *fmt, ...) ATTR_PRINTF(6, 7);
static void fail(struct smtp_sess *s, int result, const char *dsn, bool try_next, const char *diag,
		 const char *fmt, ...)
{
	struct smtp_req *r = s->req;
	struct buf text = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	s->req = NULL;
	if (r != NULL) {
		r->sess = NULL;
		if (try_next) {
			smtp_req_fail_attempt(r, result, dsn, s->relay, s->host, diag,
					      buf_cstr(&text));
		} else {
			for (size_t i = 0; i < r->n; i++)
				smtp_rcpt_set(r, i, result, dsn, s->relay, s->host, diag, "%s",
					      buf_cstr(&text));
			smtp_req_session_done(r);
		}
	}
	buf_deinit(&text);
	sess_free(s);
}

/* reply_fail - the reply ends the session: 4xx defer, 5xx bounce. */
static void reply_fail(struct smtp_sess *s, bool try_next, const char *what)
{
	struct buf t = BUF_INIT, diag = BUF_INIT;
	int res = s->reply.code >= 500 ? DELIVER_BOUNCE : DELIVER_DEFER;

	reply_text(s, &t);
	buf_printf(&diag, "smtp;%s", buf_cstr(&t));
	fail(s, res, s->reply.dsn, try_next, buf_cstr(&diag), "host %s said: %s (in reply to %s)",
	     s->relay, buf_cstr(&t), what);
	buf_deinit(&t);
	buf_deinit(&diag);
}

/* rcpt_reply - give recipient i the result of the current reply. */
static void rcpt_reply(struct smtp_sess *s, size_t i, const char *what)
{
	struct buf t = BUF_INIT, diag = BUF_INIT;
	int res = s->reply.code >= 500	 ? DELIVER_BOUNCE
		  : s->reply.code >= 400 ? DELIVER_DEFER
					 : DELIVER_OK;

	reply_text(s, &t);
	buf_printf(&diag, "smtp;%s", buf_cstr(&t));
	if (res == DELIVER_OK)
		smtp_rcpt_set(s->req, i, res, s->reply.dsn, s->relay, s->host, buf_cstr(&diag),
			      "%s", buf_cstr(&t));
	else
		smtp_rcpt_set(s->req, i, res, s->reply.dsn, s->relay, s->host, buf_cstr(&diag),
			      "host %s said: %s (in reply to %s)", s->relay, buf_cstr(&t), what);
	buf_deinit(&t);
	buf_deinit(&diag);
}

static void send_line(struct smtp_sess *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void send_line(struct smtp_sess *s, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_adds(&b, "\r\n");
	loop_conn_write(s->conn, b.data, b.len);
	buf_deinit(&b);
}

static void quit(struct smtp_sess *s)
{
	if (s->conn == NULL) {
		sess_free(s);
		return;
	}
	s->state = S_QUIT;
	send_line(s, "QUIT");
	loop_conn_set_timeout(s->conn, s->a->p.t_quit);
	loop_conn_close_after_write(s->conn);
}

static void on_idle_timer(struct loop_timer *t, void *arg)
{
	struct smtp_sess *s = arg;

	smtp_cache_remove(s->a, s);
	quit(s);
}

/* to_idle - keep the session for the next request to its next hop. */
static void to_idle(struct smtp_sess *s)
{
	s->state = S_IDLE;
	loop_conn_set_timeout(s->conn, 0);
	if (s->idle == NULL)
		s->idle = loop_timer_new(s->a->base, on_idle_timer, s);
	loop_timer_add(s->idle, s->a->p.t_cache);
	smtp_cache_put(s->a, s);
}

/* transaction_end - the request is done with this session. */
static void transaction_end(struct smtp_sess *s, bool clean)
{
	struct smtp_req *r = s->req;
	const struct smtp_params *p = &s->a->p;
	bool keep = p->t_cache > 0 && (p->reuse_limit == 0 || s->deliveries + 1 < p->reuse_limit) &&
		    !server_stopping();

	s->req = NULL;
	r->sess = NULL;
	s->deliveries++;
	xfree(&s->exp);
	s->nexp = s->exp_head = 0;
	if (keep && clean) {
		to_idle(s);
	} else if (keep) {
		s->state = S_RSET;
		send_line(s, "RSET");
		loop_conn_set_timeout(s->conn, p->t_mail);
	} else {
		quit(s);
	}
	smtp_req_session_done(r);
}

static void expect(struct smtp_sess *s, enum expect_kind kind, size_t idx)
{
	s->exp = xreallocarray(s->exp, s->nexp + 1, sizeof(*s->exp));
	s->exp[s->nexp].kind = kind;
	s->exp[s->nexp].idx = idx;
	s->nexp++;
}

/* next_rcpt_index - the next recipient to send RCPT for, or r->n. */
static size_t next_rcpt_index(struct smtp_sess *s)
{
	struct smtp_req *r = s->req;

	while (s->next_rcpt < r->n && r->rcpts[s->next_rcpt].result != SMTP_PENDING)
		s->next_rcpt++;
	return s->next_rcpt;
}

static void send_rcpt(struct smtp_sess *s, size_t i)
{
	const struct qfile_rcpt *q = s->req->rcpts[i].q;
	struct buf cmd = BUF_INIT;

	buf_printf(&cmd, "RCPT TO:<%s>", q->addr);
	if (s->ehlo.dsn && q->notify != 0) {
		if (q->notify & QFILE_NOTIFY_NEVER) {
			buf_adds(&cmd, " NOTIFY=NEVER");
		} else {
			const char *sep = " NOTIFY=";

			if (q->notify & QFILE_NOTIFY_SUCCESS) {
				buf_printf(&cmd, "%sSUCCESS", sep);
				sep = ",";
			}
			if (q->notify & QFILE_NOTIFY_FAILURE) {
				buf_printf(&cmd, "%sFAILURE", sep);
				sep = ",";
			}
			if (q->notify & QFILE_NOTIFY_DELAY)
				buf_printf(&cmd, "%sDELAY", sep);
		}
	}
	if (s->ehlo.dsn && q->orcpt_type[0] != '\0') {
		buf_printf(&cmd, " ORCPT=%s;", q->orcpt_type);
		if (strcasecmp(q->orcpt_type, "utf-8") == 0)
			xtext_encode_utf8addr(q->orcpt, strlen(q->orcpt), &cmd);
		else
			xtext_encode(q->orcpt, strlen(q->orcpt), &cmd);
	}
	send_line(s, "%s", buf_cstr(&cmd));
	expect(s, X_RCPT, i);
	s->next_rcpt = i + 1;
	buf_deinit(&cmd);
}

/* send_data - DATA once the recipients are through. */
static void send_data(struct smtp_sess *s)
{
	send_line(s, "DATA");
	expect(s, X_DATA, 0);
}

/* bounce_all - every pending recipient fails for a reason of our own. */
static void bounce_all(struct smtp_sess *s, const char *dsn, const char *text)
{
	for (size_t i = 0; i < s->req->n; i++)
		smtp_rcpt_set(s->req, i, DELIVER_BOUNCE, dsn, s->relay, s->host, "", "%s", text);
}

/* begin_transaction - MAIL, RCPT..., DATA for the session's request. */
static void begin_transaction(struct smtp_sess *s)
{
	struct smtp_req *r = s->req;
	const struct buf *body;
	struct buf cmd = BUF_INIT, t = BUF_INIT;
	bool seven = r->has8bit && !s->ehlo.eightbitmime;
	size_t i;

	gettimeofday(&r->t_ready, NULL);
	s->mail_ok = false;
	s->dot_ignore = false;
	s->naccepted = 0;
	s->next_rcpt = 0;
	s->pipelining = s->ehlo.pipelining;
	for (i = 0; i < r->n; i++)
		r->rcpts[i].accepted = false;
	if (r->needs_utf8 && !s->ehlo.smtputf8) {
		buf_printf(&t, "SMTPUTF8 is required, but was not offered by host %s", s->relay);
		bounce_all(s, "5.6.7", buf_cstr(&t));
		buf_deinit(&t);
		transaction_end(s, true);
		return;
	}
	body = smtp_req_body(r, seven);
	if (s->ehlo.size_limit > 0 && (uint64_t)body->len > s->ehlo.size_limit) {
		buf_printf(&t, "message size %zu exceeds size limit %llu of server %s", body->len,
			   (unsigned long long)s->ehlo.size_limit, s->relay);
		bounce_all(s, "5.3.4", buf_cstr(&t));
		buf_deinit(&t);
		transaction_end(s, true);
		return;
	}
	buf_printf(&cmd, "MAIL FROM:<%s>", r->env.sender);
	if (s->ehlo.size)
		buf_printf(&cmd, " SIZE=%zu", body->len);
	if (s->ehlo.eightbitmime && (r->has8bit || (r->env.flags & QFILE_F_8BITMIME)))
		buf_adds(&cmd, " BODY=8BITMIME");
	if (r->needs_utf8)
		buf_adds(&cmd, " SMTPUTF8");
	if (s->ehlo.dsn) {
		if (r->env.flags & QFILE_F_RET_FULL)
			buf_adds(&cmd, " RET=FULL");
		else if (r->env.flags & QFILE_F_RET_HDRS)
			buf_adds(&cmd, " RET=HDRS");
		if (r->env.envid != NULL && r->env.envid[0] != '\0') {
			buf_adds(&cmd, " ENVID=");
			xtext_encode(r->env.envid, strlen(r->env.envid), &cmd);
		}
	}
	s->state = S_TRANS;
	send_line(s, "%s", buf_cstr(&cmd));
	expect(s, X_MAIL, 0);
	if (s->pipelining) {
		while ((i = next_rcpt_index(s)) < r->n)
			send_rcpt(s, i);
		send_data(s);
	}
	loop_conn_set_timeout(s->conn, s->a->p.t_mail);
	buf_deinit(&cmd);
	buf_deinit(&t);
}

/* after_ehlo - STARTTLS when the policy asks for it, else mail. */
static void after_ehlo(struct smtp_sess *s)
{
	enum tls_level lev = s->pol.level;

	if (!s->tls && lev >= TLS_LEV_MAY && !s->pol.no_tls && s->ehlo.starttls &&
	    s->a->tls != NULL) {
		s->state = S_STARTTLS;
		send_line(s, "STARTTLS");
		loop_conn_set_timeout(s->conn, s->a->p.t_starttls);
		return;
	}
	if (!s->tls && lev >= TLS_LEV_ENCRYPT) {
		fail(s, DELIVER_DEFER, "4.7.4", true, "",
		     "TLS is required, but was not offered by host %s", s->relay);
		return;
	}
	begin_transaction(s);
}

static void send_ehlo(struct smtp_sess *s)
{
	s->state = S_EHLO;
	send_line(s, "EHLO %s", s->a->p.helo_name);
	loop_conn_set_timeout(s->conn, s->a->p.t_helo);
}

/* is_ip - the host is an address literal (no SNI then). */
static bool is_ip(const char *h)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, h, tmp) == 1 || inet_pton(AF_INET6, h, tmp) == 1;
}

static void start_tls(struct smtp_sess *s)
{
	const char *names[2];
	size_t n = 0;
	struct err err;
	int loaded;

	names[n++] = s->host;
	if (s->req != NULL && s->req->use_mx && strcmp(buf_cstr(&s->req->host), s->host) != 0)
		names[n++] = buf_cstr(&s->req->host);
	if (loop_conn_starttls_client(s->conn, s->a->tls, is_ip(s->host) ? NULL : s->host, &err) <
		    0 ||
	    (loaded = tls_client_prepare(loop_conn_ssl(s->conn), s->pol.level, names, n,
					 s->pol.tlsa, s->pol.ntlsa, &err)) < 0) {
		fail(s, DELIVER_DEFER, "4.7.5", true, "", "cannot start TLS with %s: %s", s->relay,
		     err.msg);
		return;
	}
	if (s->pol.level == TLS_LEV_DANE && loaded == 0)
		s->pol.dane_mandatory = false;
	s->state = S_TLS;
	loop_conn_set_timeout(s->conn, s->a->p.t_starttls);
}

static void on_tls(struct loop_conn *conn, void *arg)
{
	struct smtp_sess *s = arg;
	struct tls_client_result res;
	struct buf text = BUF_INIT;
	struct err err;

	tls_client_result(loop_conn_ssl(conn), &res);
	tls_client_describe(&res, s->relay, &text);
	log_info("%s", buf_cstr(&text));
	buf_deinit(&text);
	if (tls_client_verdict(s->pol.level, s->pol.dane_mandatory, &res, &err) < 0) {
		fail(s, DELIVER_DEFER, "4.7.5", true, "", "TLS with %s: %s", s->relay, err.msg);
		return;
	}
	s->tls = true;
	send_ehlo(s);
}

/* trans_reply - one reply of the MAIL/RCPT/DATA sequence. */
static void trans_reply(struct smtp_sess *s)
{
	struct smtp_req *r = s->req;
	struct expect e;
	int code = s->reply.code;
	size_t i;

	if (s->exp_head >= s->nexp) {
		fail(s, DELIVER_DEFER, "4.5.0", true, "", "unexpected reply from %s", s->relay);
		return;
	}
	e = s->exp[s->exp_head++];
	if (code == 421) {
		reply_fail(s, true,
			   e.kind == X_MAIL   ? "MAIL FROM command"
			   : e.kind == X_RCPT ? "RCPT TO command"
					      : "DATA command");
		return;
	}
	switch (e.kind) {
	case X_MAIL:
		s->mail_ok = code / 100 == 2;
		if (!s->mail_ok)
			for (i = 0; i < r->n; i++)
				rcpt_reply(s, i, "MAIL FROM command");
		if (!s->pipelining) {
			if (!s->mail_ok) {
				transaction_end(s, false);
				return;
			}
			if ((i = next_rcpt_index(s)) >= r->n) {
				transaction_end(s, false);
				return;
			}
			send_rcpt(s, i);
			loop_conn_set_timeout(s->conn, s->a->p.t_rcpt);
		}
		return;
	case X_RCPT:
		if (s->mail_ok) {
			if (code / 100 == 2) {
				r->rcpts[e.idx].accepted = true;
				s->naccepted++;
			} else {
				rcpt_reply(s, e.idx, "RCPT TO command");
			}
		}
		if (!s->pipelining) {
			if ((i = next_rcpt_index(s)) < r->n) {
				send_rcpt(s, i);
			} else if (s->naccepted > 0) {
				send_data(s);
				loop_conn_set_timeout(s->conn, s->a->p.t_data_init);
			} else {
				transaction_end(s, false);
			}
		}
		return;
	case X_DATA:
		if (code == 354) {
			s->state = S_DOT;
			if (s->mail_ok && s->naccepted > 0) {
				const struct buf *body =
					smtp_req_body(r, r->has8bit && !s->ehlo.eightbitmime);

				loop_conn_write(s->conn, body->data, body->len);
			} else {
				s->dot_ignore = true;
				send_line(s, ".");
			}
			loop_conn_set_timeout(s->conn, s->a->p.t_data_xfer > s->a->p.t_data_done
							       ? s->a->p.t_data_xfer
							       : s->a->p.t_data_done);
			return;
		}
		if (s->mail_ok)
			for (i = 0; i < r->n; i++)
				if (r->rcpts[i].accepted)
					rcpt_reply(s, i, "DATA command");
		transaction_end(s, false);
		return;
	}
}

static void dot_reply(struct smtp_sess *s)
{
	struct smtp_req *r = s->req;
	bool ok = s->reply.code / 100 == 2;

	if (!s->dot_ignore)
		for (size_t i = 0; i < r->n; i++)
			if (r->rcpts[i].accepted)
				rcpt_reply(s, i, "end of DATA command");
	gettimeofday(&r->t_done, NULL);
	transaction_end(s, ok && !s->dot_ignore && s->reply.code != 421);
}

static void handle_reply(struct smtp_sess *s)
{
	int code = s->reply.code;

	switch (s->state) {
	case S_GREETING:
		if (code == 220) {
			send_ehlo(s);
		} else {
			struct buf t = BUF_INIT;

			reply_text(s, &t);
			fail(s, DELIVER_DEFER, "4.3.0", true, "",
			     "host %s refused to talk to me: %s", s->relay, buf_cstr(&t));
			buf_deinit(&t);
		}
		return;
	case S_EHLO:
		if (code == 250) {
			smtp_ehlo_parse(&s->reply, &s->ehlo);
			after_ehlo(s);
		} else if (code >= 500 && !s->tls) {
			s->state = S_HELO;
			send_line(s, "HELO %s", s->a->p.helo_name);
		} else {
			reply_fail(s, true, "EHLO command");
		}
		return;
	case S_HELO:
		if (code == 250) {
			memset(&s->ehlo, 0, sizeof(s->ehlo));
			after_ehlo(s);
		} else {
			reply_fail(s, true, "HELO command");
		}
		return;
	case S_STARTTLS:
		if (code == 220)
			start_tls(s);
		else if (s->pol.level == TLS_LEV_MAY)
			begin_transaction(s);
		else
			reply_fail(s, true, "STARTTLS command");
		return;
	case S_TRANS:
		trans_reply(s);
		return;
	case S_DOT:
		dot_reply(s);
		return;
	case S_RSET:
		if (code == 250)
			to_idle(s);
		else
			quit(s);
		return;
	case S_IDLE:
		/* unsolicited (a 421 before the server hangs up) */
		smtp_cache_remove(s->a, s);
		quit(s);
		return;
	case S_CONNECTING:
	case S_TLS:
	case S_QUIT:
		return;
	}
}

static void on_line(struct loop_conn *conn, const char *line, size_t len, int flags, void *arg)
{
	struct smtp_sess *s = arg;
	struct err err;
	int rc;

	if (s->state == S_QUIT)
		return;
	rc = smtp_reply_feed(&s->reply, line, len, &err);
	if (rc < 0) {
		if (s->req == NULL) {
			smtp_cache_remove(s->a, s);
			sess_free(s);
			return;
		}
		fail(s, DELIVER_DEFER, "4.5.0", s->state != S_DOT, "",
		     "protocol error with %s while %s: %s", s->relay, doing(s), err.msg);
		return;
	}
	if (rc == 1)
		handle_reply(s);
}

static void on_close(struct loop_conn *conn, enum loop_close why, const char *detail, void *arg)
{
	struct smtp_sess *s = arg;
	struct smtp_req *r = s->req;

	s->conn = NULL;
	if (r == NULL) {
		smtp_cache_remove(s->a, s);
		sess_free(s);
		return;
	}
	if (why == LOOP_CLOSE_TLS && s->pol.level == TLS_LEV_MAY)
		r->plain_retry = true;
	if (why == LOOP_CLOSE_TIMEOUT)
		fail(s, DELIVER_DEFER, "4.4.2", s->state != S_DOT, "",
		     "conversation with %s timed out while %s", s->relay, doing(s));
	else if (why == LOOP_CLOSE_TLS)
		fail(s, DELIVER_DEFER, "4.7.5", true, "", "TLS handshake with %s failed: %s",
		     s->relay, detail != NULL ? detail : "error");
	else
		fail(s, DELIVER_DEFER, "4.4.2", s->state != S_DOT, "",
		     "lost connection with %s while %s", s->relay, doing(s));
}

static const struct loop_conn_cb conn_cb = {
	.on_line = on_line,
	.on_tls = on_tls,
	.on_close = on_close,
};

static void on_connected(int fd, int error, void *arg)
{
	struct smtp_sess *s = arg;

	s->connecting = NULL;
	if (fd < 0) {
		fail(s, DELIVER_DEFER, "4.4.1", true, "", "connect to %s: %s", s->relay,
		     strerror(error));
		return;
	}
	s->conn = loop_conn_new(s->a->base, fd, NULL, &conn_cb, s);
	loop_conn_set_max_line(s->conn, 4096);
	loop_conn_set_timeout(s->conn, s->a->p.t_helo);
	s->state = S_GREETING;
}

void smtp_sess_connect(struct smtp_req *r, const struct dns_addr *addr, struct smtp_tls_policy *pol)
{
	struct smtp_sess *s = xcalloc(1, sizeof(*s));
	struct buf host = BUF_INIT, key = BUF_INIT;
	unsigned int port = 0;
	struct err err;
	const char *bind;

	s->a = r->a;
	s->req = r;
	r->sess = s;
	s->pol = *pol;
	memset(pol, 0, sizeof(*pol));
	smtp_reply_init(&s->reply);
	s->host = xstrdup(addr->host);
	if (loop_addr_format((const struct sockaddr *)&addr->sa, addr->salen, &host, &port, &err) <
	    0)
		buf_sets(&host, "unknown");
	s->addr = xstrdup(buf_cstr(&host));
	s->relay = xasprintf("%s[%s]:%u", s->host, s->addr, port);
	smtp_cache_key(r, &key);
	s->key = buf_steal(&key);
	buf_deinit(&host);
	s->state = S_CONNECTING;
	bind = addr->sa.ss_family == AF_INET6 ? s->a->p.bind6 : s->a->p.bind4;
	s->connecting =
		smtp_connect_start(s->a->base, (const struct sockaddr *)&addr->sa, addr->salen,
				   bind, s->a->p.t_connect, on_connected, s, &err);
	if (s->connecting == NULL)
		fail(s, DELIVER_DEFER, "4.4.1", true, "", "connect to %s: %s", s->relay, err.msg);
}

void smtp_sess_reuse(struct smtp_sess *s, struct smtp_req *r)
{
	if (s->idle != NULL)
		loop_timer_del(s->idle);
	s->req = r;
	r->sess = s;
	s->reused = true;
	log_debug("%s: reusing the session with %s", r->qid, s->relay);
	begin_transaction(s);
}

static void sess_free(struct smtp_sess *s)
{
	smtp_connect_cancel(&s->connecting);
	loop_conn_free(&s->conn);
	loop_timer_free(&s->idle);
	smtp_reply_deinit(&s->reply);
	for (size_t i = 0; i < s->pol.ntlsa; i++)
		free(s->pol.tlsa[i].data);
	free(s->pol.tlsa);
	free(s->exp);
	free(s->host);
	free(s->addr);
	free(s->relay);
	free(s->key);
	free(s);
}

void smtp_sess_abort(struct smtp_sess **sp)
{
	if (*sp == NULL)
		return;
	sess_free(*sp);
	*sp = NULL;
}
