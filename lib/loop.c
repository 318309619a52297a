/*
 * loop.c - network connections, timers and signals over libevent for the
 * daemons: bufferevents with optional TLS (bufferevent_openssl), capped
 * line reading, raw input, fed input, write-then-close, drain callbacks,
 * STARTTLS in place; timers, signals, an eventfd for other threads.
 * Touches:  the sockets it is given; the event base.
 * Input:    untrusted: network clients.  Memory per connection is bounded:
 *           lines over max_line are discarded as they arrive, and reading
 *           stops when the input buffer reaches its high-water mark.
 * Security: runs in every network daemon before authentication.  STARTTLS
 *           drops input buffered in plain text (command injection).
 * Errors:   peer and TLS failures end the connection through on_close with
 *           a reason; nothing a peer does aborts the process.
 * See:      lib/loop.h, OpenSMTPD ioev.c, RFC 3207 section 4.
 */
#include "sys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

/* READ_HIGH_MIN - input buffered before reading pauses (raw mode). */
#define READ_HIGH_MIN (64 * 1024)

struct loop_conn {
	struct event_base *base;
	int fd;
	struct bufferevent *bev;
	struct loop_conn_cb cb;
	void *arg;
	struct event *kick;    /* runs dispatch or a close from the loop */
	struct buf line;       /* the line handed to on_line */
	struct evbuffer *held; /* writes made while STARTTLS waits */
	size_t max_line;
	size_t discarded;
	unsigned int timeout_ms;
	size_t drain_low; /* loop_conn_set_drain */
	loop_drain_cb *on_drain;
	void *drain_arg;
	bool drain_wait; /* the queue grew past drain_low */
	bool raw;
	bool paused;
	bool discarding; /* inside an over-long line */
	bool eof;	 /* the peer closed; deliver what is left */
	bool tls;	 /* bev is a TLS bufferevent */
	bool tls_done;
	bool tls_pending; /* STARTTLS waits for plain output to drain */
	bool tls_client;
	SSL *pending_ssl;
	bool closing;
	bool ended;
	bool dead;
	int busy;
	enum loop_close close_why;
	char *close_detail;
};

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

/* conn_destroy - release everything now. */
static void conn_destroy(struct loop_conn *c)
{
	if (c->bev != NULL) {
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
		bufferevent_free(c->bev);
	}
	if (!c->tls)
		close(c->fd); /* a TLS bufferevent closes it (BEV_OPT_CLOSE_ON_FREE) */
	if (c->pending_ssl != NULL)
		SSL_free(c->pending_ssl);
	event_free(c->kick);
	evbuffer_free(c->held);
	buf_deinit(&c->line);
	xfree(&c->close_detail);
	free(c);
}

/* conn_leave - the end of a handler: free a conn that died meanwhile. */
static void conn_leave(struct loop_conn *c)
{
	if (--c->busy == 0 && c->dead)
		conn_destroy(c);
}

/* conn_end - the connection is over: stop I/O, tell the owner once. */
static void conn_end(struct loop_conn *c, enum loop_close why, const char *detail)
{
	if (c->ended)
		return;
	c->ended = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_del(c->kick);
	if (c->cb.on_close != NULL) {
		c->busy++;
		c->cb.on_close(c, why, detail != NULL ? detail : "", c->arg);
		c->busy--;
	}
	c->dead = true;
}

/* schedule - run kick_cb from the loop soon. */
static void schedule(struct loop_conn *c)
{
	static const struct timeval zero = {0, 0};

	if (!c->ended)
		event_add(c->kick, &zero);
}

/* apply_limits - watermark and timeouts on the current bufferevent. */
static void apply_limits(struct loop_conn *c)
{
	struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};
	size_t high = c->max_line * 2 + 2;

	bufferevent_setwatermark(c->bev, EV_READ, 0, high < READ_HIGH_MIN ? READ_HIGH_MIN : high);
	/* write_cb runs whenever a write leaves at most this much queued */
	bufferevent_setwatermark(c->bev, EV_WRITE, c->on_drain != NULL ? c->drain_low : 0, 0);
	if (c->timeout_ms > 0)
		bufferevent_set_timeouts(c->bev, &tv, &tv);
	else
		bufferevent_set_timeouts(c->bev, NULL, NULL);
}

/* next_line - take one line from in into c->line: 1 with *flags_r set,
 * 0 when no whole line is there (over-long parts are dropped meanwhile). */
