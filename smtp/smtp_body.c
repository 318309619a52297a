/*
 * smtp_body.c - the message content on its way out: a scan of the queue
 * file before the first transaction (8-bit bytes anywhere and in the
 * header, the exact size on the wire for SIZE=), and the streaming of the
 * content after the 354 reply, chunk by chunk from the queue file, with
 * LF turned into CRLF and leading dots doubled on the fly, so that a
 * delivery holds only a few hundred KiB whatever the message size.  The
 * one whole-message path is the 7-bit conversion for servers without
 * 8BITMIME (lib/mime8to7 needs the MIME structure): that copy is bounded
 * by message_size_limit and made once per request.
 * Touches:  the request's open queue file (read only, with pread through
 *           qfile_content_reader), the session's connection (writes).
 * Security: the content is sent as queued; the queue file was validated
 *           when the request started and the reader checks every record
 *           again, so a file changed under us fails the delivery.
 * Errors:   a read error returns -1 with err; the session then drops the
 *           connection without the final dot, so nothing half-sent is
 *           ever taken for a message.
 * See:      RFC 5321 4.5.2 (transparency), RFC 1870 (SIZE), docs/smtp.md.
 */
#include "sys.h"

#include "err.h"
#include "loop.h"
#include "mime8to7.h"
#include "smtp/smtp.h"
#include "xmem.h"

/* BODY_HIGH - stop filling the connection's output at this many bytes. */
#define BODY_HIGH (256 * 1024)

struct smtp_body {
	struct qfile_content_reader *rd; /* NULL for the 7-bit copy */
	const struct buf *copy;		 /* the 7-bit wire form, when rd is NULL */
	size_t copy_off;
	struct smtp_wire wire;
	struct buf chunk, out;
	bool done;
};

void smtp_wire_feed(struct smtp_wire *w, const char *data, size_t len, struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - data) : len;

		if (!w->mid_line && data[i] == '.')
			buf_addc(out, '.');
		buf_add(out, data + i, end - i);
		if (nl != NULL) {
			buf_adds(out, "\r\n");
			w->mid_line = false;
			i = end + 1;
		} else {
			w->mid_line = true;
			i = end;
		}
	}
}

void smtp_wire_end(struct smtp_wire *w, struct buf *out)
{
	if (w->mid_line)
		buf_adds(out, "\r\n");
	buf_adds(out, ".\r\n");
	w->mid_line = false;
}

void smtp_wire_encode(const char *data, size_t len, struct buf *out)
{
	struct smtp_wire w = {0};

	smtp_wire_feed(&w, data, len, out);
	smtp_wire_end(&w, out);
}

/* read_all - the whole content of r into out (for the 7-bit conversion). */
static int read_all(struct smtp_req *r, struct buf *out, struct err *err)
{
	struct qfile_content_reader *rd = qfile_content_reader_new(r->fd, &r->env);
	struct buf chunk = BUF_INIT;
	int rc;

	while ((rc = qfile_content_read(rd, &chunk, err)) > 0)
		buf_add(out, chunk.data, chunk.len);
	qfile_content_reader_free(&rd);
	buf_deinit(&chunk);
	return rc < 0 ? -1 : 0;
}

int smtp_body_scan(struct smtp_req *r, struct err *err)
{
	struct qfile_content_reader *rd = qfile_content_reader_new(r->fd, &r->env);
	struct smtp_wire w = {0};
	struct buf chunk = BUF_INIT, out = BUF_INIT;
	bool in_header = true;
	char prev = '\0';
	int rc;

	r->wire_len = 0;
	r->has8bit = r->hdr8bit = false;
	while ((rc = qfile_content_read(rd, &chunk, err)) > 0) {
		if (!r->has8bit && mime8to7_has_8bit(chunk.data, chunk.len))
			r->has8bit = true;
		for (size_t i = 0; in_header && i < chunk.len; i++) {
			char c = chunk.data[i];

			if (c == '\n' && prev == '\n')
				in_header = false;
			else if ((unsigned char)c > 127)
				r->hdr8bit = true;
			prev = c;
		}
		buf_reset(&out);
		smtp_wire_feed(&w, chunk.data, chunk.len, &out);
		r->wire_len += out.len;
	}
	buf_reset(&out);
	smtp_wire_end(&w, &out);
	r->wire_len += out.len;
	qfile_content_reader_free(&rd);
	buf_deinit(&chunk);
	buf_deinit(&out);
	return rc < 0 ? -1 : 0;
}

/* seven_bit_copy - the 7-bit wire form of r, made once per request. */
static int seven_bit_copy(struct smtp_req *r, struct err *err)
{
	struct buf raw = BUF_INIT, conv = BUF_INIT;

	if (r->wire7.len > 0)
		return 0;
	if (read_all(r, &raw, err) < 0) {
		buf_deinit(&raw);
		return -1;
	}
	(void)mime8to7_convert(raw.data != NULL ? raw.data : "", raw.len, &conv);
	buf_deinit(&raw);
	smtp_wire_encode(buf_cstr(&conv), conv.len, &r->wire7);
	buf_deinit(&conv);
	return 0;
}

int smtp_req_body_size(struct smtp_req *r, bool seven_bit, size_t *size_r, struct err *err)
{
	if (seven_bit) {
		if (seven_bit_copy(r, err) < 0)
			return -1;
		*size_r = r->wire7.len;
	} else {
		*size_r = r->wire_len;
	}
	return 0;
}

struct smtp_body *smtp_body_new(struct smtp_req *r, bool seven_bit, struct err *err)
{
	struct smtp_body *b;

	if (seven_bit && seven_bit_copy(r, err) < 0)
		return NULL;
	b = xcalloc(1, sizeof(*b));
	if (seven_bit)
		b->copy = &r->wire7;
	else
		b->rd = qfile_content_reader_new(r->fd, &r->env);
	return b;
}

int smtp_body_fill(struct smtp_body *b, struct loop_conn *conn, struct err *err)
{
	int rc;

	while (!b->done && loop_conn_pending(conn) < BODY_HIGH) {
		if (b->copy != NULL) {
			size_t n = b->copy->len - b->copy_off;

			if (n > QFILE_CHUNK)
				n = QFILE_CHUNK;
			loop_conn_write(conn, b->copy->data + b->copy_off, n);
			b->copy_off += n;
			b->done = b->copy_off >= b->copy->len;
			continue;
		}
		rc = qfile_content_read(b->rd, &b->chunk, err);
		if (rc < 0)
			return -1;
		buf_reset(&b->out);
		if (rc == 0) {
			smtp_wire_end(&b->wire, &b->out);
			b->done = true;
		} else {
			smtp_wire_feed(&b->wire, b->chunk.data, b->chunk.len, &b->out);
		}
		loop_conn_write(conn, b->out.data, b->out.len);
	}
	return b->done ? 1 : 0;
}

void smtp_body_free(struct smtp_body **bp)
{
	struct smtp_body *b = *bp;

	if (b == NULL)
		return;
	qfile_content_reader_free(&b->rd);
	buf_deinit(&b->chunk);
	buf_deinit(&b->out);
	free(b);
	*bp = NULL;
}
