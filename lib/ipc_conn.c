/*
 * ipc_conn.c - async internal-protocol connections in a libevent loop:
 * HELLO handshake, one callback per frame, descriptor passing.
 * Touches:  the UNIX socket it owns; descriptors passed in and out.
 * Input:    untrusted: frames from another daemon; sizes are capped
 *           (max frame, IPC_CONN_MAX_FDS queued descriptors).
 * Security: any process.  Reading is done with recvmsg(2) and a control
 *           buffer, always: read(2) on a socket with SCM_RIGHTS pending
 *           would silently close the passed descriptors, which is why this
 *           does not use a bufferevent.  Passed descriptors arrive with
 *           MSG_CMSG_CLOEXEC.
 * Errors:   a bad frame logs a warning naming the peer, sends IPC_ERROR
 *           and closes; on_close reports why.  Never aborts on peer data.
 * See:      docs/ipc.md "Descriptor passing", lib/ipc.h.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "ipc.h"
#include "log.h"
#include "xmem.h"

/* IPC_CONN_MAX_FDS - received descriptors waiting for their frame. */
#define IPC_CONN_MAX_FDS 16
/* READ_CHUNK - bytes asked of one recvmsg. */
#define READ_CHUNK 16384

struct out_fd {
	size_t off;   /* byte of conn->out the descriptor travels with */
	int fd;       /* our duplicate, closed once sent */
};

struct ipc_conn {
	struct event_base *base;
	int fd;
	const struct ipc_proto *proto;
	char *peer;
	ipc_msg_cb *on_msg;
	ipc_close_cb *on_close;
	void *arg;
	struct event *rev;
	struct event *wev;
	struct buf in;
	struct buf out;
	size_t out_off;             /* bytes of out already written */
	struct out_fd *out_fds;     /* in offset order */
	size_t n_out_fds;
	int in_fds[IPC_CONN_MAX_FDS];
	size_t n_in_fds;
	size_t max_frame;
	unsigned int timeout_ms;
	bool ready;                 /* peer's HELLO matched */
	bool closing;               /* close once out is written */
	bool ended;                 /* on_close ran or free was asked */
	bool dead;                  /* free when the last handler returns */
	int busy;                   /* handlers on the stack */
	char *why;                  /* reason for a pending close */
};

/* conn_destroy - release everything now. */
static void conn_destroy(struct ipc_conn *c)
{
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	for (size_t i = 0; i < c->n_in_fds; i++)
		close(c->in_fds[i]);
	for (size_t i = 0; i < c->n_out_fds; i++)
		close(c->out_fds[i].fd);
	xfree(&c->out_fds);
	buf_deinit(&c->in);
	buf_deinit(&c->out);
	xfree(&c->peer);
	xfree(&c->why);
	free(c);
}

/* conn_leave - the end of a handler: free a conn that died meanwhile. */
static void conn_leave(struct ipc_conn *c)
{
	if (--c->busy == 0 && c->dead)
		conn_destroy(c);
}

/* conn_end - the connection is over: stop events, tell the owner once. */
static void conn_end(struct ipc_conn *c, const char *why)
{
	if (c->ended)
		return;
	c->ended = true;
	event_del(c->rev);
	event_del(c->wev);
	if (c->on_close != NULL) {
		c->busy++;
		c->on_close(c, why, c->arg);
		c->busy--;
	}
	c->dead = true;
}

/* arm_read - (re)start reading with the idle timeout. */
static void arm_read(struct ipc_conn *c)
{
	struct timeval tv = { c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000 };

	if (!c->closing && !c->ended)
		event_add(c->rev, c->timeout_ms ? &tv : NULL);
}

/* arm_write - (re)start writing; the idle timeout also bounds a peer that
 * stops reading. */
static void arm_write(struct ipc_conn *c)
{
	struct timeval tv = { c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000 };

	if (!c->ended)
		event_add(c->wev, c->timeout_ms ? &tv : NULL);
}