static int next_line(struct loop_conn *c, struct evbuffer *in, int *flags_r)
{
	struct evbuffer_ptr lf = evbuffer_search(in, "\n", 1, NULL);
	size_t len, n = evbuffer_get_length(in);
	const unsigned char *p;

	if (lf.pos < 0) {
		if (c->discarding) {
			evbuffer_drain(in, n);
		} else if (n > c->max_line + 1) {
			/* keep the start for the caller's error message, drop the rest */
			p = evbuffer_pullup(in, (ssize_t)c->max_line);
			buf_set(&c->line, p, c->max_line);
			evbuffer_drain(in, n);
			c->discarding = true;
		}
		return 0;
	}
	len = (size_t)lf.pos;
	*flags_r = 0;
	if (c->discarding) {
		evbuffer_drain(in, len + 1);
		c->discarding = false;
		*flags_r = LOOP_LINE_TOO_LONG;
		return 1;
	}
	/* UNSAFE: pullup of len + 1 bytes, which the search found in the buffer */
	p = evbuffer_pullup(in, (ssize_t)len + 1);
	if (len > 0 && p[len - 1] == '\r')
		len--;
	else
		*flags_r |= LOOP_LINE_BARE_LF;
	if (len > c->max_line) {
		*flags_r |= LOOP_LINE_TOO_LONG;
		len = c->max_line;
	}
	buf_set(&c->line, p, len);
	evbuffer_drain(in, (size_t)lf.pos + 1);
	return 1;
}

/* can_deliver - input may go to the owner now. */
static bool can_deliver(const struct loop_conn *c)
{
	return !c->dead && !c->ended && !c->closing && !c->paused && !c->tls_pending;
}

/* dispatch - hand buffered input to on_line / on_data; then finish an EOF. */
static void dispatch(struct loop_conn *c)
{
	while (can_deliver(c)) {
		struct evbuffer *in = bufferevent_get_input(c->bev);
		int flags = 0;

		if (c->raw) {
			size_t n = evbuffer_get_length(in);

			if (n == 0)
				break;
			c->cb.on_data(c, in, c->arg);
			if (c->raw && !c->dead && in == bufferevent_get_input(c->bev) &&
			    evbuffer_get_length(in) == n)
				break;
			continue;
		}
		if (next_line(c, in, &flags) == 0)
			break;
		c->cb.on_line(c, buf_cstr(&c->line), c->line.len, flags, c->arg);
	}
	if (c->eof && can_deliver(c)) {
		c->closing = true;
		c->close_why = LOOP_CLOSE_EOF;
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			conn_end(c, LOOP_CLOSE_EOF, "EOF");
		else
			bufferevent_enable(c->bev, EV_WRITE);
	}
}

/* kick_cb - deferred work: dispatch after a resume, or a pending close. */
static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_conn *c = arg;

	c->busy++;
	if (c->closing && !c->ended && loop_conn_pending(c) == 0)
		conn_end(c, c->close_why, c->close_detail);
	else
		dispatch(c);
	conn_leave(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct loop_conn *c = arg;

	c->busy++;
	dispatch(c);
	conn_leave(c);
}

/* set_bev - install a bufferevent for c. */
static void set_bev(struct loop_conn *c, struct bufferevent *bev)
{
	c->bev = bev;
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
	apply_limits(c);
	bufferevent_enable(bev, c->paused || c->closing ? EV_WRITE : EV_READ | EV_WRITE);
}

/* switch_to_tls - the plain output is written: replace the bufferevent
 * by a TLS one on the same socket. */
static void switch_to_tls(struct loop_conn *c)
{
	struct bufferevent *bev;
	SSL *ssl = c->pending_ssl;

	c->pending_ssl = NULL;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	bufferevent_free(c->bev);
	c->bev = NULL;
	bev = bufferevent_openssl_socket_new(c->base, c->fd, ssl,
					     c->tls_client ? BUFFEREVENT_SSL_CONNECTING
							   : BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL)
		log_fatal("loop: bufferevent_openssl_socket_new failed");
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	c->tls = true;
	c->tls_pending = false;
	set_bev(c, bev);
	bufferevent_write_buffer(bev, c->held);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct loop_conn *c = arg;

	c->busy++;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		if (c->tls_pending)
			switch_to_tls(c);
		else if (c->closing)
			conn_end(c, c->close_why, c->close_detail);
	}
	if (c->drain_wait && c->on_drain != NULL && !c->ended && !c->closing &&
	    loop_conn_pending(c) <= c->drain_low) {
		c->drain_wait = false;
		c->on_drain(c, c->drain_arg);
	}
	conn_leave(c);
}

/* ssl_error_text - an OpenSSL error code as text, by value. */
struct ssl_text {
	char s[256];
};

