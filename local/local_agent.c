/*
 * local_agent.c - one DELIVER_REQUEST of the local delivery agent: open
 * and check the queue file, then for each recipient expand, deliver to
 * every destination, re-inject the remote ones, fold the results into one
 * per recipient, record it (status byte, defer/bounce log), log it and
 * report it.
 * Touches:  $queue_directory/QUEUE/ID (read; status bytes written in
 *           place), $queue_directory/defer/ID and bounce/ID (appended),
 *           and through the delivery methods the Maildirs, files, commands
 *           and the incoming queue.
 * Security: qid and queue were validated by the caller (qid_valid, a fixed
 *           list of queue names); the file is opened with O_NOFOLLOW and
 *           validated completely before anything is delivered.
 * Errors:   what cannot be read or recorded defers the recipient (4.3.0);
 *           a recipient is marked DONE only after its mailbox or its bounce
 *           log entry is on disk.
 * See:      lib/proto.h (what the agent must do), docs/local.md.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cfg.h"
#include "defer_log.h"
#include "err.h"
#include "local/local.h"
#include "log.h"
#include "proto.h"
#include "qfile.h"
#include "safefile.h"
#include "tbl.h"
#include "xmem.h"

struct req {
	struct local_agent *a;
	const char *qid;
	struct local_msg msg;
	struct qfile_env env;
	struct timeval start;
};

/* One re-injection: the members of an expansion that share a sender. */
struct fwd_group {
	char *sender;
	char **rcpts;
	size_t n;
};

/* tv_diff - b - a in seconds. */
static double tv_diff(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_usec - a->tv_usec) / 1e6;
}

/* log_result - the Postfix-shaped delivery line. */
static void log_result(const struct req *q, const char *to, const char *orig_to,
		       const struct local_result *r)
{
	static const char *const words[] = {"sent", "deferred", "bounced"};
	struct buf d = BUF_INIT;
	struct timeval now;

	gettimeofday(&now, NULL);
	buf_adds(&d, "delay=");
	log_format_delay(&d, tv_diff(&q->env.arrival, &now));
	buf_adds(&d, ", delays=");
	log_format_delay(&d, tv_diff(&q->env.arrival, &q->start));
	buf_adds(&d, "/0/0/");
	log_format_delay(&d, tv_diff(&q->start, &now));
	if (orig_to != NULL && strcasecmp(orig_to, to) != 0)
		log_info("%s: to=<%s>, orig_to=<%s>, relay=local, %s, dsn=%s, status=%s (%s)",
			 q->qid, to, orig_to, buf_cstr(&d), r->dsn, words[r->result],
			 buf_cstr(&r->text));
	else
		log_info("%s: to=<%s>, relay=local, %s, dsn=%s, status=%s (%s)", q->qid, to,
			 buf_cstr(&d), r->dsn, words[r->result], buf_cstr(&r->text));
	buf_deinit(&d);
}

/* rank - how bad a result is: a deferral retries everything. */
static int rank(int result)
{
	return result == DELIVER_DEFER ? 2 : result == DELIVER_BOUNCE ? 1 : 0;
}

/* merge - keep the worst result, naming the member when it is not the
 * recipient itself. */
static void merge(struct local_result *final, const struct local_result *r, const char *who,
		  const char *rcpt)
{
	if (rank(r->result) <= rank(final->result) && final->text.len > 0)
		return;
	final->result = r->result;
	snprintf(final->dsn, sizeof(final->dsn), "%s", r->dsn);
	buf_reset(&final->text);
	if (r->result != DELIVER_OK && strcasecmp(who, rcpt) != 0)
		buf_printf(&final->text, "%s: ", who);
	buf_adds(&final->text, buf_cstr(&r->text));
}

/* group_add - file a remote member under its sender. */
static void group_add(struct fwd_group **g, size_t *ng, const char *sender, const char *rcpt)
{
	size_t i;

	for (i = 0; i < *ng && strcmp((*g)[i].sender, sender) != 0; i++)
		;
	if (i == *ng) {
		*g = xreallocarray(*g, *ng + 1, sizeof(**g));
		(*g)[i].sender = xstrdup(sender);
		(*g)[i].rcpts = NULL;
		(*g)[i].n = 0;
		(*ng)++;
	}
	(*g)[i].rcpts = xreallocarray((*g)[i].rcpts, (*g)[i].n + 1, sizeof(char *));
	(*g)[i].rcpts[(*g)[i].n++] = xstrdup(rcpt);
}

static void groups_free(struct fwd_group *g, size_t ng)
{
	for (size_t i = 0; i < ng; i++) {
		for (size_t k = 0; k < g[i].n; k++)
			free(g[i].rcpts[k]);
		free(g[i].rcpts);
		free(g[i].sender);
	}
	free(g);
}

/* mailbox_addr - the user whose Maildir receives addr: addr itself, or
 * addr without its extension when only that is a user.  TBL_* result. */
