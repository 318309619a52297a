/*
 * loop.h - the thin layer over libevent every network daemon runs on
 * (after OpenSMTPD's ioev): a connection over a bufferevent with optional
 * TLS, line reading with a hard line-length cap, raw input for binary data
 * (BDAT, IMAP literals), input fed from elsewhere, write and
 * write-then-close, a drain callback for paced writers, per-state
 * timeouts, STARTTLS in place; plus timers, signals, a cross-thread
 * notification and peer-address formatting.
 *
 * Callbacks may call any loop_conn function on their own connection,
 * including loop_conn_free; a freed connection gets no further callbacks.
 * Writes go through libevent's send(2) without MSG_NOSIGNAL: the process
 * must ignore SIGPIPE (server_main does).
 * See: docs/architecture.md, lib/ipc.h for internal connections.
 */
#ifndef TERN_LOOP_H
#define TERN_LOOP_H

#include "sys.h"

#include <stdarg.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct buf;
struct err;
struct event_base;
struct evbuffer;

/* LOOP_LINE_MAX_DEFAULT - line cap of a new connection (SMTP's 512 with
 * headroom for extensions; daemons set their own with loop_conn_set_max_line). */
#define LOOP_LINE_MAX_DEFAULT 2048

/* Line flags handed to on_line. */
#define LOOP_LINE_TOO_LONG                                                                         \
	0x1		      /* longer than max_line: line holds its first                        \
			       * max_line bytes, the rest was discarded */
#define LOOP_LINE_BARE_LF 0x2 /* ended in LF without CR */

/* Why a connection ended. */
enum loop_close {
	LOOP_CLOSE_EOF,	    /* the peer closed (after buffered lines were read) */
	LOOP_CLOSE_ERROR,   /* a socket error */
	LOOP_CLOSE_TIMEOUT, /* no input (or no write progress) for the timeout */
	LOOP_CLOSE_TLS,	    /* TLS handshake or record error */
	LOOP_CLOSE_DONE,    /* loop_conn_close_after_write finished */
};

struct loop_conn;

struct loop_conn_cb {
	/* on_line - one line in line mode, without its CRLF or LF; line is
	 * NUL-terminated but may hold NULs (len counts them); flags are
	 * LOOP_LINE_*.  Valid during the call only. */
	void (*on_line)(struct loop_conn *conn, const char *line, size_t len, int flags, void *arg);
	/* on_data - raw mode: input is waiting in in; take what is needed with
	 * evbuffer_remove/evbuffer_drain.  Called again when more arrives;
	 * leaving it all there waits for more. */
	void (*on_data)(struct loop_conn *conn, struct evbuffer *in, void *arg);
	/* on_tls - the TLS handshake finished (may be NULL). */
	void (*on_tls)(struct loop_conn *conn, void *arg);
	/* on_close - the connection ended; detail says more (errno text, the
	 * OpenSSL error).  The library frees conn after it returns. */
	void (*on_close)(struct loop_conn *conn, enum loop_close why, const char *detail,
			 void *arg);
};

/* loop_conn_new - take over fd (a connected socket; made non-blocking,
 * closed on free).  tls_ctx non-NULL starts a server-side TLS handshake at
 * once (implicit TLS: ports 465, 993, 995).  Starts in line mode with
 * LOOP_LINE_MAX_DEFAULT and no timeout. */
struct loop_conn *loop_conn_new(struct event_base *base, int fd, SSL_CTX *tls_ctx,
				const struct loop_conn_cb *cb, void *arg);
/* loop_conn_free - close now, dropping unwritten output, without on_close;
 * accepts NULL and sets *connp NULL. */
void loop_conn_free(struct loop_conn **connp);

/* loop_conn_set_max_line - the line cap in bytes, line ending excluded.
 * Longer lines arrive with LOOP_LINE_TOO_LONG; at most max_line + 1 bytes
 * of a line are ever buffered. */
void loop_conn_set_max_line(struct loop_conn *conn, size_t max_line);
/* loop_conn_set_timeout - close with LOOP_CLOSE_TIMEOUT after msec without
 * input while reading (or without progress writing); 0 = none.  Takes
 * effect at once, so each protocol state can set its own. */
void loop_conn_set_timeout(struct loop_conn *conn, unsigned int msec);
/* loop_conn_set_raw - raw mode (on_data) or line mode (on_line).  Input
 * already buffered is handed over in the new mode. */
void loop_conn_set_raw(struct loop_conn *conn, bool raw);
/* loop_conn_input - the raw input buffer (bytes read, not yet consumed). */
struct evbuffer *loop_conn_input(struct loop_conn *conn);
/* loop_conn_pause - stop (true) or resume (false) delivering input, e.g.
 * while waiting for qmgr; on resume, input buffered meanwhile is delivered
 * from the loop.  A paused connection has no read timeout. */
void loop_conn_pause(struct loop_conn *conn, bool pause);

/* loop_conn_feed - put len bytes in front of the buffered input, as if
 * they had been read before anything else (bytes another process read
 * ahead: pop3d's hand-over of pipelined commands); they are delivered from
 * the loop in the current mode.  Calls stack: the last fed comes first. */
void loop_conn_feed(struct loop_conn *conn, const void *data, size_t len);

/* loop_drain_cb - the output queue of conn shrank to the low mark. */
typedef void loop_drain_cb(struct loop_conn *conn, void *arg);
/* loop_conn_set_drain - from now on, each time the queue of unwritten
 * output has grown past low bytes and then shrunk to low or less, call
 * on_drain(conn, arg) from the loop: the moment to write more (stream a
 * file) or resume a source paused for this reader (a relay).  Writers
 * pace themselves by loop_conn_pending: write while it is under a high
 * mark, then wait for on_drain.  NULL turns it off.  Not called once the
 * connection is closing. */
