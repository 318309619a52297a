/*
 * dns.c - asynchronous MX/A/AAAA/TLSA/PTR lookups with libunbound, driven
 * by the libevent loop (ub_fd readable -> ub_process -> callbacks).  The
 * pure helpers (rdata decoding, names, ordering) are in dns_util.c.
 * Touches:  /etc/resolv.conf (when dns_servers is empty), the trust
 *           anchor file when given, UDP/TCP to the resolver.
 * Input:    untrusted DNS answers: rdata is decoded with explicit lengths,
 *           names are checked label by label (dns_util.c).
 * Security: runs in the smtp agent and in smtpd as the mail owner; a
 *           lookup is bounded by its own timer (timeout -> DNS_TEMPFAIL),
 *           so a silent resolver never stalls a delivery or a session.
 * Errors:   NXDOMAIN -> DNS_NOTFOUND (bounce); SERVFAIL, timeouts and
 *           DNSSEC-bogus answers -> DNS_TEMPFAIL (defer); null MX ->
 *           DNS_NULLMX.  Reasons are Postfix-shaped ("Host or domain name
 *           not found. Name service error for name=X type=MX: ...").
 * See:      dns.h, RFC 5321 5.1, RFC 7505, RFC 7672, docs/smtp.md,
 *           docs/smtpd.md "Client name lookup".
 */
#include "sys.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <unbound.h>

#include "buf.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

#define T_A 1
#define T_PTR 12
#define T_MX 15
#define T_AAAA 28
#define T_TLSA 52
#define RCODE_SERVFAIL 2
/* LOOPBACK6_ZONE - the reverse zone of ::1. */
#define LOOPBACK6_ZONE "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."
/* DNS_MX_HOSTS_MAX - most MX hosts whose addresses are looked up. */
#define DNS_MX_HOSTS_MAX 20

struct dns_ctx {
	struct ub_ctx *ub;
	struct event *ev;
	struct event_base *base;
	bool ipv4, ipv6;
	unsigned int timeout_ms;
	struct dns_query *queries;
};

/* One libunbound query of a lookup. */
struct dns_sub {
	struct dns_query *q;
	int id;
	int rrtype;
	size_t host; /* index into q->hosts for A/AAAA */
	bool active;
	struct dns_sub *next;
};

/* The addresses found for one host. */
struct dns_host {
	char *name;
	unsigned int pref;
	struct dns_addr *addrs;
	size_t n;
	bool tempfail;
};

enum dns_kind { DNS_Q_DEST, DNS_Q_TLSA, DNS_Q_PTR };

struct dns_query {
	struct dns_ctx *ctx;
	enum dns_kind kind;
	char *name;
	unsigned int port;
	dns_dest_cb *dcb;
	dns_tlsa_cb *tcb;
	dns_ptr_cb *pcb;
	void *arg;
	struct loop_timer *timer;
	struct dns_sub *subs;
	size_t pending;
	bool mx_secure;
	bool via_mx;
	struct dns_host *hosts;
	size_t nhosts;
	char reason[256];
	struct dns_dest dest;
	struct dns_tlsa_result tlsa;
	struct dns_ptr_result ptr;
	struct dns_query *next, *prev;
};

static void ub_cb(void *mydata, int err, struct ub_result *result);

/* ---- context ---- */

static void on_ub_fd(evutil_socket_t fd, short what, void *arg)
{
	struct dns_ctx *ctx = arg;
	int rc = ub_process(ctx->ub);

	if (rc != 0)
		log_warn("dns: ub_process: %s", ub_strerror(rc));
}

struct dns_ctx *dns_new(struct event_base *base, char **servers, size_t n_servers,
			const char *anchor_file, bool ipv4, bool ipv6, unsigned int timeout_ms,
			struct err *err)
{
	struct dns_ctx *ctx = xcalloc(1, sizeof(*ctx));
	struct buf spec = BUF_INIT;
	int rc;

