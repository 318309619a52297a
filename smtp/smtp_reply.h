/*
 * smtp_reply.h - the pure part of the SMTP client: server replies read
 * one line at a time (multi-line replies, enhanced status codes) and the
 * EHLO extension list.  No I/O, no globals: unit tests and fuzz_smtpreply
 * call it directly.
 * See: RFC 5321 4.2, RFC 3463 (enhanced status codes), RFC 2034.
 */
#ifndef TERN_SMTP_REPLY_H
#define TERN_SMTP_REPLY_H

#include "sys.h"

#include "buf.h"

struct err;

/* SMTP_REPLY_LINES_MAX - most lines in one reply (more is malformed). */
#define SMTP_REPLY_LINES_MAX 200
/* SMTP_REPLY_TEXT_MAX - most bytes kept of one reply's text. */
#define SMTP_REPLY_TEXT_MAX 16384

struct smtp_reply {
	int code;	 /* 200..599 once the first line was read, else 0 */
	char dsn[12];	 /* enhanced status "5.1.1": from the text, or derived
			  * from the code ("5.0.0") */
	bool dsn_given;	 /* the server sent the enhanced status itself */
	struct buf text; /* every line as received, joined with '\n' */
	size_t lines;
	bool done; /* the last line has been read */
};

/* smtp_reply_init / smtp_reply_deinit - an empty reply. */
void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_deinit(struct smtp_reply *r);
/* smtp_reply_reset - empty it again for the next reply (memory kept). */
void smtp_reply_reset(struct smtp_reply *r);

/* smtp_reply_feed - add one line (without its CRLF) of len bytes.  1 when
 * the reply is complete, 0 when more lines follow, -1 with err when the
 * line is malformed: not "DDD", "DDD-text" or "DDD text", a first digit
 * outside 2..5, a code that differs from the first line's, a NUL, or more
 * than SMTP_REPLY_LINES_MAX lines.  Feeding a complete reply again starts
 * a new one. */
int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len,
		    struct err *err) ATTR_WARN_UNUSED;

/* smtp_reply_format - append the reply for a log line or a DSN: the lines
 * joined with a space, control bytes as '?', at most max bytes. */
void smtp_reply_format(const struct smtp_reply *r, struct buf *out, size_t max);

/* smtp_dsn_parse - if s (len bytes) starts with an enhanced status code
 * "C.S.D" (C is 2, 4 or 5; S and D 1..3 digits) followed by a space or the
 * end, copy it to dsn_r (12 bytes) and return its length; else 0. */
size_t smtp_dsn_parse(const char *s, size_t len, char dsn_r[12]);

/* The extensions an EHLO reply announced. */
struct smtp_ehlo {
	bool pipelining;
	bool size;	     /* SIZE offered */
	uint64_t size_limit; /* SIZE n (0: none given) */
	bool eightbitmime;
	bool smtputf8;
	bool dsn;
	bool starttls;
	bool chunking;
	bool enhancedstatuscodes;
	unsigned int auth; /* SMTP_AUTH_* mechanisms offered by AUTH (or AUTH=) */
};

/* SASL mechanisms an AUTH keyword can offer (the ones the client knows). */
#define SMTP_AUTH_PLAIN 0x1
#define SMTP_AUTH_LOGIN 0x2
#define SMTP_AUTH_OTHER 0x4 /* AUTH offered, with mechanisms we do not speak */

/* smtp_ehlo_parse - read the keywords of a complete 250 EHLO reply (every
 * line after the first); unknown keywords are ignored, a malformed SIZE
 * value counts as SIZE without a limit; "AUTH m1 m2" and the old
 * "AUTH=m1 m2" both fill auth. */
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *ehlo_r);

#endif
