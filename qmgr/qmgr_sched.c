/*
 * qmgr_sched.c - transports, destinations and delivery agent connections:
 *                batches of recipients ("entries") wait in per-destination
 *                FIFOs; destinations with work take turns (round robin)
 *                within their transport, bounded by the transport's process
 *                limit (master.cf maxproc), the per-destination concurrency
 *                limit and rate delay (TRANSPORT_destination_*); each
 *                request goes over a reused or new lib/ipc connection to
 *                private/TRANSPORT (proto_deliver).  A destination whose
 *                agent reports a site failure is suspended ("dead") for
 *                minimal_backoff_time: what waits for it, and what comes,
 *                is deferred at once; then one delivery probes it.
 * Touches:  the agents' UNIX sockets; through qmgr_message.c the defer log
 *           of recipients the agent never answered for.
 * Input:    DELIVER_STATUS / DELIVER_DONE from agents: an offset that is not
 *           in the request, a duplicate, an unknown result or a wrong reqid
 *           ends the connection (ipc_reject), and the unanswered recipients
 *           are deferred.
 * Security: runs as the mail owner; an agent's answers only decide what is
 *           logged and reported: the queue file, re-read at the end of the
 *           round, decides what is delivered.
 * Errors:   a transport whose socket is missing or refuses: its recipients
 *           are deferred "mail transport unavailable"; an agent that dies
 *           mid-request: "delivery agent crashed"; a suspended destination:
 *           "delivery temporarily suspended: REASON".  Logged: one line when
 *           a destination is marked dead, one when it is revived; nothing
 *           per rate-delay wait.
 * See:      lib/proto.h (deliver protocol), docs/qmgr.md "Scheduling".
 */
#include "sys.h"

#include <errno.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "mastercf.h"
#include "proto.h"
#include "qmgr.h"
#include "str.h"
#include "xmem.h"

struct qmgr_dest;
struct qmgr_agent;

/* A batch of one message's recipients for one request. */
struct qmgr_entry {
	struct qmgr_message *msg;
	struct qmgr_dest *dest;
	char *nexthop;
	size_t *rcpts; /* indices into msg->env.rcpts */
	bool *answered;
	size_t n;
	struct qmgr_entry *next;
};

struct qmgr_dest {
	struct qmgr_transport *tr;
	char *key;
	struct qmgr_entry *head, *tail; /* waiting entries */
	unsigned long busy;		/* entries in flight */
	bool ready;			/* on tr's ready list */
	struct qmgr_dest *rprev, *rnext;
	enum qmgr_dest_state state;
	char *dead_dsn, *dead_reason;  /* while DEAD: what entries are deferred with */
	struct loop_timer *dead_timer; /* DEAD: the end of the suspension */
	struct loop_timer *rate_timer; /* rate delay since the last start runs */
};

struct qmgr_agent {
	struct qmgr_transport *tr;
	struct ipc_conn *conn;
	struct qmgr_entry *entry; /* in flight, NULL when idle */
	uint32_t reqid;
	struct qmgr_agent *prev, *next; /* tr's agent list */
};

struct qmgr_transport {
	struct qmgr *q;
	char *name;
	char *peer; /* "unix:private/NAME" for logs */
	unsigned long proc_limit, dest_conc;
	size_t rcpt_limit;
	long rate_delay;    /* seconds; > 0: one delivery per destination at a time */
	unsigned long busy; /* requests in flight */
	struct qmgr_map dests;
	struct qmgr_dest *rhead, *rtail; /* destinations with work and room */
	struct qmgr_agent *agents;
	struct loop_timer *retry; /* socket was busy: try again later */
	struct qmgr_transport *next;
};

static struct qmgr_transport *transport_get(struct qmgr *q, const char *name);

void qmgr_transport_limits(struct qmgr *q, const char *transport, size_t *rcpt_limit_r,
			   unsigned long *dest_conc_r, bool *per_rcpt_r)
{
	struct qmgr_transport *tr = transport_get(q, transport);

	*rcpt_limit_r = tr->rcpt_limit;
	*dest_conc_r = tr->dest_conc;
	*per_rcpt_r = strcmp(transport, "local") == 0;
}