static int mailbox_addr(struct req *q, const char *addr, struct buf *out, struct err *err)
{
	const char *delim = cfg_get(q->a->cfg, "recipient_delimiter");
	const char *at = strrchr(addr, '@');
	const char *d;
	int rc = resolve_user(q->a->resolver, addr, err);

	buf_sets(out, addr);
	if (rc != TBL_FOUND || *delim == '\0' || at == NULL)
		return rc;
	d = memchr(addr, delim[0], (size_t)(at - addr));
	if (d == NULL || d == addr)
		return rc;
	buf_reset(out);
	buf_add(out, addr, (size_t)(d - addr));
	buf_adds(out, at);
	if (resolve_user(q->a->resolver, buf_cstr(out), err) != TBL_FOUND)
		buf_sets(out, addr);
	return TBL_FOUND;
}

/* deliver_mailbox - a user's Maildir. */
static void deliver_mailbox(struct req *q, const char *addr, const char *sender,
			    struct local_result *r)
{
	struct buf mbox = BUF_INIT;
	struct err err;
	int rc;

	err_clear(&err);
	rc = mailbox_addr(q, addr, &mbox, &err);
	if (rc == TBL_TEMPFAIL)
		local_set_result(r, DELIVER_DEFER, "4.3.0", "virtual_mailbox_maps lookup failure: %s",
				 err.msg);
	else if (rc == TBL_NOTFOUND)
		local_set_result(r, DELIVER_BOUNCE, "5.1.1", "user unknown");
	else
		local_deliver_maildir(q->a->cfg, &q->msg, buf_cstr(&mbox), sender, r);
	buf_deinit(&mbox);
}

/* deliver_dests - every destination of one expansion. */
static void deliver_dests(struct req *q, const struct qfile_rcpt *rcpt,
			  const struct local_expansion *exp, struct local_result *final)
{
	struct local_result r = {DELIVER_OK, "", BUF_INIT};
	struct fwd_group *groups = NULL;
	size_t ng = 0;
	struct buf id = BUF_INIT;
	struct err err;

	for (size_t i = 0; i < exp->n; i++) {
		const struct local_dest *d = &exp->dests[i];
		const char *who = d->target;

		switch (d->kind) {
		case LOCAL_DEST_FORWARD:
			group_add(&groups, &ng, d->sender, d->target);
			continue;
		case LOCAL_DEST_MAILBOX:
			deliver_mailbox(q, d->target, d->sender, &r);
			if (r.result == DELIVER_BOUNCE && strcmp(d->sender, q->env.sender) != 0) {
				/* a list member: its bounce goes to the list owner */
				group_add(&groups, &ng, d->sender, d->target);
				continue;
			}
			break;
		case LOCAL_DEST_COMMAND:
			who = d->via;
			local_deliver_command(&q->msg, d->target, d->via, rcpt->addr, d->sender,
					      q->a->command_time_limit, &r);
			break;
		case LOCAL_DEST_FILE:
			who = d->via;
			local_deliver_file(&q->msg, d->target, d->via, d->sender, &r);
			break;
		case LOCAL_DEST_ERROR:
			local_set_result(&r, d->result, d->dsn, "%s", d->reason);
			break;
		}
		log_result(q, who, rcpt->addr, &r);
		merge(final, &r, who, rcpt->addr);
	}
	for (size_t i = 0; i < ng; i++) {
		if (local_forward(q->a->cfg, &q->msg, rcpt->addr, groups[i].sender, groups[i].rcpts,
				  groups[i].n, &id, &err) < 0) {
			local_set_result(&r, DELIVER_DEFER, "4.3.0", "cannot forward: %s", err.msg);
		} else {
			log_info("%s: from=<%s>, nrcpt=%zu, forwarded from %s", buf_cstr(&id),
				 groups[i].sender, groups[i].n, q->qid);
			local_set_result(&r, DELIVER_OK, "2.0.0", "forwarded as %s", buf_cstr(&id));
		}
		log_result(q, rcpt->addr, NULL, &r);
		merge(final, &r, rcpt->addr, rcpt->addr);
	}
	groups_free(groups, ng);
	buf_deinit(&id);
	buf_deinit(&r.text);
}

/* deliver_rcpt - expand and deliver one recipient; the folded result. */
static void deliver_rcpt(struct req *q, const struct qfile_rcpt *rcpt, struct local_result *final)
{
	struct local_expansion exp;

	if (local_delivered_to_has(&q->msg, rcpt->addr)) {
		local_set_result(final, DELIVER_BOUNCE, "5.4.6", "mail forwarding loop for %s",
				 rcpt->addr);
		log_result(q, rcpt->addr, NULL, final);
		return;
	}
	local_expand(&q->a->lim, &q->a->ops, rcpt->addr, q->env.sender, &exp);
	if (exp.result != DELIVER_OK) {
		local_set_result(final, exp.result, exp.dsn, "%s", buf_cstr(&exp.reason));
		log_result(q, rcpt->addr, NULL, final);
	} else if (exp.n == 0) {
		local_set_result(final, DELIVER_OK, "2.0.0", "discarded (empty expansion)");
		log_result(q, rcpt->addr, NULL, final);
	} else {
		deliver_dests(q, rcpt, &exp, final);
	}
	local_expansion_deinit(&exp);
}

