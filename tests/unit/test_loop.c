/*
 * test_loop.c - unit tests for lib/loop.c: CRLF and LF lines, over-long
 * lines with bounded buffering, raw mode, pause, timeouts, write-then-close,
 * implicit TLS and STARTTLS (with the discard of pre-TLS input) against an
 * OpenSSL client in a thread, fed input, drain callbacks, timers, signals,
 * cross-thread notification, address formatting.
 * Touches:  socketpairs, one thread per TLS or notify test, SIGUSR1 of
 *           this process.
 */
#include "sys.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "loop.h"

/* What a test server saw. */
struct seen {
	struct loop_conn *conn;
	char lines[16][128];
	int flags[16];
	size_t lens[16];
	int n;
	struct buf data; /* raw bytes taken in raw mode */
	size_t raw_want; /* raw bytes still expected */
	bool closed;
	enum loop_close why;
	bool tls_up;
	size_t discarded;      /* loop_conn_discarded when TLS came up */
	SSL_CTX *starttls_ctx; /* "STARTTLS" upgrades with this */
	bool echo;	       /* answer each line with "250 got LINE" */
	bool pause_first;      /* pause after the first line */
};

static void on_line(struct loop_conn *conn, const char *line, size_t len, int flags, void *arg)
{
	struct seen *s = arg;
	struct err err;

	if (s->n < 16) {
		snprintf(s->lines[s->n], sizeof(s->lines[0]), "%s", line);
		s->flags[s->n] = flags;
		s->lens[s->n] = len;
	}
	s->n++;
	if (strncmp(line, "BDAT ", 5) == 0) {
		s->raw_want = strtoul(line + 5, NULL, 10);
		loop_conn_set_raw(conn, true);
	} else if (strcmp(line, "QUIT") == 0) {
		loop_conn_printf(conn, "221 bye\r\n");
		loop_conn_close_after_write(conn);
	} else if (strcmp(line, "STARTTLS") == 0 && s->starttls_ctx != NULL) {
		loop_conn_printf(conn, "220 ready\r\n");
		assert_int_equal(loop_conn_starttls(conn, s->starttls_ctx, &err), 0);
	} else if (s->echo) {
		loop_conn_printf(conn, "250 got %s\r\n", line);
	}
	if (s->pause_first && s->n == 1)
		loop_conn_pause(conn, true);
}

static void on_data(struct loop_conn *conn, struct evbuffer *in, void *arg)
{
	struct seen *s = arg;
	size_t n = evbuffer_get_length(in);
	char tmp[256];

	if (n > s->raw_want)
		n = s->raw_want;
	if (n > sizeof(tmp))
		n = sizeof(tmp);
	evbuffer_remove(in, tmp, n);
	buf_add(&s->data, tmp, n);
	s->raw_want -= n;
	if (s->raw_want == 0)
		loop_conn_set_raw(conn, false);
}

static void on_tls(struct loop_conn *conn, void *arg)
{
	((struct seen *)arg)->tls_up = true;
	((struct seen *)arg)->discarded = loop_conn_discarded(conn);
}

static void on_close(struct loop_conn *conn, enum loop_close why, const char *detail, void *arg)
{
	struct seen *s = arg;

	s->closed = true;
	s->why = why;
	s->conn = NULL;
}

static const struct loop_conn_cb test_cb = {on_line, on_data, on_tls, on_close};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* spin - run the loop until *done or ms pass. */
static void spin(struct event_base *base, const bool *done, int ms)
{
	int64_t end = mono_ms() + ms;

	while ((done == NULL || !*done) && mono_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		(void)poll(NULL, 0, 1);
	}
}

/* serve - a plain test server on one end of a socketpair; the other end
 * in *peer_r. */
static void serve(struct event_base *base, struct seen *s, SSL_CTX *ctx, int *peer_r)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	buf_init(&s->data, 0);
	s->conn = loop_conn_new(base, sv[0], ctx, &test_cb, s);
	*peer_r = sv[1];
}

