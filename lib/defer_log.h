/*
 * defer_log.h - per-message delivery status logs: queue/defer/ID (why
 * recipients were deferred, for mailq and delay DSNs) and queue/bounce/ID
 * (why they failed, for the non-delivery DSN).  Postfix's defer/bounce logs.
 *
 * Format: text, one entry a line, appended with one write(2) on an O_APPEND
 * descriptor and fdatasync'ed; space-separated name=value fields, values
 * %XX-encoded (bytes <= 0x20, 0x7f and '%'):
 *     tern1 time=1700000000 off=123 rcpt=bob@example.net orcpt=rfc822;Bob@...
 *       status=4.4.1 action=delayed mta=dns;mx.example.net
 *       diag=smtp;451%204.4.1%20try%20later reason=connect%20to%20...
 * A line that lacks its newline (cut by a crash) is ignored, and the next
 * append starts on a fresh line; unknown fields are skipped; a complete
 * line without the required fields is counted in `skipped` and ignored.
 * See: docs/queue-format.md "Defer and bounce logs", Postfix bounce_log.c.
 */
#ifndef TERN_DEFER_LOG_H
#define TERN_DEFER_LOG_H

#include "sys.h"

#include <time.h>

struct buf;
struct err;

/* DEFER_LOG_LINE_MAX - longest line written (and read). */
#define DEFER_LOG_LINE_MAX 16384
/* DEFER_LOG_ADDR_MAX - longest rcpt/orcpt accepted by defer_log_append. */
#define DEFER_LOG_ADDR_MAX 1024
/* DEFER_LOG_TEXT_MAX - diag and reason are cut to this many bytes. */
#define DEFER_LOG_TEXT_MAX 1000
/* DEFER_LOG_FILE_MAX - largest log file defer_log_read loads. */
#define DEFER_LOG_FILE_MAX (64 * 1024 * 1024)

struct defer_log_entry {
	time_t time;         /* when the attempt ended */
	long long rcpt_offset; /* the recipient's status_offset in the queue
			      * file (its key); -1 when not known */
	const char *rcpt;    /* recipient address; required */
	const char *orcpt;   /* "type;value" (DSN Original-Recipient) or "" */
	const char *status;  /* enhanced status code "4.4.1"; required */
	const char *action;  /* failed, delayed, delivered, relayed, expanded */
	const char *mta;     /* "dns;mx.example.net" (Remote-MTA) or "" */
	const char *diag;    /* "smtp;550 5.1.1 unknown" (Diagnostic-Code) or "" */
	const char *reason;  /* human-readable text mailq shows, may be "" */
};

struct defer_log {
	struct defer_log_entry *entries; /* in file order */
	size_t count;
	size_t skipped;      /* complete lines that were malformed */
	char *data;          /* the decoded text the entries point into */
};

/* defer_log_format - append e as one line (with its newline) to out; -1 if
 * a required field is missing or malformed (status not N.N.N with N 2/4/5,
 * unknown action, NUL-free strings longer than the caps for addresses).
 * diag and reason longer than DEFER_LOG_TEXT_MAX are cut (at a UTF-8
 * character boundary). */
int defer_log_format(struct buf *out, const struct defer_log_entry *e, struct err *err)
	ATTR_WARN_UNUSED;

/* defer_log_append - append e to the log name in dirfd (AT_FDCWD for a
 * path): open O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW mode 0600, one write,
 * fdatasync.  If the file does not end in a newline (a crash cut the last
 * entry) the line is written after one.  -1 with err (code = errno, or 0
 * for a bad entry). */
int defer_log_append(int dirfd, const char *name, const struct defer_log_entry *e,
		     struct err *err) ATTR_WARN_UNUSED;

/* defer_log_append_queue - defer_log_append to $queue_dir/LOGDIR/QID, where
 * LOGDIR is "defer" or "bounce" (made, mode 0700, when missing): what the
 * delivery agents call to record a deferral or a bounce.  -1 with err. */
int defer_log_append_queue(const char *queue_dir, const char *logdir, const char *qid,
			   const struct defer_log_entry *e, struct err *err) ATTR_WARN_UNUSED;

/* defer_log_parse - parse len bytes of log text into log_r (which owns a
 * decoded copy); never fails: bad lines are skipped and counted. */
void defer_log_parse(const char *data, size_t len, struct defer_log *log_r);

/* defer_log_read - read and parse the log name in dirfd.  A missing file is
 * an empty log (0).  -1 with err on I/O errors or a file over
 * DEFER_LOG_FILE_MAX; log_r is then empty. */
int defer_log_read(int dirfd, const char *name, struct defer_log *log_r, struct err *err)
	ATTR_WARN_UNUSED;

/* defer_log_deinit - free what parse/read filled in. */
void defer_log_deinit(struct defer_log *log);

/* defer_log_last - the last entry for recipient rcpt (exact match), or
 * NULL: the reason mailq shows. */
const struct defer_log_entry *defer_log_last(const struct defer_log *log, const char *rcpt);

/* defer_log_remove - remove the log name in dirfd; a missing file is fine.
 * The queue manager removes queue/defer/ID when it starts a new delivery
 * round, so the log holds the latest attempt per recipient. */
int defer_log_remove(int dirfd, const char *name, struct err *err) ATTR_WARN_UNUSED;

#endif
