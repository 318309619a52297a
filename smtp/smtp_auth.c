/*
 * smtp_auth.c - SMTP AUTH as a client (RFC 4954), for relayhost setups as
 * Postfix users know them: smtp_sasl_auth_enable, smtp_sasl_password_maps
 * (next hop or server name -> user:password), AUTH PLAIN with an initial
 * response or AUTH LOGIN, after EHLO (and after STARTTLS), before MAIL.
 * The security options decide per session: without TLS
 * smtp_sasl_security_options (default noplaintext: no password in clear
 * text), in TLS smtp_sasl_tls_security_options (default noanonymous).
 * Touches:  the password tables (read-only; each lookup first checks that
 *           their files give no access to other users), the session.
 * Security: passwords never reach a log line; the buffers that held them
 *           are wiped with explicit_bzero; a table other users can read
 *           or write is refused (the delivery defers with the reason), and
 *           inline:/static: tables, which would keep passwords in main.cf,
 *           are refused at start.
 * Errors:   a table error defers the recipients (4.3.0); no usable
 *           mechanism or a refused AUTH defers (4.7.x) and moves on to the
 *           next address, as Postfix's soft bounce does; a server without
 *           AUTH gets the mail unauthenticated.
 * See:      RFC 4954, RFC 4616 (PLAIN), docs/smtp.md "SMTP AUTH".
 */
#include "sys.h"

#include <strings.h>
#include <sys/stat.h>

#include "cfg.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "sasl.h"
#include "smtp/smtp_sess.h"
#include "str.h"
#include "tbl.h"
#include "xmem.h"

struct smtp_sasl {
	struct tbl **maps;
	size_t n;
	bool plain_ok;	   /* PLAIN/LOGIN allowed without TLS */
	bool tls_plain_ok; /* ... and in TLS */
};

enum auth_mech { MECH_PLAIN, MECH_LOGIN };

struct smtp_auth {
	enum auth_mech mech;
	int step;
	struct buf user, pass;
};

/* parse_options - noplaintext (and the options without meaning for
 * PLAIN and LOGIN) from a security option list. */
static int parse_options(struct cfg *cfg, const char *name, bool *plain_ok_r, struct err *err)
{
	static const char *const known[] = {"noanonymous", "noactive", "nodictionary",
					    "mutual_auth", "forward_secrecy"};
	size_t n = 0;
	char **list = cfg_get_list(cfg, name, &n);
	int rc = 0;

	*plain_ok_r = true;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bool ok = strcasecmp(list[i], "noplaintext") == 0;

		if (ok)
			*plain_ok_r = false;
		for (size_t k = 0; !ok && k < N_ELEMENTS(known); k++)
			ok = strcasecmp(list[i], known[k]) == 0;
		if (!ok)
			rc = err_set(err, "%s: unknown option \"%.100s\"", name, list[i]);
	}
	str_split_free(&list);
	return rc;
}

int smtp_sasl_init(struct smtp_agent *a, struct cfg *cfg, struct err *err)
{
	struct smtp_sasl *sa;
	size_t n = 0;
	char **specs;
	int rc = 0;

	if (!cfg_get_bool(cfg, "smtp_sasl_auth_enable"))
		return 0;
	sa = xcalloc(1, sizeof(*sa));
	if (parse_options(cfg, "smtp_sasl_security_options", &sa->plain_ok, err) < 0 ||
	    parse_options(cfg, "smtp_sasl_tls_security_options", &sa->tls_plain_ok, err) < 0) {
		free(sa);
		return -1;
	}
	specs = cfg_get_list(cfg, "smtp_sasl_password_maps", &n);
	sa->maps = xcalloc(n + 1, sizeof(*sa->maps));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (strncasecmp(specs[i], "inline:", 7) == 0 ||
		    strncasecmp(specs[i], "static:", 7) == 0) {
			rc = err_set(err,
				     "smtp_sasl_password_maps: %.200s would keep passwords in "
				     "main.cf: use a hash:, btree: or lmdb: file",
				     specs[i]);
			break;
		}
		sa->maps[i] = tbl_open(specs[i], NULL, TBL_RDONLY, err);
		if (sa->maps[i] == NULL)
			rc = -1;
		else
			sa->n++;
	}
	str_split_free(&specs);
	if (rc < 0) {
		for (size_t i = 0; i < sa->n; i++)
			tbl_close(&sa->maps[i]);
		free(sa->maps);
		free(sa);
		return -1;
	}
	a->sasl = sa;
	return 0;
}

