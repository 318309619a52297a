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
	const char *dir = getenv("TERN_CONFIG_DIR"), *qkey = NULL, *dkey = NULL, *deftype;
	struct cfg *cfg;
	struct tblcmd tc;
	bool dump_mode = false;
	int c, flags = 0, rc = 0;

	const char *base = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
	char **specs;
	size_t nspecs;

	if (strcmp(base, "newaliases") == 0)
		prog = "newaliases";
	cmd_init(prog);
	while ((c = getopt(argc, argv, "c:d:fNq:sv")) != -1) {
		switch (c) {
		case 'c':
			dir = optarg;
			break;
		case 'd':
			dkey = optarg;
			break;
		case 'f':
			flags |= TBL_NOFOLD;
			break;
		case 'N':
			flags |= TBL_NUL;
			break;
		case 'q':
			qkey = optarg;
			break;
		case 's':
			dump_mode = true;
			break;
		case 'v':
			log_set_debug(true);
			break;
		default:
			usage();
		}
	}
	if ((qkey != NULL) + (dkey != NULL) + dump_mode > 1 ||
	    ((qkey != NULL || dkey != NULL || dump_mode) && optind >= argc))
		usage();
	cfg = cmd_load_cfg(dir != NULL && *dir != '\0' ? dir : ".", CMD_CFG_DEFAULTS, 1);
	deftype = cfg_get(cfg, "default_database_type");
	argv += optind;
	argc -= optind;
	tc = (struct tblcmd){ argv, argc, deftype, flags, ": " };
	if (qkey != NULL && strcmp(qkey, "-") == 0) {
		rc = tblcmd_exit_code(tblcmd_query_stdin(&tc));
	} else if (qkey != NULL) {
		rc = tblcmd_exit_code(tblcmd_query(&tc, qkey, false));
	} else if (dkey != NULL) {
		rc = tblcmd_exit_code(tblcmd_delete(&tc, dkey));
	} else if (dump_mode) {
		tblcmd_dump(&tc);
	} else if (argc > 0 && strcmp(prog, "newaliases") != 0) {
		build(argv, (size_t)argc, deftype, flags);
	} else {
		specs = cfg_get_list(cfg, "alias_database", &nspecs);
		build(specs, nspecs, deftype, flags);
		str_split_free(&specs);
	}
	cfg_free(&cfg);
	return rc;
}
