/*
 * resolve.h - where an address goes and whether it exists: the policy shared
 * by smtpd (RCPT validation, relay control), qmgr (transport choice) and
 * local (alias and virtual-alias expansion).
 *
 * Domain classes, first match wins:
 *   RESOLVE_LOCAL    $mydestination: local part looked up in $alias_maps
 *   RESOLVE_VIRTUAL  $virtual_mailbox_domains: users in $virtual_mailbox_maps
 *                    (full address), plus $alias_maps (full address, then
 *                    the local part)
 *   RESOLVE_RELAY    $relay_domains: relayed to their MX, accepted from anyone
 *   RESOLVE_REMOTE   anything else: relayed only for trusted or
 *                    authenticated clients
 * Every class first goes through $virtual_alias_maps (full address, then
 * "@domain" catch-all).  postmaster@ any local or virtual domain exists.
 * Table answers keep the found / not found / try again distinction.
 * See: docs/addressing.md.
 */
#ifndef TERN_RESOLVE_H
#define TERN_RESOLVE_H

#include "sys.h"

#include <sys/socket.h>

struct err;
struct cfg;
struct buf;

enum resolve_class {
	RESOLVE_LOCAL,
	RESOLVE_VIRTUAL,
	RESOLVE_RELAY,
	RESOLVE_REMOTE,
};

struct resolver;

/* resolver_new - read the domain lists and open the tables named in cfg. */
struct resolver *resolver_new(struct cfg *cfg, struct err *err) ATTR_WARN_UNUSED;
void resolver_free(struct resolver **rp);

/* resolve_domain - class of a (lower-case) domain; "" counts as $myorigin. */
enum resolve_class resolve_domain(struct resolver *r, const char *domain);
/* resolve_class_name - "local", "virtual", "relay", "remote". */
const char *resolve_class_name(enum resolve_class c);

/* resolve_rcpt_exists - for RCPT: TBL_FOUND if addr (local@domain, domain
 * lower-case) is a user, an alias or a virtual alias, TBL_NOTFOUND, or
 * TBL_TEMPFAIL with err.  Remote and relay addresses are TBL_FOUND. */
int resolve_rcpt_exists(struct resolver *r, const char *addr, struct err *err);

/* resolve_virtual_alias - one level of $virtual_alias_maps for addr: the
 * comma/space separated targets in value_r (TBL_FOUND), TBL_NOTFOUND or
 * TBL_TEMPFAIL. */
int resolve_virtual_alias(struct resolver *r, const char *addr, struct buf *value_r,
			  struct err *err);
/* resolve_alias - one level of $alias_maps for addr (full address first,
 * then the local part for local and virtual domains). */
int resolve_alias(struct resolver *r, const char *addr, struct buf *value_r, struct err *err);
/* resolve_user - $virtual_mailbox_maps: TBL_FOUND if addr is a mailbox user
 * (that table holds no password hashes: only auth reads those). */
int resolve_user(struct resolver *r, const char *addr, struct err *err);

/* resolve_trusted_client - the peer address is in $mynetworks. */
bool resolve_trusted_client(struct resolver *r, const struct sockaddr *sa);

#endif
