/*
 * qfile_write.c - the streaming queue file writer (see qfile.h).
 * Touches:  writes and fsyncs the caller's fd (a new file in incoming/).
 * Input:    envelope values from smtpd/sendmail, already parsed; they are
 *           checked again here so the writer never emits a record the
 *           reader would reject.
 * Security: runs as mail_owner in smtpd and pickup; stores bytes only.
 * Errors:   sticky: the first failure is kept in the writer and reported by
 *           qfile_writer_finish (code QFILE_CORRUPT for bad values,
 *           QFILE_IOERR for write/fsync errors); later calls do nothing.
 * See:      docs/queue-format.md, Postfix record.c, cleanup_out.c.
 */
#include "sys.h"

#include <errno.h>
#include <stdarg.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "qfile.h"
#include "xmem.h"

/* Flush the output buffer to the file once it holds this much. */
#define QFILE_WRITE_BUFFER 65536
/* Digits in the fixed-width content size record. */
#define QFILE_SIZE_DIGITS 15

struct qfile_writer {
	int fd;
	struct buf out;     /* records not yet written to fd */
	struct buf chunk;   /* content not yet put in a DATA record */
	uint64_t off;       /* bytes already written to fd */
	bool failed;
	struct err err;
	bool env_closed;    /* MESSAGE record written */
	bool finished;
	bool pending_cr;    /* qfile_writer_text saw a CR at the end of a call */
	bool seen[256];     /* single-valued records already written */
	struct timeval arrival;
	unsigned int flags;
	size_t rcpt_count;
	size_t attr_count;
	uint64_t content_size;
	uint64_t size_data_off; /* file offset of the size record's digits */
};

/* w_fail - record the first error; code is a QFILE_* verdict. */
ATTR_PRINTF(3, 4)
static void w_fail(struct qfile_writer *w, int code, const char *fmt, ...)
{
	va_list ap;

	if (w->failed)
		return;
	w->failed = true;
	w->err.code = code;
	va_start(ap, fmt);
	vsnprintf(w->err.msg, sizeof(w->err.msg), fmt, ap);
	va_end(ap);
}

/* w_flush - write the output buffer to the file. */
static void w_flush(struct qfile_writer *w)
{
	size_t done = 0;
	ssize_t n;

	while (!w->failed && done < w->out.len) {
		n = write(w->fd, w->out.data + done, w->out.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			w_fail(w, QFILE_IOERR, "queue file write: %s",
			       n < 0 ? strerror(errno) : "no progress");
		else
			done += (size_t)n;
	}
	w->off += done;
	buf_reset(&w->out);
}

/* w_rec - append a record; returns the file offset of its data. */
static uint64_t w_rec(struct qfile_writer *w, int type, const void *data, size_t len)
{
	uint64_t start = w->off + w->out.len;
	size_t before = w->out.len;

	qfile_put_rec(&w->out, type, data, len);
	start += (w->out.len - before) - len;
	if (w->out.len >= QFILE_WRITE_BUFFER)
		w_flush(w);
	return start;
}

/* w_env_ok - may an envelope record be written now? */
static bool w_env_ok(struct qfile_writer *w, const char *what)
{
	if (w->failed)
		return false;
	if (w->env_closed || w->finished) {
		w_fail(w, QFILE_CORRUPT, "%s after the envelope was closed", what);
		return false;
	}
	return true;
}

/* w_once - single-valued record type not yet written? */
static bool w_once(struct qfile_writer *w, int type, const char *what)
{
	if (w->seen[type]) {
		w_fail(w, QFILE_CORRUPT, "%s set twice", what);
		return false;
	}
	w->seen[type] = true;
	return true;
}

/* w_text - write a single-valued text record (skipped when s is NULL). */
static void w_text(struct qfile_writer *w, int type, const char *s, const char *what)
{
	size_t len;

	if (s == NULL || !w_env_ok(w, what) || !w_once(w, type, what))
		return;
	len = strlen(s);
	if (len > QFILE_REC_MAX || !qfile_text_ok(s, len)) {
		w_fail(w, QFILE_CORRUPT, "%s: too long or holds control bytes", what);
		return;
	}
	w_rec(w, type, s, len);
}

struct qfile_writer *qfile_writer_new(int fd)
{
	struct qfile_writer *w = xcalloc(1, sizeof(*w));
	char v[16];
	int n;

	w->fd = fd;
	buf_init(&w->out, 0);
	buf_init(&w->chunk, 0);
	if (lseek(fd, 0, SEEK_CUR) != 0)
		w_fail(w, QFILE_IOERR, "queue file writer: fd is not at offset 0");
	n = snprintf(v, sizeof(v), "%d", QFILE_VERSION);
	w_rec(w, QREC_VERSION, v, (size_t)n);
	w->seen[QREC_VERSION] = true;
	return w;
}

void qfile_writer_free(struct qfile_writer **wp)
{
	struct qfile_writer *w = *wp;

	if (w == NULL)
		return;
	buf_deinit(&w->out);
	buf_deinit(&w->chunk);
	xfree(wp);
}

void qfile_writer_arrival(struct qfile_writer *w, const struct timeval *tv)
{
	if (!w_env_ok(w, "arrival time") || !w_once(w, QREC_TIME, "arrival time"))
		return;
	if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000) {
		w_fail(w, QFILE_CORRUPT, "arrival time out of range");
		return;
	}
	w->arrival = *tv;
}

