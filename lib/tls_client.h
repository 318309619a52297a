/*
 * tls_client.h - outbound TLS policy for the smtp agent: the client
 * SSL_CTX (TLS 1.2 and later, system or configured CA store, DANE
 * enabled), per-connection settings before the handshake (SNI, names to
 * match, TLSA records), and the verdict afterwards (Verified, Trusted,
 * Untrusted, Anonymous) with the text of Postfix's log line.
 * Levels (smtp_tls_security_level): none, may (STARTTLS when offered,
 * plaintext otherwise or after a failed handshake), encrypt (TLS required,
 * certificate not checked), verify (certificate chain and name checked),
 * dane (RFC 7672: with secure TLSA records, DANE-EE/DANE-TA authentication
 * through OpenSSL's SSL_dane_* API; without them, opportunistic as may).
 * See: RFC 3207, RFC 7672, docs/smtp.md "TLS".
 */
#ifndef TERN_TLS_CLIENT_H
#define TERN_TLS_CLIENT_H

#include "sys.h"

#include <openssl/ssl.h>

struct buf;
struct dns_tlsa;
struct err;

enum tls_level {
	TLS_LEV_NONE,
	TLS_LEV_MAY,
	TLS_LEV_ENCRYPT,
	TLS_LEV_VERIFY,
	TLS_LEV_DANE,
};

/* tls_level_parse - "none", "may", "encrypt", "verify", "secure" (as
 * verify), "dane" (case-insensitive; "" is none); -1 when unknown. */
int tls_level_parse(const char *s, enum tls_level *level_r) ATTR_WARN_UNUSED;
/* tls_level_name - the canonical word. */
const char *tls_level_name(enum tls_level level);

/* tls_client_ctx_new - a client SSL_CTX: TLS 1.2 minimum, no compression,
 * no session tickets kept, the CA file/path when given (else the system
 * defaults), DANE enabled.  Peer verification is decided after the
 * handshake (tls_client_verdict), so the handshake itself never fails on
 * a certificate.  NULL with err. */
SSL_CTX *tls_client_ctx_new(const char *cafile, const char *capath,
			    struct err *err) ATTR_WARN_UNUSED;

/* tls_client_prepare - settings on ssl before its handshake: the names a
 * certificate must carry for level verify (names[0] is also the SNI set by
 * the caller), and for dane with n_tlsa usable records the TLSA records
 * (names[0] is the TLSA base domain; DANE-EE matches skip name checks).
 * Returns the number of TLSA records loaded (0 when none were usable, so
 * the caller treats the peer as level may) or -1 with err. */
int tls_client_prepare(SSL *ssl, enum tls_level level, const char *const *names, size_t n_names,
		       const struct dns_tlsa *tlsa, size_t n_tlsa,
		       struct err *err) ATTR_WARN_UNUSED;

/* How far the peer was authenticated. */
enum tls_trust {
	TLS_TRUST_ANONYMOUS, /* no certificate */
	TLS_TRUST_UNTRUSTED, /* a certificate whose chain did not verify */
	TLS_TRUST_TRUSTED,   /* the chain verified, the name did not match */
	TLS_TRUST_VERIFIED,  /* chain and name verified, or a DANE match */
};

struct tls_client_result {
	enum tls_trust trust;
	bool dane;	   /* authenticated by a TLSA record */
	char protocol[32]; /* "TLSv1.3" */
	char cipher[96];   /* "TLS_AES_256_GCM_SHA384" */
	int bits, alg_bits;
	char verify_error[128]; /* why the chain/name check failed */
};

/* tls_client_result - what the finished handshake on ssl established. */
void tls_client_result(SSL *ssl, struct tls_client_result *r);

/* tls_client_verdict - 0 when r satisfies level (mandatory_dane: TLSA
 * records were loaded), -1 with the reason in err ("Server certificate
 * not verified"). */
int tls_client_verdict(enum tls_level level, bool mandatory_dane, const struct tls_client_result *r,
		       struct err *err) ATTR_WARN_UNUSED;

/* tls_client_describe - append Postfix's log text:
 * "Verified TLS connection established to HOST[ADDR]:PORT: TLSv1.3 with
 * cipher X (256/256 bits)" for the peer named by peer. */
void tls_client_describe(const struct tls_client_result *r, const char *peer, struct buf *out);

#endif
