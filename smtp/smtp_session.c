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

#include "smtp/smtp_sess.h"

/* BODY_POLL_MS - how often a streaming session checks its output. */
#define BODY_POLL_MS 2

static void sess_free(struct smtp_sess *s);
static void on_pump(struct loop_timer *t, void *arg);

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
	case S_AUTH:
		return "performing the AUTH exchange";
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

void smtp_sess_fail(struct smtp_sess *s, int result, const char *dsn, bool try_next,
		    const char *diag, const char *fmt, ...)
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

void smtp_sess_reply_fail(struct smtp_sess *s, bool try_next, const char *what)
{
	struct buf t = BUF_INIT, diag = BUF_INIT;
	int res = s->reply.code >= 500 ? DELIVER_BOUNCE : DELIVER_DEFER;

	reply_text(s, &t);
	buf_printf(&diag, "smtp;%s", buf_cstr(&t));
	smtp_sess_fail(s, res, s->reply.dsn, try_next, buf_cstr(&diag),
		       "host %s said: %s (in reply to %s)", s->relay, buf_cstr(&t), what);
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

void smtp_sess_send(struct smtp_sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	loop_conn_vline(s->conn, fmt, ap);
	va_end(ap);
}

static void quit(struct smtp_sess *s)
{
	if (s->conn == NULL) {
		sess_free(s);
		return;
	}
	s->state = S_QUIT;
	smtp_sess_send(s, "QUIT");
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
		smtp_sess_send(s, "RSET");
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
	smtp_sess_send(s, "%s", buf_cstr(&cmd));
	expect(s, X_RCPT, i);
	s->next_rcpt = i + 1;
	buf_deinit(&cmd);
}

/* send_data - DATA once the recipients are through. */
static void send_data(struct smtp_sess *s)
{
	smtp_sess_send(s, "DATA");
	expect(s, X_DATA, 0);
}

/* bounce_all - every pending recipient fails for a reason of our own. */
static void bounce_all(struct smtp_sess *s, const char *dsn, const char *text)
{
	for (size_t i = 0; i < s->req->n; i++)
		smtp_rcpt_set(s->req, i, DELIVER_BOUNCE, dsn, s->relay, s->host, "", "%s", text);
}

void smtp_sess_begin(struct smtp_sess *s)
{
	struct smtp_req *r = s->req;
	struct buf cmd = BUF_INIT, t = BUF_INIT;
	bool seven = r->has8bit && !s->ehlo.eightbitmime;
	size_t i, size;
	struct err err;

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
	if (smtp_req_body_size(r, seven, &size, &err) < 0) {
		smtp_sess_fail(s, DELIVER_DEFER, "4.3.0", false, "", "cannot read the message: %s",
			       err.msg);
		return;
	}
	if (s->ehlo.size_limit > 0 && (uint64_t)size > s->ehlo.size_limit) {
		buf_printf(&t, "message size %zu exceeds size limit %llu of server %s", size,
			   (unsigned long long)s->ehlo.size_limit, s->relay);
		bounce_all(s, "5.3.4", buf_cstr(&t));
		buf_deinit(&t);
		transaction_end(s, true);
		return;
	}
	buf_printf(&cmd, "MAIL FROM:<%s>", r->env.sender);
	if (s->ehlo.size)
		buf_printf(&cmd, " SIZE=%zu", size);
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
	smtp_sess_send(s, "%s", buf_cstr(&cmd));
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
		smtp_sess_send(s, "STARTTLS");
		loop_conn_set_timeout(s->conn, s->a->p.t_starttls);
		return;
	}
	if (!s->tls && lev >= TLS_LEV_ENCRYPT) {
		smtp_sess_fail(s, DELIVER_DEFER, "4.7.4", true, "",
			       "TLS is required, but was not offered by host %s", s->relay);
		return;
	}
	if (smtp_auth_start(s))
		return;
	smtp_sess_begin(s);
}

/* greets_as_me - the first word of the reply is this host's own name
 * (Postfix's loop check: the MX, or relayhost, is this very server). */
static bool greets_as_me(const struct smtp_sess *s)
{
	const char *t = buf_cstr(&s->reply.text), *me = s->a->p.myhostname;
	size_t n = strlen(me);

	if (n == 0 || strlen(t) < 4 + n || strncasecmp(t + 4, me, n) != 0)
		return false;
	return t[4 + n] == '\0' || t[4 + n] == ' ' || t[4 + n] == '\n';
}

/* loop_bounce - the server is this host: every recipient bounces. */
static void loop_bounce(struct smtp_sess *s, const char *what)
{
	const char *dest = s->req != NULL ? buf_cstr(&s->req->host) : s->host;

	log_warn("host %s %s my own hostname %s", s->relay, what, s->a->p.myhostname);
	smtp_sess_fail(s, DELIVER_BOUNCE, "5.4.6", false, "", "mail for %s loops back to myself",
		       dest);
}

void smtp_sess_ehlo(struct smtp_sess *s)
{
	s->state = S_EHLO;
	smtp_sess_send(s, "EHLO %s", s->a->p.helo_name);
	loop_conn_set_timeout(s->conn, s->a->p.t_helo);
}

/* pump - top up the connection's output with the next chunks of the
 * content; while the content is not all written, look again shortly
 * (lib/loop has no drain callback; the output holds 256 KiB meanwhile). */
