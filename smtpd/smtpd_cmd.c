/*
 * smtpd_cmd.c - parse one SMTP command line into struct smtpd_cmd.
 * Touches:  nothing but its arguments (pure: no I/O, no globals).
 * Input:    untrusted; CRLF already stripped, length capped by the session
 *           (and again here at SMTPD_CMD_LINE_MAX).
 * Security: runs in smtpd as mail_owner, before authentication.  NUL and
 *           every other control byte are refused before anything else;
 *           stored strings live in the command's bufs.
 * Errors:   returns -1 with err->code the reply code and err->msg the whole
 *           reply ("501 5.5.4 Syntax: MAIL FROM:<address>"); never aborts.
 * See:      smtpd_cmd.h, RFC 5321 4.1, RFC 1870, 3030, 3461, 4954, 6152,
 *           6531, 6533, docs/smtp-parsing.md.
 */
#include "sys.h"

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "smtpd_cmd.h"
#include "str.h"
#include "xtext.h"

/* struct verb_def - one verb: its name and its usage reply. */
struct verb_def {
	const char *name;
	enum smtpd_verb verb;
	const char *usage;
};

static const struct verb_def verbs[] = {
	{ "HELO", SMTPD_VERB_HELO, "Syntax: HELO hostname" },
	{ "EHLO", SMTPD_VERB_EHLO, "Syntax: EHLO hostname" },
	{ "MAIL", SMTPD_VERB_MAIL, "Syntax: MAIL FROM:<address>" },
	{ "RCPT", SMTPD_VERB_RCPT, "Syntax: RCPT TO:<address>" },
	{ "DATA", SMTPD_VERB_DATA, "Syntax: DATA" },
	{ "BDAT", SMTPD_VERB_BDAT, "Syntax: BDAT count [LAST]" },
	{ "RSET", SMTPD_VERB_RSET, "Syntax: RSET" },
	{ "NOOP", SMTPD_VERB_NOOP, "Syntax: NOOP [text]" },
	{ "QUIT", SMTPD_VERB_QUIT, "Syntax: QUIT" },
	{ "VRFY", SMTPD_VERB_VRFY, "Syntax: VRFY address" },
	{ "EXPN", SMTPD_VERB_EXPN, "Syntax: EXPN list" },
	{ "HELP", SMTPD_VERB_HELP, "Syntax: HELP [topic]" },
	{ "STARTTLS", SMTPD_VERB_STARTTLS, "Syntax: STARTTLS" },
	{ "AUTH", SMTPD_VERB_AUTH, "Syntax: AUTH mechanism [initial-response]" },
};

/* struct param_def - one ESMTP parameter: the verb it goes with, the
 * extension flags of which one must be offered, whether it takes a value. */
struct param_def {
	const char *name;
	unsigned int bit;
	enum smtpd_verb verb;
	int ext;
	bool value;
};

static const struct param_def params[] = {
	{ "SIZE", SMTPD_PARAM_SIZE, SMTPD_VERB_MAIL, SMTPD_CMD_EXT_SIZE, true },
	{ "BODY", SMTPD_PARAM_BODY, SMTPD_VERB_MAIL,
	  SMTPD_CMD_EXT_8BITMIME | SMTPD_CMD_EXT_BINARYMIME, true },
	{ "SMTPUTF8", SMTPD_PARAM_SMTPUTF8, SMTPD_VERB_MAIL, SMTPD_CMD_EXT_SMTPUTF8, false },
	{ "RET", SMTPD_PARAM_RET, SMTPD_VERB_MAIL, SMTPD_CMD_EXT_DSN, true },
	{ "ENVID", SMTPD_PARAM_ENVID, SMTPD_VERB_MAIL, SMTPD_CMD_EXT_DSN, true },
	{ "AUTH", SMTPD_PARAM_AUTH, SMTPD_VERB_MAIL, SMTPD_CMD_EXT_AUTH, true },
	{ "NOTIFY", SMTPD_PARAM_NOTIFY, SMTPD_VERB_RCPT, SMTPD_CMD_EXT_DSN, true },
	{ "ORCPT", SMTPD_PARAM_ORCPT, SMTPD_VERB_RCPT, SMTPD_CMD_EXT_DSN, true },
};

/* struct pstate - one parse in progress. */
struct pstate {
	struct smtpd_cmd *cmd;
	const struct verb_def *def;
	int flags;
	struct err *err;
};