static struct ssl_text ssl_error_text(unsigned long e)
{
	struct ssl_text t;

	ERR_error_string_n(e, t.s, sizeof(t.s));
	return t;
}

/* tls_errors - the queued OpenSSL errors of bev as text. */
static void tls_errors(struct bufferevent *bev, struct buf *out)
{
	unsigned long e;

	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		buf_printf(out, "%s%s", out->len ? "; " : "", ssl_error_text(e).s);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct loop_conn *c = arg;
	struct buf detail = BUF_INIT;

	c->busy++;
	if (what & BEV_EVENT_CONNECTED) {
		c->tls_done = true;
		if (c->cb.on_tls != NULL)
			c->cb.on_tls(c, c->arg);
	} else if (what & BEV_EVENT_TIMEOUT) {
		conn_end(c, LOOP_CLOSE_TIMEOUT, "timeout");
	} else if (what & BEV_EVENT_EOF) {
		c->eof = true;
		dispatch(c);
		if (c->closing && !c->ended && loop_conn_pending(c) == 0)
			conn_end(c, c->close_why, c->close_detail);
	} else if (what & BEV_EVENT_ERROR) {
		int e = EVUTIL_SOCKET_ERROR();

		if (c->tls)
			tls_errors(bev, &detail);
		if (detail.len == 0)
			buf_adds(&detail, e ? strerror(e) : "connection error");
		if (c->closing)
			conn_end(c, c->close_why, c->close_detail);
		else
			conn_end(c, c->tls && !c->tls_done ? LOOP_CLOSE_TLS : LOOP_CLOSE_ERROR,
				 buf_cstr(&detail));
	}
	buf_deinit(&detail);
	conn_leave(c);
}

struct loop_conn *loop_conn_new(struct event_base *base, int fd, SSL_CTX *tls_ctx,
				const struct loop_conn_cb *cb, void *arg)
{
	struct loop_conn *c = xcalloc(1, sizeof(*c));
	struct bufferevent *bev = NULL;

	evutil_make_socket_nonblocking(fd);
	c->base = base;
	c->fd = fd;
	c->cb = *cb;
	c->arg = arg;
	c->max_line = LOOP_LINE_MAX_DEFAULT;
	buf_init(&c->line, 0);
	c->held = evbuffer_new();
	c->kick = event_new(base, -1, 0, kick_cb, c);
	if (c->held == NULL || c->kick == NULL)
		log_fatal("loop: out of memory");
	if (tls_ctx != NULL) {
		SSL *ssl = SSL_new(tls_ctx);

		if (ssl != NULL)
			bev = bufferevent_openssl_socket_new(
				base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
				BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		else
			log_warn("loop: SSL_new failed: %s", ssl_error_text(ERR_get_error()).s);
		if (ssl != NULL && bev == NULL)
			SSL_free(ssl);
		if (bev != NULL) {
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
			c->tls = true;
		}
	}
	if (bev == NULL)
		bev = bufferevent_socket_new(base, fd, BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL)
		log_fatal("loop: bufferevent_socket_new failed");
	set_bev(c, bev);
	if (tls_ctx != NULL && !c->tls) {
		/* report the failure from the loop, like any other TLS error */
		c->closing = true;
		c->close_why = LOOP_CLOSE_TLS;
		c->close_detail = xstrdup("cannot start TLS");
		bufferevent_disable(bev, EV_READ);
		schedule(c);
	}
	return c;
}

void loop_conn_free(struct loop_conn **connp)
{
	struct loop_conn *c = *connp;

	if (c == NULL)
		return;
	*connp = NULL;
	c->ended = true;
	c->dead = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_del(c->kick);
	if (c->busy == 0)
		conn_destroy(c);
}

void loop_conn_set_max_line(struct loop_conn *c, size_t max_line)
{
	c->max_line = max_line > 0 ? max_line : 1;
	apply_limits(c);
}

void loop_conn_set_timeout(struct loop_conn *c, unsigned int msec)
{
	c->timeout_ms = msec;
	apply_limits(c);
}

void loop_conn_set_raw(struct loop_conn *c, bool raw)
{
	if (c->raw == raw)
		return;
	c->raw = raw;
	c->discarding = false;
	schedule(c);
}

struct evbuffer *loop_conn_input(struct loop_conn *c)
{
	return bufferevent_get_input(c->bev);
}

void loop_conn_pause(struct loop_conn *c, bool pause)
{
	if (c->paused == pause || c->ended)
		return;
	c->paused = pause;
	if (pause) {
		bufferevent_disable(c->bev, EV_READ);
	} else {
		if (!c->closing && !c->tls_pending && !c->eof)
			bufferevent_enable(c->bev, EV_READ);
		schedule(c);
	}
}

void loop_conn_feed(struct loop_conn *c, const void *data, size_t len)
{
	/* a bufferevent freezes the end of its input for everyone but its
	 * reader, never the front: prepending is the way in */
	if (len == 0 || c->ended)
		return;
	if (evbuffer_prepend(bufferevent_get_input(c->bev), data, len) < 0)
		log_fatal("loop: cannot buffer %zu bytes of input", len);
	schedule(c);
}

void loop_conn_set_drain(struct loop_conn *c, size_t low, loop_drain_cb *on_drain, void *arg)
{
	c->drain_low = low;
	c->on_drain = on_drain;
	c->drain_arg = arg;
	c->drain_wait = on_drain != NULL && loop_conn_pending(c) > low;
	apply_limits(c);
}

void loop_conn_write(struct loop_conn *c, const void *data, size_t len)
{
	if (c->ended || c->closing)
		return;
	if (c->tls_pending)
		evbuffer_add(c->held, data, len);
	else
		bufferevent_write(c->bev, data, len);
	if (c->on_drain != NULL && loop_conn_pending(c) > c->drain_low)
		c->drain_wait = true;
}

void loop_conn_printf(struct loop_conn *c, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	loop_conn_write(c, b.data, b.len);
	buf_deinit(&b);
}

void loop_conn_vline(struct loop_conn *c, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	buf_vprintf(&b, fmt, ap);
	buf_adds(&b, "\r\n");
	loop_conn_write(c, b.data, b.len);
	buf_deinit(&b);
}

size_t loop_conn_pending(const struct loop_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) + evbuffer_get_length(c->held);
}