static void pump(struct smtp_sess *s)
{
	struct err err;
	int rc = smtp_body_fill(s->body, s->conn, &err);

	if (rc < 0) {
		smtp_sess_fail(s, DELIVER_DEFER, "4.3.0", false, "", "cannot read the message: %s",
			       err.msg);
		return;
	}
	if (rc == 1) {
		smtp_body_free(&s->body);
		return;
	}
	if (s->pump == NULL)
		s->pump = loop_timer_new(s->a->base, on_pump, s);
	loop_timer_add(s->pump, BODY_POLL_MS);
}

static void on_pump(struct loop_timer *t, void *arg)
{
	pump(arg);
}

/* trans_reply - one reply of the MAIL/RCPT/DATA sequence. */
static void trans_reply(struct smtp_sess *s)
{
	struct smtp_req *r = s->req;
	struct expect e;
	int code = s->reply.code;
	size_t i;

	if (s->exp_head >= s->nexp) {
		smtp_sess_fail(s, DELIVER_DEFER, "4.5.0", true, "", "unexpected reply from %s",
			       s->relay);
		return;
	}
	e = s->exp[s->exp_head++];
	if (code == 421) {
		smtp_sess_reply_fail(s, true,
				     e.kind == X_MAIL	? "MAIL FROM command"
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
			loop_conn_set_timeout(s->conn, s->a->p.t_data_xfer > s->a->p.t_data_done
							       ? s->a->p.t_data_xfer
							       : s->a->p.t_data_done);
			if (s->mail_ok && s->naccepted > 0) {
				struct err err;

				s->body =
					smtp_body_new(r, r->has8bit && !s->ehlo.eightbitmime, &err);
				if (s->body == NULL) {
					smtp_sess_fail(s, DELIVER_DEFER, "4.3.0", false, "",
						       "cannot read the message: %s", err.msg);
					return;
				}
				pump(s);
			} else {
				s->dot_ignore = true;
				smtp_sess_send(s, ".");
			}
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
		if (code == 220 && greets_as_me(s)) {
			loop_bounce(s, "greeted me with");
		} else if (code == 220) {
			smtp_sess_ehlo(s);
		} else {
			struct buf t = BUF_INIT;

			reply_text(s, &t);
			smtp_sess_fail(s, DELIVER_DEFER, "4.3.0", true, "",
				       "host %s refused to talk to me: %s", s->relay, buf_cstr(&t));
			buf_deinit(&t);
		}
		return;
	case S_EHLO:
		if (code == 250 && greets_as_me(s)) {
			loop_bounce(s, "replied to EHLO with");
		} else if (code == 250) {
			smtp_ehlo_parse(&s->reply, &s->ehlo);
			after_ehlo(s);
		} else if (code >= 500 && !s->tls) {
			s->state = S_HELO;
			smtp_sess_send(s, "HELO %s", s->a->p.helo_name);
		} else {
			smtp_sess_reply_fail(s, true, "EHLO command");
		}
		return;
	case S_HELO:
		if (code == 250 && greets_as_me(s)) {
			loop_bounce(s, "replied to HELO with");
		} else if (code == 250) {
			memset(&s->ehlo, 0, sizeof(s->ehlo));
			after_ehlo(s);
		} else {
			smtp_sess_reply_fail(s, true, "HELO command");
		}
		return;
	case S_STARTTLS:
		if (code == 220)
			smtp_tls_start(s);
		else if (s->pol.level != TLS_LEV_MAY)
			smtp_sess_reply_fail(s, true, "STARTTLS command");
		else if (!smtp_auth_start(s))
			smtp_sess_begin(s);
		return;
	case S_AUTH:
		smtp_auth_reply(s);
		return;
	case S_TRANS:
		trans_reply(s);
		return;
	case S_DOT:
		if (s->body != NULL) /* a reply before the content was all sent */
			smtp_sess_reply_fail(s, false, "end of DATA command");
		else
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
		smtp_sess_fail(s, DELIVER_DEFER, "4.5.0", s->state != S_DOT, "",
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
		smtp_sess_fail(s, DELIVER_DEFER, "4.4.2", s->state != S_DOT, "",
			       "conversation with %s timed out while %s", s->relay, doing(s));
	else if (why == LOOP_CLOSE_TLS)
		smtp_sess_fail(s, DELIVER_DEFER, "4.7.5", true, "",
			       "TLS handshake with %s failed: %s", s->relay,
			       detail != NULL ? detail : "error");
	else
		smtp_sess_fail(s, DELIVER_DEFER, "4.4.2", s->state != S_DOT, "",
			       "lost connection with %s while %s", s->relay, doing(s));
}

static const struct loop_conn_cb conn_cb = {
	.on_line = on_line,
	.on_tls = smtp_tls_done,
	.on_close = on_close,
};

static void on_connected(int fd, int error, void *arg)
{
	struct smtp_sess *s = arg;

	s->connecting = NULL;
	if (fd < 0) {
		smtp_sess_fail(s, DELIVER_DEFER, "4.4.1", true, "", "connect to %s: %s", s->relay,
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
		smtp_sess_fail(s, DELIVER_DEFER, "4.4.1", true, "", "connect to %s: %s", s->relay,
			       err.msg);
}

void smtp_sess_reuse(struct smtp_sess *s, struct smtp_req *r)
{
	if (s->idle != NULL)
		loop_timer_del(s->idle);
	s->req = r;
	r->sess = s;
	s->reused = true;
	log_debug("%s: reusing the session with %s", r->qid, s->relay);
	smtp_sess_begin(s);
}

static void sess_free(struct smtp_sess *s)
{
	smtp_connect_cancel(&s->connecting);
	loop_conn_free(&s->conn);
	loop_timer_free(&s->idle);
	loop_timer_free(&s->pump);
	smtp_body_free(&s->body);
	smtp_auth_free(s);
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