void smtpd_cmd_init(struct smtpd_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	buf_init(&cmd->arg, 0);
	buf_init(&cmd->auth_resp, 0);
	buf_init(&cmd->addr, 0);
	buf_init(&cmd->envid, 0);
	buf_init(&cmd->orcpt_type, 0);
	buf_init(&cmd->orcpt, 0);
	buf_init(&cmd->auth, 0);
	buf_init(&cmd->scratch, 0);
}

void smtpd_cmd_deinit(struct smtpd_cmd *cmd)
{
	buf_deinit(&cmd->arg);
	if (cmd->auth_resp.data != NULL)
		explicit_bzero(cmd->auth_resp.data, cmd->auth_resp.cap);
	buf_deinit(&cmd->auth_resp);
	buf_deinit(&cmd->addr);
	buf_deinit(&cmd->envid);
	buf_deinit(&cmd->orcpt_type);
	buf_deinit(&cmd->orcpt);
	buf_deinit(&cmd->auth);
	buf_deinit(&cmd->scratch);
}

/* cmd_reset - forget the previous command, keep the memory. */
static void cmd_reset(struct smtpd_cmd *cmd)
{
	cmd->verb = SMTPD_VERB_NONE;
	buf_reset(&cmd->arg);
	cmd->helo_valid = false;
	if (cmd->auth_resp.data != NULL)
		explicit_bzero(cmd->auth_resp.data, cmd->auth_resp.cap);
	buf_reset(&cmd->auth_resp);
	cmd->has_auth_resp = false;
	buf_reset(&cmd->addr);
	cmd->params = 0;
	cmd->size = 0;
	cmd->last = false;
	cmd->body = SMTPD_BODY_NONE;
	cmd->ret = SMTPD_RET_NONE;
	cmd->notify = 0;
	buf_reset(&cmd->envid);
	buf_reset(&cmd->orcpt_type);
	buf_reset(&cmd->orcpt);
	buf_reset(&cmd->auth);
	buf_reset(&cmd->scratch);
}

