/*
 * test_ipc.c - unit tests for lib/ipc.c and lib/ipc_conn.c: frame round
 * trips, every malformed frame, the async reader fed one byte at a time,
 * HELLO mismatches, descriptor passing and the blocking client's timeouts.
 * Touches:  socketpairs, a UNIX socket in a temporary directory, one child
 *           process (the blocking client against the async server).
 */
#include "sys.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <event2/event.h>

#include "buf.h"
#include "ipc.h"
#include "log.h"

enum { T_PING = IPC_TYPE_FIRST, T_PONG, T_FILE };

static const uint16_t test_fd_types[] = { T_FILE };
static const struct ipc_proto proto_v1 = { "test", 1, test_fd_types, 1 };
static const struct ipc_proto proto_v2 = { "test", 2, test_fd_types, 1 };
static const struct ipc_proto proto_other = { "other", 1, NULL, 0 };

/* Raw frame construction for the malformed cases. */
static void raw_begin(struct buf *b, uint16_t version, uint16_t type, uint32_t reqid)
{
	unsigned char h[12] = { 0, 0, 0, 0, version >> 8, version & 0xff, type >> 8,
				type & 0xff, reqid >> 24, (reqid >> 16) & 0xff,
				(reqid >> 8) & 0xff, reqid & 0xff };

	buf_reset(b);
	buf_add(b, h, sizeof(h));
}

static void raw_attr(struct buf *b, const char *name, size_t nlen, int kind, uint32_t vlen,
		     const void *value, size_t have)
{
	unsigned char v[4] = { vlen >> 24, (vlen >> 16) & 0xff, (vlen >> 8) & 0xff,
			       vlen & 0xff };

	buf_addc(b, (char)nlen);
	buf_add(b, name, nlen);
	buf_addc(b, (char)kind);
	buf_add(b, v, 4);
	if (have > 0)
		buf_add(b, value, have);
}

static void raw_end(struct buf *b)
{
	uint32_t n = (uint32_t)b->len - 4;
	unsigned char *p = (unsigned char *)b->data;

	p[0] = n >> 24;
	p[1] = (n >> 16) & 0xff;
	p[2] = (n >> 8) & 0xff;
	p[3] = n & 0xff;
}

