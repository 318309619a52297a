/*
 * buf.h - growable, binary-safe, length-tracked byte buffer.
 * The data is always NUL-terminated (so it can be used as a C string when
 * it holds no NUL).  An optional hard cap makes appends past it drop the data
 * and set a sticky overflow flag, so protocol code checks once, at the end.
 * See: Postfix vstring.c, Dovecot str.h.
 */
#ifndef TERN_BUF_H
#define TERN_BUF_H

#include "sys.h"

#include <stdarg.h>

struct buf {
	char *data;     /* NUL-terminated; NULL until the first append */
	size_t len;     /* bytes used, excluding the NUL */
	size_t cap;     /* bytes allocated */
	size_t limit;   /* hard cap on len; 0 = none */
	bool overflow;  /* an append was refused because of limit */
};

/* BUF_INIT - static initializer for an uncapped buffer. */
#define BUF_INIT { NULL, 0, 0, 0, false }

/* buf_init - embedded buffer with hard cap limit (0 = none). */
void buf_init(struct buf *b, size_t limit);
/* buf_deinit - release memory; the buffer may be buf_init'ed again. */
void buf_deinit(struct buf *b);
/* buf_new / buf_free - heap buffer; buf_free accepts NULL and sets *bp NULL. */
struct buf *buf_new(size_t limit);
void buf_free(struct buf **bp);

/* buf_add - append n bytes (sets overflow and appends nothing past limit). */
void buf_add(struct buf *b, const void *p, size_t n);
/* buf_adds - append a C string. */
void buf_adds(struct buf *b, const char *s);
/* buf_addc - append one byte. */
void buf_addc(struct buf *b, char c);
/* buf_printf / buf_vprintf - append formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) ATTR_PRINTF(2, 0);
/* buf_set / buf_sets - replace the contents. */
void buf_set(struct buf *b, const void *p, size_t n);
void buf_sets(struct buf *b, const char *s);

/* buf_reset - empty the buffer and clear overflow (memory is kept). */
void buf_reset(struct buf *b);
/* buf_truncate - shorten to len bytes (no-op when already shorter). */
void buf_truncate(struct buf *b, size_t len);
/* buf_consume - drop n bytes from the front. */
void buf_consume(struct buf *b, size_t n);
/* buf_reserve - make room for n more bytes; returns where they go. */
char *buf_reserve(struct buf *b, size_t n);
/* buf_commit - account n bytes written into the space from buf_reserve. */
void buf_commit(struct buf *b, size_t n);

/* buf_cstr - the contents as a C string ("" when empty). */
const char *buf_cstr(const struct buf *b);
/* buf_steal - hand the heap string to the caller; the buffer becomes empty. */
char *buf_steal(struct buf *b);
/* buf_overflowed - true if an append was refused because of the cap. */
static inline bool buf_overflowed(const struct buf *b) { return b->overflow; }

#endif
