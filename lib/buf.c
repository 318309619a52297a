/*
 * buf.c - growable byte buffer (see buf.h).
 * Touches:  the heap only.
 * Errors:   exceeding the hard cap sets b->overflow; allocation failure is
 *           fatal through xmem.
 */
#include "sys.h"

#include "buf.h"
#include "xmem.h"

void buf_init(struct buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
	b->overflow = false;
}

void buf_deinit(struct buf *b)
{
	xfree(&b->data);
	b->len = 0;
	b->cap = 0;
	b->overflow = false;
}

struct buf *buf_new(size_t limit)
{
	struct buf *b = xmalloc(sizeof(*b));

	buf_init(b, limit);
	return b;
}

void buf_free(struct buf **bp)
{
	if (*bp == NULL)
		return;
	buf_deinit(*bp);
	xfree(bp);
}

/* grow - make room for len + n + 1 bytes; false if the cap forbids it. */
static bool grow(struct buf *b, size_t n)
{
	size_t need, cap;

	if (n > SIZE_MAX - b->len - 1)
		return false;
	if (b->limit && b->len + n > b->limit)
		return false;
	need = b->len + n + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return true;
}

char *buf_reserve(struct buf *b, size_t n)
{
	if (!grow(b, n)) {
		b->overflow = true;
		return NULL;
	}
	return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	if (!grow(b, n)) {
		b->overflow = true;
		return;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	char small[256];
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		buf_add(b, small, (size_t)n);
		return;
	}
	if (!grow(b, (size_t)n)) {
		b->overflow = true;
		return;
	}
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_set(struct buf *b, const void *p, size_t n)
{
	buf_reset(b);
	buf_add(b, p, n);
}

void buf_sets(struct buf *b, const char *s)
{
	buf_set(b, s, strlen(s));
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->overflow = false;
	if (b->data)
		b->data[0] = '\0';
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

const char *buf_cstr(const struct buf *b)
{
	return b->data ? b->data : "";
}

char *buf_steal(struct buf *b)
{
	char *s = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->overflow = false;
	return s;
}
