/*
 * auth_guard.c - brute-force defence of the auth daemon: failure counts
 * per client address and per user within a window, blocks, reply delays.
 * Touches:  its own memory; logs when a block starts.
 * Input:    client addresses and user names from the daemons (untrusted
 *           strings, used only as hash keys and in log lines, where log.c
 *           neutralises control bytes).
 * Security: memory is bounded: at AUTH_GUARD_MAX records, expired ones are
 *           dropped and, if still full, new failures are not recorded (the
 *           delay still applies) with one warning per minute.
 * Errors:   none; pure apart from logging, time is an argument.
 * See:      auth.h, docs/auth.md "Brute-force defence".
 */
#include "sys.h"

#include "auth/auth.h"
#include "log.h"
#include "xmem.h"

/* AUTH_GUARD_MAX - most records (clients + users) remembered. */
#define AUTH_GUARD_MAX 200000

struct guard_rec {
	struct guard_rec *next;
	time_t window_start;
	time_t blocked_until;
	unsigned int count;
	bool is_user;
	char key[];
};

struct auth_guard {
	struct auth_guard_cfg cfg;
	struct guard_rec **buckets;
	size_t nbuckets;
	size_t n;
	time_t full_warned;
};

struct auth_guard *auth_guard_new(const struct auth_guard_cfg *cfg)
{
	struct auth_guard *g = xcalloc(1, sizeof(*g));

	g->cfg = *cfg;
	g->nbuckets = 256;
	g->buckets = xcalloc(g->nbuckets, sizeof(*g->buckets));
	return g;
}

void auth_guard_free(struct auth_guard **gp)
{
	struct auth_guard *g = *gp;

	if (g == NULL)
		return;
	for (size_t i = 0; i < g->nbuckets; i++)
		for (struct guard_rec *r = g->buckets[i], *next; r != NULL; r = next) {
			next = r->next;
			free(r);
		}
	free(g->buckets);
	free(g);
	*gp = NULL;
}

/* hash - FNV-1a of the kind byte and key. */
static size_t hash(bool is_user, const char *key)
{
	uint64_t h = 1469598103934665603ull ^ (is_user ? 'u' : 'c');

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 32));
}

/* grow - double the bucket array when the chains get long. */
static void grow(struct auth_guard *g)
{
	size_t nb = g->nbuckets * 2;
	struct guard_rec **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < g->nbuckets; i++)
		for (struct guard_rec *r = g->buckets[i], *next; r != NULL; r = next) {
			size_t h = hash(r->is_user, r->key) & (nb - 1);
			next = r->next;
			r->next = b[h];
			b[h] = r;
		}
	free(g->buckets);
	g->buckets = b;
	g->nbuckets = nb;
}

/* find - the record for key, or NULL. */
static struct guard_rec *find(struct auth_guard *g, bool is_user, const char *key)
{
	size_t h = hash(is_user, key) & (g->nbuckets - 1);

	for (struct guard_rec *r = g->buckets[h]; r != NULL; r = r->next)
		if (r->is_user == is_user && strcmp(r->key, key) == 0)
			return r;
	return NULL;
}

/* stale - nothing left to remember about r at now. */
static bool stale(const struct auth_guard *g, const struct guard_rec *r, time_t now)
{
	return r->blocked_until <= now && now - r->window_start >= g->cfg.window;
}

void auth_guard_prune(struct auth_guard *g, time_t now)
{
	for (size_t i = 0; i < g->nbuckets; i++) {
		struct guard_rec **pp = &g->buckets[i];
		while (*pp != NULL) {
			struct guard_rec *r = *pp;
			if (stale(g, r, now)) {
				*pp = r->next;
				free(r);
				g->n--;
			} else {
				pp = &r->next;
			}
		}
	}
}

/* add - a new record, or NULL when the table is full. */
static struct guard_rec *add(struct auth_guard *g, bool is_user, const char *key, time_t now)
{
	size_t len = strlen(key), h;
	struct guard_rec *r;

	if (g->n >= AUTH_GUARD_MAX)
		auth_guard_prune(g, now);
	if (g->n >= AUTH_GUARD_MAX) {
		if (now - g->full_warned >= 60) {
			log_warn("auth: failure table full (%d records): not counting new clients",
				 AUTH_GUARD_MAX);
			g->full_warned = now;
		}
		return NULL;
	}
	if (g->n >= 2 * g->nbuckets)
		grow(g);
	r = xcalloc(1, sizeof(*r) + len + 1);
	memcpy(r->key, key, len + 1);
	r->is_user = is_user;
	r->window_start = now;
	h = hash(is_user, key) & (g->nbuckets - 1);
	r->next = g->buckets[h];
	g->buckets[h] = r;
	g->n++;
	return r;
}

/* left - seconds of block left for key (0: not blocked). */
static long left(struct auth_guard *g, bool is_user, const char *key, time_t now)
{
	struct guard_rec *r = find(g, is_user, key);

	return r != NULL && r->blocked_until > now ? (long)(r->blocked_until - now) : 0;
}

bool auth_guard_blocked(struct auth_guard *g, const char *client, const char *user, time_t now,
			long *left_r)
{
	long lc = client != NULL ? left(g, false, client, now) : 0;
	long lu = user != NULL ? left(g, true, user, now) : 0;

	if (left_r != NULL)
		*left_r = lc > lu ? lc : lu;
	return lc > 0 || lu > 0;
}

/* count - one failure on key; returns the failures now in the window. */
static unsigned int count(struct auth_guard *g, bool is_user, const char *key, time_t now)
{
	struct guard_rec *r = find(g, is_user, key);
	unsigned int limit = is_user ? g->cfg.user_limit : g->cfg.client_limit;
	unsigned int n;

	if (r == NULL && (r = add(g, is_user, key, now)) == NULL)
		return 1;
	if (now - r->window_start >= g->cfg.window) {
		r->window_start = now;
		r->count = 0;
	}
	n = ++r->count;
	if (limit > 0 && r->count >= limit && r->blocked_until <= now) {
		r->blocked_until = now + g->cfg.block_time;
		log_warn("auth: %s %s blocked for %lds after %u failures",
			 is_user ? "user" : "client", key, g->cfg.block_time, r->count);
		/* after the block, start afresh */
		r->count = 0;
		r->window_start = r->blocked_until;
	}
	return n;
}

unsigned long auth_guard_fail(struct auth_guard *g, const char *client, const char *user,
			      time_t now)
{
	unsigned int n = count(g, false, client, now);
	unsigned long delay = g->cfg.delay_ms;

	if (user != NULL) {
		unsigned int nu = count(g, true, user, now);
		if (nu > n)
			n = nu;
	}
	for (unsigned int i = 1; i < n && delay < g->cfg.delay_max_ms; i++)
		delay *= 2;
	return delay < g->cfg.delay_max_ms ? delay : g->cfg.delay_max_ms;
}

void auth_guard_success(struct auth_guard *g, const char *user)
{
	struct guard_rec *r = find(g, true, user);

	if (r != NULL)
		r->count = 0;
}

size_t auth_guard_count(const struct auth_guard *g)
{
	return g->n;
}
