/*
 * addr.c - RFC 5321 paths, mailboxes and domains; RFC 5322 address lists.
 * Touches:  nothing but its arguments (pure: no I/O, no globals).
 * Input:    untrusted bytes with explicit lengths; NUL, CR, LF and other
 *           control bytes are refused wherever they appear (the header
 *           list reader alone takes TAB, CR and LF as white space).
 * Security: runs in smtpd before authentication and in sendmail; every
 *           loop is bounded by the input length, comment nesting by
 *           HDR_COMMENT_DEPTH, output by the limits.
 * Errors:   -1 with err->msg holding the whole SMTP reply and err->code its
 *           number; never aborts.
 * See:      addr.h, RFC 5321 4.1.2, 4.1.3, 4.5.3.1, RFC 6531 3.3,
 *           RFC 5322 3.4, docs/smtp-parsing.md.
 */
#include "sys.h"

#include <arpa/inet.h>

#include "addr.h"
#include "buf.h"
#include "err.h"

#define HDR_COMMENT_DEPTH 32
#define LITERAL_MAX 64 /* "IPv6:" + the longest IPv6 text, with room */

/* addr_fail - the one reply every address syntax error gets. */
static int addr_fail(struct err *err, int flags)
{
	if (flags & ADDR_SENDER)
		return err_set_code(err, 553, "553 5.1.7 Bad sender address syntax");
	return err_set_code(err, 501, "501 5.1.3 Bad recipient address syntax");
}

/* limit - a limit from lim, the RFC value or our default. */
static size_t limit(const struct addr_limits *lim, int flags, int which)
{
	size_t v = 0;

	if (lim != NULL)
		v = which == 0 ? lim->local_max : which == 1 ? lim->domain_max : lim->path_max;
	if (v != 0)
		return v;
	if (flags & ADDR_RFC_LIMITS)
		return which == 0 ? 64 : which == 1 ? 255 : 256;
	return which == 0 ? ADDR_LOCAL_MAX : which == 1 ? ADDR_DOMAIN_MAX : ADDR_PATH_MAX;
}

/* utf8_len - length (2..4) of the valid, shortest-form UTF-8 sequence at p,
 * or 0 (overlong forms, surrogates and code points past U+10FFFF are bad). */
static size_t utf8_len(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t need;
	uint32_t cp;

	if (n == 0 || u[0] < 0xC2 || u[0] > 0xF4)
		return 0;
	need = u[0] < 0xE0 ? 2 : u[0] < 0xF0 ? 3 : 4;
	if (n < need)
		return 0;
	cp = u[0] & (0xFF >> (need + 1));
	for (size_t i = 1; i < need; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (u[i] & 0x3F);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return need;
}

/* is_atext - RFC 5322 atext, ASCII part. */
static bool is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool is_letdig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* scan_atext_utf8 - length of one atext byte or UTF-8 character at s[i]
 * (UTF-8 only with ADDR_UTF8), 0 when there is none. */
static size_t scan_atext_utf8(const char *s, size_t len, size_t i, int flags)
{
	unsigned char c = (unsigned char)s[i];

	if (c < 0x80)
		return is_atext(c) ? 1 : 0;
	return (flags & ADDR_UTF8) ? utf8_len(s + i, len - i) : 0;
}

/* scan_local - parse a Local-part at s[*pos]; its content (dequoted) goes
 * to content, *quoted_r says whether it was a Quoted-string. */
static int scan_local(const char *s, size_t len, size_t *pos, int flags, struct buf *content,
		      bool *quoted_r)
{
	size_t i = *pos, n;

	*quoted_r = i < len && s[i] == '"';
	if (*quoted_r) {
		for (i++;; i++) {
			if (i >= len)
				return -1;
			unsigned char c = (unsigned char)s[i];
			if (c == '"')
				break;
			if (c == '\\') {
				if (i + 1 >= len || s[i + 1] < 32 || s[i + 1] > 126)
					return -1;
				buf_addc(content, s[++i]);
			} else if (c >= 0x80) {
				if (!(flags & ADDR_UTF8) || (n = utf8_len(s + i, len - i)) == 0)
					return -1;
				buf_add(content, s + i, n);
				i += n - 1;
			} else if (c < 32 || c == 127) {
				return -1;
			} else {
				buf_addc(content, (char)c);
			}
		}
		*pos = i + 1;
		return 0;
	}
	for (;;) {
		size_t start = i;
		/* UNSAFE: scan_atext_utf8 returns at most len - i */
		while (i < len && (n = scan_atext_utf8(s, len, i, flags)) > 0)
			i += n;
		if (i == start)
			return -1;
		buf_add(content, s + start, i - start);
		if (i >= len || s[i] != '.')
			break;
		buf_addc(content, '.');
		i++;
	}
	*pos = i;
	return 0;
}

/* is_dot_string - may content be written without quotes? */
static bool is_dot_string(const char *s, size_t len, int flags)
{
	size_t i = 0, n;

	if (len == 0)
		return false;
	for (;;) {
		size_t start = i;
		while (i < len && (n = scan_atext_utf8(s, len, i, flags | ADDR_UTF8)) > 0)
			i += n;
		if (i == start)
			return false;
		if (i == len)
			return true;
		if (s[i] != '.')
			return false;
		i++;
	}
}

/* put_local - append the canonical form of a local part's content. */
static void put_local(struct buf *out, const char *s, size_t len, int flags)
{
	if (is_dot_string(s, len, flags)) {
		buf_add(out, s, len);
		return;
	}
	buf_addc(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, s[i]);
	}
	buf_addc(out, '"');
}

