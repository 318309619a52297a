/*
 * tern_init.c - `tern init DIR`: create a ready instance directory from the
 * embedded templates: main.cf, master.cf, queue/ mail/ run/ log/ tls/, a
 * self-signed certificate and the empty users and aliases tables.
 * Touches:  DIR and what is under it; as root also the account database
 *           (useradd, for a missing mail owner or auth service account).
 * Security: as root the queue, mail, run and log trees and the tables go to
 *           the mail owner with modes that keep other users out (private
 *           0700, public 0711, key 0600, users table 0600); main.cf and
 *           master.cf stay root's.  useradd runs by fork/execv with a fixed
 *           argv, never a shell.  Existing tables, aliases and TLS files are
 *           kept on --force: only main.cf and master.cf are rewritten.
 * Errors:   "tern: ..." on stderr and exit 1; bad options exit 2.
 * See:      docs/commands.md "tern init", conf/main.cf, conf/master.cf.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin/tern.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "paths.h"
#include "safefile.h"
#include "str.h"
#include "tbl.h"
#include "xmem.h"

#define TERN_INIT_OWNER "tern"
/* TERN_INIT_AUTH_OWNER - the account of the auth service (auth_owner). */
#define TERN_INIT_AUTH_OWNER "tern-auth"

struct tern_init_opts {
	const char *dir;
	const char *hostname;
	const char *domain;
	unsigned int port_base;
	bool force;
};

/* struct tern_var - one @NAME@ template placeholder and its value. */
struct tern_var {
	const char *name;
	char *value;
};

static const struct {
	const char *var;
	const char *label;
	unsigned int port;
} tern_ports[] = {
	{ "PORT_SMTP", "smtp", 25 },	 { "PORT_SUBMISSION", "submission", 587 },
	{ "PORT_SMTPS", "smtps", 465 },	 { "PORT_POP3", "pop3", 110 },
	{ "PORT_IMAP", "imap", 143 },	 { "PORT_POP3S", "pop3s", 995 },
	{ "PORT_IMAPS", "imaps", 993 },
};

static const char tern_aliases_text[] =
	"# aliases - local aliases, \"name: target, target...\" per entry.\n"
	"# Rebuild the table after editing: newaliases -c DIR\n"
	"#\n"
	"# Uncomment and point these at a mailbox that is read:\n"
	"#postmaster: root\n"
	"#abuse: postmaster\n"
	"#MAILER-DAEMON: postmaster\n";

bool tern_name_ok(const char *s)
{
	size_t len = strlen(s);
	size_t label = 0;

	if (len == 0 || len > 253 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return s[len - 1] != '-';
}

/* tern_init_parse - the options after "init"; -1 (printed) on error. */
static int tern_init_parse(int argc, char **argv, const char *cfg_dir,
			   struct tern_init_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		const char *eq = strchr(a, '=');
		size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);

		if (strcmp(a, "--force") == 0 || strcmp(a, "-f") == 0) {
			o->force = true;
			continue;
		}
		if (a[0] != '-') {
			if (o->dir != NULL) {
				fprintf(stderr, "tern: init: more than one DIR\n");
				return -1;
			}
			o->dir = a;
			continue;
		}
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		if (val == NULL) {
			fprintf(stderr, "tern: init: %s needs a value\n", a);
			return -1;
		}
		if (nlen == 11 && strncmp(a, "--port-base", nlen) == 0) {
			if (str_to_uint(val, &o->port_base) < 0 || o->port_base > 65535 - 995) {
				fprintf(stderr, "tern: init: bad --port-base \"%s\" (0..%d)\n",
					val, 65535 - 995);
				return -1;
			}
		} else if (nlen == 10 && strncmp(a, "--hostname", nlen) == 0) {
			o->hostname = val;
		} else if (nlen == 8 && strncmp(a, "--domain", nlen) == 0) {
			o->domain = val;
		} else {
			fprintf(stderr, "tern: init: unknown option \"%.*s\"\n", (int)nlen, a);
			return -1;
		}
	}
	if (o->dir == NULL)
		o->dir = cfg_dir;
	if (o->dir == NULL) {
		fprintf(stderr, "tern: init: no DIR given\n");
		return -1;
	}
	if (o->hostname != NULL && !tern_name_ok(o->hostname)) {
		fprintf(stderr, "tern: init: bad --hostname \"%s\"\n", o->hostname);
		return -1;
	}
	if (o->domain != NULL && !tern_name_ok(o->domain)) {
		fprintf(stderr, "tern: init: bad --domain \"%s\"\n", o->domain);
		return -1;
	}
	return 0;
}

/* tern_expand - copy template tmpl to out, replacing @NAME@ by its value
 * and @IF:prog@ by nothing when DAEMON_DIR/prog is an executable, else
 * by "#" (the entry is left commented out).  An unknown @NAME@ in a
 * template is our bug: -1 with err. */
