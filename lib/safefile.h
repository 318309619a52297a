/*
 * safefile.h - durable, race-free file operations: write to a temp file in
 * the same directory, fsync, rename over the target, fsync the directory;
 * open without following symlinks; validate path components built from
 * untrusted input; make directories with a given owner and mode.
 * See: Postfix mail_stream.c, docs/security.md.
 */
#ifndef TERN_SAFEFILE_H
#define TERN_SAFEFILE_H

#include "sys.h"

#include <sys/stat.h>

struct err;

/* safefile_write - replace path with len bytes of data, durably (temp file
 * "path.tmp.PID.N" created O_EXCL mode, fsync, rename, fsync of the dir). */
int safefile_write(const char *path, const void *data, size_t len, mode_t mode,
		   struct err *err) ATTR_WARN_UNUSED;

/* safefile_tmp_open - create a unique temp file beside path (O_EXCL,
 * O_NOFOLLOW, O_CLOEXEC) for callers that stream their content; the temp
 * name goes to tmp_r (at least PATH_MAX bytes).  fd or -1. */
int safefile_tmp_open(const char *path, mode_t mode, char *tmp_r, size_t tmp_size,
		      struct err *err) ATTR_WARN_UNUSED;
/* safefile_commit - fsync fd, close it, rename tmp over path, fsync the
 * directory.  On failure tmp is unlinked. */
int safefile_commit(int fd, const char *tmp, const char *path, struct err *err)
	ATTR_WARN_UNUSED;

/* safefile_fsync_dir - fsync the directory that holds path (path itself
 * when is_dir). */
int safefile_fsync_dir(const char *path, bool is_dir, struct err *err) ATTR_WARN_UNUSED;

/* safefile_open - open(2) with O_NOFOLLOW | O_CLOEXEC added; for O_CREAT
 * the file must not be a link and must be a regular file afterwards. */
int safefile_open(const char *path, int flags, mode_t mode, struct err *err)
	ATTR_WARN_UNUSED;

/* safefile_read - read a whole regular file (at most max bytes, else an
 * error) into a heap buffer NUL-terminated; its length in *len_r. */
char *safefile_read(const char *path, size_t max, size_t *len_r, struct err *err)
	ATTR_WARN_UNUSED;

/* safefile_component_ok - true if name may be used as one path component
 * built from untrusted input: non-empty, at most 255 bytes, no '/', not
 * "." or "..", no control bytes, no leading '-'. */
bool safefile_component_ok(const char *name);

/* safefile_mkdir - mkdir path with mode when missing, then make sure it is
 * a directory (not a link) with that mode and, when uid != (uid_t)-1, that
 * owner and gid.  Parents are not created. */
int safefile_mkdir(const char *path, mode_t mode, uid_t uid, gid_t gid, struct err *err)
	ATTR_WARN_UNUSED;

#endif
