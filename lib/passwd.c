/*
 * passwd.c - crypt(3) password hashes for virtual users (libxcrypt).
 * Touches:  nothing but its arguments; libcrypt reads the kernel's random
 *           source for salts.
 * Security: passwords are secrets: every copy this module makes (libcrypt's
 *           work area) is wiped with explicit_bzero before it is freed, and
 *           verification compares the whole computed hash with the stored
 *           one with CRYPTO_memcmp, so timing tells nothing about where they
 *           differ.  Only yescrypt and sha512-crypt are accepted: DES, MD5
 *           and the like are refused even if libcrypt still knows them.
 * Errors:   passwd_hash* return -1 and fill err; passwd_verify returns false
 *           for any failure; nothing here aborts.
 * See:      lib/passwd.h, crypt(5), docs/commands.md "tern user".
 */
#include "sys.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "err.h"
#include "passwd.h"

/* Hashes longer than this are not crypt output: refuse them early. */
#define PASSWD_HASH_MAX CRYPT_OUTPUT_SIZE

static const struct {
	const char *scheme;
	const char *prefix;
} passwd_schemes[] = {
	{ "yescrypt", "$y$" },
	{ "sha512-crypt", "$6$" },
};

const char *passwd_scheme_prefix(const char *scheme)
{
	for (size_t i = 0; i < N_ELEMENTS(passwd_schemes); i++)
		if (strcmp(passwd_schemes[i].scheme, scheme) == 0)
			return passwd_schemes[i].prefix;
	return NULL;
}

/* passwd_prefix_known - true if s starts with a prefix we make or verify. */
static bool passwd_prefix_known(const char *s)
{
	for (size_t i = 0; i < N_ELEMENTS(passwd_schemes); i++) {
		const char *p = passwd_schemes[i].prefix;
		if (strncmp(s, p, strlen(p)) == 0)
			return true;
	}
	return false;
}

/* passwd_crypt_char - the crypt alphabet plus the '$' separators (and ','
 * '=' that some parameter fields use). */
static bool passwd_crypt_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '/' || c == '$' || c == ',' || c == '=';
}

bool passwd_hash_ok(const char *hash)
{
	size_t len = strlen(hash);

	if (len < 4 || len >= PASSWD_HASH_MAX || !passwd_prefix_known(hash))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!passwd_crypt_char((unsigned char)hash[i]))
			return false;
	return true;
}

/* passwd_check_input - refuse passwords we do not want in a hash. */
static int passwd_check_input(const char *password, struct err *err)
{
	size_t len = strnlen(password, PASSWD_MAX + 1);

	if (len == 0)
		return err_set(err, "empty password");
	if (len > PASSWD_MAX)
		return err_set(err, "password longer than %d bytes", PASSWD_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)password[i];
		if (c < 0x20 || c == 0x7f)
			return err_set(err, "password contains a control character");
	}
	return 0;
}

/* passwd_crypt - crypt_ra into a fresh work area; the result is copied to
 * out and the work area wiped and freed.  -1 when libcrypt fails or
 * returns a failure token ("*0", "*1"). */
static int passwd_crypt(const char *password, const char *setting, struct buf *out)
{
	void *data = NULL;
	int size = 0;
	char *res;
	int rc = -1;

	errno = 0;
	res = crypt_ra(password, setting, &data, &size);
	if (res != NULL && res[0] != '*' && strlen(res) < PASSWD_HASH_MAX) {
		buf_sets(out, res);
		rc = 0;
	}
	if (data != NULL) {
		explicit_bzero(data, (size_t)size);
		free(data);
	}
	return rc;
}

int passwd_hash_prefix(const char *password, const char *prefix, struct buf *hash_r,
		       struct err *err)
{
	char *setting;
	int rc;

	if (passwd_check_input(password, err) < 0)
		return -1;
	if (prefix == NULL || !passwd_prefix_known(prefix))
		return err_set(err, "unsupported password hash prefix \"%s\"",
			       prefix == NULL ? "(null)" : prefix);
	errno = 0;
	setting = crypt_gensalt_ra(prefix, 0, NULL, 0);
	if (setting == NULL)
		return err_set_code(err, errno, "crypt_gensalt(%s): %s", prefix,
				    errno != 0 ? strerror(errno) : "failed");
	rc = passwd_crypt(password, setting, hash_r);
	free(setting);
	if (rc < 0)
		return err_set(err, "crypt(%s) failed", prefix);
	if (!passwd_hash_ok(buf_cstr(hash_r))) {
		buf_reset(hash_r);
		return err_set(err, "crypt(%s) returned an unexpected hash", prefix);
	}
	return 0;
}

int passwd_hash(const char *password, struct buf *hash_r, struct err *err)
{
	return passwd_hash_prefix(password, PASSWD_PREFIX_DEFAULT, hash_r, err);
}

bool passwd_verify(const char *password, const char *hash)
{
	struct buf computed = BUF_INIT;
	size_t hlen;
	bool ok = false;

	if (password == NULL || hash == NULL || !passwd_hash_ok(hash))
		return false;
	if (strnlen(password, PASSWD_MAX + 1) > PASSWD_MAX)
		return false;
	hlen = strlen(hash);
	if (passwd_crypt(password, hash, &computed) == 0 && computed.len == hlen)
		ok = CRYPTO_memcmp(computed.data, hash, hlen) == 0;
	if (computed.data != NULL)
		explicit_bzero(computed.data, computed.cap);
	buf_deinit(&computed);
	return ok;
}

int passwd_entry_split(const char *value, struct buf *hash_r, struct buf *attrs_r,
		       struct err *err)
{
	const char *p = value;
	const char *end;

	while (*p == ' ' || *p == '\t')
		p++;
	end = p;
	while (*end != '\0' && *end != ' ' && *end != '\t')
		end++;
	if (end == p)
		return err_set(err, "empty users table value");
	buf_set(hash_r, p, (size_t)(end - p));
	while (*end == ' ' || *end == '\t')
		end++;
	/* Every attribute must be key=value with a non-empty key. */
	for (const char *a = end; *a != '\0';) {
		const char *e = a;
		while (*e != '\0' && *e != ' ' && *e != '\t')
			e++;
		const char *eq = memchr(a, '=', (size_t)(e - a));
		if (eq == NULL || eq == a)
			return err_set(err, "bad users table attribute \"%.*s\"",
				       (int)(e - a > 64 ? 64 : e - a), a);
		while (*e == ' ' || *e == '\t')
			e++;
		a = e;
	}
	if (attrs_r != NULL)
		buf_sets(attrs_r, end);
	return 0;
}
