/*
 * local_expand.c - turn one recipient into final destinations: virtual
 * aliases (full address, then @domain, through the lookup callbacks),
 * then for local and virtual domains the alias database with nested
 * aliases, :include: lists, owner-NAME senders, |command and /file targets.
 * Touches:  the :include: files named by the alias database (read with
 *           safefile_read: regular files only, no symlinks, size-capped);
 *           nothing else (lookups go through struct local_lookup).
 * Input:    recipients are canonical addresses from the queue file; alias
 *           values and include files come from the administrator, but are
 *           parsed defensively (addresses through lib/addr).
 * Security: commands and files only from the sources allowed by
 *           allow_mail_to_commands / allow_mail_to_files; virtual aliases
 *           never yield them.  Every path of the expansion is bounded by
 *           recursion and expansion limits; loops are found by keeping the
 *           chain of addresses being expanded.
 * Errors:   a failing member becomes a LOCAL_DEST_ERROR destination; only
 *           an exceeded expansion limit fails the recipient as a whole.
 * See:      docs/local.md "Expansion", Postfix local/alias.c, cleanup_map1n.c.
 */
#include "sys.h"

#include <errno.h>
#include <strings.h>

#include "addr.h"
#include "err.h"
#include "local/local.h"
#include "proto.h"
#include "safefile.h"
#include "str.h"
#include "tbl.h"
#include "xmem.h"

struct exp_state {
	const struct local_limits *lim;
	const struct local_lookup *ops;
	struct local_expansion *exp;
	char **chain; /* addresses (and :include: names) being expanded */
	size_t chain_n, chain_cap;
	unsigned int va_count;
	bool stop; /* the recipient failed as a whole */
};

/* Flags of expand_final. */
#define EXP_NO_ALIAS 0x1u

static void expand(struct exp_state *st, const char *addr, const char *sender,
		   unsigned int va_depth, unsigned int al_depth);
static void expand_final(struct exp_state *st, const char *addr, const char *sender,
			 unsigned int va_depth, unsigned int al_depth, unsigned int flags);

/* fail_all - the recipient as a whole fails (limits). */
static void fail_all(struct exp_state *st, int result, const char *dsn, const char *reason)
{
	if (st->stop)
		return;
	st->stop = true;
	st->exp->result = result;
	snprintf(st->exp->dsn, sizeof(st->exp->dsn), "%s", dsn);
	buf_sets(&st->exp->reason, reason);
}

/* same_dest - an equal destination is delivered once. */
static bool same_dest(const struct local_dest *d, enum local_dest_kind kind, const char *target,
		      const char *sender)
{
	if (d->kind != kind || kind == LOCAL_DEST_ERROR || strcmp(d->sender, sender) != 0)
		return false;
	if (kind == LOCAL_DEST_COMMAND || kind == LOCAL_DEST_FILE)
		return strcmp(d->target, target) == 0;
	return strcasecmp(d->target, target) == 0;
}

/* add_dest - append a destination (duplicates are dropped); returns it or
 * NULL when dropped or over the limit. */
