/*
 * smtp_reply.c - SMTP server replies, line by line, and EHLO keywords.
 * Touches:  nothing but its arguments (pure: no I/O, no globals).
 * Input:    untrusted lines from a remote SMTP server, already capped in
 *           length by the connection's line limit.
 * Security: runs in smtp as the mail owner; text kept is capped at
 *           SMTP_REPLY_TEXT_MAX, lines at SMTP_REPLY_LINES_MAX.
 * Errors:   a malformed line returns -1 with the reason in err; the caller
 *           treats the session as broken.
 * See:      RFC 5321 4.2, RFC 3463, smtp_reply.h.
 */
#include "sys.h"

#include <ctype.h>
#include <strings.h>

#include "err.h"
#include "smtp/smtp_reply.h"
#include "str.h"

void smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->text, SMTP_REPLY_TEXT_MAX);
}

void smtp_reply_deinit(struct smtp_reply *r)
{
	buf_deinit(&r->text);
	memset(r, 0, sizeof(*r));
}

void smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->dsn[0] = '\0';
	r->dsn_given = false;
	r->lines = 0;
	r->done = false;
	buf_reset(&r->text);
}

/* digits - count of leading decimal digits of s, at most max + 1. */
static size_t digits(const char *s, size_t len, size_t max)
{
	size_t n = 0;

	while (n < len && n <= max && s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

size_t smtp_dsn_parse(const char *s, size_t len, char dsn_r[12])
{
	size_t i = 0, n;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	i = 2;
	n = digits(s + i, len - i, 3);
	if (n < 1 || n > 3 || i + n >= len || s[i + n] != '.')
		return 0;
	i += n + 1;
	n = digits(s + i, len - i, 3);
	if (n < 1 || n > 3)
		return 0;
	i += n;
	if (i < len && s[i] != ' ')
		return 0;
	memcpy(dsn_r, s, i);
	dsn_r[i] = '\0';
	return i;
}

int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len, struct err *err)
{
	int code;
	bool last;

	if (r->done)
		smtp_reply_reset(r);
	if (len < 3 || digits(line, len, 3) != 3 || line[0] < '2' || line[0] > '5')
		return err_set(err, "malformed SMTP reply line");
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return err_set(err, "malformed SMTP reply line");
	if (memchr(line, '\0', len) != NULL)
		return err_set(err, "NUL in SMTP reply");
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->lines > 0 && code != r->code)
		return err_set(err, "reply code changed within a multi-line reply");
	if (r->lines >= SMTP_REPLY_LINES_MAX)
		return err_set(err, "SMTP reply has too many lines");
	last = len == 3 || line[3] == ' ';
	if (r->lines == 0) {
		r->code = code;
		if (len > 4 && smtp_dsn_parse(line + 4, len - 4, r->dsn) > 0 &&
		    r->dsn[0] == line[0]) {
			r->dsn_given = true;
		} else {
			r->dsn[0] = line[0];
			memcpy(r->dsn + 1, ".0.0", 5);
		}
	} else {
		buf_addc(&r->text, '\n');
	}
	buf_add(&r->text, line, len);
	r->lines++;
	r->done = last;
	return last ? 1 : 0;
}

void smtp_reply_format(const struct smtp_reply *r, struct buf *out, size_t max)
{
	struct buf tmp = BUF_INIT;

	for (size_t i = 0; i < r->text.len; i++)
		buf_addc(&tmp, r->text.data[i] == '\n' ? ' ' : r->text.data[i]);
	str_sanitize(out, buf_cstr(&tmp), tmp.len, max);
	buf_deinit(&tmp);
}

/* keyword_is - line (after "250-"/"250 ") starts with keyword kw followed
 * by the end or a space. */
/* auth_mechs - the SMTP_AUTH_* bits of a space-separated mechanism list. */
static unsigned int auth_mechs(const char *p, size_t len)
{
	unsigned int bits = 0;
	size_t i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && p[j] != ' ')
			j++;
		if (j - i == 5 && strncasecmp(p + i, "PLAIN", 5) == 0)
			bits |= SMTP_AUTH_PLAIN;
		else if (j - i == 5 && strncasecmp(p + i, "LOGIN", 5) == 0)
			bits |= SMTP_AUTH_LOGIN;
		else if (j > i)
			bits |= SMTP_AUTH_OTHER;
		i = j + 1;
	}
	return bits;
}

static bool keyword_is(const char *p, size_t len, const char *kw, const char **arg_r)
{
	size_t n = strlen(kw);

	if (len < n || strncasecmp(p, kw, n) != 0 || (len > n && p[n] != ' '))
		return false;
	if (arg_r != NULL)
		*arg_r = len > n ? p + n + 1 : p + n;
	return true;
}

void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *e)
{
	const char *p = r->text.data, *end = p + r->text.len;
	bool first = true;

	memset(e, 0, sizeof(*e));
	while (p != NULL && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		/* UNSAFE: each line holds at least "DDD" (smtp_reply_feed) */
		const char *kw = p + 3 + (le - p > 3 ? 1 : 0);
		size_t klen = (size_t)(le - kw);
		const char *arg = NULL;

		if (!first) {
			if (keyword_is(kw, klen, "PIPELINING", NULL)) {
				e->pipelining = true;
			} else if (keyword_is(kw, klen, "SIZE", &arg)) {
				char num[24];
				size_t an = (size_t)(le - arg);
				unsigned long long v = 0;
				bool ok = an > 0 && an < sizeof(num);

				e->size = true;
				for (size_t i = 0; ok && i < an; i++)
					ok = isdigit((unsigned char)arg[i]) != 0;
				if (ok) {
					memcpy(num, arg, an);
					num[an] = '\0';
					v = strtoull(num, NULL, 10);
				}
				e->size_limit = ok ? v : 0;
			} else if (keyword_is(kw, klen, "8BITMIME", NULL)) {
				e->eightbitmime = true;
			} else if (keyword_is(kw, klen, "SMTPUTF8", NULL)) {
				e->smtputf8 = true;
			} else if (keyword_is(kw, klen, "DSN", NULL)) {
				e->dsn = true;
			} else if (keyword_is(kw, klen, "STARTTLS", NULL)) {
				e->starttls = true;
			} else if (keyword_is(kw, klen, "CHUNKING", NULL)) {
				e->chunking = true;
			} else if (keyword_is(kw, klen, "ENHANCEDSTATUSCODES", NULL)) {
				e->enhancedstatuscodes = true;
			} else if (keyword_is(kw, klen, "AUTH", &arg)) {
				e->auth |= auth_mechs(arg, (size_t)(le - arg));
			} else if (klen > 5 && strncasecmp(kw, "AUTH=", 5) == 0) {
				e->auth |= auth_mechs(kw + 5, klen - 5);
			}
		}
		first = false;
		p = nl != NULL ? nl + 1 : NULL;
	}
}
