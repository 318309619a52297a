/*
 * dns.h - asynchronous DNS (libunbound inside the libevent loop): the mail
 * exchangers of a destination with their addresses, in the order they
 * must be tried, and TLSA records with their DNSSEC status for DANE (the
 * smtp agent); the names of a client address from its PTR records, to be
 * forward-confirmed with dns_lookup_dest and dns_dest_has_addr (smtpd).
 * CNAME chains are followed by the resolver.
 *
 * `dns_servers = host[:port]` sends every query to that resolver (a
 * forwarder); otherwise /etc/resolv.conf.  Answers are DNSSEC-validated
 * when a trust anchor file is given ($dns_trust_anchor_file); without one
 * every answer is "insecure".  With dns_servers set, reverse lookups of
 * loopback and private addresses go to that resolver too (libunbound
 * would otherwise answer them from its built-in local zones).
 * See: RFC 5321 5.1, RFC 7505 (null MX), RFC 7672 (DANE for SMTP),
 *      RFC 1035 3.5 and RFC 3596 2.5 (reverse names),
 *      docs/smtp.md "Finding the destination", docs/smtpd.md.
 */
#ifndef TERN_DNS_H
#define TERN_DNS_H

#include "sys.h"

#include <sys/socket.h>

struct buf;
struct err;
struct event_base;

/* The outcome of a lookup. */
enum dns_status {
	DNS_OK,	      /* addresses (or records) found */
	DNS_NOTFOUND, /* the name does not exist or has no usable data: bounce */
	DNS_TEMPFAIL, /* SERVFAIL, timeout, DNSSEC bogus: try again later */
	DNS_NULLMX,   /* the domain says it accepts no mail (RFC 7505): bounce */
};

/* DNSSEC state of an answer (RFC 4035). */
enum dns_sec {
	DNS_SEC_INSECURE,
	DNS_SEC_SECURE,
	DNS_SEC_BOGUS,
};

/* One mail exchanger as read from an MX record. */
struct dns_mx {
	unsigned int pref;
	char *host; /* lower case, without the trailing dot; "" for "." */
};

/* One address to try, in order. */
struct dns_addr {
	char *host;		    /* the MX (or A/AAAA) host name */
	unsigned int pref;	    /* its MX preference (0 without MX) */
	struct sockaddr_storage sa; /* the address with the port filled in */
	socklen_t salen;
	bool mx_secure; /* the MX answer (or the A/AAAA answer,
			 * without MX) was DNSSEC-secure */
};

struct dns_dest {
	enum dns_status status;
	char reason[256];	/* for DNS_NOTFOUND/TEMPFAIL/NULLMX */
	struct dns_addr *addrs; /* in the order to try */
	size_t n;
};

/* One TLSA record (RFC 6698). */
struct dns_tlsa {
	uint8_t usage, selector, mtype;
	unsigned char *data;
	size_t len;
};

struct dns_tlsa_result {
	enum dns_status status; /* DNS_NOTFOUND: no TLSA records */
	enum dns_sec sec;
	char reason[256];
	struct dns_tlsa *recs;
	size_t n;
};

/* The names a reverse (PTR) lookup found. */
struct dns_ptr_result {
	enum dns_status status; /* DNS_OK (n > 0); DNS_NOTFOUND: NXDOMAIN,
				 * no PTR record or none with a usable
				 * name; DNS_TEMPFAIL: SERVFAIL, timeout */
	char reason[256];	/* for DNS_NOTFOUND/TEMPFAIL */
	char **names;		/* lower case, no trailing dot, each one
				 * dns_hostname_ok; in answer order */
	size_t n;
};

struct dns_ctx;
struct dns_query;

/* dns_new - a resolver context in base.  servers: the dns_servers list
 * ("127.0.0.1", "127.0.0.1:5353", "[::1]:53"; NULL or empty: the
 * system's).  anchor_file: DNSSEC trust anchor or NULL/"".  ipv4/ipv6:
 * which address families dns_lookup_dest collects.  timeout_ms bounds each
 * lookup.  NULL with err when libunbound refuses the settings. */
struct dns_ctx *dns_new(struct event_base *base, char **servers, size_t n_servers,
			const char *anchor_file, bool ipv4, bool ipv6, unsigned int timeout_ms,
			struct err *err) ATTR_WARN_UNUSED;
/* dns_free - cancel every lookup (no callbacks) and free; NULL-safe. */
void dns_free(struct dns_ctx **ctxp);

/* dns_dest_cb - the result; valid during the call only.  The query is
 * freed by the library after the callback returns: do not dns_cancel it
 * from inside. */
