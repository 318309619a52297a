/*
 * pop3d_msg.c - TOP's cut of a message and the hidden list of
 *               pop3d_delete_mode = hide (see pop3d_msg.h).
 * Touches:  nothing but its arguments (pure: no I/O).
 * Input:    message bytes and the hidden file's text, both untrusted
 *           (mailbox content, a file in the user's Maildir).
 * Security: runs in the mail process as the mail owner.
 * Errors:   none: malformed hidden-list lines are dropped.
 * See:      RFC 1939 7 (TOP), docs/pop3d.md "Delete modes".
 */
#include "sys.h"

#include "buf.h"
#include "mailbox.h"
#include "pop3d/pop3d_msg.h"
#include "xmem.h"

void pop3d_top_init(struct pop3d_top *t, unsigned int lines)
{
	t->left = lines;
	t->in_body = false;
	t->line_empty = true;
	t->done = false;
}

size_t pop3d_top_take(struct pop3d_top *t, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t->done)
			return i;
		if (p[i] != '\n') {
			if (p[i] != '\r')
				t->line_empty = false;
			continue;
		}
		if (!t->in_body) {
			if (t->line_empty) {
				t->in_body = true;
				t->done = t->left == 0;
			}
		} else if (--t->left == 0) {
			t->done = true;
		}
		t->line_empty = true;
	}
	return n;
}

/* name_cmp - qsort/bsearch over char * elements. */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* name_ok - a line usable as a base name. */
static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == '/' || s[i] == 0x7f)
			return false;
	return true;
}

void pop3d_hidden_parse(struct pop3d_hidden *h, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	pop3d_hidden_deinit(h);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (name_ok(p, l)) {
			h->names = xreallocarray(h->names, h->n + 1, sizeof(*h->names));
			h->names[h->n++] = xstrndup(p, l);
		}
		p += l + 1;
	}
	if (h->n > 1)
		qsort(h->names, h->n, sizeof(*h->names), name_cmp);
}

bool pop3d_hidden_has(const struct pop3d_hidden *h, const char *base)
{
	return h->n > 0 && bsearch(&base, h->names, h->n, sizeof(*h->names), name_cmp) != NULL;
}

void pop3d_hidden_add(struct pop3d_hidden *h, const char *base)
{
	if (pop3d_hidden_has(h, base) || !name_ok(base, strlen(base)))
		return;
	h->names = xreallocarray(h->names, h->n + 1, sizeof(*h->names));
	h->names[h->n++] = xstrdup(base);
	qsort(h->names, h->n, sizeof(*h->names), name_cmp);
}

void pop3d_hidden_format(const struct pop3d_hidden *h, const struct mailbox *mb, struct buf *out)
{
	bool *keep = xcalloc(h->n + 1, sizeof(*keep));

	buf_reset(out);
	for (size_t i = 0; i < h->n; i++)
		keep[i] = mb == NULL;
	for (size_t m = 0; mb != NULL && m < mb->count; m++) {
		const char *base = mb->msgs[m].base;
		char **hit = h->n > 0 ? bsearch(&base, h->names, h->n, sizeof(*h->names), name_cmp)
				      : NULL;

		if (hit != NULL)
			keep[hit - h->names] = true;
	}
	for (size_t i = 0; i < h->n; i++) {
		if (keep[i]) {
			buf_adds(out, h->names[i]);
			buf_addc(out, '\n');
		}
	}
	free(keep);
}

void pop3d_hidden_deinit(struct pop3d_hidden *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->names[i]);
	xfree(&h->names);
	h->n = 0;
}