/* transport_param - a number of tr's TRANSPORT_SUFFIX or default_SUFFIX
 * parameter (qmgr_param_name), at least min. */
static long transport_param(struct qmgr *q, const char *tr, const char *suffix, bool time, long min)
{
	struct buf name = BUF_INIT;
	long v;

	qmgr_param_name(tr, suffix, &name);
	v = time ? cfg_get_time(q->cfg, buf_cstr(&name)) : cfg_get_int(q->cfg, buf_cstr(&name));
	buf_deinit(&name);
	return v < min ? min : v;
}

static void on_retry(struct loop_timer *t, void *arg)
{
	struct qmgr_transport *tr = arg;

	qmgr_kick(tr->q);
}

/* transport_get - the transport called name, made on first use. */
static struct qmgr_transport *transport_get(struct qmgr *q, const char *name)
{
	struct qmgr_transport *tr;
	const struct service *svc;

	for (tr = q->transports; tr != NULL; tr = tr->next)
		if (strcmp(tr->name, name) == 0)
			return tr;
	tr = xcalloc(1, sizeof(*tr));
	tr->q = q;
	tr->name = xstrdup(name);
	tr->peer = xasprintf("unix:private/%s", name);
	tr->rcpt_limit = (size_t)transport_param(q, name, "destination_recipient_limit", false, 1);
	if (tr->rcpt_limit > DELIVER_MAX_RCPTS)
		tr->rcpt_limit = DELIVER_MAX_RCPTS;
	tr->dest_conc =
		(unsigned long)transport_param(q, name, "destination_concurrency_limit", false, 1);
	tr->rate_delay = transport_param(q, name, "destination_rate_delay", true, 0);
	svc = q->mcf != NULL ? mastercf_find(q->mcf, name, SERVICE_UNIX) : NULL;
	tr->proc_limit = svc != NULL && svc->maxproc > 0 ? svc->maxproc : q->default_proc_limit;
	qmgr_map_init(&tr->dests);
	tr->retry = loop_timer_new(q->base, on_retry, tr);
	tr->next = q->transports;
	q->transports = tr;
	return tr;
}

/* ready_add / ready_del - the round-robin list of destinations to serve. */
static void ready_add(struct qmgr_dest *d)
{
	struct qmgr_transport *tr = d->tr;

	if (d->ready || d->head == NULL ||
	    !qmgr_dest_room(d->state, d->busy, tr->dest_conc, tr->rate_delay > 0,
			    d->rate_timer != NULL && loop_timer_pending(d->rate_timer)))
		return;
	d->ready = true;
	d->rnext = NULL;
	d->rprev = tr->rtail;
	if (tr->rtail != NULL)
		tr->rtail->rnext = d;
	else
		tr->rhead = d;
	tr->rtail = d;
}

static void ready_del(struct qmgr_dest *d)
{
	struct qmgr_transport *tr = d->tr;

	if (!d->ready)
		return;
	if (d->rprev != NULL)
		d->rprev->rnext = d->rnext;
	else
		tr->rhead = d->rnext;
	if (d->rnext != NULL)
		d->rnext->rprev = d->rprev;
	else
		tr->rtail = d->rprev;
	d->ready = false;
	d->rprev = d->rnext = NULL;
}

/* dest_maybe_free - a destination with nothing waiting or in flight goes,
 * unless it is suspended or its rate delay runs (that state must stay). */
static void dest_maybe_free(struct qmgr_dest *d)
{
	if (d->head != NULL || d->busy > 0 || d->state == QMGR_DEST_DEAD ||
	    (d->rate_timer != NULL && loop_timer_pending(d->rate_timer)))
		return;
	ready_del(d);
	qmgr_map_del(&d->tr->dests, d->key);
	loop_timer_free(&d->dead_timer);
	loop_timer_free(&d->rate_timer);
	free(d->dead_dsn);
	free(d->dead_reason);
	free(d->key);
	free(d);
}

static void entry_finish(struct qmgr_entry *e, const char *dsn, const char *why);

/* dest_log - "TRANSPORT/DEST" for the suspension log lines. */
static void dest_log(const struct qmgr_dest *d, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s/", d->tr->name);
	str_sanitize(out, d->key, strlen(d->key), 300);
}