/* scan_literal - an address-literal at s[*pos] ('[' seen), validated with
 * inet_pton and appended in inet_ntop form. */
static int scan_literal(const char *s, size_t len, size_t *pos, struct buf *out)
{
	char text[LITERAL_MAX], ntop[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	size_t i = *pos + 1, start = i;

	while (i < len && s[i] != ']') {
		if (s[i] < 33 || s[i] > 126 || s[i] == '[' || s[i] == '\\')
			return -1;
		i++;
	}
	if (i >= len || i - start >= sizeof(text))
		return -1;
	memcpy(text, s + start, i - start);
	text[i - start] = '\0';
	if (strncasecmp(text, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, text + 5, bin) != 1 ||
		    inet_ntop(AF_INET6, bin, ntop, sizeof(ntop)) == NULL)
			return -1;
		buf_printf(out, "[IPv6:%s]", ntop);
	} else {
		if (inet_pton(AF_INET, text, bin) != 1 ||
		    inet_ntop(AF_INET, bin, ntop, sizeof(ntop)) == NULL)
			return -1;
		buf_printf(out, "[%s]", ntop);
	}
	*pos = i + 1;
	return 0;
}

/* scan_domain - a Domain (LDH labels, U-labels with ADDR_UTF8) or an
 * address-literal at s[*pos]; appended lowercased.  Stops at the first
 * byte that cannot continue it. */
