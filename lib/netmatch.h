/*
 * netmatch.h - match client addresses against a list of networks, as in
 * $mynetworks: "127.0.0.0/8 [::1]/128 192.0.2.7 [2001:db8::]/32".
 * IPv6 entries may be written with or without brackets; an IPv4-mapped IPv6
 * client (::ffff:192.0.2.7) matches IPv4 entries.
 */
#ifndef TERN_NETMATCH_H
#define TERN_NETMATCH_H

#include "sys.h"

#include <sys/socket.h>

struct err;
struct netmatch;

/* netmatch_new - parse the entries (NULL-terminated); a bad entry fails
 * with "bad network \"...\"" in err. */
struct netmatch *netmatch_new(char *const *entries, struct err *err) ATTR_WARN_UNUSED;
void netmatch_free(struct netmatch **nmp);
/* netmatch_sockaddr - true if the address is in one of the networks. */
bool netmatch_sockaddr(const struct netmatch *nm, const struct sockaddr *sa);
/* netmatch_str - the same for a printed address ("192.0.2.1", "::1"). */
bool netmatch_str(const struct netmatch *nm, const char *addr);

#endif
