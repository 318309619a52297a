/*
 * smtpd_data.h - the message content reader shared by DATA and BDAT (pure).
 * Fed arbitrary chunks of what the client sent, it hands the content on in
 * runs to a sink, counts its size against a limit, and walks the header
 * section so the session can log the Message-ID.
 *
 * DATA mode (RFC 5321 4.1.1.4, 4.5.2):
 *   - the message ends only at CR LF "." CR LF (the first CR LF being the
 *     one that ended the previous line, or the start of the data); a bare
 *     LF or a bare CR never ends a line for this purpose, so the SMTP
 *     smuggling sequences <LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF> and
 *     <CR><LF>.<LF> are plain content;
 *   - a "." at the start of a line (after CR LF) is removed when more
 *     follows on the line (dot-stuffing undone);
 *   - bare LF and bare CR bytes are kept as they are (Postfix keeps them
 *     too); smtpd_data_bare_lf counts the bare LFs so the session may
 *     refuse them (smtpd_forbid_bare_newline = reject).
 * BDAT mode (SMTPD_DATA_CHUNKED, RFC 3030): no dot-stuffing and no
 * terminator; the session feeds exactly the chunk bytes.
 *
 * The sink sees the content in CR LF form (as on the wire, un-stuffed).
 * Once the size passes size_limit the sink gets nothing more (the session
 * throws the message away) but the end is still looked for.
 * Header section: physical lines end at CR LF only; a logical header (with
 * its folded continuation lines, CR LF kept inside) goes to sink->header
 * when the next one starts.  The section ends at the empty line, at a line
 * that is not a header, at a line longer than line_max or a header longer
 * than SMTPD_DATA_HEADER_MAX: after that the rest is body for this reader
 * (nothing is cut from the content: the limit only stops the header walk).
 * header_end then says where, as a content offset, a header could still be
 * added (smtpd_queue.c appends missing Message-ID and Date there): before
 * the empty line or the first line that is not part of a header.
 * See: docs/smtpd.md "Message content".
 */
#ifndef TERN_SMTPD_DATA_H
#define TERN_SMTPD_DATA_H

#include "sys.h"

#include "buf.h"

/* SMTPD_DATA_CHUNKED - BDAT content: no dot-stuffing, no terminator. */
#define SMTPD_DATA_CHUNKED 0x1

/* SMTPD_DATA_HEADER_MAX - longest logical (unfolded) header walked. */
#define SMTPD_DATA_HEADER_MAX 32768

struct smtpd_data_sink {
	/* body - n content bytes at p (valid during the call only). */
	void (*body)(void *ctx, const char *p, size_t n);
	/* header - one whole logical header of len bytes, without the final
	 * CR LF (folding CR LFs kept); may be NULL. */
	void (*header)(void *ctx, const char *p, size_t len);
};

enum smtpd_data_state {
	SMTPD_DATA_BOL,	   /* at the start of a line */
	SMTPD_DATA_DOT,	   /* "." at the start of a line */
	SMTPD_DATA_DOT_CR, /* "." CR at the start of a line */
	SMTPD_DATA_TEXT,   /* inside a line */
	SMTPD_DATA_CR,	   /* CR inside a line */
	SMTPD_DATA_END,	   /* the terminator was seen */
};

struct smtpd_data {
	enum smtpd_data_state state;
	int flags;
	const struct smtpd_data_sink *sink;
	void *ctx;
	uint64_t size;	       /* content bytes so far (CR LF form) */
	uint64_t size_limit;   /* 0: none */
	bool too_big;	       /* size passed size_limit */
	size_t line_max;       /* header line cap (line_length_limit) */
	unsigned long bare_lf; /* LF bytes without a CR before them */
	unsigned long bare_cr; /* CR bytes without an LF after them */
	/* header walk */
	bool in_header;
	bool header_cut;       /* the walk stopped at a long line or header */
	bool hdr_cr;	       /* the last header byte was CR */
	size_t hdr_line_len;   /* bytes of the current physical line */
	size_t hdr_line_start; /* offset of that line in hdr */
	struct buf hdr;	       /* the logical header being collected */
	uint64_t hdr_base;     /* content offset of hdr.data[0] */
	uint64_t header_end;   /* once the walk ended: content offset where
				  the header section ends (see above) */
};

/* smtpd_data_init - ready for a new message; flags SMTPD_DATA_*;
 * size_limit 0 = none; line_max > 0.  sink must outlive the reader. */
void smtpd_data_init(struct smtpd_data *d, int flags, uint64_t size_limit, size_t line_max,
		     const struct smtpd_data_sink *sink, void *ctx);
/* smtpd_data_deinit - release memory; init again for the next message. */
void smtpd_data_deinit(struct smtpd_data *d);

/* smtpd_data_feed - take up to n bytes at p.  Returns how many were taken:
 * all n, or fewer when the terminator was found (the rest is the next
 * command).  In CHUNKED mode always n.  After the end, takes nothing. */
size_t smtpd_data_feed(struct smtpd_data *d, const char *p, size_t n);

/* smtpd_data_finish - CHUNKED mode: the last chunk is in; flushes the
 * header walk.  DATA mode does this itself at the terminator. */
void smtpd_data_finish(struct smtpd_data *d);

/* smtpd_data_done - the terminator was seen (DATA mode). */
static inline bool smtpd_data_done(const struct smtpd_data *d)
{
	return d->state == SMTPD_DATA_END;
}

#endif
