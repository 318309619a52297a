/*
 * tbl_static.c - tables written in the spec itself:
 *     static:VALUE or static:{VALUE}   every key maps to VALUE
 *     inline:{k1=v1, k2=v2, {k3 = text with spaces, or commas}}
 * Touches:  nothing but memory.
 * Input:    the spec comes from main.cf (trusted configuration), but it is
 *           parsed defensively: unbalanced braces, a missing '=', an empty
 *           key or value fail tbl_open with a message naming the spec.
 * Errors:   tbl_open fails on a malformed inline spec; both types are
 *           read-only (tbl_update reports so) and static cannot be listed.
 */
#include "sys.h"

#include "buf.h"
#include "err.h"
#include "str.h"
#include "tbl.h"
#include "tbl_int.h"
#include "xmem.h"

struct inline_tbl {
	size_t n;
	char **keys;
	char **vals;
};

/* static_open - the value, without enclosing braces. */
static int static_open(struct tbl *t, struct err *err)
{
	const char *v = t->name;
	size_t len = strlen(v);

	if (len >= 2 && v[0] == '{' && v[len - 1] == '}') {
		char *s = xstrndup(v + 1, len - 2);

		t->priv = xstrdup(str_trim(s));
		free(s);
	} else {
		t->priv = xstrdup(v);
	}
	return 0;
}

static void static_close(struct tbl *t)
{
	xfree(&t->priv);
}

static int static_lookup(struct tbl *t, const char *key, size_t klen, struct buf *value_r,
			 struct err *err)
{
	buf_sets(value_r, t->priv);
	return TBL_FOUND;
}

static void inline_free(struct inline_tbl *it)
{
	for (size_t i = 0; i < it->n; i++) {
		free(it->keys[i]);
		free(it->vals[i]);
	}
	free(it->keys);
	free(it->vals);
	free(it);
}

/* inline_add - split one "key=value" element and append it. */
static int inline_add(struct tbl *t, struct inline_tbl *it, const char *elem, size_t len,
		      struct err *err)
{
	char *s = xstrndup(elem, len), *eq = strchr(s, '='), *k, *v;

	if (eq == NULL) {
		err_set(err, "table %s: missing '=' in \"%s\"", t->spec, s);
		free(s);
		return -1;
	}
	*eq = '\0';
	k = str_trim(s);
	v = str_trim(eq + 1);
	if (*k == '\0' || *v == '\0') {
		err_set(err, "table %s: empty %s in \"%.*s\"", t->spec,
			*k == '\0' ? "key" : "value", (int)len, elem);
		free(s);
		return -1;
	}
	if (!(t->flags & TBL_NOFOLD))
		str_lower(k);
	it->keys = xreallocarray(it->keys, it->n + 1, sizeof(char *));
	it->vals = xreallocarray(it->vals, it->n + 1, sizeof(char *));
	it->keys[it->n] = xstrdup(k);
	it->vals[it->n] = xstrdup(v);
	it->n++;
	free(s);
	return 0;
}

/* inline_parse - the elements between the outer braces: separated by
 * commas or whitespace; an element in braces may hold both. */
static int inline_parse(struct tbl *t, struct inline_tbl *it, const char *p, const char *end,
			struct err *err)
{
	const char *seps = ", \t\r\n";

	while (p < end) {
		const char *start;
		int depth = 0;

		if (strchr(seps, *p) != NULL) {
			p++;
			continue;
		}
		if (*p == '{') {
			start = ++p;
			for (depth = 1; p < end; p++) {
				if (*p == '{')
					depth++;
				else if (*p == '}' && --depth == 0)
					break;
			}
			if (p >= end)
				return err_set(err, "table %s: missing '}'", t->spec);
			if (inline_add(t, it, start, (size_t)(p - start), err) < 0)
				return -1;
			p++;
			continue;
		}
		for (start = p; p < end && strchr(seps, *p) == NULL; p++) {
			if (*p == '{' || *p == '}')
				return err_set(err, "table %s: unexpected '%c'", t->spec, *p);
		}
		if (inline_add(t, it, start, (size_t)(p - start), err) < 0)
			return -1;
	}
	return 0;
}

static int inline_open(struct tbl *t, struct err *err)
{
	struct inline_tbl *it = xcalloc(1, sizeof(*it));
	char *s = xstrdup(t->name), *body = str_trim(s);
	size_t len = strlen(body);
	int rc;

	if (len < 2 || body[0] != '{' || body[len - 1] != '}')
		rc = err_set(err, "table %s: expected inline:{key=value, ...}", t->spec);
	else
		rc = inline_parse(t, it, body + 1, body + len - 1, err);
	free(s);
	if (rc < 0) {
		inline_free(it);
		return -1;
	}
	t->priv = it;
	return 0;
}

static void inline_close(struct tbl *t)
{
	if (t->priv != NULL)
		inline_free(t->priv);
	t->priv = NULL;
}

static int inline_lookup(struct tbl *t, const char *key, size_t klen, struct buf *value_r,
			 struct err *err)
{
	struct inline_tbl *it = t->priv;

	if (klen > 0 && key[klen - 1] == '\0')
		klen--;
	/* The last of duplicate keys wins, as in a built table. */
	for (size_t i = it->n; i-- > 0;) {
		if (strlen(it->keys[i]) == klen && memcmp(it->keys[i], key, klen) == 0) {
			buf_sets(value_r, it->vals[i]);
			return TBL_FOUND;
		}
	}
	return TBL_NOTFOUND;
}

static int inline_iterate(struct tbl *t, tbl_raw_fn *fn, void *ctx, struct err *err)
{
	struct inline_tbl *it = t->priv;

	for (size_t i = 0; i < it->n; i++) {
		if (fn(it->keys[i], strlen(it->keys[i]), it->vals[i], strlen(it->vals[i]), ctx))
			break;
	}
	return 0;
}

const struct tbl_ops tbl_ops_static = {
	"static", NULL, false, static_open, static_close, static_lookup, NULL,
	NULL, NULL, NULL, NULL, NULL,
};

const struct tbl_ops tbl_ops_inline = {
	"inline", NULL, false, inline_open, inline_close, inline_lookup, inline_iterate,
	NULL, NULL, NULL, NULL, NULL,
};
