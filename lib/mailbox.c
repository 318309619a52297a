/*
 * mailbox.c - Maildir read access for pop3d and imapd (see mailbox.h).
 * Touches:  one Maildir: reads new/ and cur/, opens message files, unlinks
 *           and renames them, creates and flocks tern-NAME.lock in it.
 * Input:    file names in the Maildir are untrusted (other programs write
 *           there too): they are parsed with bounds, never used to build a
 *           path outside new/ and cur/, and every access is relative to
 *           directory descriptors opened with O_NOFOLLOW.
 * Security: runs as the mailbox owner, after login; a symlink, FIFO or
 *           directory among the messages is skipped, never followed.
 * Errors:   -1 with err naming the path and errno; a message that vanished
 *           (another session deleted it) is ENOENT, which callers report
 *           as such and go on.
 * See:      docs/store-format.md, docs/pop3d.md.
 */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "err.h"
#include "mailbox.h"
#include "xmem.h"

/* MAILBOX_READ_CHUNK - bytes read at a time when counting a file. */
#define MAILBOX_READ_CHUNK 65536

static const char *const sub_names[2] = {"new", "cur"};

int mailbox_open(const char *path, struct mailbox **mb_r, struct err *err)
{
	struct mailbox *mb;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return err_set_code(err, errno, "open %s: %s", path, strerror(errno));
	for (size_t i = 0; i < 2; i++) {
		int sub = openat(fd, sub_names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sub < 0) {
			int e = errno;

			close(fd);
			return err_set_code(err, e, "open %s/%s: %s", path, sub_names[i],
					    strerror(e));
		}
		close(sub);
	}
	mb = xcalloc(1, sizeof(*mb));
	mb->path = xstrdup(path);
	mb->dir_fd = fd;
	mb->lock_fd = -1;
	*mb_r = mb;
	return 0;
}

/* msgs_clear - free the message list. */
static void msgs_clear(struct mailbox *mb)
{
	for (size_t i = 0; i < mb->count; i++) {
		free(mb->msgs[i].name);
		free(mb->msgs[i].base);
		free(mb->msgs[i].uidl);
		free(mb->msgs[i].flags);
	}
	xfree(&mb->msgs);
	mb->count = 0;
}

void mailbox_free(struct mailbox **mbp)
{
	struct mailbox *mb = *mbp;

	if (mb == NULL)
		return;
	msgs_clear(mb);
	if (mb->lock_fd >= 0)
		close(mb->lock_fd);
	if (mb->dir_fd >= 0)
		close(mb->dir_fd);
	free(mb->path);
	free(mb);
	*mbp = NULL;
}

int mailbox_lock(struct mailbox *mb, const char *name, struct err *err)
{
	struct buf file = BUF_INIT;
	struct stat st;
	int fd;

	if (mb->lock_fd >= 0)
		return 0;
	buf_printf(&file, "tern-%s.lock", name);
	fd = openat(mb->dir_fd, buf_cstr(&file), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;

		if (fd >= 0)
			close(fd);
		err_set_code(err, e, "lock %s/%s: %s", mb->path, buf_cstr(&file), strerror(e));
		buf_deinit(&file);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno == EWOULDBLOCK ? EWOULDBLOCK : errno;

		close(fd);
		err_set_code(err, e, "lock %s/%s: %s", mb->path, buf_cstr(&file),
			     e == EWOULDBLOCK ? "held by another session" : strerror(e));
		buf_deinit(&file);
		return -1;
	}
	buf_deinit(&file);
	mb->lock_fd = fd;
	return 0;
}

/* parse_num - the decimal digits at s up to end or ','; UINT64_MAX when
 * there are none, or on overflow or another byte. */
static uint64_t parse_num(const char *s, const char *end)
{
	uint64_t v = 0;
	const char *p = s;

	for (; p < end && *p != ','; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 10) / 10)
			return UINT64_MAX;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return p == s ? UINT64_MAX : v;
}

int mailbox_name_parse(const char *name, struct buf *base_r, uint64_t *size_r, uint64_t *vsize_r,
		       struct buf *flags_r)
{
	const char *info = strchr(name, ':');
	const char *end = info != NULL ? info : name + strlen(name);
	size_t blen = strcspn(name, ",:");

