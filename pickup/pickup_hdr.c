/*
 * pickup_hdr.c - header-section scanning, sendmail -t recipient extraction
 * and the From:/Date: lines pickup adds to local submissions.
 * Touches:  nothing but its arguments (pure: no I/O, no globals; localtime_r
 *           reads the time zone).
 * Input:    untrusted message text from a local user, with explicit
 *           lengths; every loop is bounded by them.
 * Security: runs in pickup (mail owner) and in sendmail (the user).
 * Errors:   pickup_hdr_rcpts returns -1 with the address parser's reply
 *           text in err; the rest cannot fail.
 * See:      pickup_hdr.h, RFC 5322 2.2 and 3.6.
 */
#include "sys.h"

#include "buf.h"
#include "err.h"
#include "pickup_hdr.h"
#include "str.h"

/* hdr_name_len - length of the field name when the line at p (n bytes) is a
 * header field "name[ \t]*:", else 0. */
static size_t hdr_name_len(const char *p, size_t n)
{
	size_t i = 0, name;

	while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f && p[i] != ':')
		i++;
	name = i;
	if (name == 0)
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':' ? name : 0;
}

/* name_is - the field name (len bytes) equals want, case-insensitively. */
static bool name_is(const char *name, size_t len, const char *want)
{
	size_t wl = strlen(want);

	if (len != wl)
		return false;
	for (size_t i = 0; i < len; i++) {
		char a = name[i], b = want[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

/* line_blank - the line (without its LF) is empty or a lone CR. */
static bool line_blank(const char *p, size_t n)
{
	return n == 0 || (n == 1 && p[0] == '\r');
}

int pickup_hdr_scan(const char *data, size_t len, bool at_eof, struct pickup_hdr_scan *r)
{
	size_t pos = 0;

	memset(r, 0, sizeof(*r));
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n, name;

		if (nl == NULL && !at_eof)
			return 0;
		/* UNSAFE: nl points inside data[pos..len), so n <= len - pos. */
		n = nl != NULL ? (size_t)(nl - (data + pos)) : len - pos;
		if (line_blank(data + pos, n)) {
			r->hdr_len = r->body_off = pos;
			r->has_blank = true;
			return 1;
		}
		if ((data[pos] == ' ' || data[pos] == '\t') && pos > 0) {
			pos += n + (nl != NULL);
			continue;
		}
		if ((name = hdr_name_len(data + pos, n)) == 0) {
			r->hdr_len = r->body_off = pos;
			return 1;
		}
		if (name_is(data + pos, name, "from"))
			r->has_from = true;
		else if (name_is(data + pos, name, "date"))
			r->has_date = true;
		else if (name_is(data + pos, name, "message-id"))
			r->has_msgid = true;
		if (name > 7 && name_is(data + pos, 7, "resent-"))
			r->has_resent = true;
		pos += n + (nl != NULL);
	}
	if (!at_eof)
		return 0;
	r->hdr_len = r->body_off = len;
	return 1;
}

/* field_end - offset just past the field that starts at pos (its first
 * line and every continuation line). */
static size_t field_end(const char *hdr, size_t len, size_t pos)
{
	do {
		const char *nl = memchr(hdr + pos, '\n', len - pos);

		pos = nl != NULL ? (size_t)(nl - hdr) + 1 : len;
	} while (pos < len && (hdr[pos] == ' ' || hdr[pos] == '\t'));
	return pos;
}

int pickup_hdr_rcpts(const char *hdr, size_t hdr_len, addr_header_fn *fn, void *ctx,
		     struct buf *out_r, struct err *err)
{
	struct pickup_hdr_scan scan;
	const char *to = "to", *cc = "cc", *bcc = "bcc";
	size_t pos = 0;

	if (pickup_hdr_scan(hdr, hdr_len, true, &scan) == 1 && scan.has_resent) {
		to = "resent-to";
		cc = "resent-cc";
		bcc = "resent-bcc";
	}
	if (out_r != NULL)
		buf_reset(out_r);
	while (pos < hdr_len) {
		size_t end = field_end(hdr, hdr_len, pos);
		size_t name = hdr_name_len(hdr + pos, end - pos);
		bool is_bcc = name > 0 && (name_is(hdr + pos, name, "bcc") ||
					   name_is(hdr + pos, name, "resent-bcc"));

		if (name > 0 && (name_is(hdr + pos, name, to) || name_is(hdr + pos, name, cc) ||
				 name_is(hdr + pos, name, bcc))) {
			const char *colon = memchr(hdr + pos, ':', end - pos);
			/* UNSAFE: hdr_name_len found the ':' inside this field. */
			size_t vstart = (size_t)(colon - hdr) + 1;

			if (addr_parse_header_list(hdr + vstart, end - vstart, fn, ctx, err) < 0)
				return -1;
		}
		if (out_r != NULL && !is_bcc)
			buf_add(out_r, hdr + pos, end - pos);
		pos = end;
	}
	return 0;
}

int pickup_addr_parse(const char *s, size_t len, bool sender, struct buf *out_r, struct err *err)
{
	int flags = ADDR_LOCAL_OK | ADDR_UTF8 | (sender ? ADDR_SENDER : 0);

	if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
		s++;
		len -= 2;
	}
	if (len == 0) {
		buf_reset(out_r);
		return sender ? 0 : addr_parse_mailbox(s, len, flags, NULL, out_r, err);
	}
	return addr_parse_mailbox(s, len, flags, NULL, out_r, err);
}

void pickup_hdr_date(time_t t, struct buf *out)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	long off;
	char sign = '+';

	if (localtime_r(&t, &tm) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	buf_printf(out, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
		   tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		   tm.tm_sec, sign, off / 60, off % 60);
	if (tm.tm_zone != NULL && tm.tm_zone[0] != '\0' && strlen(tm.tm_zone) < 16 &&
	    strspn(tm.tm_zone,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-") ==
		    strlen(tm.tm_zone))
		buf_printf(out, " (%s)", tm.tm_zone);
}

/* phrase_plain - true if s can stand as an unquoted display name: atoms
 * (letters, digits, !#$%&'*+-/=?^_`{|}~, UTF-8) separated by single
 * spaces. */
static bool phrase_plain(const char *s, size_t n)
{
	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' && s[i + 1] != ' ')
			continue;
		if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL)
			continue;
		return false;
	}
	return true;
}

void pickup_hdr_from(const char *fullname, const char *addr, struct buf *out)
{
	struct buf name = BUF_INIT;

	for (const char *p = fullname != NULL ? fullname : ""; *p != '\0' && name.len < 200; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			buf_addc(&name, *p);
	if (name.len == 0) {
		buf_printf(out, "From: %s\n", addr);
	} else if (phrase_plain(name.data, name.len)) {
		buf_printf(out, "From: %s <%s>\n", name.data, addr);
	} else {
		buf_adds(out, "From: \"");
		for (size_t i = 0; i < name.len; i++) {
			if (name.data[i] == '"' || name.data[i] == '\\')
				buf_addc(out, '\\');
			buf_addc(out, name.data[i]);
		}
		buf_printf(out, "\" <%s>\n", addr);
	}
	buf_deinit(&name);
}