static int scan_domain(const char *s, size_t len, size_t *pos, int flags, struct buf *out)
{
	size_t i = *pos, n;

	if (i < len && s[i] == '[')
		return scan_literal(s, len, pos, out);
	for (;;) {
		size_t start = i;
		while (i < len) {
			unsigned char c = (unsigned char)s[i];
			if (is_letdig(c) || c == '-') {
				buf_addc(out, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
				i++;
			} else if (c >= 0x80 && (flags & ADDR_UTF8) &&
				   (n = utf8_len(s + i, len - i)) > 0) {
				buf_add(out, s + i, n);
				i += n;
			} else {
				break;
			}
		}
		if (i == start || i - start > ADDR_LABEL_MAX || s[start] == '-' || s[i - 1] == '-')
			return -1;
		if (i >= len || s[i] != '.')
			break;
		buf_addc(out, '.');
		i++;
	}
	*pos = i;
	return 0;
}

/* scan_mailbox - Local-part ["@" Domain] at s[*pos] into out (canonical);
 * a missing domain needs ADDR_LOCAL_OK or the postmaster exception. */
static int scan_mailbox(const char *s, size_t len, size_t *pos, int flags,
			const struct addr_limits *lim, struct buf *out)
{
	struct buf content = BUF_INIT;
	size_t i = *pos, dstart;
	bool quoted;
	int rc = -1;

	buf_reset(out);
	if (scan_local(s, len, &i, flags, &content, &quoted) < 0)
		goto done;
	put_local(out, buf_cstr(&content), content.len, flags);
	if (out->len > limit(lim, flags, 0))
		goto done;
	if (i < len && s[i] == '@') {
		buf_addc(out, '@');
		dstart = out->len;
		i++;
		if (scan_domain(s, len, &i, flags, out) < 0 ||
		    out->len - dstart > limit(lim, flags, 1))
			goto done;
	} else if (!(flags & ADDR_LOCAL_OK) &&
		   !((flags & ADDR_POSTMASTER_OK) && !quoted &&
		     strcasecmp(buf_cstr(&content), "postmaster") == 0)) {
		goto done;
	} else if (!quoted && strcasecmp(buf_cstr(&content), "postmaster") == 0) {
		buf_sets(out, "postmaster");
	}
	*pos = i;
	rc = 0;
done:
	buf_deinit(&content);
	return rc;
}

int addr_parse_mailbox(const char *s, size_t len, int flags, const struct addr_limits *lim,
		       struct buf *out_r, struct err *err)
{
	size_t pos = 0;

	if (scan_mailbox(s, len, &pos, flags, lim, out_r) < 0 || pos != len) {
		buf_reset(out_r);
		return addr_fail(err, flags);
	}
	return 0;
}

/* scan_route - an obsolete source route "@a,@b:" at s[*pos], checked and
 * dropped. */
static int scan_route(const char *s, size_t len, size_t *pos, int flags)
{
	struct buf scratch = BUF_INIT;
	size_t i = *pos;
	int rc = -1;

	for (;;) {
		if (i >= len || s[i] != '@')
			goto done;
		i++;
		buf_reset(&scratch);
		if (scan_domain(s, len, &i, flags, &scratch) < 0 || i >= len)
			goto done;
		if (s[i] == ':')
			break;
		if (s[i] != ',')
			goto done;
		i++;
	}
	*pos = i + 1;
	rc = 0;
done:
	buf_deinit(&scratch);
	return rc;
}

int addr_parse_path(const char *s, size_t len, int flags, const struct addr_limits *lim,
		    struct buf *out_r, size_t *used_r, struct err *err)
{
	size_t i = 0;

	buf_reset(out_r);
	if (len > 0 && s[0] == '<') {
		i = 1;
		if (i < len && s[i] == '>') {
			if (!(flags & ADDR_NULL_OK))
				return addr_fail(err, flags);
			i++;
		} else {
			if (i < len && s[i] == '@' && scan_route(s, len, &i, flags) < 0)
				goto bad;
			if (scan_mailbox(s, len, &i, flags & ~ADDR_LOCAL_OK, lim, out_r) < 0 ||
			    i >= len || s[i] != '>')
				goto bad;
			i++;
		}
	} else if (flags & ADDR_BARE_OK) {
		if (scan_mailbox(s, len, &i, flags & ~ADDR_LOCAL_OK, lim, out_r) < 0 ||
		    (i < len && s[i] != ' '))
			goto bad;
	} else {
		goto bad;
	}
	if (i > limit(lim, flags, 2) || (used_r == NULL && i != len))
		goto bad;
	if (used_r != NULL)
		*used_r = i;
	return 0;
bad:
	buf_reset(out_r);
	return addr_fail(err, flags);
}

int addr_parse_domain(const char *s, size_t len, int flags, struct buf *out_r, struct err *err)
{
	size_t pos = 0;

	buf_reset(out_r);
	if (scan_domain(s, len, &pos, flags, out_r) < 0 || pos != len ||
	    out_r->len > ADDR_DOMAIN_MAX) {
		buf_reset(out_r);
		return err_set_code(err, 501, "501 5.5.4 Invalid domain name");
	}
	return 0;
}

void addr_split(const char *addr, size_t len, struct addr_parts *parts_r)
{
	const char *at = len > 0 ? memrchr(addr, '@', len) : NULL;

	parts_r->local = addr;
	if (at == NULL) {
		parts_r->local_len = len;
		parts_r->domain = addr + len;
		parts_r->domain_len = 0;
		return;
	}
	parts_r->local_len = (size_t)(at - addr);
	parts_r->domain = at + 1;
	parts_r->domain_len = len - parts_r->local_len - 1;
}

void addr_local_unquote(const char *local, size_t len, struct buf *out)
{
	if (len < 2 || local[0] != '"' || local[len - 1] != '"') {
		buf_add(out, local, len);
		return;
	}
	for (size_t i = 1; i + 1 < len; i++) {
		if (local[i] == '\\' && i + 2 < len)
			i++;
		buf_addc(out, local[i]);
	}
}

bool addr_needs_utf8(const char *addr, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)addr[i] >= 0x80)
			return true;
	return false;
}