/* private_file - 0 when path is missing or gives other users no access;
 * -1 with err otherwise. */
static int private_file(const char *path, struct err *err)
{
	struct stat st;

	if (stat(path, &st) < 0 || (st.st_mode & 0007) == 0)
		return 0;
	return err_set(err,
		       "smtp_sasl_password_maps: %s gives access to other users (mode %04o): "
		       "chmod o-rwx %s",
		       path, (unsigned int)(st.st_mode & 07777), path);
}

/* table_private - the files behind a table spec are private (the source
 * text and the compiled .db or .lmdb). */
static int table_private(const char *spec, struct err *err)
{
	const char *name = tbl_spec_name(spec);
	struct buf path = BUF_INIT;
	int rc = private_file(name, err);

	if (rc == 0) {
		buf_printf(&path, "%s%s", name,
			   strncasecmp(spec, "lmdb:", 5) == 0 ? ".lmdb" : ".db");
		rc = private_file(buf_cstr(&path), err);
	}
	buf_deinit(&path);
	return rc;
}

/* lookup - the "user:password" for this session: the next hop as given
 * (relayhost "[host]:port", a domain), then the server's host name.
 * TBL_FOUND, TBL_NOTFOUND or TBL_TEMPFAIL with err. */
static int lookup(struct smtp_sess *s, struct buf *value_r, struct err *err)
{
	struct smtp_sasl *sa = s->a->sasl;
	const char *keys[2] = {s->req->nexthop, s->host};

	for (size_t k = 0; k < N_ELEMENTS(keys); k++) {
		for (size_t i = 0; i < sa->n; i++) {
			int rc;

			if (table_private(tbl_spec(sa->maps[i]), err) < 0)
				return TBL_TEMPFAIL;
			rc = tbl_lookup(sa->maps[i], keys[k], value_r, err);
			if (rc != TBL_NOTFOUND)
				return rc;
		}
	}
	return TBL_NOTFOUND;
}

/* send_secret - one command line that holds a secret: the copy is wiped. */
static void send_secret(struct smtp_sess *s, const char *prefix, const void *data, size_t len)
{
	struct buf line = BUF_INIT;

	buf_adds(&line, prefix);
	sasl_base64_encode(data, len, &line);
	buf_adds(&line, "\r\n");
	loop_conn_write(s->conn, line.data, line.len);
	explicit_bzero(line.data, line.len);
	buf_deinit(&line);
}

void smtp_auth_free(struct smtp_sess *s)
{
	struct smtp_auth *au = s->auth;

	if (au == NULL)
		return;
	if (au->user.data != NULL)
		explicit_bzero(au->user.data, au->user.len);
	if (au->pass.data != NULL)
		explicit_bzero(au->pass.data, au->pass.len);
	buf_deinit(&au->user);
	buf_deinit(&au->pass);
	free(au);
	s->auth = NULL;
}

