/*
 * smtp_req.c - one delivery request of the smtp agent: open and read the
 * queue file, take the next hop qmgr routed to (it applies transport_maps
 * and relayhost), look up the destination, hand the recipients to sessions address after address
 * (cached sessions first), then record, log and report each recipient's
 * result to qmgr.
 * Touches:  $queue_directory/QUEUE/ID (read; status bytes written in
 *           place), $queue_directory/defer/ID and bounce/ID (appended).
 * Security: the queue ID and queue name were validated by smtp.c; the
 *           queue file is opened with O_NOFOLLOW and validated completely
 *           before anything is sent.
 * Site:     when every address failed at the session level, or DNS failed
 *           temporarily, DELIVER_DONE says so (site_status, lib/proto.h):
 *           qmgr suspends the destination; recipient replies never do.
 * Errors:   what cannot be read or recorded defers the recipient (4.3.0);
 *           DNS: NXDOMAIN bounces (5.4.4), a null MX bounces (5.1.10),
 *           other failures defer (4.4.3); a recipient is marked DONE only
 *           after its bounce log entry is on disk.
 * See:      lib/proto.h, docs/smtp.md, docs/queue-format.md.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "addr.h"
#include "cfg.h"
#include "defer_log.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "safefile.h"
#include "smtp/smtp.h"
#include "tbl.h"
#include "transport.h"
#include "xmem.h"

static struct smtp_req *live_reqs[4096];
static size_t n_live;

static void next_attempt(struct smtp_req *r);

size_t smtp_req_pending(const struct smtp_req *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->rcpts[i].result == SMTP_PENDING;
	return n;
}

void smtp_rcpt_set(struct smtp_req *r, size_t i, int result, const char *dsn, const char *relay,
		   const char *mta, const char *diag, const char *fmt, ...)
{
	struct smtp_rcpt *rc = &r->rcpts[i];
	va_list ap;

	if (rc->result != SMTP_PENDING)
		return;
	rc->result = result;
	snprintf(rc->dsn, sizeof(rc->dsn), "%s", dsn);
	/* the class of the status must agree with the result */
	rc->dsn[0] = result == DELIVER_OK ? '2' : result == DELIVER_DEFER ? '4' : '5';
	if (rc->dsn[1] != '.')
		snprintf(rc->dsn, sizeof(rc->dsn), "%c.0.0", rc->dsn[0]);
	buf_reset(&rc->text);
	va_start(ap, fmt);
	buf_vprintf(&rc->text, fmt, ap);
	va_end(ap);
	buf_sets(&rc->diag, diag != NULL ? diag : "");
	free(rc->relay);
	free(rc->mta);
	rc->relay = relay != NULL ? xstrdup(relay) : NULL;
	rc->mta = mta != NULL ? xstrdup(mta) : NULL;
}

/* set_all - every pending recipient gets the same result. */
static void set_all(struct smtp_req *r, int result, const char *dsn, const char *relay,
		    const char *mta, const char *diag, const char *text)
{
	for (size_t i = 0; i < r->n; i++)
		smtp_rcpt_set(r, i, result, dsn, relay, mta, diag, "%s", text);
}

/* ---- recording and reporting ---- */

static double tv_diff(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_usec - a->tv_usec) / 1e6;
}

static void log_rcpt(const struct smtp_req *r, const struct smtp_rcpt *rc)
{
	static const char *const words[] = {"sent", "deferred", "bounced"};
	struct buf d = BUF_INIT;
	struct timeval now;
	bool ready = r->t_ready.tv_sec != 0;

	gettimeofday(&now, NULL);
	buf_adds(&d, "delay=");
	log_format_delay(&d, tv_diff(&r->env.arrival, &now));
	buf_adds(&d, ", delays=");
	log_format_delay(&d, tv_diff(&r->env.arrival, &r->start));
	buf_adds(&d, "/0/");
	log_format_delay(&d, tv_diff(&r->start, ready ? &r->t_ready : &now));
	buf_addc(&d, '/');
	log_format_delay(&d, ready ? tv_diff(&r->t_ready, &now) : 0);
	log_info("%s: to=<%s>, relay=%s, %s, dsn=%s, status=%s (%s)", r->qid, rc->q->addr,
		 rc->relay != NULL ? rc->relay : "none", buf_cstr(&d), rc->dsn, words[rc->result],
		 buf_cstr(&rc->text));
	buf_deinit(&d);
}