bool addr_is_null(const char *addr, size_t len)
{
	return addr == NULL || len == 0;
}

/*
 * RFC 5322 address lists.  A small tokenizer drops comments and white
 * space; the list reader collects each mailbox's tokens into an addr-spec
 * text which addr_parse_mailbox then judges.
 */
enum htok_kind { HT_END, HT_WORD, HT_QUOTED, HT_LITERAL, HT_SPECIAL };

struct htok {
	enum htok_kind kind;
	const char *p;
	size_t n;
};

/* hdr_skip_cfws - skip white space and (nested) comments. */
static int hdr_skip_cfws(const char *s, size_t len, size_t *pos)
{
	size_t i = *pos;
	int depth = 0;

	for (; i < len; i++) {
		char c = s[i];
		if (depth > 0 && c == '\\') {
			if (++i >= len)
				return -1;
		} else if (c == '(') {
			if (++depth > HDR_COMMENT_DEPTH)
				return -1;
		} else if (depth > 0 && c == ')') {
			depth--;
		} else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			break;
		} else if (c == '\0') {
			return -1;
		}
	}
	*pos = i;
	return depth == 0 ? 0 : -1;
}

/* hdr_token - the next token at s[*pos]. */
static int hdr_token(const char *s, size_t len, size_t *pos, struct htok *t)
{
	size_t i = *pos, start;

	if (hdr_skip_cfws(s, len, &i) < 0)
		return -1;
	start = i;
	t->p = s + i;
	if (i >= len) {
		t->kind = HT_END;
	} else if (s[i] == '"' || s[i] == '[') {
		char close = s[i] == '"' ? '"' : ']';
		for (i++; i < len && s[i] != close; i++)
			if (s[i] == '\\' && ++i >= len)
				return -1;
		if (i >= len)
			return -1;
		i++;
		t->kind = close == '"' ? HT_QUOTED : HT_LITERAL;
	} else if (strchr("<>@,;:.", s[i]) != NULL) {
		i++;
		t->kind = HT_SPECIAL;
	} else {
		while (i < len && (unsigned char)s[i] > 32 && s[i] != 127 &&
		       strchr("()<>[]:;@\\,.\"", s[i]) == NULL)
			i++;
		if (i == start)
			return -1;
		t->kind = HT_WORD;
	}
	t->n = i - start;
	*pos = i;
	return 0;
}

struct hdr_state {
	struct buf spec;    /* addr-spec text gathered so far */
	struct buf canon;   /* its canonical form */
	bool last_word;     /* the last token added was a word */
	bool phrase;        /* two words met without '.' or '@' between them */
	bool done_angle;    /* this entry's angle-addr was already reported */
	addr_header_fn *fn;
	void *ctx;
};

/* hdr_add - add a word, quoted string, literal or '.'/'@' to the spec. */
static void hdr_add(struct hdr_state *st, const struct htok *t)
{
	bool word = t->kind != HT_SPECIAL;

	if (word && st->last_word)
		st->phrase = true;
	st->last_word = word;
	buf_add(&st->spec, t->p, t->n);
}

