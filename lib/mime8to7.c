/*
 * mime8to7.c - 8-bit MIME to 7-bit for servers without 8BITMIME (see
 * mime8to7.h): a recursive walk over header blocks, multipart boundaries
 * and message/rfc822 bodies, re-encoding leaf parts.
 * Touches:  nothing but its arguments (pure: no I/O, no globals).
 * Input:    untrusted message content from the queue (any bytes); every
 *           scan is bounded by the slice it works on, recursion by
 *           MIME8TO7_DEPTH_MAX.
 * Security: runs in the smtp agent as the mail owner; output grows at
 *           most by the base64/quoted-printable expansion (about 3x).
 * Errors:   none: malformed MIME degrades to "copy as is" or "encode the
 *           whole body", never to a failure.
 * See:      mime8to7.h, RFC 2045, RFC 2046, RFC 6152.
 */
#include "sys.h"

#include <strings.h>

#include "buf.h"
#include "mime8to7.h"

bool mime8to7_has_8bit(const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		if (p[i] & 0x80)
			return true;
	return false;
}

/* ---- encoders ---- */

void mime8to7_qp(const char *in, size_t len, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(in + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - in) : len;
		size_t col = 0;

		for (size_t k = i; k < end; k++) {
			unsigned char b = (unsigned char)in[k];
			bool last = k + 1 == end;
			bool enc = b == '=' || (b < 32 && b != '\t') || b > 126 ||
				   ((b == ' ' || b == '\t') && last);
			size_t w = enc ? 3 : 1;

			/* keep room for the soft break "=" unless this is the
			 * last piece of the line */
			if (col + w > (last ? MIME8TO7_LINE_MAX : MIME8TO7_LINE_MAX - 1)) {
				buf_adds(out, "=\n");
				col = 0;
			}
			if (enc) {
				buf_addc(out, '=');
				buf_addc(out, hex[b >> 4]);
				buf_addc(out, hex[b & 15]);
			} else {
				buf_addc(out, (char)b);
			}
			col += w;
		}
		if (nl == NULL)
			break;
		buf_addc(out, '\n');
		i = end + 1;
	}
}

void mime8to7_base64(const void *in, size_t len, struct buf *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	size_t col = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned int v = (unsigned int)p[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;
		char q[4];

		if (n > 1)
			v |= (unsigned int)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = n > 1 ? tab[(v >> 6) & 63] : '=';
		q[3] = n > 2 ? tab[v & 63] : '=';
		if (col == MIME8TO7_LINE_MAX) {
			buf_addc(out, '\n');
			col = 0;
		}
		buf_add(out, q, 4);
		col += 4;
	}
}

/* ---- header parsing ---- */

struct mime_hdr {
	char type[128];	    /* "text/plain", lower case; "" when absent */
	char boundary[128]; /* "" when absent */
	char cte[64];	    /* lower case; "" when absent */
	bool mime_version;
};

/* header_end - length of the header block (up to and including the empty
 * line), and where the body starts; no empty line: all header. */
static size_t header_end(const char *p, size_t len, size_t *body_r)
{
	if (len > 0 && p[0] == '\n') {
		*body_r = 1;
		return 0;
	}
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] == '\n' && p[i + 1] == '\n') {
			*body_r = i + 2;
			return i + 1;
		}
	}
	*body_r = len;
	return len;
}

/* field_is - the field starting at p is called name (case-insensitive). */
static bool field_is(const char *p, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && strncasecmp(p, name, n) == 0 && p[n] == ':';
}

/* field_len - bytes of the field at p, continuation lines included (with
 * their final LF when present). */
static size_t field_len(const char *p, size_t len)
{
	size_t i = 0;

	for (;;) {
		const char *nl = memchr(p + i, '\n', len - i);

		if (nl == NULL)
			return len;
		i = (size_t)(nl - p) + 1;
		if (i >= len || (p[i] != ' ' && p[i] != '\t'))
			return i;
	}
}

/* unfold - the value of a field (after "Name:"), lower-cased when asked,
 * continuation line ends turned into spaces, into out (size bytes). */
