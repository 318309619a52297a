/*
 * ipc.h - tern's one internal protocol: length-framed, versioned messages of
 * named, typed attributes, exchanged over UNIX sockets.
 *
 *     frame := u32 len | u16 version | u16 type | u32 reqid | attr*
 *     attr  := u8 name_len | name | u8 kind | u32 vlen | value
 *
 * Integers are in network byte order; len counts the bytes after itself.
 * Names are 1..32 bytes of [a-z0-9_]; kinds are STR (no NUL inside, handed
 * to readers NUL-terminated), U32 (vlen 4), U64 (vlen 8) and DATA (any
 * bytes).  A frame holds at most IPC_MAX_ATTRS attributes, no name twice,
 * and nothing after the last attribute.
 *
 * Three layers:
 *   - pure: the builder (ipc_msg_init, ipc_put_*, ipc_msg_finish) and the
 *     parser (ipc_parse, ipc_get); no I/O, used by the fuzz target;
 *   - async: struct ipc_conn, a non-blocking connection in a libevent loop
 *     with a callback per frame and optional descriptor passing;
 *   - blocking: ipc_connect_unix, ipc_call for admin commands and tests.
 * Every connection opens with IPC_HELLO{protocol, version} from both sides;
 * a protocol or version mismatch ends it with a clear error.
 * See: docs/ipc.md (format, limits, worked example, protocol list).
 */
#ifndef TERN_IPC_H
#define TERN_IPC_H

#include "sys.h"

#include "buf.h"
#include "err.h"

struct event_base;

/* IPC_MAX_FRAME - default largest frame (len field plus 4), per connection
 * settable up to IPC_MAX_FRAME_HARD. */
#define IPC_MAX_FRAME (64 * 1024)
#define IPC_MAX_FRAME_HARD (16 * 1024 * 1024)
/* IPC_MAX_ATTRS - most attributes in one frame. */
#define IPC_MAX_ATTRS 256
/* IPC_NAME_MAX - longest attribute name. */
#define IPC_NAME_MAX 32
/* IPC_HDR_LEN - bytes before the first attribute (len, version, type, reqid). */
#define IPC_HDR_LEN 12
/* IPC_FRAME_VERSION - the framing version every frame carries; a frame with
 * another version is rejected.  Protocol versions travel in HELLO. */
#define IPC_FRAME_VERSION 1

/* Attribute kinds on the wire. */
enum ipc_kind {
	IPC_KIND_STR = 1,
	IPC_KIND_U32 = 2,
	IPC_KIND_U64 = 3,
	IPC_KIND_DATA = 4,
};

/* Message types reserved by ipc; a protocol numbers its own types from
 * IPC_TYPE_FIRST in an enum declared by its users. */
enum {
	IPC_HELLO = 0,       /* protocol (STR), version (U32) */
	IPC_ERROR = 1,       /* reason (STR): the sender rejects a request */
	IPC_TYPE_FIRST = 16,
};

/* One attribute of a parsed message.  name and value point into the
 * message's own storage and are NUL-terminated (value[vlen] == 0). */
struct ipc_attr {
	const char *name;
	const unsigned char *value;
	uint32_t vlen;
	uint8_t kind;
	uint8_t name_len;
};

/* A message: being built (ipc_msg_init .. ipc_msg_finish) or parsed
 * (ipc_parse).  Embedded; release with ipc_msg_deinit. */
struct ipc_msg {
	uint16_t version;
	uint16_t type;
	uint32_t reqid;
	struct buf frame;          /* builder: the wire frame */
	struct buf store;          /* parser: names and values, NUL-terminated */
	struct ipc_attr *attrs;    /* parser: the attributes in frame order */
	size_t nattrs;
	size_t max_frame;          /* builder: ipc_msg_finish fails above it */
	bool finished;             /* builder: len is filled in */
	struct err err;            /* builder: first error (sticky); ipc_get */
};

/* ipc_msg_init - start building a frame of this type and request id;
 * the size limit is IPC_MAX_FRAME (ipc_msg_set_max changes it). */
void ipc_msg_init(struct ipc_msg *msg, uint16_t type, uint32_t reqid);
/* ipc_msg_set_max - frame size limit for ipc_msg_finish. */
void ipc_msg_set_max(struct ipc_msg *msg, size_t max_frame);
/* ipc_msg_deinit - release a built or parsed message (it may be
 * ipc_msg_init'ed again). */
void ipc_msg_deinit(struct ipc_msg *msg);

/* ipc_put_str/u32/u64/data - append one attribute.  A bad name, a NUL in a
 * string, a duplicate name or too many attributes make the message bad:
 * the error is kept and reported by ipc_msg_finish (so a sequence of puts
 * is checked once). */
