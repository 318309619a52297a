/*
 * qmgr_util.c - the queue manager's pure helpers: a string-keyed hash map,
 *               retry and expiry arithmetic, NOTIFY rules, grouping of
 *               recipients into per-destination batches, per-transport
 *               parameter names, and the destination start rule (limits,
 *               rate delay, dead and probing destinations).
 * Touches:  nothing but its arguments (no I/O, no clock: callers pass now).
 * Input:    recipient addresses from queue files (validated by lib/qfile:
 *           no control bytes); configuration numbers.
 * Security: runs in qmgr as the mail owner.
 * Errors:   none; allocation failure is fatal (xmalloc).
 * See:      docs/qmgr.md "Scheduling" and "Retries", tests/unit/test_qmgr_util.c.
 */
#include "sys.h"

#include "buf.h"
#include "cfg.h"
#include "qmgr.h"
#include "str.h"
#include "xmem.h"

/* SITE_REASON_MAX - most bytes of an agent's reason kept for a suspension. */
#define SITE_REASON_MAX 800

/* map_hash - FNV-1a of a NUL-terminated key. */
static size_t map_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	while (*key != '\0') {
		h ^= (unsigned char)*key++;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

void qmgr_map_init(struct qmgr_map *map)
{
	map->nslots = 64;
	map->slots = xcalloc(map->nslots, sizeof(*map->slots));
	map->count = 0;
}

void qmgr_map_deinit(struct qmgr_map *map)
{
	struct qmgr_map_ent *e, *next;
	size_t i;

	for (i = 0; i < map->nslots; i++) {
		for (e = map->slots[i]; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	xfree(&map->slots);
	map->nslots = map->count = 0;
}

/* map_grow - double the slot array once the load factor passes 1. */
static void map_grow(struct qmgr_map *map)
{
	size_t n = map->nslots * 2, i;
	struct qmgr_map_ent **slots = xcalloc(n, sizeof(*slots)), *e, *next;

	for (i = 0; i < map->nslots; i++) {
		for (e = map->slots[i]; e != NULL; e = next) {
			size_t h = map_hash(e->key) % n;

			next = e->next;
			e->next = slots[h];
			slots[h] = e;
		}
	}
	free(map->slots);
	map->slots = slots;
	map->nslots = n;
}

void *qmgr_map_get(const struct qmgr_map *map, const char *key)
{
	struct qmgr_map_ent *e;

	for (e = map->slots[map_hash(key) % map->nslots]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e->value;
	return NULL;
}

void qmgr_map_put(struct qmgr_map *map, const char *key, void *value)
{
	struct qmgr_map_ent *e;
	size_t h = map_hash(key) % map->nslots;

	for (e = map->slots[h]; e != NULL; e = e->next) {
		if (strcmp(e->key, key) == 0) {
			e->value = value;
			return;
		}
	}
	e = xmalloc(sizeof(*e));
	e->key = xstrdup(key);
	e->value = value;
	e->next = map->slots[h];
	map->slots[h] = e;
	if (++map->count > map->nslots)
		map_grow(map);
}

bool qmgr_map_del(struct qmgr_map *map, const char *key)
{
	struct qmgr_map_ent **pp, *e;

	for (pp = &map->slots[map_hash(key) % map->nslots]; (e = *pp) != NULL; pp = &e->next) {
		if (strcmp(e->key, key) == 0) {
			*pp = e->next;
			free(e->key);
			free(e);
			map->count--;
			return true;
		}
	}
	return false;
}

long qmgr_backoff(long age, long min_backoff, long max_backoff)
{
	if (min_backoff < 1)
		min_backoff = 1;
	if (max_backoff < min_backoff)
		max_backoff = min_backoff;
	if (age < min_backoff)
		return min_backoff;
	if (age > max_backoff)
		return max_backoff;
	return age;
}

time_t qmgr_retry_time(time_t now, time_t arrival, long min_backoff, long max_backoff,
		       long lifetime)
{
	time_t next = now + qmgr_backoff((long)(now - arrival), min_backoff, max_backoff);
	time_t expire = arrival + lifetime;

	if (expire < next)
		next = expire;
	if (next <= now)
		next = now + 1;
	return next;
}

bool qmgr_expired(time_t now, time_t arrival, long lifetime)
{
	return now - arrival >= lifetime;
}

bool qmgr_delay_due(time_t now, time_t arrival, long warn_after, unsigned int mstat)
{
	return warn_after > 0 && now - arrival >= warn_after &&
	       (mstat & QFILE_MSTAT_DELAY_SENT) == 0;
}

bool qmgr_notify_wants(unsigned int notify, enum dsn_kind kind)
{
	if (notify & QFILE_NOTIFY_NEVER)
		return false;
	switch (kind) {
	case DSN_FAILURE:
		return notify == 0 || (notify & QFILE_NOTIFY_FAILURE) != 0;
	case DSN_DELAY:
		return notify == 0 || (notify & QFILE_NOTIFY_DELAY) != 0;
	case DSN_SUCCESS:
		return (notify & QFILE_NOTIFY_SUCCESS) != 0;
	}
	return false;
}

void qmgr_route_set(struct qmgr_route *r, const char *transport, const char *addr,
		    size_t rcpt_index, bool per_rcpt)
{
	const char *at = strrchr(addr, '@');

	r->transport = xstrdup(transport);
	r->nexthop = str_lower(xstrdup(at != NULL ? at + 1 : ""));
	r->dest = per_rcpt ? str_lower(xstrdup(addr)) : xstrdup(r->nexthop);
	r->rcpt = rcpt_index;
}

void qmgr_route_set_nexthop(struct qmgr_route *r, const char *nexthop, bool per_rcpt)
{
	free(r->nexthop);
	r->nexthop = xstrdup(nexthop);
	if (!per_rcpt) {
		free(r->dest);
		r->dest = xstrdup(nexthop);
	}
}

void qmgr_route_deinit(struct qmgr_route *r)
{
	xfree(&r->transport);
	xfree(&r->nexthop);
	xfree(&r->dest);
}

/* route_cmp - qsort order of qmgr_routes_sort. */
static int route_cmp(const void *a, const void *b)
{
	const struct qmgr_route *x = a, *y = b;
	int c = strcmp(x->transport, y->transport);

	if (c == 0)
		c = strcmp(x->dest, y->dest);
	if (c == 0)
		c = x->rcpt < y->rcpt ? -1 : x->rcpt > y->rcpt;
	return c;
}

void qmgr_routes_sort(struct qmgr_route *routes, size_t n)
{
	if (n > 1)
		qsort(routes, n, sizeof(*routes), route_cmp);
}

size_t qmgr_routes_batch(const struct qmgr_route *routes, size_t n, size_t start, size_t limit)
{
	size_t end = start + 1;

	if (limit < 1)
		limit = 1;
	if (start >= n)
		return n;
	while (end < n && end - start < limit &&
	       strcmp(routes[end].transport, routes[start].transport) == 0 &&
	       strcmp(routes[end].dest, routes[start].dest) == 0)
		end++;
	return end;
}

void qmgr_param_name(const char *transport, const char *suffix, struct buf *name_r)
{
	buf_reset(name_r);
	buf_printf(name_r, "%s_%s", transport, suffix);
	if (cfg_param_lookup(buf_cstr(name_r)) == NULL) {
		buf_reset(name_r);
		buf_printf(name_r, "default_%s", suffix);
	}
}

bool qmgr_dest_room(enum qmgr_dest_state st, unsigned long busy, unsigned long conc,
		    bool rate_limited, bool rate_wait)
{
	if (st == QMGR_DEST_DEAD)
		return false;
	if (st == QMGR_DEST_PROBE || rate_limited)
		conc = 1;
	if (conc < 1)
		conc = 1;
	if (rate_limited && rate_wait)
		return false;
	return busy < conc;
}

void qmgr_site_reason(const char *reason, struct buf *out)
{
	buf_reset(out);
	buf_adds(out, "delivery temporarily suspended");
	if (reason != NULL && *reason != '\0') {
		buf_adds(out, ": ");
		str_sanitize(out, reason, strlen(reason), SITE_REASON_MAX);
	}
}

const char *qmgr_site_dsn(const char *dsn)
{
	size_t i = 2, part;

	if (dsn == NULL || dsn[0] != '4' || dsn[1] != '.')
		return "4.4.1";
	for (part = 0; part < 2; part++) {
		size_t start = i;

		while (dsn[i] >= '0' && dsn[i] <= '9' && i - start < 3)
			i++;
		if (i == start || dsn[i] != (part == 0 ? '.' : '\0'))
			return "4.4.1";
		i++;
	}
	return dsn;
}
