/*
 * smtpd_content.c - DATA and BDAT (RFC 3030 CHUNKING): the commands, the
 *           raw-mode input that streams the content through smtpd_data.c
 *           into the queue file as it arrives, and the final reply, sent
 *           only after the queue file and its directory are on disk: the
 *           commit runs on a commit thread while the session reads
 *           nothing (smtpd_queue.c), and the reply follows its completion.
 * Touches:  the client connection's input buffer (read in place with
 *           evbuffer_peek, no copy); the queue file through smtpd_queue.c;
 *           qmgr's socket (qreceive_notify_async) after a 250.
 * Input:    untrusted content of any size; memory stays bounded (lib/loop
 *           stops reading at its high-water mark; nothing is kept whole).
 * Security: the end of DATA is CR LF . CR LF only (smtpd_data.c): SMTP
 *           smuggling cannot split a message.  A BDAT chunk is always read
 *           to its end, even when it is refused, so its bytes never become
 *           commands.
 * Errors:   552 5.3.4 for an oversize message (read to its end, dropped),
 *           550 5.5.2 for bare LF with smtpd_forbid_bare_newline = reject,
 *           451 4.3.0 when the queue file cannot be written or synced,
 *           503 5.5.1 for a BDAT after a failed BDAT.
 * See:      RFC 5321 4.1.1.4, RFC 3030, smtpd_data.h, docs/smtpd.md.
 */
#include "sys.h"

#include <event2/buffer.h>

#include "err.h"
#include "log.h"
#include "loop.h"
#include "qreceive.h"
#include "smtpd.h"

/* PEEK_VECS - buffer segments looked at per round. */
#define PEEK_VECS 8

void smtpd_content_abort(struct smtpd_session *s)
{
	if (s->data_open) {
		smtpd_data_deinit(&s->data);
		s->data_open = false;
	}
	if (s->q != NULL) {
		qreceive_abort(s->q);
		qreceive_free(&s->q);
	}
	if (s->phase != SMTPD_PHASE_CMD) {
		s->phase = SMTPD_PHASE_CMD;
		loop_conn_set_raw(s->conn, false);
	}
}

/* content_ready - the checks DATA and BDAT share; NULL or the reply. */
static const char *content_ready(struct smtpd_session *s)
{
	if (!s->in_mail)
		return "503 5.5.1 Error: need MAIL command";
	if (s->nrcpt == 0)
		return "554 5.5.1 Error: no valid recipients";
	return NULL;
}

/* open_message - create the queue file and the reader on first content;
 * -1 after logging (the reply is 451 4.3.0). */
static int open_message(struct smtpd_session *s, int flags)
{
	struct err err;

	if (s->q == NULL && smtpd_queue_begin(s, &err) < 0) {
		log_error("cannot create a queue file for %s[%s]: %s", s->name, s->addr, err.msg);
		return -1;
	}
	if (!s->data_open) {
		smtpd_data_init(&s->data, flags, s->conf->size_limit, s->conf->line_max,
				&smtpd_queue_sink, s);
		s->data_open = true;
	}
	return 0;
}

/* finish_message - the content is all in: refuse it, or hand it to a
 * commit thread (input paused until smtpd_content_committed); end the
 * transaction.  verb is DATA or BDAT for the counters. */
static void finish_message(struct smtpd_session *s, enum smtpd_verb verb)
{
	const char *verb_name = smtpd_verb_name(verb);
	char qid[64];
	struct err err;

	snprintf(qid, sizeof(qid), "%s", smtpd_queue_id(s));
	if (s->data.too_big) {
		static const char r[] = "552 5.3.4 Message size exceeds fixed limit";

		smtpd_log_reject(s, qid, verb_name, r, NULL);
		smtpd_reply_error(s, "%s", r);
	} else if (verb == SMTPD_VERB_DATA && s->conf->bare_lf_reject && s->data.bare_lf > 0) {
		static const char r[] = "550 5.5.2 Error: bare <LF> received";

		smtpd_log_reject(s, qid, verb_name, r, NULL);
		smtpd_reply_error(s, "%s", r);
	} else if (smtpd_queue_commit(s, verb, &err) < 0) {
		log_error("%s: cannot queue the message from %s[%s]: %s", qid, s->name, s->addr,
			  err.msg);
		smtpd_reply_error(s, "451 4.3.0 Error: queue file write error");
	} else {
		/* no command is read (pipelined ones stay buffered) and no
		 * timer runs until the reply is sent */
		loop_conn_pause(s->conn, true);
		loop_timer_del(s->idle);
	}
	smtpd_txn_reset(s);
}

