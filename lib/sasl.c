/*
 * sasl.c - server-side SASL state machines: PLAIN, LOGIN, SCRAM-SHA-256.
 * Touches:  nothing but its arguments and the backend it is given (pure:
 *           no I/O); OpenSSL for HMAC, SHA-256, PBKDF2 and random bytes.
 *           A password check may go pending (SASL_PENDING) and come back
 *           through sasl_server_resume, so a backend can hash elsewhere.
 * Input:    untrusted base64 text from a network client, any length (the
 *           caller caps it); every field is checked before use.
 * Security: runs in the auth daemon.  Passwords, salted passwords, client
 *           keys and proofs are wiped with explicit_bzero as soon as they
 *           are used; proofs compare with CRYPTO_memcmp.  An unknown user
 *           goes through SCRAM with a made-up salt so the exchange does not
 *           tell which users exist.  Nothing here logs.
 * Errors:   SASL_FAIL with err->code SASL_E_* and a reason fit for a log
 *           line (never a secret); never aborts on input.
 * Limits:   passwords are not SASLprep-normalised (RFC 5802 5.1): a
 *           non-ASCII password must be typed in the same Unicode form.
 * See:      sasl.h, RFC 4616, RFC 5802, RFC 7677, docs/auth.md.
 */
#include "sys.h"

#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "buf.h"
#include "err.h"
#include "sasl.h"
#include "str.h"
#include "xmem.h"

/* SASL_NAME_MAX - longest authentication identity accepted, bytes. */
#define SASL_NAME_MAX 320
/* SASL_PASS_MAX - longest password accepted, bytes. */
#define SASL_PASS_MAX 1024
/* SASL_NONCE_MAX - longest client nonce accepted, bytes. */
#define SASL_NONCE_MAX 256

enum sasl_mech_id {
	MECH_PLAIN,
	MECH_LOGIN,
	MECH_SCRAM,
};

static const char *const mech_names[] = {"PLAIN", "LOGIN", "SCRAM-SHA-256"};

enum sasl_state {
	ST_START,	/* nothing received yet */
	ST_PLAIN,	/* PLAIN: waiting for the response to "" */
	ST_LOGIN_USER,	/* LOGIN: waiting for the user name */
	ST_LOGIN_PASS,	/* LOGIN: waiting for the password */
	ST_SCRAM_FIRST, /* SCRAM: waiting for client-first (no initial response) */
	ST_SCRAM_FINAL, /* SCRAM: waiting for client-final */
	ST_SCRAM_ACK,	/* SCRAM: server-final sent, waiting for "" */
	ST_PENDING,	/* PLAIN, LOGIN: check_password answers later */
	ST_DONE,	/* OK or FAIL reached */
};

struct sasl_server {
	enum sasl_mech_id mech;
	enum sasl_state state;
	const struct sasl_backend *be;
	bool ok;
	struct buf authcid;    /* as given by the client */
	struct buf user;       /* canonical, from the backend */
	struct buf in;	       /* decoded input (wiped after each step) */
	struct buf test_nonce; /* sasl_server_set_nonce */
	/* SCRAM */
	struct buf gs2_header; /* "n,," or "y,," or with a= */
	struct buf client_first_bare;
	struct buf server_first;
	struct buf nonce; /* client nonce + server nonce */
	struct sasl_scram_secret secret;
};

/* Process-wide key for made-up salts of unknown users (random once). */
static unsigned char fake_salt_key[32];
static bool fake_salt_key_set;

bool sasl_mech_known(const char *mech)
{
	for (size_t i = 0; i < N_ELEMENTS(mech_names); i++)
		if (str_eq_ci(mech, mech_names[i]))
			return true;
	return false;
}

struct sasl_server *sasl_server_new(const char *mech, const struct sasl_backend *be,
				    struct err *err)
{
	struct sasl_server *s;
	size_t i;

