/*
 * tbl_bdb.c - hash: and btree: tables, Berkeley DB 5.3 files NAME.db opened
 *           without an environment (so db5.3_dump and friends read them).
 * Touches:  NAME.db; writes go to NAME.db.tmp.PID.N, renamed over NAME.db.
 * Security: the file is read with DB_RDONLY and never changed in place:
 *           every write batch copies the file, changes the copy and renames
 *           it over (copy-on-write), so readers see the old or the new
 *           table, never a half-written one.  BDB's own messages go to
 *           log_debug, not to stderr.
 * Errors:   BDB codes become err text ("db5.3: ..."); a file that is not a
 *           database of the expected type fails to open (TBL_TEMPFAIL).
 * Limits:   an update costs a copy of the whole file (docs/tables.md).
 */
#include "sys.h"

#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "tbl.h"
#include "tbl_int.h"
#include "xmem.h"

struct bdb_wr {
	struct tbl *t;
	DB *db;
	char *tmp;
};

/* bdb_type - the access method of the table's type. */
static DBTYPE bdb_type(const struct tbl *t)
{
	return t->ops == &tbl_ops_btree ? DB_BTREE : DB_HASH;
}

/* bdb_errcall - BDB's diagnostics are detail for debugging only: the
 * return codes carry what callers need. */
static void bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	log_debug("db5.3: %s", msg);
}

/* bdb_open_file - open path with BDB; err->code is the errno when there
 * is one (ENOENT for a missing file). */
static int bdb_open_file(const struct tbl *t, const char *path, u_int32_t flags, DB **db_r,
			 struct err *err)
{
	DB *db;
	int rc;

	if ((rc = db_create(&db, NULL, 0)) != 0)
		return err_set(err, "table %s: db_create: %s", t->spec, db_strerror(rc));
	db->set_errcall(db, bdb_errcall);
	rc = db->open(db, NULL, path, NULL, bdb_type(t), flags, 0600);
	if (rc != 0) {
		db->close(db, DB_NOSYNC);
		return err_set_code(err, rc > 0 ? rc : EINVAL, "table %s: open %s: %s", t->spec,
				    path, rc == EINVAL ? "not a Berkeley DB file of this type" :
				    db_strerror(rc));
	}
	*db_r = db;
	return 0;
}

static int bdb_open(struct tbl *t, struct err *err)
{
	DB *db;

	if (bdb_open_file(t, t->file, DB_RDONLY, &db, err) < 0)
		return -1;
	t->priv = db;
	return 0;
}

static void bdb_close(struct tbl *t)
{
	DB *db = t->priv;

	if (db != NULL)
		db->close(db, DB_NOSYNC);
	t->priv = NULL;
}

/* bdb_dbt - a DBT over caller bytes. */
static DBT bdb_dbt(const char *p, size_t n)
{
	DBT d;

	memset(&d, 0, sizeof(d));
	d.data = (void *)p;
	d.size = (u_int32_t)n;
	return d;
}

static int bdb_lookup(struct tbl *t, const char *key, size_t klen, struct buf *value_r,
		      struct err *err)
{
	DB *db = t->priv;
	DBT k = bdb_dbt(key, klen), v = bdb_dbt(NULL, 0);
	int rc = db->get(db, NULL, &k, &v, 0);

	if (rc == 0) {
		buf_set(value_r, v.data, v.size);
		return TBL_FOUND;
	}
	if (rc == DB_NOTFOUND || rc == DB_KEYEMPTY)
		return TBL_NOTFOUND;
	err_set(err, "table %s: read %s: %s", t->spec, t->file, db_strerror(rc));
	return TBL_TEMPFAIL;
}

