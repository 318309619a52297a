/*
 * postalias.c - build, query and edit alias tables, like Postfix
 * postalias(1) and newaliases(1):
 *     postalias [-c DIR] [-f] [-N] [TYPE:FILE...]        build FILE.db / .lmdb
 *     postalias [-c DIR] [-f] [-N] -q KEY TYPE:FILE...   print KEY's value
 *     postalias [-c DIR] [-f] [-N] -d KEY TYPE:FILE...   delete KEY
 *     postalias [-c DIR] -s TYPE:FILE...                 print "key: value"
 *     newaliases [-c DIR]                                rebuild $alias_database
 * With no FILE, or when run as newaliases (argv[0]), every table in
 * $alias_database of DIR is rebuilt.  The source is "name: value" lines
 * (docs/tables.md).  A FILE without TYPE: uses $default_database_type.  DIR
 * is -c, else $TERN_CONFIG_DIR, else "."; a DIR without main.cf: defaults.
 * Touches:  reads DIR/main.cf and the source files; writes the tables
 *           (atomically: tbl_build, tbl_delete).
 * Security: an operator command run as the owner of the tables.
 * Errors:   "postalias: fatal: ..." and exit 1 for usage, configuration and
 *           build errors.  -q and -d exit 0 (found), 1 (not found) or 2
 *           (a table could not be read or written).
 * See:      Postfix postalias(1), docs/tables.md.
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
#include "str.h"
#include "tbl.h"

static const char *prog = "postalias";

static void usage(void) ATTR_NORETURN;
static void usage(void)
{
	fprintf(stderr, "usage: postalias [-c DIR] [-f] [-N] [TYPE:FILE...]\n"
			"       postalias [-c DIR] [-f] [-N] -q KEY|- TYPE:FILE...\n"
			"       postalias [-c DIR] [-f] [-N] -d KEY TYPE:FILE...\n"
			"       postalias [-c DIR] -s TYPE:FILE...\n"
			"       newaliases [-c DIR]\n");
	exit(1);
}

/* build - compile each table from its "name: value" source file. */
static void build(char **specs, size_t n, const char *deftype, int flags)
{
	struct err err;

	for (size_t i = 0; i < n; i++) {
		if (tbl_build(specs[i], deftype, tbl_spec_name(specs[i]), TBL_SRC_ALIASES, flags,
			      &err) < 0)
			cmd_fatal(1, "%s", err.msg);
	}
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
	struct tblcmd_opts o;
	struct cfg *cfg;
	struct tblcmd tc;
	const char *deftype;
	char **specs;
	size_t nspecs;
	int rc = 0;

	if (strcmp(base, "newaliases") == 0)
		prog = "newaliases";
	cmd_init(prog);
	argv += tblcmd_getopt(argc, argv, &o, usage);
	argc -= optind;
	if ((o.qkey != NULL || o.dkey != NULL || o.dump) && argc < 1)
		usage();
	cfg = cmd_load_cfg(o.dir, CMD_CFG_DEFAULTS, 1);
	deftype = cfg_get(cfg, "default_database_type");
	tc = (struct tblcmd){ argv, argc, deftype, o.flags, ": " };
	if (!tblcmd_run(&tc, &o, &rc)) {
		if (argc > 0 && strcmp(prog, "newaliases") != 0) {
			build(argv, (size_t)argc, deftype, o.flags);
		} else {
			specs = cfg_get_list(cfg, "alias_database", &nspecs);
			build(specs, nspecs, deftype, o.flags);
			str_split_free(&specs);
		}
	}
	cfg_free(&cfg);
	return rc;
}
