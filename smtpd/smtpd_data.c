/*
 * smtpd_data.c - incremental reader of DATA and BDAT content (see
 *           smtpd_data.h): finds CR LF . CR LF and nothing else as the end,
 *           undoes dot-stuffing, counts size, walks the header section.
 * Touches:  nothing but its arguments (pure: no I/O, no globals).
 * Input:    untrusted client bytes in chunks of any size, down to one byte.
 * Security: runs in smtpd as mail_owner before authentication; memory is
 *           bounded by line_max and SMTPD_DATA_HEADER_MAX; a bare LF or CR
 *           never ends a line for the terminator (no SMTP smuggling).
 * Errors:   none: every byte sequence is content or the terminator.
 * See:      RFC 5321 4.1.1.4 and 4.5.2, RFC 3030, docs/smtpd.md.
 */
#include "sys.h"

#include "buf.h"
#include "smtpd_data.h"

void smtpd_data_init(struct smtpd_data *d, int flags, uint64_t size_limit, size_t line_max,
		     const struct smtpd_data_sink *sink, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->state = SMTPD_DATA_BOL;
	d->flags = flags;
	d->sink = sink;
	d->ctx = ctx;
	d->size_limit = size_limit;
	d->line_max = line_max > 0 ? line_max : 1;
	d->in_header = true;
	buf_init(&d->hdr, 0);
}

void smtpd_data_deinit(struct smtpd_data *d)
{
	buf_deinit(&d->hdr);
	d->in_header = false;
}

/* header_name_ok - a header field name (printable ASCII but ':') followed
 * by ':' starts the len bytes at p. */
static bool header_name_ok(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && p[i] != ':'; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 33 || c > 126)
			return false;
	}
	return i > 0 && i < len;
}

/* flush_prev - hand over the logical header that ends where the current
 * physical line starts (its CR LF left out). */
static void flush_prev(struct smtpd_data *d)
{
	if (d->hdr_line_start >= 2 && d->sink->header != NULL)
		d->sink->header(d->ctx, d->hdr.data, d->hdr_line_start - 2);
}

/* walk_stop - the header walk ends here; cut says it was a limit; end is
 * the offset in hdr where the header section ends. */
static void walk_stop(struct smtpd_data *d, bool cut, size_t end)
{
	d->header_end = d->hdr_base + end;
	d->in_header = false;
	d->header_cut = cut;
	buf_deinit(&d->hdr);
}

/* walk_line_end - the physical line [hdr_line_start, hdr.len - 2) ended
 * with CR LF: decide what it is. */
static void walk_line_end(struct smtpd_data *d)
{
	size_t ls = d->hdr_line_start;
	size_t llen = d->hdr.len - 2 - ls;
	char c0;

	if (llen == 0) {
		flush_prev(d);
		walk_stop(d, false, ls);
		return;
	}
	c0 = d->hdr.data[ls];
	if (llen > d->line_max) {
		/* a folded header cut short ends before its first line */
		walk_stop(d, true, c0 == ' ' || c0 == '\t' ? 0 : ls);
		return;
	}
	if (c0 == ' ' || c0 == '\t') {
		if (ls == 0)
			walk_stop(d, false, 0); /* a continuation of nothing: body */
		else
			d->hdr_line_start = d->hdr.len;
		return;
	}
	if (!header_name_ok(d->hdr.data + ls, llen)) {
		flush_prev(d);
		walk_stop(d, false, ls);
		return;
	}
	flush_prev(d);
	buf_consume(&d->hdr, ls);
	d->hdr_base += ls;
	d->hdr_line_start = d->hdr.len;
}