	ctx->base = base;
	ctx->ipv4 = ipv4;
	ctx->ipv6 = ipv6;
	ctx->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	if ((ctx->ub = ub_ctx_create()) == NULL) {
		free(ctx);
		err_set(err, "dns: ub_ctx_create failed");
		return NULL;
	}
	rc = ub_ctx_async(ctx->ub, 1);
	for (size_t i = 0; rc == 0 && i < n_servers; i++) {
		if (dns_server_spec(servers[i], &spec) < 0) {
			err_set(err, "dns_servers: bad server \"%.100s\"", servers[i]);
			goto fail;
		}
		rc = ub_ctx_set_fwd(ctx->ub, buf_cstr(&spec));
	}
	if (rc == 0 && n_servers > 0)
		rc = ub_ctx_set_option(ctx->ub, "do-not-query-localhost:", "no");
	/* libunbound answers the RFC 6761 name "test." itself (NXDOMAIN);
	 * with an explicit resolver configured, that resolver decides */
	if (rc == 0 && n_servers > 0)
		rc = ub_ctx_set_option(ctx->ub, "local-zone:", "test. transparent");
	/* likewise for reverse lookups: the private and link-local reverse
	 * zones, and the loopback ones.  ("nodefault" given through
	 * ub_ctx_set_option leaves the built-in zones in place in libunbound
	 * 1.17; a transparent zone of our own replaces them) */
	if (rc == 0 && n_servers > 0)
		rc = ub_ctx_set_option(ctx->ub, "unblock-lan-zones:", "yes");
	if (rc == 0 && n_servers > 0)
		rc = ub_ctx_set_option(ctx->ub, "insecure-lan-zones:", "yes");
	if (rc == 0 && n_servers > 0)
		rc = ub_ctx_set_option(ctx->ub, "local-zone:", "127.in-addr.arpa. transparent");
	if (rc == 0 && n_servers > 0)
		rc = ub_ctx_set_option(ctx->ub, "local-zone:", LOOPBACK6_ZONE " transparent");
	/* ask the forwarder for the full name: a minimal server may not know
	 * the empty non-terminals qname minimisation walks through */
	if (rc == 0)
		rc = ub_ctx_set_option(ctx->ub, "qname-minimisation:", "no");
	if (rc == 0 && n_servers == 0)
		rc = ub_ctx_resolvconf(ctx->ub, NULL);
	if (rc == 0 && anchor_file != NULL && anchor_file[0] != '\0')
		rc = ub_ctx_add_ta_file(ctx->ub, anchor_file);
	if (rc != 0) {
		err_set(err, "dns: %s", ub_strerror(rc));
		goto fail;
	}
	ctx->ev = event_new(base, ub_fd(ctx->ub), EV_READ | EV_PERSIST, on_ub_fd, ctx);
	if (ctx->ev == NULL || event_add(ctx->ev, NULL) < 0) {
		err_set(err, "dns: cannot watch the resolver descriptor");
		goto fail;
	}
	buf_deinit(&spec);
	return ctx;
fail:
	buf_deinit(&spec);
	if (ctx->ev != NULL)
		event_free(ctx->ev);
	ub_ctx_delete(ctx->ub);
	free(ctx);
	return NULL;
}

/* ---- queries ---- */

static void query_free(struct dns_query *q)
{
	struct dns_sub *s, *next;

	for (s = q->subs; s != NULL; s = next) {
		next = s->next;
		if (s->active)
			(void)ub_cancel(q->ctx->ub, s->id);
		free(s);
	}
	for (size_t i = 0; i < q->nhosts; i++) {
		for (size_t k = 0; k < q->hosts[i].n; k++)
			free(q->hosts[i].addrs[k].host);
		free(q->hosts[i].addrs);
		free(q->hosts[i].name);
	}
	free(q->hosts);
	dns_dest_deinit(&q->dest);
	dns_tlsa_result_deinit(&q->tlsa);
	dns_ptr_result_deinit(&q->ptr);
	loop_timer_free(&q->timer);
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		q->ctx->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	free(q->name);
	free(q);
}

/* finish - hand the result over and free the query. */
static void finish(struct dns_query *q)
{
	if (q->kind == DNS_Q_DEST)
		q->dcb(&q->dest, q->arg);
	else if (q->kind == DNS_Q_TLSA)
		q->tcb(&q->tlsa, q->arg);
	else
		q->pcb(&q->ptr, q->arg);
	query_free(q);
}