static void expect_bad(const struct buf *b, size_t len, const char *want)
{
	struct ipc_msg msg;
	struct err err;

	assert_int_equal(ipc_parse(b->data, len, IPC_MAX_FRAME, &msg, &err), -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
	ipc_msg_deinit(&msg);
}

static void test_round_trip(void **state)
{
	struct ipc_msg m, p;
	struct err err;
	const char bin[] = { 'a', '\0', 'b' };
	const char *s = NULL, *empty = NULL;
	uint32_t u32 = 0;
	uint64_t u64 = 0;
	const void *data = NULL;
	size_t dlen = 0;

	ipc_msg_init(&m, T_PING, 77);
	ipc_put_str(&m, "queue_id", "4XyZ12");
	ipc_put_str(&m, "empty", "");
	ipc_put_u32(&m, "count", 0xdeadbeef);
	ipc_put_u64(&m, "offset", 0x0102030405060708ULL);
	ipc_put_data(&m, "blob", bin, sizeof(bin));
	assert_int_equal(ipc_msg_finish(&m, &err), 0);
	assert_int_equal(ipc_parse(m.frame.data, m.frame.len, IPC_MAX_FRAME, &p, &err), 0);
	assert_int_equal(p.type, T_PING);
	assert_int_equal(p.reqid, 77);
	assert_int_equal(p.nattrs, 5);
	assert_int_equal(ipc_get(&p, IPC_STRICT, IPC_STR("queue_id", &s), IPC_STR("empty", &empty),
				 IPC_U32("count", &u32), IPC_U64("offset", &u64),
				 IPC_DATA("blob", &data, &dlen), IPC_END), 5);
	assert_string_equal(s, "4XyZ12");
	assert_string_equal(empty, "");
	assert_int_equal(u32, 0xdeadbeef);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(dlen, 3);
	assert_memory_equal(data, bin, 3);
	/* non-strict skips unknown names; the count shows what is missing */
	assert_int_equal(ipc_get(&p, 0, IPC_STR("queue_id", &s), IPC_STR("nope", &s), IPC_END), 1);
	/* strict rejects attributes not asked for */
	assert_int_equal(ipc_get(&p, IPC_STRICT, IPC_STR("queue_id", &s), IPC_END), -1);
	assert_non_null(strstr(p.err.msg, "unexpected attribute"));
	/* a kind mismatch is an error */
	assert_int_equal(ipc_get(&p, 0, IPC_U32("queue_id", &u32), IPC_END), -1);
	assert_non_null(ipc_find(&p, "blob"));
	assert_null(ipc_find(&p, "blobs"));
	ipc_msg_deinit(&p);
	ipc_msg_deinit(&m);
}

static void test_builder_errors(void **state)
{
	struct ipc_msg m;
	struct err err;
	char name[16];
	static char big[IPC_MAX_FRAME];

	ipc_msg_init(&m, T_PING, 1);
	ipc_put_str(&m, "Bad", "x");
	assert_int_equal(ipc_msg_finish(&m, &err), -1);
	assert_non_null(strstr(err.msg, "bad attribute name"));
	ipc_msg_deinit(&m);

	ipc_msg_init(&m, T_PING, 1);
	ipc_put_u32(&m, "a", 1);
	ipc_put_u32(&m, "a", 2);
	assert_int_equal(ipc_msg_finish(&m, &err), -1);
	assert_non_null(strstr(err.msg, "duplicate"));
	ipc_msg_deinit(&m);

	ipc_msg_init(&m, T_PING, 1);
	ipc_put_strn(&m, "s", "a\0b", 3);
	assert_int_equal(ipc_msg_finish(&m, &err), -1);
	assert_non_null(strstr(err.msg, "NUL"));
	ipc_msg_deinit(&m);

	ipc_msg_init(&m, T_PING, 1);
	for (int i = 0; i <= IPC_MAX_ATTRS; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		ipc_put_u32(&m, name, (uint32_t)i);
	}
	assert_int_equal(ipc_msg_finish(&m, &err), -1);
	assert_non_null(strstr(err.msg, "more than"));
	ipc_msg_deinit(&m);

	ipc_msg_init(&m, T_PING, 1);
	ipc_put_data(&m, "big", big, sizeof(big));
	assert_int_equal(ipc_msg_finish(&m, &err), -1);
	assert_non_null(strstr(err.msg, "over the limit"));
	ipc_msg_deinit(&m);
}

static void test_malformed(void **state)
{
	struct buf b = BUF_INIT;
	char longname[IPC_NAME_MAX + 1];
	unsigned char u[8] = { 0 };

	memset(longname, 'a', sizeof(longname));
	raw_begin(&b, 1, T_PING, 1);
	raw_end(&b);
	expect_bad(&b, 3, "truncated");
	expect_bad(&b, 8, "truncated");
	/* len under the minimum */
	raw_begin(&b, 1, T_PING, 1);
	b.data[3] = 4;
	expect_bad(&b, b.len, "under the minimum");
	/* len over the maximum */
	raw_begin(&b, 1, T_PING, 1);
	b.data[1] = 1;
	expect_bad(&b, b.len, "over the limit");
	/* len says more than there is */
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, "a", 1, IPC_KIND_U32, 4, u, 4);
	raw_end(&b);
	expect_bad(&b, b.len - 1, "truncated frame");
	/* leftover bytes after the frame */
	buf_addc(&b, 'x');
	expect_bad(&b, b.len, "after the frame");
	raw_begin(&b, 2, T_PING, 1);
	raw_end(&b);
	expect_bad(&b, b.len, "frame version");
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, "Abc", 3, IPC_KIND_U32, 4, u, 4);
	raw_end(&b);
	expect_bad(&b, b.len, "bad name");
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, "a-b", 3, IPC_KIND_U32, 4, u, 4);
	raw_end(&b);
	expect_bad(&b, b.len, "bad name");
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, longname, sizeof(longname), IPC_KIND_U32, 4, u, 4);
	raw_end(&b);
	expect_bad(&b, b.len, "bad name");
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, "", 0, IPC_KIND_U32, 4, u, 4);
	raw_end(&b);
	expect_bad(&b, b.len, "bad name");
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, "a", 1, 9, 4, u, 4);
	raw_end(&b);
	expect_bad(&b, b.len, "bad kind");
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, "a", 1, IPC_KIND_U32, 3, u, 3);
	raw_end(&b);
	expect_bad(&b, b.len, "U32 attribute a of 3 bytes");
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, "a", 1, IPC_KIND_U64, 4, u, 4);
	raw_end(&b);
	expect_bad(&b, b.len, "U64 attribute");
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, "s", 1, IPC_KIND_STR, 3, "a\0b", 3);
	raw_end(&b);
	expect_bad(&b, b.len, "NUL in string");
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, "a", 1, IPC_KIND_U32, 4, u, 4);
	raw_attr(&b, "a", 1, IPC_KIND_STR, 1, "x", 1);
	raw_end(&b);
	expect_bad(&b, b.len, "duplicate");
	/* value longer than the frame */
	raw_begin(&b, 1, T_PING, 1);
	raw_attr(&b, "d", 1, IPC_KIND_DATA, 100, "xy", 2);
	raw_end(&b);
	expect_bad(&b, b.len, "truncated value");
	/* attribute header cut short */
	raw_begin(&b, 1, T_PING, 1);
	buf_add(&b, "\x05" "ab", 3);
	raw_end(&b);
	expect_bad(&b, b.len, "truncated attribute");
	raw_begin(&b, 1, T_PING, 1);
	for (int i = 0; i <= IPC_MAX_ATTRS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "a%d", i);
		raw_attr(&b, name, strlen(name), IPC_KIND_DATA, 0, NULL, 0);
	}
	raw_end(&b);
	expect_bad(&b, b.len, "more than 256");
	buf_deinit(&b);
}