static void put(int fd, const char *text)
{
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

static void test_lines(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {0};
	int peer;

	serve(base, &s, NULL, &peer);
	put(peer, "HELO a\r\nMAIL b\nRCPT c\r\n\r\nDA");
	spin(base, NULL, 20);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.lines[0], "HELO a");
	assert_int_equal(s.flags[0], 0);
	assert_string_equal(s.lines[1], "MAIL b");
	assert_int_equal(s.flags[1], LOOP_LINE_BARE_LF);
	assert_string_equal(s.lines[2], "RCPT c");
	assert_string_equal(s.lines[3], "");
	put(peer, "TA\r");
	spin(base, NULL, 10);
	assert_int_equal(s.n, 4);
	put(peer, "\n");
	spin(base, NULL, 10);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.lines[4], "DATA");
	/* a NUL inside a line is delivered, len counts it */
	assert_int_equal(write(peer, "a\0b\r\n", 5), 5);
	spin(base, NULL, 10);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.lens[5], 3);
	/* EOF after a last line: the line first, then on_close */
	put(peer, "last\r\n");
	close(peer);
	spin(base, &s.closed, 500);
	assert_int_equal(s.n, 7);
	assert_string_equal(s.lines[6], "last");
	assert_true(s.closed);
	assert_int_equal(s.why, LOOP_CLOSE_EOF);
	buf_deinit(&s.data);
	event_base_free(base);
}

static void test_long_lines(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {0};
	char chunk[4096];
	int peer;

	serve(base, &s, NULL, &peer);
	loop_conn_set_max_line(s.conn, 16);
	put(peer, "0123456789abcdef\r\n");  /* exactly 16 */
	put(peer, "0123456789abcdefX\r\n"); /* 17 */
	put(peer, "ok\r\n");
	spin(base, NULL, 20);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.flags[0], 0);
	assert_string_equal(s.lines[1], "0123456789abcdef");
	assert_int_equal(s.flags[1], LOOP_LINE_TOO_LONG);
	assert_string_equal(s.lines[2], "ok");
	/* a megabyte without LF never piles up in memory */
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 256; i++) {
		assert_int_equal(write(peer, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
		spin(base, NULL, 0);
		event_base_loop(base, EVLOOP_NONBLOCK);
		assert_true(evbuffer_get_length(loop_conn_input(s.conn)) <= 70 * 1024);
	}
	put(peer, "tail\r\nnext\r\n");
	spin(base, NULL, 50);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.flags[3] & LOOP_LINE_TOO_LONG, LOOP_LINE_TOO_LONG);
	assert_string_equal(s.lines[3], "xxxxxxxxxxxxxxxx");
	assert_string_equal(s.lines[4], "next");
	assert_int_equal(s.flags[4], 0);
	loop_conn_free(&s.conn);
	assert_false(s.closed);
	close(peer);
	buf_deinit(&s.data);
	event_base_free(base);
}

static void test_raw_and_pause(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {.pause_first = true};
	int peer;

	serve(base, &s, NULL, &peer);
	put(peer, "BDAT 10\r\n0123\r\n6789QUIT\r\n");
	spin(base, NULL, 20);
	/* paused after the first line: nothing more is delivered */
	assert_int_equal(s.n, 1);
	assert_int_equal(s.data.len, 0);
	loop_conn_pause(s.conn, false);
	spin(base, &s.closed, 500);
	assert_int_equal(s.data.len, 10);
	assert_memory_equal(s.data.data, "0123\r\n6789", 10);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[1], "QUIT");
	assert_true(s.closed);
	assert_int_equal(s.why, LOOP_CLOSE_DONE);
	buf_deinit(&s.data);
	close(peer);
	event_base_free(base);
}

static void test_write_then_close(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {.echo = true};
	char got[64];
	ssize_t n, total = 0;
	int peer;

	serve(base, &s, NULL, &peer);
	put(peer, "NOOP\r\nQUIT\r\nRSET\r\n");
	spin(base, &s.closed, 500);
	assert_true(s.closed);
	assert_int_equal(s.why, LOOP_CLOSE_DONE);
	assert_int_equal(s.n, 2); /* nothing after QUIT is read */
	while ((n = read(peer, got + total, sizeof(got) - 1 - (size_t)total)) > 0)
		total += n;
	got[total] = '\0';
	assert_string_equal(got, "250 got NOOP\r\n221 bye\r\n");
	close(peer);
	buf_deinit(&s.data);
	event_base_free(base);
}

