/*
 * pickup_hdr.h - the header section of a locally submitted message (pure
 * functions shared by pickup and sendmail): find where the headers end and
 * which of From:, Date:, Message-ID: are there; take the recipients of
 * sendmail -t from To:/Cc:/Bcc: and drop Bcc:; format the headers pickup
 * adds.
 * Lines end in LF (a CR before it is tolerated); a header field is a name of
 * printable ASCII without ':' (then optional blanks, then ':'), followed by
 * continuation lines that start with a space or a tab.  The first line that
 * is neither ends the header section; so does an empty line.
 * See: RFC 5322 2.2 and 3.6, Postfix cleanup_message.c (missing headers).
 */
#ifndef TERN_PICKUP_HDR_H
#define TERN_PICKUP_HDR_H

#include "sys.h"

#include <time.h>

#include "addr.h"

struct buf;
struct err;

/* PICKUP_HDR_MAX - most header-section bytes that are examined; a longer
 * header section is passed on unchanged (nothing is added). */
#define PICKUP_HDR_MAX (100 * 1024)

/* struct pickup_hdr_scan - what pickup_hdr_scan found. */
struct pickup_hdr_scan {
	size_t hdr_len;	 /* bytes of header lines (the empty line excluded) */
	size_t body_off; /* where the rest starts: the empty line, the first
			    non-header line, or the end */
	bool has_blank;	 /* an empty line ends the header section */
	bool has_from;
	bool has_date;
	bool has_msgid;
	bool has_resent; /* some Resent-* field is present */
};

/* pickup_hdr_scan - scan len bytes of message text from its start.  Returns
 * 1 with r filled when the header section ends inside data, or at the end
 * when at_eof (then a last line without LF counts as a line); 0 when more
 * text is needed to tell.  Pure; never reads past len. */
int pickup_hdr_scan(const char *data, size_t len, bool at_eof, struct pickup_hdr_scan *r);

/* pickup_hdr_rcpts - sendmail -t: report every address of the To:, Cc:
 * and Bcc: fields of the header section hdr (hdr_len bytes of whole
 * lines), or of Resent-To:, Resent-Cc: and Resent-Bcc: when the section
 * has any Resent-* field, to fn (addr_parse_header_list's callback).
 * When out_r is not NULL it receives the header section without its Bcc:
 * and Resent-Bcc: fields.  0, or -1 with err from the address parser. */
int pickup_hdr_rcpts(const char *hdr, size_t hdr_len, addr_header_fn *fn, void *ctx,
		     struct buf *out_r, struct err *err) ATTR_WARN_UNUSED;

/* pickup_addr_parse - one address as a local user gives it (command line,
 * -f, BEGIN): a mailbox with or without <>, its domain optional; "" and
 * "<>" are the null sender when sender is true.  The canonical form (no
 * domain added) goes to out_r; -1 with lib/addr's reply text in err. */
int pickup_addr_parse(const char *s, size_t len, bool sender, struct buf *out_r,
		      struct err *err) ATTR_WARN_UNUSED;

/* pickup_hdr_date - append t as an RFC 5322 date-time in local time,
 * "Mon, 1 Jan 2024 10:00:00 +0100 (CET)". */
void pickup_hdr_date(time_t t, struct buf *out);

/* pickup_hdr_from - append a From: header line (with LF) for addr and an
 * optional full name: "From: Name <addr>", the name quoted when it is not
 * a plain phrase; control bytes in the name are dropped and it is cut to
 * 200 bytes.  An empty name gives "From: addr". */
void pickup_hdr_from(const char *fullname, const char *addr, struct buf *out);

#endif