	for (i = 0; i < N_ELEMENTS(mech_names); i++)
		if (str_eq_ci(mech, mech_names[i]))
			break;
	if (i == N_ELEMENTS(mech_names)) {
		err_set_code(err, SASL_E_MALFORMED, "unsupported mechanism");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->mech = (enum sasl_mech_id)i;
	s->state = ST_START;
	s->be = be;
	buf_init(&s->authcid, SASL_NAME_MAX);
	buf_init(&s->user, 0);
	buf_init(&s->in, 0);
	buf_init(&s->test_nonce, 0);
	buf_init(&s->gs2_header, 0);
	buf_init(&s->client_first_bare, 0);
	buf_init(&s->server_first, 0);
	buf_init(&s->nonce, 0);
	return s;
}

/* wipe_buf - zero a buffer's whole allocation and release it. */
static void wipe_buf(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_deinit(b);
}

/* wipe_in - zero the decoded input, keep the buffer usable. */
static void wipe_in(struct sasl_server *s)
{
	if (s->in.data != NULL)
		explicit_bzero(s->in.data, s->in.cap);
	buf_reset(&s->in);
}

void sasl_server_free(struct sasl_server **sp)
{
	struct sasl_server *s = *sp;

	if (s == NULL)
		return;
	wipe_buf(&s->authcid);
	wipe_buf(&s->user);
	wipe_buf(&s->in);
	wipe_buf(&s->test_nonce);
	wipe_buf(&s->gs2_header);
	wipe_buf(&s->client_first_bare);
	wipe_buf(&s->server_first);
	wipe_buf(&s->nonce);
	explicit_bzero(&s->secret, sizeof(s->secret));
	free(s);
	*sp = NULL;
}

const char *sasl_server_authcid(const struct sasl_server *s)
{
	return s->authcid.len > 0 ? buf_cstr(&s->authcid) : NULL;
}

const char *sasl_server_user(const struct sasl_server *s)
{
	return s->ok ? buf_cstr(&s->user) : NULL;
}

const char *sasl_server_mech(const struct sasl_server *s)
{
	return mech_names[s->mech];
}

void sasl_server_set_nonce(struct sasl_server *s, const char *nonce)
{
	buf_sets(&s->test_nonce, nonce);
}

/* base64 */

void sasl_base64_encode(const void *p, size_t n, struct buf *out)
{
	size_t need = 4 * ((n + 2) / 3);
	unsigned char *dst = (unsigned char *)buf_reserve(out, need + 1);

	if (n > 0)
		EVP_EncodeBlock(dst, p, (int)n);
	buf_commit(out, need);
}

/* b64_char - true for a byte of the base64 alphabet (no padding). */
static bool b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

int sasl_base64_decode(const char *s, size_t n, struct buf *out)
{
	size_t pad = 0;
	unsigned char *dst;
	int got;

	buf_reset(out);
	if (n % 4 != 0 || n > INT32_MAX)
		return -1;
	if (n == 0)
		return 0;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < n - pad; i++)
		if (!b64_char((unsigned char)s[i]))
			return -1;
	dst = (unsigned char *)buf_reserve(out, 3 * (n / 4) + 1);
	got = EVP_DecodeBlock(dst, (const unsigned char *)s, (int)n);
	if (got < 0 || (size_t)got != 3 * (n / 4)) {
		explicit_bzero(dst, 3 * (n / 4));
		return -1;
	}
	buf_commit(out, (size_t)got - pad);
	out->data[out->len] = '\0';
	return 0;
}

/* decode_input - the client's base64 text into s->in; "*" is a cancel. */
static enum sasl_result decode_input(struct sasl_server *s, const char *text, struct err *err)
{
	if (strcmp(text, "*") == 0)
		return err_set_code(err, SASL_E_CANCELLED, "authentication cancelled"), SASL_FAIL;
	if (sasl_base64_decode(text, strlen(text), &s->in) < 0)
		return err_set_code(err, SASL_E_MALFORMED, "malformed base64 response"), SASL_FAIL;
	return SASL_CONTINUE;
}

