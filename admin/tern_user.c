/*
 * tern_user.c - `tern user add|passwd|del|list`: virtual users in the
 * table named by virtual_user_maps (default hash:DIR/users).  A value is
 * "HASH" optionally followed by space-separated key=value attributes
 * (docs/commands.md); this command writes the hash and the SCRAM-SHA-256
 * secret (scram-sha-256=, lib/sasl.h) and keeps the other attributes.
 * Touches:  the users table (tbl_update/tbl_delete: atomic for readers);
 *           as root, chowns its file back to mail_owner, mode 0600.
 * Security: passwords come from the command line (the argv copy is wiped
 *           at once), a terminal without echo, or one line of stdin; every
 *           buffer that held one is wiped with explicit_bzero.  Addresses
 *           are validated: they become keys and Maildir path components.
 * Errors:   "tern: user: ..." on stderr and exit 1; bad usage exit 2.
 * See:      admin/tern.h, lib/passwd.h, docs/commands.md "tern user".
 */
#include "sys.h"

#include <errno.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "admin/tern.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "passwd.h"
#include "sasl.h"
#include "str.h"
#include "tbl.h"
#include "xmem.h"

/* tern_local_ok - a sane local part: letters, digits and . _ - + = only,
 * no leading . or -, no trailing ., no "..", at most 64 bytes. */
static bool tern_local_ok(const char *s, size_t len)
{
	if (len == 0 || len > 64 || s[0] == '.' || s[0] == '-' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '+' || c == '='))
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

/* tern_user_addr - validate ADDR and put it, domain lowercased, in out. */
static int tern_user_addr(const char *addr, struct buf *out, struct err *err)
{
	const char *at = strchr(addr, '@');
	struct buf dom = BUF_INIT;
	int rc = -1;

	if (at == NULL || strchr(at + 1, '@') != NULL)
		return err_set(err, "address must be local@domain");
	if (!tern_local_ok(addr, (size_t)(at - addr))) {
		err_set(err, "bad local part in address (letters, digits and . _ - + = only)");
		goto out;
	}
	buf_sets(&dom, at + 1);
	if (dom.len == 0 || !tern_name_ok(buf_cstr(&dom))) {
		err_set(err, "bad domain in address");
		goto out;
	}
	str_lower(dom.data);
	buf_reset(out);
	buf_add(out, addr, (size_t)(at - addr) + 1);
	buf_adds(out, buf_cstr(&dom));
	rc = 0;
out:
	buf_deinit(&dom);
	return rc;
}

/* tern_read_line - one line from fd into out (no newline), at most
 * PASSWD_MAX + 1 bytes kept; -1 on EOF before any byte or a read error. */
static int tern_read_line(int fd, struct buf *out)
{
	char c;
	bool any = false;

	for (size_t i = 0; i < 65536; i++) {
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return any ? 0 : -1;
		any = true;
		if (c == '\n')
			break;
		if (out->len <= PASSWD_MAX)
			buf_addc(out, c);
	}
	if (out->len > 0 && out->data[out->len - 1] == '\r')
		buf_truncate(out, out->len - 1);
	return 0;
}

