/*
 * tbl_source.c - the text sources of tables (postmap, postalias) and
 *           tbl_build, which compiles one into a table file.
 *     map:      key<whitespace>value
 *     aliases:  name: value         ("quoted name": value also works)
 * A line that starts with whitespace continues the entry above (joined with
 * one space); blank lines and lines whose first non-blank byte is '#' are
 * skipped.  CRLF line ends are accepted.
 * Touches:  tbl_parse_source: nothing but its arguments (pure, fuzzed);
 *           tbl_build: reads the source file, writes the table.
 * Input:    untrusted text: NUL bytes, bare CR and lines over 64 KiB are
 *           errors, never truncation.
 * Errors:   "FILE:LINE: what" in err; tbl_build leaves the old table in
 *           place on any error.  Duplicate keys: log_warn, the last wins.
 * See:      docs/tables.md.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "str.h"
#include "tbl.h"
#include "tbl_int.h"
#include "xmem.h"

#define TBL_SRC_LINE_MAX 65536

typedef int tbl_entry_fn(const char *key, const char *value, int line, void *ctx);

/* src_is_blank - whitespace that starts a continuation line. */
static bool src_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* src_split_map - "key whitespace value" in place: *key_r and *val_r point
 * into s. */
static int src_split_map(const char *name, int line, char *s, char **key_r, char **val_r,
			 struct err *err)
{
	char *p = s;

	while (*p != '\0' && !src_is_blank(*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*key_r = s;
	*val_r = str_trim(p);
	if (**val_r == '\0')
		return err_set(err, "%s:%d: expected \"key whitespace value\"", name, line);
	return 0;
}

/* src_split_alias - "name: value" or "\"name\": value" in place. */
static int src_split_alias(const char *name, int line, char *s, char **key_r, char **val_r,
			   struct err *err)
{
	char *p, *colon;

	if (*s == '"') {
		if ((p = strchr(s + 1, '"')) == NULL)
			return err_set(err, "%s:%d: missing closing '\"'", name, line);
		*p++ = '\0';
		*key_r = s + 1;
		while (src_is_blank(*p))
			p++;
		if (*p != ':')
			return err_set(err, "%s:%d: missing ':' after the name", name, line);
		colon = p;
	} else {
		if ((colon = strchr(s, ':')) == NULL)
			return err_set(err, "%s:%d: missing ':' after the name", name, line);
		*colon = '\0';
		*key_r = str_trim(s);
		if (strpbrk(*key_r, " \t") != NULL)
			return err_set(err, "%s:%d: whitespace in name \"%s\" (quote it)", name,
				       line, *key_r);
	}
	if (**key_r == '\0')
		return err_set(err, "%s:%d: empty name", name, line);
	*val_r = str_trim(colon + 1);
	if (**val_r == '\0')
		return err_set(err, "%s:%d: empty value for \"%s\"", name, line, *key_r);
	return 0;
}

/* src_entry - split one logical entry and hand it to fn. */
static int src_entry(const char *name, struct buf *entry, int line, int src_kind,
		     tbl_entry_fn *fn, void *ctx, struct err *err)
{
	char *key = NULL, *val = NULL;
	int rc;

	if (src_kind == TBL_SRC_ALIASES)
		rc = src_split_alias(name, line, entry->data, &key, &val, err);
	else
		rc = src_split_map(name, line, entry->data, &key, &val, err);
	if (rc == 0 && fn(key, val, line, ctx) < 0)
		rc = -1;
	buf_reset(entry);
	return rc;
}

int tbl_parse_source(const char *name, const char *text, size_t len, int src_kind,
		     tbl_entry_fn *fn, void *ctx, struct err *err)
{
	struct buf entry = BUF_INIT;
	size_t pos = 0, llen, i;
	int lineno = 0, entry_line = 0, rc = 0;

	while (rc == 0 && pos < len) {
		/* UNSAFE: line and llen stay inside text[pos, len). */
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);

		llen = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += llen + (nl != NULL);
		lineno++;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen > TBL_SRC_LINE_MAX) {
			rc = err_set(err, "%s:%d: line longer than %d bytes", name, lineno,
				     TBL_SRC_LINE_MAX);
		} else if (memchr(line, '\0', llen) != NULL) {
			rc = err_set(err, "%s:%d: NUL byte in line", name, lineno);
		} else if (memchr(line, '\r', llen) != NULL) {
			rc = err_set(err, "%s:%d: carriage return inside a line", name, lineno);
		}
		if (rc < 0)
			break;
		i = 0;
		while (i < llen && src_is_blank(line[i]))
			i++;
		if (i == llen || line[i] == '#')
			continue;
		if (i > 0) {
			if (entry_line == 0) {
				rc = err_set(err, "%s:%d: continuation line without an entry",
					     name, lineno);
			} else if (entry.len + 1 + (llen - i) > TBL_SRC_LINE_MAX) {
				rc = err_set(err, "%s:%d: entry longer than %d bytes", name,
					     entry_line, TBL_SRC_LINE_MAX);
			} else {
				buf_addc(&entry, ' ');
				buf_add(&entry, line + i, llen - i);
			}
			continue;
		}
		if (entry_line != 0)
			rc = src_entry(name, &entry, entry_line, src_kind, fn, ctx, err);
		buf_set(&entry, line, llen);
		entry_line = lineno;
	}
	if (rc == 0 && entry_line != 0)
		rc = src_entry(name, &entry, entry_line, src_kind, fn, ctx, err);
	buf_deinit(&entry);
	return rc;
}

