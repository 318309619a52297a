/*
 * auth_token.c - the auth daemon's one-time login tokens: a successful
 * login gets a random 128-bit token bound to the canonical user and the
 * asking service; the service's post-login process (pop3d's mail role)
 * redeems it with AUTH_TOKEN before it opens a mailbox, so a login
 * process taken over in its jail cannot claim a user it did not log in.
 * Touches:  nothing but its own memory and OpenSSL's RAND_bytes (pure
 *           otherwise: time is an argument).
 * Input:    user, service and token text from the daemons (the token text
 *           from the login process: untrusted, checked as hex).
 * Security: tokens are single use, expire after the lifetime, and are
 *           compared with CRYPTO_memcmp over every entry of the user and
 *           service; an entry's token bytes are wiped when it goes.  This
 *           file never logs a token.
 * Errors:   auth_tokens_issue fails (-1) only when no random bytes can be
 *           had; a table at its limit drops its oldest token.
 * See:      auth.h, lib/proto.h "auth", docs/auth.md "Login tokens".
 */
#include "sys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/auth.h"
#include "err.h"
#include "xmem.h"

struct auth_token {
	struct auth_token *next; /* younger */
	unsigned char token[AUTH_TOKEN_BYTES];
	time_t issued;
	char *user;
	char *service;
};

struct auth_tokens {
	struct auth_token *head; /* oldest */
	struct auth_token *tail; /* youngest */
	size_t count, max;
	long lifetime;
};

struct auth_tokens *auth_tokens_new(size_t max, long lifetime)
{
	struct auth_tokens *t = xcalloc(1, sizeof(*t));

	t->max = max > 0 ? max : 1;
	t->lifetime = lifetime > 0 ? lifetime : 1;
	return t;
}

/* token_free - wipe and free one entry (already unlinked). */
static void token_free(struct auth_token *e)
{
	explicit_bzero(e->token, sizeof(e->token));
	free(e->user);
	free(e->service);
	free(e);
}

/* drop_head - forget the oldest entry. */
static void drop_head(struct auth_tokens *t)
{
	struct auth_token *e = t->head;

	t->head = e->next;
	if (t->head == NULL)
		t->tail = NULL;
	t->count--;
	token_free(e);
}

void auth_tokens_free(struct auth_tokens **tp)
{
	struct auth_tokens *t = *tp;

	if (t == NULL)
		return;
	while (t->head != NULL)
		drop_head(t);
	free(t);
	*tp = NULL;
}

/* expired - e can no longer be redeemed at now. */
static bool expired(const struct auth_tokens *t, const struct auth_token *e, time_t now)
{
	return now - e->issued > t->lifetime || now < e->issued;
}

void auth_tokens_prune(struct auth_tokens *t, time_t now)
{
	/* entries are in issue order, so the expired ones lead */
	while (t->head != NULL && expired(t, t->head, now))
		drop_head(t);
}

size_t auth_tokens_count(const struct auth_tokens *t)
{
	return t->count;
}

int auth_tokens_issue(struct auth_tokens *t, const char *user, const char *service, time_t now,
		      char token_r[AUTH_TOKEN_HEX + 1], struct err *err)
{
	static const char hex[] = "0123456789abcdef";
	struct auth_token *e;

	auth_tokens_prune(t, now);
	e = xcalloc(1, sizeof(*e));
	if (RAND_bytes(e->token, sizeof(e->token)) != 1) {
		free(e);
		return err_set(err, "no random bytes for a login token");
	}
	while (t->count >= t->max)
		drop_head(t);
	e->issued = now;
	e->user = xstrdup(user);
	e->service = xstrdup(service);
	if (t->tail != NULL)
		t->tail->next = e;
	else
		t->head = e;
	t->tail = e;
	t->count++;
	for (size_t i = 0; i < AUTH_TOKEN_BYTES; i++) {
		token_r[2 * i] = hex[e->token[i] >> 4];
		token_r[2 * i + 1] = hex[e->token[i] & 0xf];
	}
	token_r[AUTH_TOKEN_HEX] = '\0';
	return 0;
}

/* hex_value - one hex digit's value, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool auth_tokens_redeem(struct auth_tokens *t, const char *user, const char *service,
			const char *token, time_t now)
{
	unsigned char want[AUTH_TOKEN_BYTES];
	struct auth_token *prev = NULL, *hit_prev = NULL, *hit = NULL;

	if (strlen(token) != AUTH_TOKEN_HEX)
		return false;
	for (size_t i = 0; i < AUTH_TOKEN_BYTES; i++) {
		int hi = hex_value(token[2 * i]), lo = hex_value(token[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			explicit_bzero(want, sizeof(want));
			return false;
		}
		want[i] = (unsigned char)(hi << 4 | lo);
	}
	auth_tokens_prune(t, now);
	/* every entry of this user and service is compared in full */
	for (struct auth_token *e = t->head; e != NULL; prev = e, e = e->next) {
		bool same = CRYPTO_memcmp(e->token, want, sizeof(want)) == 0;

		if (same && hit == NULL && strcmp(e->user, user) == 0 &&
		    strcmp(e->service, service) == 0) {
			hit = e;
			hit_prev = prev;
		}
	}
	explicit_bzero(want, sizeof(want));
	if (hit == NULL)
		return false;
	/* single use: the token goes now */
	if (hit_prev != NULL)
		hit_prev->next = hit->next;
	else
		t->head = hit->next;
	if (t->tail == hit)
		t->tail = hit_prev;
	t->count--;
	token_free(hit);
	return true;
}
