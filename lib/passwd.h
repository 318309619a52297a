/*
 * passwd.h - password hashes for virtual users: make a crypt(3) hash of a
 * new password and check a password against a stored hash in constant time.
 * New hashes are yescrypt ("$y$") by default; sha512-crypt ("$6$") is made
 * on request and accepted for verification (older tables, other tools).
 * The users table value is "HASH" optionally followed by space-separated
 * key=value attributes (docs/commands.md); passwd_entry_split takes it apart.
 * See: crypt(5), docs/commands.md "tern user".
 */
#ifndef TERN_PASSWD_H
#define TERN_PASSWD_H

#include "sys.h"

struct buf;
struct err;

/* PASSWD_PREFIX_DEFAULT - the crypt prefix of new hashes (yescrypt). */
#define PASSWD_PREFIX_DEFAULT "$y$"
/* PASSWD_MAX - longest password accepted, in bytes (libcrypt takes < 512). */
#define PASSWD_MAX 256

/* passwd_scheme_prefix - the crypt prefix for a password_hash_scheme name
 * ("yescrypt" -> "$y$", "sha512-crypt" -> "$6$"), or NULL if unknown. */
const char *passwd_scheme_prefix(const char *scheme);

/* passwd_hash - hash password with a fresh random salt using the default
 * scheme; the hash replaces the contents of hash_r.  -1 with err when the
 * password is empty, too long or holds a control byte, or libcrypt fails. */
int passwd_hash(const char *password, struct buf *hash_r, struct err *err)
	ATTR_WARN_UNUSED;
/* passwd_hash_prefix - the same with an explicit crypt prefix ("$y$" or
 * "$6$"); any other prefix is refused. */
int passwd_hash_prefix(const char *password, const char *prefix, struct buf *hash_r,
		       struct err *err) ATTR_WARN_UNUSED;

/* passwd_verify - true if password matches hash (a "$y$" or "$6$" crypt
 * string).  The computed and stored hashes are compared in constant time;
 * a malformed or unsupported hash is simply false. */
bool passwd_verify(const char *password, const char *hash);

/* passwd_hash_ok - true if hash looks like a hash this module can verify
 * (supported prefix, crypt alphabet, no spaces or control bytes). */
bool passwd_hash_ok(const char *hash);

/* passwd_entry_split - split a users-table value "HASH [key=value ...]"
 * into the hash (hash_r) and the attribute text after it (attrs_r, may be
 * NULL; "" when there are none).  -1 with err when the value is empty or
 * an attribute is not key=value. */
int passwd_entry_split(const char *value, struct buf *hash_r, struct buf *attrs_r,
		       struct err *err) ATTR_WARN_UNUSED;

#endif
