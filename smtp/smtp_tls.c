/*
 * smtp_tls.c - STARTTLS in an SMTP client session: the handshake set up
 * per the connection's policy (SNI, the names a certificate must carry,
 * the TLSA records under dane), then the Postfix-style log line and the
 * verdict of lib/tls_client, before any mail is sent.
 * Touches:  the session's connection (TLS in place through lib/loop).
 * Security: under encrypt, verify and dane (with TLSA records) a failed
 *           verdict drops the connection and defers (4.7.5): nothing is
 *           sent to a peer that did not authenticate as the level asks.
 * Errors:   setup and verdict failures defer and try the next address.
 * See:      RFC 3207, RFC 7672, lib/tls_client.h, docs/smtp.md "TLS".
 */
#include "sys.h"

#include <arpa/inet.h>

#include "err.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "smtp/smtp_sess.h"

/* is_ip - the host is an address literal (no SNI then). */
static bool is_ip(const char *h)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, h, tmp) == 1 || inet_pton(AF_INET6, h, tmp) == 1;
}

void smtp_tls_start(struct smtp_sess *s)
{
	const char *names[2];
	size_t n = 0;
	struct err err;
	int loaded;

	names[n++] = s->host;
	if (s->req != NULL && s->req->use_mx && strcmp(buf_cstr(&s->req->host), s->host) != 0)
		names[n++] = buf_cstr(&s->req->host);
	if (loop_conn_starttls_client(s->conn, s->a->tls, is_ip(s->host) ? NULL : s->host, &err) <
		    0 ||
	    (loaded = tls_client_prepare(loop_conn_ssl(s->conn), s->pol.level, names, n,
					 s->pol.tlsa, s->pol.ntlsa, &err)) < 0) {
		smtp_sess_fail(s, DELIVER_DEFER, "4.7.5", true, "", "cannot start TLS with %s: %s",
			       s->relay, err.msg);
		return;
	}
	if (s->pol.level == TLS_LEV_DANE && loaded == 0)
		s->pol.dane_mandatory = false;
	s->state = S_TLS;
	loop_conn_set_timeout(s->conn, s->a->p.t_starttls);
}

void smtp_tls_done(struct loop_conn *conn, void *arg)
{
	struct smtp_sess *s = arg;
	struct tls_client_result res;
	struct buf text = BUF_INIT;
	struct err err;

	tls_client_result(loop_conn_ssl(conn), &res);
	tls_client_describe(&res, s->relay, &text);
	log_info("%s", buf_cstr(&text));
	buf_deinit(&text);
	if (tls_client_verdict(s->pol.level, s->pol.dane_mandatory, &res, &err) < 0) {
		smtp_sess_fail(s, DELIVER_DEFER, "4.7.5", true, "", "TLS with %s: %s", s->relay,
			       err.msg);
		return;
	}
	s->tls = true;
	smtp_sess_ehlo(s);
}