static void unfold(const char *p, size_t len, char *out, size_t size, bool lower)
{
	const char *colon = memchr(p, ':', len);
	size_t o = 0;

	if (colon == NULL) {
		out[0] = '\0';
		return;
	}
	for (const char *s = colon + 1; s < p + len && o + 1 < size; s++) {
		char c = *s == '\n' || *s == '\r' ? ' ' : *s;

		if (o == 0 && (c == ' ' || c == '\t'))
			continue;
		out[o++] = lower && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	out[o] = '\0';
}

/* content_type - type/subtype and the boundary parameter of a value. */
static void content_type(const char *v, struct mime_hdr *h)
{
	size_t i = 0, o = 0;

	while (v[i] != '\0' && v[i] != ';' && v[i] != ' ' && v[i] != '(' &&
	       o + 1 < sizeof(h->type)) {
		char c = v[i++];

		h->type[o++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	h->type[o] = '\0';
	while (v[i] != '\0') {
		size_t a, alen;

		while (v[i] != '\0' && v[i] != ';')
			i++;
		if (v[i] == '\0')
			break;
		i++;
		while (v[i] == ' ' || v[i] == '\t')
			i++;
		a = i;
		while (v[i] != '\0' && v[i] != '=' && v[i] != ';')
			i++;
		alen = i - a;
		while (alen > 0 && (v[a + alen - 1] == ' ' || v[a + alen - 1] == '\t'))
			alen--;
		if (v[i] != '=')
			continue;
		i++;
		while (v[i] == ' ' || v[i] == '\t')
			i++;
		if (alen == 8 && strncasecmp(v + a, "boundary", 8) == 0) {
			o = 0;
			if (v[i] == '"') {
				for (i++; v[i] != '\0' && v[i] != '"'; i++) {
					if (v[i] == '\\' && v[i + 1] != '\0')
						i++;
					if (o + 1 < sizeof(h->boundary))
						h->boundary[o++] = v[i];
				}
			} else {
				for (; v[i] != '\0' && v[i] != ';' && v[i] != ' '; i++)
					if (o + 1 < sizeof(h->boundary))
						h->boundary[o++] = v[i];
			}
			h->boundary[o] = '\0';
		}
	}
}

static void parse_header(const char *p, size_t len, struct mime_hdr *h)
{
	char value[1024];

	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < len;) {
		size_t n = field_len(p + i, len - i);

		if (field_is(p + i, n, "Content-Type")) {
			unfold(p + i, n, value, sizeof(value), false);
			content_type(value, h);
		} else if (field_is(p + i, n, "Content-Transfer-Encoding")) {
			unfold(p + i, n, h->cte, sizeof(h->cte), true);
		} else if (field_is(p + i, n, "MIME-Version")) {
			h->mime_version = true;
		}
		i += n;
	}
}

/* copy_header - the header block without Content-Transfer-Encoding
 * fields, then cte_line (may be NULL) and the extra line, then the empty
 * line when the original had one. */
static void copy_header(const char *p, size_t hlen, bool had_blank, const char *cte_line,
			const char *extra, struct buf *out)
{
	for (size_t i = 0; i < hlen;) {
		size_t n = field_len(p + i, hlen - i);

		if (!(p[i] == '\n' && i + 1 == hlen) &&
		    !(cte_line != NULL && field_is(p + i, n, "Content-Transfer-Encoding"))) {
			buf_add(out, p + i, n);
			if (p[i + n - 1] != '\n')
				buf_addc(out, '\n');
		}
		i += n;
	}
	if (cte_line != NULL)
		buf_adds(out, cte_line);
	if (extra != NULL)
		buf_adds(out, extra);
	if (had_blank)
		buf_addc(out, '\n');
}

static bool encoded_7bit(const char *cte)
{
	return strcmp(cte, "quoted-printable") == 0 || strcmp(cte, "base64") == 0;
}

/* ---- the walk ---- */

static size_t entity(const char *p, size_t len, int depth, bool top, const char *default_type,
		     struct buf *out);

/* delim_at - the line at p (avail bytes) is "--boundary" (closing: with
 * "--" after it), possibly followed by blanks; its length without LF. */
static bool delim_at(const char *p, size_t avail, const char *b, size_t blen, bool *close_r,
		     size_t *line_r)
{
	const char *nl;
	size_t i, end;

	if (avail < blen + 2 || p[0] != '-' || p[1] != '-' || memcmp(p + 2, b, blen) != 0)
		return false;
	nl = memchr(p, '\n', avail);
	end = nl != NULL ? (size_t)(nl - p) : avail;
	i = blen + 2;
	*close_r = end >= i + 2 && p[i] == '-' && p[i + 1] == '-';
	if (*close_r)
		i += 2;
	for (; i < end; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	*line_r = end;
	return true;
}

/* multipart - body p of a multipart entity with boundary b. */
static size_t multipart(const char *p, size_t len, const char *b, int depth, bool digest,
			struct buf *out)
{
	size_t blen = strlen(b), i = 0, part = 0, converted = 0;
	bool in_part = false, closed = false;

	/* find every delimiter line: at the start or after a LF */
	while (i <= len && !closed) {
		bool close = false;
		size_t line = 0;
		const char *nl;

		if (delim_at(p + i, len - i, b, blen, &close, &line)) {
			if (in_part) {
				/* the LF before the delimiter belongs to it */
				size_t plen = i - part;

				if (plen > 0)
					plen--;
				converted += entity(p + part, plen, depth + 1, false,
						    digest ? "message/rfc822" : "text/plain", out);
				buf_addc(out, '\n');
			}
			buf_add(out, p + i, line);
			i += line;
			if (i < len) {
				buf_addc(out, '\n');
				i++;
			}
			part = i;
			in_part = !close;
			closed = close;
			continue;
		}
		nl = memchr(p + i, '\n', len - i);
		if (nl == NULL) {
			i = len;
			break;
		}
		if (!in_part)
			buf_add(out, p + i, (size_t)(nl - (p + i)) + 1);
		i = (size_t)(nl - p) + 1;
	}
	if (in_part) {
		/* no closing delimiter: the last part runs to the end */
		converted += entity(p + part, len - part, depth + 1, false,
				    digest ? "message/rfc822" : "text/plain", out);
	} else if (i < len) {
		buf_add(out, p + i, len - i); /* the epilogue */
	}
	return converted;
}

static size_t entity(const char *p, size_t len, int depth, bool top, const char *default_type,
		     struct buf *out)
{
	struct mime_hdr h;
	size_t body, hlen = header_end(p, len, &body);
	bool blank = body > hlen;
	const char *type;
	size_t mark = out->len, n;

	parse_header(p, hlen, &h);
	type = h.type[0] != '\0' ? h.type : default_type;
	if (encoded_7bit(h.cte) || !mime8to7_has_8bit(p + body, len - body)) {
		buf_add(out, p, len);
		return 0;
	}
	if (depth < MIME8TO7_DEPTH_MAX && strncmp(type, "multipart/", 10) == 0 &&
	    h.boundary[0] != '\0') {
		copy_header(p, hlen, blank,
			    h.cte[0] != '\0' ? "Content-Transfer-Encoding: 7bit\n" : NULL, NULL,
			    out);
		n = multipart(p + body, len - body, h.boundary, depth,
			      strcmp(type, "multipart/digest") == 0, out);
		if (n > 0)
			return n;
		buf_truncate(out, mark);
	} else if (depth < MIME8TO7_DEPTH_MAX && strcmp(type, "message/rfc822") == 0) {
		copy_header(p, hlen, blank,
			    h.cte[0] != '\0' ? "Content-Transfer-Encoding: 7bit\n" : NULL, NULL,
			    out);
		n = entity(p + body, len - body, depth + 1, false, "text/plain", out);
		if (n > 0)
			return n;
		buf_truncate(out, mark);
	}
	/* a leaf (or a container that could not be walked): encode it */
	if (strncmp(type, "text/", 5) == 0) {
		copy_header(p, hlen, true, "Content-Transfer-Encoding: quoted-printable\n",
			    top && !h.mime_version ? "MIME-Version: 1.0\n" : NULL, out);
		mime8to7_qp(p + body, len - body, out);
	} else {
		copy_header(p, hlen, true, "Content-Transfer-Encoding: base64\n",
			    top && !h.mime_version ? "MIME-Version: 1.0\n" : NULL, out);
		mime8to7_base64(p + body, len - body, out);
		if (top)
			buf_addc(out, '\n');
	}
	return 1;
}

size_t mime8to7_convert(const char *in, size_t len, struct buf *out)
{
	return entity(in, len, 0, true, "text/plain", out);
}