const char *smtpd_verb_name(enum smtpd_verb verb)
{
	for (size_t i = 0; i < N_ELEMENTS(verbs); i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "";
}

/* usage - the verb's syntax reply. */
static int usage(struct pstate *ps)
{
	return err_set_code(ps->err, 501, "501 5.5.4 %s", ps->def->usage);
}

/* eq_ci - n bytes at s equal the C string word, ignoring ASCII case. */
static bool eq_ci(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* is_digits - 1..20 ASCII digits. */
static bool is_digits(const char *s, size_t n)
{
	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* to_u64 - n digits (is_digits checked) as a number; -1 on overflow. */
static int to_u64(struct pstate *ps, const char *s, size_t n, uint64_t *v_r)
{
	buf_set(&ps->cmd->scratch, s, n);
	return str_to_u64(buf_cstr(&ps->cmd->scratch), v_r);
}

/* no_arg - DATA, RSET, QUIT, STARTTLS: nothing may follow. */
static int no_arg(struct pstate *ps, const char *a, size_t n)
{
	return n == 0 ? 0 : usage(ps);
}

/* text_arg - NOOP and HELP take optional text, VRFY and EXPN need it. */
static int text_arg(struct pstate *ps, const char *a, size_t n)
{
	bool need = ps->cmd->verb == SMTPD_VERB_VRFY || ps->cmd->verb == SMTPD_VERB_EXPN;

	if ((need && n == 0) || n > SMTPD_CMD_ARG_MAX)
		return usage(ps);
	buf_set(&ps->cmd->arg, a, n);
	return 0;
}

/* helo_arg - a domain or address literal; liberal mode keeps anything
 * printable (first word only) and says whether it was valid. */
static int helo_arg(struct pstate *ps, const char *a, size_t n)
{
	const char *sp = memchr(a, ' ', n);
	int aflags = (ps->flags & SMTPD_CMD_EXT_SMTPUTF8) ? ADDR_UTF8 : 0;

	if (sp != NULL) {
		if (ps->flags & SMTPD_CMD_STRICT)
			return usage(ps);
		n = (size_t)(sp - a);
	}
	if (n == 0 || n > SMTPD_CMD_HELO_MAX)
		return usage(ps);
	if (addr_parse_domain(a, n, aflags, &ps->cmd->arg, NULL) == 0) {
		ps->cmd->helo_valid = true;
		return 0;
	}
	if ((ps->flags & SMTPD_CMD_STRICT) || addr_needs_utf8(a, n))
		return usage(ps);
	buf_set(&ps->cmd->arg, a, n);
	return 0;
}

/* bdat_arg - chunk-size [SP "LAST"]. */
static int bdat_arg(struct pstate *ps, const char *a, size_t n)
{
	const char *sp = memchr(a, ' ', n);
	size_t num = sp != NULL ? (size_t)(sp - a) : n;

	if (!is_digits(a, num) || to_u64(ps, a, num, &ps->cmd->size) < 0)
		return usage(ps);
	if (sp == NULL)
		return 0;
	a += num;
	n -= num;
	while (n > 1 && a[0] == ' ' && a[1] == ' ' && !(ps->flags & SMTPD_CMD_STRICT)) {
		a++;
		n--;
	}
	if (!eq_ci(a + 1, n - 1, "LAST"))
		return usage(ps);
	ps->cmd->last = true;
	return 0;
}

/* auth_arg - mechanism [SP initial-response]; the response is "=" or
 * base64 (it is decoded by smtpd_auth). */
static int auth_arg(struct pstate *ps, const char *a, size_t n)
{
	const char *sp = memchr(a, ' ', n);
	size_t mech = sp != NULL ? (size_t)(sp - a) : n, i, pad = 0;

	if (mech == 0 || mech > 20)
		return usage(ps);
	for (i = 0; i < mech; i++) {
		char c = a[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return usage(ps);
		buf_addc(&ps->cmd->arg, c >= 'a' && c <= 'z' ? (char)(c - 32) : c);
	}
	if (sp == NULL)
		return 0;
	a += mech + 1;
	n -= mech + 1;
	if (n == 0 || n > SMTPD_CMD_AUTH_MAX)
		return usage(ps);
	ps->cmd->has_auth_resp = true;
	if (n == 1 && a[0] == '=')
		return 0;
	for (i = 0; i < n; i++) {
		char c = a[i];
		if (c == '=' && i > 0 && n - i <= 2)
			pad++;
		else if (pad > 0 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return err_set_code(ps->err, 501, "501 5.5.2 Cannot decode response");
	}
	buf_set(&ps->cmd->auth_resp, a, n);
	return 0;
}

/* bad_value - the reply for a parameter value that makes no sense. */
static int bad_value(struct pstate *ps, const char *name)
{
	return err_set_code(ps->err, 501, "501 5.5.4 Bad %s parameter value", name);
}

/* printable - every byte of a decoded value is printable ASCII. */
static bool printable(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] < 32 || b->data[i] > 126)
			return false;
	return true;
}

/* param_notify - NEVER, or a list of SUCCESS, FAILURE, DELAY. */
static int param_notify(struct pstate *ps, const char *v, size_t n)
{
	static const char *const names[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };
	size_t i = 0;

	while (i <= n) {
		const char *comma = memchr(v + i, ',', n - i);
		size_t end = comma != NULL ? (size_t)(comma - v) : n, k;
		for (k = 0; k < N_ELEMENTS(names); k++)
			if (eq_ci(v + i, end - i, names[k]))
				break;
		if (k == N_ELEMENTS(names) || (ps->cmd->notify & (1u << k)))
			return bad_value(ps, "NOTIFY");
		ps->cmd->notify |= 1u << k;
		i = end + 1;
	}
	if ((ps->cmd->notify & SMTPD_NOTIFY_NEVER) && ps->cmd->notify != SMTPD_NOTIFY_NEVER)
		return bad_value(ps, "NOTIFY");
	return 0;
}

/* param_orcpt - addr-type ";" xtext, or utf-8 ";" utf-8-addr-(uni)xtext. */
static int param_orcpt(struct pstate *ps, const char *v, size_t n)
{
	struct smtpd_cmd *cmd = ps->cmd;
	const char *semi = memchr(v, ';', n);
	size_t tlen = semi != NULL ? (size_t)(semi - v) : 0, i;

	if (semi == NULL || tlen == 0 || n > SMTPD_CMD_ORCPT_MAX)
		return bad_value(ps, "ORCPT");
	for (i = 0; i < tlen; i++) {
		char c = v[i];
		if ((unsigned char)c >= 0x80 || (c != '-' && !((c >= 'A' && c <= 'Z') ||
				      (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))))
			return bad_value(ps, "ORCPT");
		buf_addc(&cmd->orcpt_type, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
	}
	v += tlen + 1;
	n -= tlen + 1;
	if (strcmp(buf_cstr(&cmd->orcpt_type), "utf-8") == 0) {
		if (xtext_decode_utf8addr(v, n, (ps->flags & SMTPD_CMD_TXN_UTF8) != 0, &cmd->orcpt,
					  NULL) < 0)
			return bad_value(ps, "ORCPT");
		return 0;
	}
	if (xtext_decode(v, n, &cmd->orcpt, NULL) < 0 ||
	    (strcmp(buf_cstr(&cmd->orcpt_type), "rfc822") == 0 && !printable(&cmd->orcpt)))
		return bad_value(ps, "ORCPT");
	return 0;
}

/* param_value - check and store the value of one known parameter. */
static int param_value(struct pstate *ps, const struct param_def *pd, const char *v, size_t n)
{
	struct smtpd_cmd *cmd = ps->cmd;

	switch (pd->bit) {
	case SMTPD_PARAM_SIZE:
		if (!is_digits(v, n))
			return bad_value(ps, pd->name);
		if (to_u64(ps, v, n, &cmd->size) < 0)
			return err_set_code(ps->err, 552,
					    "552 5.3.4 Message size exceeds fixed limit");
		return 0;
	case SMTPD_PARAM_BODY:
		if (eq_ci(v, n, "7BIT"))
			cmd->body = SMTPD_BODY_7BIT;
		else if (eq_ci(v, n, "8BITMIME") && (ps->flags & SMTPD_CMD_EXT_8BITMIME))
			cmd->body = SMTPD_BODY_8BITMIME;
		else if (eq_ci(v, n, "BINARYMIME") && (ps->flags & SMTPD_CMD_EXT_BINARYMIME))
			cmd->body = SMTPD_BODY_BINARYMIME;
		else
			return bad_value(ps, pd->name);
		return 0;
	case SMTPD_PARAM_RET:
		if (eq_ci(v, n, "FULL"))
			cmd->ret = SMTPD_RET_FULL;
		else if (eq_ci(v, n, "HDRS"))
			cmd->ret = SMTPD_RET_HDRS;
		else
			return bad_value(ps, pd->name);
		return 0;
	case SMTPD_PARAM_ENVID:
		if (n > SMTPD_CMD_ENVID_MAX || xtext_decode(v, n, &cmd->envid, NULL) < 0 ||
		    !printable(&cmd->envid))
			return bad_value(ps, pd->name);
		return 0;
	case SMTPD_PARAM_AUTH:
		if (n == 2 && v[0] == '<' && v[1] == '>')
			return 0;
		if (n > SMTPD_CMD_AUTH_MAX || xtext_decode(v, n, &cmd->auth, NULL) < 0)
			return bad_value(ps, pd->name);
		return 0;
	case SMTPD_PARAM_NOTIFY:
		return param_notify(ps, v, n);
	case SMTPD_PARAM_ORCPT:
		return param_orcpt(ps, v, n);
	default:
		return 0;
	}
}

/* parse_param - one esmtp-param: keyword ["=" value]. */
static int parse_param(struct pstate *ps, const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	size_t klen = eq != NULL ? (size_t)(eq - p) : n, i;
	const struct param_def *pd = NULL;
	bool utf8_ok = ps->cmd->verb == SMTPD_VERB_RCPT && (ps->flags & SMTPD_CMD_TXN_UTF8);

	for (i = 0; i < klen; i++) {
		char c = p[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (c == '-' && i > 0)))
			return err_set_code(ps->err, 501, "501 5.5.4 Bad parameter syntax");
	}
	if (klen == 0 || klen > 32)
		return err_set_code(ps->err, 501, "501 5.5.4 Bad parameter syntax");
	for (i = 0; i < N_ELEMENTS(params); i++)
		if (eq_ci(p, klen, params[i].name))
			pd = &params[i];
	if (pd == NULL || pd->verb != ps->cmd->verb || !(ps->flags & pd->ext))
		return err_set_code(ps->err, 555, "555 5.5.4 Unsupported option: %.*s", (int)klen,
				    p);
	if (ps->cmd->params & pd->bit)
		return err_set_code(ps->err, 501, "501 5.5.4 Duplicate parameter: %s", pd->name);
	ps->cmd->params |= pd->bit;
	if ((eq != NULL) != pd->value || (eq != NULL && eq + 1 == p + n))
		return bad_value(ps, pd->name);
	if (eq == NULL)
		return 0;
	for (i = klen + 1; i < n; i++)
		if (p[i] == '=' || ((unsigned char)p[i] >= 0x80 && !utf8_ok))
			return bad_value(ps, pd->name);
	return param_value(ps, pd, eq + 1, n - klen - 1);
}

/* path_arg - MAIL FROM: and RCPT TO: with their parameters. */
static int path_arg(struct pstate *ps, const char *a, size_t n)
{
	struct smtpd_cmd *cmd = ps->cmd;
	bool mail = cmd->verb == SMTPD_VERB_MAIL, strict = ps->flags & SMTPD_CMD_STRICT;
	const char *word = mail ? "FROM:" : "TO:";
	size_t wl = strlen(word), used, i;
	int aflags = strict ? 0 : ADDR_BARE_OK;

	if (n < wl || strncasecmp(a, word, wl) != 0)
		return usage(ps);
	a += wl;
	n -= wl;
	if (n > 0 && a[0] == ' ') {
		if (strict)
			return usage(ps);
		a++;
		n--;
	}
	if (mail)
		aflags |= ADDR_SENDER | ADDR_NULL_OK |
			  ((ps->flags & SMTPD_CMD_EXT_SMTPUTF8) ? ADDR_UTF8 : 0);
	else
		aflags |= ADDR_POSTMASTER_OK | ((ps->flags & SMTPD_CMD_TXN_UTF8) ? ADDR_UTF8 : 0);
	if (addr_parse_path(a, n, aflags, NULL, &cmd->addr, &used, ps->err) < 0)
		return -1;
	for (i = used; i < n;) {
		size_t start;
		if (a[i] != ' ')
			return mail ? err_set_code(ps->err, 553, "553 5.1.7 Bad sender address syntax")
				    : err_set_code(ps->err, 501,
						   "501 5.1.3 Bad recipient address syntax");
		i++;
		while (!strict && i < n && a[i] == ' ')
			i++;
		start = i;
		while (i < n && a[i] != ' ')
			i++;
		if (i == start)
			return err_set_code(ps->err, 501, "501 5.5.4 Bad parameter syntax");
		if (parse_param(ps, a + start, i - start) < 0)
			return -1;
	}
	if (mail && addr_needs_utf8(cmd->addr.data, cmd->addr.len) &&
	    !(cmd->params & SMTPD_PARAM_SMTPUTF8))
		return err_set_code(ps->err, 553,
				    "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
	return 0;
}

int smtpd_cmd_parse(const char *line, size_t len, int flags, struct smtpd_cmd *cmd,
		    struct err *err)
{
	struct pstate ps = { cmd, NULL, flags, err };
	bool strict = flags & SMTPD_CMD_STRICT;
	size_t vlen = 0, n;
	const char *a;

	err_clear(err);
	cmd_reset(cmd);
	if (len > SMTPD_CMD_LINE_MAX)
		return err_set_code(err, 500, "500 5.5.2 Error: line too long");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 32 || line[i] == 127)
			return err_set_code(err, 500, "500 5.5.2 Error: bad character in command");
	while (!strict && len > 0 && line[len - 1] == ' ')
		len--;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	for (size_t i = 0; i < N_ELEMENTS(verbs) && ps.def == NULL; i++)
		if (eq_ci(line, vlen, verbs[i].name))
			ps.def = &verbs[i];
	if (ps.def == NULL)
		return err_set_code(err, 500, "500 5.5.2 Error: command not recognized");
	cmd->verb = ps.def->verb;
	a = line + vlen;
	n = len - vlen;
	if (n > 0) {
		a++;
		n--;
		while (!strict && n > 0 && a[0] == ' ') {
			a++;
			n--;
		}
		if (n == 0 || a[0] == ' ')
			return usage(&ps);
	}
	switch (cmd->verb) {
	case SMTPD_VERB_HELO:
	case SMTPD_VERB_EHLO:
		return n == 0 ? usage(&ps) : helo_arg(&ps, a, n);
	case SMTPD_VERB_MAIL:
	case SMTPD_VERB_RCPT:
		return path_arg(&ps, a, n);
	case SMTPD_VERB_BDAT:
		return bdat_arg(&ps, a, n);
	case SMTPD_VERB_AUTH:
		return auth_arg(&ps, a, n);
	case SMTPD_VERB_NOOP:
	case SMTPD_VERB_HELP:
	case SMTPD_VERB_VRFY:
	case SMTPD_VERB_EXPN:
		return text_arg(&ps, a, n);
	default:
		return no_arg(&ps, a, n);
	}
}