	*size_r = *vsize_r = UINT64_MAX;
	if (flags_r != NULL)
		buf_reset(flags_r);
	if (blen == 0)
		return -1;
	buf_set(base_r, name, blen);
	/* UNSAFE: p stays within [name + blen, end), end is the ':' or NUL */
	for (const char *p = name + blen; p < end; p++) {
		if (*p != ',' || end - p < 3 || p[2] != '=')
			continue;
		if (p[1] == 'S')
			*size_r = parse_num(p + 3, end);
		else if (p[1] == 'W')
			*vsize_r = parse_num(p + 3, end);
	}
	if (flags_r != NULL && info != NULL && strncmp(info, ":2,", 3) == 0) {
		for (const char *f = info + 3; *f != '\0'; f++)
			if ((*f >= 'A' && *f <= 'Z') || (*f >= 'a' && *f <= 'z'))
				buf_addc(flags_r, *f);
	}
	return 0;
}

void mailbox_uidl(const char *base, struct buf *out)
{
	size_t len = strlen(base);
	bool ok = len >= 1 && len <= MAILBOX_UIDL_MAX;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)base[i] >= 0x21 && (unsigned char)base[i] <= 0x7e;
	if (ok) {
		buf_sets(out, base);
		return;
	}
	if (EVP_Digest(base, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		mdlen = 0;
	buf_sets(out, "H");
	for (unsigned int i = 0; i < mdlen; i++)
		buf_printf(out, "%02x", md[i]);
}

void mailbox_crlf_init(struct mailbox_crlf *c, bool dot_stuff)
{
	c->dot_stuff = dot_stuff;
	c->bol = true;
	c->cr = false;
	c->out = 0;
}

void mailbox_crlf_add(struct mailbox_crlf *c, const void *data, size_t n, struct buf *out)
{
	const unsigned char *p = data;
	size_t run = 0; /* bytes of p[start..i) to copy unchanged */
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = p[i];

		if (c->bol && c->dot_stuff && ch == '.') {
			if (out != NULL) {
				buf_add(out, p + start, run);
				buf_addc(out, '.');
			}
			c->out += run + 1;
			start = i;
			run = 0;
		}
		if (ch == '\n' && !c->cr) {
			if (out != NULL) {
				buf_add(out, p + start, run);
				buf_addc(out, '\r');
			}
			c->out += run + 1;
			start = i;
			run = 0;
		}
		run++;
		c->cr = ch == '\r';
		c->bol = ch == '\n';
	}
	if (out != NULL)
		buf_add(out, p + start, run);
	c->out += run;
}

void mailbox_crlf_end(struct mailbox_crlf *c, struct buf *out)
{
	if (c->bol)
		return;
	mailbox_crlf_add(c, c->cr ? "\n" : "\r\n", c->cr ? 1 : 2, out);
}

int mailbox_vsize_fd(int fd, uint64_t *vsize_r, struct err *err)
{
	struct mailbox_crlf c;
	char *chunk = xmalloc(MAILBOX_READ_CHUNK);
	ssize_t n;

	mailbox_crlf_init(&c, false);
	while ((n = read(fd, chunk, MAILBOX_READ_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(chunk);
			return err_set_code(err, errno, "read: %s", strerror(errno));
		}
		mailbox_crlf_add(&c, chunk, (size_t)n, NULL);
	}
	mailbox_crlf_end(&c, NULL);
	free(chunk);
	*vsize_r = c.out;
	return 0;
}

/* open_msg_file - open sub/name relative to the Maildir, refusing links
 * and non-regular files; st_r gets its stat. */
static int open_msg_file(struct mailbox *mb, int sub_fd, const char *name, struct stat *st_r)
{
	int fd = openat(sub_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, st_r) < 0 || !S_ISREG(st_r->st_mode)) {
		close(fd);
		errno = ELOOP;
		return -1;
	}
	return fd;
}

/* msg_fill - one directory entry into m; false when it is to be skipped. */
static bool msg_fill(struct mailbox *mb, int sub_fd, const char *name, bool in_new,
		     struct mailbox_msg *m)
{
	struct buf base = BUF_INIT, flags = BUF_INIT, uidl = BUF_INIT;
	uint64_t size, vsize;
	struct stat st;
	struct err err;

