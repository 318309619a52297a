/*
 * postconf.c - show and edit an instance's main.cf, show its master.cf:
 *     postconf [-c DIR] [-n] [-d] [-h] [-x] [name...]   show parameters
 *     postconf [-c DIR] [-e] name=value...              edit main.cf
 *     postconf [-c DIR] -X name...                      remove from main.cf
 *     postconf [-c DIR] -M [service[/type]...]          show master.cf
 * DIR is -c, else $TERN_CONFIG_DIR, else ".".  Output is Postfix's
 * "name = value" (value only with -h), sorted by name when no names are given.
 * Per-transport names (TRANSPORT_destination_rate_delay ...) are known
 * parameters (cfg_param_lookup): shown, and editable, like table entries.
 * Touches:  reads DIR/main.cf and DIR/master.cf; edits rewrite DIR/main.cf
 *           through cfg_edit_file (temp file, fsync, rename).
 * Security: an operator command, run as whoever may write the instance; it
 *           refuses values with control bytes, so an edit is always one line.
 * Errors:   "postconf: fatal: ..." and exit 1 on a bad option, an unreadable
 *           or invalid main.cf/master.cf, or a bad edit (unknown name, bad
 *           value); "postconf: warning: NAME: unknown parameter" and exit 0 for
 *           a query of an unknown name, as Postfix does.
 * See:      Postfix postconf(1), docs/configuration.md.
 */
#include "sys.h"

#include <errno.h>
#include <getopt.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "cmd.h"
#include "err.h"
#include "log.h"
#include "mastercf.h"
#include "str.h"
#include "xmem.h"

#define F_DEFAULTS 0x1  /* -d */
#define F_NONDEF 0x2    /* -n */
#define F_HIDE 0x4      /* -h */
#define F_EXPAND 0x8    /* -x */

static void usage(void) ATTR_NORETURN;
static void usage(void)
{
	fprintf(stderr, "usage: postconf [-c DIR] [-d] [-h] [-n] [-x] [name...]\n"
			"       postconf [-c DIR] [-e] name=value...\n"
			"       postconf [-c DIR] -X name...\n"
			"       postconf [-c DIR] -M [service[/type]...]\n");
	exit(1);
}

