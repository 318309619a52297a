/*
 * tls_server.c - the server-side SSL_CTX of smtpd, pop3d and imapd: the
 * configured certificate chain and key, TLS 1.2 and 1.3 only, Mozilla's
 * intermediate ciphers with server preference, session tickets and a
 * per-process session cache, no compression, no renegotiation; from files
 * or from PEM text in memory (a jailed process); reload and Postfix-style
 * "TLS connection established" lines.
 * Touches:  reads the certificate and key files named in main.cf.
 * Security: runs in the network daemons as the mail owner; the key file
 *           must be readable by it (tern init makes it so).  No client
 *           certificates are requested.  A failed reload keeps the old
 *           context, so a bad file never leaves a daemon without TLS.
 * Errors:   -1 / NULL with err naming the file and OpenSSL's reason.
 * Limits:   session tickets and the cache are per process: a client that
 *           comes back to another process of the same service does a full
 *           handshake.
 * See:      tls_server.h, docs/auth.md "TLS".
 */
#include "sys.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "tls_server.h"
#include "xmem.h"

/* TLS_SERVER_GROUPS - key exchange groups, best first. */
#define TLS_SERVER_GROUPS "X25519:P-256:P-384"
/* TLS_SERVER_CACHE_SIZE - sessions the per-process cache keeps. */
#define TLS_SERVER_CACHE_SIZE 20000
/* TLS_SERVER_SESSION_TIMEOUT - how long a session may be resumed, s. */
#define TLS_SERVER_SESSION_TIMEOUT 3600

struct tls_server {
	SSL_CTX *ctx;
	char *daemon;
};

/* ossl_reason - the oldest queued OpenSSL error as text (queue cleared). */
static void ossl_reason(char *out, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(out, size, "unknown error");
	else
		ERR_error_string_n(e, out, size);
	ERR_clear_error();
}

/* ctx_with_settings - a server context with every setting but the
 * certificate and key; NULL with err. */
static SSL_CTX *ctx_with_settings(struct err *err)
{
	static const unsigned char sid_ctx[] = "tern";
	SSL_CTX *ctx;
	char why[200];

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		ossl_reason(why, sizeof(why));
		err_set(err, "cannot create a TLS context: %s", why);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_SERVER_CIPHERS) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_SERVER_GROUPS) != 1 ||
	    SSL_CTX_set_dh_auto(ctx, 1) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) != 1) {
		ossl_reason(why, sizeof(why));
		err_set(err, "cannot set TLS parameters: %s", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_ECDH_USE |
					 SSL_OP_SINGLE_DH_USE);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, TLS_SERVER_CACHE_SIZE);
	SSL_CTX_set_timeout(ctx, TLS_SERVER_SESSION_TIMEOUT);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* key_matches - the key agrees with the certificate; else err naming
 * key and cert (file names, or "memory"). */
static int key_matches(SSL_CTX *ctx, const char *key, const char *cert, struct err *err)
{
	char why[200];

	if (SSL_CTX_check_private_key(ctx) == 1)
		return 0;
	ossl_reason(why, sizeof(why));
	return err_set(err, "TLS key %s does not match certificate %s: %s", key, cert, why);
}

SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, struct err *err)
{
	SSL_CTX *ctx;
	char why[200];

	if (cert_file == NULL || cert_file[0] == '\0' || key_file == NULL || key_file[0] == '\0') {
		err_set(err, "no TLS certificate or key file configured");
		return NULL;
	}
	if ((ctx = ctx_with_settings(err)) == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		ossl_reason(why, sizeof(why));
		err_set(err, "cannot load TLS certificate %s: %s", cert_file, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
		ossl_reason(why, sizeof(why));
		if (mismatch)
			err_set(err, "TLS key %s does not match certificate %s", key_file,
				cert_file);
		else
			err_set(err, "cannot load TLS key %s: %s", key_file, why);
		goto fail;
	}
	if (key_matches(ctx, key_file, cert_file, err) < 0)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* use_chain_pem - the leaf and the chain certificates of a PEM text. */
static int use_chain_pem(SSL_CTX *ctx, const void *cert, size_t cert_len, struct err *err)
{
	BIO *b = BIO_new_mem_buf(cert, (int)cert_len);
	X509 *x = b != NULL ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
	unsigned long last;
	char why[200];
	int rc = -1;

	if (x == NULL || SSL_CTX_use_certificate(ctx, x) != 1)
		goto out;
	X509_free(x);
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1)
			goto out;
	}
	/* the end of the text reads as "no start line"; anything else is bad */
	last = ERR_peek_last_error();
	if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)
		ERR_clear_error();
	if (ERR_peek_error() == 0)
		rc = 0;