void qfile_writer_flags(struct qfile_writer *w, unsigned int flags)
{
	if (!w_env_ok(w, "flags") || !w_once(w, QREC_FLAGS, "flags"))
		return;
	if (!qfile_flags_ok(flags)) {
		w_fail(w, QFILE_CORRUPT, "bad message flags 0x%x", flags);
		return;
	}
	w->flags = flags;
}

void qfile_writer_envid(struct qfile_writer *w, const char *envid)
{
	w_text(w, QREC_ENVID, envid, "ENVID");
}

void qfile_writer_sender(struct qfile_writer *w, const char *sender)
{
	w_text(w, QREC_SENDER, sender, "sender");
}

void qfile_writer_client(struct qfile_writer *w, const char *name, const char *addr,
			 unsigned int port, const char *helo, const char *proto)
{
	char p[16];
	int n;

	w_text(w, QREC_CLIENT_NAME, name, "client name");
	w_text(w, QREC_CLIENT_ADDR, addr, "client address");
	if (port != 0) {
		if (port > 65535) {
			w_fail(w, QFILE_CORRUPT, "client port %u out of range", port);
			return;
		}
		n = snprintf(p, sizeof(p), "%u", port);
		if (w_env_ok(w, "client port") && w_once(w, QREC_CLIENT_PORT, "client port"))
			w_rec(w, QREC_CLIENT_PORT, p, (size_t)n);
	}
	w_text(w, QREC_HELO, helo, "HELO name");
	w_text(w, QREC_PROTO, proto, "protocol");
}

void qfile_writer_sasl_user(struct qfile_writer *w, const char *user)
{
	w_text(w, QREC_SASL_USER, user, "SASL user");
}

void qfile_writer_attr(struct qfile_writer *w, const char *name, const char *value)
{
	struct buf b = BUF_INIT;
	size_t nlen = strlen(name), vlen = strlen(value);

	if (!w_env_ok(w, "attribute"))
		return;
	if (!qfile_attr_name_ok(name, nlen) || !qfile_text_ok(value, vlen)
	    || vlen > QFILE_REC_MAX - nlen - 1) {
		w_fail(w, QFILE_CORRUPT, "bad attribute name or value");
		return;
	}
	if (++w->attr_count > QFILE_ATTR_MAX) {
		w_fail(w, QFILE_CORRUPT, "more than %d attributes", QFILE_ATTR_MAX);
		return;
	}
	buf_printf(&b, "%s=%s", name, value);
	w_rec(w, QREC_ATTR, b.data, b.len);
	buf_deinit(&b);
}

void qfile_writer_rcpt(struct qfile_writer *w, const char *addr, const char *orcpt_type,
		       const char *orcpt, unsigned int notify)
{
	struct buf b = BUF_INIT;
	const char *t = orcpt_type ? orcpt_type : "", *o = orcpt ? orcpt : "";
	size_t alen = strlen(addr), tlen = strlen(t), olen = strlen(o);

	if (!w_env_ok(w, "recipient"))
		return;
	if (alen == 0 || !qfile_text_ok(addr, alen) || !qfile_text_ok(o, olen)
	    || (tlen == 0) != (olen == 0) || (tlen != 0 && !qfile_orcpt_type_ok(t, tlen))
	    || !qfile_notify_ok(notify)
	    || alen + olen + tlen + 2 + 3 * QFILE_VARINT_MAX > QFILE_REC_MAX) {
		w_fail(w, QFILE_CORRUPT, "bad recipient");
		return;
	}
	if (++w->rcpt_count > QFILE_RCPT_MAX) {
		w_fail(w, QFILE_CORRUPT, "more than %d recipients", QFILE_RCPT_MAX);
		return;
	}
	buf_addc(&b, QFILE_RCPT_PENDING);
	buf_addc(&b, (char)notify);
	qfile_put_varint(&b, (uint32_t)alen);
	buf_add(&b, addr, alen);
	qfile_put_varint(&b, (uint32_t)tlen);
	buf_add(&b, t, tlen);
	qfile_put_varint(&b, (uint32_t)olen);
	buf_add(&b, o, olen);
	w_rec(w, QREC_RCPT, b.data, b.len);
	buf_deinit(&b);
}

