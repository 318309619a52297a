/*
 * ipc.c - the internal protocol's frames: builder, parser, HELLO and the
 * blocking client (the async connection is in ipc_conn.c).
 * Touches:  the builder and parser touch only their arguments; the
 *           blocking client reads and writes the descriptor it is given.
 * Input:    untrusted: frames come from other daemons, which may be
 *           compromised; every length is checked before it is used.
 * Security: any process; no privileges needed.
 * Errors:   -1 with err filled; never aborts on peer data.
 * See:      docs/ipc.md, Postfix attr_scan0.c, OpenSMTPD mproc.c.
 */
#include "sys.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ipc.h"
#include "log.h"
#include "xmem.h"

/* put_be16/32/64, get_be16/32/64 - network byte order. */
static void put_be16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint16_t get_be16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t get_be64(const unsigned char *p)
{
	return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

/* name_ok - 1..IPC_NAME_MAX bytes of [a-z0-9_]. */
static bool name_ok(const unsigned char *name, size_t len)
{
	if (len == 0 || len > IPC_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

void ipc_msg_init(struct ipc_msg *msg, uint16_t type, uint32_t reqid)
{
	memset(msg, 0, sizeof(*msg));
	msg->version = IPC_FRAME_VERSION;
	msg->type = type;
	msg->reqid = reqid;
	msg->max_frame = IPC_MAX_FRAME;
	buf_init(&msg->frame, 0);
	buf_init(&msg->store, 0);
	buf_add(&msg->frame, "\0\0\0\0", 4);
	unsigned char *p = (unsigned char *)buf_reserve(&msg->frame, 8);
	put_be16(p, msg->version);
	put_be16(p + 2, type);
	put_be32(p + 4, reqid);
	buf_commit(&msg->frame, 8);
}

void ipc_msg_set_max(struct ipc_msg *msg, size_t max_frame)
{
	msg->max_frame = max_frame > IPC_MAX_FRAME_HARD ? IPC_MAX_FRAME_HARD : max_frame;
}

void ipc_msg_deinit(struct ipc_msg *msg)
{
	buf_deinit(&msg->frame);
	buf_deinit(&msg->store);
	xfree(&msg->attrs);
	msg->nattrs = 0;
	msg->finished = false;
}

/* put_attr - append one attribute to a frame being built; the first
 * problem sticks in msg->err. */
static void put_attr(struct ipc_msg *msg, const char *name, uint8_t kind, const void *value,
		     size_t vlen)
{
	size_t nlen = strlen(name);
	unsigned char hdr[1 + IPC_NAME_MAX + 1 + 4];

	if (msg->err.msg[0] != '\0')
		return;
	if (msg->finished) {
		err_set(&msg->err, "attribute %.40s added after finish", name);
		return;
	}
	if (!name_ok((const unsigned char *)name, nlen)) {
		err_set(&msg->err, "bad attribute name \"%.40s\"", name);
		return;
	}
	if (msg->nattrs >= IPC_MAX_ATTRS) {
		err_set(&msg->err, "more than %d attributes", IPC_MAX_ATTRS);
		return;
	}
	if (vlen > IPC_MAX_FRAME_HARD) {
		err_set(&msg->err, "attribute %s too large", name);
		return;
	}
	/* names seen so far live in store, NUL-separated, to catch duplicates */
	for (size_t off = 0; off < msg->store.len; off += strlen(msg->store.data + off) + 1)
		if (strcmp(msg->store.data + off, name) == 0) {
			err_set(&msg->err, "duplicate attribute %s", name);
			return;
		}
	buf_add(&msg->store, name, nlen + 1);
	msg->nattrs++;
	hdr[0] = (unsigned char)nlen;
	memcpy(hdr + 1, name, nlen);
	hdr[1 + nlen] = kind;
	put_be32(hdr + 2 + nlen, (uint32_t)vlen);
	buf_add(&msg->frame, hdr, nlen + 6);
	if (vlen > 0)
		buf_add(&msg->frame, value, vlen);
}

void ipc_put_str(struct ipc_msg *msg, const char *name, const char *value)
{
	put_attr(msg, name, IPC_KIND_STR, value, strlen(value));
}

void ipc_put_strn(struct ipc_msg *msg, const char *name, const char *value, size_t len)
{
	if (memchr(value, '\0', len) != NULL) {
		if (msg->err.msg[0] == '\0')
			err_set(&msg->err, "NUL inside string attribute %.40s", name);
		return;
	}
	put_attr(msg, name, IPC_KIND_STR, value, len);
}

void ipc_put_u32(struct ipc_msg *msg, const char *name, uint32_t value)
{
	unsigned char v[4];

	put_be32(v, value);
	put_attr(msg, name, IPC_KIND_U32, v, sizeof(v));
}

void ipc_put_u64(struct ipc_msg *msg, const char *name, uint64_t value)
{
	unsigned char v[8];

	put_be64(v, value);
	put_attr(msg, name, IPC_KIND_U64, v, sizeof(v));
}

void ipc_put_data(struct ipc_msg *msg, const char *name, const void *data, size_t len)
{
	put_attr(msg, name, IPC_KIND_DATA, data, len);
}

int ipc_msg_finish(struct ipc_msg *msg, struct err *err)
{
	if (msg->err.msg[0] != '\0')
		return err_set(err, "ipc: %s", msg->err.msg);
	if (msg->frame.len > msg->max_frame)
		return err_set(err, "ipc: frame of %zu bytes over the limit of %zu",
			       msg->frame.len, msg->max_frame);
	put_be32((unsigned char *)msg->frame.data, (uint32_t)(msg->frame.len - 4));
	msg->finished = true;
	return 0;
}

int ipc_frame_size(const void *data, size_t avail, size_t max_frame, size_t *size_r,
		   struct err *err)
{
	uint32_t len;

	if (avail < 4)
		return 0;
	len = get_be32(data);
	if (len < IPC_HDR_LEN - 4)
		return err_set(err, "frame length %u under the minimum", len);
	if ((size_t)len + 4 > max_frame)
		return err_set(err, "frame length %u over the limit of %zu", len, max_frame);
	*size_r = (size_t)len + 4;
	return 1;
}

int ipc_parse(const void *frame, size_t len, size_t max_frame, struct ipc_msg *msg_r,
	      struct err *err)
{
	const unsigned char *p = frame, *end;
	size_t size, n = 0;
	int rc;

	memset(msg_r, 0, sizeof(*msg_r));
	buf_init(&msg_r->frame, 0);
	buf_init(&msg_r->store, 0);
	rc = ipc_frame_size(frame, len, max_frame, &size, err);
	if (rc < 0)
		return -1;
	if (rc == 0 || len < IPC_HDR_LEN || size > len)
		return err_set(err, "truncated frame (%zu bytes)", len);
	if (size < len)
		return err_set(err, "%zu bytes after the frame", len - size);
	msg_r->version = get_be16(p + 4);
	msg_r->type = get_be16(p + 6);
	msg_r->reqid = get_be32(p + 8);
	if (msg_r->version != IPC_FRAME_VERSION)
		return err_set(err, "frame version %u, expected %u", msg_r->version,
			       IPC_FRAME_VERSION);
	end = p + len;
	p += IPC_HDR_LEN;
	/* each attribute needs at least 7 bytes, so this bounds the array */
	msg_r->attrs = xcalloc((size_t)(end - p) / 7 + 1, sizeof(*msg_r->attrs));
	/* names and values are copied with a NUL after each: store never
	 * grows past len + 2 per attribute, reserved now so pointers stay */
	buf_reserve(&msg_r->store, len + 2 * ((size_t)(end - p) / 7 + 1));
	while (p < end) {
		struct ipc_attr *a = &msg_r->attrs[n];
		size_t nlen, off;
		uint32_t vlen;

		if (n >= IPC_MAX_ATTRS)
			return err_set(err, "more than %d attributes", IPC_MAX_ATTRS);
		/* UNSAFE: each read below is preceded by a check against end */
		nlen = p[0];
		if ((size_t)(end - p) < 1 + nlen + 5)
			return err_set(err, "truncated attribute %zu", n + 1);
		if (!name_ok(p + 1, nlen))
			return err_set(err, "bad name in attribute %zu", n + 1);
		a->kind = p[1 + nlen];
		vlen = get_be32(p + 2 + nlen);
		if ((size_t)(end - p) - (nlen + 6) < vlen)
			return err_set(err, "truncated value in attribute %zu", n + 1);
		off = msg_r->store.len;
		buf_add(&msg_r->store, p + 1, nlen);
		buf_addc(&msg_r->store, '\0');
		a->name = msg_r->store.data + off;
		a->name_len = (uint8_t)nlen;
		for (size_t i = 0; i < n; i++)
			if (strcmp(msg_r->attrs[i].name, a->name) == 0)
				return err_set(err, "duplicate attribute %s", a->name);
		p += nlen + 6;
		switch (a->kind) {
		case IPC_KIND_STR:
			if (memchr(p, '\0', vlen) != NULL)
				return err_set(err, "NUL in string attribute %s", a->name);
			break;
		case IPC_KIND_U32:
			if (vlen != 4)
				return err_set(err, "U32 attribute %s of %u bytes", a->name, vlen);
			break;
		case IPC_KIND_U64:
			if (vlen != 8)
				return err_set(err, "U64 attribute %s of %u bytes", a->name, vlen);
			break;
		case IPC_KIND_DATA:
			break;
		default:
			return err_set(err, "bad kind %u in attribute %s", a->kind, a->name);
		}
		off = msg_r->store.len;
		buf_add(&msg_r->store, p, vlen);
		buf_addc(&msg_r->store, '\0');
		a->value = (const unsigned char *)msg_r->store.data + off;
		a->vlen = vlen;
		p += vlen;
		msg_r->nattrs = ++n;
	}
	return 0;
}

const struct ipc_attr *ipc_find(const struct ipc_msg *msg, const char *name)
{
	for (size_t i = 0; i < msg->nattrs; i++)
		if (strcmp(msg->attrs[i].name, name) == 0)
			return &msg->attrs[i];
	return NULL;
}

int ipc_get(struct ipc_msg *msg, int flags, ...)
{
	const char *wanted[IPC_MAX_ATTRS];
	size_t nwanted = 0;
	int found = 0, kind, rc = 0;
	va_list ap;

	err_clear(&msg->err);
	va_start(ap, flags);
	while ((kind = va_arg(ap, int)) != IPC_END) {
		const char *name = va_arg(ap, const char *);
		const struct ipc_attr *a = ipc_find(msg, name);
		const char **strp = NULL;
		uint32_t *u32p = NULL;
		uint64_t *u64p = NULL;
		const void **datap = NULL;
		size_t *lenp = NULL;

		switch (kind) {
		case IPC_KIND_STR:
			strp = va_arg(ap, const char **);
			break;
		case IPC_KIND_U32:
			u32p = va_arg(ap, uint32_t *);
			break;
		case IPC_KIND_U64:
			u64p = va_arg(ap, uint64_t *);
			break;
		case IPC_KIND_DATA:
			datap = va_arg(ap, const void **);
			lenp = va_arg(ap, size_t *);
			break;
		default:
			log_panic("ipc_get: bad request kind %d for %s", kind, name);
		}

		if (nwanted < N_ELEMENTS(wanted))
			wanted[nwanted++] = name;
		if (a == NULL || rc < 0)
			continue;
		if (a->kind != kind) {
			err_set(&msg->err, "attribute %s has kind %u, expected %d", name, a->kind,
				kind);
			rc = -1;
			continue;
		}
		if (strp != NULL)
			*strp = (const char *)a->value;
		else if (u32p != NULL)
			*u32p = get_be32(a->value);
		else if (u64p != NULL)
			*u64p = get_be64(a->value);
		else {
			*datap = a->value;
			*lenp = a->vlen;
		}
		found++;
	}
	va_end(ap);
	if (rc < 0)
		return -1;
	if (flags & IPC_STRICT)
		for (size_t i = 0; i < msg->nattrs; i++) {
			size_t j;

			for (j = 0; j < nwanted; j++)
				if (strcmp(wanted[j], msg->attrs[i].name) == 0)
					break;
			if (j == nwanted)
				return err_set(&msg->err, "unexpected attribute %s",
					       msg->attrs[i].name);
		}
	return found;
}

bool ipc_proto_has_fd(const struct ipc_proto *proto, uint16_t type)
{
	for (size_t i = 0; i < proto->n_fd_types; i++)
		if (proto->fd_types[i] == type)
			return true;
	return false;
}

void ipc_hello_build(const struct ipc_proto *proto, struct ipc_msg *msg_r)
{
	struct err err;

	ipc_msg_init(msg_r, IPC_HELLO, 0);
	ipc_put_str(msg_r, "protocol", proto->name);
	ipc_put_u32(msg_r, "version", proto->version);
	if (ipc_msg_finish(msg_r, &err) < 0)
		log_panic("ipc: cannot build HELLO for %s: %s", proto->name, err.msg);
}

int ipc_hello_check(const struct ipc_proto *proto, struct ipc_msg *msg, struct err *err)
{
	const char *name = NULL;
	uint32_t version = 0;

	if (msg->type != IPC_HELLO)
		return err_set(err, "protocol mismatch: expected HELLO for %s, got type %u",
			       proto->name, msg->type);
	if (ipc_get(msg, 0, IPC_STR("protocol", &name), IPC_U32("version", &version),
		    IPC_END) != 2)
		return err_set(err, "protocol mismatch: malformed HELLO (expected %s version %u)",
			       proto->name, proto->version);
	if (strcmp(name, proto->name) != 0 || version != proto->version)
		return err_set(err, "protocol mismatch: peer speaks %.64s version %u, "
			       "expected %s version %u", name, version, proto->name,
			       proto->version);
	return 0;
}

/*
 * The blocking client.
 */

/* now_ms - monotonic clock in milliseconds. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_fd - poll fd for events until deadline; 0 ready, -1 with err. */
static int wait_fd(int fd, short events, int64_t deadline, struct err *err)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return err_set_code(err, ETIMEDOUT, "ipc: timed out");
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return err_set_code(err, errno, "ipc: poll: %s", strerror(errno));
	}
}

/* write_all - write n bytes before deadline. */
static int write_all(int fd, const void *data, size_t n, int64_t deadline, struct err *err)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline, err) < 0)
				return -1;
		} else if (w < 0 && errno != EINTR) {
			return err_set_code(err, errno, "ipc: write: %s", strerror(errno));
		}
	}
	return 0;
}

