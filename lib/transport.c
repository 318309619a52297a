/*
 * transport.c - routing of remote domains: $transport_maps and $relayhost
 * (see transport.h), and next-hop parsing for the smtp agent.
 * Touches:  the tables named in $transport_maps (read only, via lib/tbl).
 * Input:    domains from queue files (already canonical), table values
 *           written by the administrator, next hops from qmgr.
 * Security: pure string handling apart from table lookups; nothing from
 *           the network reaches a table key without canonicalisation.
 * Errors:   a failed lookup is TBL_TEMPFAIL with the reason; a malformed
 *           table value is TBL_TEMPFAIL too (the administrator must fix it,
 *           mail waits meanwhile) and is logged by the caller.
 * See:      transport.h, Postfix transport(5), docs/smtp.md.
 */
#include "sys.h"

#include <strings.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "str.h"
#include "tbl.h"
#include "transport.h"
#include "xmem.h"

struct transport {
	struct tbl **maps;
	size_t n;
	char *relayhost;
};

static struct transport *build(char **specs, size_t n, const char *relayhost,
			       const char *default_type, struct err *err)
{
	struct transport *t = xcalloc(1, sizeof(*t));

	t->relayhost = xstrdup(relayhost != NULL ? relayhost : "");
	t->maps = xcalloc(n + 1, sizeof(*t->maps));
	for (size_t i = 0; i < n; i++) {
		t->maps[i] = tbl_open(specs[i], default_type, TBL_RDONLY, err);
		if (t->maps[i] == NULL) {
			transport_free(&t);
			return NULL;
		}
		t->n++;
	}
	if (t->relayhost[0] != '\0') {
		struct buf host = BUF_INIT;
		unsigned int port;
		bool mx;
		int rc = transport_parse_nexthop(t->relayhost, 25, &host, &port, &mx, err);

		buf_deinit(&host);
		if (rc < 0) {
			err_set(err, "relayhost: bad value \"%.100s\"", t->relayhost);
			transport_free(&t);
			return NULL;
		}
	}
	return t;
}

struct transport *transport_new(struct cfg *cfg, struct err *err)
{
	size_t n = 0;
	char **specs = cfg_get_list(cfg, "transport_maps", &n);
	struct transport *t = build(specs, n, cfg_get(cfg, "relayhost"),
				    cfg_get(cfg, "default_database_type"), err);

	str_split_free(&specs);
	return t;
}

struct transport *transport_new_spec(const char *maps, const char *relayhost, struct err *err)
{
	size_t n = 0;
	char **specs = str_split_braces(maps, ", \t", &n);
	struct transport *t = build(specs, n, relayhost, "hash", err);

	str_split_free(&specs);
	return t;
}

void transport_free(struct transport **tp)
{
	struct transport *t = *tp;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		tbl_close(&t->maps[i]);
	free(t->maps);
	free(t->relayhost);
	xfree(tp);
}

/* name_ok - a transport name: [a-z0-9_-]+ (master.cf service names). */
static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

int transport_parse_value(const char *value, const char *domain, const char *relayhost,
			  struct buf *transport_r, struct buf *nexthop_r, struct err *err)
{
	const char *colon = strchr(value, ':');
	size_t tn = colon != NULL ? (size_t)(colon - value) : strlen(value);
	const char *hop = colon != NULL ? colon + 1 : "";

	if (value[0] == '\0')
		return err_set(err, "empty transport table value");
	if (tn > 0 && !name_ok(value, tn))
		return err_set(err, "bad transport name in \"%.100s\"", value);
	buf_reset(transport_r);
	if (tn == 0)
		buf_adds(transport_r, "smtp");
	else
		buf_add(transport_r, value, tn);
	str_lower(transport_r->data);
	buf_reset(nexthop_r);
	if (*hop != '\0')
		buf_adds(nexthop_r, hop);
	else if (strcmp(buf_cstr(transport_r), "smtp") == 0 && relayhost != NULL &&
		 relayhost[0] != '\0')
		buf_adds(nexthop_r, relayhost);
	else
		buf_adds(nexthop_r, domain);
	return 0;
}

/* lookup_key - one key in every table; TBL_* */
static int lookup_key(struct transport *t, const char *key, struct buf *value_r, struct err *err)
{
	for (size_t i = 0; i < t->n; i++) {
		int rc = tbl_lookup(t->maps[i], key, value_r, err);

		if (rc != TBL_NOTFOUND)
			return rc;
	}
	return TBL_NOTFOUND;
}

int transport_lookup(struct transport *t, const char *domain, bool remote, struct buf *transport_r,
		     struct buf *nexthop_r, struct err *err)
{
	struct buf value = BUF_INIT, key = BUF_INIT;
	const char *relay = remote ? t->relayhost : "";
	int rc = TBL_NOTFOUND;
	const char *p = domain;

	buf_sets(&key, domain);
	rc = lookup_key(t, buf_cstr(&key), &value, err);
	while (rc == TBL_NOTFOUND && p != NULL && (p = strchr(p, '.')) != NULL) {
		buf_sets(&key, p);
		rc = lookup_key(t, buf_cstr(&key), &value, err);
		p++;
	}
	if (rc == TBL_NOTFOUND)
		rc = lookup_key(t, "*", &value, err);
	if (rc == TBL_FOUND &&
	    transport_parse_value(buf_cstr(&value), domain, relay, transport_r, nexthop_r, err) < 0)
		rc = TBL_TEMPFAIL;
	if (rc == TBL_NOTFOUND) {
		buf_sets(transport_r, remote ? "smtp" : "");
		buf_sets(nexthop_r, remote && relay[0] != '\0' ? relay : domain);
		if (remote && relay[0] != '\0')
			rc = TBL_FOUND;
	}
	buf_deinit(&value);
	buf_deinit(&key);
	return rc;
}

int transport_parse_nexthop(const char *nexthop, unsigned int default_port, struct buf *host_r,
			    unsigned int *port_r, bool *use_mx_r, struct err *err)
{
	const char *s = nexthop, *host, *rest;
	size_t hlen;

	*use_mx_r = true;
	*port_r = default_port;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL)
			return err_set(err, "missing ']' in next hop \"%.100s\"", nexthop);
		host = s + 1;
		hlen = (size_t)(close - host);
		rest = close + 1;
		*use_mx_r = false;
		if (hlen > 5 && strncasecmp(host, "ipv6:", 5) == 0) {
			host += 5;
			hlen -= 5;
		}
	} else {
		const char *colon = strrchr(s, ':');

		host = s;
		hlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
		rest = s + hlen;
	}
	if (hlen == 0 || hlen > 255)
		return err_set(err, "bad host in next hop \"%.100s\"", nexthop);
	if (*rest == ':') {
		unsigned int port;

		if (str_to_uint(rest + 1, &port) < 0 || port == 0 || port > 65535)
			return err_set(err, "bad port in next hop \"%.100s\"", nexthop);
		*port_r = port;
	} else if (*rest != '\0') {
		return err_set(err, "junk after the host in next hop \"%.100s\"", nexthop);
	}
	buf_reset(host_r);
	buf_add(host_r, host, hlen);
	str_lower(host_r->data);
	for (size_t i = 0; i < host_r->len; i++)
		if ((unsigned char)host_r->data[i] <= ' ' || host_r->data[i] == '/')
			return err_set(err, "bad host in next hop \"%.100s\"", nexthop);
	return 0;
}
