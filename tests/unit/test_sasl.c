/*
 * test_sasl.c - unit tests for lib/sasl.c: PLAIN, LOGIN and SCRAM-SHA-256
 * (RFC 7677's test vector, a client computed here with random nonces),
 * malformed and hostile input, secrets in the users-table format.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "buf.h"
#include "err.h"
#include "sasl.h"

/* One known user: "user" / "pencil", SCRAM secret from RFC 7677's salt. */
struct fake_db {
	bool has_scram;
	bool temp;
	int calls;
};

static const char vec_salt_b64[] = "W22ZaJ0SNY7soEsUEjb6gQ==";

static enum sasl_result fake_check(void *ctx, const char *authcid, const char *password,
				   struct buf *user_r, struct err *err)
{
	struct fake_db *db = ctx;

	db->calls++;
	if (db->temp)
		return err_set(err, "table down"), SASL_TEMPFAIL;
	if (strcmp(authcid, "user") != 0 || strcmp(password, "pencil") != 0)
		return SASL_FAIL;
	buf_sets(user_r, "user@example.test");
	return SASL_OK;
}

static enum sasl_result fake_secret(void *ctx, const char *authcid,
				    struct sasl_scram_secret *secret_r, struct buf *user_r,
				    struct err *err)
{
	struct fake_db *db = ctx;
	struct buf salt = BUF_INIT;

	db->calls++;
	if (db->temp)
		return err_set(err, "table down"), SASL_TEMPFAIL;
	if (strcmp(authcid, "user") != 0 || !db->has_scram)
		return SASL_FAIL;
	assert_int_equal(sasl_base64_decode(vec_salt_b64, strlen(vec_salt_b64), &salt), 0);
	assert_int_equal(sasl_scram_secret_make("pencil", 6, (unsigned char *)salt.data, salt.len,
						4096, secret_r, err),
			 0);
	buf_deinit(&salt);
	buf_sets(user_r, "user@example.test");
	return SASL_OK;
}

static struct fake_db db = {true, false, 0};
static const struct sasl_backend backend = {fake_check, fake_secret, &db};

static int reset(void **state)
{
	db.has_scram = true;
	db.temp = false;
	db.calls = 0;
	return 0;
}

/* b64 - base64 of n bytes as a static-lifetime heap string for the test. */
static char *b64(const void *p, size_t n)
{
	struct buf b = BUF_INIT;

	sasl_base64_encode(p, n, &b);
	return buf_steal(&b);
}

/* unb64 - decode a challenge into a C string. */
static char *unb64(const char *s)
{
	struct buf b = BUF_INIT;

	assert_int_equal(sasl_base64_decode(s, strlen(s), &b), 0);
	return buf_steal(&b);
}

/* run_start - new machine, start with initial; returns the result. */
static enum sasl_result run_start(const char *mech, const char *initial, struct sasl_server **s,
				  struct buf *ch, struct err *err)
{
	*s = sasl_server_new(mech, &backend, err);
	assert_non_null(*s);
	return sasl_server_start(*s, initial, ch, err);
}

