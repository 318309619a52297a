/*
 * echod.c - a test daemon on the server.h skeleton, for master's
 *           integration tests: an inet (or unix) line service.
 *     on connect   "220 echod PID UID\r\n"
 *     each line    echoed back with CRLF
 *     "QUIT"       "221 echod closing\r\n", then the connection closes
 * Arguments after master's options: [SESSION_LIMIT] (default 0, no limit).
 * Log lines: "connect from ADDR", "disconnect from ADDR", "wakeup" so tests
 * can follow what happened.
 * Touches:  its client sockets only.
 * Security: test-only; lines are capped at 1000 bytes (longer: "500 line too
 *           long" and close); runs as the mail owner like any daemon.
 * Errors:   a bad argument is fatal at startup; client errors close that
 *           session only.
 */
#include "sys.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "buf.h"
#include "log.h"
#include "server.h"
#include "str.h"
#include "xmem.h"

#define ECHOD_LINE_MAX 1000

struct echod_session {
	struct bufferevent *bev;
	char peer[64];
	bool closing;
	struct echod_session *prev, *next;
};

/* sessions - every open session, so they stay reachable until exit. */
static struct echod_session *sessions;

/* peer_name - printable address of the client. */
static void peer_name(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(out, size, "local");
	}
}

/* session_close - free one session and tell the skeleton. */
static void session_close(struct echod_session *s)
{
	log_info("disconnect from %s", s->peer);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	bufferevent_free(s->bev);
	free(s);
	server_session_end();
}

/* on_write - output drained: a closing session goes now. */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct echod_session *s = arg;

	if (s->closing)
		session_close(s);
}

/* on_read - echo complete lines; QUIT ends the session. */
static void on_read(struct bufferevent *bev, void *arg)
{
	struct echod_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while (!s->closing && (line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		if (strcmp(line, "QUIT") == 0) {
			bufferevent_write(bev, "221 echod closing\r\n", 19);
			s->closing = true;
		} else {
			bufferevent_write(bev, line, n);
			bufferevent_write(bev, "\r\n", 2);
		}
		free(line);
	}
	if (!s->closing && evbuffer_get_length(in) > ECHOD_LINE_MAX) {
		bufferevent_write(bev, "500 line too long\r\n", 19);
		s->closing = true;
	}
	if (s->closing)
		bufferevent_disable(bev, EV_READ);
}

/* on_event - EOF or error from the client. */
static void on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		session_close(arg);
}

/* echod_accept - greet and start reading. */
static void echod_accept(struct server_ctx *ctx, int fd, const struct sockaddr *peer,
			 socklen_t peerlen, int listener_index)
{
	struct echod_session *s = xcalloc(1, sizeof(*s));
	struct buf greet = BUF_INIT;

	server_session_begin();
	peer_name(peer, peerlen, s->peer, sizeof(s->peer));
	s->bev = bufferevent_socket_new(ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		log_fatal("bufferevent_socket_new failed");
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	buf_printf(&greet, "220 echod %ld %ld\r\n", (long)getpid(), (long)getuid());
	bufferevent_write(s->bev, greet.data, greet.len);
	buf_deinit(&greet);
	log_info("connect from %s", s->peer);
}

/* echod_init - optional SESSION_LIMIT argument. */
static int echod_init(struct server_ctx *ctx)
{
	unsigned int limit = 0;

	if (ctx->argc > 0 && str_to_uint(ctx->argv[0], &limit) < 0) {
		log_error("bad session limit \"%s\"", ctx->argv[0]);
		return -1;
	}
	server_set_session_limit(limit);
	log_info("%s: started, uid %ld, session limit %u", ctx->service, (long)getuid(), limit);
	return 0;
}

/* echod_wakeup - master's timer: just leave a trace. */
static void echod_wakeup(struct server_ctx *ctx)
{
	log_info("wakeup");
}

int main(int argc, char **argv)
{
	static const struct server_hooks hooks = {
		.name = "echod",
		.init = echod_init,
		.accept = echod_accept,
		.wakeup = echod_wakeup,
	};

	return server_main(argc, argv, &hooks);
}
