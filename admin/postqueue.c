/*
 * postqueue.c - queue control for users and operators, like Postfix's
 * postqueue(1):
 *     postqueue [-c DIR] -p          list the queue (mailq output)
 *     postqueue [-c DIR] -j          list the queue as JSON lines
 *     postqueue [-c DIR] -f          flush: retry all deferred mail now
 *     postqueue [-c DIR] -s SITE     flush mail for destination SITE
 *     postqueue [-c DIR] -i ID       flush the one message ID
 *     mailq [-c DIR]                 the same as postqueue -p
 * DIR is -c, else $TERN_CONFIG_DIR.
 * Touches:  reads DIR/main.cf; connects to public/showq; with showq down,
 *           reads the queue (-p, -j) or connects to private/qmgr (-f, -s,
 *           -i) directly.
 * Security: no privileges of its own: showq checks the caller's uid
 *           against authorized_mailq_users / authorized_flush_users; the
 *           direct fallback needs root or the mail owner.  IDs and sites
 *           from the command line are checked before anything is sent.
 * Errors:   "postqueue: fatal: ..." on stderr; exit 64 (usage), 77 (not
 *           authorized), 69 (mail system down: showq and qmgr unreachable
 *           or failing), 1 (configuration, queue not readable).
 * See:      Postfix postqueue(1), docs/commands.md "postqueue".
 */
#include "sys.h"

#include <signal.h>
#include <stdarg.h>
#include <sysexits.h>
#include <unistd.h>

#include "admin/postqueue.h"
#include "cfg.h"
#include "cmd.h"
#include "err.h"
#include "qflush.h"
#include "qid.h"

static const char *prog = "postqueue";

/* exit_code - the exit status for a failure: EX_NOPERM when showq refused
 * the caller, EX_UNAVAILABLE when the mail system is down, else dflt. */
static int exit_code(const struct err *err, int dflt)
{
	if (err->code == POSTQUEUE_E_DENIED)
		return EX_NOPERM;
	if (err->code == POSTQUEUE_E_DOWN)
		return EX_UNAVAILABLE;
	return dflt;
}

static void usage(void) ATTR_NORETURN;
static void usage(void)
{
	fprintf(stderr, "usage: %s [-c DIR] [-v] -p | -j | -f | -s SITE | -i ID\n", prog);
	exit(EX_USAGE);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("TERN_CONFIG_DIR");
	const char *site = NULL, *id = NULL, *base = strrchr(argv[0], '/');
	struct cfg *cfg;
	struct err err;
	int c, mode = 0, nmodes = 0;

	signal(SIGPIPE, SIG_IGN);
	base = base != NULL ? base + 1 : argv[0];
	if (strcmp(base, "mailq") == 0) {
		prog = "mailq";
		mode = 'p';
	}
	cmd_init(prog);
	while ((c = getopt(argc, argv, "c:fi:jps:v")) != -1) {
		switch (c) {
		case 'c':
			dir = optarg;
			break;
		case 'f':
		case 'j':
		case 'p':
			mode = c;
			nmodes++;
			break;
		case 'i':
			mode = c;
			nmodes++;
			id = optarg;
			break;
		case 's':
			mode = c;
			nmodes++;
			site = optarg;
			break;
		case 'v':
			break;
		default:
			usage();
		}
	}
	if (optind != argc || nmodes > 1 || mode == 0)
		usage();
	if (dir == NULL || dir[0] == '\0')
		cmd_fatal(EX_USAGE, "no instance directory: use -c DIR or set TERN_CONFIG_DIR");
	if (id != NULL && !qid_valid(id))
		cmd_fatal(EX_USAGE, "invalid queue ID: \"%.100s\"", id);
	if (site != NULL && !qflush_site_ok(site))
		cmd_fatal(EX_USAGE, "invalid site name: \"%.100s\"", site);
	if ((cfg = cfg_load(dir, &err)) == NULL)
		cmd_fatal(1, "%s", err.msg);
	if (mode == 'p' || mode == 'j') {
		if (postqueue_show(cfg, mode == 'j', stdout, &err) < 0)
			cmd_fatal(exit_code(&err, 1), "%s", err.msg);
	} else if (postqueue_flush(cfg, site, id, &err) < 0) {
		cmd_fatal(exit_code(&err, EX_UNAVAILABLE), "%s", err.msg);
	}
	cfg_free(&cfg);
	return 0;
}
