/*
 * local_deliver.c - the final steps of local delivery: read the message
 * content, find its Delivered-To headers (loop detection), build the
 * Maildir path of a user, deliver into the Maildir, append to an mbox file.
 * Touches:  the queue file (read only, through lib/qfile), the Maildirs
 *           under $virtual_mailbox_base (created on first delivery), and
 *           /file targets the alias database names (O_APPEND, O_NOFOLLOW,
 *           fcntl lock).
 * Security: runs as the mail owner, the owner of every virtual mailbox;
 *           the domain and local part become path components only after
 *           safefile_component_ok, lower-cased; no symlink is followed.
 * Errors:   every outcome is a struct local_result (sent, deferred or
 *           bounced with an enhanced status code); I/O errors defer.
 * See:      docs/local.md, docs/store-format.md.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cfg.h"
#include "err.h"
#include "local/local.h"
#include "log.h"
#include "maildir.h"
#include "proto.h"
#include "qfile.h"
#include "safefile.h"
#include "str.h"
#include "xmem.h"

/* LOCAL_HEADER_MAX - header bytes scanned for Delivered-To. */
#define LOCAL_HEADER_MAX (1024 * 1024)
/* LOCAL_LOCK_TRIES - seconds to wait for an mbox file lock. */
#define LOCAL_LOCK_TRIES 30

void local_set_result(struct local_result *r, int result, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	r->result = result;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	buf_reset(&r->text);
	va_start(ap, fmt);
	buf_vprintf(&r->text, fmt, ap);
	va_end(ap);
}

int local_content_open(struct local_content *c, const struct local_msg *msg)
{
	c->reader = qfile_content_reader_new(msg->fd, msg->env);
	return 0;
}

void local_content_close(struct local_content *c)
{
	qfile_content_reader_free(&c->reader);
}

int local_content_next(void *ctx, struct buf *chunk_r, struct err *err)
{
	struct local_content *c = ctx;

	return qfile_content_read(c->reader, chunk_r, err);
}

/* add_delivered_to - one header field "Delivered-To: value" (unfolded). */
static void add_delivered_to(struct local_msg *msg, const char *field, size_t len)
{
	struct buf v = BUF_INIT;
	char *s;

	buf_add(&v, field, len);
	s = str_trim(v.data + 13); /* after "Delivered-To:" */
	msg->delivered_to =
		xreallocarray(msg->delivered_to, msg->n_delivered_to + 2, sizeof(char *));
	msg->delivered_to[msg->n_delivered_to++] = str_lower(xstrdup(s));
	msg->delivered_to[msg->n_delivered_to] = NULL;
	buf_deinit(&v);
}

int local_delivered_to_scan(struct local_msg *msg, struct err *err)
{
	struct local_content c;
	struct buf chunk = BUF_INIT, head = BUF_INIT;
	const char *end = NULL;
	int more = 1;

	local_content_open(&c, msg);
	while (end == NULL && head.len < LOCAL_HEADER_MAX &&
	       (more = local_content_next(&c, &chunk, err)) > 0) {
		buf_add(&head, chunk.data, chunk.len);
		if (head.len > 0 && head.data[0] == '\n')
			end = head.data;
		else
			end = strstr(head.data, "\n\n");
	}
	local_content_close(&c);
	buf_deinit(&chunk);
	if (more < 0) {
		buf_deinit(&head);
		return -1;
	}
	if (end == NULL)
		end = head.data != NULL ? head.data + head.len : NULL;
	/* unfold: each field starts at a line start not beginning with blank */
	for (const char *p = head.data; p != NULL && p < end;) {
		const char *q = p;

		while (q < end) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));

			q = nl != NULL ? nl + 1 : end;
			if (q >= end || (*q != ' ' && *q != '\t'))
				break;
		}
		if ((size_t)(q - p) > 13 && strncasecmp(p, "Delivered-To:", 13) == 0) {
			struct buf f = BUF_INIT;

			for (const char *s = p; s < q; s++)
				if (*s != '\n' && *s != '\r')
					buf_addc(&f, *s);
			add_delivered_to(msg, f.data, f.len);
			buf_deinit(&f);
		}
		p = q;
	}
	buf_deinit(&head);
	return 0;
}

