/*
 * str.h - small string helpers: numbers, splitting, trimming, case, sanitizing
 * for logs and constant-time comparison of secrets.
 * See: Dovecot lib/strnum.h.
 */
#ifndef TERN_STR_H
#define TERN_STR_H

#include "sys.h"

struct buf;

/* str_to_uint - parse a decimal unsigned integer, whole string, no sign,
 * no spaces; -1 on syntax error or overflow (n_r untouched). */
int str_to_uint(const char *s, unsigned int *n_r) ATTR_WARN_UNUSED;
int str_to_ulong(const char *s, unsigned long *n_r) ATTR_WARN_UNUSED;
int str_to_u64(const char *s, uint64_t *n_r) ATTR_WARN_UNUSED;
/* str_to_time - a duration: decimal number with optional unit s, m, h, d, w
 * (default unit_default: 's', 'm', 'h' or 'd'); seconds in *secs_r. */
int str_to_time(const char *s, char unit_default, long *secs_r) ATTR_WARN_UNUSED;
/* str_to_bool - yes/no/true/false/on/off/1/0 (case-insensitive). */
int str_to_bool(const char *s, bool *b_r) ATTR_WARN_UNUSED;

/* str_split - split s on any of the bytes in seps, skipping empty fields;
 * returns a NULL-terminated heap array of heap strings (str_split_free). */
char **str_split(const char *s, const char *seps, size_t *count_r);
void str_split_free(char ***vp);
/* str_split_braces - like str_split, but separators inside balanced {...}
 * do not split ("inline:{a=b, c=d}" stays one field), as Postfix lists. */
char **str_split_braces(const char *s, const char *seps, size_t *count_r);

/* str_trim - strip leading and trailing ASCII whitespace in place; returns s
 * advanced past leading whitespace. */
char *str_trim(char *s);
/* str_lower - ASCII lowercase in place; returns s. */
char *str_lower(char *s);
/* str_eq_ci - ASCII case-insensitive equality. */
bool str_eq_ci(const char *a, const char *b);
/* str_has_prefix_ci - ASCII case-insensitive prefix test. */
bool str_has_prefix_ci(const char *s, const char *prefix);

/* str_sanitize - append s (n bytes) to out for a log line: control bytes,
 * DEL and non-UTF-8 bytes become '?', at most max bytes (then "..."). */
void str_sanitize(struct buf *out, const char *s, size_t n, size_t max);

/* str_eq_ct - constant-time comparison of two byte strings of which the
 * length is not secret (different lengths compare unequal at once). */
bool str_eq_ct(const void *a, size_t alen, const void *b, size_t blen);

#endif
