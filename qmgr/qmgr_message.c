/*
 * qmgr_message.c - one message's delivery round: load active/QID, send its
 *                  PENDING recipients to the scheduler grouped by transport
 *                  and destination, collect the outcomes, and at the end of
 *                  the round return notifications (success, failure, delay),
 *                  expire it, move it to deferred/ with its next retry time,
 *                  or remove it.
 * Touches:  active/QID (read, status bytes, mtime, rename or unlink),
 *           deferred/, corrupt/, defer/QID and bounce/QID.
 * Input:    queue files are validated by qfile_read_envelope before use;
 *           the file is read again at the end of the round, so what the
 *           agents marked DONE on disk is the truth, not their replies.
 * Security: runs as the mail owner.
 * Errors:   a vanished file is forgotten (an administrator moved or removed
 *           it); a corrupt one goes to corrupt/; a notification that cannot
 *           be queued keeps its log and the message is retried later.
 * See:      docs/queue-format.md "Why a crash loses nothing", docs/qmgr.md.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "defer_log.h"
#include "err.h"
#include "log.h"
#include "proto.h"
#include "qmgr.h"
#include "resolve.h"
#include "str.h"
#include "tbl.h"
#include "transport.h"
#include "xmem.h"

/* message_free - leave the active set (the file is dealt with already). */
static void message_free(struct qmgr_message *m)
{
	struct qmgr *q = m->q;
	size_t i;

	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		q->messages = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	qmgr_map_del(&q->known, m->qid);
	for (i = 0; i < m->nsucc; i++) {
		free(m->succ[i].dsn);
		free(m->succ[i].reason);
	}
	free(m->succ);
	qfile_env_deinit(&m->env);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	q->active_count--;
	qmgr_kick(q);
}

/* lifetime - maximal_queue_lifetime, or bounce_queue_lifetime for <>. */
static long lifetime(const struct qmgr_message *m)
{
	return m->env.sender[0] == '\0' ? m->q->bounce_lifetime : m->q->max_lifetime;
}

/* orcpt_of - "type;value" of a recipient's ORCPT into out ("" if none). */
static void orcpt_of(const struct qfile_rcpt *r, struct buf *out)
{
	buf_reset(out);
	if (r->orcpt_type[0] != '\0')
		buf_printf(out, "%s;%s", r->orcpt_type, r->orcpt);
}

void qmgr_message_defer(struct qmgr_message *m, size_t rcpt, const char *status, const char *reason)
{
	const struct qfile_rcpt *r = &m->env.rcpts[rcpt];
	struct buf orcpt = BUF_INIT;
	struct defer_log_entry e = {0};
	struct err err;
	time_t now = time(NULL);

	orcpt_of(r, &orcpt);
	e.time = now;
	e.rcpt_offset = (long long)r->status_offset;
	e.rcpt = r->addr;
	e.orcpt = orcpt.data != NULL ? orcpt.data : "";
	e.status = status;
	e.action = "delayed";
	e.mta = "";
	e.diag = "";
	e.reason = reason;
	if (defer_log_append(m->q->dir_defer, m->qid, &e, &err) < 0)
		log_warn("%s: defer log: %s", m->qid, err.msg);
	log_info("%s: to=<%s>, relay=none, delay=%lld, dsn=%s, status=deferred (%s)", m->qid,
		 r->addr, (long long)(now - m->env.arrival.tv_sec), status, reason);
	buf_deinit(&orcpt);
}

void qmgr_message_result(struct qmgr_message *m, size_t rcpt, unsigned int result, const char *dsn,
			 const char *reason)
{
	struct qmgr_success *s;

	if (result != DELIVER_OK || !qmgr_notify_wants(m->env.rcpts[rcpt].notify, DSN_SUCCESS))
		return;
	m->succ = xreallocarray(m->succ, m->nsucc + 1, sizeof(*m->succ));
	s = &m->succ[m->nsucc++];
	s->rcpt = rcpt;
	s->dsn = xstrdup(dsn != NULL && *dsn != '\0' ? dsn : "2.0.0");
	s->reason = xstrdup(reason != NULL ? reason : "");
}