bool local_delivered_to_has(const struct local_msg *msg, const char *addr)
{
	for (size_t i = 0; i < msg->n_delivered_to; i++)
		if (strcasecmp(msg->delivered_to[i], addr) == 0)
			return true;
	return false;
}

void local_msg_deinit(struct local_msg *msg)
{
	for (size_t i = 0; i < msg->n_delivered_to; i++)
		free(msg->delivered_to[i]);
	xfree(&msg->delivered_to);
	msg->n_delivered_to = 0;
}

int local_mailbox_path(const char *base, const char *addr, struct buf *path_r, struct err *err)
{
	struct addr_parts parts;
	struct buf local = BUF_INIT, domain = BUF_INIT;
	int rc = 0;

	addr_split(addr, strlen(addr), &parts);
	addr_local_unquote(parts.local, parts.local_len, &local);
	buf_add(&domain, parts.domain, parts.domain_len);
	str_lower(local.data != NULL ? local.data : (char *)"");
	if (domain.data != NULL)
		str_lower(domain.data);
	if (!safefile_component_ok(buf_cstr(&domain)) || !safefile_component_ok(buf_cstr(&local))) {
		rc = err_set(err, "unsafe mailbox name for %s", addr);
	} else {
		buf_reset(path_r);
		buf_printf(path_r, "%s/%s/%s", base, buf_cstr(&domain), buf_cstr(&local));
	}
	buf_deinit(&local);
	buf_deinit(&domain);
	return rc;
}

/* header_prefix - "Return-Path: <sender>\nDelivered-To: rcpt\n". */
static void header_prefix(struct buf *out, const char *sender, const char *rcpt)
{
	buf_reset(out);
	buf_printf(out, "Return-Path: <%s>\nDelivered-To: %s\n", sender, rcpt);
}

void local_deliver_maildir(struct cfg *cfg, const struct local_msg *msg, const char *addr,
			   const char *sender, struct local_result *r)
{
	const char *base = cfg_get(cfg, "virtual_mailbox_base");
	struct buf path = BUF_INIT, dom = BUF_INIT, prefix = BUF_INIT, name = BUF_INIT;
	struct local_content c;
	struct err err;
	char *slash;

	if (local_delivered_to_has(msg, addr)) {
		local_set_result(r, DELIVER_BOUNCE, "5.4.6", "mail forwarding loop for %s", addr);
		goto out;
	}
	if (local_mailbox_path(base, addr, &path, &err) < 0) {
		local_set_result(r, DELIVER_BOUNCE, "5.1.3", "%s", err.msg);
		goto out;
	}
	/* BASE and BASE/domain first (BASE is normally made by tern init) */
	buf_sets(&dom, buf_cstr(&path));
	slash = strrchr(dom.data, '/');
	*slash = '\0';
	if ((access(base, F_OK) < 0 &&
	     safefile_mkdir(base, 0700, (uid_t)-1, (gid_t)-1, &err) < 0) ||
	    safefile_mkdir(dom.data, 0700, (uid_t)-1, (gid_t)-1, &err) < 0 ||
	    maildir_create(buf_cstr(&path), (uid_t)-1, (gid_t)-1, &err) < 0) {
		local_set_result(r, DELIVER_DEFER, "4.2.0", "cannot create maildir: %s", err.msg);
		goto out;
	}
	header_prefix(&prefix, sender, addr);
	local_content_open(&c, msg);
	if (maildir_deliver(buf_cstr(&path), prefix.data, prefix.len, local_content_next, &c, &name,
			    &err) < 0)
		local_set_result(r, DELIVER_DEFER, "4.2.0", "maildir delivery failed: %s", err.msg);
	else
		local_set_result(r, DELIVER_OK, "2.0.0", "delivered to maildir");
	local_content_close(&c);
out:
	buf_deinit(&path);
	buf_deinit(&dom);
	buf_deinit(&prefix);
	buf_deinit(&name);
}