bool smtp_auth_start(struct smtp_sess *s)
{
	struct smtp_sasl *sa = s->a->sasl;
	struct buf value = BUF_INIT;
	struct smtp_auth *au;
	const char *colon;
	bool plain_ok;
	struct err err;
	int rc;

	if (sa == NULL || s->authed || s->ehlo.auth == 0 || s->req == NULL)
		return false;
	rc = lookup(s, &value, &err);
	if (rc == TBL_TEMPFAIL) {
		log_warn("%s", err.msg);
		smtp_sess_fail(s, DELIVER_DEFER, "4.3.0", false, "",
			       "smtp_sasl_password_maps lookup error: %s", err.msg);
		buf_deinit(&value);
		return true;
	}
	colon = rc == TBL_FOUND ? strchr(buf_cstr(&value), ':') : NULL;
	if (rc == TBL_FOUND && colon == NULL)
		log_warn("smtp_sasl_password_maps: the entry for %s is not user:password",
			 s->req->nexthop);
	plain_ok = s->tls ? sa->tls_plain_ok : sa->plain_ok;
	if (colon != NULL &&
	    (!plain_ok || (s->ehlo.auth & (SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN)) == 0)) {
		explicit_bzero(value.data, value.len);
		buf_deinit(&value);
		smtp_sess_fail(s, DELIVER_DEFER, "4.7.0", true, "",
			       "SASL authentication failed; cannot authenticate to server %s: no "
			       "mechanism available",
			       s->relay);
		return true;
	}
	if (colon == NULL) {
		if (value.data != NULL)
			explicit_bzero(value.data, value.len);
		buf_deinit(&value);
		return false;
	}
	au = xcalloc(1, sizeof(*au));
	s->auth = au;
	buf_set(&au->user, value.data, (size_t)(colon - value.data));
	buf_sets(&au->pass, colon + 1);
	explicit_bzero(value.data, value.len);
	buf_deinit(&value);
	s->state = S_AUTH;
	loop_conn_set_timeout(s->conn, s->a->p.t_helo);
	if (s->ehlo.auth & SMTP_AUTH_PLAIN) {
		struct buf msg = BUF_INIT;

		au->mech = MECH_PLAIN;
		buf_addc(&msg, '\0');
		buf_add(&msg, au->user.data, au->user.len);
		buf_addc(&msg, '\0');
		buf_add(&msg, au->pass.data, au->pass.len);
		send_secret(s, "AUTH PLAIN ", msg.data, msg.len);
		explicit_bzero(msg.data, msg.len);
		buf_deinit(&msg);
	} else {
		au->mech = MECH_LOGIN;
		smtp_sess_send(s, "AUTH LOGIN");
	}
	return true;
}

void smtp_auth_reply(struct smtp_sess *s)
{
	struct smtp_auth *au = s->auth;
	struct buf t = BUF_INIT, diag = BUF_INIT;
	int code = s->reply.code;

	if (code == 235) {
		log_debug("authenticated to %s as %s (%s)", s->relay, buf_cstr(&au->user),
			  au->mech == MECH_PLAIN ? "PLAIN" : "LOGIN");
		smtp_auth_free(s);
		s->authed = true;
		smtp_sess_begin(s);
		return;
	}
	if (code == 334 && au->mech == MECH_LOGIN && au->step < 2) {
		if (au->step++ == 0)
			send_secret(s, "", au->user.data, au->user.len);
		else
			send_secret(s, "", au->pass.data, au->pass.len);
		return;
	}
	smtp_auth_free(s);
	if (code == 334) { /* a challenge we did not expect: cancel */
		smtp_sess_send(s, "*");
		smtp_sess_fail(s, DELIVER_DEFER, "4.7.0", true, "",
			       "SASL authentication failed; server %s sent an unexpected challenge",
			       s->relay);
		return;
	}
	smtp_reply_format(&s->reply, &t, 900);
	buf_printf(&diag, "smtp;%s", buf_cstr(&t));
	/* a refused AUTH defers (Postfix's smtp_sasl_auth_soft_bounce) */
	smtp_sess_fail(s, DELIVER_DEFER, s->reply.dsn, true, buf_cstr(&diag),
		       "SASL authentication failed; server %s said: %s", s->relay, buf_cstr(&t));
	buf_deinit(&t);
	buf_deinit(&diag);
}
