/*
 * qflush.h - the flush request to the queue manager (retry deferred mail
 * now: all of it, one destination, or one queue ID), shared by showq,
 * which relays FLUSH for any authorized user, and postqueue/sendmail -q,
 * which call qmgr directly when showq cannot be reached.
 * See: lib/proto.h "qmgr" (QMGR_FLUSH), docs/commands.md "postqueue".
 */
#ifndef TERN_QFLUSH_H
#define TERN_QFLUSH_H

#include "sys.h"

struct cfg;
struct err;

/* QFLUSH_SITE_MAX - longest site name accepted. */
#define QFLUSH_SITE_MAX 255

/* qflush_site_ok - true when site is 1..QFLUSH_SITE_MAX bytes of letters,
 * digits and ".-[]:" (a domain, or an [address] literal). */
bool qflush_site_ok(const char *site);

/* qflush_qmgr - send QMGR_FLUSH (with site or queue_id when not NULL) on
 * $queue_directory/private/qmgr and wait for QMGR_FLUSH_OK; the count of
 * messages qmgr scheduled goes to *count_r when count_r is not NULL.  -1
 * with "cannot flush the mail queue - mail system is down (REASON)" when
 * qmgr cannot be reached (err->code is the connect errno), or "cannot
 * flush the mail queue: REASON" when it fails or refuses. */
int qflush_qmgr(struct cfg *cfg, const char *site, const char *queue_id, uint32_t *count_r,
		struct err *err) ATTR_WARN_UNUSED;

#endif
