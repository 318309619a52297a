/*
 * dns_util.c - the pure parts of lib/dns: MX ordering, rdata decoding
 *           (MX, TLSA, PTR), dns_servers entries, the reverse-lookup
 *           name of an address (in-addr.arpa, ip6.arpa), host-name
 *           checks for names read from PTR records, and the address
 *           match of forward confirmation.
 * Touches:  nothing but its arguments (no I/O, no globals).
 * Input:    untrusted rdata from DNS answers: decoded with explicit
 *           lengths, names checked label by label.
 * Security: a name taken from a PTR record ends up in logs and in the
 *           Received: header: dns_hostname_ok admits letters, digits,
 *           '-' and '_' only, and no name that reads as an address.
 * Errors:   -1 (or false) for malformed input; never aborts.
 * See:      dns.h, RFC 1035 3.5, RFC 3596 2.5, RFC 1123 2.1.
 */
#include "sys.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>

#include "buf.h"
#include "dns.h"
#include "xmem.h"

void dns_mx_sort(struct dns_mx *mx, size_t n, unsigned long (*rnd)(unsigned long, void *),
		 void *rnd_ctx)
{
	/* insertion sort: stable, n is small (at most a few dozen) */
	for (size_t i = 1; i < n; i++) {
		struct dns_mx t = mx[i];
		size_t j = i;

		while (j > 0 && mx[j - 1].pref > t.pref) {
			mx[j] = mx[j - 1];
			j--;
		}
		mx[j] = t;
	}
	for (size_t i = 0; i < n;) {
		size_t end = i + 1;

		while (end < n && mx[end].pref == mx[i].pref)
			end++;
		/* Fisher-Yates over the run [i, end) */
		for (size_t k = end - 1; k > i; k--) {
			size_t r = i + (size_t)rnd((unsigned long)(k - i + 1), rnd_ctx);
			struct dns_mx t = mx[k];

			mx[k] = mx[r];
			mx[r] = t;
		}
		i = end;
	}
}

/* wire_name - an uncompressed wire-format name at p (avail bytes) as text
 * into out; bytes used in *used_r.  -1 when malformed. */
static int wire_name(const unsigned char *p, size_t avail, struct buf *out, size_t *used_r)
{
	size_t i = 0;

	buf_reset(out);
	for (;;) {
		size_t l;

		if (i >= avail)
			return -1;
		l = p[i++];
		if (l == 0)
			break;
		if (l > 63 || l > avail - i || out->len + l + 1 > 255)
			return -1;
		if (out->len > 0)
			buf_addc(out, '.');
		for (size_t k = 0; k < l; k++) {
			unsigned char c = p[i + k];

			if (c <= ' ' || c >= 0x7f || c == '.' || c == '\\')
				return -1;
			buf_addc(out, (char)tolower(c));
		}
		i += l;
	}
	*used_r = i;
	return 0;
}

int dns_rdata_mx(const unsigned char *rdata, size_t len, unsigned int *pref_r, struct buf *name_r)
{
	size_t used;

	if (len < 3)
		return -1;
	if (wire_name(rdata + 2, len - 2, name_r, &used) < 0 || used != len - 2)
		return -1;
	*pref_r = (unsigned int)rdata[0] << 8 | rdata[1];
	return 0;
}

int dns_rdata_tlsa(const unsigned char *rdata, size_t len, struct dns_tlsa *rec_r)
{
	if (len < 4 || len > 4096)
		return -1;
	rec_r->usage = rdata[0];
	rec_r->selector = rdata[1];
	rec_r->mtype = rdata[2];
	rec_r->len = len - 3;
	rec_r->data = xmemdup(rdata + 3, len - 3);
	return 0;
}

