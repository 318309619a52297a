/*
 * tbl.h - lookup tables behind one interface, named TYPE:NAME as in Postfix:
 *     hash:/path   Berkeley DB hash file /path.db  (built by postmap)
 *     btree:/path  Berkeley DB btree file /path.db
 *     lmdb:/path   LMDB file /path.lmdb
 *     static:VALUE every key maps to VALUE
 *     inline:{k1=v1, k2=v2}  a small table written in the spec itself
 * A lookup tells found (TBL_FOUND), not found (TBL_NOTFOUND) and try again
 * (TBL_TEMPFAIL: the file is missing, unreadable, locked or corrupt), which
 * callers map to 250 / 550 / 451.  Keys are folded to lower case when a
 * table is built and when it is searched (TBL_FOLD_CASE, the default).
 *
 * File tables notice when their file is replaced (postmap, tern user) and
 * reopen it, checking at most once per $table_reopen_check.  Updates through
 * tbl_update/tbl_delete are atomic to concurrent readers.
 * See: Postfix util/dict.h, docs/tables.md.
 */
#ifndef TERN_TBL_H
#define TERN_TBL_H

#include "sys.h"

struct err;
struct buf;

#define TBL_FOUND 1
#define TBL_NOTFOUND 0
#define TBL_TEMPFAIL (-1)

/* open flags */
#define TBL_RDONLY 0x0
#define TBL_RDWR 0x1      /* tbl_update / tbl_delete allowed */
#define TBL_CREATE 0x2    /* create an empty table when the file is missing */
#define TBL_NOFOLD 0x4    /* keep key case (postmap -f) */
#define TBL_NUL 0x8       /* write keys and values with their trailing NUL
			     (postmap -N); lookups try both forms anyway */

struct tbl;

/* tbl_open - open spec ("hash:/etc/x"); a spec without "TYPE:" uses
 * default_type ("hash" when NULL).  A missing file opened read-only is not an
 * error: lookups answer TBL_TEMPFAIL until it appears. */
struct tbl *tbl_open(const char *spec, const char *default_type, int flags,
		     struct err *err) ATTR_WARN_UNUSED;
void tbl_close(struct tbl **tp);

/* tbl_lookup - TBL_FOUND with the value in value_r, TBL_NOTFOUND, or
 * TBL_TEMPFAIL with the reason in err. */
int tbl_lookup(struct tbl *t, const char *key, struct buf *value_r, struct err *err);
/* tbl_update - insert or replace; 0 or -1. */
int tbl_update(struct tbl *t, const char *key, const char *value, struct err *err)
	ATTR_WARN_UNUSED;
/* tbl_delete - TBL_FOUND when deleted, TBL_NOTFOUND, TBL_TEMPFAIL on error. */
int tbl_delete(struct tbl *t, const char *key, struct err *err);
/* tbl_iterate - call fn for each pair (in key order for btree/lmdb); fn
 * returns 0 to go on, non-zero to stop.  0 or -1. */
int tbl_iterate(struct tbl *t, int (*fn)(const char *key, const char *value, void *ctx),
		void *ctx, struct err *err) ATTR_WARN_UNUSED;
/* tbl_spec - the spec as opened. */
const char *tbl_spec(const struct tbl *t);

/* tbl_spec_name - the NAME of "TYPE:NAME" (a pointer into spec; spec itself
 * when it has no type prefix). */
const char *tbl_spec_name(const char *spec);

/* tbl_set_reopen_check - process-wide: a file table stats its file at most
 * once per this many seconds (0: at every access) and reopens it when the
 * inode or mtime changed.  Default 1 ($table_reopen_check). */
void tbl_set_reopen_check(long seconds);

/* Source files (postmap, postalias). */
#define TBL_SRC_MAP 0     /* "key whitespace value" per entry (postmap) */
#define TBL_SRC_ALIASES 1 /* "name: value" per entry (postalias) */

/* tbl_build - compile the text file source into the table spec, replacing
 * it atomically (temp file, fsync, rename).  Lines starting with whitespace
 * continue the entry above; # comments and blank lines are skipped.  Errors
 * name source file and line.  Duplicate keys: the last one wins, with a
 * warning through log_warn. */
int tbl_build(const char *spec, const char *default_type, const char *source, int src_kind,
	      int flags, struct err *err) ATTR_WARN_UNUSED;
/* tbl_parse_source - parse source text, calling fn(key, value, line, ctx)
 * for each entry (fn returns -1 to stop with its own err).  Used by
 * tbl_build and by the fuzz target. */
int tbl_parse_source(const char *name, const char *text, size_t len, int src_kind,
		     int (*fn)(const char *key, const char *value, int line, void *ctx),
		     void *ctx, struct err *err) ATTR_WARN_UNUSED;

#endif