static void on_timer(struct loop_timer *t, void *arg)
{
	struct dns_query *q = arg;

	if (q->pending > 0) {
		if (q->kind == DNS_Q_DEST) {
			dns_dest_deinit(&q->dest);
			q->dest.status = DNS_TEMPFAIL;
			snprintf(q->dest.reason, sizeof(q->dest.reason),
				 "DNS lookup of %s timed out", q->name);
		} else if (q->kind == DNS_Q_TLSA) {
			q->tlsa.status = DNS_TEMPFAIL;
			q->tlsa.sec = DNS_SEC_INSECURE;
			snprintf(q->tlsa.reason, sizeof(q->tlsa.reason),
				 "TLSA lookup for %s timed out", q->name);
		} else {
			dns_ptr_result_deinit(&q->ptr);
			q->ptr.status = DNS_TEMPFAIL;
			snprintf(q->ptr.reason, sizeof(q->ptr.reason), "PTR lookup of %s timed out",
				 q->name);
		}
	}
	finish(q);
}

static struct dns_query *query_new(struct dns_ctx *ctx, enum dns_kind kind, const char *name,
				   unsigned int port, void *arg)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));

	q->ctx = ctx;
	q->kind = kind;
	q->name = xstrdup(name);
	q->port = port;
	q->arg = arg;
	q->timer = loop_timer_new(ctx->base, on_timer, q);
	q->next = ctx->queries;
	if (ctx->queries != NULL)
		ctx->queries->prev = q;
	ctx->queries = q;
	return q;
}

/* sub_start - one libunbound query; false when it could not start. */
static bool sub_start(struct dns_query *q, const char *name, int rrtype, size_t host)
{
	struct dns_sub *s = xcalloc(1, sizeof(*s));
	int rc;

	s->q = q;
	s->rrtype = rrtype;
	s->host = host;
	rc = ub_resolve_async(q->ctx->ub, name, rrtype, 1, s, ub_cb, &s->id);
	if (rc != 0) {
		log_warn("dns: ub_resolve_async %s: %s", name, ub_strerror(rc));
		free(s);
		return false;
	}
	s->active = true;
	s->next = q->subs;
	q->subs = s;
	q->pending++;
	return true;
}

static const char *type_name(int t)
{
	switch (t) {
	case T_MX:
		return "MX";
	case T_A:
		return "A";
	case T_AAAA:
		return "AAAA";
	case T_PTR:
		return "PTR";
	default:
		return "TLSA";
	}
}

/* answer_error - classify a failed or empty answer; 0 when it has data. */
static enum dns_status answer_error(int err, const struct ub_result *r, const char *name,
				    int rrtype, char *reason, size_t size)
{
	if (err != 0) {
		snprintf(reason, size, "Name service error for name=%s type=%s: %s", name,
			 type_name(rrtype), ub_strerror(err));
		return DNS_TEMPFAIL;
	}
	if (r->bogus) {
		snprintf(reason, size, "DNSSEC validation failed for name=%s type=%s: %s", name,
			 type_name(rrtype), r->why_bogus != NULL ? r->why_bogus : "bogus");
		return DNS_TEMPFAIL;
	}
	if (r->nxdomain) {
		snprintf(reason, size,
			 "Host or domain name not found. Name service error for name=%s type=%s: "
			 "Host not found",
			 name, type_name(rrtype));
		return DNS_NOTFOUND;
	}
	if (r->rcode != 0) {
		snprintf(reason, size,
			 "Host or domain name not found. Name service error for name=%s type=%s: "
			 "Host not found, try again",
			 name, type_name(rrtype));
		return DNS_TEMPFAIL;
	}
	return DNS_OK;
}

static size_t host_add(struct dns_query *q, const char *name, unsigned int pref)
{
	q->hosts = xreallocarray(q->hosts, q->nhosts + 1, sizeof(*q->hosts));
	memset(&q->hosts[q->nhosts], 0, sizeof(*q->hosts));
	q->hosts[q->nhosts].name = xstrdup(name);
	q->hosts[q->nhosts].pref = pref;
	return q->nhosts++;
}

/* start_addresses - A and/or AAAA queries for every host. */
static void start_addresses(struct dns_query *q)
{
	for (size_t i = 0; i < q->nhosts; i++) {
		if (q->ctx->ipv4 && !sub_start(q, q->hosts[i].name, T_A, i))
			q->hosts[i].tempfail = true;
		if (q->ctx->ipv6 && !sub_start(q, q->hosts[i].name, T_AAAA, i))
			q->hosts[i].tempfail = true;
	}
}

static void sec_note(struct dns_query *q, const struct ub_result *r)
{
	if (!q->via_mx)
		q->mx_secure = r != NULL && r->secure;
}

