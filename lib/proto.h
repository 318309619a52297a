/*
 * proto.h - the internal protocols between tern daemons, declared once so
 * both ends agree.  Each is one lib/ipc protocol (HELLO name + version);
 * attributes are listed beside each message type.  docs/ipc.md has the
 * table of sockets, clients and servers.
 */
#ifndef TERN_PROTO_H
#define TERN_PROTO_H

#include "sys.h"

#include "ipc.h"

/*
 * "qmgr" on $queue_directory/private/qmgr - smtpd, pickup, local, bounce
 * and the admin commands -> qmgr.
 */
enum qmgr_type {
	QMGR_NOTIFY = IPC_TYPE_FIRST, /* queue_id STR: a new file is in active/ */
	QMGR_NOTIFY_OK,               /* (none) */
	QMGR_FLUSH,                   /* [site STR] [queue_id STR]: retry deferred mail
	                               * now (all, one destination domain, or one ID) */
	QMGR_FLUSH_OK,                /* count U32: messages scheduled */
};
extern const struct ipc_proto proto_qmgr;

/*
 * "deliver" on $queue_directory/private/TRANSPORT (local, smtp, ...) -
 * qmgr -> delivery agents.  One request per connection at a time; a
 * connection may carry many requests in turn (qmgr reuses it).
 *
 * DELIVER_REQUEST  queue_id STR, queue STR ("active"), nexthop STR (may be
 *                  empty), offsets DATA (the recipients to deliver: their
 *                  qfile status_offset values as big-endian u64, 1..1000)
 * The agent opens $queue_directory/QUEUE/QUEUE_ID itself, reads the
 * envelope and content, and for each recipient in offsets:
 *   delivered -> qfile_mark_rcpt DONE (after the mailbox is fsynced)
 *   bounced   -> defer_log_append to bounce/ID, then mark DONE
 *   deferred  -> defer_log_append to defer/ID (status stays PENDING)
 * logs the Postfix-style line (QID: to=<...>, relay=..., delay=...,
 * dsn=X.Y.Z, status=sent|deferred|bounced (text)) and sends
 * DELIVER_STATUS  offset U64, result U32 (DELIVER_OK/DEFER/BOUNCE),
 *                 dsn STR ("2.0.0"), reason STR
 * one per recipient, then DELIVER_DONE (none) with the request's reqid.
 * A queue file that cannot be read: every recipient DEFER with the reason.
 */
enum deliver_type {
	DELIVER_REQUEST = IPC_TYPE_FIRST,
	DELIVER_STATUS,
	DELIVER_DONE,
};
enum deliver_result {
	DELIVER_OK = 0,
	DELIVER_DEFER = 1,
	DELIVER_BOUNCE = 2,
};
#define DELIVER_MAX_RCPTS 1000
extern const struct ipc_proto proto_deliver;

/* proto_socket_path - $queue_directory/private/NAME (or public/) into buf. */
struct buf;
struct cfg;
void proto_socket_path(struct cfg *cfg, const char *name, bool public_, struct buf *path_r);

#endif
