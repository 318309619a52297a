/*
 * smtp.h - private declarations of the smtp delivery agent: the agent
 * state (smtp.c), one delivery request (smtp_req.c: queue file, routing,
 * destination addresses, results), one SMTP session (smtp_session.c: the
 * client protocol, TLS, pipelining), outbound connects and the cache of
 * idle sessions (smtp_connect.c), and the pure reply parser
 * (smtp_reply.h).
 * See: docs/smtp.md, lib/proto.h ("deliver" protocol).
 */
#ifndef TERN_SMTP_H
#define TERN_SMTP_H

#include "sys.h"

#include <sys/socket.h>
#include <sys/time.h>

#include "buf.h"
#include "dns.h"
#include "qfile.h"
#include "qid.h"
#include "smtp/smtp_reply.h"
#include "tls_client.h"

struct cfg;
struct event_base;
struct ipc_conn;
struct loop_conn;
struct loop_timer;

/* Settings read once from main.cf (times in milliseconds). */
struct smtp_params {
	unsigned int port;	  /* smtp_tcp_port */
	unsigned int mx_limit;	  /* smtp_mx_address_limit (0: none) */
	unsigned int reuse_limit; /* smtp_connection_reuse_count_limit */
	unsigned int t_connect, t_helo, t_starttls, t_mail, t_rcpt;
	unsigned int t_data_init, t_data_xfer, t_data_done, t_quit, t_cache;
	enum tls_level tls_level;
	char *helo_name;
	char *myhostname;    /* a server greeting with it is this host: a loop */
	char *bind4, *bind6; /* "" for none */
};

struct smtp_sess;
struct smtp_req;
struct smtp_sasl;

struct smtp_agent {
	struct cfg *cfg;
	struct event_base *base;
	struct dns_ctx *dns;
	SSL_CTX *tls;
	struct smtp_params p;
	char *queue_dir;
	struct smtp_sess *cache; /* idle sessions, newest first */
	struct smtp_sasl *sasl;	 /* NULL unless smtp_sasl_auth_enable */
};

/* smtp_sasl_init - smtp_sasl_auth_enable: the password tables and the
 * security options into a->sasl (smtp_auth.c).  -1 with err on a bad
 * option or table. */
int smtp_sasl_init(struct smtp_agent *a, struct cfg *cfg, struct err *err) ATTR_WARN_UNUSED;

/* SMTP_PENDING - a recipient without a final result yet. */
#define SMTP_PENDING (-1)

struct smtp_rcpt {
	const struct qfile_rcpt *q; /* NULL: no recipient at that offset */
	off_t off;
	int result;    /* SMTP_PENDING or DELIVER_OK/DEFER/BOUNCE */
	bool accepted; /* RCPT TO got 2xx in this transaction */
	char dsn[12];
	struct buf text; /* the reason shown in the log and mailq */
	struct buf diag; /* "smtp;550 5.1.1 ..." or "" */
	char *relay;	 /* "host[addr]:port" or NULL (none) */
	char *mta;	 /* the remote host name or NULL */
};

struct smtp_req {
	struct smtp_agent *a;
	struct ipc_conn *ipc; /* NULL once qmgr went away */
	uint32_t reqid;
	char qid[QID_SIZE];
	int fd;
	struct qfile_env env;
	size_t wire_len;  /* the content as sent: CRLF, dot-stuffed, ".\r\n" */
	struct buf wire7; /* the 7-bit conversion in wire form, made on demand */
	bool has8bit, hdr8bit, needs_utf8;
	char *nexthop;
	struct buf host; /* the destination host or domain */
	unsigned int port;
	bool use_mx;
	struct smtp_rcpt *rcpts;
	size_t n;
	struct dns_query *dnsq, *tlsaq;
	struct dns_addr *addrs; /* our copy of the lookup result */
	size_t naddrs, next_addr, tried;
	bool plain_retry; /* redo the last address without TLS */
	struct smtp_sess *sess;
	struct timeval start, t_ready, t_done;
	/* why the latest attempt failed, for recipients left pending */
	int last_result;
	char last_dsn[12];
	struct buf last_text, last_diag;
	char *last_relay, *last_mta;
};

/* ---- smtp_req.c ---- */

/* smtp_req_start - take one DELIVER_REQUEST (validated by smtp.c): open
 * the queue file, route, look up and deliver; answers DELIVER_STATUS per
 * recipient and DELIVER_DONE on ipc when finished.  offs is copied. */
void smtp_req_start(struct smtp_agent *a, struct ipc_conn *ipc, uint32_t reqid, const char *qid,
		    const char *queue, const char *nexthop, const off_t *offs, size_t n);
/* smtp_req_ipc_gone - qmgr's connection closed: finish without reporting. */
void smtp_req_ipc_gone(struct ipc_conn *ipc);
/* smtp_rcpt_set - give recipient i its final result (ignored when it has
 * one); relay and mta come from the session (may be NULL). */
void smtp_rcpt_set(struct smtp_req *r, size_t i, int result, const char *dsn, const char *relay,
		   const char *mta, const char *diag, const char *fmt, ...) ATTR_PRINTF(8, 9);
/* smtp_req_fail_attempt - the current address failed before the
 * recipients got results: remember why (result DEFER or BOUNCE), then try
 * the next address, or give every pending recipient this result. */
