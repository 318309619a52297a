/*
 * addr.h - RFC 5321 envelope addresses (paths, mailboxes, domains) and a
 * lenient RFC 5322 header address-list reader for sendmail -t.
 * Every parser takes untrusted bytes with an explicit length, writes the
 * canonical form into a caller's buf and never aborts on bad input.
 * Canonical form: `local@domain`; the local part is quoted only when it is
 * not a valid Dot-string, its case is kept; the domain is lowercased (ASCII)
 * and address literals are rewritten by inet_ntop ([192.0.2.1],
 * [IPv6:2001:db8::1]).  The null path is the empty string.
 * See: RFC 5321 4.1.2 and 4.5.3.1, RFC 6531 3.3, RFC 5322 3.4,
 *      docs/smtp-parsing.md.
 */
#ifndef TERN_ADDR_H
#define TERN_ADDR_H

#include "sys.h"

struct buf;
struct err;

/* Parser flags (combine with |). */
#define ADDR_NULL_OK       (1 << 0) /* accept the null path <> (MAIL FROM, AUTH=) */
#define ADDR_POSTMASTER_OK (1 << 1) /* accept <postmaster> without a domain (RCPT) */
#define ADDR_UTF8          (1 << 2) /* SMTPUTF8: UTF-8 local part and U-labels */
#define ADDR_BARE_OK       (1 << 3) /* a path may come without <> (liberal clients) */
#define ADDR_LOCAL_OK      (1 << 4) /* a mailbox may lack "@domain" (sendmail, headers) */
#define ADDR_SENDER        (1 << 5) /* errors speak of the sender (553 5.1.7) */
#define ADDR_RFC_LIMITS    (1 << 6) /* the RFC 5321 limits 64/255/256 instead of ours */

/* Length limits, in octets of the canonical form (ADDR_RFC_LIMITS: 64/255/256).
 * RFC 5321 4.5.3.1 lets a server accept more; real VERP and SRS senders
 * exceed 64 octets of local part, so by default we take up to 256. */
#define ADDR_LOCAL_MAX   256
#define ADDR_DOMAIN_MAX  255
#define ADDR_PATH_MAX    512
#define ADDR_LABEL_MAX   63

/* struct addr_limits - limits a caller may set from main.cf; a 0 field or a
 * NULL pointer means the default above. */
struct addr_limits {
	size_t local_max;
	size_t domain_max;
	size_t path_max;
};

/* struct addr_parts - views into a canonical address (not NUL-terminated). */
struct addr_parts {
	const char *local;
	size_t local_len;
	const char *domain; /* points at the end of the string when there is none */
	size_t domain_len;
};

/* addr_parse_path - parse a Reverse-path or Forward-path starting at s:
 * "<" [source-route ":"] Mailbox ">" (the source route is checked and
 * dropped), "<>" with ADDR_NULL_OK, "<postmaster>" with ADDR_POSTMASTER_OK,
 * a bare mailbox with ADDR_BARE_OK.  With used_r set, parsing stops after
 * the path and *used_r counts the bytes consumed; without it trailing bytes
 * are an error.  out_r is reset and receives the canonical address.  On
 * error err->code is 553 (ADDR_SENDER) or 501 and err->msg the whole reply,
 * "553 5.1.7 Bad sender address syntax" / "501 5.1.3 Bad recipient address
 * syntax". */
int addr_parse_path(const char *s, size_t len, int flags, const struct addr_limits *lim,
		    struct buf *out_r, size_t *used_r, struct err *err) ATTR_WARN_UNUSED;

/* addr_parse_mailbox - parse exactly one Mailbox (no angle brackets) of len
 * bytes into out_r, canonical.  Flags and errors as for addr_parse_path. */
int addr_parse_mailbox(const char *s, size_t len, int flags, const struct addr_limits *lim,
		       struct buf *out_r, struct err *err) ATTR_WARN_UNUSED;

/* addr_parse_domain - parse exactly one Domain or address-literal (used for
 * HELO/EHLO too) into out_r, lowercased / normalized.  Errors: 501 5.5.4. */
int addr_parse_domain(const char *s, size_t len, int flags, struct buf *out_r,
		      struct err *err) ATTR_WARN_UNUSED;

/* addr_split - cut a canonical address at its last '@' into views. */
void addr_split(const char *addr, size_t len, struct addr_parts *parts_r);

/* addr_local_unquote - append the local part's content without quoting
 * ("a b" -> a b, "x\"y" -> x"y) to out; for mailbox names on disk. */
void addr_local_unquote(const char *local, size_t len, struct buf *out);

/* addr_needs_utf8 - true if the address has a non-ASCII byte (so it may only
 * travel in an SMTPUTF8 transaction). */
bool addr_needs_utf8(const char *addr, size_t len);

/* addr_is_null - true for the null path (the empty canonical address). */
bool addr_is_null(const char *addr, size_t len);

/* addr_header_fn - called once per address found by addr_parse_header_list
 * with its canonical form (a NUL follows addr[len]); returns 0 to go on or
 * -1 to stop (the list parser then returns -1 with err as the callback left
 * it). */
typedef int addr_header_fn(const char *addr, size_t len, void *ctx);

/* addr_parse_header_list - read an RFC 5322 address-list (the unfolded body
 * of To:/Cc:/Bcc:): display names, comments, groups (members are reported,
 * group names are not), angle-addrs with obsolete routes, quoted strings.
 * Liberal: UTF-8 anywhere, addresses without a domain ("bob"), spaces
 * around '.' and '@'.  Each mailbox goes to fn in canonical form; empty
 * groups and <> report nothing.  Returns 0, or -1 with err filled
 * ("501 5.1.3 Bad recipient address syntax: ...") when a part cannot be
 * understood; mailboxes before it were already reported. */
int addr_parse_header_list(const char *text, size_t len, addr_header_fn *fn, void *ctx,
			   struct err *err) ATTR_WARN_UNUSED;

#endif
