/*
 * tbl_int.h - private interface between lib/tbl.c and the table types
 * (tbl_bdb.c, tbl_lmdb.c, tbl_static.c).  Not for use outside lib/tbl*.c.
 *
 * tbl.c owns everything common: parsing the spec, key case folding, the
 * optional trailing NUL of keys and values, the reopen-on-replace check,
 * writer locking (PATH.lock) and the copy-on-write protocol.  A type only
 * moves bytes: keys and values reach it exactly as they are to be stored.
 */
#ifndef TERN_TBL_INT_H
#define TERN_TBL_INT_H

#include "sys.h"

#include <sys/stat.h>
#include <time.h>

struct err;
struct buf;
struct tbl;

/* tbl_raw_fn - iteration callback over stored bytes; non-zero stops. */
typedef int tbl_raw_fn(const char *key, size_t klen, const char *val, size_t vlen, void *ctx);

struct tbl_ops {
	const char *type;    /* "hash", "btree", "lmdb", "static", "inline" */
	const char *suffix;  /* file name suffix (".db"), NULL: not a file table */
	bool inplace;        /* updates happen inside the file (lmdb): reopen
				only when the inode changes, not the mtime */

	/* open - make the table readable.  File types open t->file; on a
	 * missing file they fail with err->code ENOENT.  -1 with err. */
	int (*open)(struct tbl *t, struct err *err);
	/* close - release what open made (t->priv); safe when not open. */
	void (*close)(struct tbl *t);
	/* lookup - exact key bytes; TBL_FOUND (raw value in value_r),
	 * TBL_NOTFOUND or TBL_TEMPFAIL with err. */
	int (*lookup)(struct tbl *t, const char *key, size_t klen, struct buf *value_r,
		      struct err *err);
	/* iterate - every stored pair; 0, or -1 with err. */
	int (*iterate)(struct tbl *t, tbl_raw_fn *fn, void *ctx, struct err *err);

	/* Writes, NULL for read-only types.  A write batch is begun with the
	 * writer lock held: empty starts from nothing (tbl_build), otherwise
	 * from the current content (tbl_update/tbl_delete).  Nothing is
	 * visible to readers before wr_commit; wr_abort drops the batch. */
	int (*wr_begin)(struct tbl *t, bool empty, void **wh_r, struct err *err);
	/* wr_put - store a pair; *dup_r tells whether the key was there. */
	int (*wr_put)(void *wh, const char *key, size_t klen, const char *val, size_t vlen,
		      bool *dup_r, struct err *err);
	/* wr_del - TBL_FOUND (deleted), TBL_NOTFOUND or TBL_TEMPFAIL. */
	int (*wr_del)(void *wh, const char *key, size_t klen, struct err *err);
	/* wr_commit - make the batch visible atomically and durably; frees wh. */
	int (*wr_commit)(void *wh, struct err *err);
	/* wr_abort - discard the batch; frees wh. */
	void (*wr_abort)(void *wh);
};

struct tbl {
	const struct tbl_ops *ops;
	char *spec;          /* as given to tbl_open */
	char *name;          /* the part after "TYPE:" */
	char *file;          /* name + suffix for file tables, else NULL */
	int flags;           /* TBL_* open flags */
	mode_t mode;         /* mode of a file created from nothing */
	void *priv;          /* the type's state; NULL when not open */

	/* Reopen-on-replace state (file tables). */
	bool is_open;        /* priv is valid */
	bool stale;          /* reopen at the next access, whatever the clock */
	struct stat st;      /* of t->file when it was opened */
	time_t checked;      /* monotonic seconds of the last stat */
	char *why;           /* why the table is not open (for TEMPFAIL) */
};

extern const struct tbl_ops tbl_ops_hash;
extern const struct tbl_ops tbl_ops_btree;
extern const struct tbl_ops tbl_ops_lmdb;
extern const struct tbl_ops tbl_ops_static;
extern const struct tbl_ops tbl_ops_inline;

/* tbl_tmp_name - a fresh temp file name beside path ("path.tmp.PID.N"),
 * heap string. */
char *tbl_tmp_name(const char *path);
/* tbl_fsync_file - open path and fsync it; -1 with err. */
int tbl_fsync_file(const char *path, struct err *err);
/* tbl_fsync_dir - fsync the directory that holds path; -1 with err. */
int tbl_fsync_dir(const char *path, struct err *err);
/* tbl_install - fsync tmp, give it the mode (and owner, as root) of the
 * file it replaces (else mode), rename it over path, fsync the directory.
 * On failure tmp is removed. */
int tbl_install(const char *tmp, const char *path, mode_t mode, struct err *err);

/* tbl_wr_lock - take the writer lock (flock on NAME.lock) of a file
 * table; the lock fd, or -1 with err.  tbl_wr_unlock releases it. */
int tbl_wr_lock(const struct tbl *t, struct err *err);
void tbl_wr_unlock(int *fdp);
/* tbl_key_encode - the stored form of key in out: folded to lower case
 * unless TBL_NOFOLD, with a trailing NUL when TBL_NUL. */
void tbl_key_encode(const struct tbl *t, const char *key, struct buf *out);
/* tbl_batch_begin - writer lock, then a write batch (empty: from nothing,
 * else from the current content; a missing file counts as empty only
 * with TBL_CREATE).  tbl_batch_end commits (or aborts when commit is
 * false), unlocks and marks the handle for reopening.  0 or -1 with err. */
int tbl_batch_begin(struct tbl *t, bool empty, int *lock_r, void **wh_r, struct err *err);
int tbl_batch_end(struct tbl *t, void *wh, bool commit, int *lock, struct err *err);
/* tbl_written - a write batch was committed: reopen at the next access. */
void tbl_written(struct tbl *t);

#endif