static void test_base64_strict(void **state)
{
	struct buf b = BUF_INIT;

	assert_int_equal(sasl_base64_decode("", 0, &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(sasl_base64_decode("YQ==", 4, &b), 0);
	assert_string_equal(b.data, "a");
	assert_int_equal(sasl_base64_decode("YWI=", 4, &b), 0);
	assert_string_equal(b.data, "ab");
	assert_int_equal(sasl_base64_decode("AGEAYg==", 8, &b), 0);
	assert_int_equal(b.len, 4);
	assert_int_equal(sasl_base64_decode("YQ=", 3, &b), -1);
	assert_int_equal(sasl_base64_decode("Y Q=", 4, &b), -1);
	assert_int_equal(sasl_base64_decode("Y=Q=", 4, &b), -1);
	assert_int_equal(sasl_base64_decode("====", 4, &b), -1);
	assert_int_equal(sasl_base64_decode("YQ==YQ==", 8, &b), -1);
	assert_int_equal(sasl_base64_decode("YQ\n=", 4, &b), -1);
	buf_deinit(&b);
}

static void test_plain_initial_response(void **state)
{
	static const char ir[] = "\0user\0pencil";
	struct buf ch = BUF_INIT;
	struct err err;
	struct sasl_server *s;
	char *t = b64(ir, sizeof(ir) - 1);

	assert_int_equal(run_start("plain", t, &s, &ch, &err), SASL_OK);
	assert_string_equal(sasl_server_user(s), "user@example.test");
	assert_string_equal(sasl_server_authcid(s), "user");
	assert_string_equal(sasl_server_mech(s), "PLAIN");
	/* nothing after the end */
	assert_int_equal(sasl_server_step(s, "", &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_MALFORMED);
	sasl_server_free(&s);
	assert_null(s);
	free(t);
	buf_deinit(&ch);
}

static void test_plain_challenge_and_authzid(void **state)
{
	static const char same[] = "user\0user\0pencil";
	static const char other[] = "admin\0user\0pencil";
	static const char bad[] = "\0user\0wrong";
	struct buf ch = BUF_INIT;
	struct err err;
	struct sasl_server *s;
	char *t;

	assert_int_equal(run_start("PLAIN", NULL, &s, &ch, &err), SASL_CONTINUE);
	assert_string_equal(buf_cstr(&ch), "");
	t = b64(same, sizeof(same) - 1);
	assert_int_equal(sasl_server_step(s, t, &ch, &err), SASL_OK);
	free(t);
	sasl_server_free(&s);

	t = b64(other, sizeof(other) - 1);
	assert_int_equal(run_start("PLAIN", t, &s, &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_CREDENTIALS);
	assert_null(sasl_server_user(s));
	free(t);
	sasl_server_free(&s);

	t = b64(bad, sizeof(bad) - 1);
	assert_int_equal(run_start("PLAIN", t, &s, &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_CREDENTIALS);
	assert_null(strstr(err.msg, "wrong"));
	free(t);
	sasl_server_free(&s);
	buf_deinit(&ch);
}

static void test_plain_malformed(void **state)
{
	static const struct {
		const char *data;
		size_t len;
	} cases[] = {
		{"", 0},	 {"user", 4},	    {"\0user", 5},
		{"\0user\0", 6}, {"\0\0pencil", 8}, {"\0user\0pen\0cil", 13},
	};
	struct buf ch = BUF_INIT;
	struct err err;
	struct sasl_server *s;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *t = b64(cases[i].data, cases[i].len);
		assert_int_equal(run_start("PLAIN", cases[i].len == 0 ? "=" : t, &s, &ch, &err),
				 SASL_FAIL);
		assert_int_equal(err.code, SASL_E_MALFORMED);
		free(t);
		sasl_server_free(&s);
	}
	assert_int_equal(run_start("PLAIN", "not base64!", &s, &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_MALFORMED);
	sasl_server_free(&s);
	assert_int_equal(run_start("PLAIN", NULL, &s, &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(s, "*", &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_CANCELLED);
	sasl_server_free(&s);
	assert_int_equal(db.calls, 0);
	buf_deinit(&ch);
}

static void test_plain_tempfail(void **state)
{
	static const char ir[] = "\0user\0pencil";
	struct buf ch = BUF_INIT;
	struct err err;
	struct sasl_server *s;
	char *t = b64(ir, sizeof(ir) - 1);

	db.temp = true;
	assert_int_equal(run_start("PLAIN", t, &s, &ch, &err), SASL_TEMPFAIL);
	assert_string_equal(err.msg, "table down");
	free(t);
	sasl_server_free(&s);
	buf_deinit(&ch);
}

static void test_login(void **state)
{
	struct buf ch = BUF_INIT;
	struct err err;
	struct sasl_server *s;
	char *c;

	assert_int_equal(run_start("LOGIN", NULL, &s, &ch, &err), SASL_CONTINUE);
	c = unb64(buf_cstr(&ch));
	assert_string_equal(c, "Username:");
	free(c);
	assert_int_equal(sasl_server_step(s, "dXNlcg==", &ch, &err), SASL_CONTINUE);
	c = unb64(buf_cstr(&ch));
	assert_string_equal(c, "Password:");
	free(c);
	assert_int_equal(sasl_server_step(s, "cGVuY2ls", &ch, &err), SASL_OK);
	assert_string_equal(sasl_server_user(s), "user@example.test");
	sasl_server_free(&s);

	/* initial response = the user name; wrong password */
	assert_int_equal(run_start("login", "dXNlcg==", &s, &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(s, "d3Jvbmc=", &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_CREDENTIALS);
	sasl_server_free(&s);

	/* empty user, NUL in password */
	assert_int_equal(run_start("LOGIN", "=", &s, &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_MALFORMED);
	sasl_server_free(&s);
	assert_int_equal(run_start("LOGIN", "dXNlcg==", &s, &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(s, "cGUAbg==", &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_MALFORMED);
	sasl_server_free(&s);
	buf_deinit(&ch);
}

/* A backend that hashes "elsewhere": it keeps a copy and says PENDING. */
struct async_db {
	char password[64];
	int calls;
};

static enum sasl_result async_check(void *ctx, const char *authcid, const char *password,
				    struct buf *user_r, struct err *err)
{
	struct async_db *a = ctx;

	a->calls++;
	snprintf(a->password, sizeof(a->password), "%s", password);
	buf_sets(user_r, "user@example.test");
	return SASL_PENDING;
}

static void test_pending_check(void **state)
{
	struct async_db a = {"", 0};
	const struct sasl_backend be = {async_check, fake_secret, &a};
	struct buf ch = BUF_INIT;
	struct err err;
	struct sasl_server *s = sasl_server_new("PLAIN", &be, &err);

	/* PLAIN goes pending; the backend's answer finishes it */
	assert_false(sasl_server_pending(s));
	assert_int_equal(sasl_server_start(s, "AHVzZXIAcGVuY2ls", &ch, &err), SASL_PENDING);
	assert_true(sasl_server_pending(s));
	assert_string_equal(a.password, "pencil");
	assert_null(sasl_server_user(s));
	err_clear(&err);
	assert_int_equal(sasl_server_resume(s, SASL_OK, &ch, &err), SASL_OK);
	assert_false(sasl_server_pending(s));
	assert_string_equal(sasl_server_user(s), "user@example.test");
	/* a second answer is refused */
	assert_int_equal(sasl_server_resume(s, SASL_OK, &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_MALFORMED);
	sasl_server_free(&s);

	/* LOGIN: pending after the password, a failure comes back as one */
	s = sasl_server_new("LOGIN", &be, &err);
	assert_int_equal(sasl_server_start(s, "dXNlcg==", &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_resume(s, SASL_OK, &ch, &err), SASL_FAIL);
	sasl_server_free(&s);
	s = sasl_server_new("LOGIN", &be, &err);
	assert_int_equal(sasl_server_start(s, "dXNlcg==", &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(s, "d3Jvbmc=", &ch, &err), SASL_PENDING);
	err_clear(&err);
	assert_int_equal(sasl_server_resume(s, SASL_FAIL, &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_CREDENTIALS);
	assert_string_equal(err.msg, "authentication failed");
	assert_null(sasl_server_user(s));
	sasl_server_free(&s);

	/* a temporary failure keeps its reason */
	s = sasl_server_new("PLAIN", &be, &err);
	assert_int_equal(sasl_server_start(s, "AHVzZXIAcGVuY2ls", &ch, &err), SASL_PENDING);
	err_set(&err, "table down");
	assert_int_equal(sasl_server_resume(s, SASL_TEMPFAIL, &ch, &err), SASL_TEMPFAIL);
	assert_string_equal(err.msg, "table down");
	assert_null(sasl_server_user(s));
	sasl_server_free(&s);

	/* a response while pending fails the exchange; the late answer too */
	s = sasl_server_new("PLAIN", &be, &err);
	assert_int_equal(sasl_server_start(s, NULL, &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(s, "AHVzZXIAcGVuY2ls", &ch, &err), SASL_PENDING);
	assert_int_equal(sasl_server_step(s, "AHVzZXIAcGVuY2ls", &ch, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_MALFORMED);
	assert_int_equal(sasl_server_resume(s, SASL_OK, &ch, &err), SASL_FAIL);
	assert_null(sasl_server_user(s));
	sasl_server_free(&s);
	/* freeing a pending machine is fine */
	s = sasl_server_new("PLAIN", &be, &err);
	assert_int_equal(sasl_server_start(s, "AHVzZXIAcGVuY2ls", &ch, &err), SASL_PENDING);
	sasl_server_free(&s);
	assert_int_equal(a.calls, 5);
	buf_deinit(&ch);
}

static void test_unknown_mech(void **state)
{
	struct err err;

	assert_null(sasl_server_new("CRAM-MD5", &backend, &err));
	assert_null(sasl_server_new("", &backend, &err));
	assert_true(sasl_mech_known("scram-sha-256"));
	assert_false(sasl_mech_known("SCRAM-SHA-1"));
}

/* RFC 7677 section 3 */
static const char vec_client_first[] = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
static const char vec_server_first[] = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				       "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
static const char vec_client_final[] = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
				       "hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
static const char vec_server_final[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

static void test_scram_rfc7677_vector(void **state)
{
	struct buf ch = BUF_INIT;
	struct err err;
	struct sasl_server *s = sasl_server_new("SCRAM-SHA-256", &backend, &err);
	char *t, *c;

	sasl_server_set_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	t = b64(vec_client_first, strlen(vec_client_first));
	assert_int_equal(sasl_server_start(s, t, &ch, &err), SASL_CONTINUE);
	free(t);
	c = unb64(buf_cstr(&ch));
	assert_string_equal(c, vec_server_first);
	free(c);
	t = b64(vec_client_final, strlen(vec_client_final));
	assert_int_equal(sasl_server_step(s, t, &ch, &err), SASL_CONTINUE);
	free(t);
	c = unb64(buf_cstr(&ch));
	assert_string_equal(c, vec_server_final);
	free(c);
	assert_null(sasl_server_user(s));
	assert_int_equal(sasl_server_step(s, "", &ch, &err), SASL_OK);
	assert_string_equal(sasl_server_user(s), "user@example.test");
	sasl_server_free(&s);
	buf_deinit(&ch);
}

/* scram_client_final - compute client-final for password and the server's
 * first message (a second, independent SCRAM client). */
static char *scram_client_final(const char *password, const char *bare, const char *sfirst,
				const char *cb)
{
	struct buf salt = BUF_INIT, msg = BUF_INIT, am = BUF_INIT, out = BUF_INIT;
	unsigned char salted[32], ck[32], sk[32], sig[32], proof[32];
	unsigned int len = 32;
	const char *r = strstr(sfirst, "r="), *sp = strstr(sfirst, ",s="),
		   *ip = strstr(sfirst, ",i=");

	assert_non_null(r);
	assert_non_null(sp);
	assert_non_null(ip);
	assert_int_equal(sasl_base64_decode(sp + 3, (size_t)(ip - sp - 3), &salt), 0);
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), (unsigned char *)salt.data,
			  (int)salt.len, atoi(ip + 3), EVP_sha256(), 32, salted);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ck, &len);
	SHA256(ck, 32, sk);
	buf_printf(&msg, "c=%s,%.*s", cb, (int)(sp - r), r);
	buf_printf(&am, "%s,%s,%s", bare, sfirst, buf_cstr(&msg));
	HMAC(EVP_sha256(), sk, 32, (unsigned char *)am.data, am.len, sig, &len);
	for (int i = 0; i < 32; i++)
		proof[i] = ck[i] ^ sig[i];
	buf_adds(&msg, ",p=");
	sasl_base64_encode(proof, 32, &msg);
	sasl_base64_encode(msg.data, msg.len, &out);
	buf_deinit(&salt);
	buf_deinit(&msg);
	buf_deinit(&am);
	return buf_steal(&out);
}

/* scram_run - a full exchange with a random server nonce; returns the
 * result of the client-final step. */
static enum sasl_result scram_run(const char *gs2, const char *user, const char *password,
				  struct sasl_server **s, struct err *err)
{
	struct buf first = BUF_INIT, ch = BUF_INIT;
	enum sasl_result r;
	char *t, *sfirst, *fin, *cb;

	buf_printf(&first, "%sn=%s,r=fyko+d2lbbFgONRv9qkxdawL", gs2, user);
	t = b64(first.data, first.len);
	*s = sasl_server_new("SCRAM-SHA-256", &backend, err);
	r = sasl_server_start(*s, t, &ch, err);
	free(t);
	if (r != SASL_CONTINUE) {
		buf_deinit(&first);
		buf_deinit(&ch);
		return r;
	}
	sfirst = unb64(buf_cstr(&ch));
	assert_non_null(strstr(sfirst, "r=fyko+d2lbbFgONRv9qkxdawL"));
	cb = b64(gs2, strlen(gs2));
	fin = scram_client_final(password, first.data + strlen(gs2), sfirst, cb);
	r = sasl_server_step(*s, fin, &ch, err);
	free(fin);
	free(cb);
	free(sfirst);
	buf_deinit(&first);
	buf_deinit(&ch);
	return r;
}

static void test_scram_random_nonce(void **state)
{
	struct sasl_server *s;
	struct err err;
	struct buf ch = BUF_INIT;

	assert_int_equal(scram_run("n,,", "user", "pencil", &s, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(s, "", &ch, &err), SASL_OK);
	sasl_server_free(&s);
	assert_int_equal(scram_run("y,,", "user", "pencil", &s, &err), SASL_CONTINUE);
	sasl_server_free(&s);
	assert_int_equal(scram_run("n,a=user,", "user", "pencil", &s, &err), SASL_CONTINUE);
	sasl_server_free(&s);
	assert_int_equal(scram_run("n,,", "user", "wrong", &s, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_CREDENTIALS);
	sasl_server_free(&s);
	/* unknown user and user without a secret: same shape, fails at the proof */
	assert_int_equal(scram_run("n,,", "nobody", "pencil", &s, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_CREDENTIALS);
	sasl_server_free(&s);
	db.has_scram = false;
	assert_int_equal(scram_run("n,,", "user", "pencil", &s, &err), SASL_FAIL);
	assert_int_equal(err.code, SASL_E_CREDENTIALS);
	sasl_server_free(&s);
	db.temp = true;
	assert_int_equal(scram_run("n,,", "user", "pencil", &s, &err), SASL_TEMPFAIL);
	sasl_server_free(&s);
	buf_deinit(&ch);
}

static void test_scram_fake_salt_stable(void **state)
{
	struct buf ch1 = BUF_INIT, ch2 = BUF_INIT;
	struct err err;
	struct sasl_server *s1 = sasl_server_new("SCRAM-SHA-256", &backend, &err);
	struct sasl_server *s2 = sasl_server_new("SCRAM-SHA-256", &backend, &err);
	char *t = b64("n,,n=ghost,r=abc", 16);
	char *a, *b;

	sasl_server_set_nonce(s1, "X");
	sasl_server_set_nonce(s2, "X");
	assert_int_equal(sasl_server_start(s1, t, &ch1, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_start(s2, t, &ch2, &err), SASL_CONTINUE);
	a = unb64(buf_cstr(&ch1));
	b = unb64(buf_cstr(&ch2));
	assert_string_equal(a, b);
	assert_non_null(strstr(a, ",i=4096"));
	free(a);
	free(b);
	free(t);
	sasl_server_free(&s1);
	sasl_server_free(&s2);
	buf_deinit(&ch1);
	buf_deinit(&ch2);
}

static void test_scram_malformed(void **state)
{
	static const char *const firsts[] = {
		"",
		"n",
		"n,",
		"p=tls-unique,,n=user,r=abc",
		"x,,n=user,r=abc",
		"n,,n=,r=abc",
		"n,,n=user",
		"n,,n=user,r=",
		"n,,n=us=41r,r=abc",
		"n,,n=user,s=abc",
		"n,,m=ext,n=user,r=abc",
		"n,a=,n=user,r=abc",
		"n,,n=user,r=a,bc",
	};
	struct buf ch = BUF_INIT;
	struct err err;
	struct sasl_server *s;

	for (size_t i = 0; i < N_ELEMENTS(firsts); i++) {
		char *t = b64(firsts[i], strlen(firsts[i]));
		enum sasl_result r = run_start("SCRAM-SHA-256", t[0] ? t : "=", &s, &ch, &err);
		/* "n,,n=user,r=a,bc": ",bc" is an (ignored) extension */
		if (i == N_ELEMENTS(firsts) - 1) {
			assert_int_equal(r, SASL_CONTINUE);
		} else {
			assert_int_equal(r, SASL_FAIL);
			assert_int_equal(err.code, SASL_E_MALFORMED);
		}
		free(t);
		sasl_server_free(&s);
	}
	/* authzid other than the user */
	{
		char *t = b64("n,a=admin,n=user,r=abc", 22);
		assert_int_equal(run_start("SCRAM-SHA-256", t, &s, &ch, &err), SASL_FAIL);
		assert_int_equal(err.code, SASL_E_CREDENTIALS);
		free(t);
		sasl_server_free(&s);
	}
	buf_deinit(&ch);
}

static void test_scram_bad_final(void **state)
{
	static const char *const finals[] = {
		"",
		"c=biws",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		"c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"
		"Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzb",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=!!!!",
		"c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"
		"Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	};
	struct buf ch = BUF_INIT;
	struct err err;
	struct sasl_server *s;

	for (size_t i = 0; i < N_ELEMENTS(finals); i++) {
		char *t = b64(vec_client_first, strlen(vec_client_first));
		char *f = b64(finals[i], strlen(finals[i]));

		s = sasl_server_new("SCRAM-SHA-256", &backend, &err);
		sasl_server_set_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
		assert_int_equal(sasl_server_start(s, t, &ch, &err), SASL_CONTINUE);
		assert_int_equal(sasl_server_step(s, f, &ch, &err), SASL_FAIL);
		assert_int_equal(err.code, SASL_E_MALFORMED);
		free(t);
		free(f);
		sasl_server_free(&s);
	}
	/* data instead of the empty acknowledgement */
	{
		char *t = b64(vec_client_first, strlen(vec_client_first));
		char *f = b64(vec_client_final, strlen(vec_client_final));
		s = sasl_server_new("SCRAM-SHA-256", &backend, &err);
		sasl_server_set_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
		assert_int_equal(sasl_server_start(s, t, &ch, &err), SASL_CONTINUE);
		assert_int_equal(sasl_server_step(s, f, &ch, &err), SASL_CONTINUE);
		assert_int_equal(sasl_server_step(s, "eA==", &ch, &err), SASL_FAIL);
		assert_null(sasl_server_user(s));
		free(t);
		free(f);
		sasl_server_free(&s);
	}
	buf_deinit(&ch);
}

static void test_scram_secret_format(void **state)
{
	struct sasl_scram_secret a, b;
	struct buf text = BUF_INIT, attrs = BUF_INIT;
	struct err err;

	assert_int_equal(sasl_scram_secret_new("pencil", 6, 4096, &a, &err), 0);
	assert_int_equal(a.salt_len, 16);
	sasl_scram_secret_format(&a, &text);
	assert_int_equal(sasl_scram_secret_parse(buf_cstr(&text), &b, &err), 0);
	assert_int_equal(b.iter, 4096);
	assert_memory_equal(&a, &b, sizeof(a));
	buf_printf(&attrs, "quota=10 scram-sha-256=%s other=x", buf_cstr(&text));
	memset(&b, 0, sizeof(b));
	assert_int_equal(sasl_scram_secret_find(buf_cstr(&attrs), &b, &err), 1);
	assert_memory_equal(a.stored_key, b.stored_key, 32);
	assert_int_equal(sasl_scram_secret_find("quota=10", &b, &err), 0);
	assert_int_equal(sasl_scram_secret_find("", &b, &err), 0);
	assert_int_equal(sasl_scram_secret_find("scram-sha-256=4096:AA==", &b, &err), -1);
	assert_int_equal(sasl_scram_secret_parse("0:AA==:AA==:AA==", &b, &err), -1);
	assert_int_equal(sasl_scram_secret_parse("x:AA==:AA==:AA==", &b, &err), -1);
	assert_int_equal(sasl_scram_secret_parse("4096:AA==:AA==:AA==", &b, &err), -1);
	assert_int_equal(sasl_scram_secret_parse("4096::AA==:AA==", &b, &err), -1);
	assert_int_equal(sasl_scram_secret_parse("", &b, &err), -1);
	buf_reset(&text);
	buf_adds(&text, "4096:AA==:");
	sasl_base64_encode(a.stored_key, 32, &text);
	buf_addc(&text, ':');
	sasl_base64_encode(a.server_key, 32, &text);
	buf_adds(&text, ":extra");
	assert_int_equal(sasl_scram_secret_parse(buf_cstr(&text), &b, &err), -1);
	buf_deinit(&text);
	buf_deinit(&attrs);
}

/* test_fed_bytes - every prefix of a good PLAIN response decodes or fails
 * cleanly (one byte at a time, in the Dovecot way). */
static void test_fed_prefixes(void **state)
{
	char *full = b64("\0user\0pencil", 12);
	size_t n = strlen(full);
	struct buf ch = BUF_INIT;
	struct err err;
	struct sasl_server *s;

	for (size_t i = 1; i < n; i++) {
		char *part = strndup(full, i);
		enum sasl_result r = run_start("PLAIN", part, &s, &ch, &err);
		assert_int_equal(r, SASL_FAIL);
		free(part);
		sasl_server_free(&s);
	}
	free(full);
	buf_deinit(&ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_base64_strict, reset),
		cmocka_unit_test_setup(test_plain_initial_response, reset),
		cmocka_unit_test_setup(test_plain_challenge_and_authzid, reset),
		cmocka_unit_test_setup(test_plain_malformed, reset),
		cmocka_unit_test_setup(test_plain_tempfail, reset),
		cmocka_unit_test_setup(test_login, reset),
		cmocka_unit_test_setup(test_unknown_mech, reset),
		cmocka_unit_test_setup(test_scram_rfc7677_vector, reset),
		cmocka_unit_test_setup(test_scram_random_nonce, reset),
		cmocka_unit_test_setup(test_scram_fake_salt_stable, reset),
		cmocka_unit_test_setup(test_scram_malformed, reset),
		cmocka_unit_test_setup(test_scram_bad_final, reset),
		cmocka_unit_test_setup(test_scram_secret_format, reset),
		cmocka_unit_test_setup(test_fed_prefixes, reset),
		cmocka_unit_test_setup(test_pending_check, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