/* record - a bounce goes to bounce/ID then DONE, a delivery DONE, a
 * deferral to defer/ID; a failure to record defers. */
static void record(struct smtp_req *r, struct smtp_rcpt *rc)
{
	const struct qfile_rcpt *q = rc->q;
	bool bounce = rc->result == DELIVER_BOUNCE;
	struct buf orcpt = BUF_INIT, mta = BUF_INIT;
	struct err err;

	if (rc->result != DELIVER_OK) {
		struct defer_log_entry e = {0};

		if (q->orcpt_type[0] != '\0')
			buf_printf(&orcpt, "%s;%s", q->orcpt_type, q->orcpt);
		if (rc->mta != NULL)
			buf_printf(&mta, "dns;%s", rc->mta);
		e.time = time(NULL);
		e.rcpt_offset = (long long)q->status_offset;
		e.rcpt = q->addr;
		e.orcpt = buf_cstr(&orcpt);
		e.status = rc->dsn;
		e.action = bounce ? "failed" : "delayed";
		e.mta = buf_cstr(&mta);
		e.diag = buf_cstr(&rc->diag);
		e.reason = buf_cstr(&rc->text);
		if (defer_log_append_queue(r->a->queue_dir, bounce ? "bounce" : "defer", r->qid,
					   &e, &err) < 0) {
			log_warn("%s: cannot record the result for %s: %s", r->qid, q->addr,
				 err.msg);
			rc->result = DELIVER_DEFER;
			snprintf(rc->dsn, sizeof(rc->dsn), "4.3.0");
			buf_reset(&rc->text);
			buf_printf(&rc->text, "cannot record the result: %s", err.msg);
			bounce = false;
		}
	}
	if ((rc->result == DELIVER_OK || bounce) &&
	    qfile_mark_rcpt(r->fd, q->status_offset, QFILE_RCPT_DONE, &err) < 0) {
		log_warn("%s: cannot mark %s done: %s", r->qid, q->addr, err.msg);
		rc->result = DELIVER_DEFER;
		snprintf(rc->dsn, sizeof(rc->dsn), "4.3.0");
		buf_reset(&rc->text);
		buf_printf(&rc->text, "cannot update the queue file: %s", err.msg);
	}
	buf_deinit(&orcpt);
	buf_deinit(&mta);
}

static void send_status(struct smtp_req *r, const struct smtp_rcpt *rc)
{
	struct ipc_msg m;
	struct err err;

	if (r->ipc == NULL)
		return;
	ipc_msg_init(&m, DELIVER_STATUS, r->reqid);
	ipc_put_u64(&m, "offset", (uint64_t)rc->off);
	ipc_put_u32(&m, "result", (uint32_t)rc->result);
	ipc_put_str(&m, "dsn", rc->dsn);
	ipc_put_str(&m, "reason", buf_cstr(&rc->text));
	if (ipc_msg_finish(&m, &err) < 0 || ipc_send(r->ipc, &m, &err) < 0)
		log_warn("%s: send status: %s", r->qid, err.msg);
	ipc_msg_deinit(&m);
}

static void req_free(struct smtp_req *r)
{
	for (size_t i = 0; i < n_live; i++) {
		if (live_reqs[i] == r) {
			live_reqs[i] = live_reqs[--n_live];
			break;
		}
	}
	dns_cancel(&r->dnsq);
	dns_cancel(&r->tlsaq);
	for (size_t i = 0; i < r->n; i++) {
		buf_deinit(&r->rcpts[i].text);
		buf_deinit(&r->rcpts[i].diag);
		free(r->rcpts[i].relay);
		free(r->rcpts[i].mta);
	}
	free(r->rcpts);
	for (size_t i = 0; i < r->naddrs; i++)
		free(r->addrs[i].host);
	free(r->addrs);
	qfile_env_deinit(&r->env);
	if (r->fd >= 0)
		close(r->fd);
	buf_deinit(&r->wire7);
	buf_deinit(&r->host);
	buf_deinit(&r->last_text);
	buf_deinit(&r->last_diag);
	free(r->last_relay);
	free(r->last_mta);
	free(r->nexthop);
	free(r);
}