/* print_problems - main.cf warnings, one "postconf: warning:" line each. */
static void print_problems(const struct cfg *cfg)
{
	const char *p = cfg_problems(cfg);

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		fprintf(stderr, "postconf: warning: %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* print_param - one "name = value" line (or the value, with -h). */
static void print_param(struct cfg *cfg, const char *name, int flags)
{
	const char *v = (flags & F_EXPAND) ? cfg_get(cfg, name) : cfg_get_raw(cfg, name);

	if (v == NULL)
		v = "";
	if (flags & F_HIDE)
		printf("%s\n", v);
	else if (*v == '\0')
		printf("%s =\n", name);
	else
		printf("%s = %s\n", name, v);
}

/* struct names - a growable list of parameter names to print. */
struct names {
	const char **v;
	size_t n;
};

static void names_add(struct names *ns, const char *name)
{
	ns->v = xreallocarray(ns->v, ns->n + 1, sizeof(*ns->v));
	ns->v[ns->n++] = name;
}

/* add_unknown_set - cfg_foreach_set callback: names set but not in the table. */
static void add_unknown_set(const char *name, const char *raw, void *ctx)
{
	if (cfg_param_find(name) == NULL)
		names_add(ctx, name);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* show_params - the query modes. */
static int show_params(const char *dir, int flags, char **args, int nargs)
{
	struct err err;
	struct cfg *cfg;
	struct names ns = { NULL, 0 };

	if (flags & F_DEFAULTS) {
		cfg = cfg_new_defaults(dir);
	} else if ((cfg = cfg_load(dir, &err)) == NULL) {
		cmd_fatal(1, "%s", err.msg);
	}
	print_problems(cfg);
	if (nargs == 0) {
		size_t n;
		const struct cfg_param *p = cfg_params(&n);

		for (size_t i = 0; i < n; i++)
			names_add(&ns, p[i].name);
		cfg_foreach_set(cfg, add_unknown_set, &ns);
		qsort(ns.v, ns.n, sizeof(*ns.v), name_cmp);
		for (size_t i = 0; i < ns.n; i++)
			if (!(flags & F_NONDEF) || cfg_is_set(cfg, ns.v[i]))
				print_param(cfg, ns.v[i], flags);
	}
	for (int i = 0; i < nargs; i++) {
		if (cfg_param_lookup(args[i]) == NULL && !cfg_is_set(cfg, args[i]))
			fprintf(stderr, "postconf: warning: %s: unknown parameter\n", args[i]);
		else if (!(flags & F_NONDEF) || cfg_is_set(cfg, args[i]))
			print_param(cfg, args[i], flags);
	}
	free(ns.v);
	cfg_free(&cfg);
	return 0;
}

/* base_cfg - the current main.cf to validate edits against; the defaults
 * when it is missing or does not load. */
static struct cfg *base_cfg(const char *dir)
{
	struct err err;
	struct cfg *cfg = cfg_load(dir, &err);

	return cfg != NULL ? cfg : cfg_new_defaults(dir);
}

/* edit_params - name=value...: check every edit first, then apply them. */
static int edit_params(const char *dir, char **args, int nargs)
{
	char *path = xasprintf("%s/main.cf", dir);
	struct cfg *cfg = base_cfg(dir);
	char **names = xcalloc((size_t)nargs + 1, sizeof(char *));
	const char **values = xcalloc((size_t)nargs + 1, sizeof(char *));
	struct err err;
	int rc = 0;

	for (int i = 0; i < nargs && rc == 0; i++) {
		char *eq = strchr(args[i], '=');

		if (eq == NULL)
			cmd_fatal(1, "%s: edits take name=value", args[i]);
		names[i] = str_trim(xstrndup(args[i], (size_t)(eq - args[i])));
		values[i] = str_trim(eq + 1);
		if (cfg_param_lookup(names[i]) == NULL) {
			fprintf(stderr, "postconf: fatal: %s: unknown parameter\n", names[i]);
			rc = 1;
		} else if (cfg_set(cfg, names[i], values[i], &err) < 0) {
			fprintf(stderr, "postconf: fatal: %s\n", err.msg);
			rc = 1;
		}
	}
	for (int i = 0; i < nargs && rc == 0; i++) {
		if (cfg_edit_file(path, names[i], values[i], &err) < 0) {
			fprintf(stderr, "postconf: fatal: %s\n", err.msg);
			rc = 1;
		}
	}
	for (int i = 0; i < nargs; i++)
		free(names[i]);
	free(names);
	free(values);
	cfg_free(&cfg);
	free(path);
	return rc;
}

/* remove_params - -X name...: remove each name (known or not) from main.cf. */
static int remove_params(const char *dir, char **args, int nargs)
{
	char *path = xasprintf("%s/main.cf", dir);
	struct err err;
	int rc = 0;

	for (int i = 0; i < nargs && rc == 0; i++) {
		if (cfg_edit_file(path, args[i], NULL, &err) < 0) {
			fprintf(stderr, "postconf: fatal: %s\n", err.msg);
			rc = 1;
		}
	}
	free(path);
	return rc;
}

/* service_wanted - does service match one of the service[/type] filters? */
static bool service_wanted(const struct service *s, char **args, int nargs)
{
	const char *type = s->type == SERVICE_INET ? "inet" : "unix";

	if (nargs == 0)
		return true;
	for (int i = 0; i < nargs; i++) {
		const char *slash = strchr(args[i], '/');
		size_t n = slash != NULL ? (size_t)(slash - args[i]) : strlen(args[i]);

		if (strncmp(args[i], s->name, n) == 0 && s->name[n] == '\0' &&
		    (slash == NULL || strcmp(slash + 1, type) == 0))
			return true;
	}
	return false;
}

/* show_master - -M: each master.cf entry on one line, Postfix's columns. */
static int show_master(const char *dir, char **args, int nargs)
{
	struct cfg *cfg = base_cfg(dir);
	char *path = xasprintf("%s/master.cf", dir);
	struct mastercf *m;
	struct err err;

	m = mastercf_load(path, (unsigned int)cfg_get_int(cfg, "default_process_limit"), &err);
	cfg_free(&cfg);
	free(path);
	if (m == NULL)
		cmd_fatal(1, "%s", err.msg);
	for (size_t i = 0; i < m->count; i++) {
		const struct service *s = &m->services[i];
		char wakeup[32];

		if (!service_wanted(s, args, nargs))
			continue;
		snprintf(wakeup, sizeof(wakeup), "%u%s", s->wakeup, s->wakeup_if_used ? "?" : "");
		printf("%-10s %-5s %-7s %-7s %-7s %-7s %-7u %s", s->name,
		       s->type == SERVICE_INET ? "inet" : "unix", s->private_ ? "y" : "n",
		       s->unpriv ? "y" : "n", s->chroot ? "y" : "n", wakeup, s->maxproc,
		       s->command);
		for (size_t j = 0; j < s->argc; j++)
			printf(" %s", s->argv[j]);
		putchar('\n');
	}
	mastercf_free(&m);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("TERN_CONFIG_DIR");
	bool edit = false, remove = false, master = false;
	int flags = 0, c;

	cmd_init("postconf");
	log_set_stderr(false);
	if (dir == NULL || *dir == '\0')
		dir = ".";
	while ((c = getopt(argc, argv, "c:dehnxMX")) != -1) {
		switch (c) {
		case 'c': dir = optarg; break;
		case 'd': flags |= F_DEFAULTS; break;
		case 'e': edit = true; break;
		case 'h': flags |= F_HIDE; break;
		case 'n': flags |= F_NONDEF; break;
		case 'x': flags |= F_EXPAND; break;
		case 'M': master = true; break;
		case 'X': remove = true; break;
		default: usage();
		}
	}
	argv += optind;
	argc -= optind;
	for (int i = 0; i < argc && !remove && !master; i++)
		if (strchr(argv[i], '=') != NULL)
			edit = true;
	if ((int)edit + (int)remove + (int)master > 1 || ((edit || remove) && argc == 0))
		usage();
	if (master)
		return show_master(dir, argv, argc);
	if (remove)
		return remove_params(dir, argv, argc);
	if (edit)
		return edit_params(dir, argv, argc);
	return show_params(dir, flags, argv, argc);
}
