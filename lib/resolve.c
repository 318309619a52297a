/*
 * resolve.c - address classes, recipient existence and one-level alias
 * lookups (see resolve.h).
 * Touches:  the tables named by virtual_mailbox_maps, alias_maps,
 *           virtual_alias_maps and table entries of the domain lists
 *           (read-only); nothing else.
 * Input:    addresses are canonical (lib/addr) but otherwise untrusted.
 * Errors:   lookups keep TBL_FOUND / TBL_NOTFOUND / TBL_TEMPFAIL apart; a
 *           table that cannot be read is a TEMPFAIL, never a "not found".
 */
#include "sys.h"

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "netmatch.h"
#include "resolve.h"
#include "str.h"
#include "tbl.h"
#include "xmem.h"

/* A domain list: literal domains plus tables keyed by domain. */
struct domlist {
	char **names;        /* lower-case literal domains */
	struct tbl **tables; /* "hash:/etc/domains" style entries */
	size_t ntables;
};

struct resolver {
	struct domlist mydestination, virtual_domains, relay_domains;
	struct tbl *users;
	struct tbl **aliases;
	size_t naliases;
	struct tbl **valiases;
	size_t nvaliases;
	struct netmatch *mynetworks;
	char *myorigin;
	char delimiter;      /* recipient_delimiter, '\0' when unset */
};

/* is_table_spec - "type:..." with a known table type. */
static bool is_table_spec(const char *s)
{
	static const char *const types[] = { "hash:", "btree:", "lmdb:", "static:", "inline:" };

	for (size_t i = 0; i < N_ELEMENTS(types); i++)
		if (strncmp(s, types[i], strlen(types[i])) == 0)
			return true;
	return false;
}

/* open_tables - open every table spec of a list parameter. */
static int open_tables(struct cfg *cfg, const char *param, struct tbl ***tables_r, size_t *n_r,
		       struct err *err)
{
	size_t n;
	char **specs = cfg_get_list(cfg, param, &n);
	const char *deftype = cfg_get(cfg, "default_database_type");

	*tables_r = xcalloc(n ? n : 1, sizeof(struct tbl *));
	*n_r = 0;
	for (size_t i = 0; i < n; i++) {
		struct tbl *t = tbl_open(specs[i], deftype, TBL_RDONLY, err);

		if (t == NULL) {
			str_split_free(&specs);
			return -1;
		}
		(*tables_r)[(*n_r)++] = t;
	}
	str_split_free(&specs);
	return 0;
}

static int domlist_init(struct domlist *dl, struct cfg *cfg, const char *param, struct err *err)
{
	size_t n, nn = 0;
	char **items = cfg_get_list(cfg, param, &n);
	const char *deftype = cfg_get(cfg, "default_database_type");

	dl->names = xcalloc(n + 1, sizeof(char *));
	dl->tables = xcalloc(n ? n : 1, sizeof(struct tbl *));
	dl->ntables = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_table_spec(items[i])) {
			struct tbl *t = tbl_open(items[i], deftype, TBL_RDONLY, err);

			if (t == NULL) {
				str_split_free(&items);
				return -1;
			}
			dl->tables[dl->ntables++] = t;
		} else {
			dl->names[nn++] = str_lower(xstrdup(items[i]));
		}
	}
	dl->names[nn] = NULL;
	str_split_free(&items);
	return 0;
}

static void domlist_deinit(struct domlist *dl)
{
	str_split_free(&dl->names);
	for (size_t i = 0; i < dl->ntables; i++)
		tbl_close(&dl->tables[i]);
	xfree(&dl->tables);
}

/* domlist_match - FOUND, NOTFOUND or TEMPFAIL (a domain table failed and
 * nothing else matched). */
static int domlist_match(struct domlist *dl, const char *domain)
{
	struct buf value = BUF_INIT;
	struct err err;
	int rc = TBL_NOTFOUND;

	for (char **p = dl->names; p && *p; p++)
		if (strcmp(*p, domain) == 0)
			return TBL_FOUND;
	for (size_t i = 0; i < dl->ntables && rc != TBL_FOUND; i++) {
		int r = tbl_lookup(dl->tables[i], domain, &value, &err);

		if (r == TBL_FOUND || (r == TBL_TEMPFAIL && rc == TBL_NOTFOUND))
			rc = r;
	}
	buf_deinit(&value);
	return rc;
}

struct resolver *resolver_new(struct cfg *cfg, struct err *err)
{
	struct resolver *r = xcalloc(1, sizeof(*r));
	const char *users = cfg_get(cfg, "virtual_mailbox_maps");
	const char *delim = cfg_get(cfg, "recipient_delimiter");
	char **nets;