void ipc_put_str(struct ipc_msg *msg, const char *name, const char *value);
void ipc_put_strn(struct ipc_msg *msg, const char *name, const char *value, size_t len);
void ipc_put_u32(struct ipc_msg *msg, const char *name, uint32_t value);
void ipc_put_u64(struct ipc_msg *msg, const char *name, uint64_t value);
void ipc_put_data(struct ipc_msg *msg, const char *name, const void *data, size_t len);

/* ipc_msg_finish - fill in the length; -1 with err if any put failed or the
 * frame is over the limit.  The frame is then msg->frame.data/len. */
int ipc_msg_finish(struct ipc_msg *msg, struct err *err) ATTR_WARN_UNUSED;

/* ipc_frame_size - from the first bytes of a stream: 1 and the whole
 * frame's size in *size_r when at least 4 bytes are there, 0 when fewer;
 * -1 with err when the length is under the minimum or the frame would be
 * larger than max_frame. */
int ipc_frame_size(const void *data, size_t avail, size_t max_frame, size_t *size_r,
		   struct err *err) ATTR_WARN_UNUSED;

/* ipc_parse - check one whole frame (len field included) and fill msg_r,
 * which owns a copy of everything afterwards (the input may go away).
 * -1 with err on any malformation: truncated, leftover bytes, bad version,
 * over max_frame, bad name, bad kind, wrong fixed size, NUL in a string,
 * duplicate name, too many attributes.  msg_r needs ipc_msg_deinit either
 * way. */
int ipc_parse(const void *frame, size_t len, size_t max_frame, struct ipc_msg *msg_r,
	      struct err *err) ATTR_WARN_UNUSED;

/* ipc_find - the attribute called name, or NULL. */
const struct ipc_attr *ipc_find(const struct ipc_msg *msg, const char *name);

/* Requests for ipc_get: each names an attribute and where its value goes;
 * the types are checked by the compiler.  IPC_END closes the list. */
struct ipc_want_data {
	const void **data;
	size_t *len;
};
static inline const char **ipc_want_str_(const char **p) { return p; }
static inline uint32_t *ipc_want_u32_(uint32_t *p) { return p; }
static inline uint64_t *ipc_want_u64_(uint64_t *p) { return p; }
static inline const void **ipc_want_data_(const void **p) { return p; }
static inline size_t *ipc_want_len_(size_t *p) { return p; }
#define IPC_STR(name, p) IPC_KIND_STR, (const char *)(name), ipc_want_str_(p)
#define IPC_U32(name, p) IPC_KIND_U32, (const char *)(name), ipc_want_u32_(p)
#define IPC_U64(name, p) IPC_KIND_U64, (const char *)(name), ipc_want_u64_(p)
#define IPC_DATA(name, p, lenp) \
	IPC_KIND_DATA, (const char *)(name), ipc_want_data_(p), ipc_want_len_(lenp)
#define IPC_END 0

/* ipc_get flags */
#define IPC_STRICT 0x1   /* an attribute not asked for is an error */

/* ipc_get - look up each requested attribute and store its value (string
 * pointers stay valid until ipc_msg_deinit); returns how many were found,
 * so `!= N` means a required one is missing.  -1 (reason in msg->err.msg)
 * when a named attribute has another kind, or with IPC_STRICT when the
 * message has an attribute that was not asked for.  Unfound outputs are
 * left untouched, so callers preset optional ones. */
int ipc_get(struct ipc_msg *msg, int flags, ...);

/*
 * Protocols.  Each daemon pair declares one (docs/ipc.md has the list):
 *     static const uint16_t qmgr_fd_types[] = { QMGR_DELIVER_FD };
 *     const struct ipc_proto qmgr_proto = { "qmgr", 1, qmgr_fd_types, 1 };
 */
struct ipc_proto {
	const char *name;          /* [a-z0-9_-]+, sent in HELLO */
	uint32_t version;          /* bumped on an incompatible change */
	const uint16_t *fd_types;  /* message types that carry a descriptor */
	size_t n_fd_types;
};

/* ipc_proto_has_fd - true if frames of this type carry a descriptor. */
bool ipc_proto_has_fd(const struct ipc_proto *proto, uint16_t type);

/* ipc_hello_build - the HELLO frame for proto (finished). */
void ipc_hello_build(const struct ipc_proto *proto, struct ipc_msg *msg_r);
/* ipc_hello_check - 0 if msg is a HELLO for exactly proto's name and
 * version; -1 with "protocol mismatch: ..." in err otherwise. */
int ipc_hello_check(const struct ipc_proto *proto, struct ipc_msg *msg, struct err *err)
	ATTR_WARN_UNUSED;

/*
 * Async connections.  ipc_conn owns fd (a connected, stream UNIX socket),
 * reads with recvmsg so passed descriptors are never lost, and writes from
 * its own queue (a bufferevent cannot carry SCM_RIGHTS; see docs/ipc.md).
 * ipc_conn_new sends HELLO at once; frames reach on_msg only after the
 * peer's HELLO matched.  A bad frame, a failed HELLO, EOF, an I/O error or
 * the idle timeout log a warning naming the peer (EOF only at debug level)
 * and end the connection: on_close runs once, then the library frees the
 * conn.  Nothing a peer sends aborts the process.
 */
