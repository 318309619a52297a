/*
 * qfile_read.c - validate and read queue files: the envelope parser (over
 * bytes in memory or an fd read with pread), the content stream reader
 * and qfile_verify.
 * Touches:  reads the caller's fd or buffer; qfile_verify opens one path.
 * Input:    untrusted: a queue file may be truncated, corrupt or hostile
 *           (a fuzz target feeds qfile_parse).  Every length is checked
 *           against the file size before use; nothing is read past it.
 * Security: runs as mail_owner in qmgr, delivery agents and admin tools.
 * Errors:   -1 with err->code QFILE_INCOMPLETE (ends before END),
 *           QFILE_CORRUPT (not a prefix of any valid file) or QFILE_IOERR;
 *           messages name the offset.  Never aborts on file content.
 * See:      qfile.h, docs/queue-format.md, Postfix record.c, rec_type.h.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "qfile.h"
#include "xmem.h"

#define SEG_ENV 0x01
#define SEG_CONTENT 0x02
#define QFILE_SIZE_DIGITS 15
#define HDR_MAX (1 + QFILE_VARINT_MAX)

/* rec_segs - the segments in which each record type may appear. */
static const uint8_t rec_segs[256] = {
	[QREC_VERSION] = SEG_ENV, [QREC_TIME] = SEG_ENV, [QREC_SIZE] = SEG_ENV,
	[QREC_FLAGS] = SEG_ENV, [QREC_MSTAT] = SEG_ENV, [QREC_ENVID] = SEG_ENV,
	[QREC_SENDER] = SEG_ENV, [QREC_CLIENT_NAME] = SEG_ENV,
	[QREC_CLIENT_ADDR] = SEG_ENV, [QREC_CLIENT_PORT] = SEG_ENV,
	[QREC_HELO] = SEG_ENV, [QREC_PROTO] = SEG_ENV, [QREC_SASL_USER] = SEG_ENV,
	[QREC_ATTR] = SEG_ENV, [QREC_RCPT] = SEG_ENV, [QREC_MESSAGE] = SEG_ENV,
	[QREC_DATA] = SEG_CONTENT, [QREC_END] = SEG_CONTENT,
};

/* rec_many - record types that may appear more than once. */
static const bool rec_many[256] = {
	[QREC_ATTR] = true, [QREC_RCPT] = true, [QREC_DATA] = true,
};

/* struct qsrc - the bytes being parsed: in memory, or an fd read by pread
 * into win. */
struct qsrc {
	const uint8_t *mem;
	int fd;
	uint64_t size;
	struct buf win;
};

/* struct qparse - parser state. */
struct qparse {
	struct qsrc *src;
	struct qfile_env *env;
	struct err *err;
	int seg;
	bool seen[256];
	uint64_t content_seen;
	size_t rcpt_cap;
	size_t attr_cap;
};

/* corrupt / incomplete - fill err; return -1. */
#define corrupt(p, off, ...) rec_fail((p), QFILE_CORRUPT, (off), __VA_ARGS__)
#define incomplete(p, off, ...) rec_fail((p), QFILE_INCOMPLETE, (off), __VA_ARGS__)

ATTR_PRINTF(4, 5)
static int rec_fail(struct qparse *p, int code, uint64_t off, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set_code(p->err, code, "queue file offset %llu: %s",
			    (unsigned long long)off, msg);
}

/* src_get - the n bytes at off (the caller checked off + n <= size). */
static int src_get(struct qsrc *s, uint64_t off, size_t n, const uint8_t **p_r,
		   struct err *err)
{
	size_t done = 0;
	ssize_t r;
	char *p;

