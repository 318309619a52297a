/*
 * tbl.c - lookup tables: spec parsing, key folding, reopen-on-replace and
 *           the write protocol shared by every table type (see tbl.h).
 * Touches:  the table files and their NAME.lock files; a process-wide
 *           reopen interval.
 * Input:    keys and values from callers (may come from the network: a key
 *           is only ever used as lookup bytes, never as a path).
 * Security: a table file is trusted as far as its owner is; a file that does
 *           not parse makes lookups TBL_TEMPFAIL, never a crash.  Writers
 *           replace files atomically so readers never see half a table.
 * Errors:   lookups return TBL_TEMPFAIL with the reason in err; other calls
 *           0/-1 with err.
 * See:      Postfix util/dict.h, docs/tables.md.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "str.h"
#include "tbl.h"
#include "tbl_int.h"
#include "xmem.h"

/* TBL_TYPE_CHARS - what a type name in "TYPE:NAME" is made of. */
#define TBL_TYPE_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"

static long tbl_reopen_interval = 1;

static const struct tbl_ops *const tbl_types[] = {
	&tbl_ops_hash, &tbl_ops_btree, &tbl_ops_lmdb, &tbl_ops_static, &tbl_ops_inline,
};

void tbl_set_reopen_check(long seconds)
{
	tbl_reopen_interval = seconds < 0 ? 0 : seconds;
}

/* tbl_now - monotonic seconds, for the reopen check. */
static time_t tbl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* tbl_parse_spec - split "TYPE:NAME"; a spec whose text before the first
 * ':' is not a bare word (a path such as "./a:b") has no type. */
static int tbl_parse_spec(const char *spec, const char *default_type,
			  const struct tbl_ops **ops_r, const char **name_r, struct err *err)
{
	const char *type = default_type != NULL && *default_type ? default_type : "hash";
	size_t tlen = strlen(type), n = strspn(spec, TBL_TYPE_CHARS);

	*name_r = spec;
	if (n > 0 && spec[n] == ':') {
		type = spec;
		tlen = n;
		*name_r = spec + n + 1;
	}
	for (size_t i = 0; i < N_ELEMENTS(tbl_types); i++) {
		if (strlen(tbl_types[i]->type) == tlen &&
		    strncmp(tbl_types[i]->type, type, tlen) == 0) {
			*ops_r = tbl_types[i];
			if (**name_r == '\0' && tbl_types[i]->suffix != NULL)
				return err_set(err, "table %s: empty file name", spec);
			return 0;
		}
	}
	return err_set(err, "table %s: unsupported type \"%.*s\"", spec, (int)tlen, type);
}

const char *tbl_spec_name(const char *spec)
{
	size_t n = strspn(spec, TBL_TYPE_CHARS);

	return n > 0 && spec[n] == ':' ? spec + n + 1 : spec;
}

/* tbl_set_why - remember why the table is not usable. */
static void tbl_set_why(struct tbl *t, const char *why)
{
	free(t->why);
	t->why = xstrdup(why);
}

/* tbl_shut - close the type's handle, if any. */
static void tbl_shut(struct tbl *t)
{
	if (t->is_open)
		t->ops->close(t);
	t->is_open = false;
	t->priv = NULL;
}

/* tbl_same_file - has the file stayed the one we opened? */
static bool tbl_same_file(const struct tbl *t, const struct stat *st)
{
	if (st->st_dev != t->st.st_dev || st->st_ino != t->st.st_ino)
		return false;
	if (t->ops->inplace)
		return true;
	return st->st_size == t->st.st_size && st->st_mtim.tv_sec == t->st.st_mtim.tv_sec &&
	       st->st_mtim.tv_nsec == t->st.st_mtim.tv_nsec;
}

/* tbl_check - make sure a file table is open on the current file: stat at
 * most once per reopen interval, reopen when it was replaced.  0, or -1
 * with the reason in err (the caller answers TBL_TEMPFAIL). */
static int tbl_check(struct tbl *t, struct err *err)
{
	struct stat st;
	struct err e;
	time_t now;

	if (t->ops->suffix == NULL)
		return 0;
	now = tbl_now();
	if (!t->stale && now - t->checked < tbl_reopen_interval) {
		if (t->is_open)
			return 0;
		return err_set(err, "%s", t->why != NULL ? t->why : "table not open");
	}
	t->checked = now;
	t->stale = false;
	if (stat(t->file, &st) < 0) {
		tbl_shut(t);
		err_set(&e, "table %s: %s: %s", t->spec, t->file, strerror(errno));
		tbl_set_why(t, e.msg);
		return err_set(err, "%s", e.msg);
	}
	if (t->is_open && tbl_same_file(t, &st))
		return 0;
	tbl_shut(t);
	if (t->ops->open(t, &e) < 0) {
		tbl_set_why(t, e.msg);
		return err_set(err, "%s", e.msg);
	}
	t->is_open = true;
	t->st = st;
	return 0;
}

void tbl_written(struct tbl *t)
{
	t->stale = true;
}

