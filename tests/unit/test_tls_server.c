/*
 * test_tls_server.c - unit tests for lib/tls_server.c: loading a
 * self-signed pair (made here like tern init makes one), bad files,
 * in-memory handshakes (TLS 1.3, TLS 1.2, TLS 1.1 refused), session
 * resumption, per-daemon files, reload, the log description, and the
 * context built from PEM text (same settings, chains, bad text).
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "safefile.h"
#include "tls_server.h"

static char dir[] = "/tmp/test_tls_server.XXXXXX";
static char cert1[128], key1[128], cert2[128], key2[128];

/* make_pair - an EC P-256 key and a self-signed certificate for cn. */
static void make_pair(const char *cert_path, const char *key_path, const char *cn)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *f;

	assert_non_null(pkey);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	f = fopen(cert_path, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key_path, "w");
	assert_non_null(f);
	PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pkey);
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	snprintf(cert1, sizeof(cert1), "%s/cert1.pem", dir);
	snprintf(key1, sizeof(key1), "%s/key1.pem", dir);
	snprintf(cert2, sizeof(cert2), "%s/cert2.pem", dir);
	snprintf(key2, sizeof(key2), "%s/key2.pem", dir);
	make_pair(cert1, key1, "one.example.test");
	make_pair(cert2, key2, "two.example.test");
	return 0;
}

static int teardown(void **state)
{
	unlink(cert1);
	unlink(key1);
	unlink(cert2);
	unlink(key2);
	rmdir(dir);
	return 0;
}

/* handshake - run client and server over a BIO pair; 0 when both
 * finished, -1 when either failed.  *server_r / *client_r kept for
 * inspection when not NULL. */
static int handshake(SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION *resume, SSL **server_r,
		     SSL **client_r)
{
	SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
	BIO *sb, *cb;
	int rc = -1;
	bool sdone = false, cdone = false;

	assert_int_equal(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
	SSL_set_bio(s, sb, sb);
	SSL_set_bio(c, cb, cb);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	if (resume != NULL)
		SSL_set_session(c, resume);
	for (int i = 0; i < 100 && !(sdone && cdone); i++) {
		int r;
		if (!cdone) {
			r = SSL_do_handshake(c);
			if (r == 1)
				cdone = true;
			else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
				goto out;
		}
		if (!sdone) {
			r = SSL_do_handshake(s);
			if (r == 1)
				sdone = true;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
				goto out;
		}
	}
	if (sdone && cdone) {
		/* let the client read the TLS 1.3 tickets */
		char byte;
		assert_int_equal(SSL_write(s, "x", 1), 1);
		assert_int_equal(SSL_read(c, &byte, 1), 1);
		rc = 0;
	}
out:
	if (server_r != NULL)
		*server_r = s;
	else
		SSL_free(s);
	if (client_r != NULL)
		*client_r = c;
	else
		SSL_free(c);
	return rc;
}

/* close_pair - clean shutdown on both sides (an SSL freed without one
 * marks its session not resumable), then free. */
static void close_pair(SSL *s, SSL *c)
{
	SSL_shutdown(c);
	SSL_shutdown(s);
	SSL_free(s);
	SSL_free(c);
}

static SSL_CTX *client_ctx(int max_version)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	if (max_version != 0) {
		SSL_CTX_set_security_level(c, 0);
		SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
		SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(c, max_version);
	}
	return c;
}

