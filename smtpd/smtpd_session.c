/*
 * smtpd_session.c - one SMTP session: greeting, the command state machine
 *           (HELO EHLO MAIL RCPT RSET NOOP QUIT VRFY EXPN HELP; DATA and
 *           BDAT hand over to smtpd_content.c, STARTTLS to smtpd_tls.c,
 *           AUTH to smtpd_auth.c), replies with enhanced status codes,
 *           error accounting, timeouts, the disconnect line.
 * Touches:  the client connection (lib/loop), the maillog.  A session
 *           whose message is being committed reads no input; if its
 *           client leaves meanwhile, the commit's completion frees it.
 * Input:    untrusted command lines, capped at line_length_limit by
 *           lib/loop and parsed by smtpd_cmd.c (pure).  Every complete
 *           command already buffered is handled in order and the replies
 *           leave together when the loop flushes (RFC 2920 pipelining).
 * Security: runs as mail_owner before any authentication; nothing a client
 *           sends ends the process.  Submission policy: MAIL needs TLS
 *           (encrypt level) and AUTH (smtpd_sasl_auth_required) when
 *           configured, and an authenticated sender must own the address.
 *           Replies never echo raw client bytes except parsed, canonical
 *           addresses.
 * Errors:   protocol errors get their reply and count toward
 *           smtpd_soft_error_limit (replies delayed by
 *           smtpd_error_sleep_time) and smtpd_hard_error_limit (421, close).
 * See:      RFC 5321 4.1 and 4.2, RFC 2920, RFC 3463, docs/smtpd.md.
 */
#include "sys.h"

#include <stdarg.h>

#include <event2/buffer.h>

#include "addr.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "netmatch.h"
#include "proto.h"
#include "qfile.h"
#include "qreceive.h"
#include "server.h"
#include "smtpd.h"
#include "str.h"
#include "xmem.h"

static void on_line(struct loop_conn *conn, const char *line, size_t len, int flags, void *arg);
static void on_data(struct loop_conn *conn, struct evbuffer *in, void *arg);
static void on_tls(struct loop_conn *conn, void *arg);
static void on_close(struct loop_conn *conn, enum loop_close why, const char *detail, void *arg);

static const struct loop_conn_cb session_cb = {
	.on_line = on_line,
	.on_data = on_data,
	.on_tls = on_tls,
	.on_close = on_close,
};

/* The ESMTP parameters this server offers after EHLO. */
#define EHLO_CMD_FLAGS                                                                             \
	(SMTPD_CMD_EXT_SIZE | SMTPD_CMD_EXT_8BITMIME | SMTPD_CMD_EXT_SMTPUTF8 | SMTPD_CMD_EXT_DSN)

const char *smtpd_proto(const struct smtpd_session *s)
{
	static const char *const names[] = {"ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA"};

	if (!s->esmtp)
		return "SMTP";
	return names[(s->tls ? 1 : 0) + (s->auth_user != NULL ? 2 : 0)];
}

void smtpd_session_resume(struct smtpd_session *s)
{
	if (!s->closing && !loop_timer_pending(s->sleep) && s->auth_state != SMTPD_AUTH_WAIT &&
	    s->commit == NULL)
		loop_conn_pause(s->conn, false);
}

/* session_close - stop reading; close once the replies are written. */
static void session_close(struct smtpd_session *s)
{
	if (s->closing)
		return;
	s->closing = true;
	loop_timer_del(s->idle);
	if (loop_timer_pending(s->sleep)) {
		loop_timer_del(s->sleep);
		loop_conn_write(s->conn, s->held.data, s->held.len);
		buf_reset(&s->held);
	}
	loop_conn_close_after_write(s->conn);
}

/* reply_v - format one reply, CRLF appended, into out. */
static void ATTR_PRINTF(2, 0) reply_v(struct buf *out, const char *fmt, va_list ap)
{
	buf_vprintf(out, fmt, ap);
	buf_add(out, "\r\n", 2);
}

void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	reply_v(&b, fmt, ap);
	va_end(ap);
	loop_conn_write(s->conn, b.data, b.len);
	buf_deinit(&b);
}