void loop_conn_set_drain(struct loop_conn *conn, size_t low, loop_drain_cb *on_drain, void *arg);

/* loop_conn_write - queue bytes for the peer (dropped once closing). */
void loop_conn_write(struct loop_conn *conn, const void *data, size_t len);
/* loop_conn_printf - queue formatted text. */
void loop_conn_printf(struct loop_conn *conn, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* loop_conn_vline - queue formatted text and CRLF: one protocol line. */
void loop_conn_vline(struct loop_conn *conn, const char *fmt, va_list ap) ATTR_PRINTF(2, 0);
/* loop_conn_pending - bytes queued and not yet written. */
size_t loop_conn_pending(const struct loop_conn *conn);
/* loop_conn_close_after_write - stop reading; once the queue is written,
 * close and call on_close with LOOP_CLOSE_DONE. */
void loop_conn_close_after_write(struct loop_conn *conn);

/* loop_conn_starttls - upgrade a plain connection to TLS (server side), in
 * place.  Input buffered from the plain-text phase is DISCARDED at once
 * (it was sent before the handshake, so it is not trusted: the STARTTLS
 * command injection of CVE-2011-0411); loop_conn_discarded says how much.
 * What was written before (the "220 Ready to start TLS") is sent in plain
 * text first; the handshake starts after it, and writes made meanwhile go
 * out encrypted.  -1 with err if conn is already TLS or ctx unusable. */
int loop_conn_starttls(struct loop_conn *conn, SSL_CTX *ctx, struct err *err) ATTR_WARN_UNUSED;
/* loop_conn_starttls_client - the same for the client side (smtp); sni,
 * if not NULL, is sent as the server name.  loop_conn_ssl then gives the
 * SSL for verification settings before the handshake runs. */
int loop_conn_starttls_client(struct loop_conn *conn, SSL_CTX *ctx, const char *sni,
			      struct err *err) ATTR_WARN_UNUSED;
/* loop_conn_discarded - plain-text bytes dropped by loop_conn_starttls. */
size_t loop_conn_discarded(const struct loop_conn *conn);
/* loop_conn_ssl - the TLS session (NULL while plain). */
SSL *loop_conn_ssl(const struct loop_conn *conn);
/* loop_conn_tls_done - the TLS handshake has completed. */
bool loop_conn_tls_done(const struct loop_conn *conn);
/* loop_conn_fd - the socket (for getsockname, credentials). */
int loop_conn_fd(const struct loop_conn *conn);

/* Timers: one-shot, re-armable. */
struct loop_timer;
typedef void loop_timer_cb(struct loop_timer *timer, void *arg);
/* loop_timer_new - a disarmed timer. */
struct loop_timer *loop_timer_new(struct event_base *base, loop_timer_cb *cb, void *arg);
/* loop_timer_add - (re)arm to fire once after msec. */
void loop_timer_add(struct loop_timer *timer, unsigned long msec);
/* loop_timer_del - disarm (no-op when not armed). */
void loop_timer_del(struct loop_timer *timer);
/* loop_timer_pending - armed and not yet fired. */
bool loop_timer_pending(const struct loop_timer *timer);
/* loop_timer_free - disarm and free; accepts NULL, sets *timerp NULL. */
void loop_timer_free(struct loop_timer **timerp);

/* Signals, delivered from the loop (not in signal context). */
struct loop_signal;
typedef void loop_signal_cb(int signo, void *arg);
/* loop_signal - call cb on every signo until loop_signal_free. */
struct loop_signal *loop_signal(struct event_base *base, int signo, loop_signal_cb *cb, void *arg);
/* loop_signal_free - stop handling; accepts NULL, sets *sigp NULL. */
void loop_signal_free(struct loop_signal **sigp);

/* Cross-thread notification: other threads (a worker pool) post, the
 * loop thread runs the callback.  Posts coalesce: one run of cb may stand
 * for several posts, so cb takes everything that is ready. */
struct loop_notify;
typedef void loop_notify_cb(struct loop_notify *notify, void *arg);
/* loop_notify_new - a notification whose cb runs in base's loop. */
struct loop_notify *loop_notify_new(struct event_base *base, loop_notify_cb *cb, void *arg);
/* loop_notify_post - from any thread, even a signal handler: cb runs
 * soon in the loop (never inside this call). */
void loop_notify_post(struct loop_notify *notify);
/* loop_notify_free - no more callbacks; accepts NULL, sets *notifyp NULL.
 * No thread may post any longer. */
void loop_notify_free(struct loop_notify **notifyp);

/* loop_addr_format - the numeric host of sa in host_r ("192.0.2.1",
 * "2001:db8::1"; IPv4-mapped IPv6 as plain IPv4; "unix" for AF_UNIX) and
 * its port in *port_r (0 for AF_UNIX; port_r may be NULL).  -1 with err
 * for another family or a short salen. */
int loop_addr_format(const struct sockaddr *sa, socklen_t salen, struct buf *host_r,
		     unsigned int *port_r, struct err *err) ATTR_WARN_UNUSED;
/* loop_addr_peer - loop_addr_format of getpeername(fd); "unknown" and
 * port 0 when that fails. */
void loop_addr_peer(int fd, struct buf *host_r, unsigned int *port_r);

#endif
