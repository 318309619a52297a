/*
 * transport.h - message routing for remote domains, as Postfix's
 * trivial-rewrite does it: $transport_maps (per domain: "smtp:[host]:port",
 * "smtp:host", "local:", "error:reason", "discard:reason") and $relayhost
 * (every remote domain to one host), plus the parser of next-hop strings
 * the smtp agent connects to.
 *
 * Table keys, first match wins: the domain itself ("example.com"), then
 * each parent with a leading dot (".example.com" matches every subdomain,
 * ".com" ...), then "*".  A value is TRANSPORT:NEXTHOP; an empty transport
 * keeps the default ("smtp"), an empty next hop keeps the default (the
 * recipient domain, or $relayhost for smtp to a remote domain).
 * See: Postfix transport(5), docs/smtp.md "Routing".
 */
#ifndef TERN_TRANSPORT_H
#define TERN_TRANSPORT_H

#include "sys.h"

struct buf;
struct cfg;
struct err;

struct transport;

/* transport_new - read $relayhost and open the $transport_maps tables.
 * -1 (NULL) with err for a table that cannot be opened at all or a bad
 * relayhost. */
struct transport *transport_new(struct cfg *cfg, struct err *err) ATTR_WARN_UNUSED;
/* transport_new_spec - the same from explicit values (tests): maps is a
 * comma/space separated list of table specs, relayhost may be "". */
struct transport *transport_new_spec(const char *maps, const char *relayhost,
				     struct err *err) ATTR_WARN_UNUSED;
void transport_free(struct transport **tp);

/* transport_lookup - the route of a recipient domain (lower case).
 * remote: the domain is not local or virtual (qmgr's RESOLVE_RELAY or
 * RESOLVE_REMOTE), so $relayhost applies when no table entry matches.
 * TBL_FOUND: a table entry or $relayhost gave the route, in transport_r
 * ("smtp", "local", "error", "discard", or another master.cf transport)
 * and nexthop_r ("[host]:port", "host", the error text, ...).
 * TBL_NOTFOUND: no rule; transport_r and nexthop_r hold the defaults
 * ("smtp" and the domain when remote, "" and the domain otherwise).
 * TBL_TEMPFAIL: a table failed; err says why (defer the recipient). */
int transport_lookup(struct transport *t, const char *domain, bool remote, struct buf *transport_r,
		     struct buf *nexthop_r, struct err *err);

/* transport_parse_value - split one table value "TRANSPORT:NEXTHOP"
 * (a value without ':' is a transport name alone) into transport_r and
 * nexthop_r, applying the defaults described above for domain.  -1 with
 * err for an empty value or a bad transport name ([a-z0-9_-]+). */
int transport_parse_value(const char *value, const char *domain, const char *relayhost,
			  struct buf *transport_r, struct buf *nexthop_r,
			  struct err *err) ATTR_WARN_UNUSED;

/* transport_parse_nexthop - an smtp next hop: "[host]:port", "[host]",
 * "host:port", "host", "[192.0.2.1]", "[ipv6:2001:db8::1]:25".  Brackets
 * mean "no MX lookup" (*use_mx_r false).  host_r gets the name or address
 * (lower case, without brackets or "ipv6:"), *port_r the port or
 * default_port.  -1 with err for an empty host or a bad port. */
int transport_parse_nexthop(const char *nexthop, unsigned int default_port, struct buf *host_r,
			    unsigned int *port_r, bool *use_mx_r, struct err *err) ATTR_WARN_UNUSED;

#endif