void smtpd_reply_error(struct smtpd_session *s, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	reply_v(&b, fmt, ap);
	va_end(ap);
	s->errors++;
	if (s->errors >= s->conf->hard_limit) {
		loop_conn_write(s->conn, b.data, b.len);
		log_warn("too many errors after %s from %s[%s]",
			 s->last_verb != SMTPD_VERB_NONE ? smtpd_verb_name(s->last_verb)
							 : "UNKNOWN",
			 s->name, s->addr);
		smtpd_reply(s, "421 4.7.0 %s Error: too many errors", s->conf->hostname);
		session_close(s);
	} else if (s->errors > s->conf->soft_limit && s->conf->error_sleep_ms > 0 && !s->closing) {
		/* the reply waits; so does every command after it */
		buf_add(&s->held, b.data, b.len);
		loop_conn_pause(s->conn, true);
		loop_timer_add(s->sleep, s->conf->error_sleep_ms);
	} else {
		loop_conn_write(s->conn, b.data, b.len);
	}
	buf_deinit(&b);
}

/* sleep_fire - the error delay is over: send the reply, read on. */
static void sleep_fire(struct loop_timer *t, void *arg)
{
	struct smtpd_session *s = arg;

	loop_conn_write(s->conn, s->held.data, s->held.len);
	buf_reset(&s->held);
	smtpd_session_resume(s);
}

/* verb_for_log - the last command for "timeout after X" lines. */
static const char *verb_for_log(const struct smtpd_session *s)
{
	if (s->phase == SMTPD_PHASE_DATA)
		return "END-OF-MESSAGE";
	if (s->last_verb == SMTPD_VERB_NONE)
		return s->total[SMTPD_VERB_NONE] > 0 ? "UNKNOWN" : "CONNECT";
	return smtpd_verb_name(s->last_verb);
}

/* idle_fire - smtpd_timeout passed without input. */
static void idle_fire(struct loop_timer *t, void *arg)
{
	struct smtpd_session *s = arg;

	log_info("timeout after %s from %s[%s]", verb_for_log(s), s->name, s->addr);
	smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->conf->hostname);
	session_close(s);
}

void smtpd_touch(struct smtpd_session *s)
{
	if (!s->closing)
		loop_timer_add(s->idle, s->conf->timeout_ms);
}

/* session_greet - the client's name is known: log the connection, start
 * TLS on the smtps port (after the lookup, as in Postfix, so handshake
 * errors are logged with the name), then greet or refuse; input flows
 * from now on. */
static void session_greet(struct smtpd_session *s)
{
	struct err err;

	log_info("connect from %s[%s]", s->name, s->addr);
	if (s->conf->tls_wrapper && loop_conn_starttls(s->conn, smtpd_tls_ctx(s->conf), &err) < 0) {
		log_warn("TLS from %s[%s]: %s", s->name, s->addr, err.msg);
		session_close(s);
		return;
	}
	loop_conn_pause(s->conn, false);
	if (s->too_many > 0)
		log_warn("too many connections from %s[%s]: %u", s->name, s->addr, s->too_many);
	if (s->refuse != NULL) {
		smtpd_reply(s, "%s", s->refuse);
		xfree(&s->refuse);
		session_close(s);
		return;
	}
	smtpd_reply(s, "220 %s", s->conf->banner);
	smtpd_touch(s);
}

void smtpd_session_start(struct smtpd_session *s, int fd, const char *refuse)
{
	const struct smtpd_conf *conf = s->conf;

	s->name = "unknown";
	smtpd_cmd_init(&s->cmd);
	s->tls_exempt = netmatch_sockaddr(conf->tls_exempt, (const struct sockaddr *)&s->sa);
	/* plain until the name is known; smtps starts TLS in session_greet
	 * (paused before the loop runs, nothing is read, nothing discarded) */
	s->conn = loop_conn_new(conf->base, fd, NULL, &session_cb, s);
	s->idle = loop_timer_new(conf->base, idle_fire, s);
	s->sleep = loop_timer_new(conf->base, sleep_fire, s);
	loop_conn_set_max_line(s->conn, conf->line_max);
	/* a backstop for a client that stops reading our replies */
	loop_conn_set_timeout(s->conn, conf->timeout_ms + 10000);
	s->refuse = refuse != NULL ? xstrdup(refuse) : NULL;
	/* as in Postfix, the name is looked up before the greeting (and what
	 * the client sends meanwhile waits); a process that is stopping
	 * refuses at once */
	loop_conn_pause(s->conn, true);
	if (server_stopping())
		session_greet(s);
	else
		smtpd_peer_lookup(s, session_greet);
}

