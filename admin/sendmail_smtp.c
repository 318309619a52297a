/*
 * sendmail_smtp.c - sendmail -bs: an SMTP conversation on stdin/stdout, as
 * user agents that speak SMTP to a local program expect.  Commands are
 * parsed by smtpd's own parser (smtpd/smtpd_cmd.c); each message is handed
 * to pickup as the invoking user, like sendmail -bm.
 * Touches:  stdin, stdout; public/pickup through sendmail_submit.c.
 * Input:    untrusted lines from the user's program, capped at
 *           SMTPD_CMD_LINE_MAX; the message at message_size_limit.
 * Security: runs as the invoking user, no privileges.
 * Errors:   SMTP replies; pickup trouble is 451 4.3.0, a refused envelope
 *           554 5.5.4.  EOF ends the session with status 0.
 * Limits:   one NOTIFY for the whole message (the first RCPT's); ORCPT is
 *           accepted and not recorded; no BDAT, STARTTLS or AUTH.
 * See:      RFC 5321, sendmail.h, smtpd/smtpd_cmd.h.
 */
#include "sys.h"

#include <sysexits.h>

#include "admin/sendmail.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "proto.h"
#include "qfile.h"
#include "smtpd/smtpd_cmd.h"
#include "xmem.h"

#define SMTP_FLAGS                                                                                 \
	(SMTPD_CMD_EXT_SIZE | SMTPD_CMD_EXT_8BITMIME | SMTPD_CMD_EXT_SMTPUTF8 | SMTPD_CMD_EXT_DSN)

struct smtp_txn {
	bool mail;
	char *sender;
	char *envid;
	unsigned int flags; /* PICKUP_F_* */
	unsigned int notify;
	char **rcpts;
	size_t nrcpt, cap;
};

/* txn_reset - forget the transaction (RSET, after DATA). */
static void txn_reset(struct smtp_txn *t)
{
	for (size_t i = 0; i < t->nrcpt; i++)
		free(t->rcpts[i]);
	free(t->rcpts);
	free(t->sender);
	free(t->envid);
	memset(t, 0, sizeof(*t));
}

/* reply - one reply line, flushed. */
static void reply(FILE *out, const char *text)
{
	fprintf(out, "%s\r\n", text);
	fflush(out);
}

/* read_line - one line without its CRLF/LF; 1 line, 0 EOF, -1 too long
 * (the rest of the line is read and dropped). */
static int read_line(FILE *in, struct buf *line)
{
	int ch;
	bool too_long = false;

	buf_reset(line);
	while ((ch = getc(in)) != EOF && ch != '\n') {
		if (line->len < SMTPD_CMD_LINE_MAX)
			buf_addc(line, (char)ch);
		else if (line->len >= SMTPD_CMD_LINE_MAX && !too_long)
			too_long = ch != '\r';
	}
	if (ch == EOF && line->len == 0)
		return 0;
	if (line->len > 0 && line->data[line->len - 1] == '\r')
		buf_truncate(line, line->len - 1);
	return too_long ? -1 : 1;
}

/* do_data - DATA: read the content up to ".", unstuffed, and submit it. */
static void do_data(struct cfg *cfg, struct smtp_txn *t, FILE *in, FILE *out)
{
	uint64_t limit = (uint64_t)cfg_get_int(cfg, "message_size_limit");
	struct buf msg = BUF_INIT, line = BUF_INIT, qid = BUF_INIT, r = BUF_INIT;
	struct sendmail_msg m;
	struct err err;
	bool too_big = false, eof = true;
	int rc;

	reply(out, "354 End data with <CR><LF>.<CR><LF>");
	while ((rc = read_line(in, &line)) != 0) {
		const char *p = buf_cstr(&line);
		size_t n = line.len;

		if (rc > 0 && n == 1 && p[0] == '.') {
			eof = false;
			break;
		}
		if (n > 0 && p[0] == '.') {
			p++;
			n--;
		}
		if (limit > 0 && msg.len + n + 1 > limit)
			too_big = true;
		if (!too_big) {
			buf_add(&msg, p, n);
			buf_addc(&msg, '\n');
		}
	}
	if (eof) {
		/* The client went away mid-message: nothing is queued. */
	} else if (too_big) {
		reply(out, "552 5.3.4 Message size exceeds fixed limit");
	} else {
		memset(&m, 0, sizeof(m));
		m.sender = t->sender;
		m.rcpts = t->rcpts;
		m.nrcpt = t->nrcpt;
		m.flags = t->flags;
		m.notify = t->notify;
		m.envid = t->envid;
		m.data = buf_cstr(&msg);
		m.len = msg.len;
		if (!(t->flags & PICKUP_F_8BITMIME) && sendmail_8bit(m.data, m.len))
			m.flags |= PICKUP_F_8BITMIME;
		if (sendmail_submit(cfg, &m, &qid, &err) < 0)
			buf_printf(&r, "%s %s", err.code == EX_DATAERR ? "554 5.5.4" : "451 4.3.0",
				   err.msg);
		else
			buf_printf(&r, "250 2.0.0 Ok: queued as %s", buf_cstr(&qid));
		reply(out, buf_cstr(&r));
	}
	txn_reset(t);
	buf_deinit(&msg);
	buf_deinit(&line);
	buf_deinit(&qid);
	buf_deinit(&r);
}