/* read_exact - read n bytes into b before deadline; descriptors that come
 * along are closed (the blocking client does not take any). */
static int read_exact(int fd, struct buf *b, size_t n, int64_t deadline, struct err *err)
{
	while (n > 0) {
		char *p = buf_reserve(b, n);
		char cbuf[CMSG_SPACE(sizeof(int) * 4)];
		struct iovec iov = { .iov_base = p, .iov_len = n };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t r;

		if (wait_fd(fd, POLLIN, deadline, err) < 0)
			return -1;
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (r < 0)
			return err_set_code(err, errno, "ipc: read: %s", strerror(errno));
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				int fds[4];

				memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
				for (size_t i = 0; i < nfd; i++)
					close(fds[i]);
			}
		if (r == 0)
			return err_set_code(err, EPIPE, "ipc: connection closed by peer");
		buf_commit(b, (size_t)r);
		n -= (size_t)r;
	}
	return 0;
}

/* read_frame - read one frame and parse it. */
static int read_frame(int fd, struct ipc_msg *msg_r, size_t max_frame, int64_t deadline,
		      struct err *err)
{
	struct buf b = BUF_INIT;
	size_t size = 0;
	int rc = -1;

	memset(msg_r, 0, sizeof(*msg_r));
	if (read_exact(fd, &b, 4, deadline, err) == 0) {
		struct err why;

		if (ipc_frame_size(b.data, b.len, max_frame, &size, &why) < 0)
			err_set(err, "ipc: bad frame: %s", why.msg);
		else if (read_exact(fd, &b, size - 4, deadline, err) == 0)
			rc = ipc_parse(b.data, b.len, max_frame, msg_r, err);
	}
	buf_deinit(&b);
	return rc;
}

