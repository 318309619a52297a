/*
 * tern_check.c - `tern check` and the validation start and reload run
 * first: main.cf, master.cf (entries parse, commands exist and are
 * executable), every table named in main.cf opens and answers, the TLS
 * certificate and key load and match, and the instance tree has the
 * owners and modes the daemons rely on.  Every problem is reported; the
 * check goes on after each one.
 * Touches:  reads the instance directory, main.cf's tables and TLS files;
 *           writes nothing.
 * Security: what it flags is what lets another local user read secrets or
 *           plant files (group/world-writable queue or config, readable key
 *           or users table), so it is strict about modes.
 * Errors:   "tern: error: ..." / "tern: warning: ..." lines on stderr, with
 *           file and line for configuration problems; counted in
 *           struct tern_check_result.
 * See:      admin/tern.h, docs/commands.md "tern check".
 */
#include "sys.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/tern.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "mastercf.h"
#include "paths.h"
#include "str.h"
#include "tbl.h"

/* tern_problem - print one problem and count it. */
static void tern_problem(struct tern_check_result *res, bool error, const char *fmt, ...)
	ATTR_PRINTF(3, 4);
static void tern_problem(struct tern_check_result *res, bool error, const char *fmt, ...)
{
	va_list ap;

	fputs(error ? "tern: error: " : "tern: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (error)
		res->errors++;
	else
		res->warnings++;
}

/* tern_check_cfg - load main.cf (a defaults-only cfg when it is broken,
 * so the other checks still run) and report its warnings. */
static struct cfg *tern_check_cfg(struct tern_ctx *ctx, struct tern_check_result *res)
{
	struct err err;
	char **lines;
	size_t n;

	err_clear(&err);
	if (ctx->cfg == NULL)
		ctx->cfg = tern_cfg_load(ctx->dir, &err);
	if (ctx->cfg == NULL) {
		tern_problem(res, true, "%s", err.msg);
		return cfg_new_defaults(ctx->dir);
	}
	lines = str_split(cfg_problems(ctx->cfg), "\n", &n);
	for (size_t i = 0; i < n; i++)
		tern_problem(res, false, "%s", lines[i]);
	str_split_free(&lines);
	return NULL;
}

/* tern_check_master - master.cf and the programs it names. */
static void tern_check_master(struct tern_ctx *ctx, struct cfg *cfg,
			      struct tern_check_result *res)
{
	struct buf path = BUF_INIT, dd = BUF_INIT, prog = BUF_INIT;
	struct mastercf *mcf;
	struct err err;
	long maxproc = cfg_get_int(cfg, "default_process_limit");

	err_clear(&err);
	if (paths_daemon_dir(cfg, &dd, &err) < 0) {
		tern_problem(res, true, "daemon directory: %s", err.msg);
	} else {
		buf_printf(&prog, "%s/master", buf_cstr(&dd));
		if (!tern_program_ok(buf_cstr(&prog)))
			tern_problem(res, true, "%s: master program missing or not executable",
				     buf_cstr(&prog));
	}
	buf_printf(&path, "%s/master.cf", ctx->dir);
	mcf = mastercf_load(buf_cstr(&path), maxproc > 0 ? (unsigned int)maxproc : 100, &err);
	if (mcf == NULL) {
		tern_problem(res, true, "%s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < mcf->count; i++) {
		const struct service *s = &mcf->services[i];

		buf_reset(&prog);
		if (s->command[0] == '/')
			buf_sets(&prog, s->command);
		else
			buf_printf(&prog, "%s/%s", buf_cstr(&dd), s->command);
		if (!tern_program_ok(buf_cstr(&prog)))
			tern_problem(res, true,
				     "%s:%d: service %s: command %s not found or not executable",
				     buf_cstr(&path), s->line, s->name, buf_cstr(&prog));
	}
	mastercf_free(&mcf);
out:
	buf_deinit(&path);
	buf_deinit(&dd);
	buf_deinit(&prog);
}

/* tern_check_mode - a file's mode against what must not be set; owner
 * must be want_uid unless that is -1.  Returns the stat result. */
static int tern_check_mode(struct tern_check_result *res, const char *path, bool want_dir,
			   mode_t forbidden, uid_t want_uid, const char *why)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		tern_problem(res, true, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		tern_problem(res, true, "%s: not a %s", path,
			     want_dir ? "directory" : "regular file");
		return -1;
	}
	if (want_uid != (uid_t)-1 && st.st_uid != want_uid)
		tern_problem(res, true, "%s: owned by uid %u, should be uid %u (mail_owner)",
			     path, (unsigned int)st.st_uid, (unsigned int)want_uid);
	if ((st.st_mode & forbidden) != 0)
		tern_problem(res, true, "%s: mode %04o is unsafe: %s", path,
			     (unsigned int)(st.st_mode & 07777), why);
	return 0;
}

/* tern_check_tree - owners and modes of the instance directory. */
static void tern_check_tree(struct tern_ctx *ctx, struct cfg *cfg, struct tern_check_result *res)
{
	static const struct {
		const char *param; /* directory parameter, or NULL: queue subdir */
		const char *sub;
		mode_t forbidden;
	} dirs[] = {
		{ "queue_directory", "", 022 },	  { NULL, "incoming", 077 },
		{ NULL, "active", 077 },	  { NULL, "deferred", 077 },
		{ NULL, "hold", 077 },		  { NULL, "corrupt", 077 },
		{ NULL, "defer", 077 },		  { NULL, "bounce", 077 },
		{ NULL, "private", 077 },	  { NULL, "public", 026 },
		{ "virtual_mailbox_base", "", 022 }, { "data_directory", "", 022 },
	};
	static const char *const config_files[] = { "", "/main.cf", "/master.cf" };
	struct buf path = BUF_INIT;
	struct err err;
	uid_t uid = geteuid();
	gid_t gid;
	const char *log = cfg_get(cfg, "maillog_file");

	err_clear(&err);
	if (tern_mail_owner(cfg, &uid, &gid, &err) < 0) {
		tern_problem(res, geteuid() == 0, "%s", err.msg);
		uid = (uid_t)-1;
	}
	if (geteuid() == 0) {
		uid_t auid;
		gid_t agid;

		if (tern_auth_owner(cfg, &auid, &agid, &err) < 0)
			tern_problem(res, true, "%s", err.msg);
		else if (auid == 0)
			tern_problem(res, true, "auth_owner %s is root: the auth service must not "
				     "run as root", cfg_get(cfg, "auth_owner"));
	}
	if (geteuid() != 0)
		uid = geteuid(); /* a plain user's instance runs as that user */
	for (size_t i = 0; i < N_ELEMENTS(dirs); i++) {
		buf_reset(&path);
		if (dirs[i].param != NULL)
			buf_sets(&path, cfg_get(cfg, dirs[i].param));
		else
			buf_printf(&path, "%s/%s", cfg_get(cfg, "queue_directory"), dirs[i].sub);
		tern_check_mode(res, buf_cstr(&path), true, dirs[i].forbidden, uid,
				dirs[i].forbidden == 022 ? "group or other may write"
							 : "group or other may enter");
	}
	if (log[0] != '\0' && access(log, F_OK) == 0)
		tern_check_mode(res, log, false, 022, uid, "group or other may write");
	for (size_t i = 0; i < N_ELEMENTS(config_files); i++) {
		buf_reset(&path);
		buf_printf(&path, "%s%s", ctx->dir, config_files[i]);
		tern_check_mode(res, buf_cstr(&path), i == 0, 022, (uid_t)-1,
				"group or other may change the configuration");
	}
	buf_deinit(&path);
}

/* tern_check_one_table - open spec and probe it with one lookup. */
static void tern_check_one_table(struct cfg *cfg, const char *param, const char *spec,
				 struct tern_check_result *res)
{
	const char *deftype = cfg_get(cfg, "default_database_type");
	struct buf value = BUF_INIT, file = BUF_INIT;
	struct err err;
	struct tbl *t;
	struct stat st;

	err_clear(&err);
	t = tbl_open(spec, deftype, TBL_RDONLY, &err);
	if (t == NULL) {
		tern_problem(res, true, "%s: %s", param, err.msg);
		goto out;
	}
	if (tbl_lookup(t, "postmaster", &value, &err) == TBL_TEMPFAIL)
		tern_problem(res, true, "%s: table %s does not answer: %s", param, spec, err.msg);
	tbl_close(&t);
	if (strcmp(param, "virtual_user_maps") == 0 &&
	    tern_table_file(spec, deftype, &file) == 0 && stat(buf_cstr(&file), &st) == 0) {
		uid_t auid;
		gid_t agid;

		if ((st.st_mode & 007) != 0)
			tern_problem(res, true, "%s: mode %04o: password hashes readable by any user",
				     buf_cstr(&file), (unsigned int)(st.st_mode & 07777));
		if (geteuid() == 0 && tern_auth_owner(cfg, &auid, &agid, &err) == 0 &&
		    st.st_uid != auid)
			tern_problem(res, true, "%s: owned by uid %u, not by auth_owner %s (uid %u): "
				     "chown it, or the auth service cannot read it",
				     buf_cstr(&file), (unsigned int)st.st_uid,
				     cfg_get(cfg, "auth_owner"), (unsigned int)auid);
	}
out:
	if (value.data != NULL)
		explicit_bzero(value.data, value.cap);
	buf_deinit(&value);
	buf_deinit(&file);
}

/* tern_check_tables - every *_maps parameter and alias_database. */
static void tern_check_tables(struct cfg *cfg, struct tern_check_result *res)
{
	size_t nparams;
	const struct cfg_param *params = cfg_params(&nparams);

	for (size_t i = 0; i < nparams; i++) {
		const char *name = params[i].name;
		size_t len = strlen(name);
		char **specs;
		size_t n;

		if (!(len > 5 && strcmp(name + len - 5, "_maps") == 0) &&
		    strcmp(name, "alias_database") != 0)
			continue;
		specs = str_split(cfg_get(cfg, name), ", \t", &n);
		for (size_t j = 0; j < n; j++)
			tern_check_one_table(cfg, name, specs[j], res);
		str_split_free(&specs);
	}
}

/* tern_check_tls - certificate and key: load, match, dates, key mode. */
static void tern_check_tls(struct cfg *cfg, struct tern_check_result *res)
{
	const char *cert = cfg_get(cfg, "smtpd_tls_cert_file");
	const char *key = cfg_get(cfg, "smtpd_tls_key_file");
	struct err err;
	struct stat st;
	bool expiring;

	if (cert[0] == '\0' && key[0] == '\0')
		return;
	err_clear(&err);
	if (tern_tls_check(cert, key, &expiring, &err) < 0)
		tern_problem(res, true, "%s", err.msg);
	else if (expiring)
		tern_problem(res, false, "certificate %s expires within 30 days", cert);
	if (stat(key, &st) == 0) {
		if ((st.st_mode & 007) != 0)
			tern_problem(res, true, "%s: private key mode %04o: readable by any user",
				     key, (unsigned int)(st.st_mode & 07777));
		else if ((st.st_mode & 070) != 0)
			tern_problem(res, false, "%s: private key mode %04o: readable by its group",
				     key, (unsigned int)(st.st_mode & 07777));
	}
}

void tern_check_run(struct tern_ctx *ctx, struct tern_check_result *res)
{
	struct cfg *fallback;
	struct cfg *cfg;

	res->errors = 0;
	res->warnings = 0;
	fallback = tern_check_cfg(ctx, res);
	cfg = fallback != NULL ? fallback : ctx->cfg;
	tern_check_master(ctx, cfg, res);
	tern_check_tables(cfg, res);
	tern_check_tls(cfg, res);
	tern_check_tree(ctx, cfg, res);
	cfg_free(&fallback);
}
