/*
 * tbl_lmdb.c - lmdb: tables, one LMDB file NAME.lmdb opened MDB_NOSUBDIR
 *           (its lock file is NAME.lmdb-lock), main database only.
 * Touches:  NAME.lmdb and NAME.lmdb-lock; a first build goes to
 *           NAME.lmdb.tmp.PID.N and is renamed into place.
 * Security: updates and rebuilds of an existing file are one LMDB write
 *           transaction, so readers see the old or the new content.  A
 *           reader that may not write the lock file falls back to
 *           MDB_NOLOCK (documented in docs/tables.md).
 * Errors:   LMDB codes become err text; a file that is not an LMDB file
 *           (MDB_INVALID) fails to open (TBL_TEMPFAIL).
 * Limits:   keys up to mdb_env_get_maxkeysize (511 bytes); map size 1 GiB
 *           (64-bit) for writers.
 */
#include "sys.h"

#include <errno.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "tbl.h"
#include "tbl_int.h"
#include "xmem.h"

#define LMDB_MAP_SIZE (sizeof(size_t) >= 8 ? ((size_t)1 << 30) : ((size_t)256 << 20))

/* One environment per file and process, shared by every handle: LMDB
 * must not have a file open twice in one process (closing one copy would
 * drop the other's locks). */
struct lmdb_db {
	struct lmdb_db *next;
	dev_t dev;
	ino_t ino;
	MDB_env *env;
	MDB_dbi dbi;
	bool rdonly;
	int refs;
};

static struct lmdb_db *lmdb_dbs;

struct lmdb_wr {
	struct tbl *t;
	struct lmdb_db *db;  /* shared, or private for a first build */
	MDB_txn *txn;
	char *tmp;           /* first build: the file renamed into place */
};

/* lmdb_txn - begin a transaction; follows a map grown by another process. */
static int lmdb_txn(MDB_env *env, unsigned int flags, MDB_txn **txn_r)
{
	int rc = mdb_txn_begin(env, NULL, flags, txn_r);

	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(env, 0);
		rc = mdb_txn_begin(env, NULL, flags, txn_r);
	}
	return rc;
}

/* lmdb_env_open - open path for reading (rdonly) or writing; err->code is
 * the errno or LMDB code (ENOENT for a missing file). */
static int lmdb_env_open(const struct tbl *t, const char *path, bool rdonly,
			 struct lmdb_db *db, struct err *err)
{
	unsigned int flags = MDB_NOSUBDIR | MDB_NOTLS | (rdonly ? MDB_RDONLY : 0);
	MDB_txn *txn;
	struct stat st;
	int rc, fd;

	for (int tries = 0; tries < 2; tries++) {
		if ((rc = mdb_env_create(&db->env)) != 0)
			return err_set(err, "table %s: %s", t->spec, mdb_strerror(rc));
		if (!rdonly) {
			size_t size = LMDB_MAP_SIZE;

			if (stat(path, &st) == 0 && (size_t)st.st_size > size / 2)
				size = (size_t)st.st_size * 2;
			mdb_env_set_mapsize(db->env, size);
		}
		rc = mdb_env_open(db->env, path, flags, 0600);
		if (rc == 0)
			break;
		mdb_env_close(db->env);
		db->env = NULL;
		/* A reader that may not write the lock file reads unlocked. */
		if (!(rdonly && (rc == EACCES || rc == EROFS)))
			break;
		flags |= MDB_NOLOCK;
	}
	if (rc != 0)
		return err_set_code(err, rc, "table %s: open %s: %s", t->spec, path,
				    mdb_strerror(rc));
	rc = lmdb_txn(db->env, rdonly ? MDB_RDONLY : 0, &txn);
	if (rc == 0 && (rc = mdb_dbi_open(txn, NULL, 0, &db->dbi)) != 0)
		mdb_txn_abort(txn);
	else if (rc == 0)
		rc = mdb_txn_commit(txn);
	if (rc == 0 && (mdb_env_get_fd(db->env, &fd) != 0 || fstat(fd, &st) < 0))
		rc = EIO;
	if (rc != 0) {
		mdb_env_close(db->env);
		db->env = NULL;
		return err_set_code(err, rc, "table %s: open %s: %s", t->spec, path,
				    mdb_strerror(rc));
	}
	db->dev = st.st_dev;
	db->ino = st.st_ino;
	db->rdonly = rdonly;
	return 0;
}

/* lmdb_db_get - the process's shared environment of path. */
static struct lmdb_db *lmdb_db_get(const struct tbl *t, const char *path, bool write,
				   struct err *err)
{
	struct lmdb_db *db;
	struct stat st;