void loop_conn_close_after_write(struct loop_conn *c)
{
	if (c->closing || c->ended)
		return;
	c->closing = true;
	c->close_why = LOOP_CLOSE_DONE;
	bufferevent_disable(c->bev, EV_READ);
	if (c->tls_pending)
		return; /* the switch writes what is held; write_cb closes */
	bufferevent_enable(c->bev, EV_WRITE);
	schedule(c);
}

/* starttls - common part of the server and client upgrades. */
static int starttls(struct loop_conn *c, SSL_CTX *ctx, const char *sni, bool client,
		    struct err *err)
{
	struct evbuffer *in;
	SSL *ssl;

	if (c->tls || c->tls_pending)
		return err_set(err, "TLS already active");
	if (c->ended || c->closing)
		return err_set(err, "connection is closing");
	if ((ssl = SSL_new(ctx)) == NULL)
		return err_set(err, "SSL_new: %s", ssl_error_text(ERR_get_error()).s);
	if (client && sni != NULL && SSL_set_tlsext_host_name(ssl, sni) != 1) {
		SSL_free(ssl);
		return err_set(err, "bad TLS server name %.100s", sni);
	}
	in = bufferevent_get_input(c->bev);
	c->discarded += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	c->discarding = false;
	c->pending_ssl = ssl;
	c->tls_client = client;
	c->tls_pending = true;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		switch_to_tls(c);
	else
		bufferevent_enable(c->bev, EV_WRITE);
	return 0;
}

int loop_conn_starttls(struct loop_conn *c, SSL_CTX *ctx, struct err *err)
{
	return starttls(c, ctx, NULL, false, err);
}

int loop_conn_starttls_client(struct loop_conn *c, SSL_CTX *ctx, const char *sni, struct err *err)
{
	return starttls(c, ctx, sni, true, err);
}

size_t loop_conn_discarded(const struct loop_conn *c)
{
	return c->discarded;
}

SSL *loop_conn_ssl(const struct loop_conn *c)
{
	if (c->pending_ssl != NULL)
		return c->pending_ssl;
	return c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
}

bool loop_conn_tls_done(const struct loop_conn *c)
{
	return c->tls_done;
}

int loop_conn_fd(const struct loop_conn *c)
{
	return c->fd;
}

/*
 * Timers and signals.
 */
struct loop_timer {
	struct event *ev;
	loop_timer_cb *cb;
	void *arg;
};

/* timer_fire - libevent callback of a loop_timer. */
static void timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct loop_timer *t = arg;

	t->cb(t, t->arg);
}

struct loop_timer *loop_timer_new(struct event_base *base, loop_timer_cb *cb, void *arg)
{
	struct loop_timer *t = xcalloc(1, sizeof(*t));