int dns_server_spec(const char *server, struct buf *out)
{
	const char *host = server, *port = NULL;
	size_t hlen;
	unsigned char tmp[sizeof(struct in6_addr)];
	char h[INET6_ADDRSTRLEN + 1];

	if (*server == '[') {
		const char *close = strchr(server, ']');

		if (close == NULL)
			return -1;
		host = server + 1;
		hlen = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -1;
	} else {
		const char *colon = strchr(server, ':');

		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL; /* a bare IPv6 address */
		hlen = colon != NULL ? (size_t)(colon - server) : strlen(server);
		if (colon != NULL)
			port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(h))
		return -1;
	memcpy(h, host, hlen);
	h[hlen] = '\0';
	if (inet_pton(AF_INET, h, tmp) != 1 && inet_pton(AF_INET6, h, tmp) != 1)
		return -1;
	if (port != NULL) {
		char *end;
		unsigned long v = strtoul(port, &end, 10);

		if (*port == '\0' || *end != '\0' || v == 0 || v > 65535)
			return -1;
	}
	buf_reset(out);
	buf_adds(out, h);
	if (port != NULL)
		buf_printf(out, "@%s", port);
	return 0;
}

void dns_dest_deinit(struct dns_dest *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->addrs[i].host);
	xfree(&d->addrs);
	d->n = 0;
}

void dns_tlsa_result_deinit(struct dns_tlsa_result *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->recs[i].data);
	xfree(&t->recs);
	t->n = 0;
}

/* raw_addr - the address bytes of sa (an IPv4-mapped IPv6 address as
 * IPv4): family in *family_r, 4 or 16 bytes at the returned pointer;
 * NULL for another family. */
static const unsigned char *raw_addr(const struct sockaddr *sa, int *family_r)
{
	if (sa->sa_family == AF_INET) {
		*family_r = AF_INET;
		return (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			*family_r = AF_INET;
			return a->s6_addr + 12;
		}
		*family_r = AF_INET6;
		return a->s6_addr;
	}
	return NULL;
}

int dns_ptr_name(const struct sockaddr *sa, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	int family;
	const unsigned char *a = raw_addr(sa, &family);

	if (a == NULL)
		return -1;
	buf_reset(out);
	if (family == AF_INET) {
		buf_printf(out, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return 0;
	}
	for (size_t i = 16; i-- > 0;) {
		buf_addc(out, hex[a[i] & 0xf]);
		buf_addc(out, '.');
		buf_addc(out, hex[a[i] >> 4]);
		buf_addc(out, '.');
	}
	buf_adds(out, "ip6.arpa");
	return 0;
}

int dns_rdata_ptr(const unsigned char *rdata, size_t len, struct buf *name_r)
{
	size_t used;

	if (wire_name(rdata, len, name_r, &used) < 0 || used != len)
		return -1;
	return 0;
}

bool dns_hostname_ok(const char *name)
{
	size_t len = strlen(name), label = 0;
	bool digits_only = true;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.' || c == '\0') {
			/* a label: 1..63 bytes, no '-' at either end */
			if (label == 0 || label > 63 || name[i - 1] == '-' ||
			    name[i - label] == '-')
				return false;
			if (c == '\0')
				break;
			label = 0;
			digits_only = true;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if (!isdigit(c))
			digits_only = false;
		label++;
	}
	/* a last label of digits reads as an address ("192.0.2.1") */
	return !digits_only;
}

bool dns_dest_has_addr(const struct dns_dest *d, const struct sockaddr *sa)
{
	int family, f2;
	const unsigned char *a = raw_addr(sa, &family);

	if (a == NULL)
		return false;
	for (size_t i = 0; i < d->n; i++) {
		const unsigned char *b = raw_addr((const struct sockaddr *)&d->addrs[i].sa, &f2);

		if (b != NULL && f2 == family && memcmp(a, b, family == AF_INET ? 4 : 16) == 0)
			return true;
	}
	return false;
}

void dns_ptr_result_deinit(struct dns_ptr_result *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->names[i]);
	xfree(&p->names);
	p->n = 0;
}