/* challenge_text - set the challenge to base64 of a C string. */
static void challenge_text(struct buf *challenge_r, const char *text)
{
	buf_reset(challenge_r);
	sasl_base64_encode(text, strlen(text), challenge_r);
}

/* backend_result - map a backend answer, defaulting its error code. */
static enum sasl_result backend_result(struct sasl_server *s, enum sasl_result r, struct err *err)
{
	if (r == SASL_OK) {
		s->ok = true;
		return SASL_OK;
	}
	if (r == SASL_FAIL) {
		err->code = SASL_E_CREDENTIALS;
		if (err->msg[0] == '\0')
			err_set_code(err, SASL_E_CREDENTIALS, "authentication failed");
		return SASL_FAIL;
	}
	if (err->msg[0] == '\0')
		err_set(err, "authentication backend unavailable");
	return SASL_TEMPFAIL;
}

/* check_password - hand authcid and password to the backend. */
static enum sasl_result check_password(struct sasl_server *s, const char *password, struct err *err)
{
	enum sasl_result r;

	buf_reset(&s->user);
	err_clear(err);
	r = s->be->check_password(s->be->ctx, buf_cstr(&s->authcid), password, &s->user, err);
	if (r == SASL_PENDING)
		return SASL_PENDING; /* sasl_server_resume maps the answer */
	return backend_result(s, r, err);
}

/* plain_response - "authzid NUL authcid NUL passwd" (RFC 4616 2). */
static enum sasl_result plain_response(struct sasl_server *s, struct err *err)
{
	const char *p = s->in.data;
	size_t n = s->in.len;
	const char *nul1, *nul2;
	size_t zlen, clen, plen;

	if (n == 0 || (nul1 = memchr(p, '\0', n)) == NULL)
		goto bad;
	/* UNSAFE: nul1 lies inside p[0..n), so nul1 + 1 <= p + n */
	nul2 = memchr(nul1 + 1, '\0', n - (size_t)(nul1 + 1 - p));
	if (nul2 == NULL)
		goto bad;
	zlen = (size_t)(nul1 - p);
	clen = (size_t)(nul2 - nul1 - 1);
	plen = n - (size_t)(nul2 + 1 - p);
	if (clen == 0 || clen > SASL_NAME_MAX || plen == 0 || plen > SASL_PASS_MAX ||
	    memchr(nul2 + 1, '\0', plen) != NULL)
		goto bad;
	buf_set(&s->authcid, nul1 + 1, clen);
	if (zlen != 0 && (zlen != clen || memcmp(p, nul1 + 1, clen) != 0))
		return err_set_code(err, SASL_E_CREDENTIALS,
				    "authorization identity differs from authentication identity"),
		       SASL_FAIL;
	return check_password(s, nul2 + 1, err);
bad:
	return err_set_code(err, SASL_E_MALFORMED, "malformed PLAIN response"), SASL_FAIL;
}

/* login_user - LOGIN's user name. */
static enum sasl_result login_user(struct sasl_server *s, struct buf *challenge_r, struct err *err)
{
	if (s->in.len == 0 || s->in.len > SASL_NAME_MAX || memchr(s->in.data, '\0', s->in.len))
		return err_set_code(err, SASL_E_MALFORMED, "malformed LOGIN user name"), SASL_FAIL;
	buf_set(&s->authcid, s->in.data, s->in.len);
	challenge_text(challenge_r, "Password:");
	s->state = ST_LOGIN_PASS;
	return SASL_CONTINUE;
}

/* login_pass - LOGIN's password. */
static enum sasl_result login_pass(struct sasl_server *s, struct err *err)
{
	if (s->in.len == 0 || s->in.len > SASL_PASS_MAX || memchr(s->in.data, '\0', s->in.len))
		return err_set_code(err, SASL_E_MALFORMED, "malformed LOGIN password"), SASL_FAIL;
	return check_password(s, s->in.data, err);
}

