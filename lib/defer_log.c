/*
 * defer_log.c - append and read per-message delivery status logs
 * (queue/defer/ID, queue/bounce/ID); format in defer_log.h.
 * Touches:  one log file per call, opened relative to the caller's dirfd
 *           without following symlinks.
 * Input:    entries carry remote text (SMTP replies): every value is
 *           %XX-encoded so it cannot break the line structure; the reader
 *           treats the file as untrusted and skips what it cannot parse.
 * Security: runs as mail_owner in qmgr and the delivery agents.
 * Errors:   -1 with err (code = errno for I/O, 0 for a bad entry); a
 *           malformed or cut line is skipped, never fatal.
 * See:      docs/queue-format.md, Postfix bounce_log.c.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "defer_log.h"
#include "err.h"
#include "safefile.h"
#include "xmem.h"

#define DEFER_LOG_MAGIC "tern1"

static const char *const actions[] = {
	"failed", "delayed", "delivered", "relayed", "expanded",
};

/* status_ok - an enhanced status code: [245].N{1,3}.N{1,3}. */
static bool status_ok(const char *s)
{
	size_t n;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	s += 2;
	for (int part = 0; part < 2; part++) {
		for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
			;
		if (n == 0 || n > 3)
			return false;
		s += n;
		if (part == 0 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

/* action_ok - one of the RFC 3464 actions. */
static bool action_ok(const char *s)
{
	for (size_t i = 0; s != NULL && i < N_ELEMENTS(actions); i++)
		if (strcmp(s, actions[i]) == 0)
			return true;
	return false;
}

/* put_value - " name=" and value %XX-encoded, at most max raw bytes (cut
 * back to a UTF-8 character boundary). */
static void put_value(struct buf *out, const char *name, const char *v, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = v ? strlen(v) : 0;

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)v[len] & 0xc0) == 0x80)
			len--;
	}
	buf_printf(out, " %s=", name);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= 0x20 || c == 0x7f || c == '%') {
			buf_addc(out, '%');
			buf_addc(out, hex[c >> 4]);
			buf_addc(out, hex[c & 0xf]);
		} else {
			buf_addc(out, (char)c);
		}
	}
}

int defer_log_format(struct buf *out, const struct defer_log_entry *e, struct err *err)
{
	if (e->rcpt == NULL || e->rcpt[0] == '\0' || strlen(e->rcpt) > DEFER_LOG_ADDR_MAX
	    || (e->orcpt != NULL && strlen(e->orcpt) > DEFER_LOG_ADDR_MAX))
		return err_set(err, "defer log: missing or over-long recipient");
	if (!status_ok(e->status))
		return err_set(err, "defer log: bad status code");
	if (!action_ok(e->action))
		return err_set(err, "defer log: bad action");
	buf_printf(out, DEFER_LOG_MAGIC " time=%lld", (long long)e->time);
	if (e->rcpt_offset >= 0)
		buf_printf(out, " off=%lld", e->rcpt_offset);
	put_value(out, "rcpt", e->rcpt, DEFER_LOG_ADDR_MAX);
	put_value(out, "orcpt", e->orcpt, DEFER_LOG_ADDR_MAX);
	put_value(out, "status", e->status, 16);
	put_value(out, "action", e->action, 16);
	put_value(out, "mta", e->mta, 256);
	put_value(out, "diag", e->diag, DEFER_LOG_TEXT_MAX);
	put_value(out, "reason", e->reason, DEFER_LOG_TEXT_MAX);
	buf_addc(out, '\n');
	return 0;
}

int defer_log_append(int dirfd, const char *name, const struct defer_log_entry *e,
		     struct err *err)
{
	struct buf line = BUF_INIT;
	struct stat st;
	char last = '\n';
	ssize_t n;
	int fd, rc = -1;

	buf_addc(&line, '\n');
	if (defer_log_format(&line, e, err) < 0)
		goto out;
	fd = openat(dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set_code(err, errno, "open %s: %s", name, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set_code(err, errno, "%s: not a regular file", name);
		goto out_close;
	}
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
		last = '\n';
	/* Skip the leading newline unless a cut entry needs closing. */
	{
		const char *p = line.data + (last == '\n');
		size_t len = line.len - (last == '\n');

		do
			n = write(fd, p, len);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)len) {
			err_set_code(err, n < 0 ? errno : EIO, "write %s: %s", name,
				     n < 0 ? strerror(errno) : "short write");
			goto out_close;
		}
	}
	if (fdatasync(fd) < 0) {
		err_set_code(err, errno, "fdatasync %s: %s", name, strerror(errno));
		goto out_close;
	}
	rc = 0;
out_close:
	close(fd);
out:
	buf_deinit(&line);
	return rc;
}

/* hexval - value of a hex digit, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* decode - %XX-decode s (len bytes) in place and NUL-terminate it there;
 * false on a bad escape or an encoded NUL. */
static bool decode(char *s, size_t len)
{
	size_t i = 0, o = 0;
	int hi, lo;

	while (i < len) {
		if (s[i] != '%') {
			s[o++] = s[i++];
			continue;
		}
		if (len - i < 3 || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0
		    || (hi | lo) == 0)
			return false;
		s[o++] = (char)(hi << 4 | lo);
		i += 3;
	}
	s[o] = '\0';
	return true;
}