/* dest_revive - d is no longer suspended (probe succeeded, flush, or the
 * suspension ran out with nothing waiting): log it, serve it again. */
static void dest_revive(struct qmgr_dest *d, const char *how)
{
	struct buf name = BUF_INIT;

	dest_log(d, &name);
	log_info("%s: destination revived (%s)", buf_cstr(&name), how);
	buf_deinit(&name);
	d->state = QMGR_DEST_ALIVE;
	if (d->dead_timer != NULL)
		loop_timer_del(d->dead_timer);
	xfree(&d->dead_dsn);
	xfree(&d->dead_reason);
	ready_add(d);
	qmgr_kick(d->tr->q);
}

/* on_dead_timer - the suspension is over: one delivery probes (or, with
 * nothing waiting, the destination is simply alive again). */
static void on_dead_timer(struct loop_timer *t, void *arg)
{
	struct qmgr_dest *d = arg;

	if (d->head == NULL && d->busy == 0) {
		dest_revive(d, "suspension over");
		dest_maybe_free(d);
		return;
	}
	d->state = QMGR_DEST_PROBE;
	xfree(&d->dead_dsn);
	xfree(&d->dead_reason);
	ready_add(d);
	qmgr_kick(d->tr->q);
}

/* dest_suspend - the agent says the whole destination failed: mark it
 * dead for minimal_backoff_time (log it when it was not dead yet) and
 * defer every entry waiting for it at once. */
static void dest_suspend(struct qmgr_dest *d, const char *dsn, const char *reason)
{
	struct qmgr *q = d->tr->q;
	struct buf why = BUF_INIT, name = BUF_INIT;
	struct qmgr_entry *e;
	long secs = q->min_backoff > 0 ? q->min_backoff : 1;

	qmgr_site_reason(reason, &why);
	if (d->state != QMGR_DEST_DEAD) {
		dest_log(d, &name);
		buf_adds(&name, ": destination marked dead for ");
		buf_printf(&name, "%lds: ", secs);
		str_sanitize(&name, reason, strlen(reason), 800);
		log_info("%s", buf_cstr(&name));
		d->state = QMGR_DEST_DEAD;
		free(d->dead_dsn);
		free(d->dead_reason);
		d->dead_dsn = xstrdup(qmgr_site_dsn(dsn));
		d->dead_reason = xstrdup(buf_cstr(&why));
		if (d->dead_timer == NULL)
			d->dead_timer = loop_timer_new(q->base, on_dead_timer, d);
		loop_timer_add(d->dead_timer, (unsigned long)secs * 1000);
	}
	ready_del(d);
	while ((e = d->head) != NULL) {
		d->head = e->next;
		if (d->head == NULL)
			d->tail = NULL;
		entry_finish(e, d->dead_dsn, d->dead_reason);
	}
	buf_deinit(&why);
	buf_deinit(&name);
}

void qmgr_sched_add(struct qmgr *q, struct qmgr_message *m, const char *transport, const char *dest,
		    const char *nexthop, const size_t *rcpts, size_t n)
{
	struct qmgr_transport *tr = transport_get(q, transport);
	struct qmgr_dest *d = qmgr_map_get(&tr->dests, dest);
	struct qmgr_entry *e = xcalloc(1, sizeof(*e));

	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->tr = tr;
		d->key = xstrdup(dest);
		qmgr_map_put(&tr->dests, dest, d);
	}
	e->msg = m;
	e->dest = d;
	e->nexthop = xstrdup(nexthop);
	e->rcpts = xmemdup(rcpts, n * sizeof(*rcpts));
	e->answered = xcalloc(n, sizeof(*e->answered));
	e->n = n;
	m->entries_out++;
	if (d->state == QMGR_DEST_DEAD) {
		/* the caller holds the message's round open: this cannot end it */
		entry_finish(e, d->dead_dsn, d->dead_reason);
		return;
	}
	if (d->tail != NULL)
		d->tail->next = e;
	else
		d->head = e;
	d->tail = e;
	ready_add(d);
	qmgr_kick(q);
}