/* SCRAM-SHA-256 */

/* hmac256 - HMAC-SHA-256 of data under key into out. */
static void hmac256(const void *key, size_t klen, const void *data, size_t dlen,
		    unsigned char out[SASL_SCRAM_KEY_LEN])
{
	unsigned int olen = SASL_SCRAM_KEY_LEN;

	if (HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &olen) == NULL)
		memset(out, 0, SASL_SCRAM_KEY_LEN);
}

int sasl_scram_secret_make(const char *password, size_t password_len, const unsigned char *salt,
			   size_t salt_len, uint32_t iter, struct sasl_scram_secret *secret_r,
			   struct err *err)
{
	unsigned char salted[SASL_SCRAM_KEY_LEN], client_key[SASL_SCRAM_KEY_LEN];
	int rc = 0;

	if (salt_len == 0 || salt_len > SASL_SCRAM_SALT_MAX)
		return err_set(err, "SCRAM salt must be 1..%d bytes", SASL_SCRAM_SALT_MAX);
	if (iter < 1 || iter > SASL_SCRAM_ITER_MAX || password_len > INT32_MAX)
		return err_set(err, "bad SCRAM iteration count %u", iter);
	memset(secret_r, 0, sizeof(*secret_r));
	secret_r->iter = iter;
	secret_r->salt_len = salt_len;
	memcpy(secret_r->salt, salt, salt_len);
	if (PKCS5_PBKDF2_HMAC(password, (int)password_len, salt, (int)salt_len, (int)iter,
			      EVP_sha256(), (int)sizeof(salted), salted) != 1) {
		rc = err_set(err, "PBKDF2 failed");
		goto out;
	}
	hmac256(salted, sizeof(salted), "Client Key", 10, client_key);
	SHA256(client_key, sizeof(client_key), secret_r->stored_key);
	hmac256(salted, sizeof(salted), "Server Key", 10, secret_r->server_key);
out:
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(client_key, sizeof(client_key));
	return rc;
}

int sasl_scram_secret_new(const char *password, size_t password_len, uint32_t iter,
			  struct sasl_scram_secret *secret_r, struct err *err)
{
	unsigned char salt[16];

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return err_set(err, "no random bytes for a SCRAM salt");
	return sasl_scram_secret_make(password, password_len, salt, sizeof(salt), iter, secret_r,
				      err);
}

void sasl_scram_secret_format(const struct sasl_scram_secret *secret, struct buf *out)
{
	buf_printf(out, "%u:", secret->iter);
	sasl_base64_encode(secret->salt, secret->salt_len, out);
	buf_addc(out, ':');
	sasl_base64_encode(secret->stored_key, SASL_SCRAM_KEY_LEN, out);
	buf_addc(out, ':');
	sasl_base64_encode(secret->server_key, SASL_SCRAM_KEY_LEN, out);
}

/* secret_field - decode one base64 field of exactly want bytes (0: 1 to
 * SASL_SCRAM_SALT_MAX) into dst; its length in *len_r. */
static int secret_field(const char *p, size_t n, size_t want, unsigned char *dst, size_t *len_r)
{
	struct buf b = BUF_INIT;
	int rc = -1;

	if (sasl_base64_decode(p, n, &b) == 0 &&
	    (want != 0 ? b.len == want : b.len >= 1 && b.len <= SASL_SCRAM_SALT_MAX)) {
		memcpy(dst, b.data, b.len);
		*len_r = b.len;
		rc = 0;
	}
	wipe_buf(&b);
	return rc;
}