void tbl_key_encode(const struct tbl *t, const char *key, struct buf *out)
{
	buf_sets(out, key);
	if (!(t->flags & TBL_NOFOLD))
		str_lower(out->data);
	if (t->flags & TBL_NUL)
		buf_add(out, "", 1);
}

/* tbl_create_empty - TBL_CREATE on a missing file: commit an empty table. */
static int tbl_create_empty(struct tbl *t, struct err *err)
{
	void *wh;
	int lock, rc = 0;

	if ((lock = tbl_wr_lock(t, err)) < 0)
		return -1;
	if (access(t->file, F_OK) < 0 && errno == ENOENT) {
		if (t->ops->wr_begin(t, true, &wh, err) < 0 || t->ops->wr_commit(wh, err) < 0)
			rc = -1;
	}
	tbl_wr_unlock(&lock);
	return rc;
}

struct tbl *tbl_open(const char *spec, const char *default_type, int flags, struct err *err)
{
	const struct tbl_ops *ops = NULL;
	const char *name = spec;
	struct tbl *t;
	struct err e;

	if (tbl_parse_spec(spec, default_type, &ops, &name, err) < 0)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->ops = ops;
	t->spec = xstrdup(spec);
	t->name = xstrdup(name);
	t->flags = flags;
	t->mode = 0644;
	t->stale = true;
	if (ops->suffix == NULL) {
		if (ops->open(t, err) < 0) {
			tbl_close(&t);
			return NULL;
		}
		t->is_open = true;
		return t;
	}
	t->file = xasprintf("%s%s", name, ops->suffix);
	if ((flags & TBL_CREATE) && tbl_create_empty(t, err) < 0) {
		tbl_close(&t);
		return NULL;
	}
	/* A file that is missing or does not open is not an error here:
	 * lookups answer TBL_TEMPFAIL until it is fixed. */
	(void)tbl_check(t, &e);
	return t;
}

void tbl_close(struct tbl **tp)
{
	struct tbl *t = *tp;

	if (t == NULL)
		return;
	tbl_shut(t);
	free(t->spec);
	free(t->name);
	free(t->file);
	free(t->why);
	xfree(tp);
}

const char *tbl_spec(const struct tbl *t)
{
	return t->spec;
}

/* tbl_strip_nul - drop the trailing NUL a value may have been stored with. */
static void tbl_strip_nul(struct buf *b)
{
	if (b->len > 0 && b->data[b->len - 1] == '\0')
		buf_truncate(b, b->len - 1);
}

int tbl_lookup(struct tbl *t, const char *key, struct buf *value_r, struct err *err)
{
	struct buf k = BUF_INIT;
	size_t len;
	int rc;

	buf_reset(value_r);
	if (tbl_check(t, err) < 0)
		return TBL_TEMPFAIL;
	if (*key == '\0' && t->ops->suffix != NULL)
		return TBL_NOTFOUND;
	tbl_key_encode(t, key, &k);
	len = strlen(k.data);
	/* Both stored forms, the one this table writes first. */
	rc = t->ops->lookup(t, k.data, k.len, value_r, err);
	if (rc == TBL_NOTFOUND && t->ops->suffix != NULL)
		rc = t->ops->lookup(t, k.data, k.len == len ? len + 1 : len, value_r, err);
	if (rc == TBL_FOUND)
		tbl_strip_nul(value_r);
	else
		buf_reset(value_r);
	buf_deinit(&k);
	return rc;
}

int tbl_batch_begin(struct tbl *t, bool empty, int *lock_r, void **wh_r, struct err *err)
{
	if (t->ops->wr_begin == NULL)
		return err_set(err, "table %s: type %s is read-only", t->spec, t->ops->type);
	if ((*lock_r = tbl_wr_lock(t, err)) < 0)
		return -1;
	/* Our own read handle is stale after the write; closing it first also
	 * keeps one process from holding two LMDB environments of a file. */
	tbl_shut(t);
	t->stale = true;
	if (!empty && access(t->file, F_OK) < 0) {
		if (errno != ENOENT || !(t->flags & TBL_CREATE)) {
			err_set(err, "table %s: %s: %s", t->spec, t->file, strerror(errno));
			tbl_wr_unlock(lock_r);
			return -1;
		}
		empty = true;
	}
	if (t->ops->wr_begin(t, empty, wh_r, err) < 0) {
		tbl_wr_unlock(lock_r);
		return -1;
	}
	return 0;
}

int tbl_batch_end(struct tbl *t, void *wh, bool commit, int *lock, struct err *err)
{
	int rc = 0;

	if (commit)
		rc = t->ops->wr_commit(wh, err);
	else
		t->ops->wr_abort(wh);
	tbl_wr_unlock(lock);
	tbl_written(t);
	return rc;
}

/* tbl_write_begin - checks for tbl_update/tbl_delete, then a batch. */
static int tbl_write_begin(struct tbl *t, const char *key, int *lock_r, void **wh_r,
			   struct err *err)
{
	if (t->ops->wr_begin != NULL && !(t->flags & TBL_RDWR))
		return err_set(err, "table %s: opened read-only", t->spec);
	if (*key == '\0')
		return err_set(err, "table %s: empty key", t->spec);
	return tbl_batch_begin(t, false, lock_r, wh_r, err);
}