/* The async side: a tiny harness around two or one ipc_conn. */
struct side {
	struct ipc_conn *conn;
	int got;
	uint32_t last_n;
	char *why;
	int fds[8];
	int nfds;
	bool reply;      /* answer each PING with a PONG */
};

static void side_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	struct side *s = arg;
	uint32_t n = 0;

	assert_int_equal(ipc_get(msg, 0, IPC_U32("n", &n), IPC_END), 1);
	s->last_n = n;
	s->got++;
	if (fd >= 0)
		s->fds[s->nfds++] = fd;
	if (s->reply && msg->type == T_PING) {
		struct ipc_msg r;
		struct err err;

		ipc_msg_init(&r, T_PONG, msg->reqid);
		ipc_put_u32(&r, "n", n + 1);
		assert_int_equal(ipc_msg_finish(&r, &err), 0);
		assert_int_equal(ipc_send(conn, &r, &err), 0);
		ipc_msg_deinit(&r);
	}
}

static void side_close(struct ipc_conn *conn, const char *why, void *arg)
{
	struct side *s = arg;

	s->why = strdup(why);
	s->conn = NULL;
}

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

static void send_ping(struct ipc_conn *c, uint16_t type, uint32_t n, int fd)
{
	struct ipc_msg m;
	struct err err;

	ipc_msg_init(&m, type, n);
	ipc_put_u32(&m, "n", n);
	assert_int_equal(ipc_msg_finish(&m, &err), 0);
	if (fd >= 0)
		assert_int_equal(ipc_send_fd(c, &m, fd, &err), 0);
	else
		assert_int_equal(ipc_send(c, &m, &err), 0);
	ipc_msg_deinit(&m);
}

static void test_byte_at_a_time(void **state)
{
	struct event_base *base = event_base_new();
	struct side srv = { 0 };
	struct buf wire = BUF_INIT;
	struct ipc_msg m;
	struct err err;
	int sv[2];
	char junk[256];
	size_t hello_len;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	srv.conn = ipc_conn_new(base, sv[0], &proto_v1, "bytewise", side_msg, side_close, &srv);
	ipc_hello_build(&proto_v1, &m);
	buf_add(&wire, m.frame.data, m.frame.len);
	hello_len = m.frame.len;
	ipc_msg_deinit(&m);
	for (uint32_t i = 1; i <= 3; i++) {
		ipc_msg_init(&m, T_PING, i);
		ipc_put_u32(&m, "n", i * 10);
		ipc_put_str(&m, "pad", "some text to make the frame longer");
		assert_int_equal(ipc_msg_finish(&m, &err), 0);
		buf_add(&wire, m.frame.data, m.frame.len);
		ipc_msg_deinit(&m);
	}
	for (size_t i = 0; i < wire.len; i++) {
		assert_int_equal(write(sv[1], wire.data + i, 1), 1);
		event_base_loop(base, EVLOOP_NONBLOCK);
		assert_true(ipc_conn_ready(srv.conn) == (i + 1 >= hello_len));
	}
	spin(base, NULL, 20);
	assert_int_equal(srv.got, 3);
	assert_int_equal(srv.last_n, 30);
	assert_null(srv.why);
	/* the server's own HELLO went out first */
	assert_true(read(sv[1], junk, sizeof(junk)) > 12);
	assert_int_equal(junk[7], IPC_HELLO);
	ipc_conn_free(&srv.conn);
	assert_null(srv.why);
	close(sv[1]);
	buf_deinit(&wire);
	event_base_free(base);
}

