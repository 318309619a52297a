/*
 * postqueue.h - the queue listing and flush request shared by postqueue(1)
 * and sendmail -bp / -q (postqueue_show.c, postqueue_flush.c).
 */
#ifndef TERN_POSTQUEUE_H
#define TERN_POSTQUEUE_H

#include "sys.h"

#include <stdio.h>

struct cfg;
struct err;

/* postqueue_show - list every message in incoming/, active/, deferred/
 * and hold/ of cfg's queue on out: Postfix's mailq text (json false) or
 * one JSON object a line as postqueue -j.  Reads the queue directly, so
 * the caller must be root or the mail owner: -1 with err otherwise. */
int postqueue_show(struct cfg *cfg, bool json, FILE *out, struct err *err) ATTR_WARN_UNUSED;

/* postqueue_flush - ask qmgr (private/qmgr, QMGR_FLUSH) to retry deferred
 * mail now: all of it, or only mail for site, or only queue_id (either may
 * be NULL).  -1 with err when qmgr cannot be reached or refuses. */
int postqueue_flush(struct cfg *cfg, const char *site, const char *queue_id,
		    struct err *err) ATTR_WARN_UNUSED;

#endif