	if (domlist_init(&r->mydestination, cfg, "mydestination", err) < 0 ||
	    domlist_init(&r->virtual_domains, cfg, "virtual_mailbox_domains", err) < 0 ||
	    domlist_init(&r->relay_domains, cfg, "relay_domains", err) < 0 ||
	    open_tables(cfg, "alias_maps", &r->aliases, &r->naliases, err) < 0 ||
	    open_tables(cfg, "virtual_alias_maps", &r->valiases, &r->nvaliases, err) < 0)
		goto fail;
	if (*users != '\0' &&
	    (r->users = tbl_open(users, cfg_get(cfg, "default_database_type"), TBL_RDONLY,
				 err)) == NULL)
		goto fail;
	nets = cfg_get_list(cfg, "mynetworks", NULL);
	r->mynetworks = netmatch_new(nets, err);
	str_split_free(&nets);
	if (r->mynetworks == NULL)
		goto fail;
	r->myorigin = str_lower(xstrdup(cfg_get(cfg, "myorigin")));
	if (strlen(delim) > 1) {
		err_set(err, "recipient_delimiter must be one character, not \"%s\"", delim);
		goto fail;
	}
	r->delimiter = delim[0];
	return r;
fail:
	resolver_free(&r);
	return NULL;
}

void resolver_free(struct resolver **rp)
{
	struct resolver *r = *rp;

	if (r == NULL)
		return;
	domlist_deinit(&r->mydestination);
	domlist_deinit(&r->virtual_domains);
	domlist_deinit(&r->relay_domains);
	tbl_close(&r->users);
	for (size_t i = 0; i < r->naliases; i++)
		tbl_close(&r->aliases[i]);
	free(r->aliases);
	for (size_t i = 0; i < r->nvaliases; i++)
		tbl_close(&r->valiases[i]);
	free(r->valiases);
	netmatch_free(&r->mynetworks);
	free(r->myorigin);
	xfree(rp);
}

enum resolve_class resolve_domain(struct resolver *r, const char *domain)
{
	if (*domain == '\0')
		domain = r->myorigin;
	/* A table that cannot answer is treated as "not this class"; callers
	 * that must not guess use resolve_rcpt_exists, which reports TEMPFAIL. */
	if (domlist_match(&r->mydestination, domain) == TBL_FOUND)
		return RESOLVE_LOCAL;
	if (domlist_match(&r->virtual_domains, domain) == TBL_FOUND)
		return RESOLVE_VIRTUAL;
	if (domlist_match(&r->relay_domains, domain) == TBL_FOUND)
		return RESOLVE_RELAY;
	return RESOLVE_REMOTE;
}

const char *resolve_class_name(enum resolve_class c)
{
	switch (c) {
	case RESOLVE_LOCAL: return "local";
	case RESOLVE_VIRTUAL: return "virtual";
	case RESOLVE_RELAY: return "relay";
	default: return "remote";
	}
}

/* lookup_list - first FOUND over tables; TEMPFAIL if one failed and none
 * found. */
static int lookup_list(struct tbl **tables, size_t n, const char *key, struct buf *value_r,
		       struct err *err)
{
	int rc = TBL_NOTFOUND;

	for (size_t i = 0; i < n; i++) {
		int r = tbl_lookup(tables[i], key, value_r, err);

		if (r == TBL_FOUND)
			return TBL_FOUND;
		if (r == TBL_TEMPFAIL)
			rc = TBL_TEMPFAIL;
	}
	return rc;
}

/* split_addr - local part and domain views of "local@domain" (the last
 * '@': quoted local parts may hold one); no '@' means domain "". */
static void split_addr(const char *addr, struct buf *local_r, const char **domain_r)
{
	const char *at = strrchr(addr, '@');

	buf_reset(local_r);
	if (at == NULL) {
		buf_adds(local_r, addr);
		*domain_r = "";
	} else {
		buf_add(local_r, addr, (size_t)(at - addr));
		*domain_r = at + 1;
	}
}

/* strip_ext - "user+ext" -> "user" for recipient_delimiter; false when
 * there is nothing to strip. */
static bool strip_ext(const struct resolver *r, const char *local, struct buf *out)
{
	const char *d;

	if (r->delimiter == '\0' || (d = strchr(local, r->delimiter)) == NULL || d == local)
		return false;
	buf_reset(out);
	buf_add(out, local, (size_t)(d - local));
	return true;
}