/* pair - two connected async sides. */
static void pair(struct event_base *base, struct side *a, const struct ipc_proto *pa,
		 struct side *b, const struct ipc_proto *pb)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	a->conn = ipc_conn_new(base, sv[0], pa, "side-a", side_msg, side_close, a);
	b->conn = ipc_conn_new(base, sv[1], pb, "side-b", side_msg, side_close, b);
}

static void test_ping_pong(void **state)
{
	struct event_base *base = event_base_new();
	struct side a = { 0 }, b = { .reply = true };
	bool done = false;

	pair(base, &a, &proto_v1, &b, &proto_v1);
	for (uint32_t i = 0; i < 100; i++)
		send_ping(a.conn, T_PING, i, -1);
	for (int i = 0; i < 2000 && a.got < 100; i++)
		spin(base, &done, 1);
	assert_int_equal(a.got, 100);
	assert_int_equal(a.last_n, 100);
	assert_int_equal(b.got, 100);
	ipc_conn_free(&a.conn);
	spin(base, &done, 20);
	assert_string_equal(b.why, "EOF");
	free(b.why);
	event_base_free(base);
}

static void test_hello_mismatch(void **state)
{
	struct event_base *base = event_base_new();
	const struct ipc_proto *other[] = { &proto_v2, &proto_other };

	for (size_t i = 0; i < N_ELEMENTS(other); i++) {
		struct side a = { 0 }, b = { 0 };

		pair(base, &a, &proto_v1, &b, other[i]);
		for (int n = 0; n < 500 && (a.why == NULL || b.why == NULL); n++)
			spin(base, NULL, 1);
		assert_non_null(a.why);
		assert_non_null(b.why);
		assert_non_null(strstr(a.why, "protocol mismatch"));
		assert_non_null(strstr(b.why, "protocol mismatch"));
		assert_int_equal(a.got + b.got, 0);
		free(a.why);
		free(b.why);
	}
	event_base_free(base);
}

static void test_fd_passing(void **state)
{
	struct event_base *base = event_base_new();
	struct side a = { 0 }, b = { 0 };
	struct err err;
	struct ipc_msg m;
	int p1[2], p2[2];
	char got[16] = "";

	pair(base, &a, &proto_v1, &b, &proto_v1);
	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	send_ping(a.conn, T_PING, 1, -1);
	send_ping(a.conn, T_FILE, 2, p1[1]);
	send_ping(a.conn, T_PING, 3, -1);
	send_ping(a.conn, T_FILE, 4, p2[1]);
	close(p1[1]);
	close(p2[1]);
	/* a descriptor type without a descriptor, and the reverse, are refused */
	ipc_msg_init(&m, T_FILE, 9);
	assert_int_equal(ipc_msg_finish(&m, &err), 0);
	assert_int_equal(ipc_send(a.conn, &m, &err), -1);
	ipc_msg_deinit(&m);
	ipc_msg_init(&m, T_PING, 9);
	assert_int_equal(ipc_msg_finish(&m, &err), 0);
	assert_int_equal(ipc_send_fd(a.conn, &m, 0, &err), -1);
	ipc_msg_deinit(&m);
	for (int n = 0; n < 1000 && b.got < 4; n++)
		spin(base, NULL, 1);
	assert_int_equal(b.got, 4);
	assert_int_equal(b.nfds, 2);
	assert_int_equal(write(b.fds[0], "one", 3), 3);
	assert_int_equal(write(b.fds[1], "two", 3), 3);
	close(b.fds[0]);
	close(b.fds[1]);
	assert_int_equal(read(p1[0], got, sizeof(got)), 3);
	assert_memory_equal(got, "one", 3);
	assert_int_equal(read(p2[0], got, sizeof(got)), 3);
	assert_memory_equal(got, "two", 3);
	/* both write ends are closed now: EOF on the pipes */
	assert_int_equal(read(p1[0], got, sizeof(got)), 0);
	close(p1[0]);
	close(p2[0]);
	ipc_conn_free(&a.conn);
	ipc_conn_free(&b.conn);
	event_base_free(base);
}