int sasl_scram_secret_parse(const char *text, struct sasl_scram_secret *secret_r, struct err *err)
{
	const char *f[4];
	size_t flen[4], klen;
	const char *p = text;
	char num[16];
	unsigned int iter;

	for (int i = 0; i < 4; i++) {
		const char *e = i < 3 ? strchr(p, ':') : p + strlen(p);
		if (e == NULL)
			return err_set(err, "SCRAM secret: expected ITER:SALT:STOREDKEY:SERVERKEY");
		f[i] = p;
		flen[i] = (size_t)(e - p);
		p = *e == ':' ? e + 1 : e;
	}
	if (strchr(f[3], ':') != NULL || flen[0] == 0 || flen[0] >= sizeof(num))
		return err_set(err, "SCRAM secret: expected ITER:SALT:STOREDKEY:SERVERKEY");
	memcpy(num, f[0], flen[0]);
	num[flen[0]] = '\0';
	if (str_to_uint(num, &iter) < 0 || iter < 1 || iter > SASL_SCRAM_ITER_MAX)
		return err_set(err, "SCRAM secret: bad iteration count");
	memset(secret_r, 0, sizeof(*secret_r));
	secret_r->iter = iter;
	if (secret_field(f[1], flen[1], 0, secret_r->salt, &secret_r->salt_len) < 0 ||
	    secret_field(f[2], flen[2], SASL_SCRAM_KEY_LEN, secret_r->stored_key, &klen) < 0 ||
	    secret_field(f[3], flen[3], SASL_SCRAM_KEY_LEN, secret_r->server_key, &klen) < 0) {
		explicit_bzero(secret_r, sizeof(*secret_r));
		return err_set(err, "SCRAM secret: bad base64 field");
	}
	return 0;
}

int sasl_scram_secret_find(const char *attrs, struct sasl_scram_secret *secret_r, struct err *err)
{
	static const char key[] = "scram-sha-256=";
	const char *p = attrs;

	while (*p != '\0') {
		const char *e = p;
		while (*e != '\0' && *e != ' ' && *e != '\t')
			e++;
		if ((size_t)(e - p) > sizeof(key) - 1 &&
		    strncasecmp(p, key, sizeof(key) - 1) == 0) {
			char *val =
				xstrndup(p + sizeof(key) - 1, (size_t)(e - p) - (sizeof(key) - 1));
			int rc = sasl_scram_secret_parse(val, secret_r, err);
			xfree(&val);
			return rc < 0 ? -1 : 1;
		}
		while (*e == ' ' || *e == '\t')
			e++;
		p = e;
	}
	return 0;
}

/* fake_secret - a stable made-up salt for an unknown user, and keys that
 * can match no proof (random StoredKey). */
static void fake_secret(const char *user, struct sasl_scram_secret *secret_r)
{
	unsigned char mac[SASL_SCRAM_KEY_LEN];

	if (!fake_salt_key_set) {
		if (RAND_bytes(fake_salt_key, sizeof(fake_salt_key)) != 1)
			memset(fake_salt_key, 0x5a, sizeof(fake_salt_key));
		fake_salt_key_set = true;
	}
	hmac256(fake_salt_key, sizeof(fake_salt_key), user, strlen(user), mac);
	memset(secret_r, 0, sizeof(*secret_r));
	secret_r->iter = SASL_SCRAM_ITER_DEFAULT;
	secret_r->salt_len = 16;
	memcpy(secret_r->salt, mac, 16);
	if (RAND_bytes(secret_r->stored_key, SASL_SCRAM_KEY_LEN) != 1)
		memcpy(secret_r->stored_key, mac, SASL_SCRAM_KEY_LEN);
}

/* saslname_decode - RFC 5802 saslname: "=2C" is ',', "=3D" is '=', any
 * other '=' or a NUL is an error. */
static int saslname_decode(const char *p, size_t n, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\0' || p[i] == ',')
			return -1;
		if (p[i] != '=') {
			buf_addc(out, p[i]);
			continue;
		}
		if (n - i < 3)
			return -1;
		if (p[i + 1] == '2' && (p[i + 2] == 'C' || p[i + 2] == 'c'))
			buf_addc(out, ',');
		else if (p[i + 1] == '3' && (p[i + 2] == 'D' || p[i + 2] == 'd'))
			buf_addc(out, '=');
		else
			return -1;
		i += 2;
	}
	return out->len == 0 || buf_overflowed(out) ? -1 : 0;
}