/* still_ours - active/QID is still the file we hold open (postsuper may
 * have removed it or moved it to hold/ meanwhile). */
static bool still_ours(struct qmgr_message *m)
{
	struct stat a, b;

	if (fstatat(m->q->dir_active, m->qid, &a, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstat(m->fd, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		log_info("%s: no longer in the active queue (removed or held by the "
			 "administrator); dropped from the active set",
			 m->qid);
		return false;
	}
	return true;
}

/* send_success - the NOTIFY=SUCCESS report for this round's deliveries. */
static void send_success(struct qmgr_message *m, time_t now)
{
	struct dsn_rcpt *r;
	struct buf *orcpt;
	struct err err;
	size_t i;

	if (m->nsucc == 0 || m->env.sender[0] == '\0')
		return;
	r = xcalloc(m->nsucc, sizeof(*r));
	orcpt = xcalloc(m->nsucc, sizeof(*orcpt));
	for (i = 0; i < m->nsucc; i++) {
		const struct qfile_rcpt *qr = &m->env.rcpts[m->succ[i].rcpt];

		orcpt_of(qr, &orcpt[i]);
		r[i].rcpt = qr->addr;
		r[i].orcpt = buf_cstr(&orcpt[i]);
		r[i].action = "delivered";
		r[i].status = m->succ[i].dsn;
		r[i].reason = m->succ[i].reason;
		r[i].last_attempt = now;
	}
	if (qmgr_dsn_send(m, DSN_SUCCESS, r, m->nsucc, &err) < 0)
		log_warn("%s: success notification not sent: %s", m->qid, err.msg);
	for (i = 0; i < m->nsucc; i++)
		buf_deinit(&orcpt[i]);
	free(orcpt);
	free(r);
}

/* rcpt_by_offset - index of the recipient whose status byte is at off. */
static const struct qfile_rcpt *rcpt_by_offset(const struct qfile_env *env, long long off)
{
	size_t i;

	for (i = 0; i < env->rcpt_count; i++)
		if ((long long)env->rcpts[i].status_offset == off)
			return &env->rcpts[i];
	return NULL;
}

/* expire - bounce every PENDING recipient with its last deferral reason
 * (bounce log first, then the DONE mark, as an agent would). */
static void expire(struct qmgr_message *m, time_t now)
{
	struct defer_log dl = {0};
	struct buf orcpt = BUF_INIT, why = BUF_INIT;
	struct err err;
	size_t i;

	if (defer_log_read(m->q->dir_defer, m->qid, &dl, &err) < 0)
		log_warn("%s: defer log: %s", m->qid, err.msg);
	log_info("%s: from=<%s>, status=expired, returned to sender", m->qid, m->env.sender);
	for (i = 0; i < m->env.rcpt_count; i++) {
		const struct qfile_rcpt *r = &m->env.rcpts[i];
		const struct defer_log_entry *last;
		struct defer_log_entry e = {0};

		if (r->status != QFILE_RCPT_PENDING)
			continue;
		last = defer_log_last(&dl, r->addr);
		orcpt_of(r, &orcpt);
		buf_reset(&why);
		buf_adds(&why, "message delivery time expired");
		if (last != NULL && last->reason[0] != '\0')
			buf_printf(&why, ": %s", last->reason);
		e.time = now;
		e.rcpt_offset = (long long)r->status_offset;
		e.rcpt = r->addr;
		e.orcpt = buf_cstr(&orcpt);
		e.status = "5.4.7";
		e.action = "failed";
		e.mta = last != NULL ? last->mta : "";
		e.diag = last != NULL ? last->diag : "";
		e.reason = why.data;
		if (defer_log_append(m->q->dir_bounce, m->qid, &e, &err) < 0 ||
		    qfile_mark_rcpt(m->fd, r->status_offset, QFILE_RCPT_DONE, &err) < 0) {
			log_warn("%s: expiring <%s>: %s", m->qid, r->addr, err.msg);
			continue;
		}
		log_info("%s: to=<%s>, relay=none, delay=%lld, dsn=5.4.7, status=expired (%s)",
			 m->qid, r->addr, (long long)(now - m->env.arrival.tv_sec), why.data);
	}
	defer_log_deinit(&dl);
	buf_deinit(&orcpt);
	buf_deinit(&why);
}

/* send_bounces - the non-delivery report from bounce/QID, then the log is
 * removed.  -1 when it must be tried again (the log stays). */
static int send_bounces(struct qmgr_message *m, time_t now)
{
	struct defer_log bl = {0};
	struct dsn_rcpt *r;
	struct buf *orcpt;
	struct err err;
	size_t i, j, n = 0;
	int rc = 0;

	if (defer_log_read(m->q->dir_bounce, m->qid, &bl, &err) < 0) {
		log_warn("%s: bounce log: %s", m->qid, err.msg);
		return -1;
	}
	if (bl.count == 0) {
		defer_log_deinit(&bl);
		return 0;
	}
	r = xcalloc(bl.count, sizeof(*r));
	orcpt = xcalloc(bl.count, sizeof(*orcpt));
	for (i = 0; i < bl.count; i++) {
		const struct defer_log_entry *e = &bl.entries[i];
		const struct qfile_rcpt *qr = rcpt_by_offset(&m->env, e->rcpt_offset);
		bool later = false;

		/* a crash may have logged a recipient twice: the last entry wins */
		for (j = i + 1; j < bl.count && !later; j++)
			later = e->rcpt_offset >= 0 ? bl.entries[j].rcpt_offset == e->rcpt_offset
						    : strcmp(bl.entries[j].rcpt, e->rcpt) == 0;
		if (later || (qr != NULL && !qmgr_notify_wants(qr->notify, DSN_FAILURE)))
			continue;
		/* the envelope's ORCPT when the agent did not log one */
		if (e->orcpt[0] == '\0' && qr != NULL)
			orcpt_of(qr, &orcpt[n]);
		else
			buf_sets(&orcpt[n], e->orcpt);
		r[n].rcpt = e->rcpt;
		r[n].orcpt = buf_cstr(&orcpt[n]);
		r[n].action = "failed";
		r[n].status = e->status;
		r[n].mta = e->mta;
		r[n].diag = e->diag;
		r[n].reason = e->reason;
		r[n].last_attempt = e->time;
		n++;
	}
	if (n > 0 && m->env.sender[0] == '\0') {
		log_info("%s: undeliverable mail from the null sender <>: no notification", m->qid);
	} else if (n > 0 && qmgr_dsn_send(m, DSN_FAILURE, r, n, &err) < 0) {
		log_warn("%s: non-delivery notification not sent: %s; will try again", m->qid,
			 err.msg);
		rc = -1;
	}
	if (rc == 0 && defer_log_remove(m->q->dir_bounce, m->qid, &err) < 0)
		log_warn("%s: bounce log: %s", m->qid, err.msg);
	for (i = 0; i < n; i++)
		buf_deinit(&orcpt[i]);
	free(orcpt);
	free(r);
	defer_log_deinit(&bl);
	return rc;
}

/* send_delay - the one delay warning, from this round's defer log. */
static void send_delay(struct qmgr_message *m, time_t now)
{
	struct defer_log dl = {0};
	struct dsn_rcpt *r;
	struct buf *orcpt;
	struct err err;
	size_t i, n = 0;

	if (m->env.sender[0] == '\0')
		return;
	if (defer_log_read(m->q->dir_defer, m->qid, &dl, &err) < 0)
		log_warn("%s: defer log: %s", m->qid, err.msg);
	r = xcalloc(m->env.rcpt_count, sizeof(*r));
	orcpt = xcalloc(m->env.rcpt_count, sizeof(*orcpt));
	for (i = 0; i < m->env.rcpt_count; i++) {
		const struct qfile_rcpt *qr = &m->env.rcpts[i];
		const struct defer_log_entry *e;

		if (qr->status != QFILE_RCPT_PENDING || !qmgr_notify_wants(qr->notify, DSN_DELAY))
			continue;
		e = defer_log_last(&dl, qr->addr);
		orcpt_of(qr, &orcpt[n]);
		r[n].rcpt = qr->addr;
		r[n].orcpt = buf_cstr(&orcpt[n]);
		r[n].action = "delayed";
		r[n].status = e != NULL ? e->status : "4.0.0";
		r[n].mta = e != NULL ? e->mta : "";
		r[n].diag = e != NULL ? e->diag : "";
		r[n].reason = e != NULL ? e->reason : "delivery temporarily suspended";
		r[n].last_attempt = e != NULL ? e->time : now;
		n++;
	}
	if (n > 0 && qmgr_dsn_send(m, DSN_DELAY, r, n, &err) < 0) {
		log_warn("%s: delay notification not sent: %s", m->qid, err.msg);
	} else if (qfile_mark_message(m->fd, m->env.mstat_offset,
				      (uint8_t)(m->env.mstat | QFILE_MSTAT_DELAY_SENT), &err) < 0) {
		log_warn("%s: marking the delay warning sent: %s", m->qid, err.msg);
	}
	for (i = 0; i < n; i++)
		buf_deinit(&orcpt[i]);
	free(orcpt);
	free(r);
	defer_log_deinit(&dl);
}

/* defer_message - to deferred/ with its next retry time in the mtime. */
static void defer_message(struct qmgr_message *m, time_t now)
{
	struct qmgr *q = m->q;
	time_t next = qmgr_retry_time(now, m->env.arrival.tv_sec, q->min_backoff, q->max_backoff,
				      lifetime(m));
	struct timespec ts[2] = {{now, 0}, {next, 0}};

	if (futimens(m->fd, ts) < 0)
		log_warn("%s: setting the retry time: %s", m->qid, strerror(errno));
	if (qmgr_move(q, q->dir_active, q->dir_deferred, m->qid) < 0) {
		log_warn("%s: cannot move to the deferred queue: %s", m->qid, strerror(errno));
		return;
	}
	log_debug("%s: deferred until %lld", m->qid, (long long)next);
	qmgr_note_due(q, next);
}

/* remove_message - every recipient is done: the file, then its logs. */
static void remove_message(struct qmgr_message *m)
{
	struct qmgr *q = m->q;
	struct err err;

	if (unlinkat(q->dir_active, m->qid, 0) < 0 && errno != ENOENT) {
		log_warn("%s: cannot remove: %s", m->qid, strerror(errno));
		return;
	}
	/* No fsync of active/ here: should a crash undo the unlink, the file
	 * comes back with every recipient DONE and is simply removed again
	 * (a repeated non-delivery report at worst).  qmgr is one process for
	 * the whole queue; a directory sync per message would serialise it. */
	if (defer_log_remove(q->dir_bounce, m->qid, &err) < 0 ||
	    defer_log_remove(q->dir_defer, m->qid, &err) < 0)
		log_warn("%s: %s", m->qid, err.msg);
	log_info("%s: removed", m->qid);
}

/* round_end - every entry is back: settle the message (see file header). */
static void round_end(struct qmgr_message *m)
{
	struct err err;
	time_t now = time(NULL);
	bool retry = false;

	if (!still_ours(m)) {
		message_free(m);
		return;
	}
	qfile_env_deinit(&m->env);
	if (qfile_read_envelope(m->fd, &m->env, &err) < 0) {
		if (err.code == QFILE_IOERR)
			log_warn("%s: %s; left in the active queue", m->qid, err.msg);
		else
			qmgr_corrupt(m->q, m->q->dir_active, m->qid, err.msg);
		message_free(m);
		return;
	}
	send_success(m, now);
	if (m->env.rcpt_pending > 0 && qmgr_expired(now, m->env.arrival.tv_sec, lifetime(m))) {
		expire(m, now);
		qfile_env_deinit(&m->env);
		if (qfile_read_envelope(m->fd, &m->env, &err) < 0) {
			log_warn("%s: %s", m->qid, err.msg);
			message_free(m);
			return;
		}
	}
	if (send_bounces(m, now) < 0)
		retry = true;
	if (m->env.rcpt_pending > 0 &&
	    qmgr_delay_due(now, m->env.arrival.tv_sec, m->q->delay_warning, m->env.mstat))
		send_delay(m, now);
	if (m->env.rcpt_pending > 0 || retry)
		defer_message(m, now);
	else
		remove_message(m);
	message_free(m);
}

void qmgr_message_entry_done(struct qmgr_message *m)
{
	if (m->entries_out > 0 && --m->entries_out == 0)
		round_end(m);
}

/* error_status - the RFC 3463 code an error: text starts with ("5.7.1
 * no mail here"), or 5.0.0; *text_r then points past it. */
static void error_status(const char *text, char status_r[16], const char **text_r)
{
	size_t n = strspn(text, "0123456789.");

	*text_r = text;
	snprintf(status_r, 16, "5.0.0");
	if (n >= 5 && n < 16 && text[0] == '5' && text[1] == '.' &&
	    (text[n] == ' ' || text[n] == '\0') && strchr(text + 2, '.') != NULL) {
		snprintf(status_r, 16, "%.*s", (int)n, text);
		*text_r = text + n + strspn(text + n, " ");
	}
}

/* finish_now - a recipient that needs no delivery agent: bounced by the
 * error: transport (bounce log, then DONE) or dropped by discard: (DONE). */
static void finish_now(struct qmgr_message *m, size_t rcpt, bool bounce, const char *text)
{
	const struct qfile_rcpt *r = &m->env.rcpts[rcpt];
	struct defer_log_entry e = {0};
	struct buf orcpt = BUF_INIT;
	struct err err;
	time_t now = time(NULL);
	char status[16] = "2.0.0";

	if (bounce)
		error_status(text, status, &text);

	if (bounce) {
		orcpt_of(r, &orcpt);
		e.time = now;
		e.rcpt_offset = (long long)r->status_offset;
		e.rcpt = r->addr;
		e.orcpt = buf_cstr(&orcpt);
		e.status = status;
		e.action = "failed";
		e.mta = "";
		e.diag = text; /* Diagnostic-Code: X-Tern; text (Postfix: X-Postfix) */
		e.reason = text;
		if (defer_log_append(m->q->dir_bounce, m->qid, &e, &err) < 0) {
			log_warn("%s: bounce log: %s", m->qid, err.msg);
			buf_deinit(&orcpt);
			return;
		}
	}
	if (qfile_mark_rcpt(m->fd, r->status_offset, QFILE_RCPT_DONE, &err) < 0)
		log_warn("%s: <%s>: %s", m->qid, r->addr, err.msg);
	else
		log_info("%s: to=<%s>, relay=none, delay=%lld, dsn=%s, status=%s (%s)", m->qid,
			 r->addr, (long long)(now - m->env.arrival.tv_sec), status,
			 bounce ? "bounced" : "sent", bounce ? text : "discarded");
	buf_deinit(&orcpt);
}

/* route_of - transport and nexthop for recipient rcpt: transport_maps, then
 * relayhost for remote domains, then the domain class ("local" for local
 * and virtual domains, "smtp" with the domain as nexthop otherwise).
 * false when the recipient was dealt with here (error:, discard:, or a
 * table that failed: deferred). */
static bool route_of(struct qmgr_message *m, size_t rcpt, struct buf *tr_r, struct buf *nh_r)
{
	const char *addr = m->env.rcpts[rcpt].addr, *at = strrchr(addr, '@');
	struct buf dom = BUF_INIT;
	enum resolve_class c;
	struct err err;
	bool remote;
	int rc;

	buf_adds(&dom, at != NULL ? at + 1 : "");
	if (dom.data != NULL)
		str_lower(dom.data);
	c = resolve_domain(m->q->resolver, buf_cstr(&dom));
	remote = c == RESOLVE_RELAY || c == RESOLVE_REMOTE;
	rc = transport_lookup(m->q->routes, buf_cstr(&dom), remote, tr_r, nh_r, &err);
	buf_deinit(&dom);
	if (rc == TBL_TEMPFAIL) {
		qmgr_message_defer(m, rcpt, "4.3.0", err.msg);
		return false;
	}
	if (tr_r->len == 0)
		buf_sets(tr_r, remote ? "smtp" : "local");
	if (strcmp(buf_cstr(tr_r), "error") == 0) {
		finish_now(m, rcpt, true, nh_r->len > 0 ? buf_cstr(nh_r) : "mail for this domain is refused");
		return false;
	}
	if (strcmp(buf_cstr(tr_r), "discard") == 0) {
		finish_now(m, rcpt, false, buf_cstr(nh_r));
		return false;
	}
	return true;
}

/* start_round - group the PENDING recipients and queue the batches. */
static void start_round(struct qmgr_message *m)
{
	struct qmgr *q = m->q;
	struct qmgr_route *routes = xcalloc(m->env.rcpt_pending + 1, sizeof(*routes));
	size_t *idx, n = 0, i, end, rcpt_limit;
	struct buf tr = BUF_INIT, nh = BUF_INIT;
	unsigned long conc;
	bool per_rcpt;
	struct err err;

	if (defer_log_remove(q->dir_defer, m->qid, &err) < 0)
		log_warn("%s: %s", m->qid, err.msg);
	for (i = 0; i < m->env.rcpt_count && n < m->env.rcpt_pending; i++) {
		if (m->env.rcpts[i].status != QFILE_RCPT_PENDING)
			continue;
		buf_reset(&tr);
		buf_reset(&nh);
		if (!route_of(m, i, &tr, &nh))
			continue;
		qmgr_transport_limits(q, buf_cstr(&tr), &rcpt_limit, &conc, &per_rcpt);
		qmgr_route_set(&routes[n], buf_cstr(&tr), m->env.rcpts[i].addr, i, per_rcpt);
		if (nh.len > 0)
			qmgr_route_set_nexthop(&routes[n], buf_cstr(&nh), per_rcpt);
		n++;
	}
	buf_deinit(&tr);
	buf_deinit(&nh);
	qmgr_routes_sort(routes, n);
	idx = xcalloc(n + 1, sizeof(*idx));
	m->entries_out = 1; /* held while queueing, so no batch ends the round early */
	for (i = 0; i < n; i = end) {
		size_t k;

		qmgr_transport_limits(q, routes[i].transport, &rcpt_limit, &conc, &per_rcpt);
		end = qmgr_routes_batch(routes, n, i, rcpt_limit);
		for (k = i; k < end; k++)
			idx[k - i] = routes[k].rcpt;
		qmgr_sched_add(q, m, routes[i].transport, routes[i].dest, routes[i].nexthop, idx,
			       end - i);
	}
	for (i = 0; i < n; i++)
		qmgr_route_deinit(&routes[i]);
	free(routes);
	free(idx);
	qmgr_message_entry_done(m);
}

void qmgr_message_load(struct qmgr *q, const char *qid)
{
	struct qmgr_message *m;
	struct stat st;
	struct err err;
	int fd = openat(q->dir_active, qid, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("%s: open: %s", qid, strerror(errno));
		qmgr_map_del(&q->known, qid);
		return;
	}
	m = xcalloc(1, sizeof(*m));
	m->q = q;
	m->fd = fd;
	memcpy(m->qid, qid, QID_SIZE);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(&err, "not a regular file");
		err.code = QFILE_CORRUPT;
	} else if (qfile_read_envelope(fd, &m->env, &err) == 0) {
		err.code = QFILE_OK;
	}
	if (err.code != QFILE_OK) {
		if (err.code == QFILE_IOERR)
			log_warn("%s: %s; will try again", qid, err.msg);
		else
			qmgr_corrupt(q, q->dir_active, qid, err.msg);
		close(fd);
		free(m);
		qmgr_map_del(&q->known, qid);
		return;
	}
	m->next = q->messages;
	if (q->messages != NULL)
		q->messages->prev = m;
	q->messages = m;
	q->active_count++;
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", qid, m->env.sender,
		 (unsigned long long)m->env.content_size, m->env.rcpt_count);
	start_round(m);
}