/* lookup_addr - key "local@domain", then "base@domain" without extension. */
static int lookup_addr(struct resolver *r, struct tbl **tables, size_t n, const char *addr,
		       struct buf *value_r, struct err *err)
{
	struct buf local = BUF_INIT, base = BUF_INIT, key = BUF_INIT;
	const char *domain;
	int rc = lookup_list(tables, n, addr, value_r, err);

	if (rc == TBL_NOTFOUND) {
		split_addr(addr, &local, &domain);
		if (strip_ext(r, buf_cstr(&local), &base)) {
			buf_printf(&key, "%s@%s", buf_cstr(&base), domain);
			rc = lookup_list(tables, n, buf_cstr(&key), value_r, err);
		}
	}
	buf_deinit(&local);
	buf_deinit(&base);
	buf_deinit(&key);
	return rc;
}

int resolve_virtual_alias(struct resolver *r, const char *addr, struct buf *value_r,
			  struct err *err)
{
	struct buf key = BUF_INIT, local = BUF_INIT;
	const char *domain;
	int rc, rc2;

	rc = lookup_addr(r, r->valiases, r->nvaliases, addr, value_r, err);
	if (rc != TBL_NOTFOUND)
		return rc;
	split_addr(addr, &local, &domain);
	if (*domain != '\0') {
		buf_printf(&key, "@%s", domain);
		rc2 = lookup_list(r->valiases, r->nvaliases, buf_cstr(&key), value_r, err);
		rc = rc2;
	}
	buf_deinit(&key);
	buf_deinit(&local);
	return rc;
}

int resolve_alias(struct resolver *r, const char *addr, struct buf *value_r, struct err *err)
{
	struct buf local = BUF_INIT, base = BUF_INIT;
	const char *domain;
	enum resolve_class c;
	int rc = TBL_NOTFOUND;

	split_addr(addr, &local, &domain);
	c = resolve_domain(r, domain);
	if (c != RESOLVE_LOCAL && c != RESOLVE_VIRTUAL)
		goto out;
	if (*domain != '\0' && c == RESOLVE_VIRTUAL) {
		rc = lookup_list(r->aliases, r->naliases, addr, value_r, err);
		if (rc != TBL_NOTFOUND)
			goto out;
	}
	rc = lookup_list(r->aliases, r->naliases, buf_cstr(&local), value_r, err);
	if (rc == TBL_NOTFOUND && strip_ext(r, buf_cstr(&local), &base))
		rc = lookup_list(r->aliases, r->naliases, buf_cstr(&base), value_r, err);
out:
	buf_deinit(&local);
	buf_deinit(&base);
	return rc;
}

int resolve_user(struct resolver *r, const char *addr, struct err *err)
{
	struct buf value = BUF_INIT;
	int rc;

	if (r->users == NULL)
		return TBL_NOTFOUND;
	rc = lookup_addr(r, &r->users, 1, addr, &value, err);
	if (value.data != NULL)
		explicit_bzero(value.data, value.len); /* a password hash */
	buf_deinit(&value);
	return rc;
}

int resolve_rcpt_exists(struct resolver *r, const char *addr, struct err *err)
{
	struct buf local = BUF_INIT, value = BUF_INIT;
	const char *domain;
	enum resolve_class c;
	bool tempfail = false;
	int rc;

	split_addr(addr, &local, &domain);
	c = resolve_domain(r, domain);
	if (c == RESOLVE_RELAY || c == RESOLVE_REMOTE) {
		rc = TBL_FOUND;
		goto out;
	}
	rc = resolve_virtual_alias(r, addr, &value, err);
	if (rc == TBL_FOUND)
		goto out;
	tempfail |= rc == TBL_TEMPFAIL;
	if (strcasecmp(buf_cstr(&local), "postmaster") == 0) {
		rc = TBL_FOUND;
		goto out;
	}
	rc = resolve_alias(r, addr, &value, err);
	if (rc == TBL_FOUND)
		goto out;
	tempfail |= rc == TBL_TEMPFAIL;
	if (c == RESOLVE_VIRTUAL) {
		rc = resolve_user(r, addr, err);
		if (rc == TBL_FOUND)
			goto out;
		tempfail |= rc == TBL_TEMPFAIL;
	}
	rc = tempfail ? TBL_TEMPFAIL : TBL_NOTFOUND;
out:
	buf_deinit(&local);
	buf_deinit(&value);
	return rc;
}

bool resolve_trusted_client(struct resolver *r, const struct sockaddr *sa)
{
	return netmatch_sockaddr(r->mynetworks, sa);
}