static void test_load_and_tls13(void **state)
{
	struct err err;
	SSL_CTX *sctx = tls_server_ctx_new(cert1, key1, &err);
	SSL_CTX *cctx = client_ctx(0);
	SSL *s, *c;
	struct buf d = BUF_INIT;

	assert_non_null(sctx);
	assert_int_equal(SSL_CTX_get_min_proto_version(sctx), TLS1_2_VERSION);
	assert_true(SSL_CTX_get_options(sctx) & SSL_OP_NO_COMPRESSION);
	assert_true(SSL_CTX_get_options(sctx) & SSL_OP_NO_RENEGOTIATION);
	assert_true(SSL_CTX_get_options(sctx) & SSL_OP_CIPHER_SERVER_PREFERENCE);
	assert_int_equal(handshake(sctx, cctx, NULL, &s, &c), 0);
	tls_server_describe(s, &d);
	assert_non_null(strstr(buf_cstr(&d), "TLSv1.3 with cipher TLS_"));
	assert_non_null(strstr(buf_cstr(&d), "/256 bits)"));
	/* the certificate served is the configured one */
	{
		X509 *peer = SSL_get1_peer_certificate(c);
		char cn[64];
		assert_non_null(peer);
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
					  sizeof(cn));
		assert_string_equal(cn, "one.example.test");
		X509_free(peer);
	}
	SSL_free(s);
	SSL_free(c);
	buf_deinit(&d);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_tls12_and_resumption(void **state)
{
	struct err err;
	SSL_CTX *sctx = tls_server_ctx_new(cert1, key1, &err);
	SSL_CTX *cctx = client_ctx(TLS1_2_VERSION);
	SSL *s, *c;
	SSL_SESSION *sess;
	struct buf d = BUF_INIT;

	SSL_CTX_set_security_level(cctx, 1);
	SSL_CTX_set_cipher_list(cctx, "DEFAULT");
	assert_non_null(sctx);
	assert_int_equal(handshake(sctx, cctx, NULL, &s, &c), 0);
	tls_server_describe(s, &d);
	assert_non_null(strstr(buf_cstr(&d), "TLSv1.2 with cipher ECDHE-ECDSA-"));
	sess = SSL_get1_session(c);
	assert_non_null(sess);
	close_pair(s, c);
	assert_int_equal(handshake(sctx, cctx, sess, &s, &c), 0);
	assert_true(SSL_session_reused(s));
	SSL_free(s);
	SSL_free(c);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);

	/* TLS 1.3 resumption with a ticket */
	cctx = client_ctx(0);
	assert_int_equal(handshake(sctx, cctx, NULL, &s, &c), 0);
	sess = SSL_get1_session(c);
	close_pair(s, c);
	assert_int_equal(handshake(sctx, cctx, sess, &s, &c), 0);
	assert_true(SSL_session_reused(s));
	SSL_free(s);
	SSL_free(c);
	SSL_SESSION_free(sess);
	buf_deinit(&d);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_tls11_refused(void **state)
{
	struct err err;
	SSL_CTX *sctx = tls_server_ctx_new(cert1, key1, &err);
	SSL_CTX *cctx = client_ctx(TLS1_1_VERSION);

	assert_non_null(sctx);
	assert_int_equal(handshake(sctx, cctx, NULL, NULL, NULL), -1);
	SSL_CTX_free(cctx);
	cctx = client_ctx(TLS1_VERSION);
	assert_int_equal(handshake(sctx, cctx, NULL, NULL, NULL), -1);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_bad_files(void **state)
{
	struct err err;

	assert_null(tls_server_ctx_new("/nonexistent/cert.pem", key1, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/cert.pem"));
	assert_null(tls_server_ctx_new(cert1, "/nonexistent/key.pem", &err));
	assert_non_null(strstr(err.msg, "/nonexistent/key.pem"));
	assert_null(tls_server_ctx_new(cert1, key2, &err));
	assert_non_null(strstr(err.msg, "does not match"));
	assert_null(tls_server_ctx_new(key1, key1, &err));
	assert_null(tls_server_ctx_new("", "", &err));
	assert_null(tls_server_ctx_new(NULL, key1, &err));
}

/* served_cn - the CN of the certificate ctx serves. */
static void served_cn(SSL_CTX *sctx, char *cn, size_t size)
{
	SSL_CTX *cctx = client_ctx(0);
	SSL *c;
	X509 *peer;

	assert_int_equal(handshake(sctx, cctx, NULL, NULL, &c), 0);
	peer = SSL_get1_peer_certificate(c);
	X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, (int)size);
	X509_free(peer);
	SSL_free(c);
	SSL_CTX_free(cctx);
}

static void test_cfg_and_reload(void **state)
{
	struct err err;
	struct buf text = BUF_INIT;
	struct cfg *cfg;
	struct tls_server *ts;
	char cn[64];

	buf_printf(&text, "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n", cert1, key1);
	cfg = cfg_parse_string(dir, "main.cf", text.data, text.len, &err);
	assert_non_null(cfg);
	ts = tls_server_new(cfg, "smtpd", &err);
	assert_non_null(ts);
	served_cn(tls_server_ctx(ts), cn, sizeof(cn));
	assert_string_equal(cn, "one.example.test");
	/* pop3d without its own files uses smtpd's */
	{
		struct tls_server *p = tls_server_new(cfg, "pop3d", &err);
		assert_non_null(p);
		tls_server_free(&p);
		assert_null(p);
	}
	/* reload to the second pair */
	assert_int_equal(cfg_set(cfg, "smtpd_tls_cert_file", cert2, &err), 0);
	assert_int_equal(cfg_set(cfg, "smtpd_tls_key_file", key2, &err), 0);
	assert_int_equal(tls_server_reload(ts, cfg, &err), 0);
	served_cn(tls_server_ctx(ts), cn, sizeof(cn));
	assert_string_equal(cn, "two.example.test");
	/* a bad reload keeps the current context */
	assert_int_equal(cfg_set(cfg, "smtpd_tls_key_file", key1, &err), 0);
	assert_int_equal(tls_server_reload(ts, cfg, &err), -1);
	assert_non_null(strstr(err.msg, "does not match"));
	served_cn(tls_server_ctx(ts), cn, sizeof(cn));
	assert_string_equal(cn, "two.example.test");
	tls_server_free(&ts);
	cfg_free(&cfg);
	buf_deinit(&text);
}

/* slurp - a whole file into memory (freed by the caller). */
static char *slurp(const char *path, size_t *len_r)
{
	struct err err;
	char *p = safefile_read(path, 65536, len_r, &err);

	assert_non_null(p);
	return p;
}

static void test_pem_in_memory(void **state)
{
	size_t c1len, k1len, c2len, k2len;
	char *c1 = slurp(cert1, &c1len), *k1 = slurp(key1, &k1len);
	char *c2 = slurp(cert2, &c2len), *k2 = slurp(key2, &k2len);
	struct buf chain = BUF_INIT;
	STACK_OF(X509) *extra = NULL;
	SSL_CTX *file_ctx, *ctx;
	struct err err;
	char cn[64];

	ctx = tls_server_ctx_new_pem(c1, c1len, k1, k1len, &err);
	assert_non_null(ctx);
	file_ctx = tls_server_ctx_new(cert1, key1, &err);
	assert_non_null(file_ctx);
	/* exactly the settings of a context read from the files */
	assert_int_equal(SSL_CTX_get_options(ctx), SSL_CTX_get_options(file_ctx));
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_int_equal(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
	assert_int_equal(SSL_CTX_get_session_cache_mode(ctx),
			 SSL_CTX_get_session_cache_mode(file_ctx));
	assert_int_equal(SSL_CTX_sess_get_cache_size(ctx), SSL_CTX_sess_get_cache_size(file_ctx));
	assert_int_equal(SSL_CTX_get_timeout(ctx), SSL_CTX_get_timeout(file_ctx));
	served_cn(ctx, cn, sizeof(cn));
	assert_string_equal(cn, "one.example.test");
	SSL_CTX_free(ctx);
	SSL_CTX_free(file_ctx);
	/* a chain: the leaf first, the rest become chain certificates */
	buf_add(&chain, c2, c2len);
	buf_add(&chain, c1, c1len);
	ctx = tls_server_ctx_new_pem(chain.data, chain.len, k2, k2len, &err);
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_get0_chain_certs(ctx, &extra), 1);
	assert_int_equal(sk_X509_num(extra), 1);
	served_cn(ctx, cn, sizeof(cn));
	assert_string_equal(cn, "two.example.test");
	SSL_CTX_free(ctx);
	/* bad text */
	assert_null(tls_server_ctx_new_pem(c1, c1len, k2, k2len, &err));
	assert_non_null(strstr(err.msg, "does not match"));
	assert_null(tls_server_ctx_new_pem("garbage", 7, k1, k1len, &err));
	assert_non_null(strstr(err.msg, "cannot load TLS certificate (memory)"));
	assert_null(tls_server_ctx_new_pem(c1, c1len, "garbage", 7, &err));
	assert_non_null(strstr(err.msg, "cannot load TLS key (memory)"));
	assert_null(tls_server_ctx_new_pem(c1, c1len / 2, k1, k1len, &err));
	assert_null(tls_server_ctx_new_pem(c1, 0, k1, k1len, &err));
	assert_null(tls_server_ctx_new_pem(c1, c1len, k1, 0, &err));
	/* a chain that ends in a broken certificate is refused */
	buf_reset(&chain);
	buf_add(&chain, c1, c1len);
	buf_adds(&chain, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	assert_null(tls_server_ctx_new_pem(chain.data, chain.len, k1, k1len, &err));
	buf_deinit(&chain);
	explicit_bzero(k1, k1len);
	explicit_bzero(k2, k2len);
	free(c1);
	free(k1);
	free(c2);
	free(k2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_and_tls13), cmocka_unit_test(test_tls12_and_resumption),
		cmocka_unit_test(test_tls11_refused),  cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_cfg_and_reload), cmocka_unit_test(test_pem_in_memory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
