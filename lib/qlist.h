/*
 * qlist.h - the mail queue listing: Postfix's mailq text or postqueue -j
 * JSON lines, made one message at a time from the queue directories.
 * Used by the showq daemon (which streams it to postqueue over
 * public/showq) and by postqueue/mailq/sendmail -bp directly when showq
 * cannot be reached and the caller may read the queue.
 *
 * Text format (one block per message, a blank line after each):
 *     -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *     ID[*|!]     SIZE     Www Mmm dd hh:mm:ss  sender or MAILER-DAEMON
 *                                      (last deferral reason)
 *                                               recipient
 *     -- N Kbytes in M Request[s].        ("Mail queue is empty" when none)
 * '*' marks active/, '!' hold/.  JSON: one object a line with queue_name,
 * queue_id, arrival_time, message_size, forced_expire, sender and
 * recipients [{address, delay_reason?}]; nothing at all for an empty queue.
 * Only recipients still pending are shown.  Addresses and reasons are
 * passed through str_sanitize (no control bytes reach a terminal).
 * See: Postfix showq(8) and postqueue(1), docs/commands.md "postqueue".
 */
#ifndef TERN_QLIST_H
#define TERN_QLIST_H

#include "sys.h"

#include <stdio.h>

struct buf;
struct err;
struct qfile_env;
struct defer_log;

struct qlist;

/* qlist_open - start a listing of queue_dir's incoming/, active/,
 * deferred/ and hold/ (in that order, IDs sorted within each), with the
 * deferral reasons from defer/.  Every directory is opened here, so a
 * permission problem shows before any output: NULL with "cannot read the
 * queue: PATH: REASON" in err (EACCES adds "(run as root or as the mail
 * owner)"). */
struct qlist *qlist_open(const char *queue_dir, bool json, struct err *err);

/* qlist_next - append the next piece of the listing to out: the block of
 * one message (after the column header when it is the first), returning
 * 1; or, once every message was listed, the closing line of the text
 * format (nothing for JSON), returning 0.  After 0 it keeps returning 0
 * and appends nothing.  A file that vanished, moved or cannot be parsed
 * while we look is skipped. */
int qlist_next(struct qlist *ql, struct buf *out);

/* qlist_count - messages listed so far. */
size_t qlist_count(const struct qlist *ql);

/* qlist_free - close the directories; accepts NULL, sets *qlp NULL. */
void qlist_free(struct qlist **qlp);

/* qlist_write - the rest of the listing onto out (flushed); -1 with
 * "write error: ..." when out fails. */
int qlist_write(struct qlist *ql, FILE *out, struct err *err) ATTR_WARN_UNUSED;

/* qlist_format_msg - pure: append one message as the listing shows it.
 * header adds the column header line first (text only); queue is the
 * directory name ("deferred"), mark its text mark (' ', '*', '!'); log
 * holds the deferral records (may be empty, never NULL). */
void qlist_format_msg(struct buf *out, bool json, bool header, const char *queue, char mark,
		      const char *id, const struct qfile_env *env, const struct defer_log *log);

/* qlist_format_end - pure: the closing line for count messages of total
 * content bytes (text), nothing for JSON. */
void qlist_format_end(struct buf *out, bool json, size_t count, uint64_t total);

/* qlist_json_str - pure: s as a JSON string literal, sanitized (control
 * and non-UTF-8 bytes become '?'), '"' and '\\' escaped. */
void qlist_json_str(struct buf *out, const char *s);

#endif
