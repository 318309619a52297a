/*
 * tern.c - the tern admin command: option parsing, dispatch to the
 * subcommands (init, start, start-fg, stop, status, reload, check, user)
 * and the helpers they share (daemon directory, mail owner, table files).
 * Touches:  the instance directory named by -c DIR or $TERN_CONFIG_DIR.
 * Security: run by the operator, often as root: no shell is ever used,
 *           paths come from main.cf (trusted, owned by the operator) and
 *           the command line.  Nothing here parses network input.
 * Errors:   one "tern: ..." line per problem on stderr; exit codes in
 *           admin/tern.h (0 ok, 1 failed, 2 usage).
 * See:      docs/commands.md "tern", admin/tern.h.
 */
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/tern.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "priv.h"
#include "xmem.h"

/* tern_usage - print the synopsis; returns the usage exit code. */
static int tern_usage(void)
{
	fputs("usage: tern init DIR [--port-base N] [--hostname H] [--domain D] [--force]\n"
	      "       tern [-c DIR] [-v] start|start-fg|stop|status|reload|check\n"
	      "       tern [-c DIR] user add|passwd ADDR [PASSWORD]\n"
	      "       tern [-c DIR] user del ADDR\n"
	      "       tern [-c DIR] user list\n"
	      "DIR may also come from $TERN_CONFIG_DIR.  See docs/commands.md.\n",
	      stderr);
	return TERN_EXIT_USAGE;
}

struct cfg *tern_cfg_load(const char *dir, struct err *err)
{
	struct cfg *cfg;

	if (!log_debug_enabled())
		log_set_stderr(false);
	cfg = cfg_load(dir, err);
	log_set_stderr(true);
	return cfg;
}

int tern_ctx_load(struct tern_ctx *ctx)
{
	struct err err;

	if (ctx->cfg != NULL)
		return 0;
	err_clear(&err);
	ctx->cfg = tern_cfg_load(ctx->dir, &err);
	if (ctx->cfg == NULL) {
		fprintf(stderr, "tern: %s\n", err.msg);
		return -1;
	}
	return 0;
}

bool tern_program_ok(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int tern_mail_owner(struct cfg *cfg, uid_t *uid_r, gid_t *gid_r, struct err *err)
{
	const char *name = cfg_get(cfg, "mail_owner");

	if (priv_lookup_user(name, uid_r, gid_r, err) < 0) {
		if (err->code == ENOENT)
			err_set(err, "mail_owner account \"%s\" does not exist", name);
		return -1;
	}
	return 0;
}

int tern_auth_owner(struct cfg *cfg, uid_t *uid_r, gid_t *gid_r, struct err *err)
{
	const char *name = cfg_get(cfg, "auth_owner");

	if (priv_lookup_user(name, uid_r, gid_r, err) < 0) {
		if (err->code == ENOENT)
			err_set(err, "auth_owner account \"%s\" does not exist", name);
		return -1;
	}
	return 0;
}

int tern_table_file(const char *spec, const char *default_type, struct buf *path_r)
{
	const char *colon = strchr(spec, ':');
	const char *type = default_type != NULL && default_type[0] != '\0' ? default_type : "hash";
	size_t tlen = strlen(type);
	const char *name = spec;

	if (colon != NULL && colon[1] != '\0' && memchr(spec, '/', (size_t)(colon - spec)) == NULL) {
		type = spec;
		tlen = (size_t)(colon - spec);
		name = colon + 1;
	}
	buf_reset(path_r);
	if (name[0] == '\0')
		return -1;
	if ((tlen == 4 && strncmp(type, "hash", 4) == 0) ||
	    (tlen == 5 && strncmp(type, "btree", 5) == 0))
		buf_printf(path_r, "%s.db", name);
	else if (tlen == 4 && strncmp(type, "lmdb", 4) == 0)
		buf_printf(path_r, "%s.lmdb", name);
	else
		return -1;
	return 0;
}

int tern_secure_file(const char *path, uid_t uid, gid_t gid, mode_t mode, struct err *err)
{
	if (uid != (uid_t)-1 && lchown(path, uid, gid) < 0)
		return err_set_code(err, errno, "chown %s: %s", path, strerror(errno));
	if (chmod(path, mode) < 0)
		return err_set_code(err, errno, "chmod %s: %s", path, strerror(errno));
	return 0;
}

/* tern_ctx_dir - resolve the instance directory to an absolute path; -1
 * (printed) when it does not exist. */
static int tern_ctx_dir(struct tern_ctx *ctx, const char *dir)
{
	char real[PATH_MAX];

	if (dir == NULL || dir[0] == '\0') {
		fputs("tern: no instance directory: use -c DIR or set TERN_CONFIG_DIR\n", stderr);
		return -1;
	}
	if (realpath(dir, real) == NULL) {
		fprintf(stderr, "tern: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	ctx->dir = xstrdup(real);
	return 0;
}

/* tern_dispatch - run one instance subcommand; returns the exit code. */
static int tern_dispatch(struct tern_ctx *ctx, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct tern_ctx *ctx);
	} cmds[] = {
		{ "start", tern_ctl_start },   { "start-fg", tern_ctl_start_fg },
		{ "stop", tern_ctl_stop },     { "status", tern_ctl_status },
		{ "reload", tern_ctl_reload }, { "check", tern_ctl_check },
	};

	if (strcmp(argv[0], "user") == 0)
		return tern_user_main(ctx, argc, argv);
	for (size_t i = 0; i < N_ELEMENTS(cmds); i++) {
		if (strcmp(argv[0], cmds[i].name) != 0)
			continue;
		if (argc != 1) {
			fprintf(stderr, "tern: %s takes no arguments\n", argv[0]);
			return tern_usage();
		}
		return cmds[i].fn(ctx);
	}
	fprintf(stderr, "tern: unknown command \"%s\"\n", argv[0]);
	return tern_usage();
}

int main(int argc, char **argv)
{
	struct tern_ctx ctx = { NULL, NULL, false };
	const char *dir = getenv("TERN_CONFIG_DIR");
	bool dir_given = false;
	int i = 1;
	int rc;

	log_init("tern");
	umask(022);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			dir = argv[i + 1];
			dir_given = true;
			i += 2;
		} else if (strcmp(argv[i], "-v") == 0) {
			ctx.verbose = true;
			log_set_debug(true);
			i++;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("tern %s\n", TERN_VERSION);
			return TERN_EXIT_OK;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			tern_usage();
			return TERN_EXIT_OK;
		} else {
			fprintf(stderr, "tern: unknown option \"%s\"\n", argv[i]);
			return tern_usage();
		}
	}
	if (i >= argc)
		return tern_usage();
	if (strcmp(argv[i], "init") == 0)
		return tern_init_main(argc - i, argv + i, dir_given ? dir : NULL);
	if (strcmp(argv[i], "version") == 0) {
		printf("tern %s\n", TERN_VERSION);
		return TERN_EXIT_OK;
	}
	if (tern_ctx_dir(&ctx, dir) < 0)
		return TERN_EXIT_FAIL;
	rc = tern_dispatch(&ctx, argc - i, argv + i);
	cfg_free(&ctx.cfg);
	xfree(&ctx.dir);
	return rc;
}