struct ipc_conn;

/* on_msg - one complete frame; msg is valid during the call only.  fd is
 * a descriptor received with a frame whose type the protocol declares as
 * carrying one (the callee owns it and must close it), else -1. */
typedef void ipc_msg_cb(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg);
/* on_close - the connection ended (why: "EOF", "timeout", "write
 * timeout", the error). */
typedef void ipc_close_cb(struct ipc_conn *conn, const char *why, void *arg);

/* ipc_conn_new - wrap fd (made non-blocking, owned from now on); peer is
 * the name used in log lines ("qmgr", "unix:private/local"). */
struct ipc_conn *ipc_conn_new(struct event_base *base, int fd, const struct ipc_proto *proto,
			      const char *peer, ipc_msg_cb *on_msg, ipc_close_cb *on_close,
			      void *arg);
/* ipc_conn_free - close now (queued output is dropped, on_close is not
 * called); accepts NULL, sets *connp NULL; safe inside the callbacks. */
void ipc_conn_free(struct ipc_conn **connp);
/* ipc_conn_set_max_frame - largest frame accepted and sent (default
 * IPC_MAX_FRAME, capped at IPC_MAX_FRAME_HARD). */
void ipc_conn_set_max_frame(struct ipc_conn *conn, size_t max_frame);
/* ipc_conn_set_timeout - end the connection ("timeout") after this many
 * milliseconds without a complete incoming frame, or with output queued
 * and no write progress; 0 turns it off. */
void ipc_conn_set_timeout(struct ipc_conn *conn, unsigned int msec);
/* ipc_conn_peer - the peer name given to ipc_conn_new. */
const char *ipc_conn_peer(const struct ipc_conn *conn);
/* ipc_conn_ready - true once the peer's HELLO matched. */
bool ipc_conn_ready(const struct ipc_conn *conn);
/* ipc_conn_pending - bytes queued for the peer and not yet written. */
size_t ipc_conn_pending(const struct ipc_conn *conn);

/* ipc_send - queue a finished message (it may be deinit'ed afterwards);
 * -1 with err if it is not finished, over the connection's limit, of a
 * type that needs a descriptor, or the connection is closing. */
int ipc_send(struct ipc_conn *conn, const struct ipc_msg *msg, struct err *err)
	ATTR_WARN_UNUSED;
/* ipc_send_fd - queue a message of a descriptor-carrying type with fd
 * attached (SCM_RIGHTS on its first byte).  fd is duplicated: the caller
 * keeps and closes its own. */
int ipc_send_fd(struct ipc_conn *conn, const struct ipc_msg *msg, int fd, struct err *err)
	ATTR_WARN_UNUSED;
/* ipc_reject - the peer sent something unacceptable: log a warning naming
 * the peer and reason, send IPC_ERROR{reason}, and close once it is
 * written (on_close then runs with reason).  Returns -1 for tail calls. */
int ipc_reject(struct ipc_conn *conn, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* ipc_conn_close_after_write - stop reading and close once the queue is
 * written; on_close runs with why. */
void ipc_conn_close_after_write(struct ipc_conn *conn, const char *why);

/*
 * Blocking client.  timeout_msec bounds each whole call (poll-based);
 * a timeout fails with "timed out" in err and err->code ETIMEDOUT.
 */

/* ipc_connect_unix - connect to the socket at path and exchange HELLO for
 * proto; returns the (non-blocking) descriptor or -1 with err. */
int ipc_connect_unix(const char *path, const struct ipc_proto *proto, int timeout_msec,
		     struct err *err) ATTR_WARN_UNUSED;
/* ipc_hello - exchange HELLO on an already connected fd. */
int ipc_hello(int fd, const struct ipc_proto *proto, int timeout_msec, struct err *err)
	ATTR_WARN_UNUSED;
/* ipc_write_msg - write one finished message. */
int ipc_write_msg(int fd, const struct ipc_msg *msg, int timeout_msec, struct err *err)
	ATTR_WARN_UNUSED;
/* ipc_read_msg - read and parse one frame into msg_r (ipc_msg_deinit it
 * either way); EOF before a whole frame is an error. */
int ipc_read_msg(int fd, struct ipc_msg *msg_r, size_t max_frame, int timeout_msec,
		 struct err *err) ATTR_WARN_UNUSED;
/* ipc_call - write req and read its reply into reply_r (ipc_msg_deinit it
 * either way); the reply must carry req's reqid.  An IPC_ERROR reply
 * returns -1 with its reason in err. */
int ipc_call(int fd, const struct ipc_msg *req, struct ipc_msg *reply_r, int timeout_msec,
	     struct err *err) ATTR_WARN_UNUSED;

#endif
