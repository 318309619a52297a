/*
 * pop3d_proxy.c - the login process's relay for a TLS session after login:
 *                 decrypted client bytes go to the mail process over one end
 *                 of a socketpair, its replies go back into the TLS stream.
 *                 A passed descriptor cannot carry TLS state, so a session
 *                 that began with STLS or on port 995 stays here.
 * Touches:  the client's loop_conn (owned by pop3d_login.c) and the
 *           socketpair end (owned here).
 * Security: bytes are copied, never parsed; each direction is paused while
 *           the other side has more than PROXY_HIGH bytes queued, and
 *           resumed by that side's drain callback (lib/loop) at PROXY_LOW,
 *           so a slow reader cannot make this process buffer a mailbox.
 * Errors:   either side closing closes the other once its queue is written.
 * See:      docs/pop3d.md "Privilege separation".
 */
#include "sys.h"

#include <event2/buffer.h>

#include "log.h"
#include "loop.h"
#include "pop3d/pop3d.h"
#include "xmem.h"

/* Queue marks: pause the source above HIGH, resume at LOW (loop's drain). */
#define PROXY_HIGH (256 * 1024)
#define PROXY_LOW (64 * 1024)
/* PROXY_CHUNK - bytes moved per copy. */
#define PROXY_CHUNK 16384

struct pop3d_proxy {
	struct loop_conn *client; /* not owned */
	struct loop_conn *inner;
	bool client_paused; /* client input paused: inner is full */
	bool inner_paused;  /* inner input paused: client is full */
	bool client_gone;
	void (*done)(void *arg);
	void *arg;
};

/* copy - move everything in `in` to dst. */
static void copy(struct evbuffer *in, struct loop_conn *dst)
{
	char chunk[PROXY_CHUNK];
	int n;

	while ((n = evbuffer_remove(in, chunk, sizeof(chunk))) > 0) {
		if (dst != NULL)
			loop_conn_write(dst, chunk, (size_t)n);
	}
}

/* inner_drained - the mail process read its queue down: client input
 * may flow again. */
static void inner_drained(struct loop_conn *conn, void *arg)
{
	struct pop3d_proxy *p = arg;

	if (p->client_paused && p->client != NULL) {
		p->client_paused = false;
		loop_conn_pause(p->client, false);
	}
}

/* client_drained - the client read its queue down: the mail process's
 * output may flow again. */
static void client_drained(struct loop_conn *conn, void *arg)
{
	struct pop3d_proxy *p = arg;

	if (p->inner_paused && p->inner != NULL) {
		p->inner_paused = false;
		loop_conn_pause(p->inner, false);
	}
}

void pop3d_proxy_client_data(struct pop3d_proxy *p, struct evbuffer *in)
{
	copy(in, p->inner);
	if (p->inner != NULL && loop_conn_pending(p->inner) > PROXY_HIGH) {
		p->client_paused = true;
		loop_conn_pause(p->client, true);
	}
}

/* inner_data - the mail process's output to the client. */
static void inner_data(struct loop_conn *conn, struct evbuffer *in, void *arg)
{
	struct pop3d_proxy *p = arg;

	copy(in, p->client_gone ? NULL : p->client);
	if (!p->client_gone && loop_conn_pending(p->client) > PROXY_HIGH) {
		p->inner_paused = true;
		loop_conn_pause(p->inner, true);
	}
}

/* finish - both sides are gone: the session ends. */
static void finish(struct pop3d_proxy *p)
{
	void (*done)(void *) = p->done;
	void *arg = p->arg;

	free(p);
	done(arg);
}

/* inner_close - the mail process ended the session (QUIT, timeout). */
static void inner_close(struct loop_conn *conn, enum loop_close why, const char *detail, void *arg)
{
	struct pop3d_proxy *p = arg;

	p->inner = NULL;
	if (p->client_gone) {
		finish(p);
		return;
	}
	loop_conn_set_drain(p->client, 0, NULL, NULL);
	if (p->client_paused) {
		p->client_paused = false;
		loop_conn_pause(p->client, false);
	}
	loop_conn_close_after_write(p->client);
}

static const struct loop_conn_cb inner_cb = {
	.on_data = inner_data,
	.on_close = inner_close,
};

struct pop3d_proxy *pop3d_proxy_new(struct loop_conn *client, int inner_fd, void (*done)(void *arg),
				    void *arg)
{
	struct pop3d_proxy *p = xcalloc(1, sizeof(*p));

	p->client = client;
	p->done = done;
	p->arg = arg;
	p->inner = loop_conn_new(pop3d_conf.base, inner_fd, NULL, &inner_cb, p);
	loop_conn_set_raw(p->inner, true);
	loop_conn_set_raw(client, true);
	loop_conn_set_drain(p->inner, PROXY_LOW, inner_drained, p);
	loop_conn_set_drain(client, PROXY_LOW, client_drained, p);
	return p;
}

void pop3d_proxy_client_gone(struct pop3d_proxy *p)
{
	p->client = NULL;
	p->client_gone = true;
	if (p->inner == NULL) {
		finish(p);
		return;
	}
	loop_conn_set_drain(p->inner, 0, NULL, NULL);
	if (p->inner_paused) {
		p->inner_paused = false;
		loop_conn_pause(p->inner, false);
	}
	loop_conn_close_after_write(p->inner);
}