	if (fstatat(sub_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    mailbox_name_parse(name, &base, &size, &vsize, &flags) < 0) {
		buf_deinit(&base);
		buf_deinit(&flags);
		return false;
	}
	if (size != (uint64_t)st.st_size || vsize == UINT64_MAX || vsize < size) {
		int fd = open_msg_file(mb, sub_fd, name, &st);

		if (fd < 0 || mailbox_vsize_fd(fd, &vsize, &err) < 0) {
			if (fd >= 0)
				close(fd);
			buf_deinit(&base);
			buf_deinit(&flags);
			return false;
		}
		close(fd);
	}
	mailbox_uidl(buf_cstr(&base), &uidl);
	m->name = xstrdup(name);
	m->base = buf_steal(&base);
	m->uidl = buf_steal(&uidl);
	m->flags = xstrdup(buf_cstr(&flags));
	m->size = (uint64_t)st.st_size;
	m->vsize = vsize;
	m->mtime = st.st_mtime;
	m->in_new = in_new;
	buf_deinit(&flags);
	return true;
}

/* name_key - the delivery time in a Maildir name "SECS.M<usec>..." as
 * (secs, usec); names of another shape sort by mtime and name. */
static void name_key(const struct mailbox_msg *m, uint64_t *secs_r, uint64_t *usec_r)
{
	const char *dot = strchr(m->base, '.');

	*secs_r = (uint64_t)m->mtime;
	*usec_r = 0;
	if (dot == NULL)
		return;
	uint64_t s = parse_num(m->base, dot);
	if (s == UINT64_MAX)
		return;
	*secs_r = s;
	if (dot[1] == 'M') {
		const char *e = dot + 2;

		while (*e >= '0' && *e <= '9')
			e++;
		uint64_t u = parse_num(dot + 2, e);
		*usec_r = u == UINT64_MAX ? 0 : u;
	}
}

/* msg_cmp - delivery order: time in the name, then the base name. */
static int msg_cmp(const void *a, const void *b)
{
	const struct mailbox_msg *x = a, *y = b;
	uint64_t xs, xu, ys, yu;

	name_key(x, &xs, &xu);
	name_key(y, &ys, &yu);
	if (xs != ys)
		return xs < ys ? -1 : 1;
	if (xu != yu)
		return xu < yu ? -1 : 1;
	return strcmp(x->base, y->base);
}

/* move_new - rename every new/NAME to cur/NAME:2, (imapd's first look);
 * a name that cannot be moved stays in new/ and is listed from there. */
static void move_new(int new_fd, int cur_fd)
{
	int dfd = dup(new_fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct buf moved = BUF_INIT;
	struct dirent *de;

	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		buf_sets(&moved, de->d_name);
		if (strchr(de->d_name, ':') == NULL)
			buf_adds(&moved, ":2,");
		/* a failure leaves the message in new/, where the scan finds it */
		renameat(new_fd, de->d_name, cur_fd, buf_cstr(&moved));
	}
	closedir(d);
	buf_deinit(&moved);
}

int mailbox_scan(struct mailbox *mb, unsigned int flags, struct err *err)
{
	size_t cap = 0;
	int fds[2] = {-1, -1};
	int rc = 0;

	msgs_clear(mb);
	mb->skipped = 0;
	for (size_t i = 0; i < 2; i++) {
		fds[i] = openat(mb->dir_fd, sub_names[i],
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fds[i] < 0) {
			rc = err_set_code(err, errno, "open %s/%s: %s", mb->path, sub_names[i],
					  strerror(errno));
			goto out;
		}
	}
	if ((flags & MAILBOX_SCAN_MOVE_NEW) != 0)
		move_new(fds[0], fds[1]);
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		int dfd = dup(fds[i]);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;

		if (d == NULL) {
			if (dfd >= 0)
				close(dfd);
			rc = err_set_code(err, errno, "read %s/%s: %s", mb->path, sub_names[i],
					  strerror(errno));
			break;
		}
		while ((de = readdir(d)) != NULL) {
			const char *name = de->d_name;
			bool in_new = i == 0;

			if (name[0] == '.')
				continue;
			if (mb->count == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				mb->msgs = xreallocarray(mb->msgs, cap, sizeof(*mb->msgs));
			}
			if (msg_fill(mb, in_new ? fds[0] : fds[1], name, in_new,
				     &mb->msgs[mb->count]))
				mb->count++;
			else
				mb->skipped++;
		}
		closedir(d);
	}
	if (rc == 0 && mb->count > 1)
		qsort(mb->msgs, mb->count, sizeof(*mb->msgs), msg_cmp);
out:
	for (size_t i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (rc < 0)
		msgs_clear(mb);
	return rc;
}

/* relocate - find message m again by its base name in new/ and cur/;
 * 0 and the entry updated, -1 with errno ENOENT when it is gone. */
static int relocate(struct mailbox *mb, struct mailbox_msg *m)
{
	size_t blen = strlen(m->base);

	for (size_t i = 0; i < 2; i++) {
		int fd = openat(mb->dir_fd, sub_names[i],
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;

		if (d == NULL) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, m->base, blen) != 0 ||
			    (de->d_name[blen] != '\0' && de->d_name[blen] != ',' &&
			     de->d_name[blen] != ':'))
				continue;
			free(m->name);
			m->name = xstrdup(de->d_name);
			m->in_new = i == 0;
			closedir(d);
			return 0;
		}
		closedir(d);
	}
	errno = ENOENT;
	return -1;
}