typedef void dns_dest_cb(const struct dns_dest *res, void *arg);
typedef void dns_tlsa_cb(const struct dns_tlsa_result *res, void *arg);
typedef void dns_ptr_cb(const struct dns_ptr_result *res, void *arg);

/* dns_lookup_dest - where mail for name goes.  use_mx: the MX records of
 * name in preference order (equal preferences shuffled), each host's
 * addresses, A/AAAA of name itself when it has no MX, DNS_NULLMX for a
 * null MX; !use_mx: the addresses of host name only (an IP address literal
 * is used as is, without a query).  Every address gets port.  The callback
 * runs from the loop, never from inside this call. */
struct dns_query *dns_lookup_dest(struct dns_ctx *ctx, const char *name, bool use_mx,
				  unsigned int port, dns_dest_cb *cb, void *arg);
/* dns_lookup_tlsa - the TLSA records of _PORT._tcp.HOST. */
struct dns_query *dns_lookup_tlsa(struct dns_ctx *ctx, const char *host, unsigned int port,
				  dns_tlsa_cb *cb, void *arg);
/* dns_lookup_ptr - the host names of address sa (AF_INET or AF_INET6;
 * an IPv4-mapped IPv6 address is looked up as IPv4) from the PTR records
 * of its in-addr.arpa or ip6.arpa name.  Names that are not plausible host
 * names (dns_hostname_ok) are left out.  The names are not confirmed: to
 * trust one, look up its addresses (dns_lookup_dest, !use_mx) and check
 * that they hold sa (dns_dest_has_addr).  Another family: DNS_NOTFOUND.
 * The callback runs from the loop, never from inside this call. */
struct dns_query *dns_lookup_ptr(struct dns_ctx *ctx, const struct sockaddr *sa, dns_ptr_cb *cb,
				 void *arg);
/* dns_cancel - stop a lookup (its callback never runs); NULL-safe, sets
 * *qp NULL. */
void dns_cancel(struct dns_query **qp);

/* ---- pure helpers (unit tests) ---- */

/* dns_mx_sort - sort mx by preference, shuffling runs of equal preference
 * with rnd (returns a uniformly random value below its argument). */
void dns_mx_sort(struct dns_mx *mx, size_t n, unsigned long (*rnd)(unsigned long bound, void *ctx),
		 void *rnd_ctx);
/* dns_rdata_mx - decode an MX rdata (16-bit preference, uncompressed
 * name) into *pref_r and name_r (lower case, no trailing dot, "" for the
 * root).  -1 when malformed. */
int dns_rdata_mx(const unsigned char *rdata, size_t len, unsigned int *pref_r,
		 struct buf *name_r) ATTR_WARN_UNUSED;
/* dns_rdata_tlsa - decode a TLSA rdata into rec_r (data is a heap copy). */
int dns_rdata_tlsa(const unsigned char *rdata, size_t len, struct dns_tlsa *rec_r) ATTR_WARN_UNUSED;
/* dns_server_spec - "host[:port]" (or "[v6]:port") as libunbound's
 * "addr@port" into out; -1 for a malformed entry. */
int dns_server_spec(const char *server, struct buf *out) ATTR_WARN_UNUSED;
/* dns_ptr_name - the reverse-lookup name of sa into out, without the
 * trailing dot: "4.3.2.1.in-addr.arpa" for 1.2.3.4 (an IPv4-mapped IPv6
 * address counts as IPv4), 32 nibbles low-order first then "ip6.arpa" for
 * IPv6.  -1 for another family. */
int dns_ptr_name(const struct sockaddr *sa, struct buf *out) ATTR_WARN_UNUSED;
/* dns_rdata_ptr - decode a PTR rdata (an uncompressed name) into name_r,
 * lower case, no trailing dot.  -1 when malformed. */
int dns_rdata_ptr(const unsigned char *rdata, size_t len, struct buf *name_r) ATTR_WARN_UNUSED;
/* dns_hostname_ok - name (no trailing dot) is a plausible host name:
 * labels of 1..63 letters, digits, '-' and '_' without a '-' at either
 * end, at most 253 bytes, and a last label that is not all digits (so that
 * no address literal such as "192.0.2.1" passes for a name). */
bool dns_hostname_ok(const char *name);
/* dns_dest_has_addr - one of d's addresses is sa's (ports ignored;
 * IPv4-mapped IPv6 addresses compare as IPv4). */
bool dns_dest_has_addr(const struct dns_dest *d, const struct sockaddr *sa);
/* dns_dest_deinit / dns_tlsa_result_deinit / dns_ptr_result_deinit - free
 * what a lookup filled. */
void dns_dest_deinit(struct dns_dest *d);
void dns_tlsa_result_deinit(struct dns_tlsa_result *t);
void dns_ptr_result_deinit(struct dns_ptr_result *p);

#endif