/* nonce_ok - printable ASCII except ',' (RFC 5802 7), 1..max bytes. */
static bool nonce_ok(const char *p, size_t n)
{
	if (n == 0 || n > SASL_NONCE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return false;
	return true;
}

/* scram_first - client-first-message: gs2-header client-first-bare. */
static enum sasl_result scram_first(struct sasl_server *s, struct buf *challenge_r, struct err *err)
{
	const char *p = s->in.data, *end = s->in.data + s->in.len;
	const char *c1, *c2, *bare, *rv, *rend;
	struct buf authzid = BUF_INIT;
	enum sasl_result r;
	unsigned char rnd[18];

	if (s->in.len == 0 || memchr(p, '\0', s->in.len) != NULL)
		goto bad;
	if (p[0] == 'p')
		return err_set_code(err, SASL_E_MALFORMED, "channel binding not supported"),
		       SASL_FAIL;
	if ((p[0] != 'n' && p[0] != 'y') || s->in.len < 3 || p[1] != ',')
		goto bad;
	c1 = p + 1;
	c2 = memchr(c1 + 1, ',', (size_t)(end - c1 - 1));
	if (c2 == NULL)
		goto bad;
	if (c2 > c1 + 1) {
		/* a=saslname */
		if (c2 - c1 < 4 || c1[1] != 'a' || c1[2] != '=' ||
		    saslname_decode(c1 + 3, (size_t)(c2 - c1 - 3), &authzid) < 0)
			goto bad;
	}
	bare = c2 + 1;
	buf_set(&s->gs2_header, p, (size_t)(bare - p));
	/* n=saslname,r=nonce[,ext...]; "m=" (mandatory extension) refused. */
	if (end - bare < 2 || bare[0] != 'n' || bare[1] != '=')
		goto bad;
	rv = memchr(bare, ',', (size_t)(end - bare));
	if (rv == NULL || saslname_decode(bare + 2, (size_t)(rv - bare - 2), &s->authcid) < 0 ||
	    end - rv < 3 || rv[1] != 'r' || rv[2] != '=')
		goto bad;
	rend = memchr(rv + 3, ',', (size_t)(end - rv - 3));
	if (rend == NULL)
		rend = end;
	if (!nonce_ok(rv + 3, (size_t)(rend - rv - 3)))
		goto bad;
	if (authzid.len > 0 && strcmp(buf_cstr(&authzid), buf_cstr(&s->authcid)) != 0) {
		buf_deinit(&authzid);
		return err_set_code(err, SASL_E_CREDENTIALS,
				    "authorization identity differs from authentication identity"),
		       SASL_FAIL;
	}
	buf_deinit(&authzid);
	buf_set(&s->client_first_bare, bare, (size_t)(end - bare));

	err_clear(err);
	buf_reset(&s->user);
	r = s->be->scram_secret(s->be->ctx, buf_cstr(&s->authcid), &s->secret, &s->user, err);
	if (r == SASL_TEMPFAIL)
		return backend_result(s, r, err);
	if (r != SASL_OK) {
		fake_secret(buf_cstr(&s->authcid), &s->secret);
		buf_reset(&s->user);
	}
	err_clear(err);

	buf_set(&s->nonce, rv + 3, (size_t)(rend - rv - 3));
	if (s->test_nonce.len > 0) {
		buf_adds(&s->nonce, buf_cstr(&s->test_nonce));
	} else {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return err_set(err, "no random bytes for a nonce"), SASL_TEMPFAIL;
		sasl_base64_encode(rnd, sizeof(rnd), &s->nonce);
	}
	buf_reset(&s->server_first);
	buf_printf(&s->server_first, "r=%s,s=", buf_cstr(&s->nonce));
	sasl_base64_encode(s->secret.salt, s->secret.salt_len, &s->server_first);
	buf_printf(&s->server_first, ",i=%u", s->secret.iter);
	buf_reset(challenge_r);
	sasl_base64_encode(s->server_first.data, s->server_first.len, challenge_r);
	s->state = ST_SCRAM_FINAL;
	return SASL_CONTINUE;
bad:
	buf_deinit(&authzid);
	return err_set_code(err, SASL_E_MALFORMED, "malformed SCRAM client-first message"),
	       SASL_FAIL;
}

/* scram_final - client-final-message: c=,r=[,ext...],p=. */
static enum sasl_result scram_final(struct sasl_server *s, struct buf *challenge_r, struct err *err)
{
	const char *p = s->in.data, *end = s->in.data + s->in.len;
	const char *pp, *rv, *rend;
	struct buf cb = BUF_INIT, proof = BUF_INIT, auth_msg = BUF_INIT;
	unsigned char sig[SASL_SCRAM_KEY_LEN], key[SASL_SCRAM_KEY_LEN], stored[SASL_SCRAM_KEY_LEN];
	enum sasl_result r = SASL_FAIL;
	bool match;

	if (s->in.len < 2 || memchr(p, '\0', s->in.len) != NULL || p[0] != 'c' || p[1] != '=')
		goto bad;
	/* the proof is the last attribute */
	pp = NULL;
	for (const char *q = end; q-- > p;)
		if (*q == ',') {
			pp = q;
			break;
		}
	if (pp == NULL || end - pp < 4 || pp[1] != 'p' || pp[2] != '=')
		goto bad;
	rv = memchr(p, ',', (size_t)(end - p));
	if (rv == pp || end - rv < 3 || rv[1] != 'r' || rv[2] != '=')
		goto bad;
	/* c= must be base64 of our gs2 header exactly (no channel binding) */
	sasl_base64_encode(s->gs2_header.data, s->gs2_header.len, &cb);
	if ((size_t)(rv - p - 2) != cb.len || memcmp(p + 2, cb.data, cb.len) != 0)
		goto bad;
	rend = memchr(rv + 1, ',', (size_t)(pp - rv));
	if ((size_t)(rend - rv - 3) != s->nonce.len || memcmp(rv + 3, s->nonce.data, s->nonce.len))
		goto bad;
	if (sasl_base64_decode(pp + 3, (size_t)(end - pp - 3), &proof) < 0 ||
	    proof.len != SASL_SCRAM_KEY_LEN)
		goto bad;

	buf_printf(&auth_msg, "%s,%s,", buf_cstr(&s->client_first_bare),
		   buf_cstr(&s->server_first));
	buf_add(&auth_msg, p, (size_t)(pp - p));
	hmac256(s->secret.stored_key, SASL_SCRAM_KEY_LEN, auth_msg.data, auth_msg.len, sig);
	for (size_t i = 0; i < SASL_SCRAM_KEY_LEN; i++)
		key[i] = (unsigned char)proof.data[i] ^ sig[i];
	SHA256(key, sizeof(key), stored);
	match = CRYPTO_memcmp(stored, s->secret.stored_key, SASL_SCRAM_KEY_LEN) == 0;
	if (!match || s->user.len == 0) {
		err_set_code(err, SASL_E_CREDENTIALS, "authentication failed");
		r = SASL_FAIL;
		goto out;
	}
	hmac256(s->secret.server_key, SASL_SCRAM_KEY_LEN, auth_msg.data, auth_msg.len, sig);
	buf_reset(&cb);
	buf_adds(&cb, "v=");
	sasl_base64_encode(sig, sizeof(sig), &cb);
	buf_reset(challenge_r);
	sasl_base64_encode(cb.data, cb.len, challenge_r);
	s->state = ST_SCRAM_ACK;
	r = SASL_CONTINUE;
	goto out;
bad:
	err_set_code(err, SASL_E_MALFORMED, "malformed SCRAM client-final message");
out:
	explicit_bzero(sig, sizeof(sig));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(stored, sizeof(stored));
	wipe_buf(&proof);
	wipe_buf(&auth_msg);
	buf_deinit(&cb);
	return r;
}

/* dispatch - run the current state on the decoded input in s->in. */
static enum sasl_result dispatch(struct sasl_server *s, struct buf *challenge_r, struct err *err)
{
	switch (s->state) {
	case ST_PLAIN:
		return plain_response(s, err);
	case ST_LOGIN_USER:
		return login_user(s, challenge_r, err);
	case ST_LOGIN_PASS:
		return login_pass(s, err);
	case ST_SCRAM_FIRST:
		return scram_first(s, challenge_r, err);
	case ST_SCRAM_FINAL:
		return scram_final(s, challenge_r, err);
	case ST_SCRAM_ACK:
		if (s->in.len != 0)
			return err_set_code(err, SASL_E_MALFORMED,
					    "unexpected data after SCRAM server-final"),
			       SASL_FAIL;
		s->ok = true;
		return SASL_OK;
	case ST_PENDING:
		return err_set_code(err, SASL_E_MALFORMED,
				    "response while the password is checked"),
		       SASL_FAIL;
	default:
		return err_set_code(err, SASL_E_MALFORMED, "authentication already finished"),
		       SASL_FAIL;
	}
}

/* finish - after a step: wipe the input, mark the end states. */
static enum sasl_result finish(struct sasl_server *s, enum sasl_result r)
{
	wipe_in(s);
	if (r == SASL_FAIL || r == SASL_TEMPFAIL) {
		s->ok = false;
		s->state = ST_DONE;
	} else if (r == SASL_OK) {
		s->state = ST_DONE;
	} else if (r == SASL_PENDING) {
		s->state = ST_PENDING;
	}
	return r;
}

enum sasl_result sasl_server_resume(struct sasl_server *s, enum sasl_result r,
				    struct buf *challenge_r, struct err *err)
{
	buf_reset(challenge_r);
	if (s->state != ST_PENDING)
		return finish(s, (err_set_code(err, SASL_E_MALFORMED, "no password check pending"),
				  SASL_FAIL));
	if (r != SASL_OK && r != SASL_FAIL && r != SASL_TEMPFAIL)
		r = (err_set(err, "bad answer from the authentication backend"), SASL_TEMPFAIL);
	return finish(s, backend_result(s, r, err));
}

bool sasl_server_pending(const struct sasl_server *s)
{
	return s->state == ST_PENDING;
}

enum sasl_result sasl_server_start(struct sasl_server *s, const char *initial,
				   struct buf *challenge_r, struct err *err)
{
	static const enum sasl_state first[] = {ST_PLAIN, ST_LOGIN_USER, ST_SCRAM_FIRST};

	err_clear(err);
	buf_reset(challenge_r);
	if (s->state != ST_START)
		return finish(s, (err_set_code(err, SASL_E_MALFORMED, "exchange already started"),
				  SASL_FAIL));
	s->state = first[s->mech];
	if (initial == NULL) {
		if (s->mech == MECH_LOGIN)
			challenge_text(challenge_r, "Username:");
		return SASL_CONTINUE;
	}
	if (strcmp(initial, "=") == 0)
		buf_reset(&s->in);
	else if (decode_input(s, initial, err) == SASL_FAIL)
		return finish(s, SASL_FAIL);
	return finish(s, dispatch(s, challenge_r, err));
}

enum sasl_result sasl_server_step(struct sasl_server *s, const char *response,
				  struct buf *challenge_r, struct err *err)
{
	err_clear(err);
	buf_reset(challenge_r);
	if (s->state == ST_START || s->state == ST_DONE)
		return finish(
			s, (err_set_code(err, SASL_E_MALFORMED,
					 s->state == ST_START ? "exchange not started"
							      : "authentication already finished"),
			    SASL_FAIL));
	if (decode_input(s, response, err) == SASL_FAIL)
		return finish(s, SASL_FAIL);
	return finish(s, dispatch(s, challenge_r, err));
}
