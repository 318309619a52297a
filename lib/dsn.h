/*
 * dsn.h - delivery status notifications (RFC 3464, RFC 3462
 * multipart/report; RFC 6533 message/global-* for SMTPUTF8 mail): the
 * message qmgr sends back to a sender when mail failed, is delayed, or was
 * delivered with NOTIFY=SUCCESS.
 *
 * dsn_build is pure: it takes the facts (from the queue file envelope and
 * the defer/bounce log entries) and the part of the original message to
 * return, and produces the whole notification, header and body, with LF
 * line endings (the queue's content form).  Every text taken from a log or
 * an envelope is sanitized (control bytes become '?') so nothing can break
 * out of its header field.  The caller queues the result with sender <>.
 * See: docs/qmgr.md "Delivery status notifications", Postfix bounce(8).
 */
#ifndef TERN_DSN_H
#define TERN_DSN_H

#include "sys.h"

#include <time.h>

struct buf;
struct err;

enum dsn_kind {
	DSN_FAILURE, /* non-delivery: "Undelivered Mail Returned to Sender" */
	DSN_DELAY,   /* delay warning: "Delayed Mail (still being retried)" */
	DSN_SUCCESS, /* NOTIFY=SUCCESS: "Successful Mail Delivery Report" */
};

/* One recipient of the report (strings may be NULL where "or empty"). */
struct dsn_rcpt {
	const char *rcpt;    /* Final-Recipient address; required */
	const char *orcpt;   /* "type;value" (Original-Recipient) or empty */
	const char *action;  /* failed, delayed, delivered, relayed, expanded */
	const char *status;  /* enhanced status code "5.1.1"; required */
	const char *mta;     /* "dns;host" (Remote-MTA) or empty */
	const char *diag;    /* "smtp;550 5.1.1 ..." (Diagnostic-Code) or empty */
	const char *reason;  /* human-readable text for the first part, or empty */
	time_t last_attempt; /* Last-Attempt-Date; 0 leaves it out */
};

/* The whole report. */
struct dsn_msg {
	enum dsn_kind kind;
	const char *reporting_mta; /* $myhostname: Reporting-MTA, From: domain */
	const char *queue_id;	   /* the original message's queue ID */
	const char *sender;	   /* the original sender: the report's To: */
	const char *envid;	   /* Original-Envelope-Id, NULL if none */
	time_t arrival;		   /* Arrival-Date */
	time_t now;		   /* Date: and the Message-Id */
	time_t retry_until;	   /* DSN_DELAY: Will-Retry-Until (0: left out) */
	const struct dsn_rcpt *rcpts;
	size_t rcpt_count;   /* at least 1 */
	const char *content; /* the original message or its header */
	size_t content_len;
	bool content_full; /* message/rfc822 (true) or text/rfc822-headers */
	bool utf8;	   /* SMTPUTF8 original: message/global-* types */
};

/* dsn_build - append the notification to out (header, blank line, MIME
 * body; LF line endings).  The MIME boundary is derived from queue_id and
 * now and made longer until it occurs nowhere in the content.  -1 with err
 * when a required field is missing or rcpt_count is 0. */
int dsn_build(const struct dsn_msg *m, struct buf *out, struct err *err) ATTR_WARN_UNUSED;

/* dsn_header_len - bytes of the header block at the start of content,
 * including the empty line that ends it (the whole content when it has no
 * empty line): what RET=HDRS returns. */
size_t dsn_header_len(const char *content, size_t len);

/* dsn_date - append t as an RFC 5322 date in local time
 * ("Tue, 14 Nov 2023 22:13:20 +0100") to out. */
void dsn_date(time_t t, struct buf *out);

/* dsn_has_8bit - true if any of the len bytes is >= 0x80 (the report then
 * needs 8BITMIME, or SMTPUTF8 when the original had it). */
bool dsn_has_8bit(const char *s, size_t len);

#endif
