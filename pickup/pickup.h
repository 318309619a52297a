/*
 * pickup.h - pickup's private interface: one message submitted by a local
 * user (pickup_msg.c), driven by the connection code in pickup.c.
 *
 *   m = pickup_msg_new(cfg, uid, login)
 *   pickup_msg_begin(m, begin_msg, err)     sender, recipients, flags
 *   pickup_msg_rcpts(m, data, len, err)     more recipients (optional)
 *   pickup_msg_chunk(m, data, len, err)     content, any number of times
 *   pickup_msg_end(m, err)                  headers fixed, committed
 *   pickup_msg_id(m)                        the queue ID (after begin)
 *   pickup_msg_free(&m)                     an uncommitted file is removed
 * Every error leaves the message unusable: the caller refuses the client
 * with err->msg and frees it.
 */
#ifndef TERN_PICKUP_H
#define TERN_PICKUP_H

#include "sys.h"

struct cfg;
struct err;
struct ipc_msg;
struct pickup_msg;

/* pickup_msg_new - a message from uid (whose login name is login). */
struct pickup_msg *pickup_msg_new(struct cfg *cfg, uid_t uid, const char *login);
/* pickup_msg_begin - take PICKUP_BEGIN's attributes, create the queue file
 * and write the envelope so far.  -1 with err: a bad attribute or the
 * queue could not be written. */
int pickup_msg_begin(struct pickup_msg *m, struct ipc_msg *msg, struct err *err) ATTR_WARN_UNUSED;
/* pickup_msg_rcpts - more NUL-separated recipients (before any content). */
int pickup_msg_rcpts(struct pickup_msg *m, const void *data, size_t len,
		     struct err *err) ATTR_WARN_UNUSED;
/* pickup_msg_chunk - len content bytes. */
int pickup_msg_chunk(struct pickup_msg *m, const void *data, size_t len,
		     struct err *err) ATTR_WARN_UNUSED;
/* pickup_msg_end - finish the content (missing headers added), commit the
 * queue file (fsync, rename to active/) and log it.  0 means the message
 * is safe in the queue. */
int pickup_msg_end(struct pickup_msg *m, struct err *err) ATTR_WARN_UNUSED;
/* pickup_msg_id - the queue ID. */
const char *pickup_msg_id(const struct pickup_msg *m);
/* pickup_msg_free - accepts NULL, sets *mp NULL. */
void pickup_msg_free(struct pickup_msg **mp);

#endif