	if (stat(path, &st) < 0) {
		err_set_code(err, errno, "table %s: open %s: %s", t->spec, path, strerror(errno));
		return NULL;
	}
	for (db = lmdb_dbs; db != NULL; db = db->next) {
		if (db->dev != st.st_dev || db->ino != st.st_ino)
			continue;
		if (write && db->rdonly) {
			err_set(err, "table %s: %s is open read-only", t->spec, path);
			return NULL;
		}
		db->refs++;
		return db;
	}
	db = xcalloc(1, sizeof(*db));
	if (lmdb_env_open(t, path, !write && access(path, W_OK) < 0, db, err) < 0) {
		free(db);
		return NULL;
	}
	db->refs = 1;
	db->next = lmdb_dbs;
	lmdb_dbs = db;
	return db;
}

/* lmdb_db_put - drop one reference; the last closes the environment. */
static void lmdb_db_put(struct lmdb_db *db)
{
	struct lmdb_db **pp;

	if (--db->refs > 0)
		return;
	for (pp = &lmdb_dbs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == db) {
			*pp = db->next;
			break;
		}
	}
	mdb_env_close(db->env);
	free(db);
}

static int lmdb_open(struct tbl *t, struct err *err)
{
	struct lmdb_db *db = lmdb_db_get(t, t->file, false, err);

	if (db == NULL)
		return -1;
	t->priv = db;
	return 0;
}

static void lmdb_close(struct tbl *t)
{
	if (t->priv != NULL)
		lmdb_db_put(t->priv);
	t->priv = NULL;
}

/* lmdb_read_txn - a read transaction on the table. */
static int lmdb_read_txn(struct tbl *t, MDB_txn **txn_r, struct err *err)
{
	struct lmdb_db *db = t->priv;
	int rc = lmdb_txn(db->env, MDB_RDONLY, txn_r);

	if (rc != 0)
		return err_set(err, "table %s: read %s: %s", t->spec, t->file, mdb_strerror(rc));
	return 0;
}

/* lmdb_val - an MDB_val over caller bytes. */
static MDB_val lmdb_val(const char *p, size_t n)
{
	MDB_val v = { n, (void *)p };

	return v;
}

static int lmdb_lookup(struct tbl *t, const char *key, size_t klen, struct buf *value_r,
		       struct err *err)
{
	struct lmdb_db *db = t->priv;
	MDB_val k = lmdb_val(key, klen), v;
	MDB_txn *txn;
	int rc;