/* raw_peer - an async side against a raw socket the test writes. */
static void raw_peer(struct event_base *base, struct side *s, int *raw_r)
{
	int sv[2];
	struct ipc_msg m;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s->conn = ipc_conn_new(base, sv[0], &proto_v1, "raw", side_msg, side_close, s);
	ipc_hello_build(&proto_v1, &m);
	assert_int_equal(write(sv[1], m.frame.data, m.frame.len), (ssize_t)m.frame.len);
	ipc_msg_deinit(&m);
	*raw_r = sv[1];
}

static void test_bad_frames_close(void **state)
{
	struct event_base *base = event_base_new();
	struct buf b = BUF_INIT;
	const char *cases[] = { "over the limit", "without its descriptor", "HELLO after" };

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct side s = { 0 };
		struct ipc_msg m;
		int raw;
		char reply[512];
		ssize_t n, total = 0;

		raw_peer(base, &s, &raw);
		if (i == 0) {
			raw_begin(&b, 1, T_PING, 1);
			b.data[1] = 0x7f;
		} else {
			ipc_msg_init(&m, i == 1 ? T_FILE : IPC_HELLO, 1);
			ipc_put_u32(&m, "n", 1);
			assert_int_equal(ipc_msg_finish(&m, &(struct err){ 0 }), 0);
			buf_set(&b, m.frame.data, m.frame.len);
			ipc_msg_deinit(&m);
		}
		assert_int_equal(write(raw, b.data, b.len), (ssize_t)b.len);
		for (int k = 0; k < 500 && s.why == NULL; k++)
			spin(base, NULL, 1);
		assert_non_null(s.why);
		if (strstr(s.why, cases[i]) == NULL)
			fail_msg("close reason \"%s\" lacks \"%s\"", s.why, cases[i]);
		/* the peer got our HELLO, then an IPC_ERROR naming the reason */
		while ((n = read(raw, reply + total, sizeof(reply) - 1 - (size_t)total)) > 0)
			total += n;
		reply[total] = '\0';
		assert_true(total > 40);
		assert_non_null(memmem(reply, (size_t)total, cases[i], strlen(cases[i])));
		assert_int_equal(s.got, 0);
		free(s.why);
		close(raw);
	}
	buf_deinit(&b);
	event_base_free(base);
}

static void test_async_timeout(void **state)
{
	struct event_base *base = event_base_new();
	struct side s = { 0 };
	int raw;
	int64_t t0 = mono_ms();

	raw_peer(base, &s, &raw);
	ipc_conn_set_timeout(s.conn, 100);
	for (int k = 0; k < 1000 && s.why == NULL; k++)
		spin(base, NULL, 1);
	assert_non_null(s.why);
	assert_string_equal(s.why, "timeout");
	assert_true(mono_ms() - t0 >= 90);
	free(s.why);
	s.why = NULL;
	close(raw);
	/* a peer that keeps sending but never reads: the write side times out */
	raw_peer(base, &s, &raw);
	ipc_conn_set_timeout(s.conn, 150);
	for (int i = 0; i < 64; i++) {
		struct ipc_msg m;
		static char blob[60000];

		ipc_msg_init(&m, T_PING, (uint32_t)i);
		ipc_put_data(&m, "blob", blob, sizeof(blob));
		assert_int_equal(ipc_msg_finish(&m, &(struct err){ 0 }), 0);
		assert_int_equal(ipc_send(s.conn, &m, &(struct err){ 0 }), 0);
		ipc_msg_deinit(&m);
	}
	for (int k = 0; k < 200 && s.why == NULL; k++) {
		struct ipc_msg m;

		ipc_msg_init(&m, T_PING, 1);
		ipc_put_u32(&m, "n", 1);
		assert_int_equal(ipc_msg_finish(&m, &(struct err){ 0 }), 0);
		assert_int_equal(write(raw, m.frame.data, m.frame.len), (ssize_t)m.frame.len);
		ipc_msg_deinit(&m);
		spin(base, NULL, 10);
	}
	assert_non_null(s.why);
	assert_string_equal(s.why, "write timeout");
	assert_true(s.got > 5);
	free(s.why);
	close(raw);
	event_base_free(base);
}

