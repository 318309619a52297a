/*
 * auth_users.c - the auth daemon's view of virtual_user_maps: canonical
 * user names, password checks against the stored crypt hash, SCRAM
 * secrets, and existence queries.  The only code in tern that reads the
 * hashes; nothing it returns carries one.
 * Touches:  the users table (read-only, reopened when tern user replaces
 *           it: lib/tbl).
 * Input:    user names and passwords from the daemons (untrusted);
 *           table values are trusted as written by tern user, but parsed
 *           defensively (a malformed entry is a failure, logged).
 * Security: every buffer that held a hash, a password or a secret is
 *           wiped; an unknown user costs a hash computation like a known
 *           one (dummy hash), so timing does not tell who exists.
 * Errors:   SASL_TEMPFAIL / TBL_TEMPFAIL with err when the table cannot
 *           be read; malformed entries are logged with the user's name.
 * See:      auth.h, lib/passwd.h, docs/commands.md "tern user".
 */
#include "sys.h"

#include "auth/auth.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "passwd.h"
#include "str.h"
#include "tbl.h"
#include "xmem.h"

/* AUTH_USER_MAX - longest user name, bytes (local@domain, RFC 5321). */
#define AUTH_USER_MAX 320

struct auth_users {
	struct tbl *tbl;
	char *mydomain;
	struct buf dummy; /* a hash of a random password, for unknown users */
};

/* wipe - zero a buffer's allocation and reset it. */
static void wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_reset(b);
}

struct auth_users *auth_users_open(struct cfg *cfg, struct err *err)
{
	struct auth_users *u;
	struct tbl *t = tbl_open(cfg_get(cfg, "virtual_user_maps"),
				 cfg_get(cfg, "default_database_type"), TBL_RDONLY, err);
	const char *scheme = cfg_get(cfg, "password_hash_scheme");
	const char *prefix = passwd_scheme_prefix(scheme);

	if (t == NULL)
		return NULL;
	u = xcalloc(1, sizeof(*u));
	u->tbl = t;
	u->mydomain = xstrdup(cfg_get(cfg, "mydomain"));
	str_lower(u->mydomain);
	buf_init(&u->dummy, 0);
	if (passwd_hash_prefix("tern dummy password", prefix != NULL ? prefix : "$y$", &u->dummy,
			       err) < 0) {
		auth_users_close(&u);
		return NULL;
	}
	return u;
}

void auth_users_close(struct auth_users **up)
{
	struct auth_users *u = *up;

	if (u == NULL)
		return;
	tbl_close(&u->tbl);
	free(u->mydomain);
	buf_deinit(&u->dummy);
	free(u);
	*up = NULL;
}

int auth_users_canon(const struct auth_users *u, const char *user, struct buf *out)
{
	size_t n = strlen(user);

	buf_reset(out);
	if (n == 0 || n > AUTH_USER_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)user[i];
		if (c <= ' ' || c == 0x7f)
			return -1;
	}
	if (user[0] == '@' || user[n - 1] == '@')
		return -1;
	buf_adds(out, user);
	if (strchr(user, '@') == NULL) {
		if (u->mydomain[0] == '\0')
			return -1;
		buf_printf(out, "@%s", u->mydomain);
	}
	str_lower(out->data);
	return 0;
}

/* lookup - the table value of canon split into hash and attributes. */
static int lookup(struct auth_users *u, const char *canon, struct buf *hash_r, struct buf *attrs_r,
		  struct err *err)
{
	struct buf value = BUF_INIT;
	int found = tbl_lookup(u->tbl, canon, &value, err);

	if (found == TBL_FOUND && passwd_entry_split(buf_cstr(&value), hash_r, attrs_r, err) < 0) {
		log_warn("auth: users table entry of %s: %s", canon, err->msg);
		found = TBL_NOTFOUND;
	}
	wipe(&value);
	buf_deinit(&value);
	return found;
}

int auth_users_exists(struct auth_users *u, const char *canon, struct err *err)
{
	struct buf value = BUF_INIT;
	int found = tbl_lookup(u->tbl, canon, &value, err);

	wipe(&value);
	buf_deinit(&value);
	return found;
}

enum sasl_result auth_users_hash(struct auth_users *u, const char *canon, struct buf *hash_r,
				 bool *known_r, struct err *err)
{
	struct buf attrs = BUF_INIT;
	int found = lookup(u, canon, hash_r, &attrs, err);

	wipe(&attrs);
	buf_deinit(&attrs);
	*known_r = false;
	if (found == TBL_TEMPFAIL) {
		wipe(hash_r);
		return SASL_TEMPFAIL;
	}
	if (found == TBL_FOUND && passwd_hash_ok(buf_cstr(hash_r))) {
		*known_r = true;
		return SASL_OK;
	}
	if (found == TBL_FOUND)
		log_warn("auth: users table entry of %s: unsupported password hash", canon);
	/* unknown: the dummy costs the same hash computation */
	wipe(hash_r);
	buf_sets(hash_r, buf_cstr(&u->dummy));
	return SASL_OK;
}

enum sasl_result auth_users_check(struct auth_users *u, const char *canon, const char *password,
				  struct err *err)
{
	struct buf hash = BUF_INIT;
	bool known;
	enum sasl_result r = auth_users_hash(u, canon, &hash, &known, err);

	if (r == SASL_OK)
		r = passwd_verify(password, buf_cstr(&hash)) && known ? SASL_OK : SASL_FAIL;
	wipe(&hash);
	buf_deinit(&hash);
	return r;
}

enum sasl_result auth_users_scram(struct auth_users *u, const char *canon,
				  struct sasl_scram_secret *secret_r, struct err *err)
{
	struct buf hash = BUF_INIT, attrs = BUF_INIT;
	int found = lookup(u, canon, &hash, &attrs, err);
	enum sasl_result r = SASL_FAIL;
	struct err perr;

	if (found == TBL_TEMPFAIL) {
		r = SASL_TEMPFAIL;
	} else if (found == TBL_FOUND) {
		switch (sasl_scram_secret_find(buf_cstr(&attrs), secret_r, &perr)) {
		case 1:
			r = SASL_OK;
			break;
		case 0:
			log_info("auth: %s has no SCRAM-SHA-256 secret (set the password again "
				 "with tern user passwd)",
				 canon);
			break;
		default:
			log_warn("auth: users table entry of %s: %s", canon, perr.msg);
			break;
		}
	}
	wipe(&hash);
	wipe(&attrs);
	buf_deinit(&hash);
	buf_deinit(&attrs);
	return r;
}