/* walk - follow n content bytes through the header section. */
static void walk(struct smtpd_data *d, const char *p, size_t n)
{
	while (n > 0 && d->in_header) {
		const char *lf = memchr(p, '\n', n);
		size_t take = lf != NULL ? (size_t)(lf - p) + 1 : n;

		buf_add(&d->hdr, p, take);
		p += take;
		n -= take;
		if (d->hdr.len - d->hdr_line_start > d->line_max + 2 ||
		    d->hdr.len > SMTPD_DATA_HEADER_MAX) {
			/* a header before a cut line is whole unless the line folds it */
			char c0 = d->hdr.data[d->hdr_line_start];

			if (c0 != ' ' && c0 != '\t')
				flush_prev(d);
			walk_stop(d, true, c0 != ' ' && c0 != '\t' ? d->hdr_line_start : 0);
			return;
		}
		if (lf != NULL && d->hdr.len - d->hdr_line_start >= 2 &&
		    d->hdr.data[d->hdr.len - 2] == '\r')
			walk_line_end(d);
	}
}

/* emit - n content bytes: count them, walk the header, pass them on. */
static void emit(struct smtpd_data *d, const char *p, size_t n)
{
	if (n == 0)
		return;
	d->size += n;
	if (d->size_limit > 0 && d->size > d->size_limit)
		d->too_big = true;
	if (d->too_big) {
		if (d->in_header)
			walk_stop(d, true, 0);
		return;
	}
	if (d->in_header)
		walk(d, p, n);
	d->sink->body(d->ctx, p, n);
}

void smtpd_data_finish(struct smtpd_data *d)
{
	if (d->in_header) {
		/* the last header line ended with CR LF: it is whole */
		if (d->hdr.len == d->hdr_line_start) {
			flush_prev(d);
			walk_stop(d, false, d->hdr.len);
		} else {
			char c0 = d->hdr.data[d->hdr_line_start];

			if (c0 != ' ' && c0 != '\t')
				flush_prev(d);
			walk_stop(d, false, d->hdr.len);
		}
	}
}

/* text_run - DATA mode inside a line: emit up to the next CR (LFs on the
 * way are bare); returns the bytes taken. */
static size_t text_run(struct smtpd_data *d, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && p[i] != '\r'; i++) {
		if (p[i] == '\n')
			d->bare_lf++;
	}
	emit(d, p, i);
	if (i < n) {
		d->state = SMTPD_DATA_CR;
		i++;
	}
	return i;
}

size_t smtpd_data_feed(struct smtpd_data *d, const char *p, size_t n)
{
	size_t i = 0;

	if (d->flags & SMTPD_DATA_CHUNKED) {
		emit(d, p, n);
		return n;
	}
	while (i < n) {
		char c = p[i];

		switch (d->state) {
		case SMTPD_DATA_TEXT:
			/* UNSAFE: i < n, so p + i and n - i stay inside the input */
			i += text_run(d, p + i, n - i);
			break;
		case SMTPD_DATA_CR:
			if (c == '\n') {
				emit(d, "\r\n", 2);
				d->state = SMTPD_DATA_BOL;
				i++;
			} else {
				/* a bare CR stays content; c is looked at afresh */
				emit(d, "\r", 1);
				d->bare_cr++;
				if (c == '\r')
					i++;
				else
					d->state = SMTPD_DATA_TEXT;
			}
			break;
		case SMTPD_DATA_BOL:
			if (c == '.') {
				d->state = SMTPD_DATA_DOT;
				i++;
			} else {
				d->state = SMTPD_DATA_TEXT;
			}
			break;
		case SMTPD_DATA_DOT:
			/* more follows the leading dot: the dot goes (RFC 5321 4.5.2) */
			if (c == '\r') {
				d->state = SMTPD_DATA_DOT_CR;
				i++;
			} else {
				d->state = SMTPD_DATA_TEXT;
			}
			break;
		case SMTPD_DATA_DOT_CR:
			if (c == '\n') {
				d->state = SMTPD_DATA_END;
				smtpd_data_finish(d);
				return i + 1;
			}
			emit(d, "\r", 1);
			d->bare_cr++;
			d->state = c == '\r' ? SMTPD_DATA_CR : SMTPD_DATA_TEXT;
			if (c == '\r')
				i++;
			break;
		case SMTPD_DATA_END:
			return i;
		}
	}
	return n;
}
