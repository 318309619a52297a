/*
 * smtpd_auth.c - SMTP AUTH (RFC 4954): where it is offered, the AUTH
 *           command with or without an initial response, the 334
 *           challenge/response lines, and the outcome, all through the auth
 *           service (lib/auth_client), which alone reads password data and
 *           runs the SASL mechanisms (PLAIN, LOGIN, SCRAM-SHA-256).
 * Touches:  the auth service's socket (asynchronously: the session stops
 *           reading while the service answers), the maillog.
 * Input:    untrusted base64 lines, capped by line_length_limit and passed
 *           on as sent; the command's initial response is checked for
 *           base64 syntax by smtpd_cmd.c.
 * Security: a password never stays in smtpd memory (the command and line
 *           buffers are wiped); it is refused without TLS unless the client
 *           is exempt (smtpd_tls_auth_only, smtpd_tls_exempt_networks);
 *           failures count as errors and the auth service delays and
 *           blocks repeated ones (docs/auth.md).
 * Errors:   535 5.7.8 bad credentials, 538 5.7.11 TLS needed, 454 4.7.0
 *           the service is down or the client/user is blocked, 501 5.7.0
 *           cancelled, 504 5.5.4 unknown mechanism, 503 5.5.1 sequence.
 * See:      RFC 4954, docs/auth.md, docs/smtpd.md "AUTH".
 */
#include "sys.h"

#include "auth_client.h"
#include "buf.h"
#include "log.h"
#include "loop.h"
#include "sasl.h"
#include "smtpd.h"
#include "str.h"
#include "xmem.h"

bool smtpd_auth_offered(const struct smtpd_session *s)
{
	const struct smtpd_conf *c = s->conf;

	if (!c->sasl_enable || c->auth == NULL || s->auth_user != NULL)
		return false;
	return !c->tls_auth_only || s->tls || s->tls_exempt;
}

/* clean_reason - a reason from the auth service, fit for a reply. */
static void clean_reason(const char *reason, struct buf *out)
{
	str_sanitize(out, reason != NULL ? reason : "", reason != NULL ? strlen(reason) : 0, 100);
}

/* on_auth - the auth service answered one step. */
static void on_auth(uint32_t id, const struct auth_reply *r, void *arg)
{
	struct smtpd_session *s = arg;
	struct buf why = BUF_INIT;

	s->auth_req = 0;
	if (s->closing) {
		s->auth_state = SMTPD_AUTH_IDLE;
		return;
	}
	switch (r->status) {
	case AUTH_STATUS_CONTINUE:
		s->auth_state = SMTPD_AUTH_RESPONSE;
		smtpd_reply(s, "334 %s", r->challenge != NULL ? r->challenge : "");
		break;
	case AUTH_STATUS_OK:
		s->auth_state = SMTPD_AUTH_IDLE;
		s->auth_session = 0;
		s->auth_user = xstrdup(r->user);
		s->ok[SMTPD_VERB_AUTH]++;
		smtpd_reply(s, "235 2.7.0 Authentication successful");
		break;
	case AUTH_STATUS_FAIL:
		s->auth_state = SMTPD_AUTH_IDLE;
		s->auth_session = 0;
		clean_reason(r->reason, &why);
		if (strcmp(buf_cstr(&why), "cancelled") == 0) {
			smtpd_reply_error(s, "501 5.7.0 Authentication aborted");
			break;
		}
		log_warn("%s[%s]: SASL %s authentication failed: %s", s->name, s->addr,
			 s->auth_mech, buf_cstr(&why));
		smtpd_reply_error(s, "535 5.7.8 Error: authentication failed: %s", buf_cstr(&why));
		break;
	case AUTH_STATUS_TEMPFAIL:
		s->auth_state = SMTPD_AUTH_IDLE;
		s->auth_session = 0;
		clean_reason(r->reason, &why);
		log_warn("%s[%s]: SASL %s authentication failed: %s", s->name, s->addr,
			 s->auth_mech, buf_cstr(&why));
		smtpd_reply_error(s, "454 4.7.0 Temporary authentication failure");
		break;
	}
	buf_deinit(&why);
	smtpd_session_resume(s);
}

/* wait_service - pause input until the service answers request id. */
static void wait_service(struct smtpd_session *s, uint32_t id)
{
	s->auth_state = SMTPD_AUTH_WAIT;
	s->auth_req = id;
	loop_conn_pause(s->conn, true);
}

bool smtpd_auth_command(struct smtpd_session *s)
{
	const struct smtpd_conf *c = s->conf;
	struct smtpd_cmd *cmd = &s->cmd;
	const char *initial = NULL;
	uint32_t id;

	if (!c->sasl_enable || c->auth == NULL) {
		smtpd_reply_error(s, "503 5.5.1 Error: authentication not enabled");
		return false;
	}
	if (!s->esmtp) {
		smtpd_reply_error(s, "503 5.5.1 Error: send EHLO first");
		return false;
	}
	if (s->auth_user != NULL) {
		smtpd_reply_error(s, "503 5.5.1 Error: already authenticated");
		return false;
	}
	if (s->in_mail) {
		smtpd_reply_error(s, "503 5.5.1 Error: MAIL transaction in progress");
		return false;
	}
	if (smtpd_tls_required(s)) {
		smtpd_reply_error(s, "530 5.7.0 Must issue a STARTTLS command first");
		return false;
	}
	if (c->tls_auth_only && !s->tls && !s->tls_exempt) {
		smtpd_reply_error(s, "538 5.7.11 Encryption required for requested "
				     "authentication mechanism");
		return false;
	}
	if (!sasl_mech_known(buf_cstr(&cmd->arg))) {
		smtpd_reply_error(s, "504 5.5.4 Unsupported authentication mechanism");
		return false;
	}
	xfree(&s->auth_mech);
	s->auth_mech = xstrdup(buf_cstr(&cmd->arg));
	if (cmd->has_auth_resp)
		initial = cmd->auth_resp.len > 0 ? buf_cstr(&cmd->auth_resp) : "=";
	id = auth_client_sasl_start(c->auth, "smtpd", s->auth_mech, initial, s->addr, on_auth, s);
	s->auth_session = id;
	wait_service(s, id);
	return false; /* counted when it succeeds */
}

void smtpd_auth_response(struct smtpd_session *s, const char *line, size_t len, int flags)
{
	uint32_t id;

	if ((flags & LOOP_LINE_TOO_LONG) || memchr(line, '\0', len) != NULL) {
		smtpd_auth_abort(s);
		smtpd_reply_error(s, "500 5.5.6 Authentication exchange line is too long");
		return;
	}
	id = auth_client_sasl_continue(s->conf->auth, s->auth_session, line, on_auth, s);
	wait_service(s, id);
}

void smtpd_auth_abort(struct smtpd_session *s)
{
	struct auth_client *ac = s->conf->auth;

	if (ac != NULL && s->auth_req != 0)
		auth_client_cancel(ac, s->auth_req);
	if (ac != NULL && s->auth_session != 0)
		auth_client_sasl_end(ac, s->auth_session);
	s->auth_req = 0;
	s->auth_session = 0;
	s->auth_state = SMTPD_AUTH_IDLE;
}

void smtpd_auth_forget(struct smtpd_session *s)
{
	smtpd_auth_abort(s);
	xfree(&s->auth_user);
	xfree(&s->auth_mech);
}
