/*
 * smtpd_tls.c - TLS in smtpd: the server context (lib/tls_server), the
 *           STARTTLS command (RFC 3207) with the session reset it
 *           requires, implicit TLS on the smtps port (wrapper mode), the
 *           "TLS connection established" log line and the cipher text the
 *           Received: header carries.
 * Touches:  the certificate and key files (read once at start; master
 *           restarts smtpd on `tern reload`, so a new process reads them
 *           anew), the client connection.
 * Input:    the STARTTLS command line (already parsed); anything the client
 *           sent after it before the handshake is thrown away unread by
 *           loop_conn_starttls (the CVE-2011-0411 command injection).
 * Security: after the handshake the session is as new: HELO/EHLO must be
 *           repeated, no transaction and no authentication is carried over.
 * Errors:   a certificate that cannot be loaded is fatal when TLS is
 *           required (encrypt, wrapper mode), else a warning and no
 *           STARTTLS; a handshake failure ends that session only.
 * See:      RFC 3207, RFC 8314, lib/tls_server.h, docs/smtpd.md "TLS".
 */
#include "sys.h"

#include "buf.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "smtpd.h"
#include "tls_server.h"

int smtpd_tls_init(struct smtpd_conf *conf, struct err *err)
{
	struct err lerr;

	if (conf->tls_level == SMTPD_TLS_NONE && !conf->tls_wrapper)
		return 0;
	conf->tls = tls_server_new(conf->cfg, "smtpd", &lerr);
	if (conf->tls != NULL)
		return 0;
	if (conf->tls_wrapper || conf->tls_level == SMTPD_TLS_ENCRYPT)
		return err_set(err, "TLS is required but unavailable: %s", lerr.msg);
	log_warn("TLS unavailable, STARTTLS not offered: %s", lerr.msg);
	return 0;
}

SSL_CTX *smtpd_tls_ctx(const struct smtpd_conf *conf)
{
	return conf->tls != NULL ? tls_server_ctx(conf->tls) : NULL;
}

bool smtpd_tls_offered(const struct smtpd_session *s)
{
	return s->conf->tls != NULL && s->conf->tls_level != SMTPD_TLS_NONE && !s->tls &&
	       loop_conn_ssl(s->conn) == NULL;
}

bool smtpd_tls_required(const struct smtpd_session *s)
{
	return s->conf->tls_level == SMTPD_TLS_ENCRYPT && !s->tls && !s->tls_exempt;
}

bool smtpd_tls_starttls(struct smtpd_session *s)
{
	struct err err;

	if (loop_conn_ssl(s->conn) != NULL) {
		smtpd_reply_error(s, "554 5.5.1 Error: TLS already active");
		return false;
	}
	/* offered in the EHLO reply only: a HELO session never saw it */
	if (!s->esmtp || !smtpd_tls_offered(s)) {
		smtpd_reply_error(s, "502 5.5.1 Error: command not implemented");
		return false;
	}
	if (s->in_mail) {
		smtpd_reply_error(s, "503 5.5.1 Error: MAIL transaction in progress");
		return false;
	}
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	if (loop_conn_starttls(s->conn, smtpd_tls_ctx(s->conf), &err) < 0) {
		log_warn("STARTTLS from %s[%s]: %s", s->name, s->addr, err.msg);
		smtpd_reply(s, "454 4.7.0 TLS not available due to local problem");
		return false;
	}
	if (loop_conn_discarded(s->conn) > 0)
		log_info("improper command pipelining after STARTTLS from %s[%s]: %zu bytes "
			 "discarded",
			 s->name, s->addr, loop_conn_discarded(s->conn));
	/* RFC 3207 4.2: the client must start over */
	smtpd_session_reset(s);
	return true;
}

void smtpd_tls_established(struct smtpd_session *s)
{
	SSL *ssl = loop_conn_ssl(s->conn);

	if (ssl == NULL)
		return;
	s->tls = true;
	buf_reset(&s->tls_info);
	tls_server_describe(ssl, &s->tls_info);
	tls_server_log_established(ssl, s->name, s->addr);
}