/* entry_finish - defer whatever the agent did not answer for (with dsn and
 * why), free the entry and tell its message. */
static void entry_finish(struct qmgr_entry *e, const char *dsn, const char *why)
{
	struct qmgr_message *m = e->msg;
	size_t i;

	for (i = 0; i < e->n; i++)
		if (!e->answered[i])
			qmgr_message_defer(m, e->rcpts[i], dsn, why);
	free(e->nexthop);
	free(e->rcpts);
	free(e->answered);
	free(e);
	qmgr_message_entry_done(m);
}

/* agent_release - the agent's request is over: slots back, maybe idle.
 * done: it ended with DELIVER_DONE (not a crash or a protocol error);
 * site_reason non-NULL: the agent reported a destination failure. */
static void agent_release(struct qmgr_agent *a, const char *why, bool done, const char *site_dsn,
			  const char *site_reason)
{
	struct qmgr_entry *e = a->entry;
	struct qmgr_dest *d;

	if (e == NULL)
		return;
	a->entry = NULL;
	d = e->dest;
	d->busy--;
	a->tr->busy--;
	entry_finish(e, "4.3.0", why);
	if (site_reason != NULL)
		dest_suspend(d, site_dsn, site_reason);
	else if (done && d->state == QMGR_DEST_PROBE)
		dest_revive(d, "a delivery got through");
	ready_add(d);
	dest_maybe_free(d);
	qmgr_kick(a->tr->q);
}

static void agent_unlink(struct qmgr_agent *a)
{
	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		a->tr->agents = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
}

/* agent_close - from on_close, or after ipc_conn_free by us. */
static void agent_close(struct qmgr_agent *a, const char *why)
{
	struct buf reason = BUF_INIT;

	if (a->entry != NULL) {
		if (strcmp(why, "EOF") == 0)
			buf_adds(&reason, "delivery agent crashed");
		else
			buf_printf(&reason, "delivery agent failed: %s", why);
		log_warn("%s: %s: %s", a->entry->msg->qid, a->tr->peer, reason.data);
		agent_release(a, reason.data, false, NULL, NULL);
	}
	agent_unlink(a);
	free(a);
	buf_deinit(&reason);
}

static void on_agent_close(struct ipc_conn *conn, const char *why, void *arg)
{
	agent_close(arg, why);
}

/* on_status - one DELIVER_STATUS for the request in flight. */
static int on_status(struct qmgr_agent *a, struct ipc_msg *msg)
{
	struct qmgr_entry *e = a->entry;
	uint64_t off = 0;
	uint32_t result = 0;
	const char *dsn = "", *reason = "";
	size_t i;

	if (ipc_get(msg, 0, IPC_U64("offset", &off), IPC_U32("result", &result),
		    IPC_STR("dsn", &dsn), IPC_STR("reason", &reason), IPC_END) < 2)
		return ipc_reject(a->conn, "malformed DELIVER_STATUS");
	if (result > DELIVER_BOUNCE)
		return ipc_reject(a->conn, "unknown delivery result %u", result);
	for (i = 0; i < e->n; i++) {
		const struct qfile_rcpt *r = &e->msg->env.rcpts[e->rcpts[i]];

		if ((uint64_t)r->status_offset != off)
			continue;
		if (e->answered[i])
			return ipc_reject(a->conn, "second status for offset %llu",
					  (unsigned long long)off);
		e->answered[i] = true;
		qmgr_message_result(e->msg, e->rcpts[i], result, dsn, reason);
		return 0;
	}
	return ipc_reject(a->conn, "status for offset %llu, not in the request",
			  (unsigned long long)off);
}

