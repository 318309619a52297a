/*
 * smtp_connect.c - outbound TCP connects without blocking (socket, bind
 * to smtp_bind_address[6], connect, wait for writability with a timeout)
 * and the cache of idle sessions kept for the next delivery to the same
 * next hop.
 * Touches:  sockets only.
 * Security: the connect timeout bounds every attempt; a descriptor is
 *           always closed on failure or cancel.
 * Errors:   reported through the callback as an errno value.
 * See:      smtp.h, docs/smtp.md "Connection reuse".
 */
#include "sys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "smtp/smtp.h"
#include "xmem.h"

struct smtp_connect {
	struct event *ev;
	int fd;
	smtp_connect_cb *cb;
	void *arg;
};

static void on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_connect *c = arg;
	smtp_connect_cb *cb = c->cb;
	void *cbarg = c->arg;
	int error = 0;
	socklen_t len = sizeof(error);

	if (what & EV_TIMEOUT)
		error = ETIMEDOUT;
	else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
		error = errno;
	event_free(c->ev);
	if (error != 0)
		close(c->fd);
	fd = error != 0 ? -1 : c->fd;
	free(c);
	cb(fd, error, cbarg);
}

/* bind_local - bind fd to addr (an IP address of sa's family). */
static int bind_local(int fd, int family, const char *addr, struct err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		len = sizeof(*sin);
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return err_set(err, "smtp_bind_address: bad IPv4 address \"%.60s\"", addr);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		len = sizeof(*sin6);
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			return err_set(err, "smtp_bind_address6: bad IPv6 address \"%.60s\"", addr);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return err_set_code(err, errno, "bind %s: %s", addr, strerror(errno));
	return 0;
}

struct smtp_connect *smtp_connect_start(struct event_base *base, const struct sockaddr *sa,
					socklen_t salen, const char *bind_addr,
					unsigned int timeout_ms, smtp_connect_cb *cb, void *arg,
					struct err *err)
{
	struct smtp_connect *c;
	struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		err_set_code(err, errno, "socket: %s", strerror(errno));
		return NULL;
	}
	if (bind_addr != NULL && bind_addr[0] != '\0' &&
	    bind_local(fd, sa->sa_family, bind_addr, err) < 0) {
		close(fd);
		return NULL;
	}
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		err_set_code(err, errno, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->cb = cb;
	c->arg = arg;
	c->ev = event_new(base, fd, EV_WRITE, on_connect, c);
	if (c->ev == NULL || event_add(c->ev, timeout_ms > 0 ? &tv : NULL) < 0) {
		if (c->ev != NULL)
			event_free(c->ev);
		close(fd);
		free(c);
		err_set(err, "cannot watch the connecting socket");
		return NULL;
	}
	return c;
}

void smtp_connect_cancel(struct smtp_connect **cp)
{
	struct smtp_connect *c = *cp;

	if (c == NULL)
		return;
	event_free(c->ev);
	close(c->fd);
	xfree(cp);
}

void smtp_cache_key(const struct smtp_req *r, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s%s%s:%u", r->use_mx ? "" : "[", buf_cstr(&r->host), r->use_mx ? "" : "]",
		   r->port);
}

struct smtp_sess *smtp_cache_take(struct smtp_agent *a, const char *key)
{
	for (struct smtp_sess **pp = &a->cache; *pp != NULL; pp = smtp_sess_nextp(*pp)) {
		struct smtp_sess *s = *pp;

		if (strcmp(smtp_sess_key(s), key) == 0) {
			*pp = *smtp_sess_nextp(s);
			*smtp_sess_nextp(s) = NULL;
			return s;
		}
	}
	return NULL;
}

void smtp_cache_put(struct smtp_agent *a, struct smtp_sess *s)
{
	*smtp_sess_nextp(s) = a->cache;
	a->cache = s;
}

void smtp_cache_remove(struct smtp_agent *a, struct smtp_sess *s)
{
	for (struct smtp_sess **pp = &a->cache; *pp != NULL; pp = smtp_sess_nextp(*pp)) {
		if (*pp == s) {
			*pp = *smtp_sess_nextp(s);
			*smtp_sess_nextp(s) = NULL;
			return;
		}
	}
}