/* finish_site - record, log and report every recipient, then
 * DELIVER_DONE; site_reason non-NULL: the whole destination failed
 * (site_status DELIVER_SITE_FAILED, see lib/proto.h), so qmgr suspends it. */
static void finish_site(struct smtp_req *r, const char *site_dsn, const char *site_reason)
{
	struct ipc_msg done;
	struct err err;

	set_all(r, DELIVER_DEFER, "4.3.0", NULL, NULL, "", "delivery was not attempted");
	for (size_t i = 0; i < r->n; i++) {
		struct smtp_rcpt *rc = &r->rcpts[i];

		if (rc->q != NULL && rc->q->status != QFILE_RCPT_DONE) {
			record(r, rc);
			log_rcpt(r, rc);
		}
		send_status(r, rc);
	}
	if (r->ipc != NULL) {
		ipc_msg_init(&done, DELIVER_DONE, r->reqid);
		if (site_reason != NULL) {
			ipc_put_u32(&done, "site_status", DELIVER_SITE_FAILED);
			ipc_put_str(&done, "site_dsn", site_dsn);
			ipc_put_str(&done, "site_reason", site_reason);
		}
		if (ipc_msg_finish(&done, &err) < 0 || ipc_send(r->ipc, &done, &err) < 0)
			log_warn("%s: send done: %s", r->qid, err.msg);
		ipc_msg_deinit(&done);
	}
	req_free(r);
}

/* finish - finish_site without a destination failure. */
static void finish(struct smtp_req *r)
{
	finish_site(r, NULL, NULL);
}

/* site_failed - every address was tried and failed at the session level
 * (connect, greeting, EHLO, TLS, AUTH, 421) with a temporary error, and no
 * server said anything about one of the recipients: a destination failure,
 * not one of a recipient or the message (results from a session carry its
 * relay; those set before any attempt do not). */
static bool site_failed(const struct smtp_req *r)
{
	if (r->last_result != DELIVER_DEFER)
		return false;
	for (size_t i = 0; i < r->n; i++)
		if (r->rcpts[i].result != SMTP_PENDING && r->rcpts[i].relay != NULL)
			return false;
	return true;
}

/* ---- attempts ---- */

void smtp_req_fail_attempt(struct smtp_req *r, int result, const char *dsn, const char *relay,
			   const char *mta, const char *diag, const char *text)
{
	r->last_result = result;
	snprintf(r->last_dsn, sizeof(r->last_dsn), "%s", dsn);
	buf_sets(&r->last_text, text);
	buf_sets(&r->last_diag, diag != NULL ? diag : "");
	free(r->last_relay);
	free(r->last_mta);
	r->last_relay = relay != NULL ? xstrdup(relay) : NULL;
	r->last_mta = mta != NULL ? xstrdup(mta) : NULL;
	if (result == DELIVER_DEFER)
		log_info("%s: %s", r->qid, text);
	next_attempt(r);
}

void smtp_req_session_done(struct smtp_req *r)
{
	next_attempt(r);
}

/* connect_addr - a session to addr with the base TLS policy. */
static void connect_addr(struct smtp_req *r, const struct dns_addr *addr, bool no_tls)
{
	struct smtp_tls_policy pol = {0};

	pol.level = r->a->p.tls_level == TLS_LEV_DANE ? TLS_LEV_MAY : r->a->p.tls_level;
	pol.no_tls = no_tls;
	smtp_sess_connect(r, addr, &pol);
}