static void on_agent_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	struct qmgr_agent *a = arg;
	const char *reason = "refused", *site_dsn = "", *site_reason = "";
	uint32_t site = DELIVER_SITE_OK;

	if (fd >= 0)
		close(fd);
	if (a->entry == NULL) {
		ipc_reject(conn, "message type %u while no request is open",
			   (unsigned int)msg->type);
		return;
	}
	switch (msg->type) {
	case DELIVER_STATUS:
		(void)on_status(a, msg);
		break;
	case DELIVER_DONE:
		if (msg->reqid != a->reqid) {
			ipc_reject(conn, "DONE for request %u, expected %u", msg->reqid, a->reqid);
			break;
		}
		(void)ipc_get(msg, 0, IPC_U32("site_status", &site), IPC_STR("site_dsn", &site_dsn),
			      IPC_STR("site_reason", &site_reason), IPC_END);
		agent_release(a, "delivery agent returned no status", true, site_dsn,
			      site == DELIVER_SITE_FAILED ? site_reason : NULL);
		ipc_conn_set_timeout(conn, QMGR_AGENT_IDLE_MS);
		break;
	case IPC_ERROR:
		(void)ipc_get(msg, 0, IPC_STR("reason", &reason), IPC_END);
		log_warn("%s: %s refused the request: %s", a->entry->msg->qid, a->tr->peer, reason);
		ipc_conn_close_after_write(conn, "request refused");
		break;
	default:
		ipc_reject(conn, "unexpected message type %u", (unsigned int)msg->type);
		break;
	}
}

/* agent_connect - a new connection to private/NAME; NULL with errno
 * (EAGAIN: the listener's backlog is full, try again soon). */
static struct qmgr_agent *agent_connect(struct qmgr_transport *tr)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct buf path = BUF_INIT;
	struct qmgr_agent *a;
	int fd, saved;

	proto_socket_path(tr->q->cfg, tr->name, false, &path);
	if (path.len >= sizeof(sun.sun_path)) {
		buf_deinit(&path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sun.sun_path, path.data, path.len + 1);
	buf_deinit(&path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 && errno != EINPROGRESS) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	a = xcalloc(1, sizeof(*a));
	a->tr = tr;
	a->conn = ipc_conn_new(tr->q->base, fd, &proto_deliver, tr->peer, on_agent_msg,
			       on_agent_close, a);
	a->next = tr->agents;
	if (tr->agents != NULL)
		tr->agents->prev = a;
	tr->agents = a;
	return a;
}

/* agent_get - an idle connection of tr, or a new one. */
static struct qmgr_agent *agent_get(struct qmgr_transport *tr)
{
	struct qmgr_agent *a;

	for (a = tr->agents; a != NULL; a = a->next)
		if (a->entry == NULL)
			return a;
	return agent_connect(tr);
}

/* send_request - DELIVER_REQUEST for e on a; false when it could not be
 * queued (the connection is then closed). */
static bool send_request(struct qmgr_agent *a, struct qmgr_entry *e)
{
	struct qmgr *q = a->tr->q;
	struct ipc_msg req;
	struct err err;
	off_t *offs = xcalloc(e->n, sizeof(*offs));
	bool ok;

	for (size_t i = 0; i < e->n; i++)
		offs[i] = e->msg->env.rcpts[e->rcpts[i]].status_offset;
	a->reqid = ++q->reqid;
	ipc_msg_init(&req, DELIVER_REQUEST, a->reqid);
	ipc_put_str(&req, "queue_id", e->msg->qid);
	ipc_put_str(&req, "queue", "active");
	ipc_put_str(&req, "nexthop", e->nexthop);
	proto_offsets_put(&req, offs, e->n);
	ok = ipc_msg_finish(&req, &err) == 0 && ipc_send(a->conn, &req, &err) == 0;
	if (!ok)
		log_warn("%s: request to %s: %s", e->msg->qid, a->tr->peer, err.msg);
	ipc_msg_deinit(&req);
	free(offs);
	return ok;
}

/* on_rate_timer - the rate delay after the last start to d has passed. */
static void on_rate_timer(struct loop_timer *t, void *arg)
{
	struct qmgr_dest *d = arg;
	struct qmgr *q = d->tr->q;

	ready_add(d);
	dest_maybe_free(d);
	qmgr_kick(q);
}

/* dispatch - start entry e, already taken off its destination (which is
 * off the ready list).  The destination goes back to the end of the ready
 * list when it has more work and room: round robin between destinations.
 * The caller must not use the destination afterwards (it may be freed).
 * false: the transport's socket is busy, e is back in front, try later. */