static int bdb_iterate(struct tbl *t, tbl_raw_fn *fn, void *ctx, struct err *err)
{
	DB *db = t->priv;
	DBC *cur;
	DBT k = bdb_dbt(NULL, 0), v = bdb_dbt(NULL, 0);
	int rc;

	if ((rc = db->cursor(db, NULL, &cur, 0)) != 0)
		return err_set(err, "table %s: cursor: %s", t->spec, db_strerror(rc));
	while ((rc = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
		if (fn(k.data, k.size, v.data, v.size, ctx) != 0)
			break;
	}
	cur->close(cur);
	if (rc != 0 && rc != DB_NOTFOUND)
		return err_set(err, "table %s: read %s: %s", t->spec, t->file, db_strerror(rc));
	return 0;
}

/* bdb_copy - copy the current table file to the new temp file. */
static int bdb_copy(const char *from, const char *to, struct err *err)
{
	char chunk[65536];
	ssize_t n = 0;
	int in, out, rc = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set_code(err, errno, "open %s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		close(in);
		return err_set_code(err, errno, "create %s: %s", to, strerror(errno));
	}
	while (rc == 0 && (n = read(in, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(out, chunk, (size_t)n) != n)
			rc = err_set_code(err, errno, "copy %s to %s: %s", from, to,
					  strerror(errno));
	}
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = err_set_code(err, errno, "close %s: %s", to, strerror(errno));
	if (rc < 0)
		unlink(to);
	return rc;
}

static int bdb_wr_begin(struct tbl *t, bool empty, void **wh_r, struct err *err)
{
	struct bdb_wr *w = xcalloc(1, sizeof(*w));
	int rc;

	w->t = t;
	w->tmp = tbl_tmp_name(t->file);
	if (empty)
		rc = bdb_open_file(t, w->tmp, DB_CREATE | DB_EXCL, &w->db, err);
	else if ((rc = bdb_copy(t->file, w->tmp, err)) == 0 &&
		 (rc = bdb_open_file(t, w->tmp, 0, &w->db, err)) < 0)
		unlink(w->tmp);
	if (rc < 0) {
		free(w->tmp);
		free(w);
		return -1;
	}
	*wh_r = w;
	return 0;
}

static int bdb_wr_put(void *wh, const char *key, size_t klen, const char *val, size_t vlen,
		      bool *dup_r, struct err *err)
{
	struct bdb_wr *w = wh;
	DBT k = bdb_dbt(key, klen), v = bdb_dbt(val, vlen);
	int rc;

	*dup_r = false;
	rc = w->db->put(w->db, NULL, &k, &v, DB_NOOVERWRITE);
	if (rc == DB_KEYEXIST) {
		*dup_r = true;
		rc = w->db->put(w->db, NULL, &k, &v, 0);
	}
	if (rc != 0)
		return err_set(err, "table %s: write %s: %s", w->t->spec, w->tmp, db_strerror(rc));
	return 0;
}

static int bdb_wr_del(void *wh, const char *key, size_t klen, struct err *err)
{
	struct bdb_wr *w = wh;
	DBT k = bdb_dbt(key, klen);
	int rc = w->db->del(w->db, NULL, &k, 0);

	if (rc == 0)
		return TBL_FOUND;
	if (rc == DB_NOTFOUND || rc == DB_KEYEMPTY)
		return TBL_NOTFOUND;
	err_set(err, "table %s: write %s: %s", w->t->spec, w->tmp, db_strerror(rc));
	return TBL_TEMPFAIL;
}

static int bdb_wr_commit(void *wh, struct err *err)
{
	struct bdb_wr *w = wh;
	int rc = w->db->close(w->db, 0);

	if (rc != 0) {
		err_set(err, "table %s: write %s: %s", w->t->spec, w->tmp, db_strerror(rc));
		unlink(w->tmp);
	} else {
		rc = tbl_install(w->tmp, w->t->file, w->t->mode, err);
	}
	free(w->tmp);
	free(w);
	return rc == 0 ? 0 : -1;
}

static void bdb_wr_abort(void *wh)
{
	struct bdb_wr *w = wh;

	w->db->close(w->db, DB_NOSYNC);
	unlink(w->tmp);
	free(w->tmp);
	free(w);
}

const struct tbl_ops tbl_ops_hash = {
	"hash", ".db", false, bdb_open, bdb_close, bdb_lookup, bdb_iterate,
	bdb_wr_begin, bdb_wr_put, bdb_wr_del, bdb_wr_commit, bdb_wr_abort,
};

const struct tbl_ops tbl_ops_btree = {
	"btree", ".db", false, bdb_open, bdb_close, bdb_lookup, bdb_iterate,
	bdb_wr_begin, bdb_wr_put, bdb_wr_del, bdb_wr_commit, bdb_wr_abort,
};
