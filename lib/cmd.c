/*
 * cmd.c - shared plumbing of the admin commands (see cmd.h).
 * Touches:  stdout/stderr, the environment ($TERN_CONFIG_DIR), DIR/main.cf.
 * Errors:   cmd_fatal exits; nothing else fails.
 */
#include "sys.h"

#include <stdarg.h>
#include <unistd.h>

#include "cfg.h"
#include "cmd.h"
#include "err.h"
#include "log.h"

static char prog_name[64] = "tern";

void cmd_init(const char *prog)
{
	snprintf(prog_name, sizeof(prog_name), "%s", prog);
	log_init(prog);
	log_set_stderr(true);
}

const char *cmd_prog(void)
{
	return prog_name;
}

void cmd_fatal(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: fatal: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

const char *cmd_config_dir(const char *opt, const char *dflt)
{
	const char *env = getenv("TERN_CONFIG_DIR");

	if (opt != NULL && *opt != '\0')
		return opt;
	if (env != NULL && *env != '\0')
		return env;
	return dflt;
}

struct cfg *cmd_load_cfg(const char *dir, int flags, int fatal_code)
{
	char path[4096];
	struct err err;
	struct cfg *cfg;

	snprintf(path, sizeof(path), "%s/main.cf", dir);
	if ((flags & CMD_CFG_DEFAULTS) && access(path, F_OK) < 0)
		return cfg_new_defaults(dir);
	if ((cfg = cfg_load(dir, &err)) == NULL)
		cmd_fatal(fatal_code, "%s", err.msg);
	return cfg;
}