out:
	if (rc < 0) {
		X509_free(x);
		ossl_reason(why, sizeof(why));
		err_set(err, "cannot load TLS certificate (memory): %s", why);
	}
	BIO_free(b);
	return rc;
}

SSL_CTX *tls_server_ctx_new_pem(const void *cert, size_t cert_len, const void *key, size_t key_len,
				struct err *err)
{
	SSL_CTX *ctx;
	BIO *kb;
	EVP_PKEY *pk = NULL;
	char why[200];

	if (cert_len == 0 || key_len == 0 || cert_len > INT32_MAX || key_len > INT32_MAX) {
		err_set(err, "no TLS certificate or key given");
		return NULL;
	}
	if ((ctx = ctx_with_settings(err)) == NULL)
		return NULL;
	if (use_chain_pem(ctx, cert, cert_len, err) < 0)
		goto fail;
	kb = BIO_new_mem_buf(key, (int)key_len);
	if (kb != NULL)
		pk = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	BIO_free(kb);
	if (pk == NULL || SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
		bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
		ossl_reason(why, sizeof(why));
		EVP_PKEY_free(pk);
		if (mismatch)
			err_set(err, "TLS key (memory) does not match certificate (memory)");
		else
			err_set(err, "cannot load TLS key (memory): %s", why);
		goto fail;
	}
	EVP_PKEY_free(pk);
	if (key_matches(ctx, "(memory)", "(memory)", err) < 0)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* file_param - DAEMON_tls_WHAT_file when that parameter exists and is
 * set to something, else smtpd_tls_WHAT_file. */
static const char *file_param(struct cfg *cfg, const char *daemon, const char *what)
{
	char name[96];
	const char *v;

	snprintf(name, sizeof(name), "%s_tls_%s_file", daemon, what);
	if (cfg_param_find(name) != NULL || cfg_is_set(cfg, name)) {
		v = cfg_get(cfg, name);
		if (v[0] != '\0')
			return v;
	}
	snprintf(name, sizeof(name), "smtpd_tls_%s_file", what);
	return cfg_get(cfg, name);
}

/* load - a context from cfg for daemon. */
static SSL_CTX *load(struct cfg *cfg, const char *daemon, struct err *err)
{
	char *cert = xstrdup(file_param(cfg, daemon, "cert"));
	SSL_CTX *ctx = tls_server_ctx_new(cert, file_param(cfg, daemon, "key"), err);

	free(cert);
	return ctx;
}

struct tls_server *tls_server_new(struct cfg *cfg, const char *daemon, struct err *err)
{
	struct tls_server *ts;
	SSL_CTX *ctx = load(cfg, daemon, err);

	if (ctx == NULL)
		return NULL;
	ts = xcalloc(1, sizeof(*ts));
	ts->ctx = ctx;
	ts->daemon = xstrdup(daemon);
	return ts;
}

void tls_server_free(struct tls_server **tsp)
{
	struct tls_server *ts = *tsp;

	if (ts == NULL)
		return;
	SSL_CTX_free(ts->ctx);
	free(ts->daemon);
	free(ts);
	*tsp = NULL;
}

SSL_CTX *tls_server_ctx(const struct tls_server *ts)
{
	return ts->ctx;
}

int tls_server_reload(struct tls_server *ts, struct cfg *cfg, struct err *err)
{
	SSL_CTX *ctx = load(cfg, ts->daemon, err);

	if (ctx == NULL)
		return -1;
	SSL_CTX_free(ts->ctx);
	ts->ctx = ctx;
	return 0;
}

void tls_server_describe(SSL *ssl, struct buf *out)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int alg_bits = 0, bits = c != NULL ? SSL_CIPHER_get_bits(c, &alg_bits) : 0;

	buf_printf(out, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
		   c != NULL ? SSL_CIPHER_get_name(c) : "(none)", bits, alg_bits);
}

void tls_server_log_established(SSL *ssl, const char *name, const char *addr)
{
	struct buf line = BUF_INIT;

	tls_server_describe(ssl, &line);
	log_info("Anonymous TLS connection established from %s[%s]: %s", name, addr,
		 buf_cstr(&line));
	buf_deinit(&line);
}
