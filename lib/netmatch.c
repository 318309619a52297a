/*
 * netmatch.c - CIDR network lists (see netmatch.h).
 * Touches:  only its arguments.
 * Input:    entries come from main.cf (trusted, but checked strictly);
 *           addresses from accept(2) or from text.
 */
#include "sys.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "err.h"
#include "netmatch.h"
#include "str.h"
#include "xmem.h"

struct net {
	int family;            /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned int prefix;   /* bits */
};

struct netmatch {
	struct net *nets;
	size_t count;
};

/* parse_entry - "a.b.c.d[/n]", "[v6]/n", "v6/n" into net. */
static int parse_entry(const char *entry, struct net *net, struct err *err)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *slash = strchr(entry, '/');
	size_t hlen = slash ? (size_t)(slash - entry) : strlen(entry);
	const char *h = entry;
	unsigned int prefix, max;

	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return err_set(err, "bad network \"%s\"", entry);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, host, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else {
		return err_set(err, "bad network \"%s\"", entry);
	}
	prefix = max;
	if (slash != NULL && (str_to_uint(slash + 1, &prefix) < 0 || prefix > max))
		return err_set(err, "bad network \"%s\": bad prefix length", entry);
	/* Postfix refuses host bits set beyond the prefix; so do we. */
	for (unsigned int bit = prefix; bit < max; bit++)
		if (net->addr[bit / 8] & (0x80 >> (bit % 8)))
			return err_set(err, "bad network \"%s\": host bits set past /%u", entry,
				       prefix);
	net->prefix = prefix;
	return 0;
}

struct netmatch *netmatch_new(char *const *entries, struct err *err)
{
	struct netmatch *nm = xcalloc(1, sizeof(*nm));

	for (; entries != NULL && *entries != NULL; entries++) {
		nm->nets = xreallocarray(nm->nets, nm->count + 1, sizeof(*nm->nets));
		if (parse_entry(*entries, &nm->nets[nm->count], err) < 0) {
			netmatch_free(&nm);
			return NULL;
		}
		nm->count++;
	}
	return nm;
}

void netmatch_free(struct netmatch **nmp)
{
	if (*nmp == NULL)
		return;
	free((*nmp)->nets);
	xfree(nmp);
}

/* prefix_eq - the first bits of a and b agree. */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* match_raw - family + address bytes against every network. */
static bool match_raw(const struct netmatch *nm, int family, const uint8_t *addr)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		family = AF_INET;
		addr += 12;
	}
	for (size_t i = 0; i < nm->count; i++)
		if (nm->nets[i].family == family && prefix_eq(nm->nets[i].addr, addr, nm->nets[i].prefix))
			return true;
	return false;
}

bool netmatch_sockaddr(const struct netmatch *nm, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return match_raw(nm, AF_INET,
				 (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return match_raw(nm, AF_INET6,
				 (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

bool netmatch_str(const struct netmatch *nm, const char *addr)
{
	uint8_t raw[16];

	if (inet_pton(AF_INET, addr, raw) == 1)
		return match_raw(nm, AF_INET, raw);
	if (inet_pton(AF_INET6, addr, raw) == 1)
		return match_raw(nm, AF_INET6, raw);
	return false;
}