struct build_ctx {
	struct tbl *t;
	const char *source;
	void *wh;
	struct err *err;
	struct buf k, v;
	size_t count;
};

/* build_one - store one parsed entry in the write batch. */
static int build_one(const char *key, const char *value, int line, void *ctx)
{
	struct build_ctx *bc = ctx;
	struct err e;
	bool dup;

	tbl_key_encode(bc->t, key, &bc->k);
	buf_sets(&bc->v, value);
	if (bc->t->flags & TBL_NUL)
		buf_add(&bc->v, "", 1);
	if (bc->t->ops->wr_put(bc->wh, bc->k.data, bc->k.len, bc->v.data, bc->v.len, &dup,
			       &e) < 0)
		return err_set(bc->err, "%s:%d: %s", bc->source, line, e.msg);
	if (dup)
		log_warn("%s:%d: duplicate key \"%s\": the last one wins", bc->source, line, key);
	bc->count++;
	return 0;
}

/* build_read - the whole source file; its mode in *mode_r. */
static char *build_read(const char *path, size_t *len_r, mode_t *mode_r, struct err *err)
{
	struct buf b = BUF_INIT;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		err_set_code(err, errno, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(err, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	*mode_r = st.st_mode & 0666;
	for (;;) {
		char *p = buf_reserve(&b, 65536);

		n = read(fd, p, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_commit(&b, (size_t)n);
	}
	if (n < 0) {
		err_set_code(err, errno, "read %s: %s", path, strerror(errno));
		close(fd);
		buf_deinit(&b);
		return NULL;
	}
	close(fd);
	*len_r = b.len;
	return buf_steal(&b);
}

int tbl_build(const char *spec, const char *default_type, const char *source, int src_kind,
	      int flags, struct err *err)
{
	struct build_ctx bc = { NULL, source, NULL, err, BUF_INIT, BUF_INIT, 0 };
	struct err e;
	size_t len;
	mode_t mode = 0644;
	char *text;
	int lock = -1, rc;

	if (err == NULL)
		bc.err = err = &e;
	if ((bc.t = tbl_open(spec, default_type, flags | TBL_RDWR, err)) == NULL)
		return -1;
	if (bc.t->ops->suffix == NULL) {
		err_set(err, "table %s: type %s cannot be built from a file", spec,
			bc.t->ops->type);
		tbl_close(&bc.t);
		return -1;
	}
	if ((text = build_read(source, &len, &mode, err)) == NULL) {
		tbl_close(&bc.t);
		return -1;
	}
	bc.t->mode = mode;
	rc = tbl_batch_begin(bc.t, true, &lock, &bc.wh, err);
	if (rc == 0) {
		rc = tbl_parse_source(source, text, len, src_kind, build_one, &bc, err);
		if (tbl_batch_end(bc.t, bc.wh, rc == 0, &lock, rc == 0 ? err : &e) < 0)
			rc = -1;
	}
	free(text);
	buf_deinit(&bc.k);
	buf_deinit(&bc.v);
	tbl_close(&bc.t);
	return rc;
}