static bool dispatch(struct qmgr_transport *tr, struct qmgr_entry *e)
{
	struct qmgr_agent *a = agent_get(tr);
	struct qmgr_dest *d = e->dest;

	if (a == NULL) {
		if (errno == EAGAIN) {
			e->next = d->head;
			d->head = e;
			if (d->tail == NULL)
				d->tail = e;
			ready_add(d);
			loop_timer_add(tr->retry, QMGR_TRANSPORT_RETRY_MS);
			return false;
		}
		log_warn("%s: connect to %s: %s", e->msg->qid, tr->peer, strerror(errno));
		entry_finish(e, "4.3.0", "mail transport unavailable");
		ready_add(d);
		dest_maybe_free(d);
		return true;
	}
	a->entry = e;
	d->busy++;
	tr->busy++;
	if (tr->rate_delay > 0) {
		if (d->rate_timer == NULL)
			d->rate_timer = loop_timer_new(tr->q->base, on_rate_timer, d);
		loop_timer_add(d->rate_timer, (unsigned long)tr->rate_delay * 1000);
	}
	ready_add(d);
	ipc_conn_set_timeout(
		a->conn, (unsigned int)(tr->q->ipc_timeout > 0 ? tr->q->ipc_timeout * 1000 : 0));
	if (!send_request(a, e)) {
		ipc_conn_free(&a->conn);
		agent_close(a, "cannot send the request");
	}
	return true;
}

/* schedule_transport - dispatch while tr has room and work. */
static void schedule_transport(struct qmgr_transport *tr)
{
	while (tr->busy < tr->proc_limit && tr->rhead != NULL && !loop_timer_pending(tr->retry)) {
		struct qmgr_dest *d = tr->rhead;
		struct qmgr_entry *e = d->head;

		d->head = e->next;
		if (d->head == NULL)
			d->tail = NULL;
		e->next = NULL;
		ready_del(d);
		if (!dispatch(tr, e))
			break;
	}
}

void qmgr_schedule(struct qmgr *q)
{
	struct qmgr_transport *tr;

	for (tr = q->transports; tr != NULL; tr = tr->next)
		schedule_transport(tr);
}

unsigned int qmgr_sched_revive(struct qmgr *q, const char *site)
{
	struct qmgr_transport *tr;
	struct qmgr_dest **dead = NULL;
	size_t n = 0, i;

	for (tr = q->transports; tr != NULL; tr = tr->next) {
		for (i = 0; i < tr->dests.nslots; i++) {
			for (struct qmgr_map_ent *me = tr->dests.slots[i]; me != NULL;
			     me = me->next) {
				struct qmgr_dest *d = me->value;

				if (d->state == QMGR_DEST_ALIVE ||
				    (site != NULL && strcasecmp(d->key, site) != 0))
					continue;
				dead = xreallocarray(dead, n + 1, sizeof(*dead));
				dead[n++] = d;
			}
		}
	}
	/* revived after the walk: dest_maybe_free changes the maps */
	for (i = 0; i < n; i++) {
		dest_revive(dead[i], "flush");
		dest_maybe_free(dead[i]);
	}
	free(dead);
	return (unsigned int)n;
}

/* dests_free - every destination of tr (exit). */
static void dests_free(struct qmgr_transport *tr)
{
	for (size_t i = 0; i < tr->dests.nslots; i++) {
		for (struct qmgr_map_ent *me = tr->dests.slots[i]; me != NULL; me = me->next) {
			struct qmgr_dest *d = me->value;

			loop_timer_free(&d->dead_timer);
			loop_timer_free(&d->rate_timer);
			free(d->dead_dsn);
			free(d->dead_reason);
			free(d->key);
			free(d);
		}
	}
}

void qmgr_sched_free(struct qmgr *q)
{
	struct qmgr_transport *tr, *next;

	for (tr = q->transports; tr != NULL; tr = next) {
		next = tr->next;
		while (tr->agents != NULL) {
			struct qmgr_agent *a = tr->agents;

			agent_unlink(a);
			ipc_conn_free(&a->conn);
			free(a);
		}
		loop_timer_free(&tr->retry);
		dests_free(tr);
		qmgr_map_deinit(&tr->dests);
		free(tr->name);
		free(tr->peer);
		free(tr);
	}
	q->transports = NULL;
}