/* tern_prompt - prompt on the terminal and read without echo. */
static int tern_prompt(const char *prompt, struct buf *out)
{
	struct termios old, quiet;
	int rc;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(0, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(0, TCSAFLUSH, &quiet) < 0)
		return -1;
	rc = tern_read_line(0, out);
	tcsetattr(0, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

/* tern_wipe - explicit_bzero a buffer's whole allocation, then free it. */
static void tern_wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_deinit(b);
}

/* tern_password - the new password: argv (wiped there), the terminal
 * (asked twice) or one line of stdin. */
static int tern_password(char *arg, struct buf *pw, struct err *err)
{
	struct buf again = BUF_INIT;
	int rc = -1;

	buf_reset(pw);
	if (arg != NULL) {
		buf_sets(pw, arg);
		explicit_bzero(arg, strlen(arg));
		return 0;
	}
	if (!isatty(0)) {
		if (tern_read_line(0, pw) < 0)
			return err_set(err, "no password on standard input");
		return 0;
	}
	if (tern_prompt("Password: ", pw) < 0 || tern_prompt("Again: ", &again) < 0) {
		err_set(err, "cannot read the password from the terminal");
		goto out;
	}
	if (!str_eq_ct(pw->data, pw->len, again.data, again.len)) {
		err_set(err, "the passwords differ");
		goto out;
	}
	rc = 0;
out:
	tern_wipe(&again);
	return rc;
}

/* tern_users_open - the users table, read-write when rw. */
static struct tbl *tern_users_open(struct cfg *cfg, bool rw, struct err *err)
{
	return tbl_open(cfg_get(cfg, "virtual_user_maps"), cfg_get(cfg, "default_database_type"),
			rw ? TBL_RDWR | TBL_CREATE : TBL_RDONLY, err);
}

/* tern_users_secure - after a change: file mode 0600, owned by auth_owner
 * (the auth service, its only reader) when we run as root. */
static int tern_users_secure(struct cfg *cfg, struct err *err)
{
	struct buf file = BUF_INIT;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int rc = 0;

	if (tern_table_file(cfg_get(cfg, "virtual_user_maps"),
			    cfg_get(cfg, "default_database_type"), &file) == 0) {
		if (geteuid() == 0)
			rc = tern_auth_owner(cfg, &uid, &gid, err);
		if (rc == 0)
			rc = tern_secure_file(buf_cstr(&file), uid, gid, 0600, err);
	}
	buf_deinit(&file);
	return rc;
}

/* tern_mailbox_set - add (value "DOMAIN/LOCAL/") or remove addr in
 * virtual_mailbox_maps, the table smtpd, qmgr and local read: it tells
 * that a mailbox exists without holding any secret.  Mode 0640, owned by
 * the mail owner when we run as root. */
static int tern_mailbox_set(struct cfg *cfg, const char *addr, bool add, struct err *err)
{
	const char *spec = cfg_get(cfg, "virtual_mailbox_maps");
	const char *deftype = cfg_get(cfg, "default_database_type");
	const char *at = strrchr(addr, '@');
	struct buf value = BUF_INIT, file = BUF_INIT;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct tbl *t;
	int rc = 0;

	if (*spec == '\0')
		return 0;
	if ((t = tbl_open(spec, deftype, TBL_RDWR | TBL_CREATE, err)) == NULL)
		return -1;
	if (add) {
		buf_printf(&value, "%s/%.*s/", at != NULL ? at + 1 : "",
			   (int)(at != NULL ? at - addr : (long)strlen(addr)), addr);
		rc = tbl_update(t, addr, buf_cstr(&value), err);
	} else if (tbl_delete(t, addr, err) == TBL_TEMPFAIL) {
		rc = -1;
	}
	tbl_close(&t);
	if (rc == 0 && tern_table_file(spec, deftype, &file) == 0) {
		if (geteuid() == 0)
			rc = tern_mail_owner(cfg, &uid, &gid, err);
		if (rc == 0)
			rc = tern_secure_file(buf_cstr(&file), uid, gid, 0640, err);
	}
	buf_deinit(&value);
	buf_deinit(&file);
	return rc;
}

/* tern_scram_attr - append " scram-sha-256=ITER:SALT:STOREDKEY:SERVERKEY"
 * for the password (the SCRAM-SHA-256 secret, lib/sasl.h) to value. */
static int tern_scram_attr(const struct buf *pw, struct buf *value, struct err *err)
{
	struct sasl_scram_secret secret;
	int rc;

	rc = sasl_scram_secret_new(buf_cstr(pw), pw->len, SASL_SCRAM_ITER_DEFAULT, &secret, err);
	if (rc == 0) {
		buf_adds(value, " scram-sha-256=");
		sasl_scram_secret_format(&secret, value);
	}
	explicit_bzero(&secret, sizeof(secret));
	return rc;
}

/* tern_keep_attrs - append the old attributes to value, except the SCRAM
 * secret (it belonged to the old password). */
static void tern_keep_attrs(const char *attrs, struct buf *value)
{
	static const char scram[] = "scram-sha-256=";
	size_t n;
	char **v = str_split(attrs, " \t", &n);

	for (size_t i = 0; i < n; i++) {
		if (strncasecmp(v[i], scram, sizeof(scram) - 1) != 0)
			buf_printf(value, " %s", v[i]);
		explicit_bzero(v[i], strlen(v[i]));
	}
	str_split_free(&v);
}

/* tern_user_set - add (must not exist) or passwd (must exist). */
static int tern_user_set(struct tern_ctx *ctx, bool add, const char *addr, char *arg,
			 struct err *err)
{
	const char *scheme = cfg_get(ctx->cfg, "password_hash_scheme");
	const char *prefix = passwd_scheme_prefix(scheme[0] != '\0' ? scheme : "yescrypt");
	struct buf pw = BUF_INIT, hash = BUF_INIT, old = BUF_INIT, attrs = BUF_INIT,
		   oldhash = BUF_INIT;
	struct tbl *t = NULL;
	int found;
	int rc = -1;

	if (prefix == NULL) {
		err_set(err, "unknown password_hash_scheme \"%s\"", scheme);
		goto out;
	}
	t = tern_users_open(ctx->cfg, true, err);
	if (t == NULL)
		goto out;
	found = tbl_lookup(t, addr, &old, err);
	if (found == TBL_TEMPFAIL)
		goto out;
	if (add && found == TBL_FOUND) {
		err_set(err, "%s exists already (use: tern user passwd)", addr);
		goto out;
	}
	if (!add && found == TBL_NOTFOUND) {
		err_set(err, "%s: no such user", addr);
		goto out;
	}
	if (tern_password(arg, &pw, err) < 0 ||
	    passwd_hash_prefix(pw.data != NULL ? pw.data : "", prefix, &hash, err) < 0)
		goto out;
	if (tern_scram_attr(&pw, &hash, err) < 0)
		goto out;
	if (found == TBL_FOUND && passwd_entry_split(buf_cstr(&old), &oldhash, &attrs, err) == 0)
		tern_keep_attrs(buf_cstr(&attrs), &hash);
	if (tbl_update(t, addr, buf_cstr(&hash), err) < 0)
		goto out;
	tbl_close(&t);
	rc = tern_users_secure(ctx->cfg, err);
	if (rc == 0)
		rc = tern_mailbox_set(ctx->cfg, addr, true, err);
out:
	tbl_close(&t);
	tern_wipe(&pw);
	tern_wipe(&hash);
	tern_wipe(&old);
	tern_wipe(&oldhash);
	buf_deinit(&attrs);
	return rc;
}

/* tern_user_del - remove an existing user (its mail is kept). */
static int tern_user_del(struct tern_ctx *ctx, const char *addr, struct err *err)
{
	struct tbl *t = tern_users_open(ctx->cfg, true, err);
	int found;

	if (t == NULL)
		return -1;
	found = tbl_delete(t, addr, err);
	tbl_close(&t);
	if (found == TBL_TEMPFAIL)
		return -1;
	if (found == TBL_NOTFOUND)
		return err_set(err, "%s: no such user", addr);
	if (tern_users_secure(ctx->cfg, err) < 0)
		return -1;
	return tern_mailbox_set(ctx->cfg, addr, false, err);
}

struct tern_user_list {
	char **keys;
	size_t n, cap;
};

/* tern_user_collect - tbl_iterate callback: remember each key. */
static int tern_user_collect(const char *key, const char *value, void *ctx)
{
	struct tern_user_list *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		l->keys = xreallocarray(l->keys, l->cap, sizeof(*l->keys));
	}
	l->keys[l->n++] = xstrdup(key);
	return 0;
}