int ipc_write_msg(int fd, const struct ipc_msg *msg, int timeout_msec, struct err *err)
{
	if (!msg->finished)
		return err_set(err, "ipc: message not finished");
	return write_all(fd, msg->frame.data, msg->frame.len, now_ms() + timeout_msec, err);
}

int ipc_read_msg(int fd, struct ipc_msg *msg_r, size_t max_frame, int timeout_msec,
		 struct err *err)
{
	return read_frame(fd, msg_r, max_frame, now_ms() + timeout_msec, err);
}

int ipc_hello(int fd, const struct ipc_proto *proto, int timeout_msec, struct err *err)
{
	int64_t deadline = now_ms() + timeout_msec;
	struct ipc_msg hello, peer;
	int rc;

	ipc_hello_build(proto, &hello);
	rc = write_all(fd, hello.frame.data, hello.frame.len, deadline, err);
	ipc_msg_deinit(&hello);
	if (rc < 0)
		return -1;
	rc = read_frame(fd, &peer, IPC_MAX_FRAME, deadline, err);
	if (rc == 0 && peer.type == IPC_ERROR) {
		const char *why = "(no reason)";

		(void)ipc_get(&peer, 0, IPC_STR("reason", &why), IPC_END);
		rc = err_set(err, "ipc: peer refused HELLO: %.200s", why);
	} else if (rc == 0 && ipc_hello_check(proto, &peer, err) < 0) {
		rc = -1;
	}
	ipc_msg_deinit(&peer);
	return rc;
}