/* queue_frame - append a finished frame (and its descriptor) to out. */
static void queue_frame(struct ipc_conn *c, const struct buf *frame, int dupfd)
{
	if (dupfd >= 0) {
		c->out_fds = xreallocarray(c->out_fds, c->n_out_fds + 1, sizeof(*c->out_fds));
		c->out_fds[c->n_out_fds].off = c->out.len;
		c->out_fds[c->n_out_fds++].fd = dupfd;
	}
	buf_add(&c->out, frame->data, frame->len);
	if (!event_pending(c->wev, EV_WRITE, NULL))
		arm_write(c);
}

void ipc_conn_close_after_write(struct ipc_conn *c, const char *why)
{
	if (c->closing || c->ended)
		return;
	c->closing = true;
	c->why = xstrdup(why);
	event_del(c->rev);
	arm_write(c);
}

int ipc_reject(struct ipc_conn *c, const char *fmt, ...)
{
	struct buf why = BUF_INIT;
	struct ipc_msg msg;
	struct err err;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&why, fmt, ap);
	va_end(ap);
	log_warn("ipc: %s peer %s: %s; closing", c->proto->name, c->peer, buf_cstr(&why));
	if (!c->closing && !c->ended) {
		ipc_msg_init(&msg, IPC_ERROR, 0);
		ipc_put_str(&msg, "reason", buf_cstr(&why));
		if (ipc_msg_finish(&msg, &err) == 0)
			queue_frame(c, &msg.frame, -1);
		ipc_msg_deinit(&msg);
		ipc_conn_close_after_write(c, buf_cstr(&why));
	}
	buf_deinit(&why);
	return -1;
}

/* take_fds - keep the descriptors that came with a read. */
static int take_fds(struct ipc_conn *c, struct msghdr *mh)
{
	int rc = 0;

	if (mh->msg_flags & MSG_CTRUNC)
		rc = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			/* UNSAFE: i < n, derived from cmsg_len inside the buffer */
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->n_in_fds < IPC_CONN_MAX_FDS) {
				c->in_fds[c->n_in_fds++] = fd;
			} else {
				close(fd);
				rc = -1;
			}
		}
	}
	return rc;
}

/* deliver - one parsed frame: handshake, descriptor, callback.  Returns
 * -1 when the connection stops reading. */
static int deliver(struct ipc_conn *c, struct ipc_msg *msg)
{
	struct err err;
	int fd = -1;

	if (!c->ready) {
		if (msg->type == IPC_ERROR) {
			const char *why = "(no reason)";

			(void)ipc_get(msg, 0, IPC_STR("reason", &why), IPC_END);
			log_warn("ipc: %s peer %s refused us: %.200s", c->proto->name, c->peer,
				 why);
			conn_end(c, why);
			return -1;
		}
		if (ipc_hello_check(c->proto, msg, &err) < 0)
			return ipc_reject(c, "%s", err.msg);
		c->ready = true;
		return 0;
	}
	if (msg->type == IPC_HELLO)
		return ipc_reject(c, "HELLO after the handshake");
	if (ipc_proto_has_fd(c->proto, msg->type)) {
		if (c->n_in_fds == 0)
			return ipc_reject(c, "message type %u without its descriptor", msg->type);
		fd = c->in_fds[0];
		memmove(c->in_fds, c->in_fds + 1, --c->n_in_fds * sizeof(int));
	}
	c->on_msg(c, msg, fd, c->arg);
	return c->closing || c->ended ? -1 : 0;
}

