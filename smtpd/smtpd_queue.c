/*
 * smtpd_queue.c - one message into the queue through lib/qreceive: the
 *           envelope (sender, recipients with ORCPT and NOTIFY, ENVID,
 *           RET, BODY and SMTPUTF8 flags, client name, address, port,
 *           HELO and protocol), a Received: header in Postfix's shape
 *           (with the TLS cipher and the authenticated user; the client
 *           hidden when smtpd_hide_client_address says so), then the
 *           content as it arrives, and the commit, which runs on a
 *           commit thread (lib/workq) so that the fsyncs of one message
 *           never stall the other sessions of the process.  Mail from an
 *           authenticated client gets Postfix cleanup's local fix-ups: a
 *           missing Date: and Message-ID: are added at the end of the
 *           header section (its content is held until that end is known).
 * Touches:  $queue_directory/incoming and active (through qreceive);
 *           the commit thread touches only its struct smtpd_commit.
 * Input:    parsed, canonical envelope fields (no control bytes: checked
 *           by smtpd_cmd.c, and ENVID/ORCPT again by the session) and the
 *           content from smtpd_data.c in CR LF form; stored with LF line
 *           ends (qfile_writer_text), bare CR and bare LF bytes kept.
 * Security: nothing from the client reaches a file name; held content is
 *           bounded by SMTPD_FIX_HOLD_MAX (past it, no fix-ups).
 * Errors:   write errors are sticky in the qfile writer and reported by
 *           the commit; smtpd_content_committed replies 451 4.3.0.
 * See:      lib/qreceive.h, lib/qfile.h, docs/queue-format.md.
 */
#include "sys.h"

#include <sys/time.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "qfile.h"
#include "qid.h"
#include "qreceive.h"
#include "smtpd.h"
#include "str.h"
#include "workq.h"
#include "xmem.h"

/* SMTPD_FIX_HOLD_MAX - most content held while looking for the end of the
 * header section of an authenticated client's message. */
#define SMTPD_FIX_HOLD_MAX (256 * 1024)

void smtpd_queue_fix_reset(struct smtpd_session *s)
{
	s->fix_hold = false;
	s->saw_date = false;
	s->saw_msgid = false;
	buf_deinit(&s->fix_held);
}