	t->cb = cb;
	t->arg = arg;
	if ((t->ev = evtimer_new(base, timer_fire, t)) == NULL)
		log_fatal("loop: evtimer_new failed");
	return t;
}

void loop_timer_add(struct loop_timer *t, unsigned long msec)
{
	struct timeval tv = {(time_t)(msec / 1000), (suseconds_t)(msec % 1000) * 1000};

	evtimer_add(t->ev, &tv);
}

void loop_timer_del(struct loop_timer *t)
{
	evtimer_del(t->ev);
}

bool loop_timer_pending(const struct loop_timer *t)
{
	return evtimer_pending(t->ev, NULL) != 0;
}

void loop_timer_free(struct loop_timer **tp)
{
	if (*tp == NULL)
		return;
	event_free((*tp)->ev);
	xfree(tp);
}

struct loop_signal {
	struct event *ev;
	loop_signal_cb *cb;
	void *arg;
};

/* signal_fire - libevent callback of a loop_signal. */
static void signal_fire(evutil_socket_t signo, short what, void *arg)
{
	struct loop_signal *s = arg;

	s->cb((int)signo, s->arg);
}

struct loop_signal *loop_signal(struct event_base *base, int signo, loop_signal_cb *cb, void *arg)
{
	struct loop_signal *s = xcalloc(1, sizeof(*s));

	s->cb = cb;
	s->arg = arg;
	s->ev = evsignal_new(base, signo, signal_fire, s);
	if (s->ev == NULL || evsignal_add(s->ev, NULL) < 0)
		log_fatal("loop: cannot handle signal %d", signo);
	return s;
}

void loop_signal_free(struct loop_signal **sp)
{
	if (*sp == NULL)
		return;
	event_free((*sp)->ev);
	xfree(sp);
}

/*
 * Cross-thread notification: an eventfd the loop watches.
 */
struct loop_notify {
	struct event *ev;
	int fd;
	loop_notify_cb *cb;
	void *arg;
};

/* notify_fire - reset the eventfd, run the callback. */
static void notify_fire(evutil_socket_t fd, short what, void *arg)
{
	struct loop_notify *n = arg;
	uint64_t v;

	while (read(n->fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	n->cb(n, n->arg);
}

struct loop_notify *loop_notify_new(struct event_base *base, loop_notify_cb *cb, void *arg)
{
	struct loop_notify *n = xcalloc(1, sizeof(*n));

	n->cb = cb;
	n->arg = arg;
	n->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (n->fd < 0)
		log_fatal("loop: eventfd: %s", strerror(errno));
	n->ev = event_new(base, n->fd, EV_READ | EV_PERSIST, notify_fire, n);
	if (n->ev == NULL || event_add(n->ev, NULL) < 0)
		log_fatal("loop: cannot watch an eventfd");
	return n;
}

void loop_notify_post(struct loop_notify *n)
{
	const uint64_t one = 1;
	int saved = errno;

	/* EAGAIN: the counter is full, so a wakeup is pending anyway */
	while (write(n->fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	errno = saved;
}

void loop_notify_free(struct loop_notify **np)
{
	struct loop_notify *n = *np;

	if (n == NULL)
		return;
	event_free(n->ev);
	close(n->fd);
	free(n);
	*np = NULL;
}

/*
 * Peer addresses.
 */
int loop_addr_format(const struct sockaddr *sa, socklen_t salen, struct buf *host_r,
		     unsigned int *port_r, struct err *err)
{
	char text[INET6_ADDRSTRLEN];
	unsigned int port = 0;

	if (salen < (socklen_t)sizeof(sa_family_t))
		return err_set(err, "short socket address");
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		if (salen < (socklen_t)sizeof(*in))
			return err_set(err, "short IPv4 socket address");
		inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
		port = ntohs(in->sin_port);
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (salen < (socklen_t)sizeof(*in6))
			return err_set(err, "short IPv6 socket address");
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, in6->sin6_addr.s6_addr + 12, text, sizeof(text));
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
		port = ntohs(in6->sin6_port);
		break;
	}
	case AF_UNIX:
		snprintf(text, sizeof(text), "unix");
		break;
	default:
		return err_set(err, "address family %d not supported", sa->sa_family);
	}
	buf_sets(host_r, text);
	if (port_r != NULL)
		*port_r = port;
	return 0;
}

void loop_addr_peer(int fd, struct buf *host_r, unsigned int *port_r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct err err;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    loop_addr_format((struct sockaddr *)&ss, len, host_r, port_r, &err) < 0) {
		buf_sets(host_r, "unknown");
		if (port_r != NULL)
			*port_r = 0;
	}
}