static void on_tlsa(const struct dns_tlsa_result *res, void *arg)
{
	struct smtp_req *r = arg;
	const struct dns_addr *addr = &r->addrs[r->next_addr - 1];
	struct smtp_tls_policy pol = {0};
	struct buf t = BUF_INIT;

	r->tlsaq = NULL;
	if (res->sec == DNS_SEC_BOGUS || res->status == DNS_TEMPFAIL) {
		buf_printf(&t, "TLSA lookup error for %s:%u: %s", addr->host, r->port, res->reason);
		smtp_req_fail_attempt(r, DELIVER_DEFER, "4.7.5", NULL, addr->host, "",
				      buf_cstr(&t));
		buf_deinit(&t);
		return;
	}
	if (res->status == DNS_OK && res->sec == DNS_SEC_SECURE) {
		pol.level = TLS_LEV_DANE;
		pol.dane_mandatory = true;
		pol.tlsa = xcalloc(res->n + 1, sizeof(*pol.tlsa));
		for (size_t i = 0; i < res->n; i++) {
			pol.tlsa[i] = res->recs[i];
			pol.tlsa[i].data = xmemdup(res->recs[i].data, res->recs[i].len);
		}
		pol.ntlsa = res->n;
	} else {
		pol.level = TLS_LEV_MAY;
	}
	smtp_sess_connect(r, addr, &pol);
}

static void on_dest(const struct dns_dest *res, void *arg)
{
	struct smtp_req *r = arg;

	r->dnsq = NULL;
	if (res->status != DNS_OK) {
		if (res->status == DNS_NULLMX)
			set_all(r, DELIVER_BOUNCE, "5.1.10", NULL, NULL, "", res->reason);
		else if (res->status == DNS_NOTFOUND)
			set_all(r, DELIVER_BOUNCE, "5.4.4", NULL, NULL, "", res->reason);
		else
			set_all(r, DELIVER_DEFER, "4.4.3", NULL, NULL, "", res->reason);
		if (res->status == DNS_TEMPFAIL)
			finish_site(r, "4.4.3", res->reason); /* SERVFAIL, timeout */
		else
			finish(r);
		return;
	}
	r->addrs = xcalloc(res->n + 1, sizeof(*r->addrs));
	for (size_t i = 0; i < res->n; i++) {
		r->addrs[i] = res->addrs[i];
		r->addrs[i].host = xstrdup(res->addrs[i].host);
	}
	r->naddrs = res->n;
	next_attempt(r);
}

static void next_attempt(struct smtp_req *r)
{
	struct smtp_agent *a = r->a;
	const struct dns_addr *addr;

	if (smtp_req_pending(r) == 0) {
		finish(r);
		return;
	}
	if (r->addrs == NULL) {
		struct buf key = BUF_INIT;
		struct smtp_sess *s;

		smtp_cache_key(r, &key);
		s = smtp_cache_take(a, buf_cstr(&key));
		buf_deinit(&key);
		if (s != NULL) {
			smtp_sess_reuse(s, r);
			return;
		}
		r->dnsq =
			dns_lookup_dest(a->dns, buf_cstr(&r->host), r->use_mx, r->port, on_dest, r);
		return;
	}
	if (r->plain_retry && r->next_addr > 0) {
		r->plain_retry = false;
		connect_addr(r, &r->addrs[r->next_addr - 1], true);
		return;
	}
	if (r->next_addr >= r->naddrs || (a->p.mx_limit > 0 && r->tried >= a->p.mx_limit)) {
		const char *dsn = r->last_dsn[0] != '\0' ? r->last_dsn : "4.4.1";
		const char *text =
			r->last_text.len > 0 ? buf_cstr(&r->last_text) : "no usable address";
		bool site = site_failed(r);

		set_all(r, r->last_result, dsn, r->last_relay, r->last_mta, buf_cstr(&r->last_diag),
			text);
		if (site)
			finish_site(r, dsn, text);
		else
			finish(r);
		return;
	}
	addr = &r->addrs[r->next_addr++];
	r->tried++;
	if (a->p.tls_level == TLS_LEV_DANE && addr->mx_secure) {
		r->tlsaq = dns_lookup_tlsa(a->dns, addr->host, r->port, on_tlsa, r);
		return;
	}
	connect_addr(r, addr, false);
}