/* write_full - write all n bytes or fail. */
static int write_full(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* mbox_quote - append chunk to out with ">From " quoting (mboxrd: a line
 * matching ^>*From  gets one more '>').  *collecting is true while the
 * bytes of a line start in pending may still turn out to be such a prefix;
 * both carry over between chunks. */
static void mbox_quote(struct buf *out, struct buf *pending, bool *collecting, const char *p,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		size_t k = 0, rlen;

		if (!*collecting) {
			buf_addc(out, ch);
			*collecting = ch == '\n';
			continue;
		}
		buf_addc(pending, ch);
		while (k < pending->len && pending->data[k] == '>')
			k++;
		rlen = pending->len - k;
		if (rlen < 5 && ch != '\n' && strncmp(pending->data + k, "From ", rlen) == 0)
			continue;
		if (rlen == 5 && strncmp(pending->data + k, "From ", 5) == 0)
			buf_addc(out, '>');
		buf_add(out, pending->data, pending->len);
		buf_reset(pending);
		*collecting = ch == '\n';
	}
}

/* lock_file - fcntl write lock, retried for LOCAL_LOCK_TRIES seconds. */
static int lock_file(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	for (int i = 0; i < LOCAL_LOCK_TRIES * 10; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES)
			return -1;
		usleep(100000);
	}
	errno = EAGAIN;
	return -1;
}

void local_deliver_file(const struct local_msg *msg, const char *path, const char *rcpt,
			const char *sender, struct local_result *r)
{
	struct buf out = BUF_INIT, pending = BUF_INIT, chunk = BUF_INIT;
	struct local_content c;
	struct stat st;
	struct err err;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	bool bol = true, last_nl = true;
	int fd, more;
	off_t start;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		local_set_result(r, errno == ELOOP ? DELIVER_BOUNCE : DELIVER_DEFER,
				 errno == ELOOP ? "5.2.0" : "4.2.0", "cannot open file %s: %s",
				 path, errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		local_set_result(r, DELIVER_BOUNCE, "5.2.0",
				 "cannot deliver to %s: not a regular file", path);
		close(fd);
		return;
	}
	if (lock_file(fd) < 0) {
		local_set_result(r, DELIVER_DEFER, "4.2.0", "cannot lock %s: %s", path,
				 strerror(errno));
		close(fd);
		return;
	}
	start = lseek(fd, 0, SEEK_END);
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	buf_printf(&out, "From %s %s\n", *sender != '\0' ? sender : "MAILER-DAEMON", date);
	header_prefix(&chunk, sender, rcpt);
	mbox_quote(&out, &pending, &bol, chunk.data, chunk.len);
	local_content_open(&c, msg);
	more = 1;
	while (more > 0) {
		if (out.len > 0 && write_full(fd, out.data, out.len) < 0)
			break;
		buf_reset(&out);
		more = local_content_next(&c, &chunk, &err);
		if (more > 0) {
			mbox_quote(&out, &pending, &bol, chunk.data, chunk.len);
			last_nl = chunk.data[chunk.len - 1] == '\n';
		}
	}
	local_content_close(&c);
	if (more == 0) {
		buf_add(&out, pending.data, pending.len);
		buf_adds(&out, last_nl ? "\n" : "\n\n");
		if (write_full(fd, out.data, out.len) == 0 && fsync(fd) == 0) {
			local_set_result(r, DELIVER_OK, "2.0.0", "delivered to file: %s", path);
			goto out;
		}
	}
	local_set_result(r, DELIVER_DEFER, "4.2.0", "cannot append to %s: %s", path,
			 more < 0 ? err.msg : strerror(errno));
	if (start >= 0 && ftruncate(fd, start) < 0)
		log_warn("%s: cannot remove a partial entry: %s", path, strerror(errno));
out:
	close(fd);
	buf_deinit(&out);
	buf_deinit(&pending);
	buf_deinit(&chunk);
}