static void hdr_reset(struct hdr_state *st)
{
	buf_reset(&st->spec);
	st->last_word = st->phrase = false;
}

/* hdr_emit - report the gathered spec (nothing when empty). */
static int hdr_emit(struct hdr_state *st, struct err *err)
{
	int rc = 0;

	if (st->spec.len > 0) {
		if (st->phrase || addr_parse_mailbox(st->spec.data, st->spec.len,
						     ADDR_UTF8 | ADDR_LOCAL_OK, NULL, &st->canon,
						     NULL) < 0)
			rc = err_set_code(err, 501, "501 5.1.3 Bad recipient address syntax: %.100s",
					  buf_cstr(&st->spec));
		else
			rc = st->fn(st->canon.data, st->canon.len, st->ctx);
	}
	hdr_reset(st);
	return rc;
}

/* hdr_angle - an angle-addr after '<': optional obsolete route, addr-spec,
 * '>'. */
static int hdr_angle(struct hdr_state *st, const char *s, size_t len, size_t *pos,
		     struct err *err)
{
	struct htok t;
	bool first = true;

	hdr_reset(st);
	for (;;) {
		if (hdr_token(s, len, pos, &t) < 0 || t.kind == HT_END)
			return err_set_code(err, 501, "501 5.1.3 Bad recipient address syntax: "
					    "unterminated <");
		if (first && t.kind == HT_SPECIAL && *t.p == '@') {
			while (t.kind != HT_END && !(t.kind == HT_SPECIAL && *t.p == ':'))
				if (hdr_token(s, len, pos, &t) < 0)
					return err_set_code(err, 501, "501 5.1.3 Bad route");
			if (t.kind == HT_END)
				return err_set_code(err, 501, "501 5.1.3 Bad route");
			first = false;
			continue;
		}
		first = false;
		if (t.kind == HT_SPECIAL && *t.p == '>')
			break;
		if (t.kind == HT_SPECIAL && *t.p != '.' && *t.p != '@')
			return err_set_code(err, 501, "501 5.1.3 Bad recipient address syntax: "
					    "bad character in <>");
		hdr_add(st, &t);
	}
	st->done_angle = true;
	return hdr_emit(st, err);
}

int addr_parse_header_list(const char *text, size_t len, addr_header_fn *fn, void *ctx,
			   struct err *err)
{
	struct hdr_state st = { BUF_INIT, BUF_INIT, false, false, false, fn, ctx };
	struct htok t;
	size_t pos = 0;
	bool in_group = false;
	int rc = -1;

	for (;;) {
		if (hdr_token(text, len, &pos, &t) < 0) {
			err_set_code(err, 501, "501 5.1.3 Bad recipient address syntax: "
				     "unbalanced quote, comment or bracket");
			goto done;
		}
		char c = t.kind == HT_SPECIAL ? *t.p : '\0';
		if (t.kind == HT_END || c == ',' || c == ';') {
			if (c == ';' && !in_group) {
				err_set_code(err, 501, "501 5.1.3 Bad recipient address syntax: "
					     "';' outside a group");
				goto done;
			}
			if (!st.done_angle && hdr_emit(&st, err) < 0)
				goto done;
			hdr_reset(&st);
			st.done_angle = false;
			if (c == ';')
				in_group = false;
			if (t.kind == HT_END)
				break;
		} else if (st.done_angle) {
			err_set_code(err, 501, "501 5.1.3 Bad recipient address syntax: "
				     "text after <address>");
			goto done;
		} else if (c == '<') {
			if (hdr_angle(&st, text, len, &pos, err) < 0)
				goto done;
		} else if (c == ':') {
			if (in_group) {
				err_set_code(err, 501, "501 5.1.3 Bad recipient address syntax: "
					     "nested group");
				goto done;
			}
			in_group = true;
			hdr_reset(&st);
		} else if (c == '>') {
			err_set_code(err, 501, "501 5.1.3 Bad recipient address syntax: stray >");
			goto done;
		} else {
			hdr_add(&st, &t);
		}
	}
	rc = 0;
done:
	buf_deinit(&st.spec);
	buf_deinit(&st.canon);
	return rc;
}