	if (s->mem != NULL) {
		*p_r = s->mem + off; /* UNSAFE: off + n <= size, checked by the caller */
		return 0;
	}
	buf_reset(&s->win);
	p = buf_reserve(&s->win, n);
	while (done < n) {
		r = pread(s->fd, p + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set_code(err, QFILE_IOERR, "queue file read: %s",
					    strerror(errno));
		if (r == 0)
			return err_set_code(err, QFILE_IOERR,
					    "queue file shrank while being read");
		done += (size_t)r;
	}
	*p_r = (const uint8_t *)p;
	return 0;
}

/* parse_dec - a decimal number of 1..20 digits without leading zeros
 * (when lead_ok is false) and not over max. */
static bool parse_dec(const uint8_t *d, size_t len, uint64_t max, bool lead_ok, uint64_t *v_r)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (!lead_ok && len > 1 && d[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (d[i] < '0' || d[i] > '9')
			return false;
		if (v > (max - (uint64_t)(d[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(d[i] - '0');
	}
	*v_r = v;
	return true;
}

/* dup_text - heap copy of a text field; false if it holds control bytes. */
static bool dup_text(const uint8_t *d, size_t len, char **s_r)
{
	if (!qfile_text_ok((const char *)d, len))
		return false;
	*s_r = xmemdup(d, len);
	return true;
}

/* get_str - the next (varint length, bytes) field of a recipient record. */
static bool get_str(const uint8_t *d, size_t len, size_t *pos, const uint8_t **s_r,
		    size_t *slen_r)
{
	uint32_t n;
	size_t used;

	if (qfile_get_varint(d + *pos, len - *pos, &n, &used) != 0)
		return false;
	*pos += used;
	if (n > len - *pos)
		return false;
	*s_r = d + *pos;
	*slen_r = n;
	*pos += n;
	return true;
}

/* rec_rcpt - decode a recipient record: status, notify, then address,
 * ORCPT type and ORCPT value, each a varint length and bytes. */
static int rec_rcpt(struct qparse *p, const uint8_t *d, size_t len, uint64_t doff)
{
	struct qfile_env *env = p->env;
	struct qfile_rcpt *r;
	const uint8_t *a, *t, *o;
	size_t alen, tlen, olen, pos = 2;

	if (env->rcpt_count >= QFILE_RCPT_MAX)
		return corrupt(p, doff, "more than %d recipients", QFILE_RCPT_MAX);
	if (len < 5 || (d[0] != QFILE_RCPT_PENDING && d[0] != QFILE_RCPT_DONE)
	    || !qfile_notify_ok(d[1]) || !get_str(d, len, &pos, &a, &alen)
	    || !get_str(d, len, &pos, &t, &tlen) || !get_str(d, len, &pos, &o, &olen)
	    || pos != len)
		return corrupt(p, doff, "malformed recipient record");
	if (alen == 0 || !qfile_text_ok((const char *)a, alen)
	    || !qfile_text_ok((const char *)o, olen) || (tlen == 0) != (olen == 0)
	    || (tlen != 0 && !qfile_orcpt_type_ok((const char *)t, tlen)))
		return corrupt(p, doff, "bad recipient address or ORCPT");
	if (env->rcpt_count == p->rcpt_cap) {
		p->rcpt_cap = p->rcpt_cap ? p->rcpt_cap * 2 : 8;
		env->rcpts = xreallocarray(env->rcpts, p->rcpt_cap, sizeof(*env->rcpts));
	}
	r = &env->rcpts[env->rcpt_count++];
	r->status = d[0];
	r->notify = d[1];
	r->status_offset = (off_t)doff;
	r->addr = xmemdup(a, alen);
	r->orcpt_type = xmemdup(t, tlen);
	r->orcpt = xmemdup(o, olen);
	if (r->status == QFILE_RCPT_PENDING)
		env->rcpt_pending++;
	return 0;
}

/* rec_attr - decode "name=value". */
static int rec_attr(struct qparse *p, const uint8_t *d, size_t len, uint64_t doff)
{
	struct qfile_env *env = p->env;
	const uint8_t *eq = memchr(d, '=', len);
	size_t nlen;

	if (env->attr_count >= QFILE_ATTR_MAX)
		return corrupt(p, doff, "more than %d attributes", QFILE_ATTR_MAX);
	if (eq == NULL || !qfile_text_ok((const char *)d, len))
		return corrupt(p, doff, "malformed attribute record");
	nlen = (size_t)(eq - d);
	if (!qfile_attr_name_ok((const char *)d, nlen))
		return corrupt(p, doff, "bad attribute name");
	if (env->attr_count == p->attr_cap) {
		p->attr_cap = p->attr_cap ? p->attr_cap * 2 : 8;
		env->attrs = xreallocarray(env->attrs, p->attr_cap, sizeof(*env->attrs));
	}
	env->attrs[env->attr_count].name = xmemdup(d, nlen);
	env->attrs[env->attr_count].value = xmemdup(eq + 1, len - nlen - 1);
	env->attr_count++;
	return 0;
}

/* rec_time - "SECONDS.UUUUUU". */
static bool rec_time(const uint8_t *d, size_t len, struct timeval *tv)
{
	const uint8_t *dot = memchr(d, '.', len);
	uint64_t s, us;

	if (dot == NULL || len - (size_t)(dot - d) != 7
	    || !parse_dec(d, (size_t)(dot - d), INT64_MAX, false, &s)
	    || !parse_dec(dot + 1, 6, 999999, true, &us))
		return false;
	tv->tv_sec = (time_t)s;
	tv->tv_usec = (suseconds_t)us;
	return true;
}

/* rec_env - decode one envelope record (type already allowed here). */
static int rec_env(struct qparse *p, int type, const uint8_t *d, size_t len, uint64_t doff)
{
	struct qfile_env *env = p->env;
	uint64_t v;
	char **field = NULL;

	switch (type) {
	case QREC_VERSION:
		if (!parse_dec(d, len, UINT32_MAX, false, &v) || v != QFILE_VERSION)
			return corrupt(p, doff, "unsupported queue file version");
		env->version = (unsigned int)v;
		return 0;
	case QREC_TIME:
		return rec_time(d, len, &env->arrival) ? 0 : corrupt(p, doff, "bad arrival time");
	case QREC_SIZE:
		if (len != QFILE_SIZE_DIGITS || !parse_dec(d, len, UINT64_MAX, true, &v))
			return corrupt(p, doff, "bad content size");
		env->content_size = v;
		return 0;
	case QREC_FLAGS:
		if (!parse_dec(d, len, UINT32_MAX, false, &v) || !qfile_flags_ok((unsigned int)v))
			return corrupt(p, doff, "bad message flags");
		env->flags = (unsigned int)v;
		return 0;
	case QREC_MSTAT:
		if (len != 1 || (d[0] & ~QFILE_MSTAT_ALL) != 0)
			return corrupt(p, doff, "bad message status byte");
		env->mstat = d[0];
		env->mstat_offset = (off_t)doff;
		return 0;
	case QREC_CLIENT_PORT:
		if (!parse_dec(d, len, 65535, false, &v) || v == 0)
			return corrupt(p, doff, "bad client port");
		env->client_port = (unsigned int)v;
		return 0;
	case QREC_ATTR:
		return rec_attr(p, d, len, doff);
	case QREC_RCPT:
		return rec_rcpt(p, d, len, doff);
	case QREC_MESSAGE:
		if (len != 0)
			return corrupt(p, doff, "message record with data");
		if (!p->seen[QREC_TIME] || !p->seen[QREC_SIZE] || !p->seen[QREC_FLAGS]
		    || !p->seen[QREC_MSTAT] || !p->seen[QREC_SENDER] || env->rcpt_count == 0)
			return corrupt(p, doff, "envelope lacks a required record");
		p->seg = SEG_CONTENT;
		env->content_offset = (off_t)doff;
		return 0;
	case QREC_ENVID: field = &env->envid; break;
	case QREC_SENDER: field = &env->sender; break;
	case QREC_CLIENT_NAME: field = &env->client_name; break;
	case QREC_CLIENT_ADDR: field = &env->client_addr; break;
	case QREC_HELO: field = &env->helo; break;
	case QREC_PROTO: field = &env->proto; break;
	case QREC_SASL_USER: field = &env->sasl_user; break;
	default:
		return corrupt(p, doff, "record type 0x%02x has no decoder", type);
	}
	if (!dup_text(d, len, field))
		return corrupt(p, doff, "control bytes in a text record");
	return 0;
}

/* seg_name - for messages. */
static const char *seg_name(int seg)
{
	return seg == SEG_ENV ? "envelope" : seg == SEG_CONTENT ? "content" : "end";
}

/* parse - walk every record of the file; 0 when it is complete and valid. */
static int parse(struct qsrc *src, struct qfile_env *env, struct err *err)
{
	struct qparse p = { .src = src, .env = env, .err = err, .seg = SEG_ENV };
	uint64_t off = 0, doff, avail;
	const uint8_t *h, *d;
	uint32_t len;
	size_t used, hn;
	int type, r;

	/* Bounded: every record is at least 2 bytes and off only grows. */
	while (off < src->size) {
		avail = src->size - off;
		hn = avail < HDR_MAX ? (size_t)avail : HDR_MAX;
		if (src_get(src, off, hn, &h, err) < 0)
			return -1;
		type = h[0];
		if (off == 0 && type != QREC_VERSION)
			return corrupt(&p, off, "first record is not the version record");
		if ((rec_segs[type] & p.seg) == 0)
			return corrupt(&p, off, "record type 0x%02x not allowed in the %s segment",
				       type, seg_name(p.seg));
		if (!rec_many[type] && p.seen[type])
			return corrupt(&p, off, "duplicate record of type '%c'", type);
		p.seen[type] = true;
		r = qfile_get_varint(h + 1, hn - 1, &len, &used);
		if (r < 0)
			return corrupt(&p, off, "bad record length");
		if (r > 0)
			return incomplete(&p, off, "file ends inside a record header");
		doff = off + 1 + used;
		if (len > src->size - doff)
			return incomplete(&p, off, "record runs past the end of the file");
		if (type == QREC_DATA) {
			if (len == 0 || len > env->content_size - p.content_seen)
				return corrupt(&p, off, "content record empty or over the size");
			p.content_seen += len;
		} else if (type == QREC_END) {
			if (len != 0 || p.content_seen != env->content_size)
				return corrupt(&p, off, "END record with data or short content");
			if (doff != src->size)
				return corrupt(&p, doff, "data after the END record");
			env->file_size = (off_t)doff;
			return 0;
		} else {
			if (src_get(src, doff, len, &d, err) < 0
			    || rec_env(&p, type, d, len, doff) < 0)
				return -1;
		}
		off = doff + len;
	}
	return incomplete(&p, off, "file ends before the END record");
}

void qfile_env_deinit(struct qfile_env *env)
{
	for (size_t i = 0; i < env->rcpt_count; i++) {
		xfree(&env->rcpts[i].addr);
		xfree(&env->rcpts[i].orcpt_type);
		xfree(&env->rcpts[i].orcpt);
	}
	for (size_t i = 0; i < env->attr_count; i++) {
		xfree(&env->attrs[i].name);
		xfree(&env->attrs[i].value);
	}
	xfree(&env->rcpts);
	xfree(&env->attrs);
	xfree(&env->envid);
	xfree(&env->sender);
	xfree(&env->client_name);
	xfree(&env->client_addr);
	xfree(&env->helo);
	xfree(&env->proto);
	xfree(&env->sasl_user);
	memset(env, 0, sizeof(*env));
}

/* parse_src - run the parser; leave env empty on failure. */
static int parse_src(struct qsrc *src, struct qfile_env *env_r, struct err *err)
{
	memset(env_r, 0, sizeof(*env_r));
	if (parse(src, env_r, err) < 0) {
		qfile_env_deinit(env_r);
		return -1;
	}
	return 0;
}

int qfile_parse(const void *data, size_t len, struct qfile_env *env_r, struct err *err)
{
	static const uint8_t empty[1];
	struct qsrc src = { .mem = len ? data : empty, .fd = -1, .size = len };

	return parse_src(&src, env_r, err);
}

int qfile_read_envelope(int fd, struct qfile_env *env_r, struct err *err)
{
	struct qsrc src = { .mem = NULL, .fd = fd };
	struct stat st;
	int rc;

	memset(env_r, 0, sizeof(*env_r));
	if (fstat(fd, &st) < 0)
		return err_set_code(err, QFILE_IOERR, "queue file fstat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set_code(err, QFILE_CORRUPT, "queue file is not a regular file");
	src.size = (uint64_t)st.st_size;
	buf_init(&src.win, 0);
	rc = parse_src(&src, env_r, err);
	buf_deinit(&src.win);
	return rc;
}

int qfile_verify(const char *path, struct err *err)
{
	struct qfile_env env;
	int fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_set_code(err, QFILE_IOERR, "open %s: %s", path, strerror(errno));
	rc = qfile_read_envelope(fd, &env, err);
	qfile_env_deinit(&env);
	close(fd);
	return rc;
}

struct qfile_content_reader {
	int fd;
	uint64_t off;       /* next record */
	uint64_t remaining; /* content bytes still expected */
	bool done;
};

struct qfile_content_reader *qfile_content_reader_new(int fd, const struct qfile_env *env)
{
	struct qfile_content_reader *r = xcalloc(1, sizeof(*r));

	r->fd = fd;
	r->off = (uint64_t)env->content_offset;
	r->remaining = env->content_size;
	return r;
}

void qfile_content_reader_free(struct qfile_content_reader **rp)
{
	xfree(rp);
}

/* pread_full - read exactly n bytes at off; -1 with err otherwise. */
static int pread_full(int fd, void *p, size_t n, uint64_t off, struct err *err)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pread(fd, (char *)p + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return err_set_code(err, QFILE_IOERR, "queue file content read: %s",
					    r < 0 ? strerror(errno) : "unexpected end of file");
		done += (size_t)r;
	}
	return 0;
}

int qfile_content_read(struct qfile_content_reader *r, struct buf *out, struct err *err)
{
	uint8_t h[HDR_MAX];
	uint32_t len;
	size_t used;
	ssize_t n;
	char *p;

	buf_reset(out);
	if (r->done)
		return 0;
	do
		n = pread(r->fd, h, sizeof(h), (off_t)r->off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_set_code(err, QFILE_IOERR, "queue file content read: %s",
				    strerror(errno));
	if (n < 2 || qfile_get_varint(h + 1, (size_t)n - 1, &len, &used) != 0)
		return err_set_code(err, QFILE_CORRUPT, "queue file offset %llu: bad content record",
				    (unsigned long long)r->off);
	if (h[0] == QREC_END && len == 0 && r->remaining == 0) {
		r->done = true;
		return 0;
	}
	if (h[0] != QREC_DATA || len == 0 || len > r->remaining)
		return err_set_code(err, QFILE_CORRUPT, "queue file offset %llu: bad content record",
				    (unsigned long long)r->off);
	p = buf_reserve(out, len);
	if (p == NULL)
		return err_set_code(err, QFILE_IOERR, "content chunk does not fit the buffer");
	if (pread_full(r->fd, p, len, r->off + 1 + used, err) < 0)
		return -1;
	buf_commit(out, len);
	r->off += 1 + used + len;
	r->remaining -= len;
	return 1;
}