/* fix_headers - the missing Date: and Message-ID: lines (CR LF form). */
static void fix_headers(struct smtpd_session *s, struct buf *out)
{
	char stamp[64];
	struct tm tm;
	time_t t = time(NULL);

	localtime_r(&t, &tm);
	if (!s->saw_date) {
		if (strftime(stamp, sizeof(stamp), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
			snprintf(stamp, sizeof(stamp), "%lld", (long long)t);
		buf_printf(out, "Date: %s\r\n", stamp);
	}
	if (!s->saw_msgid) {
		if (strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
			snprintf(stamp, sizeof(stamp), "%lld", (long long)t);
		buf_printf(&s->msgid, "<%s.%s@%s>", stamp, qreceive_id(s->q), s->conf->hostname);
		buf_printf(out, "Message-ID: %s\r\n", buf_cstr(&s->msgid));
		log_info("%s: message-id=%s", qreceive_id(s->q), buf_cstr(&s->msgid));
	}
}

/* fix_release - write the held content with the missing headers added
 * where the header section ends (smtpd_data's header_end), followed by an
 * empty line when the section ended at a line that is not one. */
static void fix_release(struct smtpd_session *s)
{
	struct qfile_writer *w = qreceive_writer(s->q);
	const char *p = s->fix_held.data;
	size_t len = s->fix_held.len;
	size_t end = s->data.header_end < len ? (size_t)s->data.header_end : len;
	struct buf add = BUF_INIT;

	s->fix_hold = false;
	qfile_writer_text(w, p, end);
	if (!s->saw_date || !s->saw_msgid) {
		if (end > 0 && p[end - 1] != '\n')
			buf_adds(&add, "\r\n");
		fix_headers(s, &add);
		/* UNSAFE: end < len, so p[end] is inside; p[end + 1] only when end + 1 < len */
		if (end < len && !(p[end] == '\r' && end + 1 < len && p[end + 1] == '\n'))
			buf_adds(&add, "\r\n");
		qfile_writer_text(w, add.data, add.len);
	}
	qfile_writer_text(w, p + end, len - end);
	buf_deinit(&add);
	buf_deinit(&s->fix_held);
}

/* queue_body - smtpd_data sink: content bytes into the queue file (held
 * while fix-ups wait for the end of the header section). */
static void queue_body(void *ctx, const char *p, size_t n)
{
	struct smtpd_session *s = ctx;

	if (s->q == NULL)
		return;
	if (!s->fix_hold) {
		qfile_writer_text(qreceive_writer(s->q), p, n);
		return;
	}
	buf_add(&s->fix_held, p, n);
	if (!s->data.in_header) {
		fix_release(s);
	} else if (s->fix_held.len > SMTPD_FIX_HOLD_MAX) {
		log_warn("%s: header section longer than %d bytes: no Date/Message-ID fix-ups",
			 qreceive_id(s->q), SMTPD_FIX_HOLD_MAX);
		s->fix_hold = false;
		qfile_writer_text(qreceive_writer(s->q), s->fix_held.data, s->fix_held.len);
		buf_deinit(&s->fix_held);
	}
}

/* header_is - the logical header p[0..len) is field name (with ':'). */
static bool header_is(const char *p, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && str_has_prefix_ci(p, name);
}

/* queue_header - smtpd_data sink: note Date and Message-ID, log the
 * Message-ID once. */
static void queue_header(void *ctx, const char *p, size_t len)
{
	static const char name[] = "message-id:";
	struct smtpd_session *s = ctx;
	struct buf clean = BUF_INIT;
	size_t i = sizeof(name) - 1;

	if (header_is(p, len, "date:"))
		s->saw_date = true;
	if (!header_is(p, len, name))
		return;
	s->saw_msgid = true;
	if (s->msgid.len > 0 || len <= i)
		return;
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	while (len > i && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (i == len)
		return;
	str_sanitize(&clean, p + i, len - i, 250);
	buf_set(&s->msgid, clean.data, clean.len);
	buf_deinit(&clean);
	log_info("%s: message-id=%s", smtpd_queue_id(s), buf_cstr(&s->msgid));
}

const struct smtpd_data_sink smtpd_queue_sink = {queue_body, queue_header};

const char *smtpd_queue_id(const struct smtpd_session *s)
{
	return s->q != NULL ? qreceive_id(s->q) : "NOQUEUE";
}

/* received_header - Postfix's shape, LF line ends:
 *   Received: from HELO (NAME [ADDR])        (left out: hidden client)
 *           (using TLSv1.3 with cipher ...)  (TLS)
 *           (Authenticated sender: USER)     (AUTH)
 *           by HOST (tern) with ESMTPSA id QID
 *           for <RCPT>; DATE                  (one recipient)
 * or "id QID;" and the date on its own line. */
static void received_header(struct smtpd_session *s, const struct timeval *tv, struct buf *out)
{
	char date[64];
	struct tm tm;
	time_t t = tv->tv_sec;
	const char *sep = "";

	localtime_r(&t, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
		snprintf(date, sizeof(date), "%lld", (long long)t);
	buf_adds(out, "Received: ");
	if (s->auth_user == NULL || !s->conf->hide_client) {
		buf_printf(out, "from %s (%s [%s])", buf_cstr(&s->helo), s->name, s->addr);
		sep = "\n\t";
	}
	if (s->tls_info.len > 0) {
		buf_printf(out, "%s(using %s)", sep, buf_cstr(&s->tls_info));
		sep = "\n\t";
	}
	if (s->auth_user != NULL) {
		buf_printf(out, "%s(Authenticated sender: %s)", sep, s->auth_user);
		sep = "\n\t";
	}
	buf_printf(out, "%sby %s (tern) with %s id %s", sep, s->conf->hostname, smtpd_proto(s),
		   qreceive_id(s->q));
	if (s->nrcpt == 1)
		buf_printf(out, "\n\tfor <%s>; %s\n", s->rcpts[0].addr, date);
	else
		buf_printf(out, ";\n\t%s\n", date);
}

int smtpd_queue_begin(struct smtpd_session *s, struct err *err)
{
	struct qfile_writer *w;
	struct buf recv = BUF_INIT;
	struct timeval tv;

	s->q = qreceive_begin(s->conf->queue_dir, err);
	if (s->q == NULL)
		return -1;
	w = qreceive_writer(s->q);
	gettimeofday(&tv, NULL);
	qfile_writer_arrival(w, &tv);
	qfile_writer_flags(w, s->qflags);
	if (s->has_envid)
		qfile_writer_envid(w, buf_cstr(&s->envid));
	qfile_writer_sender(w, buf_cstr(&s->sender));
	qfile_writer_client(w, s->name, s->addr, s->port, buf_cstr(&s->helo), smtpd_proto(s));
	for (size_t i = 0; i < s->nrcpt; i++) {
		const struct smtpd_rcpt *r = &s->rcpts[i];

		qfile_writer_rcpt(w, r->addr, r->orcpt_type, r->orcpt, r->notify);
	}
	received_header(s, &tv, &recv);
	qfile_writer_content(w, recv.data, recv.len);
	buf_deinit(&recv);
	smtpd_queue_fix_reset(s);
	s->fix_hold = s->auth_user != NULL;
	if (s->auth_user != NULL)
		log_info("%s: client=%s[%s], sasl_method=%s, sasl_username=%s", qreceive_id(s->q),
			 s->name, s->addr, s->auth_mech, s->auth_user);
	else
		log_info("%s: client=%s[%s]", qreceive_id(s->q), s->name, s->addr);
	return 0;
}

/* struct smtpd_commit - one message on its way to active/: the commit
 * thread owns q, rc and err until commit_done runs on the loop thread. */
struct smtpd_commit {
	struct smtpd_session *s;
	struct qreceive *q;
	enum smtpd_verb verb;
	char qid[QID_SIZE];
	int rc;
	struct err err;
};

/* commit_work - commit thread: END record, fsync, rename, fsync active/
 * (the blocking part; touches nothing but the job). */
static void commit_work(void *arg)
{
	struct smtpd_commit *c = arg;

	c->rc = qreceive_commit(c->q, &c->err);
}

/* commit_done - loop thread: the reply, then the job is gone. */
static void commit_done(void *arg)
{
	struct smtpd_commit *c = arg;
	struct smtpd_session *s = c->s;

	s->commit = NULL;
	qreceive_free(&c->q); /* a failed commit has removed the file already */
	smtpd_content_committed(s, c->verb, c->qid, c->rc == 0 ? NULL : c->err.msg);
	free(c);
}

int smtpd_queue_commit(struct smtpd_session *s, enum smtpd_verb verb, struct err *err)
{
	struct smtpd_commit *c;

	if (s->q == NULL)
		return err_set(err, "no queue file");
	if (s->fix_hold)
		fix_release(s);
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	c->q = s->q;
	c->verb = verb;
	snprintf(c->qid, sizeof(c->qid), "%s", qreceive_id(s->q));
	s->q = NULL;
	s->commit = c;
	workq_submit(s->conf->commit_wq, commit_work, commit_done, c);
	return 0;
}