void smtpd_txn_reset(struct smtpd_session *s)
{
	smtpd_content_abort(s);
	for (size_t i = 0; i < s->nrcpt; i++) {
		xfree(&s->rcpts[i].addr);
		xfree(&s->rcpts[i].orcpt_type);
		xfree(&s->rcpts[i].orcpt);
	}
	s->nrcpt = 0;
	s->in_mail = false;
	s->utf8 = false;
	s->qflags = 0;
	s->has_envid = false;
	s->bdat_seen = false;
	s->bdat_failed = false;
	buf_reset(&s->sender);
	buf_reset(&s->envid);
	buf_reset(&s->msgid);
	smtpd_queue_fix_reset(s);
}

void smtpd_session_reset(struct smtpd_session *s)
{
	smtpd_txn_reset(s);
	smtpd_auth_forget(s);
	buf_reset(&s->helo);
	s->esmtp = false;
}

void smtpd_log_reject(struct smtpd_session *s, const char *qid, const char *verb, const char *reply,
		      const char *rcpt)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s: reject: %s from %s[%s]: %s;", qid != NULL ? qid : "NOQUEUE", verb,
		   s->name, s->addr, reply);
	if (s->in_mail)
		buf_printf(&b, " from=<%s>", buf_cstr(&s->sender));
	if (rcpt != NULL)
		buf_printf(&b, " to=<%s>", rcpt);
	buf_printf(&b, " proto=%s helo=<%s>", smtpd_proto(s), buf_cstr(&s->helo));
	log_info("%s", buf_cstr(&b));
	buf_deinit(&b);
}

/* do_helo - HELO and EHLO: a fresh start. */
static bool do_helo(struct smtpd_session *s, bool esmtp)
{
	struct buf b = BUF_INIT;

	smtpd_txn_reset(s);
	buf_set(&s->helo, s->cmd.arg.data, s->cmd.arg.len);
	s->esmtp = esmtp;
	if (!esmtp) {
		smtpd_reply(s, "250 %s", s->conf->hostname);
		return true;
	}
	buf_printf(&b, "250-%s\r\n250-PIPELINING\r\n", s->conf->hostname);
	if (s->conf->size_limit > 0)
		buf_printf(&b, "250-SIZE %llu\r\n", (unsigned long long)s->conf->size_limit);
	else
		buf_adds(&b, "250-SIZE\r\n");
	if (!s->conf->vrfy_disabled)
		buf_adds(&b, "250-VRFY\r\n");
	if (smtpd_tls_offered(s))
		buf_adds(&b, "250-STARTTLS\r\n");
	if (smtpd_auth_offered(s))
		buf_adds(&b, "250-AUTH " AUTH_MECHS "\r\n");
	buf_adds(&b, "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
		     "250-SMTPUTF8\r\n250 CHUNKING");
	smtpd_reply(s, "%s", buf_cstr(&b));
	buf_deinit(&b);
	return true;
}