static void test_timeouts(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {0};
	int64_t t0;
	int peer;

	serve(base, &s, NULL, &peer);
	loop_conn_set_timeout(s.conn, 5000);
	spin(base, NULL, 100);
	assert_false(s.closed);
	/* a new state with a short timeout takes effect at once */
	t0 = mono_ms();
	loop_conn_set_timeout(s.conn, 60);
	spin(base, &s.closed, 2000);
	assert_true(s.closed);
	assert_int_equal(s.why, LOOP_CLOSE_TIMEOUT);
	assert_true(mono_ms() - t0 >= 50);
	close(peer);
	buf_deinit(&s.data);
	event_base_free(base);
}

/* A self-signed certificate made on the spot. */
static SSL_CTX *server_ctx(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	assert_non_null(key);
	assert_non_null(ctx);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
				   -1, 0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

/* The client thread: optional plain STARTTLS exchange, then TLS. */
struct client {
	int fd;
	bool starttls;
	char reply[128];
	bool ok;
	volatile bool done;
};

static bool read_exact(int fd, char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	char plain[12] = "";
	int n = 0, r;

	if (cl->starttls) {
		/* the injected command rides in the same packet as STARTTLS */
		const char cmd[] = "STARTTLS\r\nINJECTED\r\n";

		if (write(cl->fd, cmd, sizeof(cmd) - 1) != (ssize_t)sizeof(cmd) - 1 ||
		    !read_exact(cl->fd, plain, 11) || memcmp(plain, "220 ready\r\n", 11) != 0)
			goto out;
	}
	SSL_set_fd(ssl, cl->fd);
	if (SSL_connect(ssl) != 1 || SSL_write(ssl, "HELLO\r\n", 7) != 7)
		goto out;
	while (n < (int)sizeof(cl->reply) - 1 && strchr(cl->reply, '\n') == NULL) {
		if ((r = SSL_read(ssl, cl->reply + n, (int)sizeof(cl->reply) - 1 - n)) <= 0)
			break;
		n += r;
		cl->reply[n] = '\0';
	}
	cl->ok = true;
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	shutdown(cl->fd, SHUT_RDWR);
	cl->done = true;
	return NULL;
}

static void run_tls(bool starttls)
{
	struct event_base *base = event_base_new();
	SSL_CTX *ctx = server_ctx();
	struct seen s = {.echo = true};
	struct client cl = {.starttls = starttls};
	pthread_t th;

	if (starttls)
		s.starttls_ctx = ctx;
	serve(base, &s, starttls ? NULL : ctx, &cl.fd);
	assert_int_equal(pthread_create(&th, NULL, client_main, &cl), 0);
	for (int i = 0; i < 5000 && !(cl.done && s.closed); i++)
		spin(base, NULL, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(cl.ok);
	assert_string_equal(cl.reply, "250 got HELLO\r\n");
	assert_true(s.tls_up);
	if (starttls) {
		assert_int_equal(s.n, 2);
		assert_string_equal(s.lines[0], "STARTTLS");
		/* the pre-TLS "INJECTED\r\n" was dropped, never seen as a command */
		assert_string_equal(s.lines[1], "HELLO");
		assert_int_equal(s.discarded, strlen("INJECTED\r\n"));
		assert_int_equal(s.why, LOOP_CLOSE_EOF);
	} else {
		assert_int_equal(s.n, 1);
		assert_string_equal(s.lines[0], "HELLO");
	}
	assert_true(s.closed);
	close(cl.fd);
	SSL_CTX_free(ctx);
	buf_deinit(&s.data);
	event_base_free(base);
}

static void test_implicit_tls(void **state)
{
	run_tls(false);
}

static void test_starttls_discards_plaintext(void **state)
{
	run_tls(true);
}

static void test_starttls_discard_count(void **state)
{
	struct event_base *base = event_base_new();
	SSL_CTX *ctx = server_ctx();
	struct seen s = {.starttls_ctx = ctx};
	struct err err;
	int peer;

	serve(base, &s, NULL, &peer);
	put(peer, "STARTTLS\r\nRSET\r\nMAIL FROM:<a@b>\r\n");
	spin(base, NULL, 20);
	assert_int_equal(s.n, 1);
	assert_int_equal(loop_conn_discarded(s.conn), 23);
	assert_non_null(loop_conn_ssl(s.conn));
	assert_int_equal(loop_conn_starttls(s.conn, ctx, &err), -1);
	/* garbage instead of a ClientHello ends it as a TLS failure */
	put(peer, "this is not TLS at all\r\n\r\n");
	spin(base, &s.closed, 1000);
	assert_true(s.closed);
	assert_int_equal(s.why, LOOP_CLOSE_TLS);
	assert_int_equal(s.n, 1);
	close(peer);
	SSL_CTX_free(ctx);
	buf_deinit(&s.data);
	event_base_free(base);
}

static void test_feed(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {.pause_first = true};
	int peer;

	serve(base, &s, NULL, &peer);
	put(peer, "X\r\nC\r\n");
	spin(base, NULL, 30);
	assert_int_equal(s.n, 1);
	/* fed bytes go before what was read and not yet delivered */
	loop_conn_feed(s.conn, "B\r\n", 3);
	loop_conn_feed(s.conn, "A\r\n", 3);
	loop_conn_feed(s.conn, "", 0);
	spin(base, NULL, 20);
	assert_int_equal(s.n, 1); /* still paused */
	loop_conn_pause(s.conn, false);
	spin(base, NULL, 30);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.lines[1], "A");
	assert_string_equal(s.lines[2], "B");
	assert_string_equal(s.lines[3], "C");
	/* raw mode: fed bytes reach on_data, from the loop */
	loop_conn_feed(s.conn, "BDAT 4\r\nwxyzQUIT\r\n", 19);
	assert_int_equal(s.n, 4);
	spin(base, &s.closed, 500);
	assert_int_equal(s.data.len, 4);
	assert_memory_equal(s.data.data, "wxyz", 4);
	assert_string_equal(s.lines[5], "QUIT");
	assert_true(s.closed);
	close(peer);
	buf_deinit(&s.data);
	event_base_free(base);
}

/* What the drain callback saw. */
struct drained {
	int calls;
	size_t pending_at_call;
};

static void drain_cb(struct loop_conn *conn, void *arg)
{
	struct drained *d = arg;

	d->calls++;
	d->pending_at_call = loop_conn_pending(conn);
}

/* read_some - read what peer has, without blocking; bytes read. */
static size_t read_some(int peer)
{
	char tmp[65536];
	size_t total = 0;
	struct pollfd pfd = {peer, POLLIN, 0};
	ssize_t n;

	while (poll(&pfd, 1, 0) == 1 && (n = read(peer, tmp, sizeof(tmp))) > 0)
		total += (size_t)n;
	return total;
}

static void test_drain(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {0};
	struct drained d = {0};
	size_t big = 1024 * 1024, got = 0;
	char *blob = calloc(1, big);
	int64_t end;
	int peer;

	serve(base, &s, NULL, &peer);
	loop_conn_set_drain(s.conn, 4096, drain_cb, &d);
	/* small writes never cross the mark: no callback */
	loop_conn_write(s.conn, "hello\r\n", 7);
	spin(base, NULL, 30);
	got += read_some(peer);
	assert_int_equal(d.calls, 0);
	/* a big write is held back by the peer, which does not read */
	loop_conn_write(s.conn, blob, big);
	spin(base, NULL, 50);
	assert_int_equal(d.calls, 0);
	assert_true(loop_conn_pending(s.conn) > 4096);
	/* the peer reads: the queue drains past the mark, once */
	end = mono_ms() + 5000;
	while (d.calls == 0 && mono_ms() < end) {
		got += read_some(peer);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	assert_int_equal(d.calls, 1);
	assert_true(d.pending_at_call <= 4096);
	spin(base, NULL, 30);
	got += read_some(peer);
	spin(base, NULL, 30);
	got += read_some(peer);
	assert_int_equal(got, big + 7);
	assert_int_equal(d.calls, 1);
	/* turned off: another big write calls nothing */
	loop_conn_set_drain(s.conn, 4096, NULL, NULL);
	loop_conn_write(s.conn, blob, big);
	end = mono_ms() + 5000;
	got = 0;
	while (got < big && mono_ms() < end) {
		got += read_some(peer);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	assert_int_equal(got, big);
	assert_int_equal(d.calls, 1);
	loop_conn_free(&s.conn);
	free(blob);
	close(peer);
	buf_deinit(&s.data);
	event_base_free(base);
}

static void notify_cb(struct loop_notify *n, void *arg)
{
	(*(int *)arg)++;
}

static void *notify_thread(void *arg)
{
	for (int i = 0; i < 3; i++)
		loop_notify_post(arg);
	return NULL;
}

static void test_notify(void **state)
{
	struct event_base *base = event_base_new();
	int calls = 0;
	struct loop_notify *n = loop_notify_new(base, notify_cb, &calls);
	pthread_t th;

	/* posts coalesce and never run the callback inside the call */
	loop_notify_post(n);
	loop_notify_post(n);
	assert_int_equal(calls, 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(calls, 1);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(calls, 1);
	/* from another thread */
	assert_int_equal(pthread_create(&th, NULL, notify_thread, n), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(calls, 2);
	loop_notify_free(&n);
	assert_null(n);
	loop_notify_free(&n);
	event_base_free(base);
}

static void timer_cb(struct loop_timer *t, void *arg)
{
	(*(int *)arg)++;
}

static void signal_cb(int signo, void *arg)
{
	*(int *)arg = signo;
}

static void test_timers_signals(void **state)
{
	struct event_base *base = event_base_new();
	int fired = 0, fired2 = 0, sig = 0;
	struct loop_timer *t = loop_timer_new(base, timer_cb, &fired);
	struct loop_timer *t2 = loop_timer_new(base, timer_cb, &fired2);
	struct loop_signal *ls = loop_signal(base, SIGUSR1, signal_cb, &sig);

	loop_timer_add(t, 20);
	loop_timer_add(t2, 20);
	assert_true(loop_timer_pending(t));
	loop_timer_del(t2);
	assert_false(loop_timer_pending(t2));
	spin(base, NULL, 100);
	assert_int_equal(fired, 1);
	assert_int_equal(fired2, 0);
	assert_false(loop_timer_pending(t));
	raise(SIGUSR1);
	spin(base, NULL, 50);
	assert_int_equal(sig, SIGUSR1);
	loop_timer_free(&t);
	loop_timer_free(&t2);
	assert_null(t);
	loop_timer_free(&t);
	loop_signal_free(&ls);
	assert_null(ls);
	event_base_free(base);
}

static void test_addr_format(void **state)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(25)};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(587)};
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct buf host = BUF_INIT;
	unsigned int port = 9;
	struct err err;
	int sv[2];

	inet_pton(AF_INET, "192.0.2.1", &in.sin_addr);
	assert_int_equal(loop_addr_format((struct sockaddr *)&in, sizeof(in), &host, &port, &err),
			 0);
	assert_string_equal(buf_cstr(&host), "192.0.2.1");
	assert_int_equal(port, 25);
	inet_pton(AF_INET6, "::1", &in6.sin6_addr);
	assert_int_equal(loop_addr_format((struct sockaddr *)&in6, sizeof(in6), &host, &port, &err),
			 0);
	assert_string_equal(buf_cstr(&host), "::1");
	assert_int_equal(port, 587);
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &in6.sin6_addr);
	assert_int_equal(loop_addr_format((struct sockaddr *)&in6, sizeof(in6), &host, NULL, &err),
			 0);
	assert_string_equal(buf_cstr(&host), "198.51.100.7");
	assert_int_equal(loop_addr_format((struct sockaddr *)&un, sizeof(un), &host, &port, &err),
			 0);
	assert_string_equal(buf_cstr(&host), "unix");
	assert_int_equal(port, 0);
	assert_int_equal(loop_addr_format((struct sockaddr *)&in, 4, &host, &port, &err), -1);
	in.sin_family = AF_APPLETALK;
	assert_int_equal(loop_addr_format((struct sockaddr *)&in, sizeof(in), &host, &port, &err),
			 -1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	loop_addr_peer(sv[0], &host, &port);
	assert_string_equal(buf_cstr(&host), "unix");
	close(sv[0]);
	close(sv[1]);
	loop_addr_peer(-1, &host, &port);
	assert_string_equal(buf_cstr(&host), "unknown");
	buf_deinit(&host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_raw_and_pause),
		cmocka_unit_test(test_write_then_close),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_implicit_tls),
		cmocka_unit_test(test_starttls_discards_plaintext),
		cmocka_unit_test(test_starttls_discard_count),
		cmocka_unit_test(test_feed),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_timers_signals),
		cmocka_unit_test(test_addr_format),
	};

	log_init("test_loop");
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