int tbl_update(struct tbl *t, const char *key, const char *value, struct err *err)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	void *wh;
	int lock, rc;
	bool dup;

	if (tbl_write_begin(t, key, &lock, &wh, err) < 0)
		return -1;
	tbl_key_encode(t, key, &k);
	buf_sets(&v, value);
	if (t->flags & TBL_NUL)
		buf_add(&v, "", 1);
	/* Drop the key's other stored form so only one remains. */
	rc = t->ops->wr_del(wh, k.data, (t->flags & TBL_NUL) ? k.len - 1 : k.len + 1, err);
	if (rc != TBL_TEMPFAIL)
		rc = t->ops->wr_put(wh, k.data, k.len, v.data, v.len, &dup, err);
	rc = tbl_batch_end(t, wh, rc != TBL_TEMPFAIL, &lock, err);
	buf_deinit(&k);
	buf_deinit(&v);
	return rc < 0 ? -1 : 0;
}

int tbl_delete(struct tbl *t, const char *key, struct err *err)
{
	struct buf k = BUF_INIT;
	void *wh;
	int lock, rc, rc2;

	if (tbl_write_begin(t, key, &lock, &wh, err) < 0)
		return TBL_TEMPFAIL;
	tbl_key_encode(t, key, &k);
	rc = t->ops->wr_del(wh, k.data, k.len, err);
	if (rc != TBL_TEMPFAIL) {
		rc2 = t->ops->wr_del(wh, k.data, (t->flags & TBL_NUL) ? k.len - 1 : k.len + 1,
				     err);
		rc = rc2 == TBL_TEMPFAIL ? rc2 : (rc == TBL_FOUND ? rc : rc2);
	}
	if (tbl_batch_end(t, wh, rc == TBL_FOUND, &lock, err) < 0)
		rc = TBL_TEMPFAIL;
	buf_deinit(&k);
	return rc;
}

struct tbl_iter_ctx {
	int (*fn)(const char *key, const char *value, void *ctx);
	void *ctx;
	struct buf k, v;
};

/* tbl_iter_one - raw pair to C strings without a trailing NUL. */
static int tbl_iter_one(const char *key, size_t klen, const char *val, size_t vlen, void *ctx)
{
	struct tbl_iter_ctx *ic = ctx;

	buf_set(&ic->k, key, klen);
	buf_set(&ic->v, val, vlen);
	tbl_strip_nul(&ic->k);
	tbl_strip_nul(&ic->v);
	return ic->fn(buf_cstr(&ic->k), buf_cstr(&ic->v), ic->ctx);
}

int tbl_iterate(struct tbl *t, int (*fn)(const char *key, const char *value, void *ctx),
		void *ctx, struct err *err)
{
	struct tbl_iter_ctx ic = { fn, ctx, BUF_INIT, BUF_INIT };
	int rc;

	if (tbl_check(t, err) < 0)
		return -1;
	if (t->ops->iterate == NULL)
		return err_set(err, "table %s: type %s cannot be listed", t->spec, t->ops->type);
	rc = t->ops->iterate(t, tbl_iter_one, &ic, err);
	buf_deinit(&ic.k);
	buf_deinit(&ic.v);
	return rc;
}

/* File helpers for the types. */

char *tbl_tmp_name(const char *path)
{
	static unsigned int counter;

	return xasprintf("%s.tmp.%ld.%u", path, (long)getpid(), counter++);
}

int tbl_fsync_file(const char *path, struct err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return err_set_code(err, errno, "open %s: %s", path, strerror(errno));
	if (fsync(fd) < 0) {
		err_set_code(err, errno, "fsync %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int tbl_fsync_dir(const char *path, struct err *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? xstrdup(".") :
		    slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = err_set_code(err, errno, "fsync directory %s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int tbl_install(const char *tmp, const char *path, mode_t mode, struct err *err)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
		if (geteuid() == 0 && chown(tmp, st.st_uid, st.st_gid) < 0) {
			err_set_code(err, errno, "chown %s: %s", tmp, strerror(errno));
			goto fail;
		}
	}
	if (chmod(tmp, mode) < 0) {
		err_set_code(err, errno, "chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (tbl_fsync_file(tmp, err) < 0)
		goto fail;
	if (rename(tmp, path) < 0) {
		err_set_code(err, errno, "rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	return tbl_fsync_dir(path, err);
fail:
	unlink(tmp);
	return -1;
}

int tbl_wr_lock(const struct tbl *t, struct err *err)
{
	char *path = xasprintf("%s.lock", t->name);
	/* flock needs no write access: any writer of the table may lock. */
	int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0) {
		err_set_code(err, errno, "table %s: open %s: %s", t->spec, path, strerror(errno));
	} else if (flock(fd, LOCK_EX) < 0) {
		err_set_code(err, errno, "table %s: lock %s: %s", t->spec, path, strerror(errno));
		close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

void tbl_wr_unlock(int *fdp)
{
	if (*fdp >= 0)
		close(*fdp);
	*fdp = -1;
}