void smtp_req_fail_attempt(struct smtp_req *r, int result, const char *dsn, const char *relay,
			   const char *mta, const char *diag, const char *text);
/* smtp_req_session_done - the session finished its transaction (or gave
 * up): pending recipients go to the next address, else the request ends. */
void smtp_req_session_done(struct smtp_req *r);
/* smtp_req_pending - recipients still without a result. */
size_t smtp_req_pending(const struct smtp_req *r);

/* ---- smtp_body.c ---- */

/* The state of the wire encoding between chunks. */
struct smtp_wire {
	bool mid_line; /* the last byte fed was not a LF */
};

/* smtp_wire_feed - append len bytes of content (LF lines, any chunking)
 * as SMTP DATA: CRLF line ends, a '.' at the start of a line doubled. */
void smtp_wire_feed(struct smtp_wire *w, const char *data, size_t len, struct buf *out);
/* smtp_wire_end - end the data: CRLF after an unfinished line, ".\r\n". */
void smtp_wire_end(struct smtp_wire *w, struct buf *out);
/* smtp_wire_encode - feed and end in one call (pure). */
void smtp_wire_encode(const char *data, size_t len, struct buf *out);

/* smtp_body_scan - one pass over the queue file's content: has8bit,
 * hdr8bit (a byte over 127 before the first empty line) and wire_len.
 * -1 with err on a read error. */
int smtp_body_scan(struct smtp_req *r, struct err *err) ATTR_WARN_UNUSED;
/* smtp_req_body_size - the bytes that DATA will carry, for SIZE= and the
 * server's limit: wire_len, or the length of the 7-bit conversion (made
 * here, once).  -1 with err when the conversion cannot read the file. */
int smtp_req_body_size(struct smtp_req *r, bool seven_bit, size_t *size_r,
		       struct err *err) ATTR_WARN_UNUSED;

struct smtp_body;
/* smtp_body_new - stream the content of r (or its 7-bit form) after the
 * 354 reply; NULL with err when the 7-bit form cannot be made. */
struct smtp_body *smtp_body_new(struct smtp_req *r, bool seven_bit, struct err *err);
/* smtp_body_fill - write onto conn until its output holds 256 KiB or the
 * content, with the final ".\r\n", is all written: 1 when it is, 0 when
 * more is to come (call again once the output has drained), -1 with err
 * on a read error. */
int smtp_body_fill(struct smtp_body *b, struct loop_conn *conn, struct err *err) ATTR_WARN_UNUSED;
/* smtp_body_free - NULL-safe, sets *bp NULL. */
void smtp_body_free(struct smtp_body **bp);

/* ---- smtp_session.c ---- */

/* The TLS policy of one connection. */
struct smtp_tls_policy {
	enum tls_level level; /* effective level for this peer */
	bool dane_mandatory;  /* secure TLSA records are loaded */
	struct dns_tlsa *tlsa;
	size_t ntlsa;
	bool no_tls; /* may: the retry after a failed handshake */
};

/* smtp_sess_connect - a new session to addr for r (r->sess is set); the
 * session calls back through smtp_req_* when it is done or fails. */
void smtp_sess_connect(struct smtp_req *r, const struct dns_addr *addr,
		       struct smtp_tls_policy *pol);
/* smtp_sess_reuse - give a cached session to r and start its transaction. */
void smtp_sess_reuse(struct smtp_sess *s, struct smtp_req *r);
/* smtp_sess_abort - close a session at once (shutdown). */
void smtp_sess_abort(struct smtp_sess **sp);

/* ---- smtp_connect.c ---- */

struct smtp_connect;
/* smtp_connect_cb - fd is a connected non-blocking socket, or -1 with
 * error (an errno value; ETIMEDOUT after the timeout). */
typedef void smtp_connect_cb(int fd, int error, void *arg);
/* smtp_connect_start - a non-blocking connect to sa from bind_addr (NULL
 * or "" for any) bounded by timeout_ms; the callback runs from the loop.
 * NULL with err when the socket cannot even be made or bound. */
struct smtp_connect *smtp_connect_start(struct event_base *base, const struct sockaddr *sa,
					socklen_t salen, const char *bind_addr,
					unsigned int timeout_ms, smtp_connect_cb *cb, void *arg,
					struct err *err);
/* smtp_connect_cancel - stop and close; NULL-safe, sets *cp NULL. */
void smtp_connect_cancel(struct smtp_connect **cp);

/* smtp_cache_key - the key idle sessions are filed under. */
void smtp_cache_key(const struct smtp_req *r, struct buf *out);
/* smtp_cache_take - an idle session for key (removed from the cache). */
struct smtp_sess *smtp_cache_take(struct smtp_agent *a, const char *key);
/* smtp_cache_put / smtp_cache_remove - file or unfile an idle session. */
void smtp_cache_put(struct smtp_agent *a, struct smtp_sess *s);
void smtp_cache_remove(struct smtp_agent *a, struct smtp_sess *s);
/* smtp_sess_key / smtp_sess_next - cache list access for smtp_connect.c. */
const char *smtp_sess_key(const struct smtp_sess *s);
struct smtp_sess **smtp_sess_nextp(struct smtp_sess *s);

#endif