static int tern_expand(const char *tmpl, const struct tern_var *vars, size_t nvars,
		       const char *daemon_dir, struct buf *out, struct err *err)
{
	const char *p = tmpl;
	struct buf path = BUF_INIT;

	buf_reset(out);
	while (*p != '\0') {
		const char *at = strchr(p, '@');
		const char *end;
		size_t n;
		bool done = false;

		if (at == NULL) {
			buf_adds(out, p);
			break;
		}
		buf_add(out, p, (size_t)(at - p));
		end = at + 1;
		while ((*end >= 'A' && *end <= 'Z') || (*end >= 'a' && *end <= 'z') ||
		       (*end >= '0' && *end <= '9') || *end == '_' || *end == ':' || *end == '-')
			end++;
		n = (size_t)(end - at - 1);
		if (*end != '@' || n == 0) {
			buf_addc(out, '@');
			p = at + 1;
			continue;
		}
		if (n > 3 && strncmp(at + 1, "IF:", 3) == 0) {
			buf_reset(&path);
			buf_printf(&path, "%s/%.*s", daemon_dir, (int)(n - 3), at + 4);
			if (!tern_program_ok(buf_cstr(&path)))
				buf_addc(out, '#');
			done = true;
		}
		for (size_t i = 0; !done && i < nvars; i++) {
			if (strlen(vars[i].name) == n && strncmp(vars[i].name, at + 1, n) == 0) {
				buf_adds(out, vars[i].value);
				done = true;
			}
		}
		if (!done) {
			buf_deinit(&path);
			return err_set(err, "template placeholder @%.*s@ unknown", (int)n, at + 1);
		}
		p = end + 1;
	}
	buf_deinit(&path);
	return 0;
}

/* tern_init_account - as root the system account name (created with
 * useradd when missing, what says what it is for), else the invoking user
 * (uid -1: no chown). */
