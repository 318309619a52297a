/*
 * postmap.c - build, query and edit lookup tables, like Postfix postmap(1):
 *     postmap [-c DIR] [-f] [-N] TYPE:FILE...          build FILE.db / FILE.lmdb
 *     postmap [-c DIR] [-f] [-N] -q KEY TYPE:FILE...   print KEY's value
 *     postmap [-c DIR] [-f] [-N] -d KEY TYPE:FILE...   delete KEY
 *     postmap [-c DIR] -s TYPE:FILE...                 print "key value" lines
 * A FILE without TYPE: uses $default_database_type of DIR/main.cf.  DIR is
 * -c, else $TERN_CONFIG_DIR, else "."; a DIR without main.cf means defaults.
 * -q - reads keys from stdin, one a line, and prints "key value" per hit.
 * Touches:  reads DIR/main.cf and the source files; writes the tables
 *           (atomically: tbl_build, tbl_delete).
 * Security: an operator command run as the owner of the tables.
 * Errors:   "postmap: fatal: ..." and exit 1 for usage, configuration and
 *           build errors.  -q and -d exit 0 (found), 1 (not found) or 2
 *           (a table could not be read or written).
 * See:      Postfix postmap(1), docs/tables.md.
 */
#include "sys.h"

#include <stdarg.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "admin/tblcmd.h"
#include "cmd.h"
#include "err.h"
#include "log.h"
#include "tbl.h"

#define PROG "postmap"

static void usage(void) ATTR_NORETURN;
static void usage(void)
{
	fprintf(stderr, "usage: " PROG " [-c DIR] [-f] [-N] TYPE:FILE...\n"
			"       " PROG " [-c DIR] [-f] [-N] -q KEY|- TYPE:FILE...\n"
			"       " PROG " [-c DIR] [-f] [-N] -d KEY TYPE:FILE...\n"
			"       " PROG " [-c DIR] -s TYPE:FILE...\n");
	exit(1);
}

int main(int argc, char **argv)
{
	struct tblcmd_opts o;
	struct cfg *cfg;
	struct tblcmd tc;
	struct err err;
	const char *deftype;
	int rc = 0;

	cmd_init(PROG);
	argv += tblcmd_getopt(argc, argv, &o, usage);
	argc -= optind;
	if (argc < 1)
		usage();
	cfg = cmd_load_cfg(o.dir, CMD_CFG_DEFAULTS, 1);
	deftype = cfg_get(cfg, "default_database_type");
	tc = (struct tblcmd){ argv, argc, deftype, o.flags, " " };
	if (!tblcmd_run(&tc, &o, &rc)) {
		for (int i = 0; i < argc; i++) {
			if (tbl_build(argv[i], deftype, tbl_spec_name(argv[i]), TBL_SRC_MAP,
				      o.flags, &err) < 0)
				cmd_fatal(1, "%s", err.msg);
		}
	}
	cfg_free(&cfg);
	return rc;
}