/* addr_push - one address for host h. */
static void addr_push(struct dns_query *q, struct dns_host *h, int family, const void *raw)
{
	struct dns_addr *a;

	h->addrs = xreallocarray(h->addrs, h->n + 1, sizeof(*h->addrs));
	a = &h->addrs[h->n++];
	memset(a, 0, sizeof(*a));
	a->host = xstrdup(h->name);
	a->pref = h->pref;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)q->port);
		memcpy(&sin->sin_addr, raw, 4);
		a->salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)q->port);
		memcpy(&sin6->sin6_addr, raw, 16);
		a->salen = sizeof(*sin6);
	}
}

/* addresses_done - every A/AAAA answer is in: build the ordered list. */
static void addresses_done(struct dns_query *q)
{
	struct dns_dest *d = &q->dest;
	bool tempfail = false;

	for (size_t i = 0; i < q->nhosts; i++) {
		struct dns_host *h = &q->hosts[i];

		tempfail = tempfail || h->tempfail;
		for (size_t k = 0; k < h->n; k++) {
			d->addrs = xreallocarray(d->addrs, d->n + 1, sizeof(*d->addrs));
			d->addrs[d->n] = h->addrs[k];
			d->addrs[d->n].host = xstrdup(h->addrs[k].host);
			d->addrs[d->n].mx_secure = q->mx_secure;
			d->n++;
		}
	}
	if (d->n > 0) {
		d->status = DNS_OK;
	} else if (tempfail || q->via_mx) {
		d->status = DNS_TEMPFAIL;
		snprintf(d->reason, sizeof(d->reason), "%s",
			 q->reason[0] != '\0' ? q->reason
					      : "no address found for the mail exchanger");
	} else {
		d->status = DNS_NOTFOUND;
		if (q->reason[0] != '\0')
			snprintf(d->reason, sizeof(d->reason), "%s", q->reason);
		else
			snprintf(d->reason, sizeof(d->reason),
				 "Host or domain name not found. Name service error for name=%s "
				 "type=A: Host not found",
				 q->name);
	}
	finish(q);
}

static unsigned long rnd_arc4(unsigned long bound, void *ctx)
{
	return (unsigned long)arc4random_uniform((uint32_t)bound);
}

/* mx_answer - the MX answer: hosts in order, or an error, or fallback. */
static void mx_answer(struct dns_query *q, int err, struct ub_result *r)
{
	enum dns_status st =
		answer_error(err, r, q->name, T_MX, q->dest.reason, sizeof(q->dest.reason));
	struct dns_mx *mx;
	size_t n = 0;
	struct buf name = BUF_INIT;
	bool null_mx = false;

	if (st != DNS_OK) {
		q->dest.status = st;
		finish(q);
		return;
	}
	q->mx_secure = r->secure;
	if (!r->havedata) {
		host_add(q, q->name, 0);
		start_addresses(q);
		if (q->pending == 0)
			addresses_done(q);
		return;
	}
	q->via_mx = true;
	for (n = 0; r->data[n] != NULL; n++)
		;
	mx = xcalloc(n + 1, sizeof(*mx));
	n = 0;
	for (size_t i = 0; r->data[i] != NULL; i++) {
		unsigned int pref;

		if (dns_rdata_mx((const unsigned char *)r->data[i], (size_t)r->len[i], &pref,
				 &name) < 0)
			continue;
		if (name.len == 0)
			null_mx = true;
		mx[n].pref = pref;
		mx[n].host = xstrdup(buf_cstr(&name));
		n++;
	}
	buf_deinit(&name);
	if (null_mx) {
		q->dest.status = DNS_NULLMX;
		snprintf(q->dest.reason, sizeof(q->dest.reason),
			 "Domain %s does not accept mail (nullMX)", q->name);
	} else if (n == 0) {
		q->dest.status = DNS_TEMPFAIL;
		snprintf(q->dest.reason, sizeof(q->dest.reason), "malformed MX records for %s",
			 q->name);
	} else {
		dns_mx_sort(mx, n, rnd_arc4, NULL);
		for (size_t i = 0; i < n && i < DNS_MX_HOSTS_MAX; i++)
			host_add(q, mx[i].host, mx[i].pref);
	}
	for (size_t i = 0; i < n; i++)
		free(mx[i].host);
	free(mx);
	if (q->dest.status != DNS_OK) {
		finish(q);
		return;
	}
	start_addresses(q);
	if (q->pending == 0)
		addresses_done(q);
}

