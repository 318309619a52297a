/*
 * xtext.c - RFC 3461 xtext and RFC 6533 utf-8-addr-xtext/unitext.
 * Touches:  nothing but its arguments (pure: no I/O, no globals).
 * Input:    untrusted ESMTP parameter values of explicit length.
 * Security: runs in smtpd before authentication; a decoded value is never
 *           longer than its input (an escape of n bytes yields fewer).
 * Errors:   -1 with err->msg the whole 501 reply; never aborts.
 * See:      xtext.h, RFC 3461 4, RFC 6533 3.
 */
#include "sys.h"

#include "buf.h"
#include "err.h"
#include "xtext.h"

static const char hex_upper[] = "0123456789ABCDEF";

/* hexval - value of one hex digit; upper-case only unless lower is set. */
static int hexval(char c, bool lower)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (lower && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* is_xchar - an xtext byte that stands for itself. */
static bool is_xchar(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '+' && c != '=';
}

/* decode - shared by xtext_decode and xtext_valid (out may be NULL). */
static int decode(const char *s, size_t len, struct buf *out)
{
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			int hi, lo;
			if (len - i < 3)
				return -1;
			if ((hi = hexval(s[i + 1], false)) < 0 || (lo = hexval(s[i + 2], false)) < 0)
				return -1;
			if (out != NULL)
				buf_addc(out, (char)(hi << 4 | lo));
			i += 2;
		} else if (is_xchar(c)) {
			if (out != NULL)
				buf_addc(out, (char)c);
		} else {
			return -1;
		}
	}
	return 0;
}

int xtext_decode(const char *s, size_t len, struct buf *out, struct err *err)
{
	buf_reset(out);
	if (decode(s, len, out) < 0) {
		buf_reset(out);
		return err_set_code(err, 501, "501 5.5.4 Bad xtext");
	}
	return 0;
}

bool xtext_valid(const char *s, size_t len)
{
	return decode(s, len, NULL) == 0;
}

void xtext_encode(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_xchar(c)) {
			buf_addc(out, (char)c);
		} else {
			buf_addc(out, '+');
			buf_addc(out, hex_upper[c >> 4]);
			buf_addc(out, hex_upper[c & 15]);
		}
	}
}

/* utf8_decode - decode one valid shortest-form UTF-8 character at s into
 * *cp; returns its length, 0 when invalid. */
static size_t utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t need;
	uint32_t v;

	if (n == 0)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] < 0xC2 || u[0] > 0xF4)
		return 0;
	need = u[0] < 0xE0 ? 2 : u[0] < 0xF0 ? 3 : 4;
	if (n < need)
		return 0;
	v = u[0] & (0xFF >> (need + 1));
	for (size_t i = 1; i < need; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (u[i] & 0x3F);
	}
	if ((need == 3 && v < 0x800) || (need == 4 && v < 0x10000) || v > 0x10FFFF ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return need;
}

/* utf8_put - append code point cp as UTF-8. */
static void utf8_put(struct buf *out, uint32_t cp)
{
	if (cp < 0x80) {
		buf_addc(out, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(out, (char)(0xC0 | cp >> 6));
		buf_addc(out, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_addc(out, (char)(0xE0 | cp >> 12));
		buf_addc(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addc(out, (char)(0x80 | (cp & 0x3F)));
	} else {
		buf_addc(out, (char)(0xF0 | cp >> 18));
		buf_addc(out, (char)(0x80 | ((cp >> 12) & 0x3F)));
		buf_addc(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addc(out, (char)(0x80 | (cp & 0x3F)));
	}
}

/* is_qchar - RFC 6533 QCHAR: printable ASCII but '\\', '+' and '='. */
static bool is_qchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7E && c != '\\' && c != '+' && c != '=';
}

/* embedded_char - parse "\x{HEX}" at s[i]; *cp and the length, 0 if bad. */
static size_t embedded_char(const char *s, size_t len, size_t i, uint32_t *cp)
{
	size_t j = i + 3, digits = 0;
	uint32_t v = 0;
	int d;

	if (len - i < 5 || s[i + 1] != 'x' || s[i + 2] != '{')
		return 0;
	while (j < len && digits < 7 && (d = hexval(s[j], true)) >= 0) {
		if (digits == 0 && d == 0)
			return 0;
		v = v << 4 | (uint32_t)d;
		digits++;
		j++;
	}
	if (digits == 0 || digits > 6 || j >= len || s[j] != '}' || v > 0x10FFFF ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return j + 1 - i;
}

int xtext_decode_utf8addr(const char *s, size_t len, bool allow_utf8, struct buf *out,
			  struct err *err)
{
	uint32_t cp;
	size_t n;

	buf_reset(out);
	if (len == 0)
		goto bad;
	for (size_t i = 0; i < len; i += n) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			if ((n = embedded_char(s, len, i, &cp)) == 0)
				goto bad;
			utf8_put(out, cp);
		} else if (c < 0x80) {
			if (!is_qchar(c))
				goto bad;
			buf_addc(out, (char)c);
			n = 1;
		} else {
			if (!allow_utf8 || (n = utf8_decode(s + i, len - i, &cp)) == 0)
				goto bad;
			buf_add(out, s + i, n);
		}
	}
	return 0;
bad:
	buf_reset(out);
	return err_set_code(err, 501, "501 5.5.4 Bad utf-8-addr-xtext");
}

void xtext_encode_utf8addr(const char *s, size_t len, struct buf *out)
{
	uint32_t cp;
	size_t n;

	for (size_t i = 0; i < len; i += n) {
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0 || cp == 0) {
			cp = 0xFFFD;
			n = n == 0 ? 1 : n;
		}
		if (cp < 0x80 && is_qchar((unsigned char)cp))
			buf_addc(out, (char)cp);
		else
			buf_printf(out, "\\x{%X}", (unsigned int)cp);
	}
}
