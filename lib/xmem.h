/*
 * xmem.h - allocation that never returns NULL (out of memory is fatal).
 * See: Postfix util/mymalloc.c.
 */
#ifndef TERN_XMEM_H
#define TERN_XMEM_H

#include "sys.h"

/* xmalloc - malloc(size) or log_fatal; size 0 returns a valid pointer. */
void *xmalloc(size_t size);
/* xcalloc - zeroed array of n * size, overflow-checked. */
void *xcalloc(size_t n, size_t size);
/* xrealloc - realloc or log_fatal. */
void *xrealloc(void *ptr, size_t size);
/* xreallocarray - realloc to n * size, overflow-checked. */
void *xreallocarray(void *ptr, size_t n, size_t size);
/* xstrdup - copy of a NUL-terminated string. */
char *xstrdup(const char *s);
/* xstrndup - copy of at most n bytes of s, NUL-terminated. */
char *xstrndup(const char *s, size_t n);
/* xmemdup - copy of n bytes plus a trailing NUL. */
void *xmemdup(const void *p, size_t n);
/* xasprintf - formatted heap string. */
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);

/* xfree - free *pp (may be NULL) and set it to NULL: xfree(&p). */
#define xfree(pp) do { free(*(pp)); *(pp) = NULL; } while (0)

#endif
