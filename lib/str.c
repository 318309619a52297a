/*
 * str.c - string helpers (see str.h).
 * Touches:  only its arguments.
 * Input:    may be untrusted; every parser here is whole-string and bounded.
 */
#include "sys.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>

#include "str.h"
#include "buf.h"
#include "xmem.h"

int str_to_u64(const char *s, uint64_t *n_r)
{
	uint64_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*n_r = n;
	return 0;
}

int str_to_ulong(const char *s, unsigned long *n_r)
{
	uint64_t n;

	if (str_to_u64(s, &n) < 0 || n > ULONG_MAX)
		return -1;
	*n_r = (unsigned long)n;
	return 0;
}

int str_to_uint(const char *s, unsigned int *n_r)
{
	uint64_t n;

	if (str_to_u64(s, &n) < 0 || n > UINT_MAX)
		return -1;
	*n_r = (unsigned int)n;
	return 0;
}

int str_to_time(const char *s, char unit_default, long *secs_r)
{
	uint64_t n = 0, mult;
	const char *p = s;
	char unit;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '\0')
		unit = unit_default;
	else if (p[1] == '\0')
		unit = *p;
	else
		return -1;
	switch (unit) {
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 7 * 86400; break;
	default: return -1;
	}
	if (n > (uint64_t)LONG_MAX / mult)
		return -1;
	*secs_r = (long)(n * mult);
	return 0;
}

int str_to_bool(const char *s, bool *b_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < N_ELEMENTS(yes); i++) {
		if (str_eq_ci(s, yes[i])) {
			*b_r = true;
			return 0;
		}
		if (str_eq_ci(s, no[i])) {
			*b_r = false;
			return 0;
		}
	}
	return -1;
}

char **str_split(const char *s, const char *seps, size_t *count_r)
{
	char **v = xmalloc(sizeof(char *));
	size_t n = 0, len;

	for (;;) {
		s += strspn(s, seps);
		if (*s == '\0')
			break;
		len = strcspn(s, seps);
		v = xreallocarray(v, n + 2, sizeof(char *));
		v[n++] = xstrndup(s, len);
		s += len;
	}
	v[n] = NULL;
	if (count_r)
		*count_r = n;
	return v;
}

char **str_split_braces(const char *s, const char *seps, size_t *count_r)
{
	char **v = xmalloc(sizeof(char *));
	size_t n = 0, len;
	int depth;

	for (;;) {
		s += strspn(s, seps);
		if (*s == '\0')
			break;
		for (len = 0, depth = 0; s[len] != '\0'; len++) {
			if (s[len] == '{')
				depth++;
			else if (s[len] == '}' && depth > 0)
				depth--;
			else if (depth == 0 && strchr(seps, s[len]) != NULL)
				break;
		}
		v = xreallocarray(v, n + 2, sizeof(char *));
		v[n++] = xstrndup(s, len);
		s += len;
	}
	v[n] = NULL;
	if (count_r)
		*count_r = n;
	return v;
}

void str_split_free(char ***vp)
{
	if (*vp == NULL)
		return;
	for (char **p = *vp; *p; p++)
		free(*p);
	xfree(vp);
}

char *str_trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

char *str_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

bool str_eq_ci(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool str_has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* utf8_len - length of a valid UTF-8 sequence at s (max n bytes), 0 if bad. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void str_sanitize(struct buf *out, const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, used = 0, l;

	while (i < n) {
		if (used >= max) {
			buf_adds(out, "...");
			return;
		}
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			buf_addc(out, (char)p[i]);
			i++;
			used++;
		} else if (p[i] >= 0x80 && (l = utf8_len(p + i, n - i)) > 0) {
			buf_add(out, p + i, l);
			i += l;
			used += l;
		} else {
			buf_addc(out, '?');
			i++;
			used++;
		}
	}
}

bool str_eq_ct(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return false;
	return CRYPTO_memcmp(a, b, alen) == 0;
}
