/*
 * tls_server.h - the server-side TLS context shared by smtpd, pop3d and
 * imapd: certificate chain and key from main.cf, TLS 1.2 and 1.3 only,
 * Mozilla's "intermediate" cipher list with the server's preference, session
 * resumption (tickets and a per-process cache), no compression, no
 * renegotiation.  The SSL_CTX goes to loop_conn_new (implicit TLS: 465, 993,
 * 995) or loop_conn_starttls (STARTTLS, STLS).
 *
 * Files: DAEMON_tls_cert_file / DAEMON_tls_key_file when that parameter
 * exists and is non-empty (pop3d_..., imapd_...; their default is the smtpd
 * value), else smtpd_tls_cert_file / smtpd_tls_key_file.
 *
 * Reload: master restarts every daemon on `tern reload`, so a new process
 * reads the files anew; tls_server_reload exists for a daemon that keeps
 * running (it swaps in a new context only when the new files load, and
 * sessions already established keep the old one until they end).
 * See: docs/auth.md "TLS", lib/loop.h.
 */
#ifndef TERN_TLS_SERVER_H
#define TERN_TLS_SERVER_H

#include "sys.h"

#include <openssl/ssl.h>

struct buf;
struct cfg;
struct err;

/* TLS_SERVER_CIPHERS - TLS 1.2 ciphers (Mozilla intermediate, v5.7). */
#define TLS_SERVER_CIPHERS                                                                         \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                               \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

/* tls_server_ctx_new - a server SSL_CTX with tern's settings for the PEM
 * chain cert_file and key_file (which must match); NULL with err naming
 * the file and the OpenSSL reason.  Free with SSL_CTX_free. */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file,
			    struct err *err) ATTR_WARN_UNUSED;

/* tls_server_ctx_new_pem - the same context from PEM text in memory:
 * cert is the chain (leaf first), key the private key; for a process
 * that cannot open the files (pop3d's login process in its jail).  The
 * caller keeps and wipes its copies.  NULL with err. */
SSL_CTX *tls_server_ctx_new_pem(const void *cert, size_t cert_len, const void *key, size_t key_len,
				struct err *err) ATTR_WARN_UNUSED;

struct tls_server;

/* tls_server_new - the context for daemon ("smtpd", "pop3d", "imapd")
 * from cfg's file parameters (see above); NULL with err. */
struct tls_server *tls_server_new(struct cfg *cfg, const char *daemon,
				  struct err *err) ATTR_WARN_UNUSED;
/* tls_server_free - accepts NULL, sets *tsp NULL.  Connections still using
 * the context hold their own reference (OpenSSL counts them). */
void tls_server_free(struct tls_server **tsp);
/* tls_server_ctx - the current context (changes after a reload; take it
 * anew for each connection). */
SSL_CTX *tls_server_ctx(const struct tls_server *ts);
/* tls_server_reload - reread the files named by cfg; on failure the old
 * context stays in use and -1 comes back with err. */
int tls_server_reload(struct tls_server *ts, struct cfg *cfg, struct err *err) ATTR_WARN_UNUSED;

/* tls_server_describe - "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384
 * (256/256 bits)" for an established session, appended to out. */
void tls_server_describe(SSL *ssl, struct buf *out);
/* tls_server_log_established - log_info "Anonymous TLS connection
 * established from NAME[ADDR]: <describe>" (Postfix's line; "Anonymous"
 * because no client certificate is asked for). */
void tls_server_log_established(SSL *ssl, const char *name, const char *addr);

#endif
