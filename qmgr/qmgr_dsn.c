/*
 * qmgr_dsn.c - queue a delivery status notification for a message in the
 *              active set: read what RET asks for from its queue file (the
 *              whole message up to $bounce_size_limit, else its header),
 *              build the report with lib/dsn and commit it with lib/qreceive
 *              as a new message from <> to the original sender.
 * Touches:  reads active/QID through the open descriptor; creates a new
 *           queue file (incoming/ then active/) through qreceive.
 * Input:    the original content is copied into the report as it is; its
 *           size is bounded by bounce_size_limit (header: the same bound).
 * Security: runs as the mail owner; the report goes only to the envelope
 *           sender of the original, never to <>.
 * Errors:   -1 with err when the report could not be queued; the caller
 *           keeps its log so the next round tries again.
 * See:      lib/dsn.h, docs/qmgr.md "Delivery status notifications".
 */
#include "sys.h"

#include <sys/time.h>

#include "buf.h"
#include "dsn.h"
#include "err.h"
#include "log.h"
#include "qfile.h"
#include "qmgr.h"
#include "qreceive.h"

/* read_content - up to max bytes of the message (headers_only: stop after
 * the header block).  *complete_r tells whether all requested bytes fit. */
static void read_content(struct qmgr_message *m, size_t max, bool headers_only, struct buf *out,
			 bool *complete_r)
{
	struct qfile_content_reader *r = qfile_content_reader_new(m->fd, &m->env);
	struct buf chunk = BUF_INIT;
	struct err err;
	int rc;

	*complete_r = false;
	while ((rc = qfile_content_read(r, &chunk, &err)) > 0) {
		buf_add(out, chunk.data, chunk.len);
		if (headers_only && dsn_header_len(out->data, out->len) < out->len) {
			buf_truncate(out, dsn_header_len(out->data, out->len));
			*complete_r = true;
			break;
		}
		if (out->len > max)
			break;
	}
	if (rc == 0)
		*complete_r = out->len <= max;
	if (rc < 0)
		log_warn("%s: reading the message for a notification: %s", m->qid, err.msg);
	if (out->len > max) {
		/* keep whole header lines only */
		buf_truncate(out, max);
		while (out->len > 0 && out->data[out->len - 1] != '\n')
			buf_truncate(out, out->len - 1);
	}
	buf_deinit(&chunk);
	qfile_content_reader_free(&r);
}

/* original_part - the content to return and whether it is the whole
 * message: failures return it whole unless RET=HDRS, it is binary or it is
 * over bounce_size_limit; delay and success reports return the header. */
static bool original_part(struct qmgr_message *m, enum dsn_kind kind, struct buf *out)
{
	bool complete;
	size_t max = m->q->bounce_size_limit;

	if (kind == DSN_FAILURE && !(m->env.flags & (QFILE_F_RET_HDRS | QFILE_F_BINARYMIME)) &&
	    m->env.content_size <= max) {
		read_content(m, max, false, out, &complete);
		if (complete)
			return true;
		buf_reset(out);
	}
	read_content(m, max > 0 ? max : 65536, true, out, &complete);
	return false;
}

/* what - the log line's name for a kind of report. */
static const char *what(enum dsn_kind kind)
{
	switch (kind) {
	case DSN_FAILURE:
		return "sender non-delivery notification";
	case DSN_DELAY:
		return "sender delay notification";
	case DSN_SUCCESS:
		break;
	}
	return "sender delivery status notification";
}

int qmgr_dsn_send(struct qmgr_message *m, enum dsn_kind kind, const struct dsn_rcpt *rcpts,
		  size_t n, struct err *err)
{
	struct dsn_msg d = {0};
	struct buf content = BUF_INIT, report = BUF_INIT;
	struct qreceive *qr;
	struct qfile_writer *w;
	struct timeval now;
	unsigned int flags = 0;
	char id[QID_SIZE];
	int rc = -1;

	gettimeofday(&now, NULL);
	d.kind = kind;
	d.reporting_mta = m->q->hostname;
	d.queue_id = m->qid;
	d.sender = m->env.sender;
	d.envid = m->env.envid;
	d.arrival = m->env.arrival.tv_sec;
	d.now = now.tv_sec;
	d.retry_until = kind == DSN_DELAY ? m->env.arrival.tv_sec + (m->env.sender[0] == '\0'
									     ? m->q->bounce_lifetime
									     : m->q->max_lifetime)
					  : 0;
	d.rcpts = rcpts;
	d.rcpt_count = n;
	d.utf8 = (m->env.flags & QFILE_F_SMTPUTF8) != 0;
	d.content_full = original_part(m, kind, &content);
	d.content = content.data != NULL ? content.data : "";
	d.content_len = content.len;
	if (dsn_build(&d, &report, err) < 0)
		goto out;
	if (dsn_has_8bit(report.data, report.len))
		flags |= d.utf8 ? (QFILE_F_SMTPUTF8 | QFILE_F_8BITMIME) : QFILE_F_8BITMIME;
	if ((qr = qreceive_begin(m->q->queue_dir, err)) == NULL)
		goto out;
	w = qreceive_writer(qr);
	qfile_writer_arrival(w, &now);
	qfile_writer_flags(w, flags);
	qfile_writer_sender(w, "");
	qfile_writer_client(w, NULL, NULL, 0, NULL, "local");
	qfile_writer_rcpt(w, m->env.sender, NULL, NULL, 0);
	qfile_writer_content(w, report.data, report.len);
	if (qreceive_commit(qr, err) < 0) {
		qreceive_free(&qr);
		goto out;
	}
	memcpy(id, qreceive_id(qr), QID_SIZE);
	qreceive_free(&qr);
	log_info("%s: %s: %s", m->qid, what(kind), id);
	qmgr_waiting_push(m->q, id);
	qmgr_kick(m->q);
	rc = 0;
out:
	buf_deinit(&content);
	buf_deinit(&report);
	return rc;
}