/* do_mail - MAIL FROM: start a transaction. */
static void do_mail(struct cfg *cfg, struct smtp_txn *t, const struct smtpd_cmd *cmd, FILE *out)
{
	uint64_t limit = (uint64_t)cfg_get_int(cfg, "message_size_limit");

	if (t->mail) {
		reply(out, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if ((cmd->params & SMTPD_PARAM_SIZE) && limit > 0 && cmd->size > limit) {
		reply(out, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	t->mail = true;
	t->sender = xstrdup(buf_cstr(&cmd->addr));
	if (cmd->body == SMTPD_BODY_8BITMIME)
		t->flags |= PICKUP_F_8BITMIME;
	if (cmd->params & SMTPD_PARAM_SMTPUTF8)
		t->flags |= PICKUP_F_SMTPUTF8;
	if (cmd->ret == SMTPD_RET_FULL)
		t->flags |= PICKUP_F_RET_FULL;
	else if (cmd->ret == SMTPD_RET_HDRS)
		t->flags |= PICKUP_F_RET_HDRS;
	if (cmd->params & SMTPD_PARAM_ENVID)
		t->envid = xstrdup(buf_cstr(&cmd->envid));
	reply(out, "250 2.1.0 Ok");
}

/* do_rcpt - RCPT TO: one more recipient. */
static void do_rcpt(struct cfg *cfg, struct smtp_txn *t, const struct smtpd_cmd *cmd, FILE *out)
{
	if (!t->mail) {
		reply(out, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (t->nrcpt >= (size_t)cfg_get_int(cfg, "pickup_recipient_limit")) {
		reply(out, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (t->nrcpt == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->rcpts = xreallocarray(t->rcpts, t->cap, sizeof(*t->rcpts));
	}
	t->rcpts[t->nrcpt++] = xstrdup(buf_cstr(&cmd->addr));
	if (t->nrcpt == 1 && (cmd->params & SMTPD_PARAM_NOTIFY)) {
		unsigned int n = cmd->notify;

		t->notify = ((n & SMTPD_NOTIFY_NEVER) ? QFILE_NOTIFY_NEVER : 0) |
			    ((n & SMTPD_NOTIFY_SUCCESS) ? QFILE_NOTIFY_SUCCESS : 0) |
			    ((n & SMTPD_NOTIFY_FAILURE) ? QFILE_NOTIFY_FAILURE : 0) |
			    ((n & SMTPD_NOTIFY_DELAY) ? QFILE_NOTIFY_DELAY : 0);
	}
	reply(out, "250 2.1.5 Ok");
}

/* do_ehlo - HELO or EHLO. */
static void do_ehlo(struct cfg *cfg, struct smtp_txn *t, const struct smtpd_cmd *cmd, FILE *out)
{
	const char *host = cfg_get(cfg, "myhostname");

	txn_reset(t);
	if (cmd->verb == SMTPD_VERB_HELO) {
		fprintf(out, "250 %s\r\n", host);
	} else {
		fprintf(out,
			"250-%s\r\n250-PIPELINING\r\n250-SIZE %ld\r\n250-8BITMIME\r\n"
			"250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 DSN\r\n",
			host, cfg_get_int(cfg, "message_size_limit"));
	}
	fflush(out);
}

int sendmail_smtp(struct cfg *cfg, FILE *in, FILE *out)
{
	struct smtp_txn t;
	struct smtpd_cmd cmd;
	struct buf line = BUF_INIT;
	struct err err;
	int rc;

	memset(&t, 0, sizeof(t));
	smtpd_cmd_init(&cmd);
	fprintf(out, "220 %s ESMTP tern\r\n", cfg_get(cfg, "myhostname"));
	fflush(out);
	while ((rc = read_line(in, &line)) != 0) {
		if (rc < 0) {
			reply(out, "500 5.5.0 Error: line too long");
			continue;
		}
		if (smtpd_cmd_parse(buf_cstr(&line), line.len, SMTP_FLAGS, &cmd, &err) < 0) {
			reply(out, err.msg);
			continue;
		}
		switch (cmd.verb) {
		case SMTPD_VERB_HELO:
		case SMTPD_VERB_EHLO:
			do_ehlo(cfg, &t, &cmd, out);
			break;
		case SMTPD_VERB_MAIL:
			do_mail(cfg, &t, &cmd, out);
			break;
		case SMTPD_VERB_RCPT:
			do_rcpt(cfg, &t, &cmd, out);
			break;
		case SMTPD_VERB_DATA:
			if (t.nrcpt == 0)
				reply(out, "503 5.5.1 Error: need RCPT command");
			else
				do_data(cfg, &t, in, out);
			break;
		case SMTPD_VERB_RSET:
			txn_reset(&t);
			reply(out, "250 2.0.0 Ok");
			break;
		case SMTPD_VERB_NOOP:
			reply(out, "250 2.0.0 Ok");
			break;
		case SMTPD_VERB_VRFY:
			reply(out, "252 2.0.0 Cannot VRFY; send some mail");
			break;
		case SMTPD_VERB_HELP:
			reply(out, "214 2.0.0 See RFC 5321");
			break;
		case SMTPD_VERB_QUIT:
			reply(out, "221 2.0.0 Bye");
			goto done;
		default:
			reply(out, "502 5.5.1 Error: command not implemented");
			break;
		}
	}
done:
	txn_reset(&t);
	smtpd_cmd_deinit(&cmd);
	buf_deinit(&line);
	return 0;
}
