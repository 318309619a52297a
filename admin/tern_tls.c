/*
 * tern_tls.c - the instance's TLS files for tern: make a self-signed
 * certificate and key at init, and check that a certificate and key load,
 * belong together and are in date (tern check).
 * Touches:  the cert and key files named by the caller (written with
 *           safefile_write: temp file, fsync, rename).
 * Security: the private key is created mode 0600 and only then written;
 *           its PEM text is wiped from memory after writing.  OpenSSL's
 *           library API does the crypto (P-256 key, SHA-256 signature).
 * Errors:   -1 with err naming the file and OpenSSL's reason.
 * See:      admin/tern.h, docs/commands.md "tern init".
 */
#include "sys.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin/tern.h"
#include "buf.h"
#include "err.h"
#include "safefile.h"

#define TERN_TLS_DAYS (10L * 365 + 3)

/* tern_tls_err - err_set with OpenSSL's last queued reason appended. */
static int tern_tls_err(struct err *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[160] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return err_set(err, "%s: %s", what, reason);
}

/* tern_tls_ext - add one X509v3 extension written in OpenSSL's config
 * syntax ("DNS:host"). */
static int tern_tls_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/* tern_tls_build - a signed self-signed certificate for hostname. */
static X509 *tern_tls_build(EVP_PKEY *pkey, const char *hostname, struct err *err)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	struct buf san = BUF_INIT;
	bool ok = false;

	if (x == NULL || X509_set_version(x, 2) != 1)
		goto out;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* a positive serial number */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	if (X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TERN_TLS_DAYS, 0, NULL) == NULL)
		goto out;
	if (X509_set_pubkey(x, pkey) != 1)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)hostname,
				       -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto out;
	buf_printf(&san, "DNS:%s", hostname);
	if (strcmp(hostname, "localhost") != 0)
		buf_adds(&san, ",DNS:localhost");
	buf_adds(&san, ",IP:127.0.0.1,IP:::1");
	if (tern_tls_ext(x, NID_subject_alt_name, buf_cstr(&san)) < 0 ||
	    tern_tls_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    tern_tls_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    tern_tls_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    tern_tls_ext(x, NID_subject_key_identifier, "hash") < 0)
		goto out;
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		goto out;
	ok = true;
out:
	if (!ok) {
		tern_tls_err(err, "cannot make the certificate");
		X509_free(x);
		x = NULL;
	}
	BN_free(bn);
	buf_deinit(&san);
	return x;
}

/* tern_tls_pem - the PEM text of a key or certificate from a memory BIO
 * into out; returns -1 on failure. */
static int tern_tls_pem(EVP_PKEY *pkey, X509 *x, struct buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int ok;

	if (bio == NULL)
		return -1;
	if (pkey != NULL)
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_X509(bio, x);
	n = BIO_get_mem_data(bio, &p);
	if (ok == 1 && n > 0)
		buf_set(out, p, (size_t)n);
	if (n > 0)
		explicit_bzero(p, (size_t)n);
	BIO_free(bio);
	return ok == 1 && n > 0 ? 0 : -1;
}

int tern_tls_make(const char *cert, const char *key, const char *hostname, uid_t uid,
		  gid_t gid, struct err *err)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = NULL;
	struct buf pem = BUF_INIT;
	int rc = -1;

	if (pkey == NULL)
		return tern_tls_err(err, "cannot make a P-256 key");
	x = tern_tls_build(pkey, hostname, err);
	if (x == NULL)
		goto out;
	if (tern_tls_pem(pkey, NULL, &pem) < 0) {
		tern_tls_err(err, "cannot encode the key");
		goto out;
	}
	if (safefile_write(key, pem.data, pem.len, 0600, err) < 0 ||
	    tern_secure_file(key, uid, gid, 0600, err) < 0)
		goto out;
	explicit_bzero(pem.data, pem.len);
	if (tern_tls_pem(NULL, x, &pem) < 0) {
		tern_tls_err(err, "cannot encode the certificate");
		goto out;
	}
	if (safefile_write(cert, pem.data, pem.len, 0644, err) < 0 ||
	    tern_secure_file(cert, uid, gid, 0644, err) < 0)
		goto out;
	rc = 0;
out:
	if (pem.data != NULL)
		explicit_bzero(pem.data, pem.cap);
	buf_deinit(&pem);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

int tern_tls_check(const char *cert, const char *key, bool *expiring_r, struct err *err)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pkey = NULL;
	struct buf what = BUF_INIT;
	time_t soon;
	int rc = -1;

	*expiring_r = false;
	ERR_clear_error();
	bio = BIO_new_file(cert, "r");
	if (bio == NULL || (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		buf_printf(&what, "cannot load certificate %s", cert);
		tern_tls_err(err, buf_cstr(&what));
		goto out;
	}
	BIO_free(bio);
	bio = BIO_new_file(key, "r");
	if (bio == NULL || (pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		buf_printf(&what, "cannot load private key %s", key);
		tern_tls_err(err, buf_cstr(&what));
		goto out;
	}
	if (X509_check_private_key(x, pkey) != 1) {
		ERR_clear_error();
		err_set(err, "private key %s does not match certificate %s", key, cert);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		err_set(err, "certificate %s has expired", cert);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		err_set(err, "certificate %s is not valid yet", cert);
		goto out;
	}
	soon = time(NULL) + 30 * 86400;
	if (X509_cmp_time(X509_get0_notAfter(x), &soon) <= 0)
		*expiring_r = true;
	rc = 0;
out:
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pkey);
	buf_deinit(&what);
	return rc;
}