/* ---- start ---- */

/* load - the envelope, and a scan of the content (smtp_body.c); -1 with
 * err. */
static int load(struct smtp_req *r, const char *queue, struct err *err)
{
	struct buf path = BUF_INIT;

	buf_printf(&path, "%s/%s/%s", r->a->queue_dir, queue, r->qid);
	r->fd = open(buf_cstr(&path), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	buf_deinit(&path);
	if (r->fd < 0)
		return err_set_code(err, errno, "cannot open queue file: %s", strerror(errno));
	if (qfile_read_envelope(r->fd, &r->env, err) < 0)
		return -1;
	return smtp_body_scan(r, err);
}

/* route - host and port of the next hop qmgr chose (it applied
 * transport_maps and relayhost); -1 when it is malformed (every
 * recipient deferred). */
static int route(struct smtp_req *r)
{
	struct err err;

	if (transport_parse_nexthop(r->nexthop, r->a->p.port, &r->host, &r->port, &r->use_mx,
				    &err) < 0) {
		set_all(r, DELIVER_DEFER, "4.3.5", NULL, NULL, "", err.msg);
		return -1;
	}
	return 0;
}

void smtp_req_start(struct smtp_agent *a, struct ipc_conn *ipc, uint32_t reqid, const char *qid,
		    const char *queue, const char *nexthop, const off_t *offs, size_t n)
{
	struct smtp_req *r = xcalloc(1, sizeof(*r));
	struct err err;

	if (n_live >= N_ELEMENTS(live_reqs)) {
		ipc_reject(ipc, "too many requests in one smtp process");
		free(r);
		return;
	}
	live_reqs[n_live++] = r;
	r->a = a;
	r->ipc = ipc;
	r->reqid = reqid;
	r->fd = -1;
	r->last_result = DELIVER_DEFER;
	snprintf(r->qid, sizeof(r->qid), "%s", qid);
	gettimeofday(&r->start, NULL);
	r->rcpts = xcalloc(n, sizeof(*r->rcpts));
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		r->rcpts[i].off = offs[i];
		r->rcpts[i].result = SMTP_PENDING;
	}
	err_clear(&err);
	if (load(r, queue, &err) < 0) {
		log_warn("%s: %s", qid, err.msg);
		set_all(r, DELIVER_DEFER, "4.3.0", NULL, NULL, "", err.msg);
		finish(r);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < r->env.rcpt_count; k++)
			if (r->env.rcpts[k].status_offset == offs[i])
				r->rcpts[i].q = &r->env.rcpts[k];
		if (r->rcpts[i].q == NULL)
			smtp_rcpt_set(r, i, DELIVER_DEFER, "4.3.0", NULL, NULL, "",
				      "no recipient at offset %lld", (long long)offs[i]);
		else if (r->rcpts[i].q->status == QFILE_RCPT_DONE)
			smtp_rcpt_set(r, i, DELIVER_OK, "2.0.0", NULL, NULL, "",
				      "already delivered");
		else if (addr_needs_utf8(r->rcpts[i].q->addr, strlen(r->rcpts[i].q->addr)))
			r->needs_utf8 = true;
	}
	if (addr_needs_utf8(r->env.sender, strlen(r->env.sender)) ||
	    ((r->env.flags & QFILE_F_SMTPUTF8) && r->hdr8bit))
		r->needs_utf8 = true;
	r->nexthop = xstrdup(nexthop);
	if (r->nexthop[0] == '\0' && r->n > 0 && r->rcpts[0].q != NULL) {
		const char *at = strrchr(r->rcpts[0].q->addr, '@');

		free(r->nexthop);
		r->nexthop = xstrdup(at != NULL ? at + 1 : "");
	}
	if (route(r) < 0) {
		finish(r);
		return;
	}
	next_attempt(r);
}

void smtp_req_ipc_gone(struct ipc_conn *ipc)
{
	for (size_t i = 0; i < n_live; i++)
		if (live_reqs[i]->ipc == ipc)
			live_reqs[i]->ipc = NULL;
}