int ipc_connect_unix(const char *path, const struct ipc_proto *proto, int timeout_msec,
		     struct err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int64_t deadline = now_ms() + timeout_msec;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(err, "ipc: socket path too long: %.100s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set_code(err, errno, "ipc: socket: %s", strerror(errno));
	/* AF_UNIX connect says EAGAIN when the listen queue is full: retry */
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && now_ms() < deadline) {
			(void)poll(NULL, 0, 10);
			continue;
		}
		err_set_code(err, errno, "ipc: connect %.100s: %s", path,
			     errno == EAGAIN ? "timed out" : strerror(errno));
		close(fd);
		return -1;
	}
	if (ipc_hello(fd, proto, (int)(deadline - now_ms()), err) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int ipc_call(int fd, const struct ipc_msg *req, struct ipc_msg *reply_r, int timeout_msec,
	     struct err *err)
{
	int64_t deadline = now_ms() + timeout_msec;

	memset(reply_r, 0, sizeof(*reply_r));
	if (!req->finished)
		return err_set(err, "ipc: message not finished");
	if (write_all(fd, req->frame.data, req->frame.len, deadline, err) < 0)
		return -1;
	if (read_frame(fd, reply_r, IPC_MAX_FRAME, deadline, err) < 0)
		return -1;
	if (reply_r->reqid != req->reqid)
		return err_set(err, "ipc: reply for request %u, expected %u", reply_r->reqid,
			       req->reqid);
	if (reply_r->type == IPC_ERROR) {
		const char *why = "(no reason)";

		(void)ipc_get(reply_r, 0, IPC_STR("reason", &why), IPC_END);
		return err_set(err, "ipc: request refused: %.200s", why);
	}
	return 0;
}