/* do_mail - MAIL FROM: start a transaction. */
static bool do_mail(struct smtpd_session *s)
{
	struct smtpd_cmd *c = &s->cmd;
	struct err err;

	if (s->helo.len == 0) {
		smtpd_reply_error(s, "503 5.5.1 Error: send HELO/EHLO first");
		return false;
	}
	if (s->in_mail) {
		smtpd_reply_error(s, "503 5.5.1 Error: nested MAIL command");
		return false;
	}
	if (smtpd_tls_required(s)) {
		smtpd_reply_error(s, "530 5.7.0 Must issue a STARTTLS command first");
		return false;
	}
	if (s->conf->sasl_required && s->auth_user == NULL) {
		static const char r[] = "530 5.7.0 Authentication required";

		smtpd_log_reject(s, NULL, "MAIL", r, NULL);
		smtpd_reply_error(s, "%s", r);
		return false;
	}
	if ((c->params & SMTPD_PARAM_SIZE) && s->conf->size_limit > 0 &&
	    c->size > s->conf->size_limit) {
		static const char r[] = "552 5.3.4 Message size exceeds fixed limit";

		smtpd_log_reject(s, NULL, "MAIL", r, NULL);
		smtpd_reply_error(s, "%s", r);
		return false;
	}
	if ((c->params & SMTPD_PARAM_ENVID) && !qfile_text_ok(c->envid.data, c->envid.len)) {
		smtpd_reply_error(s, "501 5.5.4 Bad ENVID parameter");
		return false;
	}
	if (smtpd_check_sender(s, buf_cstr(&c->addr), &err) < 0) {
		smtpd_log_reject(s, NULL, "MAIL", err.msg, NULL);
		smtpd_reply_error(s, "%s", err.msg);
		return false;
	}
	smtpd_txn_reset(s);
	s->in_mail = true;
	buf_set(&s->sender, c->addr.data, c->addr.len);
	if (c->params & SMTPD_PARAM_ENVID) {
		buf_set(&s->envid, c->envid.data, c->envid.len);
		s->has_envid = true;
	}
	if (c->body == SMTPD_BODY_8BITMIME)
		s->qflags |= QFILE_F_8BITMIME;
	if (c->params & SMTPD_PARAM_SMTPUTF8) {
		s->qflags |= QFILE_F_SMTPUTF8;
		s->utf8 = true;
	}
	if (c->ret == SMTPD_RET_FULL)
		s->qflags |= QFILE_F_RET_FULL;
	else if (c->ret == SMTPD_RET_HDRS)
		s->qflags |= QFILE_F_RET_HDRS;
	smtpd_reply(s, "250 2.1.0 Ok");
	return true;
}

/* notify_flags - SMTPD_NOTIFY_* to QFILE_NOTIFY_*. */
static unsigned int notify_flags(unsigned int n)
{
	unsigned int q = 0;

	if (n & SMTPD_NOTIFY_NEVER)
		q |= QFILE_NOTIFY_NEVER;
	if (n & SMTPD_NOTIFY_SUCCESS)
		q |= QFILE_NOTIFY_SUCCESS;
	if (n & SMTPD_NOTIFY_FAILURE)
		q |= QFILE_NOTIFY_FAILURE;
	if (n & SMTPD_NOTIFY_DELAY)
		q |= QFILE_NOTIFY_DELAY;
	return q;
}

/* do_rcpt - RCPT TO: check and remember one recipient. */
static bool do_rcpt(struct smtpd_session *s)
{
	struct smtpd_cmd *c = &s->cmd;
	struct buf addr = BUF_INIT;
	struct smtpd_rcpt *r;
	struct err err;

	if (!s->in_mail) {
		smtpd_reply_error(s, "503 5.5.1 Error: need MAIL command");
		return false;
	}
	buf_set(&addr, c->addr.data, c->addr.len);
	if (memchr(addr.data, '@', addr.len) == NULL) /* <postmaster> */
		buf_printf(&addr, "@%s", s->conf->origin);
	if (s->nrcpt >= s->conf->rcpt_limit) {
		static const char r452[] = "452 4.5.3 Error: too many recipients";

		smtpd_log_reject(s, NULL, "RCPT", r452, buf_cstr(&addr));
		smtpd_reply_error(s, "%s", r452);
		buf_deinit(&addr);
		return false;
	}
	if ((c->params & SMTPD_PARAM_ORCPT) && !qfile_text_ok(c->orcpt.data, c->orcpt.len)) {
		smtpd_reply_error(s, "501 5.5.4 Bad ORCPT parameter");
		buf_deinit(&addr);
		return false;
	}
	if (smtpd_check_rcpt(s, buf_cstr(&addr), &err) < 0) {
		smtpd_log_reject(s, NULL, "RCPT", err.msg, buf_cstr(&addr));
		smtpd_reply_error(s, "%s", err.msg);
		buf_deinit(&addr);
		return false;
	}
	if (s->nrcpt == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap > 0 ? s->rcpt_cap * 2 : 4;
		s->rcpts = xreallocarray(s->rcpts, s->rcpt_cap, sizeof(*s->rcpts));
	}
	r = &s->rcpts[s->nrcpt++];
	r->addr = buf_steal(&addr);
	r->orcpt_type = NULL;
	r->orcpt = NULL;
	if (c->params & SMTPD_PARAM_ORCPT) {
		r->orcpt_type = xstrdup(buf_cstr(&c->orcpt_type));
		r->orcpt = xstrdup(buf_cstr(&c->orcpt));
	}
	r->notify = notify_flags(c->notify);
	smtpd_reply(s, "250 2.1.5 Ok");
	return true;
}