static int tern_init_account(const char *name, const char *what, struct buf *name_r,
			     uid_t *uid_r, gid_t *gid_r, struct err *err)
{
	struct passwd *pw;
	pid_t pid;
	int status;

	*uid_r = (uid_t)-1;
	*gid_r = (gid_t)-1;
	if (geteuid() != 0) {
		pw = getpwuid(getuid());
		if (pw == NULL)
			return err_set(err, "uid %u has no account name", (unsigned int)getuid());
		buf_sets(name_r, pw->pw_name);
		return 0;
	}
	buf_sets(name_r, name);
	pw = getpwnam(name);
	if (pw == NULL) {
		char *const argv[] = { "useradd", "--system", "--no-create-home",
				       "--home-dir", "/nonexistent", "--shell",
				       "/usr/sbin/nologin", "--user-group", (char *)name,
				       NULL };
		static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

		pid = fork();
		if (pid < 0)
			return err_set_code(err, errno, "fork: %s", strerror(errno));
		if (pid == 0) {
			execve("/usr/sbin/useradd", argv, envp);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return err_set(err, "waitpid: %s", strerror(errno));
		/* useradd exits 9 when a concurrent tern init made the account */
		pw = getpwnam(name);
		if (pw == NULL && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			return err_set(err, "useradd %s failed (status %d)", name,
				       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		if (pw == NULL)
			return err_set(err, "useradd made no account %s", name);
		printf("tern: created the %s account %s\n", what, name);
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		return err_set(err, "account %s has uid or gid 0: daemons must not run as root",
			       name);
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

/* tern_init_names - hostname and domain: the options, else the system
 * host name and that name minus its first label ("localdomain" when it
 * has only one). */
static void tern_init_names(const struct tern_init_opts *o, struct buf *host, struct buf *dom)
{
	char sys[256];
	const char *dot;

	memset(sys, 0, sizeof(sys));
	if (o->hostname != NULL)
		buf_sets(host, o->hostname);
	else if (gethostname(sys, sizeof(sys) - 1) == 0 && tern_name_ok(sys))
		buf_sets(host, sys);
	else
		buf_sets(host, "localhost");
	str_lower(host->data);
	if (o->domain != NULL) {
		buf_sets(dom, o->domain);
	} else {
		dot = strchr(buf_cstr(host), '.');
		buf_sets(dom, dot != NULL ? dot + 1 : "localdomain");
	}
	str_lower(dom->data);
}

/* tern_init_dirs - the directory tree with owners and modes. */
static int tern_init_dirs(const char *dir, uid_t uid, gid_t gid, struct err *err)
{
	static const struct {
		const char *name;
		mode_t mode;
		bool owned; /* by the mail owner (else by the caller) */
	} dirs[] = {
		{ "queue", 0755, true },	  { "queue/incoming", 0700, true },
		{ "queue/active", 0700, true },	  { "queue/deferred", 0700, true },
		{ "queue/hold", 0700, true },	  { "queue/corrupt", 0700, true },
		{ "queue/defer", 0700, true },	  { "queue/bounce", 0700, true },
		{ "queue/private", 0700, true },  { "queue/public", 0711, true },
		{ "mail", 0700, true },		  { "run", 0755, true },
		{ "log", 0755, true },		  { "tls", 0755, false },
	};
	struct buf path = BUF_INIT;
	int fd;
	int rc = -1;

	for (size_t i = 0; i < N_ELEMENTS(dirs); i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, dirs[i].name);
		if (safefile_mkdir(buf_cstr(&path), dirs[i].mode,
				   dirs[i].owned ? uid : (uid_t)-1, gid, err) < 0)
			goto out;
	}
	buf_reset(&path);
	buf_printf(&path, "%s/log/maillog", dir);
	fd = safefile_open(buf_cstr(&path), O_WRONLY | O_CREAT | O_APPEND, 0640, err);
	if (fd < 0)
		goto out;
	close(fd);
	if (tern_secure_file(buf_cstr(&path), uid, gid, 0640, err) < 0)
		goto out;
	rc = 0;
out:
	buf_deinit(&path);
	return rc;
}

/* tern_init_tables - the empty users table (the auth service's: auth_uid,
 * mode 0600) and the aliases source and table, unless they exist already. */
static int tern_init_tables(const char *dir, struct cfg *cfg, uid_t uid, gid_t gid,
			    uid_t auth_uid, gid_t auth_gid, struct err *err)
{
	const char *deftype = cfg_get(cfg, "default_database_type");
	const char *users = cfg_get(cfg, "virtual_user_maps");
	const char *mailboxes = cfg_get(cfg, "virtual_mailbox_maps");
	struct buf path = BUF_INIT;
	struct tbl *t;
	char **specs;
	size_t n;
	int rc = -1;

	t = tbl_open(users, deftype, TBL_RDWR | TBL_CREATE, err);
	if (t == NULL)
		goto out;
	tbl_close(&t);
	if (tern_table_file(users, deftype, &path) == 0 &&
	    tern_secure_file(buf_cstr(&path), auth_uid, auth_gid, 0600, err) < 0)
		goto out;
	/* The mailbox table: who has a Maildir, without secrets. */
	if (*mailboxes != '\0') {
		t = tbl_open(mailboxes, deftype, TBL_RDWR | TBL_CREATE, err);
		if (t == NULL)
			goto out;
		tbl_close(&t);
		buf_reset(&path);
		if (tern_table_file(mailboxes, deftype, &path) == 0 &&
		    tern_secure_file(buf_cstr(&path), uid, gid, 0640, err) < 0)
			goto out;
	}
	buf_reset(&path);
	buf_printf(&path, "%s/aliases", dir);
	if (access(buf_cstr(&path), F_OK) != 0) {
		if (safefile_write(buf_cstr(&path), tern_aliases_text,
				   sizeof(tern_aliases_text) - 1, 0644, err) < 0)
			goto out;
	}
	/* Build each alias_database whose source is DIR/aliases. */
	specs = str_split(cfg_get(cfg, "alias_database"), ", \t", &n);
	for (size_t i = 0; i < n; i++) {
		struct buf file = BUF_INIT;
		const char *src = strchr(specs[i], ':') != NULL ? strchr(specs[i], ':') + 1
								  : specs[i];
		int bad = 0;

		if (strcmp(src, buf_cstr(&path)) == 0 &&
		    tern_table_file(specs[i], deftype, &file) == 0 &&
		    access(buf_cstr(&file), F_OK) != 0) {
			bad = tbl_build(specs[i], deftype, src, TBL_SRC_ALIASES, 0, err) < 0 ||
			      tern_secure_file(buf_cstr(&file), uid, gid, 0644, err) < 0;
		}
		buf_deinit(&file);
		if (bad) {
			str_split_free(&specs);
			goto out;
		}
	}
	str_split_free(&specs);
	rc = 0;
out:
	buf_deinit(&path);
	return rc;
}

/* tern_init_write - expand a template into DIR/name (mode 0644). */
static int tern_init_write(const char *dir, const char *name, const char *tmpl,
			   const struct tern_var *vars, size_t nvars, const char *daemon_dir,
			   struct err *err)
{
	struct buf text = BUF_INIT;
	struct buf path = BUF_INIT;
	int rc;

	buf_printf(&path, "%s/%s", dir, name);
	rc = tern_expand(tmpl, vars, nvars, daemon_dir, &text, err);
	if (rc == 0)
		rc = safefile_write(buf_cstr(&path), text.data, text.len, 0644, err);
	buf_deinit(&text);
	buf_deinit(&path);
	return rc;
}

/* tern_init_run - everything after the options; prints the summary. */
static int tern_init_run(const struct tern_init_opts *o, struct err *err)
{
	struct tern_var vars[4 + N_ELEMENTS(tern_ports)];
	struct buf host = BUF_INIT, dom = BUF_INIT, owner = BUF_INIT, path = BUF_INIT,
		   dd = BUF_INIT, key = BUF_INIT, auth_owner = BUF_INIT;
	struct cfg *cfg = NULL;
	char real[PATH_MAX];
	uid_t uid, auth_uid;
	gid_t gid, auth_gid;
	size_t nv = 0;
	int rc = -1;

	if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
		return err_set_code(err, errno, "mkdir %s: %s", o->dir, strerror(errno));
	if (realpath(o->dir, real) == NULL)
		return err_set_code(err, errno, "%s: %s", o->dir, strerror(errno));
	buf_printf(&path, "%s/main.cf", real);
	if (!o->force && access(buf_cstr(&path), F_OK) == 0) {
		err_set(err, "%s exists: not overwriting it (use --force)", buf_cstr(&path));
		goto out;
	}
	if (tern_init_account(TERN_INIT_OWNER, "mail owner", &owner, &uid, &gid, err) < 0 ||
	    tern_init_account(TERN_INIT_AUTH_OWNER, "auth service", &auth_owner, &auth_uid,
			      &auth_gid, err) < 0)
		goto out;
	tern_init_names(o, &host, &dom);
	vars[nv++] = (struct tern_var){ "HOSTNAME", xstrdup(buf_cstr(&host)) };
	vars[nv++] = (struct tern_var){ "DOMAIN", xstrdup(buf_cstr(&dom)) };
	vars[nv++] = (struct tern_var){ "MAIL_OWNER", xstrdup(buf_cstr(&owner)) };
	vars[nv++] = (struct tern_var){ "AUTH_OWNER", xstrdup(buf_cstr(&auth_owner)) };
	for (size_t i = 0; i < N_ELEMENTS(tern_ports); i++)
		vars[nv++] = (struct tern_var){ tern_ports[i].var,
						xasprintf("%u", o->port_base + tern_ports[i].port) };
	if (tern_init_write(real, "main.cf", tern_tmpl_main_cf, vars, nv, "", err) < 0)
		goto out;
	cfg = tern_cfg_load(real, err);
	if (cfg == NULL)
		goto out;
	if (paths_daemon_dir(cfg, &dd, err) < 0)
		goto out;
	if (tern_init_write(real, "master.cf", tern_tmpl_master_cf, vars, nv, buf_cstr(&dd),
			    err) < 0)
		goto out;
	if (tern_init_dirs(real, uid, gid, err) < 0)
		goto out;
	buf_sets(&path, cfg_get(cfg, "smtpd_tls_cert_file"));
	buf_sets(&key, cfg_get(cfg, "smtpd_tls_key_file"));
	if (access(buf_cstr(&path), F_OK) != 0 || access(buf_cstr(&key), F_OK) != 0) {
		if (tern_tls_make(buf_cstr(&path), buf_cstr(&key), buf_cstr(&host), uid, gid,
				  err) < 0)
			goto out;
	}
	if (tern_init_tables(real, cfg, uid, gid, auth_uid, auth_gid, err) < 0)
		goto out;
	printf("tern: initialized %s\n", real);
	printf("  hostname %s, domain %s, mail_owner %s, auth_owner %s\n", buf_cstr(&host),
	       buf_cstr(&dom), buf_cstr(&owner), buf_cstr(&auth_owner));
	printf("  ports:");
	for (size_t i = 0; i < N_ELEMENTS(tern_ports); i++)
		printf(" %s %u", tern_ports[i].label, o->port_base + tern_ports[i].port);
	printf("\n  next: tern -c %s user add USER@%s; tern -c %s start\n", real,
	       buf_cstr(&dom), real);
	rc = 0;
out:
	for (size_t i = 0; i < nv; i++)
		xfree(&vars[i].value);
	cfg_free(&cfg);
	buf_deinit(&host);
	buf_deinit(&dom);
	buf_deinit(&owner);
	buf_deinit(&auth_owner);
	buf_deinit(&path);
	buf_deinit(&dd);
	buf_deinit(&key);
	return rc;
}

int tern_init_main(int argc, char **argv, const char *cfg_dir)
{
	struct tern_init_opts o = { NULL, NULL, NULL, 0, false };
	struct err err;

	if (tern_init_parse(argc, argv, cfg_dir, &o) < 0)
		return TERN_EXIT_USAGE;
	err_clear(&err);
	if (tern_init_run(&o, &err) < 0) {
		fprintf(stderr, "tern: init: %s\n", err.msg);
		return TERN_EXIT_FAIL;
	}
	return TERN_EXIT_OK;
}
