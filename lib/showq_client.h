/*
 * showq_client.h - the client end of the "showq" protocol (lib/proto.h)
 * for postqueue, mailq and sendmail -bp/-q: connect to public/showq and
 * read its replies, turning SHOWQ_DENIED and IPC_ERROR into errors.
 * See: lib/proto.h "showq", docs/ipc.md, admin/postqueue.h.
 */
#ifndef TERN_SHOWQ_CLIENT_H
#define TERN_SHOWQ_CLIENT_H

#include "sys.h"

#include <errno.h>

struct cfg;
struct err;
struct ipc_msg;

/* err->code when showq refused the caller (SHOWQ_DENIED). */
#define SHOWQ_CLIENT_E_DENIED EPERM

/* showq_client_connect - connect to $queue_directory/public/showq and
 * exchange HELLO; the descriptor (blocking calls of lib/ipc), or -1 with
 * err when showq cannot be reached (err->code the errno when known). */
int showq_client_connect(struct cfg *cfg, struct err *err) ATTR_WARN_UNUSED;

/* showq_client_timeout - milliseconds one read or write may take:
 * $showq_timeout, at most a day. */
int showq_client_timeout(struct cfg *cfg);

/* showq_client_read - read showq's next reply to request reqid into
 * reply_r (ipc_msg_deinit it either way).  -1 with err for IPC_ERROR (its
 * reason as is), SHOWQ_DENIED (its reason, code SHOWQ_CLIENT_E_DENIED), a
 * reply to another request, or an I/O failure. */
int showq_client_read(int fd, uint32_t reqid, int timeout_ms, struct ipc_msg *reply_r,
		      struct err *err) ATTR_WARN_UNUSED;

#endif