/* w_close_env - check the required fields, write the fixed records and
 * MESSAGE; from here on only content may follow. */
static void w_close_env(struct qfile_writer *w)
{
	char s[32];
	int n;
	uint8_t mstat = 0;

	if (w->env_closed || w->failed)
		return;
	if (!w->seen[QREC_TIME] || !w->seen[QREC_SENDER] || w->rcpt_count == 0) {
		w_fail(w, QFILE_CORRUPT, "envelope lacks arrival time, sender or recipients");
		return;
	}
	n = snprintf(s, sizeof(s), "%lld.%06ld", (long long)w->arrival.tv_sec,
		     (long)w->arrival.tv_usec);
	w_rec(w, QREC_TIME, s, (size_t)n);
	n = snprintf(s, sizeof(s), "%u", w->flags);
	w_rec(w, QREC_FLAGS, s, (size_t)n);
	w_rec(w, QREC_MSTAT, &mstat, 1);
	memset(s, '0', QFILE_SIZE_DIGITS);
	w->size_data_off = w_rec(w, QREC_SIZE, s, QFILE_SIZE_DIGITS);
	w_rec(w, QREC_MESSAGE, "", 0);
	w->env_closed = true;
}

/* w_chunk_flush - put buffered content into one DATA record. */
static void w_chunk_flush(struct qfile_writer *w)
{
	if (w->chunk.len == 0 || w->failed)
		return;
	w_rec(w, QREC_DATA, w->chunk.data, w->chunk.len);
	buf_reset(&w->chunk);
}

void qfile_writer_content(struct qfile_writer *w, const void *data, size_t len)
{
	const char *p = data;
	size_t n;

	if (w->failed)
		return;
	if (w->finished) {
		w_fail(w, QFILE_CORRUPT, "content after finish");
		return;
	}
	w_close_env(w);
	while (len > 0 && !w->failed) {
		n = QFILE_CHUNK - w->chunk.len;
		if (n > len)
			n = len;
		buf_add(&w->chunk, p, n);
		w->content_size += n;
		p += n;
		len -= n;
		if (w->chunk.len >= QFILE_CHUNK)
			w_chunk_flush(w);
	}
}

void qfile_writer_text(struct qfile_writer *w, const void *data, size_t len)
{
	const char *p = data, *end = p + len, *cr;

	if (len == 0)
		return;
	if (w->pending_cr) {
		w->pending_cr = false;
		if (*p != '\n')
			qfile_writer_content(w, "\r", 1);
	}
	while (p < end) {
		/* UNSAFE: memchr is bounded by end; cr + 1 <= end is checked. */
		cr = memchr(p, '\r', (size_t)(end - p));
		if (cr == NULL) {
			qfile_writer_content(w, p, (size_t)(end - p));
			break;
		}
		qfile_writer_content(w, p, (size_t)(cr - p));
		if (cr + 1 == end) {
			w->pending_cr = true;
			break;
		}
		if (cr[1] != '\n')
			qfile_writer_content(w, "\r", 1);
		p = cr + 1;
	}
}

bool qfile_writer_failed(const struct qfile_writer *w)
{
	return w->failed;
}

uint64_t qfile_writer_size(const struct qfile_writer *w)
{
	return w->off + w->out.len;
}

int qfile_writer_finish(struct qfile_writer *w, struct err *err)
{
	char digits[QFILE_SIZE_DIGITS + 1];
	ssize_t n;

	if (!w->failed && w->finished)
		w_fail(w, QFILE_CORRUPT, "queue file finished twice");
	if (w->pending_cr) {
		w->pending_cr = false;
		qfile_writer_content(w, "\r", 1);
	}
	w_close_env(w);
	w_chunk_flush(w);
	w_flush(w);
	w->finished = true;
	if (!w->failed && w->content_size > 999999999999999ULL)
		w_fail(w, QFILE_CORRUPT, "content too large");
	if (!w->failed) {
		/* The size goes in before END, so a file with END has its size. */
		snprintf(digits, sizeof(digits), "%015llu", (unsigned long long)w->content_size);
		do
			n = pwrite(w->fd, digits, QFILE_SIZE_DIGITS, (off_t)w->size_data_off);
		while (n < 0 && errno == EINTR);
		if (n != QFILE_SIZE_DIGITS)
			w_fail(w, QFILE_IOERR, "queue file size update: %s",
			       n < 0 ? strerror(errno) : "short write");
	}
	if (!w->failed) {
		w_rec(w, QREC_END, "", 0);
		w_flush(w);
	}
	if (!w->failed && fsync(w->fd) < 0)
		w_fail(w, QFILE_IOERR, "queue file fsync: %s", strerror(errno));
	if (w->failed) {
		if (err != NULL)
			*err = w->err;
		return -1;
	}
	return 0;
}