/* parse_num - a decimal number, optionally negative; false otherwise. */
static bool parse_num(const char *s, long long *v_r)
{
	char *end;

	if (*s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	*v_r = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* parse_line - fill e from one line (len bytes, no newline), in place. */
static bool parse_line(char *line, size_t len, struct defer_log_entry *e)
{
	char *p = line, *end = line + len, *tok, *eq;
	long long v;
	bool have_time = false;

	memset(e, 0, sizeof(*e));
	e->rcpt_offset = -1;
	e->orcpt = e->mta = e->diag = e->reason = "";
	if (len < sizeof(DEFER_LOG_MAGIC) || memcmp(line, DEFER_LOG_MAGIC " ", 6) != 0)
		return false;
	p += 6;
	while (p < end) {
		tok = p;
		/* UNSAFE: memchr is bounded by end; a missing space ends at end. */
		p = memchr(tok, ' ', (size_t)(end - tok));
		if (p == NULL)
			p = end;
		eq = memchr(tok, '=', (size_t)(p - tok));
		if (eq == NULL || !decode(eq + 1, (size_t)(p - eq - 1)))
			return false;
		*eq = '\0';
		p++;
		if (strcmp(tok, "time") == 0) {
			if (!parse_num(eq + 1, &v) || v < 0)
				return false;
			e->time = (time_t)v;
			have_time = true;
		} else if (strcmp(tok, "off") == 0) {
			if (!parse_num(eq + 1, &v))
				return false;
			e->rcpt_offset = v;
		} else if (strcmp(tok, "rcpt") == 0) {
			e->rcpt = eq + 1;
		} else if (strcmp(tok, "orcpt") == 0) {
			e->orcpt = eq + 1;
		} else if (strcmp(tok, "status") == 0) {
			e->status = eq + 1;
		} else if (strcmp(tok, "action") == 0) {
			e->action = eq + 1;
		} else if (strcmp(tok, "mta") == 0) {
			e->mta = eq + 1;
		} else if (strcmp(tok, "diag") == 0) {
			e->diag = eq + 1;
		} else if (strcmp(tok, "reason") == 0) {
			e->reason = eq + 1;
		}
	}
	return have_time && e->rcpt != NULL && e->rcpt[0] != '\0' && status_ok(e->status)
	       && action_ok(e->action);
}

int defer_log_append_queue(const char *queue_dir, const char *logdir, const char *qid,
			   const struct defer_log_entry *e, struct err *err)
{
	struct buf path = BUF_INIT;
	int fd, rc = -1;

	buf_printf(&path, "%s/%s", queue_dir, logdir);
	if (access(buf_cstr(&path), F_OK) < 0 &&
	    safefile_mkdir(buf_cstr(&path), 0700, (uid_t)-1, (gid_t)-1, err) < 0)
		goto out;
	fd = open(buf_cstr(&path), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err_set_code(err, errno, "open %s: %s", buf_cstr(&path), strerror(errno));
		goto out;
	}
	rc = defer_log_append(fd, qid, e, err);
	close(fd);
out:
	buf_deinit(&path);
	return rc;
}

void defer_log_parse(const char *data, size_t len, struct defer_log *log_r)
{
	size_t cap = 0, pos = 0, n;
	char *nl;

	memset(log_r, 0, sizeof(*log_r));
	log_r->data = xmemdup(data, len);
	while (pos < len) {
		/* UNSAFE: memchr is bounded by len - pos. */
		nl = memchr(log_r->data + pos, '\n', len - pos);
		if (nl == NULL)
			break; /* a cut last entry */
		n = (size_t)(nl - (log_r->data + pos));
		if (n == 0) {
			pos++;
			continue;
		}
		if (log_r->count == cap) {
			cap = cap ? cap * 2 : 16;
			log_r->entries = xreallocarray(log_r->entries, cap, sizeof(*log_r->entries));
		}
		*nl = '\0';
		if (n <= DEFER_LOG_LINE_MAX
		    && parse_line(log_r->data + pos, n, &log_r->entries[log_r->count]))
			log_r->count++;
		else
			log_r->skipped++;
		pos += n + 1;
	}
}

int defer_log_read(int dirfd, const char *name, struct defer_log *log_r, struct err *err)
{
	struct buf b = BUF_INIT;
	struct stat st;
	ssize_t n;
	int fd;
	char *p;

	memset(log_r, 0, sizeof(*log_r));
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set_code(err, errno, "open %s: %s", name, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DEFER_LOG_FILE_MAX) {
		close(fd);
		return err_set_code(err, EFBIG, "%s: not a regular file or too large", name);
	}
	for (;;) {
		if (b.len >= DEFER_LOG_FILE_MAX) {
			close(fd);
			buf_deinit(&b);
			return err_set_code(err, EFBIG, "%s: too large", name);
		}
		p = buf_reserve(&b, 65536);
		n = read(fd, p, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_commit(&b, (size_t)n);
	}
	close(fd);
	if (n < 0) {
		buf_deinit(&b);
		return err_set_code(err, errno, "read %s: %s", name, strerror(errno));
	}
	defer_log_parse(b.data ? b.data : "", b.len, log_r);
	buf_deinit(&b);
	return 0;
}

void defer_log_deinit(struct defer_log *log)
{
	xfree(&log->entries);
	xfree(&log->data);
	memset(log, 0, sizeof(*log));
}

const struct defer_log_entry *defer_log_last(const struct defer_log *log, const char *rcpt)
{
	for (size_t i = log->count; i > 0; i--)
		if (strcmp(log->entries[i - 1].rcpt, rcpt) == 0)
			return &log->entries[i - 1];
	return NULL;
}

int defer_log_remove(int dirfd, const char *name, struct err *err)
{
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return err_set_code(err, errno, "remove %s: %s", name, strerror(errno));
	return 0;
}