/* parse_frames - hand every whole frame in c->in to deliver. */
static void parse_frames(struct ipc_conn *c)
{
	size_t off = 0, size = 0;
	struct err err;
	int rc;

	while (!c->closing && !c->ended) {
		struct ipc_msg msg;

		rc = ipc_frame_size(c->in.data + off, c->in.len - off, c->max_frame, &size, &err);
		if (rc < 0) {
			ipc_reject(c, "bad frame: %s", err.msg);
			break;
		}
		if (rc == 0 || c->in.len - off < size)
			break;
		rc = ipc_parse(c->in.data + off, size, c->max_frame, &msg, &err);
		off += size;
		if (rc < 0)
			ipc_reject(c, "bad frame: %s", err.msg);
		else if (deliver(c, &msg) == 0)
			arm_read(c);
		ipc_msg_deinit(&msg);
	}
	if (!c->dead)
		buf_consume(&c->in, off);
}

/* read_cb - data, descriptors, EOF or the idle timeout. */
static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_conn *c = arg;
	char cbuf[CMSG_SPACE(sizeof(int) * IPC_CONN_MAX_FDS)];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	c->busy++;
	if (what & EV_TIMEOUT) {
		log_warn("ipc: %s peer %s: timeout", c->proto->name, c->peer);
		conn_end(c, "timeout");
		conn_leave(c);
		return;
	}
	iov.iov_base = buf_reserve(&c->in, READ_CHUNK);
	iov.iov_len = READ_CHUNK;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		conn_leave(c);
		return;
	}
	if (r < 0) {
		log_warn("ipc: %s peer %s: read: %s", c->proto->name, c->peer, strerror(errno));
		conn_end(c, strerror(errno));
	} else if (take_fds(c, &mh) < 0) {
		ipc_reject(c, "too many descriptors");
	} else if (r == 0) {
		if (c->in.len > 0)
			log_warn("ipc: %s peer %s: EOF inside a frame", c->proto->name, c->peer);
		else
			log_debug("ipc: %s peer %s: EOF", c->proto->name, c->peer);
		conn_end(c, "EOF");
	} else {
		buf_commit(&c->in, (size_t)r);
		parse_frames(c);
	}
	conn_leave(c);
}

/* write_some - one send or sendmsg; returns bytes written or -1/errno. */
static ssize_t write_some(struct ipc_conn *c)
{
	size_t end = c->out.len;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	bool with_fd = c->n_out_fds > 0 && c->out_fds[0].off == c->out_off;

	if (c->n_out_fds > (with_fd ? 1u : 0u))
		end = c->out_fds[with_fd ? 1 : 0].off;
	iov.iov_base = c->out.data + c->out_off;
	iov.iov_len = end - c->out_off;
	if (with_fd) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &c->out_fds[0].fd, sizeof(int));
	}
	return sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* write_cb - write queued frames; finish a pending close. */
static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_conn *c = arg;
	size_t before = c->out_off;

	c->busy++;
	if (what & EV_TIMEOUT) {
		log_warn("ipc: %s peer %s: write timeout", c->proto->name, c->peer);
		conn_end(c, "write timeout");
		conn_leave(c);
		return;
	}
	while (c->out_off < c->out.len) {
		bool with_fd = c->n_out_fds > 0 && c->out_fds[0].off == c->out_off;
		ssize_t w = write_some(c);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (w < 0 && c->closing) {
			/* the peer went first; the reason we were closing stands */
			log_debug("ipc: %s peer %s: write: %s", c->proto->name, c->peer,
				  strerror(errno));
			conn_end(c, c->why);
			break;
		}
		if (w < 0) {
			log_warn("ipc: %s peer %s: write: %s", c->proto->name, c->peer,
				 strerror(errno));
			conn_end(c, strerror(errno));
			break;
		}
		if (with_fd) {
			close(c->out_fds[0].fd);
			memmove(c->out_fds, c->out_fds + 1, --c->n_out_fds * sizeof(*c->out_fds));
		}
		c->out_off += (size_t)w;
	}
	if (!c->ended && c->out_off == c->out.len) {
		buf_reset(&c->out);
		c->out_off = 0;
		event_del(c->wev);
		if (c->closing)
			conn_end(c, c->why);
	} else if (!c->ended && c->out_off > before) {
		arm_write(c);   /* progress: restart the timeout */
		if (c->out_off > READ_CHUNK * 4 && c->out_off > c->out.len / 2) {
			buf_consume(&c->out, c->out_off);
			for (size_t i = 0; i < c->n_out_fds; i++)
				c->out_fds[i].off -= c->out_off;
			c->out_off = 0;
		}
	}
	conn_leave(c);
}