static struct local_dest *add_dest(struct exp_state *st, enum local_dest_kind kind,
				   const char *target, const char *sender, const char *via)
{
	struct local_expansion *exp = st->exp;
	struct local_dest *d;

	if (st->stop)
		return NULL;
	for (size_t i = 0; i < exp->n; i++)
		if (same_dest(&exp->dests[i], kind, target, sender))
			return NULL;
	if (exp->n >= st->lim->alias_expansion) {
		fail_all(st, DELIVER_BOUNCE, "5.3.0", "alias expansion limit exceeded");
		return NULL;
	}
	if (exp->n == exp->cap) {
		exp->cap = exp->cap ? exp->cap * 2 : 8;
		exp->dests = xreallocarray(exp->dests, exp->cap, sizeof(*exp->dests));
	}
	d = &exp->dests[exp->n++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->target = xstrdup(target);
	d->sender = xstrdup(sender);
	d->via = xstrdup(via);
	d->result = DELIVER_OK;
	return d;
}

/* add_error - a member that cannot be delivered. */
static void add_error(struct exp_state *st, const char *target, const char *sender, int result,
		      const char *dsn, const char *fmt, ...) ATTR_PRINTF(6, 7);
static void add_error(struct exp_state *st, const char *target, const char *sender, int result,
		      const char *dsn, const char *fmt, ...)
{
	struct local_dest *d = add_dest(st, LOCAL_DEST_ERROR, target, sender, target);
	struct buf text = BUF_INIT;
	va_list ap;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	d->result = result;
	snprintf(d->dsn, sizeof(d->dsn), "%s", dsn);
	d->reason = buf_steal(&text);
}

/* chain_has - s is being expanded above us (case-insensitive). */
static bool chain_has(const struct exp_state *st, const char *s)
{
	for (size_t i = 0; i < st->chain_n; i++)
		if (strcasecmp(st->chain[i], s) == 0)
			return true;
	return false;
}

static void chain_push(struct exp_state *st, const char *s)
{
	if (st->chain_n == st->chain_cap) {
		st->chain_cap = st->chain_cap ? st->chain_cap * 2 : 16;
		st->chain = xreallocarray(st->chain, st->chain_cap, sizeof(*st->chain));
	}
	st->chain[st->chain_n++] = xstrdup(s);
}

static void chain_pop(struct exp_state *st)
{
	st->chain_n--;
	xfree(&st->chain[st->chain_n]);
}

/* addr_domain - the domain of a canonical address ("" without one). */
static const char *addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

int local_addr_norm(const char *elem, const char *domain, struct buf *out, struct err *err)
{
	size_t len = strlen(elem);

	if (len >= 2 && elem[0] == '<' && elem[len - 1] == '>') {
		elem++;
		len -= 2;
	}
	if (addr_parse_mailbox(elem, len, ADDR_LOCAL_OK | ADDR_UTF8, NULL, out, err) < 0)
		return -1;
	/* a quoted local part may hold '@': only one after the quotes counts */
	if (out->len > 0 && (out->data[out->len - 1] == '"' || strchr(out->data, '@') == NULL)) {
		if (*domain == '\0')
			return err_set(err, "address without a domain");
		buf_addc(out, '@');
		buf_adds(out, domain);
	}
	return 0;
}

char **local_alias_split(const char *value, size_t *n_r)
{
	char **v = xmalloc(sizeof(char *));
	size_t n = 0;
	const char *s = value;

	for (;;) {
		const char *start;
		size_t len;
		bool quoted = false;

		while (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s == '\0')
			break;
		start = s;
		if (*s == '|') {
			/* an unquoted command runs to the next comma */
			while (*s != '\0' && *s != ',' && *s != '\n')
				s++;
		} else {
			for (; *s != '\0'; s++) {
				if (*s == '\\' && quoted && s[1] != '\0')
					s++;
				else if (*s == '"')
					quoted = !quoted;
				else if (!quoted && (*s == ',' || *s == ' ' || *s == '\t' ||
						     *s == '\n' || *s == '\r'))
					break;
			}
		}
		len = (size_t)(s - start);
		while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
			len--;
		/* "|cmd with spaces", "/path", ":include:/path" lose their quotes */
		if (len >= 2 && start[0] == '"' && start[len - 1] == '"' &&
		    (start[1] == '|' || start[1] == '/' ||
		     strncmp(start + 1, ":include:", 9) == 0)) {
			start++;
			len -= 2;
		}
		v = xreallocarray(v, n + 2, sizeof(char *));
		v[n++] = xstrndup(start, len);
	}
	v[n] = NULL;
	if (n_r != NULL)
		*n_r = n;
	return v;
}

int local_allow_parse(const char *value, unsigned int *mask_r, struct err *err)
{
	size_t n;
	char **words = str_split(value, ", \t", &n);
	unsigned int mask = 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (strcmp(words[i], "alias") == 0)
			mask |= LOCAL_ALLOW_ALIAS;
		else if (strcmp(words[i], "include") == 0)
			mask |= LOCAL_ALLOW_INCLUDE;
		else if (strcmp(words[i], "none") != 0)
			rc = err_set(err, "unknown class \"%s\" (alias, include or none)",
				     words[i]);
	}
	str_split_free(&words);
	if (rc == 0)
		*mask_r = mask;
	return rc;
}