static void test_call_timeout(void **state)
{
	struct ipc_msg req, reply;
	struct err err;
	int sv[2];
	int64_t t0;
	char junk[256];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ipc_msg_init(&req, T_PING, 5);
	ipc_put_u32(&req, "n", 5);
	assert_int_equal(ipc_msg_finish(&req, &err), 0);
	t0 = mono_ms();
	assert_int_equal(ipc_call(sv[0], &req, &reply, 200, &err), -1);
	assert_int_equal(err.code, ETIMEDOUT);
	assert_true(mono_ms() - t0 >= 190 && mono_ms() - t0 < 2000);
	ipc_msg_deinit(&reply);
	/* a peer that reads the request, then hangs up mid-frame */
	assert_int_equal(read(sv[1], junk, sizeof(junk)), (ssize_t)req.frame.len);
	assert_int_equal(write(sv[1], "\0\0\0\x20\0\x01", 6), 6);
	close(sv[1]);
	assert_int_equal(ipc_read_msg(sv[0], &reply, IPC_MAX_FRAME, 200, &err), -1);
	if (strstr(err.msg, "closed by peer") == NULL)
		fail_msg("%s", err.msg);
	ipc_msg_deinit(&reply);
	ipc_msg_deinit(&req);
	close(sv[0]);
}

/* client_child - the blocking client run in a child process against the
 * async server in the parent; the exit status says what went wrong. */
static int client_child(const char *path)
{
	struct ipc_msg req, reply;
	struct err err;
	uint32_t n = 0;
	int fd;

	if (ipc_connect_unix(path, &proto_v2, 2000, &err) >= 0)
		return 10;
	if (strstr(err.msg, "protocol mismatch") == NULL)
		return 11;
	if ((fd = ipc_connect_unix(path, &proto_v1, 2000, &err)) < 0)
		return 12;
	ipc_msg_init(&req, T_PING, 42);
	ipc_put_u32(&req, "n", 41);
	if (ipc_msg_finish(&req, &err) < 0 || ipc_call(fd, &req, &reply, 2000, &err) < 0)
		return 13;
	if (reply.type != T_PONG || reply.reqid != 42 ||
	    ipc_get(&reply, IPC_STRICT, IPC_U32("n", &n), IPC_END) != 1 || n != 42)
		return 14;
	ipc_msg_deinit(&reply);
	ipc_msg_deinit(&req);
	close(fd);
	return 0;
}

static void test_blocking_client_async_server(void **state)
{
	struct event_base *base = event_base_new();
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/tern-ipc-XXXXXX";
	struct side srv[2] = { { .reply = true }, { .reply = true } };
	int lfd, status = -1, nconn = 0;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(client_child(sun.sun_path));
	for (int k = 0; k < 5000; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0 && nconn < 2) {
			srv[nconn].conn = ipc_conn_new(base, fd, &proto_v1, "client", side_msg,
						       side_close, &srv[nconn]);
			nconn++;
		}
		spin(base, NULL, 1);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	spin(base, NULL, 20);
	assert_int_equal(nconn, 2);
	assert_non_null(strstr(srv[0].why, "protocol mismatch"));
	assert_int_equal(srv[1].got, 1);
	assert_string_equal(srv[1].why, "EOF");
	free(srv[0].why);
	free(srv[1].why);
	close(lfd);
	unlink(sun.sun_path);
	rmdir(dir);
	event_base_free(base);
}

static void test_call_error_reply(void **state)
{
	struct ipc_msg req, reply, in;
	struct err err;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	/* the peer answers ahead of time: an IPC_ERROR for reqid 7 */
	ipc_msg_init(&reply, IPC_ERROR, 7);
	ipc_put_str(&reply, "reason", "no such queue file");
	assert_int_equal(ipc_msg_finish(&reply, &err), 0);
	assert_int_equal(ipc_write_msg(sv[1], &reply, 1000, &err), 0);
	ipc_msg_deinit(&reply);
	ipc_msg_init(&req, T_PING, 7);
	assert_int_equal(ipc_msg_finish(&req, &err), 0);
	assert_int_equal(ipc_call(sv[0], &req, &reply, 1000, &err), -1);
	assert_non_null(strstr(err.msg, "no such queue file"));
	ipc_msg_deinit(&reply);
	assert_int_equal(ipc_read_msg(sv[1], &in, IPC_MAX_FRAME, 1000, &err), 0);
	assert_int_equal(in.type, T_PING);
	assert_int_equal(in.reqid, 7);
	ipc_msg_deinit(&in);
	ipc_msg_deinit(&req);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_ping_pong),
		cmocka_unit_test(test_hello_mismatch),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_bad_frames_close),
		cmocka_unit_test(test_async_timeout),
		cmocka_unit_test(test_call_timeout),
		cmocka_unit_test(test_call_error_reply),
		cmocka_unit_test(test_blocking_client_async_server),
	};

	log_init("test_ipc");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
