/*
 * smtpd_check.c - recipient policy and EXPN: relay control (local,
 *           virtual and relay domains from anyone, other domains only
 *           from $mynetworks), recipient existence at RCPT time (never
 *           accept-then-bounce), alias expansion for EXPN.
 * Touches:  the address tables, read-only, through lib/resolve.
 * Input:    canonical addresses from smtpd_cmd.c / lib/addr; EXPN text is
 *           parsed here with lib/addr.
 * Security: the default relays for nobody outside $mynetworks (DESIGN.md
 *           invariant 5); a table that cannot answer gives 451, never a
 *           guess.
 * Errors:   -1 with the whole reply in err->msg.
 * See:      lib/resolve.h, docs/smtpd.md "Policy".
 */
#include "sys.h"

#include "addr.h"
#include "err.h"
#include "log.h"
#include "resolve.h"
#include "smtpd.h"
#include "str.h"
#include "tbl.h"

/* domain_of - lower-case domain of a canonical address ("" if none). */
static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

int smtpd_check_rcpt(struct smtpd_session *s, const char *addr, struct err *err)
{
	struct resolver *r = s->conf->resolver;
	enum resolve_class c = resolve_domain(r, domain_of(addr));
	struct err lerr;
	int rc;

	if (c == RESOLVE_REMOTE && !resolve_trusted_client(r, (const struct sockaddr *)&s->sa))
		return err_set_code(err, 554, "554 5.7.1 <%s>: Relay access denied", addr);
	if (c == RESOLVE_REMOTE || c == RESOLVE_RELAY)
		return 0;
	rc = resolve_rcpt_exists(r, addr, &lerr);
	if (rc == TBL_FOUND)
		return 0;
	if (rc == TBL_TEMPFAIL) {
		log_warn("%s: recipient lookup failed: %s", addr, lerr.msg);
		return err_set_code(err, 451, "451 4.3.0 <%s>: Temporary lookup failure", addr);
	}
	return err_set_code(err, 550, "550 5.1.1 <%s>: Recipient address rejected: User unknown",
			    addr);
}

int smtpd_check_expn(struct smtpd_session *s, const char *arg, size_t len, struct buf *reply_r)
{
	struct resolver *r = s->conf->resolver;
	struct buf addr = BUF_INIT, value = BUF_INIT;
	struct err err;
	char **targets;
	size_t n = 0;
	int rc;

	if ((len > 0 && arg[0] == '<'
		     ? addr_parse_path(arg, len, ADDR_POSTMASTER_OK, NULL, &addr, NULL, &err)
		     : addr_parse_mailbox(arg, len, ADDR_LOCAL_OK, NULL, &addr, &err)) < 0) {
		buf_sets(reply_r, "501 5.5.4 Syntax: EXPN list");
		buf_deinit(&addr);
		return 501;
	}
	if (memchr(addr.data, '@', addr.len) == NULL)
		buf_printf(&addr, "@%s", s->conf->origin);
	rc = resolve_alias(r, buf_cstr(&addr), &value, &err);
	if (rc == TBL_TEMPFAIL) {
		buf_printf(reply_r, "451 4.3.0 <%s>: Temporary lookup failure", buf_cstr(&addr));
		rc = 451;
	} else if (rc == TBL_FOUND) {
		targets = str_split(buf_cstr(&value), ", \t", &n);
		for (size_t i = 0; i < n; i++) {
			struct buf clean = BUF_INIT;

			str_sanitize(&clean, targets[i], strlen(targets[i]), 256);
			buf_printf(reply_r, "250%c2.1.5 %s%s", i + 1 < n ? '-' : ' ',
				   buf_cstr(&clean), i + 1 < n ? "\r\n" : "");
			buf_deinit(&clean);
		}
		if (n == 0)
			buf_printf(reply_r, "250 2.1.5 <%s>", buf_cstr(&addr));
		str_split_free(&targets);
		rc = 250;
	} else {
		rc = smtpd_check_rcpt(s, buf_cstr(&addr), &err);
		if (rc == 0) {
			buf_printf(reply_r, "250 2.1.5 <%s>", buf_cstr(&addr));
			rc = 250;
		} else {
			buf_sets(reply_r, err.msg);
			rc = err.code;
		}
	}
	buf_deinit(&addr);
	buf_deinit(&value);
	return rc;
}
