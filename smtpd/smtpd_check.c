/*
 * smtpd_check.c - recipient policy, sender ownership and EXPN: relay
 *           control (local, virtual and relay domains from anyone, other
 *           domains only from $mynetworks or an authenticated client),
 *           recipient existence at RCPT time (never accept-then-bounce),
 *           the addresses an authenticated user may send as
 *           (smtpd_sender_login_maps, or by default the user's own address
 *           and the aliases that name the user), alias expansion for EXPN.
 * Touches:  the address tables and smtpd_sender_login_maps, read-only,
 *           through lib/resolve and lib/tbl.
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
#include "buf.h"
#include "cfg.h"
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

	if (c == RESOLVE_REMOTE && s->auth_user == NULL &&
	    !resolve_trusted_client(r, (const struct sockaddr *)&s->sa))
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

/* names_user - value (comma/space separated addresses) names user; a bare
 * local part is taken in $myorigin. */
static bool names_user(const struct smtpd_session *s, const char *value, const char *user)
{
	struct buf full = BUF_INIT;
	bool found = false;
	size_t n = 0;
	char **v = str_split(value, ", \t", &n);

	for (size_t i = 0; i < n && !found; i++) {
		buf_sets(&full, v[i]);
		if (full.len > 2 && full.data[0] == '<' && full.data[full.len - 1] == '>') {
			buf_consume(&full, 1);
			buf_truncate(&full, full.len - 1);
		}
		if (memchr(full.data, '@', full.len) == NULL)
			buf_printf(&full, "@%s", s->conf->origin);
		found = str_eq_ci(buf_cstr(&full), user);
	}
	str_split_free(&v);
	buf_deinit(&full);
	return found;
}

/* owned_by_maps - smtpd_sender_login_maps: addr, then @domain; the first
 * table that knows the key decides. */
static int owned_by_maps(struct smtpd_session *s, const char *addr, const char *user,
			 struct err *err)
{
	const struct smtpd_conf *c = s->conf;
	struct buf value = BUF_INIT, key = BUF_INIT;
	int rc = TBL_NOTFOUND;

	for (int k = 0; k < 2 && rc == TBL_NOTFOUND; k++) {
		const char *at = strrchr(addr, '@');

		if (k == 1 && at == NULL)
			break;
		buf_sets(&key, k == 0 ? addr : at);
		for (size_t i = 0; i < c->n_sender_maps; i++) {
			rc = tbl_lookup(c->sender_maps[i], buf_cstr(&key), &value, err);
			if (rc == TBL_FOUND)
				rc = names_user(s, buf_cstr(&value), user) ? TBL_FOUND : -2;
			if (rc != TBL_NOTFOUND)
				break;
		}
	}
	buf_deinit(&value);
	buf_deinit(&key);
	return rc == -2 ? TBL_NOTFOUND : rc;
}

/* owned_by_default - the user's own address, or one whose virtual alias
 * or alias names the user. */
static int owned_by_default(struct smtpd_session *s, const char *addr, const char *user,
			    struct err *err)
{
	struct resolver *r = s->conf->resolver;
	struct buf value = BUF_INIT;
	enum resolve_class c;
	int rc;

	if (str_eq_ci(addr, user))
		return TBL_FOUND;
	rc = resolve_virtual_alias(r, addr, &value, err);
	if (rc == TBL_FOUND && !names_user(s, buf_cstr(&value), user))
		rc = TBL_NOTFOUND;
	c = resolve_domain(r, domain_of(addr));
	if (rc == TBL_NOTFOUND && (c == RESOLVE_LOCAL || c == RESOLVE_VIRTUAL)) {
		rc = resolve_alias(r, addr, &value, err);
		if (rc == TBL_FOUND && !names_user(s, buf_cstr(&value), user))
			rc = TBL_NOTFOUND;
	}
	buf_deinit(&value);
	return rc;
}

/* base_address - addr without its +extension when recipient_delimiter is
 * set and the local part has one; false when there is none. */
static bool base_address(struct smtpd_session *s, const char *addr, struct buf *out)
{
	const char *delim = cfg_get(s->conf->cfg, "recipient_delimiter");
	const char *at = strrchr(addr, '@');
	size_t cut;

	if (*delim == '\0' || at == NULL)
		return false;
	cut = strcspn(addr, delim);
	if (addr + cut >= at)
		return false;
	buf_set(out, addr, cut);
	buf_adds(out, at);
	return true;
}

int smtpd_check_sender(struct smtpd_session *s, const char *addr, struct err *err)
{
	struct buf lower = BUF_INIT, base = BUF_INIT;
	const char *user = s->auth_user;
	struct err lerr;
	int rc = TBL_NOTFOUND;

	if (user == NULL || *addr == '\0')
		return 0;
	buf_sets(&lower, addr);
	str_lower(lower.data);
	for (int round = 0; round < 2; round++) {
		const char *a;

		if (round == 1 && !base_address(s, buf_cstr(&lower), &base))
			break;
		a = round == 0 ? buf_cstr(&lower) : buf_cstr(&base);
		rc = s->conf->n_sender_maps > 0 ? owned_by_maps(s, a, user, &lerr)
						: owned_by_default(s, a, user, &lerr);
		if (rc != TBL_NOTFOUND)
			break;
	}
	buf_deinit(&lower);
	buf_deinit(&base);
	if (rc == TBL_FOUND)
		return 0;
	if (rc == TBL_TEMPFAIL) {
		log_warn("%s: sender login lookup failed: %s", addr, lerr.msg);
		return err_set_code(err, 451, "451 4.3.0 <%s>: Temporary lookup failure", addr);
	}
	return err_set_code(err, 553,
			    "553 5.7.1 <%s>: Sender address rejected: not owned by user %s", addr,
			    user);
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