/* sub_fd - a descriptor of new/ or cur/ for message m. */
static int sub_fd(struct mailbox *mb, const struct mailbox_msg *m)
{
	return openat(mb->dir_fd, m->in_new ? "new" : "cur",
		      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int mailbox_msg_open(struct mailbox *mb, size_t i, struct err *err)
{
	struct mailbox_msg *m = &mb->msgs[i];
	struct stat st;
	int fd = -1;

	for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
		int dfd = sub_fd(mb, m);

		if (dfd >= 0) {
			fd = open_msg_file(mb, dfd, m->name, &st);
			close(dfd);
		}
		if (fd < 0 && (errno != ENOENT || attempt == 1 || relocate(mb, m) < 0))
			return err_set_code(err, errno, "open %s/%s/%s: %s", mb->path,
					    m->in_new ? "new" : "cur", m->name, strerror(errno));
	}
	/* reading must block normally: O_NONBLOCK only guarded the open */
	if (fcntl(fd, F_SETFL, 0) < 0) {
		close(fd);
		return err_set_code(err, errno, "fcntl: %s", strerror(errno));
	}
	return fd;
}

int mailbox_msg_delete(struct mailbox *mb, size_t i, struct err *err)
{
	struct mailbox_msg *m = &mb->msgs[i];

	for (int attempt = 0; attempt < 2; attempt++) {
		int dfd = sub_fd(mb, m), rc;

		if (dfd < 0)
			break;
		rc = unlinkat(dfd, m->name, 0);
		close(dfd);
		if (rc == 0)
			return 0;
		if (errno != ENOENT)
			break;
		if (relocate(mb, m) < 0)
			return 0; /* gone already */
	}
	return err_set_code(err, errno, "unlink %s/%s: %s", mb->path, m->name, strerror(errno));
}

/* flags_norm - the letters of flags, sorted, without repeats. */
static void flags_norm(const char *flags, struct buf *out)
{
	bool seen[128] = {false};

	buf_reset(out);
	for (const char *f = flags; *f != '\0'; f++)
		if ((*f >= 'A' && *f <= 'Z') || (*f >= 'a' && *f <= 'z'))
			seen[(unsigned char)*f] = true;
	for (int c = 'A'; c <= 'z'; c++)
		if (seen[c])
			buf_addc(out, (char)c);
}

int mailbox_msg_set_flags(struct mailbox *mb, size_t i, const char *flags, struct err *err)
{
	struct mailbox_msg *m = &mb->msgs[i];
	struct buf name = BUF_INIT, norm = BUF_INIT;
	int rc = -1;

	flags_norm(flags, &norm);
	for (int attempt = 0; attempt < 2; attempt++) {
		int from = sub_fd(mb, m);
		int to = openat(mb->dir_fd, "cur", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		const char *info = strchr(m->name, ':');

		buf_set(&name, m->name, info != NULL ? (size_t)(info - m->name) : strlen(m->name));
		buf_printf(&name, ":2,%s", buf_cstr(&norm));
		rc = from >= 0 && to >= 0 ? renameat(from, m->name, to, buf_cstr(&name)) : -1;
		if (from >= 0)
			close(from);
		if (to >= 0)
			close(to);
		if (rc == 0 || errno != ENOENT || relocate(mb, m) < 0)
			break;
	}
	if (rc == 0) {
		free(m->name);
		m->name = buf_steal(&name);
		free(m->flags);
		m->flags = buf_steal(&norm);
		m->in_new = false;
	} else {
		err_set_code(err, errno, "rename %s/%s: %s", mb->path, m->name, strerror(errno));
	}
	buf_deinit(&name);
	buf_deinit(&norm);
	return rc;
}