/* read_include - the elements of an include file, comments dropped. */
static int read_include(const char *path, char ***elems_r, size_t *n_r, struct err *err)
{
	size_t len;
	char *text = safefile_read(path, LOCAL_INCLUDE_MAX, &len, err);
	struct buf joined = BUF_INIT;

	if (text == NULL)
		return -1;
	for (char *line = text; line != NULL && *line != '\0';) {
		char *nl = strchr(line, '\n');
		char *p = line;

		if (nl != NULL)
			*nl = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '#' && *p != '\0') {
			buf_adds(&joined, p);
			buf_addc(&joined, '\n');
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	*elems_r = local_alias_split(buf_cstr(&joined), n_r);
	buf_deinit(&joined);
	free(text);
	return 0;
}

/* expand_elements - the members of one alias (or include file). */
static void expand_elements(struct exp_state *st, char **elems, unsigned int origin,
			    const char *owner_addr, const char *sender, unsigned int va_depth,
			    unsigned int al_depth)
{
	const char *domain = addr_domain(owner_addr);
	struct buf a = BUF_INIT;
	struct err err;

	for (size_t i = 0; elems[i] != NULL && !st->stop; i++) {
		const char *e = elems[i];

		if (e[0] == '|') {
			if (st->lim->allow_commands & origin)
				add_dest(st, LOCAL_DEST_COMMAND, e + 1, sender, owner_addr);
			else
				add_error(st, owner_addr, sender, DELIVER_BOUNCE, "5.7.1",
					  "mail to command is restricted");
		} else if (e[0] == '/') {
			if (st->lim->allow_files & origin)
				add_dest(st, LOCAL_DEST_FILE, e, sender, owner_addr);
			else
				add_error(st, owner_addr, sender, DELIVER_BOUNCE, "5.7.1",
					  "mail to file is restricted");
		} else if (strncmp(e, ":include:", 9) == 0) {
			const char *path = e + 9;
			char **sub = NULL;
			struct buf key = BUF_INIT;

			buf_printf(&key, ":include:%s", path);
			if (path[0] != '/') {
				add_error(st, owner_addr, sender, DELIVER_BOUNCE, "5.3.5",
					  ":include: needs an absolute path: %s", path);
			} else if (chain_has(st, buf_cstr(&key))) {
				add_error(st, owner_addr, sender, DELIVER_BOUNCE, "5.4.6",
					  "mail forwarding loop for %s (include %s)", owner_addr,
					  path);
			} else if (al_depth >= st->lim->alias_recursion) {
				add_error(st, owner_addr, sender, DELIVER_BOUNCE, "5.4.6",
					  "alias recursion limit exceeded for %s", owner_addr);
			} else if (read_include(path, &sub, NULL, &err) < 0) {
				add_error(st, owner_addr, sender, DELIVER_DEFER, "4.3.0",
					  "cannot read include file %s: %s", path, err.msg);
			} else {
				chain_push(st, buf_cstr(&key));
				expand_elements(st, sub, LOCAL_ALLOW_INCLUDE, owner_addr, sender,
						va_depth, al_depth + 1);
				chain_pop(st);
			}
			str_split_free(&sub);
			buf_deinit(&key);
		} else if (e[0] == '\\') {
			if (local_addr_norm(e + 1, domain, &a, &err) < 0)
				add_error(st, owner_addr, sender, DELIVER_BOUNCE, "5.1.3",
					  "bad address \"%s\" in alias %s", e, owner_addr);
			else
				expand_final(st, buf_cstr(&a), sender, va_depth, al_depth,
					     EXP_NO_ALIAS);
		} else if (local_addr_norm(e, domain, &a, &err) < 0) {
			add_error(st, owner_addr, sender, DELIVER_BOUNCE, "5.1.3",
				  "bad address \"%s\" in alias %s", e, owner_addr);
		} else if (strcasecmp(buf_cstr(&a), owner_addr) == 0) {
			/* name: name, ... delivers to the name's own mailbox */
			expand_final(st, buf_cstr(&a), sender, va_depth, al_depth, EXP_NO_ALIAS);
		} else {
			expand(st, buf_cstr(&a), sender, va_depth, al_depth);
		}
	}
	buf_deinit(&a);
}

/* owner_sender - owner-NAME@domain when that alias exists (the list's
 * bounces go to its owner); the sender unchanged otherwise. */
static int owner_sender(struct exp_state *st, const char *addr, const char *sender, struct buf *out,
			struct err *err)
{
	struct buf key = BUF_INIT, value = BUF_INIT;
	int rc;

	buf_sets(out, sender);
	if (*sender == '\0' || strncasecmp(addr, "owner-", 6) == 0)
		return 0;
	buf_printf(&key, "owner-%s", addr);
	rc = st->ops->alias(st->ops->ctx, buf_cstr(&key), &value, err);
	if (rc == TBL_FOUND)
		buf_sets(out, buf_cstr(&key));
	buf_deinit(&key);
	buf_deinit(&value);
	return rc == TBL_TEMPFAIL ? -1 : 0;
}

/* expand_final - past virtual aliases: remote, alias, or mailbox. */
static void expand_final(struct exp_state *st, const char *addr, const char *sender,
			 unsigned int va_depth, unsigned int al_depth, unsigned int flags)
{
	enum resolve_class c = st->ops->domain(st->ops->ctx, addr_domain(addr));
	struct buf value = BUF_INIT, owner = BUF_INIT;
	struct err err;
	char **elems;
	int rc;

	if (st->stop)
		return;
	if (c == RESOLVE_RELAY || c == RESOLVE_REMOTE) {
		add_dest(st, LOCAL_DEST_FORWARD, addr, sender, addr);
		return;
	}
	if (flags & EXP_NO_ALIAS) {
		add_dest(st, LOCAL_DEST_MAILBOX, addr, sender, addr);
		return;
	}
	err_clear(&err);
	rc = st->ops->alias(st->ops->ctx, addr, &value, &err);
	if (rc == TBL_NOTFOUND) {
		add_dest(st, LOCAL_DEST_MAILBOX, addr, sender, addr);
	} else if (rc == TBL_TEMPFAIL) {
		add_error(st, addr, sender, DELIVER_DEFER, "4.3.0", "alias_maps lookup failure: %s",
			  err.msg);
	} else if (al_depth >= st->lim->alias_recursion) {
		add_error(st, addr, sender, DELIVER_BOUNCE, "5.4.6",
			  "alias recursion limit exceeded for %s", addr);
	} else if (owner_sender(st, addr, sender, &owner, &err) < 0) {
		add_error(st, addr, sender, DELIVER_DEFER, "4.3.0", "alias_maps lookup failure: %s",
			  err.msg);
	} else {
		elems = local_alias_split(buf_cstr(&value), NULL);
		expand_elements(st, elems, LOCAL_ALLOW_ALIAS, addr, buf_cstr(&owner), va_depth,
				al_depth + 1);
		str_split_free(&elems);
	}
	buf_deinit(&value);
	buf_deinit(&owner);
}

/* expand_virtual - one address through $virtual_alias_maps (addr is on the
 * chain already). */
static void expand_virtual(struct exp_state *st, const char *addr, const char *sender,
			   unsigned int va_depth, unsigned int al_depth)
{
	struct buf value = BUF_INIT, a = BUF_INIT;
	struct err err;
	char **targets;
	int rc;

	err_clear(&err);
	rc = st->ops->virtual_alias(st->ops->ctx, addr, &value, &err);
	if (rc == TBL_NOTFOUND) {
		expand_final(st, addr, sender, va_depth, al_depth, 0);
	} else if (rc == TBL_TEMPFAIL) {
		add_error(st, addr, sender, DELIVER_DEFER, "4.3.0",
			  "virtual_alias_maps lookup failure: %s", err.msg);
	} else if (va_depth >= st->lim->va_recursion) {
		add_error(st, addr, sender, DELIVER_BOUNCE, "5.4.6",
			  "virtual alias table recursion limit exceeded for %s", addr);
	} else {
		targets = local_alias_split(buf_cstr(&value), NULL);
		for (size_t i = 0; targets[i] != NULL && !st->stop; i++) {
			if (++st->va_count > st->lim->va_expansion) {
				fail_all(st, DELIVER_BOUNCE, "5.3.0",
					 "virtual alias table expansion limit exceeded");
			} else if (targets[i][0] == '|' || targets[i][0] == '/' ||
				   targets[i][0] == ':' ||
				   local_addr_norm(targets[i], addr_domain(addr), &a, &err) < 0) {
				add_error(st, addr, sender, DELIVER_BOUNCE, "5.1.3",
					  "bad address \"%s\" in virtual alias %s", targets[i],
					  addr);
			} else if (strcasecmp(buf_cstr(&a), addr) == 0) {
				/* a target equal to the address stops rewriting */
				expand_final(st, buf_cstr(&a), sender, va_depth + 1, al_depth, 0);
			} else {
				expand(st, buf_cstr(&a), sender, va_depth + 1, al_depth);
			}
		}
		str_split_free(&targets);
	}
	buf_deinit(&value);
	buf_deinit(&a);
}

/* expand - one address: loop check, then virtual aliases and the rest. */
static void expand(struct exp_state *st, const char *addr, const char *sender,
		   unsigned int va_depth, unsigned int al_depth)
{
	if (st->stop)
		return;
	if (chain_has(st, addr)) {
		add_error(st, addr, sender, DELIVER_BOUNCE, "5.4.6", "mail forwarding loop for %s",
			  addr);
		return;
	}
	chain_push(st, addr);
	expand_virtual(st, addr, sender, va_depth, al_depth);
	chain_pop(st);
}

void local_expand(const struct local_limits *lim, const struct local_lookup *ops, const char *rcpt,
		  const char *sender, struct local_expansion *exp_r)
{
	struct exp_state st = {lim, ops, exp_r, NULL, 0, 0, 0, false};

	memset(exp_r, 0, sizeof(*exp_r));
	exp_r->result = DELIVER_OK;
	buf_init(&exp_r->reason, 0);
	expand(&st, rcpt, sender, 0, 0);
	while (st.chain_n > 0)
		chain_pop(&st);
	free(st.chain);
}

void local_expansion_deinit(struct local_expansion *exp)
{
	for (size_t i = 0; i < exp->n; i++) {
		free(exp->dests[i].target);
		free(exp->dests[i].sender);
		free(exp->dests[i].via);
		free(exp->dests[i].reason);
	}
	xfree(&exp->dests);
	exp->n = exp->cap = 0;
	buf_deinit(&exp->reason);
}
