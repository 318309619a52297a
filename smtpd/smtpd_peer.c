/*
 * smtpd_peer.c - the client's host name, as Postfix finds it: the PTR
 *           records of the client address, then the addresses of the
 *           first usable name; the name is used only when they include
 *           the client address ("forward-confirmed"), else the client is
 *           "unknown".  The lookup runs before the greeting, on the event
 *           loop (lib/dns), bounded by smtpd_peername_timeout; other
 *           sessions go on meanwhile.
 * Touches:  the resolver (dns_servers, else /etc/resolv.conf), through a
 *           lib/dns context of this process; the maillog.
 * Input:    untrusted DNS answers: names come from lib/dns already lower
 *           case and limited to letters, digits, '-' and '_' (no address
 *           literals), so what reaches logs and the Received: header is
 *           a plain host name.
 * Security: a name is believed only after forward confirmation, so a
 *           client cannot choose its name through its own reverse zone;
 *           a silent resolver costs a session at most the timeout.
 * Errors:   a name that does not resolve back logs Postfix's "warning:
 *           hostname NAME does not resolve to address ADDR"; a PTR that
 *           is missing or fails leaves "unknown" without a warning.
 * See:      docs/smtpd.md "Client name lookup", lib/dns.h.
 */
#include "sys.h"

#include "dns.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "smtpd.h"
#include "xmem.h"

/* SMTPD_NAME_UNKNOWN - the name of a client without a confirmed one. */
#define SMTPD_NAME_UNKNOWN "unknown"

int smtpd_peer_init(struct smtpd_conf *conf, char **servers, size_t n_servers, bool lookup,
		    unsigned int timeout_ms, struct err *err)
{
	conf->peer_timeout_ms = timeout_ms;
	if (!lookup)
		return 0;
	/* no trust anchor: the name is only believed after the forward
	 * lookup matches, and a validation failure would only add delays */
	conf->dns = dns_new(conf->base, servers, n_servers, NULL, true, true, timeout_ms, err);
	return conf->dns != NULL ? 0 : -1;
}

/* peer_finish - the name is settled: stop the timer, hand back. */
static void peer_finish(struct smtpd_session *s)
{
	smtpd_peer_done_fn *done = s->peer_done;

	loop_timer_free(&s->peer_timer);
	s->peer_done = NULL;
	if (s->name != s->peer_name)
		xfree(&s->peer_name);
	done(s);
}

/* on_addr - the addresses of the PTR name: confirmed or not. */
static void on_addr(const struct dns_dest *res, void *arg)
{
	struct smtpd_session *s = arg;

	s->peer_q = NULL; /* freed by lib/dns after this returns */
	if (res->status == DNS_OK && dns_dest_has_addr(res, (const struct sockaddr *)&s->sa))
		s->name = s->peer_name;
	else if (res->status == DNS_OK)
		log_warn("hostname %s does not resolve to address %s", s->peer_name, s->addr);
	else
		log_warn("hostname %s does not resolve to address %s: %s", s->peer_name, s->addr,
			 res->status == DNS_TEMPFAIL ? "Temporary failure in name resolution"
						     : "Name or service not known");
	peer_finish(s);
}

/* on_ptr - the PTR answer: confirm its first usable name. */
static void on_ptr(const struct dns_ptr_result *res, void *arg)
{
	struct smtpd_session *s = arg;

	s->peer_q = NULL;
	if (res->status != DNS_OK) {
		log_debug("%s: no client name: %s", s->addr, res->reason);
		peer_finish(s);
		return;
	}
	s->peer_name = xstrdup(res->names[0]);
	s->peer_q = dns_lookup_dest(s->conf->dns, s->peer_name, false, 0, on_addr, s);
}

/* on_timeout - smtpd_peername_timeout passed: go on as "unknown". */
static void on_timeout(struct loop_timer *t, void *arg)
{
	struct smtpd_session *s = arg;

	dns_cancel(&s->peer_q);
	if (s->peer_name != NULL)
		log_warn("hostname %s does not resolve to address %s: "
			 "Temporary failure in name resolution",
			 s->peer_name, s->addr);
	else
		log_info("%s: client name lookup timed out", s->addr);
	peer_finish(s);
}

void smtpd_peer_lookup(struct smtpd_session *s, smtpd_peer_done_fn *done)
{
	const struct smtpd_conf *conf = s->conf;
	int family = s->sa.ss_family;

	s->name = SMTPD_NAME_UNKNOWN;
	if (conf->dns == NULL || (family != AF_INET && family != AF_INET6)) {
		done(s);
		return;
	}
	s->peer_done = done;
	s->peer_timer = loop_timer_new(conf->base, on_timeout, s);
	loop_timer_add(s->peer_timer, conf->peer_timeout_ms);
	s->peer_q = dns_lookup_ptr(conf->dns, (const struct sockaddr *)&s->sa, on_ptr, s);
}

void smtpd_peer_cancel(struct smtpd_session *s)
{
	dns_cancel(&s->peer_q);
	loop_timer_free(&s->peer_timer);
	s->peer_done = NULL;
}

void smtpd_peer_deinit(struct smtpd_session *s)
{
	smtpd_peer_cancel(s);
	s->name = SMTPD_NAME_UNKNOWN;
	xfree(&s->peer_name);
}