/* addr_answer - one host's A or AAAA answer. */
static void addr_answer(struct dns_query *q, struct dns_sub *s, int err, struct ub_result *r)
{
	struct dns_host *h = &q->hosts[s->host];
	char reason[256];
	enum dns_status st = answer_error(err, r, h->name, s->rrtype, reason, sizeof(reason));

	if (st == DNS_TEMPFAIL)
		h->tempfail = true;
	if (st != DNS_OK && q->reason[0] == '\0')
		snprintf(q->reason, sizeof(q->reason), "%s", reason);
	if (st == DNS_OK && r->havedata) {
		size_t want = s->rrtype == T_A ? 4 : 16;

		sec_note(q, r);
		for (size_t i = 0; r->data[i] != NULL; i++)
			if ((size_t)r->len[i] == want)
				addr_push(q, h, want == 4 ? AF_INET : AF_INET6, r->data[i]);
	}
	if (q->pending == 0)
		addresses_done(q);
}

static void tlsa_answer(struct dns_query *q, int err, struct ub_result *r)
{
	struct dns_tlsa_result *t = &q->tlsa;
	enum dns_status st = answer_error(err, r, q->name, T_TLSA, t->reason, sizeof(t->reason));

	t->sec = err == 0 && r->bogus	 ? DNS_SEC_BOGUS
		 : err == 0 && r->secure ? DNS_SEC_SECURE
					 : DNS_SEC_INSECURE;
	t->status = st;
	if (st == DNS_OK && !r->havedata) {
		t->status = DNS_NOTFOUND;
		snprintf(t->reason, sizeof(t->reason), "no TLSA records for %s", q->name);
	} else if (st == DNS_OK) {
		size_t n = 0;

		while (r->data[n] != NULL)
			n++;
		t->recs = xcalloc(n + 1, sizeof(*t->recs));
		for (size_t i = 0; i < n; i++)
			if (dns_rdata_tlsa((const unsigned char *)r->data[i], (size_t)r->len[i],
					   &t->recs[t->n]) == 0)
				t->n++;
		if (t->n == 0) {
			t->status = DNS_NOTFOUND;
			snprintf(t->reason, sizeof(t->reason), "no usable TLSA records for %s",
				 q->name);
		}
	}
	finish(q);
}

/* ptr_answer - the PTR answer: the usable names, or why there are none. */
static void ptr_answer(struct dns_query *q, int err, struct ub_result *r)
{
	struct dns_ptr_result *p = &q->ptr;
	struct buf name = BUF_INIT;
	size_t n = 0;

	p->status = answer_error(err, r, q->name, T_PTR, p->reason, sizeof(p->reason));
	if (p->status != DNS_OK) {
		finish(q);
		return;
	}
	if (r->havedata) {
		while (r->data[n] != NULL)
			n++;
		p->names = xcalloc(n + 1, sizeof(*p->names));
		for (size_t i = 0; i < n; i++)
			if (dns_rdata_ptr((const unsigned char *)r->data[i], (size_t)r->len[i],
					  &name) == 0 &&
			    dns_hostname_ok(buf_cstr(&name)))
				p->names[p->n++] = xstrdup(buf_cstr(&name));
	}
	buf_deinit(&name);
	if (p->n == 0) {
		p->status = DNS_NOTFOUND;
		snprintf(p->reason, sizeof(p->reason), "%s for name=%s type=PTR",
			 n > 0 ? "no usable host name" : "no data", q->name);
	}
	finish(q);
}

static void ub_cb(void *mydata, int err, struct ub_result *result)
{
	struct dns_sub *s = mydata;
	struct dns_query *q = s->q;

	s->active = false;
	q->pending--;
	if (s->rrtype == T_MX)
		mx_answer(q, err, result);
	else if (s->rrtype == T_TLSA)
		tlsa_answer(q, err, result);
	else if (s->rrtype == T_PTR)
		ptr_answer(q, err, result);
	else
		addr_answer(q, s, err, result);
	if (result != NULL)
		ub_resolve_free(result);
}

/* literal - name is an IP address: fill the result at once. */
static bool literal(struct dns_query *q)
{
	unsigned char raw[16];
	int family;
	size_t i;

	if (inet_pton(AF_INET, q->name, raw) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, q->name, raw) == 1)
		family = AF_INET6;
	else
		return false;
	i = host_add(q, q->name, 0); /* reallocates q->hosts */
	addr_push(q, &q->hosts[i], family, raw);
	return true;
}

