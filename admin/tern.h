/*
 * tern.h - private to the tern admin command (admin/tern*.c): the instance
 * context, the embedded templates and the helpers the subcommands share.
 * Exit codes of every subcommand: TERN_EXIT_OK, TERN_EXIT_FAIL (the action
 * failed or a check found problems), TERN_EXIT_USAGE (bad command line).
 * See: docs/commands.md "tern".
 */
#ifndef TERN_ADMIN_TERN_H
#define TERN_ADMIN_TERN_H

#include "sys.h"

#include <sys/types.h>

struct buf;
struct cfg;
struct err;

#define TERN_EXIT_OK 0
#define TERN_EXIT_FAIL 1
#define TERN_EXIT_USAGE 2

/* Templates compiled in from conf/main.cf and conf/master.cf by
 * mk/embed.sh ($(BUILD)/gen/conf_templates.c); NUL-terminated. */
extern const char tern_tmpl_main_cf[];
extern const size_t tern_tmpl_main_cf_len;
extern const char tern_tmpl_master_cf[];
extern const size_t tern_tmpl_master_cf_len;

/* struct tern_ctx - one instance as the subcommands see it. */
struct tern_ctx {
	char *dir;        /* absolute instance directory (realpath of -c DIR) */
	struct cfg *cfg;  /* DIR/main.cf, loaded by tern_ctx_load */
	bool verbose;     /* -v */
};

/* tern_cfg_load - cfg_load with lib/log's copy to stderr muted (unless
 * -v), since tern reports cfg_problems itself. */
struct cfg *tern_cfg_load(const char *dir, struct err *err) ATTR_WARN_UNUSED;

/* tern_ctx_load - load DIR/main.cf into ctx->cfg; on failure print the
 * reason ("tern: DIR/main.cf:3: ...") and return -1. */
int tern_ctx_load(struct tern_ctx *ctx);

/* tern_program_ok - true if path is a regular file we may execute. */
bool tern_program_ok(const char *path);

/* tern_auth_owner - uid and gid of $auth_owner (the account of the auth
 * service, owner of the password-hash table); -1 with err when missing. */
int tern_auth_owner(struct cfg *cfg, uid_t *uid_r, gid_t *gid_r, struct err *err)
	ATTR_WARN_UNUSED;
/* tern_mail_owner - uid and gid of $mail_owner; -1 with err when the
 * account does not exist. */
int tern_mail_owner(struct cfg *cfg, uid_t *uid_r, gid_t *gid_r, struct err *err)
	ATTR_WARN_UNUSED;

/* tern_table_file - the file behind a file table spec (hash:/x -> /x.db,
 * btree:/x -> /x.db, lmdb:/x -> /x.lmdb); a spec without TYPE: takes
 * default_type.  -1 for tables that have no file (static:, inline:). */
int tern_table_file(const char *spec, const char *default_type, struct buf *path_r);

/* tern_secure_file - when uid is not -1 chown path to uid:gid; then chmod
 * it to mode.  -1 with err. */
int tern_secure_file(const char *path, uid_t uid, gid_t gid, mode_t mode, struct err *err)
	ATTR_WARN_UNUSED;

/* tern_name_ok - a host or domain name: dot-separated labels of letters,
 * digits and inner hyphens (not at a label's ends), at most 253 bytes. */
bool tern_name_ok(const char *s);

/* tern_init_main - `tern init DIR [--port-base N] [--hostname H]
 * [--domain D] [--force]` (argv[0] is "init"); returns the exit code. */
int tern_init_main(int argc, char **argv, const char *cfg_dir);

/* tern_tls_make - a self-signed P-256 certificate for hostname (CN and
 * subjectAltName, 10 years) in cert (0644) and its key in key (0600), both
 * chowned to uid:gid when uid is not -1. */
int tern_tls_make(const char *cert, const char *key, const char *hostname, uid_t uid,
		  gid_t gid, struct err *err) ATTR_WARN_UNUSED;
/* tern_tls_check - the certificate and key load, match and are not
 * expired; *expiring_r is set when fewer than 30 days are left. */
int tern_tls_check(const char *cert, const char *key, bool *expiring_r, struct err *err)
	ATTR_WARN_UNUSED;

/* struct tern_check_result - what tern_check_run found. */
struct tern_check_result {
	unsigned int errors;    /* the instance must not start/reload */
	unsigned int warnings;  /* worth fixing; `tern check` still fails */
};

/* tern_check_run - validate the whole instance (main.cf, master.cf,
 * tables, TLS files, ownership and modes), printing every problem to
 * stderr as "tern: error: ..." or "tern: warning: ...".  ctx->cfg is
 * loaded when it was not (a broken main.cf is one of the errors). */
void tern_check_run(struct tern_ctx *ctx, struct tern_check_result *res);

/* tern_ctl_* - start, start-fg, stop, status, reload, check; each returns
 * the exit code. */
int tern_ctl_start(struct tern_ctx *ctx);
int tern_ctl_start_fg(struct tern_ctx *ctx);
int tern_ctl_stop(struct tern_ctx *ctx);
int tern_ctl_status(struct tern_ctx *ctx);
int tern_ctl_reload(struct tern_ctx *ctx);
int tern_ctl_check(struct tern_ctx *ctx);

/* tern_user_main - `tern user add|passwd|del|list ...` (argv[0] is
 * "user"); returns the exit code. */
int tern_user_main(struct tern_ctx *ctx, int argc, char **argv);

#endif
