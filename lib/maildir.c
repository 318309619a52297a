/*
 * maildir.c - Maildir creation and delivery (see maildir.h).
 * Touches:  the Maildir directory given by the caller: creates tmp/, new/,
 *           cur/; writes one file in tmp/ and renames it into new/.
 * Security: the caller builds path from validated components
 *           (safefile_component_ok); here every directory is opened with
 *           O_NOFOLLOW|O_DIRECTORY and the file is created with O_EXCL and
 *           O_NOFOLLOW relative to those descriptors, so a symlink planted
 *           in the Maildir cannot redirect a delivery.
 * Errors:   -1 with err naming the path and errno; the tmp file is removed
 *           on every failure path, so a failed delivery leaves nothing.
 * See:      https://cr.yp.to/proto/maildir.html, docs/store-format.md.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "maildir.h"
#include "safefile.h"

/* maildir_seq - deliveries made by this process (the Q<n> part). */
static unsigned long maildir_seq;

static const char *const maildir_subdirs[] = {"tmp", "new", "cur"};

int maildir_create(const char *path, uid_t uid, gid_t gid, struct err *err)
{
	struct buf sub = BUF_INIT;
	int rc = 0;

	if (safefile_mkdir(path, 0700, uid, gid, err) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMENTS(maildir_subdirs) && rc == 0; i++) {
		buf_reset(&sub);
		buf_printf(&sub, "%s/%s", path, maildir_subdirs[i]);
		rc = safefile_mkdir(buf_cstr(&sub), 0700, uid, gid, err);
	}
	buf_deinit(&sub);
	return rc;
}

void maildir_host_escape(struct buf *out, const char *host)
{
	for (const char *p = host; *p != '\0'; p++) {
		if (*p == '/')
			buf_adds(out, "\\057");
		else if (*p == ':')
			buf_adds(out, "\\072");
		else
			buf_addc(out, *p);
	}
}

void maildir_tmp_name(struct buf *out, const struct timeval *tv, unsigned long pid,
		      unsigned long seq, const char *host)
{
	buf_reset(out);
	buf_printf(out, "%lld.M%ldP%luQ%lu.", (long long)tv->tv_sec, (long)tv->tv_usec, pid, seq);
	maildir_host_escape(out, host);
}

void maildir_final_name(struct buf *out, const char *tmp_name, uint64_t size, uint64_t vsize)
{
	buf_reset(out);
	buf_printf(out, "%s,S=%" PRIu64 ",W=%" PRIu64, tmp_name, size, vsize);
}

int maildir_name_size(const char *name, uint64_t *size_r)
{
	const char *end = strstr(name, ":2,");
	size_t len = end != NULL ? (size_t)(end - name) : strlen(name);
	uint64_t v = 0;

	for (size_t i = 0; i + 3 <= len; i++) {
		if (name[i] != ',' || name[i + 1] != 'S' || name[i + 2] != '=')
			continue;
		size_t j = i + 3;
		if (j >= len || name[j] < '0' || name[j] > '9')
			return -1;
		for (; j < len && name[j] >= '0' && name[j] <= '9'; j++) {
			if (v > (UINT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (uint64_t)(name[j] - '0');
		}
		if (j < len && name[j] != ',')
			return -1;
		*size_r = v;
		return 0;
	}
	return -1;
}

/* host_name - this host's name for file names ("localhost" if unknown). */
static void host_name(char *out, size_t size)
{
	if (gethostname(out, size) < 0 || out[0] == '\0')
		snprintf(out, size, "localhost");
	out[size - 1] = '\0';
}

/* write_all - write n bytes, counting size and vsize (each LF becomes CRLF). */
static int write_all(int fd, const char *p, size_t n, uint64_t *size, uint64_t *vsize,
		     struct err *err)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n')
			(*vsize)++;
	*size += n;
	*vsize += n;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return err_set_code(err, errno, "write: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* open_sub - open PATH/name as a directory without following links. */
static int open_sub(int dfd, const char *path, const char *name, struct err *err)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		err_set_code(err, errno, "open %s/%s: %s", path, name,
			     errno == ELOOP || errno == ENOTDIR ? "not a directory (symlink?)"
								: strerror(errno));
	return fd;
}

/* write_body - prefix and the source into fd; sizes counted. */
static int write_body(int fd, const void *prefix, size_t prefix_len, maildir_source_fn *src,
		      void *ctx, uint64_t *size, uint64_t *vsize, struct err *err)
{
	struct buf chunk = BUF_INIT;
	int rc = 0, more;

	if (prefix_len > 0)
		rc = write_all(fd, prefix, prefix_len, size, vsize, err);
	while (rc == 0 && (more = src(ctx, &chunk, err)) != 0) {
		if (more < 0) {
			rc = -1;
			break;
		}
		rc = write_all(fd, chunk.data != NULL ? chunk.data : "", chunk.len, size, vsize,
			       err);
	}
	buf_deinit(&chunk);
	return rc;
}

int maildir_deliver(const char *path, const void *prefix, size_t prefix_len, maildir_source_fn *src,
		    void *ctx, struct buf *name_r, struct err *err)
{
	char host[256];
	struct buf tmp_name = BUF_INIT;
	struct timeval tv;
	uint64_t size = 0, vsize = 0;
	int dfd = -1, tfd = -1, nfd = -1, fd = -1, rc = -1;
	bool created = false;

	err_clear(err);
	host_name(host, sizeof(host));
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		err_set_code(err, errno, "open %s: %s", path,
			     errno == ELOOP || errno == ENOTDIR ? "not a directory (symlink?)"
								: strerror(errno));
		goto out;
	}
	if ((tfd = open_sub(dfd, path, "tmp", err)) < 0 ||
	    (nfd = open_sub(dfd, path, "new", err)) < 0)
		goto out;
	/* a name taken already (a clock step, a pid reused) just moves on */
	for (int tries = 0; tries < 100 && fd < 0; tries++) {
		gettimeofday(&tv, NULL);
		maildir_tmp_name(&tmp_name, &tv, (unsigned long)getpid(), ++maildir_seq, host);
		fd = openat(tfd, buf_cstr(&tmp_name),
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			err_set_code(err, errno, "create %s/tmp/%s: %s", path, buf_cstr(&tmp_name),
				     strerror(errno));
			goto out;
		}
	}
	if (fd < 0) {
		err_set_code(err, EEXIST, "create %s/tmp: no unique name", path);
		goto out;
	}
	created = true;
	if (write_body(fd, prefix, prefix_len, src, ctx, &size, &vsize, err) < 0)
		goto out;
	if (fsync(fd) < 0) {
		err_set_code(err, errno, "fsync %s/tmp/%s: %s", path, buf_cstr(&tmp_name),
			     strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_set_code(err, errno, "close %s/tmp/%s: %s", path, buf_cstr(&tmp_name),
			     strerror(errno));
		goto out;
	}
	fd = -1;
	maildir_final_name(name_r, buf_cstr(&tmp_name), size, vsize);
	if (renameat(tfd, buf_cstr(&tmp_name), nfd, buf_cstr(name_r)) < 0) {
		err_set_code(err, errno, "rename into %s/new: %s", path, strerror(errno));
		goto out;
	}
	created = false;
	if (fsync(nfd) < 0) {
		/* the file is in new/ already: a reader may see it, so it stays */
		err_set_code(err, errno, "fsync %s/new: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlinkat(tfd, buf_cstr(&tmp_name), 0);
	if (tfd >= 0)
		close(tfd);
	if (nfd >= 0)
		close(nfd);
	if (dfd >= 0)
		close(dfd);
	buf_deinit(&tmp_name);
	return rc;
}