struct ipc_conn *ipc_conn_new(struct event_base *base, int fd, const struct ipc_proto *proto,
			      const char *peer, ipc_msg_cb *on_msg, ipc_close_cb *on_close,
			      void *arg)
{
	struct ipc_conn *c = xcalloc(1, sizeof(*c));
	struct ipc_msg hello;
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	c->base = base;
	c->fd = fd;
	c->proto = proto;
	c->peer = xstrdup(peer);
	c->on_msg = on_msg;
	c->on_close = on_close;
	c->arg = arg;
	c->max_frame = IPC_MAX_FRAME;
	buf_init(&c->in, 0);
	buf_init(&c->out, 0);
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, write_cb, c);
	if (c->rev == NULL || c->wev == NULL)
		log_fatal("ipc: event_new failed");
	ipc_hello_build(proto, &hello);
	queue_frame(c, &hello.frame, -1);
	ipc_msg_deinit(&hello);
	arm_read(c);
	return c;
}

void ipc_conn_free(struct ipc_conn **connp)
{
	struct ipc_conn *c = *connp;

	if (c == NULL)
		return;
	*connp = NULL;
	c->ended = true;
	c->dead = true;
	event_del(c->rev);
	event_del(c->wev);
	if (c->busy == 0)
		conn_destroy(c);
}

void ipc_conn_set_max_frame(struct ipc_conn *c, size_t max_frame)
{
	c->max_frame = max_frame > IPC_MAX_FRAME_HARD ? IPC_MAX_FRAME_HARD : max_frame;
	if (c->max_frame < IPC_HDR_LEN)
		c->max_frame = IPC_HDR_LEN;
}

void ipc_conn_set_timeout(struct ipc_conn *c, unsigned int msec)
{
	c->timeout_ms = msec;
	arm_read(c);
	if (event_pending(c->wev, EV_WRITE, NULL))
		arm_write(c);
}

const char *ipc_conn_peer(const struct ipc_conn *c)
{
	return c->peer;
}

bool ipc_conn_ready(const struct ipc_conn *c)
{
	return c->ready;
}

size_t ipc_conn_pending(const struct ipc_conn *c)
{
	return c->out.len - c->out_off;
}

/* check_send - can msg go out on c? */
static int check_send(struct ipc_conn *c, const struct ipc_msg *msg, bool with_fd,
		      struct err *err)
{
	if (c->closing || c->ended)
		return err_set(err, "ipc: %s peer %s: connection is closing", c->proto->name,
			       c->peer);
	if (!msg->finished)
		return err_set(err, "ipc: message not finished");
	if (msg->frame.len > c->max_frame)
		return err_set(err, "ipc: frame of %zu bytes over the limit of %zu",
			       msg->frame.len, c->max_frame);
	if (ipc_proto_has_fd(c->proto, msg->type) != with_fd)
		return err_set(err, "ipc: message type %u %s a descriptor", msg->type,
			       with_fd ? "does not carry" : "needs");
	return 0;
}

int ipc_send(struct ipc_conn *c, const struct ipc_msg *msg, struct err *err)
{
	if (check_send(c, msg, false, err) < 0)
		return -1;
	queue_frame(c, &msg->frame, -1);
	return 0;
}

int ipc_send_fd(struct ipc_conn *c, const struct ipc_msg *msg, int fd, struct err *err)
{
	int dupfd;

	if (check_send(c, msg, true, err) < 0)
		return -1;
	if ((dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return err_set_code(err, errno, "ipc: dup: %s", strerror(errno));
	queue_frame(c, &msg->frame, dupfd);
	return 0;
}
