/*
 * postqueue.h - the queue listing and flush request shared by postqueue(1)
 * and sendmail -bp / -q (postqueue_show.c, postqueue_flush.c).
 *
 * Both go through showq on $queue_directory/public/showq first, so any
 * local user authorized by authorized_mailq_users / authorized_flush_users
 * may use them.  When showq cannot be reached (master stopped) they fall
 * back to today's direct access: reading the queue, or private/qmgr, which
 * only root and the mail owner can.
 */
#ifndef TERN_POSTQUEUE_H
#define TERN_POSTQUEUE_H

#include "sys.h"

#include <errno.h>
#include <stdio.h>

#include "showq_client.h"

struct cfg;
struct err;

/* err->code after a failure: showq refused the caller (exit EX_NOPERM). */
#define POSTQUEUE_E_DENIED SHOWQ_CLIENT_E_DENIED
/* err->code after a failure: neither showq nor the queue is reachable
 * (exit EX_UNAVAILABLE). */
#define POSTQUEUE_E_DOWN EHOSTDOWN

/* postqueue_show - list every message in incoming/, active/, deferred/
 * and hold/ of cfg's queue on out: Postfix's mailq text (json false) or
 * one JSON object a line as postqueue -j (lib/qlist.h has the format).
 * Asks showq; when it cannot be reached, reads the queue directly with a
 * warning on stderr.  -1 with err: code POSTQUEUE_E_DENIED ("User
 * NAME(UID) is not allowed to list the mail queue"), POSTQUEUE_E_DOWN, or
 * another failure (queue unreadable, showq failed). */
int postqueue_show(struct cfg *cfg, bool json, FILE *out, struct err *err) ATTR_WARN_UNUSED;

/* postqueue_flush - ask qmgr to retry deferred mail now: all of it, or
 * only mail for site, or only queue_id (either may be NULL), through
 * showq, or on private/qmgr directly when showq cannot be reached.  -1
 * with err (code POSTQUEUE_E_DENIED when showq refused the caller). */
int postqueue_flush(struct cfg *cfg, const char *site, const char *queue_id,
		    struct err *err) ATTR_WARN_UNUSED;

#endif
