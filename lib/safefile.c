/*
 * safefile.c - durable, race-free file operations (see safefile.h).
 * Touches:  the files and directories named by its callers.
 * Security: never follows a symlink at the last component (O_NOFOLLOW);
 *           temp files are created O_EXCL; safefile_component_ok is the one
 *           gate for path components built from untrusted input.
 * Errors:   -1 with "op path: strerror" in err; never aborts.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "err.h"
#include "safefile.h"
#include "xmem.h"

/* write_all - write n bytes, retrying on EINTR and short writes. */
static int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* dir_of - the directory part of path into dir (".", "/" or a prefix). */
static void dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, size, ".");
	else if (slash == path)
		snprintf(dir, size, "/");
	else
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

int safefile_fsync_dir(const char *path, bool is_dir, struct err *err)
{
	char dir[PATH_MAX];
	int fd;

	if (is_dir)
		snprintf(dir, sizeof(dir), "%s", path);
	else
		dir_of(path, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, "open %s: %s", dir, strerror(errno));
	if (fsync(fd) < 0 && errno != EINVAL) {
		int e = errno;

		close(fd);
		return err_set(err, "fsync %s: %s", dir, strerror(e));
	}
	close(fd);
	return 0;
}

int safefile_tmp_open(const char *path, mode_t mode, char *tmp_r, size_t tmp_size,
		      struct err *err)
{
	static unsigned int seq;
	int fd, n;

	for (int tries = 0; tries < 100; tries++) {
		n = snprintf(tmp_r, tmp_size, "%s.tmp.%ld.%u", path, (long)getpid(), seq++);
		if (n < 0 || (size_t)n >= tmp_size)
			return err_set(err, "%s: path too long", path);
		fd = open(tmp_r, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0) {
			if (fchmod(fd, mode) < 0) {
				int e = errno;

				close(fd);
				unlink(tmp_r);
				return err_set(err, "chmod %s: %s", tmp_r, strerror(e));
			}
			return fd;
		}
		if (errno != EEXIST)
			return err_set(err, "create %s: %s", tmp_r, strerror(errno));
	}
	return err_set(err, "create %s: too many collisions", tmp_r);
}

int safefile_commit(int fd, const char *tmp, const char *path, struct err *err)
{
	if (fsync(fd) < 0) {
		err_set(err, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_set(err, "close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		err_set(err, "rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	return safefile_fsync_dir(path, false, err);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int safefile_write(const char *path, const void *data, size_t len, mode_t mode,
		   struct err *err)
{
	char tmp[PATH_MAX];
	int fd = safefile_tmp_open(path, mode, tmp, sizeof(tmp), err);

	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0) {
		err_set(err, "write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	return safefile_commit(fd, tmp, path, err);
}

int safefile_open(const char *path, int flags, mode_t mode, struct err *err)
{
	struct stat st;
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return err_set(err, "open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return err_set(err, "stat %s: %s", path, strerror(e));
	}
	if ((flags & O_CREAT) && !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(err, "open %s: not a regular file", path);
	}
	return fd;
}

char *safefile_read(const char *path, size_t max, size_t *len_r, struct err *err)
{
	struct stat st;
	char *data;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		err_set_code(err, errno, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(err, "read %s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > max) {
		err_set(err, "read %s: larger than %zu bytes", path, max);
		close(fd);
		return NULL;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(err, "read %s: %s", path, strerror(errno));
			close(fd);
			free(data);
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	data[got] = '\0';
	if (len_r)
		*len_r = got;
	return data;
}

bool safefile_component_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255 || name[0] == '-')
		return false;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

int safefile_mkdir(const char *path, mode_t mode, uid_t uid, gid_t gid, struct err *err)
{
	struct stat st;
	int fd;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return err_set(err, "mkdir %s: %s", path, strerror(errno));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, "open %s: %s", path,
			       errno == ELOOP || errno == ENOTDIR ? "not a directory" : strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return err_set(err, "stat %s: %s", path, strerror(e));
	}
	if (uid != (uid_t)-1 && (st.st_uid != uid || st.st_gid != gid) &&
	    fchown(fd, uid, gid) < 0) {
		int e = errno;

		close(fd);
		return err_set(err, "chown %s: %s", path, strerror(e));
	}
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0) {
		int e = errno;

		close(fd);
		return err_set(err, "chmod %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}
