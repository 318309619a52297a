/*
 * smtpd_queue.c - one message into the queue through lib/qreceive: the
 *           envelope (sender, recipients with ORCPT and NOTIFY, ENVID,
 *           RET, BODY and SMTPUTF8 flags, client name, address, port,
 *           HELO and protocol), a Received: header in Postfix's shape,
 *           then the content as it arrives, and the commit.
 * Touches:  $queue_directory/incoming and active (through qreceive).
 * Input:    parsed, canonical envelope fields (no control bytes: checked
 *           by smtpd_cmd.c, and ENVID/ORCPT again by the session) and the
 *           content from smtpd_data.c in CR LF form; stored with LF line
 *           ends (qfile_writer_text), bare CR and bare LF bytes kept.
 * Security: nothing from the client reaches a file name.
 * Errors:   write errors are sticky in the qfile writer and reported by
 *           smtpd_queue_commit; the caller replies 451 4.3.0.
 * See:      lib/qreceive.h, lib/qfile.h, docs/queue-format.md.
 */
#include "sys.h"

#include <sys/time.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "qfile.h"
#include "qreceive.h"
#include "smtpd.h"
#include "str.h"

/* queue_body - smtpd_data sink: content bytes into the queue file. */
static void queue_body(void *ctx, const char *p, size_t n)
{
	struct smtpd_session *s = ctx;

	if (s->q != NULL)
		qfile_writer_text(qreceive_writer(s->q), p, n);
}

/* queue_header - smtpd_data sink: log the Message-ID once. */
static void queue_header(void *ctx, const char *p, size_t len)
{
	static const char name[] = "message-id:";
	struct smtpd_session *s = ctx;
	struct buf clean = BUF_INIT;
	size_t i = sizeof(name) - 1;

	if (s->msgid.len > 0 || len <= i || !str_has_prefix_ci(p, name))
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
 *   Received: from HELO (NAME [ADDR])
 *           by HOST (tern) with ESMTP id QID
 *           for <RCPT>; DATE                  (one recipient)
 * or "id QID;" and the date on its own line. */
static void received_header(struct smtpd_session *s, const struct timeval *tv, struct buf *out)
{
	char date[64];
	struct tm tm;
	time_t t = tv->tv_sec;

	localtime_r(&t, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
		snprintf(date, sizeof(date), "%lld", (long long)t);
	buf_printf(out, "Received: from %s (%s [%s])\n\tby %s (tern) with %s id %s",
		   buf_cstr(&s->helo), s->name, s->addr, s->conf->hostname, smtpd_proto(s),
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
	log_info("%s: client=%s[%s]", qreceive_id(s->q), s->name, s->addr);
	return 0;
}

int smtpd_queue_commit(struct smtpd_session *s, struct err *err)
{
	int rc;

	if (s->q == NULL)
		return err_set(err, "no queue file");
	rc = qreceive_commit(s->q, err);
	if (rc < 0)
		qreceive_abort(s->q);
	return rc;
}
