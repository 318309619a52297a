/*
 * tblcmd.h - what postmap and postalias share once a table exists: query
 * (-q KEY, -q -), delete (-d KEY), dump (-s) over a list of TYPE:FILE
 * tables, and the exit code Postfix's commands give for a lookup.
 */
#ifndef TERN_ADMIN_TBLCMD_H
#define TERN_ADMIN_TBLCMD_H

#include "sys.h"

struct tblcmd {
	char **specs;        /* TYPE:FILE arguments */
	int n;
	const char *deftype; /* for specs without TYPE: */
	int flags;           /* tbl_open flags (TBL_NOFOLD, TBL_NUL) */
	const char *sep;     /* between key and value: " " (postmap), ": " (postalias) */
};

/* tblcmd_query - key in each table in turn; print the first value (with
 * the key and sep in front when show_key).  TBL_* result. */
int tblcmd_query(const struct tblcmd *c, const char *key, bool show_key);
/* tblcmd_query_stdin - -q -: every key on stdin; the best result of all. */
int tblcmd_query_stdin(const struct tblcmd *c);
/* tblcmd_delete - remove key from every table; TBL_* result. */
int tblcmd_delete(const struct tblcmd *c, const char *key);
/* tblcmd_dump - -s: every pair of every table; cmd_fatal on errors. */
void tblcmd_dump(const struct tblcmd *c);
/* tblcmd_exit_code - TBL_FOUND 0, TBL_NOTFOUND 1, TBL_TEMPFAIL 2. */
int tblcmd_exit_code(int rc);

#endif