/* on_now - deliver a result that needed no query. */
static void on_now(struct loop_timer *t, void *arg)
{
	addresses_done(arg);
}

struct dns_query *dns_lookup_dest(struct dns_ctx *ctx, const char *name, bool use_mx,
				  unsigned int port, dns_dest_cb *cb, void *arg)
{
	struct dns_query *q = query_new(ctx, DNS_Q_DEST, name, port, arg);

	q->dcb = cb;
	if (literal(q)) {
		loop_timer_free(&q->timer);
		q->timer = loop_timer_new(ctx->base, on_now, q);
		loop_timer_add(q->timer, 0);
		return q;
	}
	if (use_mx) {
		if (!sub_start(q, name, T_MX, 0))
			snprintf(q->reason, sizeof(q->reason), "cannot start the MX lookup of %s",
				 name);
	} else {
		host_add(q, name, 0);
		start_addresses(q);
	}
	if (q->pending == 0) {
		/* nothing started: report a temporary failure from the loop */
		for (size_t i = 0; i < q->nhosts; i++)
			q->hosts[i].tempfail = true;
		if (q->nhosts == 0) {
			size_t i = host_add(q, name, 0);

			q->hosts[i].tempfail = true;
		}
		loop_timer_free(&q->timer);
		q->timer = loop_timer_new(ctx->base, on_now, q);
		loop_timer_add(q->timer, 0);
		return q;
	}
	loop_timer_add(q->timer, ctx->timeout_ms);
	return q;
}

/* on_tlsa_now - a TLSA query that could not start. */
static void on_tlsa_now(struct loop_timer *t, void *arg)
{
	finish(arg);
}

struct dns_query *dns_lookup_tlsa(struct dns_ctx *ctx, const char *host, unsigned int port,
				  dns_tlsa_cb *cb, void *arg)
{
	struct buf name = BUF_INIT;
	struct dns_query *q;

	buf_printf(&name, "_%u._tcp.%s", port, host);
	q = query_new(ctx, DNS_Q_TLSA, buf_cstr(&name), port, arg);
	buf_deinit(&name);
	q->tcb = cb;
	if (!sub_start(q, q->name, T_TLSA, 0)) {
		q->tlsa.status = DNS_TEMPFAIL;
		snprintf(q->tlsa.reason, sizeof(q->tlsa.reason), "cannot start the TLSA lookup");
		loop_timer_free(&q->timer);
		q->timer = loop_timer_new(ctx->base, on_tlsa_now, q);
		loop_timer_add(q->timer, 0);
		return q;
	}
	loop_timer_add(q->timer, ctx->timeout_ms);
	return q;
}

/* on_ptr_now - a PTR lookup that needed (or could start) no query. */
static void on_ptr_now(struct loop_timer *t, void *arg)
{
	finish(arg);
}

struct dns_query *dns_lookup_ptr(struct dns_ctx *ctx, const struct sockaddr *sa, dns_ptr_cb *cb,
				 void *arg)
{
	struct buf name = BUF_INIT;
	struct dns_query *q;
	bool ok = dns_ptr_name(sa, &name) == 0;

	q = query_new(ctx, DNS_Q_PTR, ok ? buf_cstr(&name) : "", 0, arg);
	buf_deinit(&name);
	q->pcb = cb;
	if (!ok || !sub_start(q, q->name, T_PTR, 0)) {
		q->ptr.status = ok ? DNS_TEMPFAIL : DNS_NOTFOUND;
		snprintf(q->ptr.reason, sizeof(q->ptr.reason), "%s",
			 ok ? "cannot start the PTR lookup" : "not an IP address");
		loop_timer_free(&q->timer);
		q->timer = loop_timer_new(ctx->base, on_ptr_now, q);
		loop_timer_add(q->timer, 0);
		return q;
	}
	loop_timer_add(q->timer, ctx->timeout_ms);
	return q;
}

void dns_cancel(struct dns_query **qp)
{
	if (*qp == NULL)
		return;
	query_free(*qp);
	*qp = NULL;
}

void dns_free(struct dns_ctx **ctxp)
{
	struct dns_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	while (ctx->queries != NULL)
		query_free(ctx->queries);
	if (ctx->ev != NULL)
		event_free(ctx->ev);
	ub_ctx_delete(ctx->ub);
	xfree(ctxp);
}