/* do_expn - EXPN, when enabled. */
static bool do_expn(struct smtpd_session *s)
{
	struct buf reply = BUF_INIT;
	int code;

	if (!s->conf->expn_enabled) {
		smtpd_reply_error(s, "502 5.5.1 EXPN command is disabled");
		return false;
	}
	code = smtpd_check_expn(s, s->cmd.arg.data, s->cmd.arg.len, &reply);
	if (code >= 400)
		smtpd_reply_error(s, "%s", buf_cstr(&reply));
	else
		smtpd_reply(s, "%s", buf_cstr(&reply));
	buf_deinit(&reply);
	return code < 400;
}

/* dispatch - one parsed command; true when it succeeded. */
static bool dispatch(struct smtpd_session *s)
{
	switch (s->cmd.verb) {
	case SMTPD_VERB_HELO:
		return do_helo(s, false);
	case SMTPD_VERB_EHLO:
		return do_helo(s, true);
	case SMTPD_VERB_MAIL:
		return do_mail(s);
	case SMTPD_VERB_RCPT:
		return do_rcpt(s);
	case SMTPD_VERB_DATA:
		smtpd_content_data(s);
		return false; /* counted when the message is queued */
	case SMTPD_VERB_BDAT:
		smtpd_content_bdat(s);
		return false;
	case SMTPD_VERB_RSET:
		smtpd_txn_reset(s);
		smtpd_reply(s, "250 2.0.0 Ok");
		return true;
	case SMTPD_VERB_NOOP:
		smtpd_reply(s, "250 2.0.0 Ok");
		return true;
	case SMTPD_VERB_QUIT:
		smtpd_reply(s, "221 2.0.0 Bye");
		s->quit = true;
		session_close(s);
		return true;
	case SMTPD_VERB_VRFY:
		if (s->conf->vrfy_disabled) {
			smtpd_reply_error(s, "502 5.5.1 VRFY command is disabled");
			return false;
		}
		smtpd_reply(s, "252 2.0.0 Cannot VRFY user, but will accept message "
			       "and attempt delivery");
		return true;
	case SMTPD_VERB_EXPN:
		return do_expn(s);
	case SMTPD_VERB_HELP:
		smtpd_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP "
			       "QUIT VRFY EXPN HELP STARTTLS AUTH; see RFC 5321");
		return true;
	case SMTPD_VERB_STARTTLS:
		return smtpd_tls_starttls(s);
	case SMTPD_VERB_AUTH:
		return smtpd_auth_command(s);
	case SMTPD_VERB_NONE:
		break;
	}
	smtpd_reply_error(s, "502 5.5.1 Error: command not implemented");
	return false;
}

static void on_line(struct loop_conn *conn, const char *line, size_t len, int flags, void *arg)
{
	struct smtpd_session *s = arg;
	struct err err;
	int pflags;

	if (s->closing)
		return;
	smtpd_touch(s);
	if (s->auth_state == SMTPD_AUTH_RESPONSE) {
		smtpd_auth_response(s, line, len, flags);
		return;
	}
	if (flags & LOOP_LINE_TOO_LONG) {
		s->total[SMTPD_VERB_NONE]++;
		s->last_verb = SMTPD_VERB_NONE;
		smtpd_reply_error(s, "500 5.5.2 Error: line too long");
		return;
	}
	if ((flags & LOOP_LINE_BARE_LF) && s->conf->bare_lf_reject) {
		log_info("bare <LF> received in a command from %s[%s]", s->name, s->addr);
		smtpd_reply(s, "550 5.5.2 Error: bare <LF> received");
		session_close(s);
		return;
	}
	pflags = s->esmtp ? EHLO_CMD_FLAGS : 0;
	if (s->esmtp && s->conf->sasl_enable)
		pflags |= SMTPD_CMD_EXT_AUTH;
	if (s->utf8)
		pflags |= SMTPD_CMD_TXN_UTF8;
	if (smtpd_cmd_parse(line, len, pflags, &s->cmd, &err) < 0) {
		s->total[s->cmd.verb]++;
		s->last_verb = s->cmd.verb;
		smtpd_reply_error(s, "%s", err.msg);
		return;
	}
	s->total[s->cmd.verb]++;
	s->last_verb = s->cmd.verb;
	if (dispatch(s))
		s->ok[s->cmd.verb]++;
}

