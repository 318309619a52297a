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
 * one per recipient, then DELIVER_DONE with the request's reqid and the
 * optional attributes
 *                 site_status U32 (DELIVER_SITE_OK/FAILED), site_dsn STR
 *                 ("4.4.1"), site_reason STR (the agent's text)
 * site_status DELIVER_SITE_FAILED says the whole destination failed, not
 * one recipient or message: no MX host or address could be reached, every
 * connection failed or was turned away (4xx/421 greeting, 421), DNS
 * SERVFAIL or timeout.  qmgr then suspends the transport/destination for
 * minimal_backoff_time ("delivery temporarily suspended: REASON").  Absent
 * (agents that do not know it, such as local): DELIVER_SITE_OK.
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
enum deliver_site {
	DELIVER_SITE_OK = 0,
	DELIVER_SITE_FAILED = 1,
};
#define DELIVER_MAX_RCPTS 1000
extern const struct ipc_proto proto_deliver;

/*
 * "pickup" on $queue_directory/public/pickup - sendmail(1) -> pickup.
 * The socket is reachable by local users: pickup trusts only the peer's
 * uid (SO_PEERCRED); every attribute is untrusted input.  Per message:
 *
 * PICKUP_BEGIN  [sender STR] (absent: the uid's login @ $myorigin; "" is
 *               the null sender), rcpts DATA (addresses separated by NUL,
 *               at most PICKUP_RCPT_DATA_MAX bytes), [flags U32]
 *               (PICKUP_F_*), [notify U32] (QFILE_NOTIFY_* for every
 *               recipient), [envid STR], [fullname STR] (for a From:
 *               header pickup adds)
 * PICKUP_RCPTS  rcpts DATA: more recipients, before the first CHUNK
 * PICKUP_CHUNK  data DATA: 1..PICKUP_CHUNK_MAX content bytes (LF or CRLF
 *               lines); the total is capped by $message_size_limit
 * PICKUP_END    (none) -> PICKUP_OK queue_id STR, sent only after the queue
 *               file is committed (qreceive_commit); or IPC_ERROR reason.
 * Any protocol error or refusal is IPC_ERROR{reason} and the connection
 * ends; after PICKUP_OK the client may send the next PICKUP_BEGIN.
 */
enum pickup_type {
	PICKUP_BEGIN = IPC_TYPE_FIRST,
	PICKUP_RCPTS,
	PICKUP_CHUNK,
	PICKUP_END,
	PICKUP_OK,
};
/* PICKUP_F_* - BEGIN flags (the matching QFILE_F_* bits of the queue file). */
#define PICKUP_F_8BITMIME 0x01u
#define PICKUP_F_SMTPUTF8 0x04u
#define PICKUP_F_RET_FULL 0x08u
#define PICKUP_F_RET_HDRS 0x10u
#define PICKUP_F_ALL 0x1du
/* PICKUP_CHUNK_MAX - most content bytes in one CHUNK. */
#define PICKUP_CHUNK_MAX (60 * 1024)
/* PICKUP_RCPT_DATA_MAX - most bytes of recipients in one BEGIN or RCPTS. */
#define PICKUP_RCPT_DATA_MAX (60 * 1024)
extern const struct ipc_proto proto_pickup;

/*
 * "auth" on $queue_directory/private/auth - smtpd, pop3d, imapd -> auth,
 * the only process that reads virtual_user_maps' hashes (docs/auth.md).
 * Requests may be pipelined; every reply carries its request's reqid and
 * may come late (failed attempts are answered after a delay).
 *
 * AUTH_PASS        service STR ("smtpd", "pop3d", "imapd"), user STR,
 *                  password DATA (1..AUTH_SECRET_MAX bytes), client STR
 *                  (the client's IP address, for brute-force accounting)
 *    -> AUTH_OK    user STR (the canonical user: lower case, @domain),
 *                  token STR (a one-time login token: 32 hex digits, bound
 *                  to the user and the service, valid for
 *                  auth_token_lifetime, for AUTH_TOKEN)
 *    -> AUTH_FAIL  temporary U32 (1: try later, e.g. blocked or table
 *                  down; 0: bad credentials), reason STR (for the log)
 * AUTH_SASL_START  session U32 (chosen by the client, unique on its
 *                  connection), service STR, mech STR ("PLAIN", "LOGIN",
 *                  "SCRAM-SHA-256"), client STR, [response STR] (the
 *                  initial response in base64 as sent, "=" for an empty
 *                  one; absent: none)
 * AUTH_SASL_CONTINUE session U32, response STR (base64 line as sent;
 *                  "*" cancels)
 *    -> AUTH_CHALLENGE session U32, challenge STR (base64, may be "")
 *    -> AUTH_OK / AUTH_FAIL as above (the session is then over)
 * AUTH_SASL_END    session U32: forget it (client went away); no reply
 * AUTH_USER        user STR: does the user exist (no hash is read out)
 *    -> AUTH_USER_FOUND found U32 (1/0), user STR (canonical)
 *    -> AUTH_FAIL temporary 1 when the table cannot be read
 * AUTH_TOKEN       service STR, user STR (canonical), token STR: redeem the
 *                  token an AUTH_OK gave (once; pop3d's mail process does
 *                  it before it opens the user's mailbox)
 *    -> AUTH_OK    user STR
 *    -> AUTH_FAIL  temporary 0, reason STR (unknown, used, expired, or
 *                  another user's or service's token)
 * A malformed request is IPC_ERROR and the connection ends.
 */
enum auth_type {
	AUTH_PASS = IPC_TYPE_FIRST,
	AUTH_SASL_START,
	AUTH_SASL_CONTINUE,
	AUTH_SASL_END,
	AUTH_USER,
	AUTH_OK,
	AUTH_FAIL,
	AUTH_CHALLENGE,
	AUTH_USER_FOUND,
	AUTH_TOKEN,
};
/* AUTH_SECRET_MAX - longest password or SASL response accepted, bytes. */
#define AUTH_SECRET_MAX 4096
/* AUTH_MECHS - the SASL mechanisms the auth service offers, as an EHLO
 * AUTH line or an IMAP capability lists them. */
#define AUTH_MECHS "PLAIN LOGIN SCRAM-SHA-256"
extern const struct ipc_proto proto_auth;

/* proto_offsets_put - the DELIVER_REQUEST "offsets" attribute: n (1..
 * DELIVER_MAX_RCPTS) recipient status offsets as big-endian u64 values. */
void proto_offsets_put(struct ipc_msg *msg, const off_t *offs, size_t n);
/* proto_offsets_get - decode that attribute into a heap array (free it);
 * -1 when it is empty, not a multiple of 8 bytes, has more than
 * DELIVER_MAX_RCPTS values, or a value past INT64_MAX. */
int proto_offsets_get(const void *data, size_t len, off_t **offs_r, size_t *n_r)
	ATTR_WARN_UNUSED;

/* proto_socket_path - $queue_directory/private/NAME (or public/) into buf. */
struct buf;
struct cfg;
void proto_socket_path(struct cfg *cfg, const char *name, bool public_, struct buf *path_r);

/*
 * "showq" on $queue_directory/public/showq - postqueue, mailq and sendmail
 * -bp/-q (any local user) -> showq.  The socket is world-reachable: showq
 * believes only the peer's uid (SO_PEERCRED) and checks it against
 * authorized_mailq_users (LIST) or authorized_flush_users (FLUSH); root
 * and the mail owner are always allowed.  One request per connection:
 *
 * SHOWQ_LIST    format U32 (SHOWQ_FORMAT_TEXT: mailq; SHOWQ_FORMAT_JSON:
 *               postqueue -j)
 *    -> SHOWQ_DATA text DATA (1..SHOWQ_DATA_MAX bytes of the listing, to be
 *               written out as they are; cut anywhere), zero or more
 *    -> SHOWQ_END  (none): the listing is complete
 * SHOWQ_FLUSH   [site STR] (a destination domain) [queue_id STR] (at most
 *               one of the two; neither: all deferred mail)
 *    -> SHOWQ_FLUSH_OK count U32 (messages qmgr scheduled)
 * Either request -> SHOWQ_DENIED reason STR ("User NAME(UID) is not
 *               allowed to list the mail queue") when the caller is not
 *               authorized.
 * A malformed request, or a failure (queue unreadable, qmgr down), is
 * IPC_ERROR{reason}; the connection ends after every answer.
 */
enum showq_type {
	SHOWQ_LIST = IPC_TYPE_FIRST,
	SHOWQ_DATA,
	SHOWQ_END,
	SHOWQ_FLUSH,
	SHOWQ_FLUSH_OK,
	SHOWQ_DENIED,
};
enum showq_format {
	SHOWQ_FORMAT_TEXT = 0,
	SHOWQ_FORMAT_JSON = 1,
};
/* SHOWQ_DATA_MAX - most listing bytes in one SHOWQ_DATA. */
#define SHOWQ_DATA_MAX (60 * 1024)
extern const struct ipc_proto proto_showq;

#endif