/* record - write the result down before it is reported: a bounce in
 * bounce/ID then DONE, a delivery DONE, a deferral in defer/ID. */
static void record(struct req *q, const struct qfile_rcpt *rcpt, struct local_result *r)
{
	bool bounce = r->result == DELIVER_BOUNCE;
	struct buf orcpt = BUF_INIT;
	struct err err;

	if (r->result != DELIVER_OK) {
		struct defer_log_entry e = {0};

		if (rcpt->orcpt_type[0] != '\0')
			buf_printf(&orcpt, "%s;%s", rcpt->orcpt_type, rcpt->orcpt);
		e.time = time(NULL);
		e.rcpt_offset = (long long)rcpt->status_offset;
		e.rcpt = rcpt->addr;
		e.orcpt = buf_cstr(&orcpt);
		e.status = r->dsn;
		e.action = bounce ? "failed" : "delayed";
		e.mta = "";
		e.diag = "";
		e.reason = buf_cstr(&r->text);
		if (defer_log_append_queue(cfg_get(q->a->cfg, "queue_directory"),
					   bounce ? "bounce" : "defer", q->qid, &e, &err) < 0) {
			log_warn("%s: cannot record the result for %s: %s", q->qid, rcpt->addr,
				 err.msg);
			local_set_result(r, DELIVER_DEFER, "4.3.0", "cannot record the result: %s",
					 err.msg);
			bounce = false;
		}
	}
	if ((r->result == DELIVER_OK || bounce) &&
	    qfile_mark_rcpt(q->msg.fd, rcpt->status_offset, QFILE_RCPT_DONE, &err) < 0) {
		log_warn("%s: cannot mark %s done: %s", q->qid, rcpt->addr, err.msg);
		local_set_result(r, DELIVER_DEFER, "4.3.0", "cannot update the queue file: %s",
				 err.msg);
	}
	buf_deinit(&orcpt);
}

/* find_rcpt - the recipient whose status byte is at off. */
static const struct qfile_rcpt *find_rcpt(const struct qfile_env *env, off_t off)
{
	for (size_t i = 0; i < env->rcpt_count; i++)
		if (env->rcpts[i].status_offset == off)
			return &env->rcpts[i];
	return NULL;
}

/* open_queue_file - open and validate QUEUE/QID; -1 with err. */
static int open_queue_file(struct req *q, const char *queue, struct err *err)
{
	struct buf path = BUF_INIT;

	buf_printf(&path, "%s/%s/%s", cfg_get(q->a->cfg, "queue_directory"), queue, q->qid);
	q->msg.fd = open(buf_cstr(&path), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (q->msg.fd < 0)
		err_set_code(err, errno, "cannot open queue file: %s", strerror(errno));
	buf_deinit(&path);
	if (q->msg.fd < 0)
		return -1;
	if (qfile_read_envelope(q->msg.fd, &q->env, err) < 0)
		return -1;
	q->msg.env = &q->env;
	return local_delivered_to_scan(&q->msg, err);
}

void local_agent_request(struct local_agent *a, const char *qid, const char *queue,
			 const off_t *offs, size_t n, local_status_fn *status_fn,
			 struct ipc_conn *conn, uint32_t reqid)
{
	struct req q = {.a = a, .qid = qid};
	struct local_result r = {DELIVER_OK, "", BUF_INIT};
	struct err err;
	bool ok;

	gettimeofday(&q.start, NULL);
	q.msg.queue_id = qid;
	q.msg.fd = -1;
	err_clear(&err);
	ok = open_queue_file(&q, queue, &err) == 0;
	if (!ok)
		log_warn("%s: %s", qid, err.msg);
	for (size_t i = 0; i < n; i++) {
		const struct qfile_rcpt *rcpt = ok ? find_rcpt(&q.env, offs[i]) : NULL;

		r.result = DELIVER_OK;
		buf_reset(&r.text);
		if (!ok) {
			local_set_result(&r, DELIVER_DEFER, "4.3.0", "%s", err.msg);
		} else if (rcpt == NULL) {
			local_set_result(&r, DELIVER_DEFER, "4.3.0", "no recipient at offset %lld",
					 (long long)offs[i]);
		} else if (rcpt->status == QFILE_RCPT_DONE) {
			local_set_result(&r, DELIVER_OK, "2.0.0", "already delivered");
		} else {
			deliver_rcpt(&q, rcpt, &r);
			record(&q, rcpt, &r);
		}
		status_fn(conn, reqid, offs[i], &r);
	}
	buf_deinit(&r.text);
	local_msg_deinit(&q.msg);
	qfile_env_deinit(&q.env);
	if (q.msg.fd >= 0)
		close(q.msg.fd);
}