/* tern_strcmp_p - qsort comparison of two char * elements. */
static int tern_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* tern_user_list - print every address, sorted, one per line. */
static int tern_user_list(struct tern_ctx *ctx, struct err *err)
{
	struct tern_user_list l = {NULL, 0, 0};
	struct tbl *t = tern_users_open(ctx->cfg, false, err);
	int rc;

	if (t == NULL)
		return -1;
	rc = tbl_iterate(t, tern_user_collect, &l, err);
	tbl_close(&t);
	if (rc == 0 && l.n > 0)
		qsort(l.keys, l.n, sizeof(*l.keys), tern_strcmp_p);
	for (size_t i = 0; i < l.n; i++) {
		if (rc == 0)
			printf("%s\n", l.keys[i]);
		xfree(&l.keys[i]);
	}
	xfree(&l.keys);
	return rc;
}

/* tern_user_domain_note - warn when the domain is not a virtual domain. */
static void tern_user_domain_note(struct cfg *cfg, const char *addr)
{
	const char *dom = strchr(addr, '@') + 1;
	char **doms;
	size_t n;
	bool known = false;

	doms = str_split(cfg_get(cfg, "virtual_mailbox_domains"), ", \t", &n);
	for (size_t i = 0; i < n && !known; i++)
		known = str_eq_ci(doms[i], dom);
	str_split_free(&doms);
	if (!known)
		fprintf(stderr, "tern: warning: %s is not in virtual_mailbox_domains\n", dom);
}

int tern_user_main(struct tern_ctx *ctx, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	struct buf addr = BUF_INIT;
	struct err err;
	int rc = -1;
	bool add = strcmp(sub, "add") == 0;

	err_clear(&err);
	if (strcmp(sub, "list") == 0		? argc != 2
	    : add || strcmp(sub, "passwd") == 0 ? argc < 3 || argc > 4
	    : strcmp(sub, "del") == 0		? argc != 3
						: true) {
		fputs("usage: tern [-c DIR] user add|passwd ADDR [PASSWORD]\n"
		      "       tern [-c DIR] user del ADDR | user list\n",
		      stderr);
		return TERN_EXIT_USAGE;
	}
	if (tern_ctx_load(ctx) < 0)
		return TERN_EXIT_FAIL;
	if (strcmp(sub, "list") == 0) {
		rc = tern_user_list(ctx, &err);
	} else if (tern_user_addr(argv[2], &addr, &err) == 0) {
		if (strcmp(sub, "del") == 0) {
			rc = tern_user_del(ctx, buf_cstr(&addr), &err);
		} else {
			if (add)
				tern_user_domain_note(ctx->cfg, buf_cstr(&addr));
			rc = tern_user_set(ctx, add, buf_cstr(&addr), argc > 3 ? argv[3] : NULL,
					   &err);
		}
		if (rc == 0)
			printf("tern: user %s: %s\n", buf_cstr(&addr),
			       add			 ? "added"
			       : strcmp(sub, "del") == 0 ? "deleted"
							 : "password changed");
	}
	buf_deinit(&addr);
	if (rc < 0) {
		fprintf(stderr, "tern: user %s: %s\n", sub, err.msg);
		return TERN_EXIT_FAIL;
	}
	return TERN_EXIT_OK;
}