static void on_data(struct loop_conn *conn, struct evbuffer *in, void *arg)
{
	struct smtpd_session *s = arg;

	if (s->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	smtpd_touch(s);
	smtpd_content_input(s, in);
}

/* log_disconnect - "disconnect from NAME[ADDR] ehlo=1 mail=1 ... commands=N",
 * a verb shown as ok/total when some failed. */
static void log_disconnect(struct smtpd_session *s)
{
	static const enum smtpd_verb order[] = {
		SMTPD_VERB_HELO, SMTPD_VERB_EHLO, SMTPD_VERB_STARTTLS, SMTPD_VERB_AUTH,
		SMTPD_VERB_MAIL, SMTPD_VERB_RCPT, SMTPD_VERB_BDAT,     SMTPD_VERB_DATA,
		SMTPD_VERB_RSET, SMTPD_VERB_NOOP, SMTPD_VERB_VRFY,     SMTPD_VERB_EXPN,
		SMTPD_VERB_HELP, SMTPD_VERB_QUIT, SMTPD_VERB_NONE,
	};
	struct buf b = BUF_INIT;
	unsigned int ok = 0, total = 0;

	buf_printf(&b, "disconnect from %s[%s]", s->name, s->addr);
	for (size_t i = 0; i < N_ELEMENTS(order); i++) {
		enum smtpd_verb v = order[i];
		const char *name = v == SMTPD_VERB_NONE ? "unknown" : smtpd_verb_name(v);

		if (s->total[v] == 0)
			continue;
		buf_addc(&b, ' ');
		for (const char *p = name; *p != '\0'; p++)
			buf_addc(&b, (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
		if (s->ok[v] == s->total[v])
			buf_printf(&b, "=%u", s->total[v]);
		else
			buf_printf(&b, "=%u/%u", s->ok[v], s->total[v]);
		ok += s->ok[v];
		total += s->total[v];
	}
	if (ok == total)
		buf_printf(&b, " commands=%u", total);
	else
		buf_printf(&b, " commands=%u/%u", ok, total);
	log_info("%s", buf_cstr(&b));
	buf_deinit(&b);
}

/* on_tls - the TLS handshake finished (STARTTLS or the smtps port). */
static void on_tls(struct loop_conn *conn, void *arg)
{
	smtpd_tls_established(arg);
}

void smtpd_session_free(struct smtpd_session *s)
{
	smtpd_peer_deinit(s);
	smtpd_session_unlink(s);
	free(s);
	server_session_end();
}

static void on_close(struct loop_conn *conn, enum loop_close why, const char *detail, void *arg)
{
	struct smtpd_session *s = arg;

	smtpd_auth_forget(s); /* cancels a callback still due */
	smtpd_peer_cancel(s);
	if (why == LOOP_CLOSE_TLS)
		log_info("SSL_accept error from %s[%s]: %s", s->name, s->addr, detail);
	if (why == LOOP_CLOSE_TIMEOUT)
		log_info("timeout after %s from %s[%s]", verb_for_log(s), s->name, s->addr);
	else if (!s->quit && !s->closing)
		log_info("lost connection after %s from %s[%s]", verb_for_log(s), s->name, s->addr);
	log_disconnect(s);
	smtpd_txn_reset(s);
	loop_timer_free(&s->idle);
	loop_timer_free(&s->sleep);
	smtpd_cmd_deinit(&s->cmd);
	buf_deinit(&s->held);
	buf_deinit(&s->helo);
	buf_deinit(&s->sender);
	buf_deinit(&s->envid);
	buf_deinit(&s->msgid);
	buf_deinit(&s->tls_info);
	xfree(&s->rcpts);
	xfree(&s->refuse);
	s->conn = NULL; /* freed by lib/loop when this returns */
	/* a commit in flight still points at s: its completion frees it (and
	 * the process, when stopping, waits for that) */
	if (s->commit == NULL)
		smtpd_session_free(s);
}