	if (klen == 0 || klen > (size_t)mdb_env_get_maxkeysize(db->env))
		return TBL_NOTFOUND;
	if (lmdb_read_txn(t, &txn, err) < 0)
		return TBL_TEMPFAIL;
	rc = mdb_get(txn, db->dbi, &k, &v);
	if (rc == 0)
		buf_set(value_r, v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	if (rc == 0)
		return TBL_FOUND;
	if (rc == MDB_NOTFOUND)
		return TBL_NOTFOUND;
	err_set(err, "table %s: read %s: %s", t->spec, t->file, mdb_strerror(rc));
	return TBL_TEMPFAIL;
}

static int lmdb_iterate(struct tbl *t, tbl_raw_fn *fn, void *ctx, struct err *err)
{
	struct lmdb_db *db = t->priv;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	if (lmdb_read_txn(t, &txn, err) < 0)
		return -1;
	if ((rc = mdb_cursor_open(txn, db->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return err_set(err, "table %s: cursor: %s", t->spec, mdb_strerror(rc));
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		if (fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, ctx) != 0)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return err_set(err, "table %s: read %s: %s", t->spec, t->file, mdb_strerror(rc));
	return 0;
}

/* lmdb_unlink_lock - remove the lock file of path; with data_too the
 * data file as well. */
static void lmdb_unlink_lock(const char *path, bool data_too)
{
	char *lock = xasprintf("%s-lock", path);

	unlink(lock);
	if (data_too)
		unlink(path);
	free(lock);
}

/* lmdb_wr_free - release a batch's environment and memory. */
static void lmdb_wr_free(struct lmdb_wr *w, bool remove_tmp)
{
	if (w->db != NULL && w->tmp == NULL) {
		lmdb_db_put(w->db);
	} else if (w->db != NULL) {
		mdb_env_close(w->db->env);
		free(w->db);
	}
	if (w->tmp != NULL)
		lmdb_unlink_lock(w->tmp, remove_tmp);
	free(w->tmp);
	free(w);
}

/* A rebuild (empty) of an existing file empties it inside the write
 * transaction; a first build, or a rebuild over a file that is not LMDB,
 * writes a temp file that commit renames into place. */
static int lmdb_wr_begin(struct tbl *t, bool empty, void **wh_r, struct err *err)
{
	struct lmdb_wr *w = xcalloc(1, sizeof(*w));
	struct err e;
	int rc;

	w->t = t;
	if (!empty || access(t->file, F_OK) == 0) {
		w->db = lmdb_db_get(t, t->file, true, empty ? &e : err);
		if (w->db == NULL && !empty)
			goto fail;
	}
	if (w->db == NULL) {
		w->tmp = tbl_tmp_name(t->file);
		w->db = xcalloc(1, sizeof(*w->db));
		if (lmdb_env_open(t, w->tmp, false, w->db, err) < 0) {
			free(w->db);
			w->db = NULL;
			goto fail;
		}
	}
	if ((rc = lmdb_txn(w->db->env, 0, &w->txn)) != 0) {
		err_set(err, "table %s: write: %s", t->spec, mdb_strerror(rc));
		goto fail;
	}
	if (empty && (rc = mdb_drop(w->txn, w->db->dbi, 0)) != 0) {
		err_set(err, "table %s: write: %s", t->spec, mdb_strerror(rc));
		mdb_txn_abort(w->txn);
		goto fail;
	}
	*wh_r = w;
	return 0;
fail:
	lmdb_wr_free(w, true);
	return -1;
}

static int lmdb_wr_put(void *wh, const char *key, size_t klen, const char *val, size_t vlen,
		       bool *dup_r, struct err *err)
{
	struct lmdb_wr *w = wh;
	MDB_val k = lmdb_val(key, klen), v = lmdb_val(val, vlen);
	int rc, max = mdb_env_get_maxkeysize(w->db->env);

	*dup_r = false;
	if (klen > (size_t)max)
		return err_set(err, "table %s: key longer than %d bytes", w->t->spec, max);
	rc = mdb_put(w->txn, w->db->dbi, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		/* mdb_put pointed v at the old value: store the new one. */
		*dup_r = true;
		v = lmdb_val(val, vlen);
		rc = mdb_put(w->txn, w->db->dbi, &k, &v, 0);
	}
	if (rc != 0)
		return err_set(err, "table %s: write: %s", w->t->spec, mdb_strerror(rc));
	return 0;
}

static int lmdb_wr_del(void *wh, const char *key, size_t klen, struct err *err)
{
	struct lmdb_wr *w = wh;
	MDB_val k = lmdb_val(key, klen);
	int rc;

	if (klen == 0 || klen > (size_t)mdb_env_get_maxkeysize(w->db->env))
		return TBL_NOTFOUND;
	rc = mdb_del(w->txn, w->db->dbi, &k, NULL);
	if (rc == 0)
		return TBL_FOUND;
	if (rc == MDB_NOTFOUND)
		return TBL_NOTFOUND;
	err_set(err, "table %s: write: %s", w->t->spec, mdb_strerror(rc));
	return TBL_TEMPFAIL;
}

static int lmdb_wr_commit(void *wh, struct err *err)
{
	struct lmdb_wr *w = wh;
	struct tbl *t = w->t;
	int rc = mdb_txn_commit(w->txn);
	char *tmp = w->tmp != NULL ? xstrdup(w->tmp) : NULL;

	if (rc != 0)
		err_set(err, "table %s: commit: %s", t->spec, mdb_strerror(rc));
	lmdb_wr_free(w, rc != 0);
	if (rc == 0 && tmp != NULL) {
		/* Readers of the old file keep its lock file; openers of the
		 * new one must not inherit that file's transaction state. */
		lmdb_unlink_lock(t->file, false);
		if (tbl_install(tmp, t->file, t->mode, err) < 0)
			rc = -1;
	}
	free(tmp);
	return rc == 0 ? 0 : -1;
}

static void lmdb_wr_abort(void *wh)
{
	struct lmdb_wr *w = wh;

	mdb_txn_abort(w->txn);
	lmdb_wr_free(w, true);
}

const struct tbl_ops tbl_ops_lmdb = {
	"lmdb", ".lmdb", true, lmdb_open, lmdb_close, lmdb_lookup, lmdb_iterate,
	lmdb_wr_begin, lmdb_wr_put, lmdb_wr_del, lmdb_wr_commit, lmdb_wr_abort,
};
