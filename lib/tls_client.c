/*
 * tls_client.c - outbound TLS: client SSL_CTX, per-connection name and
 * DANE settings, and the post-handshake verdict (see tls_client.h).
 * Touches:  the CA file/path named in main.cf or OpenSSL's defaults.
 * Input:    the peer's certificate chain (untrusted) is judged by OpenSSL;
 *           TLSA records come from lib/dns (their DNSSEC status is the
 *           caller's decision).
 * Security: TLS 1.2 minimum; verification happens in OpenSSL with
 *           SSL_set1_host/SSL_dane_*; nothing here parses certificates.
 * Errors:   setup failures return -1 with the OpenSSL error text.
 * See:      tls_client.h, RFC 7672, docs/smtp.md "TLS".
 */
#include "sys.h"

#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "dns.h"
#include "err.h"
#include "tls_client.h"

static const char *const level_names[] = {"none", "may", "encrypt", "verify", "dane"};

int tls_level_parse(const char *s, enum tls_level *level_r)
{
	if (s[0] == '\0') {
		*level_r = TLS_LEV_NONE;
		return 0;
	}
	if (strcasecmp(s, "secure") == 0) {
		*level_r = TLS_LEV_VERIFY;
		return 0;
	}
	for (size_t i = 0; i < N_ELEMENTS(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*level_r = (enum tls_level)i;
			return 0;
		}
	}
	return -1;
}

const char *tls_level_name(enum tls_level level)
{
	return (size_t)level < N_ELEMENTS(level_names) ? level_names[level] : "none";
}

/* ssl_err - the newest OpenSSL error as text (the queue is emptied). */
static int ssl_err(struct err *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char text[200];

	ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	return err_set(err, "%s: %s", what, e != 0 ? text : "unknown error");
}

SSL_CTX *tls_client_ctx_new(const char *cafile, const char *capath, struct err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *f = cafile != NULL && cafile[0] != '\0' ? cafile : NULL;
	const char *p = capath != NULL && capath[0] != '\0' ? capath : NULL;

	if (ctx == NULL) {
		ssl_err(err, "SSL_CTX_new");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (f != NULL || p != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, f, p) != 1) {
			ssl_err(err, "smtp_tls_CAfile/CApath");
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		goto fail;
	}
	if (SSL_CTX_dane_enable(ctx) <= 0)
		goto fail;
	return ctx;
fail:
	ssl_err(err, "TLS client setup");
	SSL_CTX_free(ctx);
	return NULL;
}

int tls_client_prepare(SSL *ssl, enum tls_level level, const char *const *names, size_t n_names,
		       const struct dns_tlsa *tlsa, size_t n_tlsa, struct err *err)
{
	int loaded = 0;

	if (level == TLS_LEV_DANE && n_tlsa > 0 && n_names > 0) {
		if (SSL_dane_enable(ssl, names[0]) <= 0)
			return ssl_err(err, "SSL_dane_enable");
		SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		for (size_t i = 0; i < n_tlsa; i++) {
			int rc = SSL_dane_tlsa_add(ssl, tlsa[i].usage, tlsa[i].selector,
						   tlsa[i].mtype, tlsa[i].data, tlsa[i].len);

			if (rc > 0)
				loaded++;
			else if (rc < 0)
				return ssl_err(err, "SSL_dane_tlsa_add");
			/* rc == 0: an unusable record (RFC 7672 2.2), skipped */
		}
		ERR_clear_error();
		if (loaded == 0)
			return 0;
		for (size_t i = 1; i < n_names; i++)
			if (SSL_add1_host(ssl, names[i]) != 1)
				return ssl_err(err, "SSL_add1_host");
		return loaded;
	}
	if (level >= TLS_LEV_MAY && n_names > 0) {
		/* the name check runs at every level so the log can say
		 * Verified or Trusted; only verify and dane enforce it */
		if (SSL_set1_host(ssl, names[0]) != 1)
			return ssl_err(err, "SSL_set1_host");
		for (size_t i = 1; i < n_names; i++)
			if (SSL_add1_host(ssl, names[i]) != 1)
				return ssl_err(err, "SSL_add1_host");
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	return 0;
}

void tls_client_result(SSL *ssl, struct tls_client_result *r)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	long vr = SSL_get_verify_result(ssl);

	memset(r, 0, sizeof(*r));
	snprintf(r->protocol, sizeof(r->protocol), "%s", SSL_get_version(ssl));
	snprintf(r->cipher, sizeof(r->cipher), "%s", c != NULL ? SSL_CIPHER_get_name(c) : "none");
	r->bits = c != NULL ? SSL_CIPHER_get_bits(c, &r->alg_bits) : 0;
	if (peer == NULL) {
		r->trust = TLS_TRUST_ANONYMOUS;
		return;
	}
	if (vr == X509_V_OK) {
		r->trust = TLS_TRUST_VERIFIED;
		r->dane = SSL_get0_dane_authority(ssl, NULL, NULL) >= 0;
	} else {
		r->trust = vr == X509_V_ERR_HOSTNAME_MISMATCH ? TLS_TRUST_TRUSTED
							      : TLS_TRUST_UNTRUSTED;
		snprintf(r->verify_error, sizeof(r->verify_error), "%s",
			 X509_verify_cert_error_string(vr));
	}
	X509_free(peer);
}

int tls_client_verdict(enum tls_level level, bool mandatory_dane, const struct tls_client_result *r,
		       struct err *err)
{
	if (level == TLS_LEV_DANE && mandatory_dane) {
		if (r->trust != TLS_TRUST_VERIFIED)
			return err_set(err, "Server certificate not verified by DANE: %s",
				       r->verify_error[0] != '\0' ? r->verify_error
								  : "no certificate");
		return 0;
	}
	if (level == TLS_LEV_VERIFY && r->trust != TLS_TRUST_VERIFIED)
		return err_set(err, "Server certificate not verified: %s",
			       r->verify_error[0] != '\0' ? r->verify_error : "no certificate");
	return 0;
}

void tls_client_describe(const struct tls_client_result *r, const char *peer, struct buf *out)
{
	static const char *const words[] = {"Anonymous", "Untrusted", "Trusted", "Verified"};

	buf_printf(out, "%s TLS connection established to %s: %s with cipher %s (%d/%d bits)",
		   words[r->trust], peer, r->protocol, r->cipher, r->bits, r->alg_bits);
}
