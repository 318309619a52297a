/*
 * qreceive.h - put a new message into the queue: the one path shared by
 * smtpd, pickup (sendmail), local (forwarding, lists) and qmgr (bounces).
 *
 *   q = qreceive_begin(queue_dir, err)       incoming/ID created (O_EXCL)
 *   w = qreceive_writer(q)                   envelope and content through the
 *                                            lib/qfile writer API
 *   qreceive_commit(q, err)                  END + fsync, rename to active/ID,
 *                                            fsync active/: the message is
 *                                            now safe (smtpd may say 250)
 *   qreceive_notify(cfg, id)                 tell qmgr (best effort; qmgr also
 *                                            scans active/)
 * qreceive_abort unlinks the incoming file; qreceive_free of an uncommitted
 * message aborts it.  Files left in incoming/ (crash) are never delivered;
 * qmgr removes them after an hour.
 * See: docs/queue-format.md "Crash safety".
 */
#ifndef TERN_QRECEIVE_H
#define TERN_QRECEIVE_H

#include "sys.h"

struct err;
struct cfg;
struct qfile_writer;
struct qreceive;

struct qreceive *qreceive_begin(const char *queue_dir, struct err *err) ATTR_WARN_UNUSED;
/* qreceive_id - the queue ID (QID_LEN characters). */
const char *qreceive_id(const struct qreceive *q);
/* qreceive_writer - the qfile writer for the envelope and the content. */
struct qfile_writer *qreceive_writer(struct qreceive *q);
/* qreceive_commit - finish, fsync, rename to active/, fsync the directory.
 * It may run on another thread than the one that began the message (smtpd's
 * commit threads, lib/workq), concurrently with other messages' begin and
 * commit, as long as the process uses a single queue_dir (the directory
 * descriptors are opened once and then only read); q belongs to that
 * thread until it hands it back. */
int qreceive_commit(struct qreceive *q, struct err *err) ATTR_WARN_UNUSED;
/* qreceive_abort - remove the incomplete file. */
void qreceive_abort(struct qreceive *q);
void qreceive_free(struct qreceive **qp);
/* qreceive_notify - QMGR_NOTIFY to private/qmgr with a short timeout;
 * failures are logged at debug level only (qmgr's scan finds the file). */
void qreceive_notify(struct cfg *cfg, const char *queue_id);
/* qreceive_notify_async - the same for event-driven daemons (smtpd,
 * pickup): queued on one persistent non-blocking connection in base, never
 * waited for, so the reply to the client is not delayed by qmgr. */
struct event_base;
void qreceive_notify_async(struct event_base *base, struct cfg *cfg, const char *queue_id);

#endif
