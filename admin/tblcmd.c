/*
 * tblcmd.c - the options, table queries, deletes and dumps postmap and
 * postalias share (see tblcmd.h).
 * Touches:  the named tables (read; read-write for delete), stdin, stdout.
 * Errors:   lookups report TBL_TEMPFAIL with a warning on stderr; a dump
 *           that cannot read a table is fatal.
 */
#include "sys.h"

#include <stdlib.h>
#include <unistd.h>

#include "admin/tblcmd.h"
#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "log.h"
#include "tbl.h"

int tblcmd_query(const struct tblcmd *c, const char *key, bool show_key)
{
	struct buf val = BUF_INIT;
	struct err err;
	int rc = TBL_NOTFOUND;

	for (int i = 0; i < c->n && rc == TBL_NOTFOUND; i++) {
		struct tbl *t = tbl_open(c->specs[i], c->deftype, c->flags, &err);

		if (t == NULL || (rc = tbl_lookup(t, key, &val, &err)) == TBL_TEMPFAIL) {
			fprintf(stderr, "%s: warning: %s\n", cmd_prog(), err.msg);
			rc = TBL_TEMPFAIL;
		} else if (rc == TBL_FOUND) {
			printf("%s%s%s\n", show_key ? key : "", show_key ? c->sep : "",
			       buf_cstr(&val));
		}
		tbl_close(&t);
	}
	buf_deinit(&val);
	return rc;
}

int tblcmd_query_stdin(const struct tblcmd *c)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int best = TBL_NOTFOUND, rc;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		rc = tblcmd_query(c, line, true);
		if (rc == TBL_TEMPFAIL || best == TBL_TEMPFAIL)
			best = TBL_TEMPFAIL;
		else if (rc == TBL_FOUND)
			best = TBL_FOUND;
	}
	free(line);
	return best;
}

int tblcmd_delete(const struct tblcmd *c, const char *key)
{
	struct err err;
	int rc = TBL_NOTFOUND;

	for (int i = 0; i < c->n; i++) {
		struct tbl *t = tbl_open(c->specs[i], c->deftype, c->flags | TBL_RDWR, &err);
		int r = t == NULL ? TBL_TEMPFAIL : tbl_delete(t, key, &err);

		if (r == TBL_TEMPFAIL) {
			fprintf(stderr, "%s: warning: %s\n", cmd_prog(), err.msg);
			rc = TBL_TEMPFAIL;
		} else if (r == TBL_FOUND && rc != TBL_TEMPFAIL) {
			rc = TBL_FOUND;
		}
		tbl_close(&t);
	}
	return rc;
}

/* print_pair - tbl_iterate callback for tblcmd_dump. */
static int print_pair(const char *key, const char *value, void *ctx)
{
	const struct tblcmd *c = ctx;

	printf("%s%s%s\n", key, c->sep, value);
	return 0;
}

void tblcmd_dump(const struct tblcmd *c)
{
	struct err err;

	for (int i = 0; i < c->n; i++) {
		struct tbl *t = tbl_open(c->specs[i], c->deftype, c->flags, &err);

		if (t == NULL || tbl_iterate(t, print_pair, (void *)c, &err) < 0)
			cmd_fatal(1, "%s", err.msg);
		tbl_close(&t);
	}
}

int tblcmd_exit_code(int rc)
{
	return rc == TBL_FOUND ? 0 : rc == TBL_NOTFOUND ? 1 : 2;
}

int tblcmd_getopt(int argc, char **argv, struct tblcmd_opts *o, void (*usage)(void))
{
	int c;

	memset(o, 0, sizeof(*o));
	o->dir = getenv("TERN_CONFIG_DIR");
	while ((c = getopt(argc, argv, "c:d:fNq:sv")) != -1) {
		switch (c) {
		case 'c':
			o->dir = optarg;
			break;
		case 'd':
			o->dkey = optarg;
			break;
		case 'f':
			o->flags |= TBL_NOFOLD;
			break;
		case 'N':
			o->flags |= TBL_NUL;
			break;
		case 'q':
			o->qkey = optarg;
			break;
		case 's':
			o->dump = true;
			break;
		case 'v':
			log_set_debug(true);
			break;
		default:
			usage();
		}
	}
	if ((o->qkey != NULL) + (o->dkey != NULL) + o->dump > 1)
		usage();
	if (o->dir == NULL || *o->dir == '\0')
		o->dir = ".";
	return optind;
}

bool tblcmd_run(const struct tblcmd *c, const struct tblcmd_opts *o, int *rc_r)
{
	*rc_r = 0;
	if (o->qkey != NULL && strcmp(o->qkey, "-") == 0)
		*rc_r = tblcmd_exit_code(tblcmd_query_stdin(c));
	else if (o->qkey != NULL)
		*rc_r = tblcmd_exit_code(tblcmd_query(c, o->qkey, false));
	else if (o->dkey != NULL)
		*rc_r = tblcmd_exit_code(tblcmd_delete(c, o->dkey));
	else if (o->dump)
		tblcmd_dump(c);
	else
		return false;
	return true;
}
