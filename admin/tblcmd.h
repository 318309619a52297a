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

/* The options postmap and postalias share. */
struct tblcmd_opts {
	const char *dir;  /* -c, else $TERN_CONFIG_DIR, else "." */
	const char *qkey; /* -q KEY ("-": keys on stdin) */
	const char *dkey; /* -d KEY */
	bool dump;	  /* -s */
	int flags;	  /* -f TBL_NOFOLD, -N TBL_NUL */
};

/* tblcmd_getopt - parse -c -d -f -N -q -s -v into o; usage() (which does
 * not return) for any other option or for more than one of -q, -d, -s.
 * Returns optind. */
int tblcmd_getopt(int argc, char **argv, struct tblcmd_opts *o, void (*usage)(void));
/* tblcmd_run - do what -q, -d or -s asked over c and return true with the
 * exit code in *rc_r; false when none was given (the caller builds). */
bool tblcmd_run(const struct tblcmd *c, const struct tblcmd_opts *o, int *rc_r);

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