void smtpd_content_committed(struct smtpd_session *s, enum smtpd_verb verb, const char *qid,
			     const char *error)
{
	if (error != NULL)
		log_error("%s: cannot queue the message from %s[%s]: %s", qid, s->name, s->addr,
			  error);
	if (s->conn == NULL) {
		/* the client left meanwhile: the message stays (a 250 never
		 * sent makes it send again: a duplicate at worst) */
		if (error == NULL)
			qreceive_notify_async(s->conf->base, s->conf->cfg, qid);
		smtpd_session_free(s);
		return;
	}
	if (error != NULL) {
		smtpd_reply_error(s, "451 4.3.0 Error: queue file write error");
	} else {
		/* qmgr logs "from=<...>, size=N, nrcpt=N (queue active)" as
		 * Postfix's does; the notify never delays this reply. */
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", qid);
		qreceive_notify_async(s->conf->base, s->conf->cfg, qid);
		s->ok[verb]++;
	}
	smtpd_touch(s);
	smtpd_session_resume(s);
}

void smtpd_content_data(struct smtpd_session *s)
{
	const char *refuse = content_ready(s);

	if (refuse == NULL && s->bdat_seen)
		refuse = "503 5.5.1 Error: DATA after BDAT";
	if (refuse != NULL) {
		smtpd_reply_error(s, "%s", refuse);
		return;
	}
	if (open_message(s, 0) < 0) {
		smtpd_reply_error(s, "451 4.3.0 Error: queue file write error");
		smtpd_txn_reset(s);
		return;
	}
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	s->phase = SMTPD_PHASE_DATA;
	loop_conn_set_raw(s->conn, true);
}

/* bdat_done - the chunk is read: its reply. */
static void bdat_done(struct smtpd_session *s)
{
	s->phase = SMTPD_PHASE_CMD;
	loop_conn_set_raw(s->conn, false);
	if (s->bdat_error != NULL) {
		smtpd_reply_error(s, "%s", s->bdat_error);
		s->bdat_error = NULL;
		if (s->in_mail)
			s->bdat_failed = true;
		return;
	}
	if (s->data.too_big) {
		static const char r[] = "552 5.3.4 Message size exceeds fixed limit";

		smtpd_log_reject(s, smtpd_queue_id(s), "BDAT", r, NULL);
		smtpd_reply_error(s, "%s", r);
		smtpd_content_abort(s);
		s->bdat_failed = true;
		return;
	}
	if (!s->bdat_last) {
		smtpd_reply(s, "250 2.0.0 Ok: %llu bytes", (unsigned long long)s->data.size);
		s->ok[SMTPD_VERB_BDAT]++;
		return;
	}
	smtpd_data_finish(&s->data);
	finish_message(s, SMTPD_VERB_BDAT);
}

void smtpd_content_bdat(struct smtpd_session *s)
{
	const char *refuse = content_ready(s);

	if (refuse == NULL && s->bdat_failed)
		refuse = "503 5.5.1 Error: BDAT after failed BDAT";
	if (refuse == NULL && open_message(s, SMTPD_DATA_CHUNKED) < 0)
		refuse = "451 4.3.0 Error: queue file write error";
	s->bdat_seen = true;
	s->bdat_error = refuse;
	s->bdat_left = s->cmd.size;
	s->bdat_last = s->cmd.last;
	if (s->bdat_left == 0) {
		bdat_done(s);
		return;
	}
	s->phase = SMTPD_PHASE_BDAT;
	loop_conn_set_raw(s->conn, true);
}

/* feed_data - DATA: feed what is buffered; at the end, finish. */
static void feed_data(struct smtpd_session *s, struct evbuffer *in)
{
	struct evbuffer_iovec vec[PEEK_VECS];
	int n = evbuffer_peek(in, -1, NULL, vec, PEEK_VECS);
	size_t used = 0;

	if (n > PEEK_VECS)
		n = PEEK_VECS;
	for (int i = 0; i < n && !smtpd_data_done(&s->data); i++)
		used += smtpd_data_feed(&s->data, vec[i].iov_base, vec[i].iov_len);
	evbuffer_drain(in, used);
	if (!smtpd_data_done(&s->data))
		return;
	s->phase = SMTPD_PHASE_CMD;
	loop_conn_set_raw(s->conn, false);
	finish_message(s, SMTPD_VERB_DATA);
}

/* feed_bdat - BDAT: take up to the chunk's remaining bytes. */
static void feed_bdat(struct smtpd_session *s, struct evbuffer *in)
{
	struct evbuffer_iovec vec[PEEK_VECS];
	int n = evbuffer_peek(in, -1, NULL, vec, PEEK_VECS);
	size_t used = 0;

	if (n > PEEK_VECS)
		n = PEEK_VECS;
	for (int i = 0; i < n && s->bdat_left > 0; i++) {
		size_t take = vec[i].iov_len;

		if (take > s->bdat_left)
			take = (size_t)s->bdat_left;
		if (s->bdat_error == NULL)
			smtpd_data_feed(&s->data, vec[i].iov_base, take);
		s->bdat_left -= take;
		used += take;
	}
	evbuffer_drain(in, used);
	if (s->bdat_left == 0)
		bdat_done(s);
}

void smtpd_content_input(struct smtpd_session *s, struct evbuffer *in)
{
	if (s->phase == SMTPD_PHASE_DATA)
		feed_data(s, in);
	else if (s->phase == SMTPD_PHASE_BDAT)
		feed_bdat(s, in);
	else
		loop_conn_set_raw(s->conn, false);
}
