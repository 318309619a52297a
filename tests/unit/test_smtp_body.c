/*
 * test_smtp_body.c - unit tests for smtp/smtp_body.c: the wire encoding
 * (CRLF, dot-stuffing, final dot) gives the same bytes however the content
 * is cut into chunks; the scan of a queue file finds 8-bit bytes (and
 * those of the header) and the exact wire size; the streamer writes that
 * many bytes, equal to the one-piece encoding, onto a connection whose
 * output is drained by the test, never holding more than its high mark.
 * Touches: a temporary queue file and a socketpair.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "err.h"
#include "loop.h"
#include "qfile.h"
#include "smtp/smtp.h"

static void check_encode(const char *in, const char *want)
{
	struct buf out = BUF_INIT;

	smtp_wire_encode(in, strlen(in), &out);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	buf_deinit(&out);
}

static void test_wire_basic(void **state)
{
	check_encode("", ".\r\n");
	check_encode("a\n", "a\r\n.\r\n");
	check_encode("a", "a\r\n.\r\n");
	check_encode(".", "..\r\n.\r\n");
	check_encode("\n\n", "\r\n\r\n.\r\n");
	check_encode(".x\n..y\nz.\n.\n", "..x\r\n...y\r\nz.\r\n..\r\n.\r\n");
	check_encode("no end.\n.last", "no end.\r\n..last\r\n.\r\n");
}

static void test_wire_any_chunking(void **state)
{
	static const char in[] = ".a\nb.\n\n..c\n.\nd\n.e";
	size_t len = sizeof(in) - 1;
	struct buf whole = BUF_INIT, out = BUF_INIT;

	smtp_wire_encode(in, len, &whole);
	for (size_t cut1 = 0; cut1 <= len; cut1++) {
		for (size_t cut2 = cut1; cut2 <= len; cut2++) {
			struct smtp_wire w = {0};

			buf_reset(&out);
			smtp_wire_feed(&w, in, cut1, &out);
			smtp_wire_feed(&w, in + cut1, cut2 - cut1, &out);
			smtp_wire_feed(&w, in + cut2, len - cut2, &out);
			smtp_wire_end(&w, &out);
			assert_int_equal(out.len, whole.len);
			assert_memory_equal(out.data, whole.data, whole.len);
		}
	}
	buf_deinit(&whole);
	buf_deinit(&out);
}

/* make_content - about size bytes of LF lines, some with leading dots,
 * an 8-bit byte in the header when hdr8 and in the body when body8. */
static void make_content(struct buf *c, size_t size, bool hdr8, bool body8)
{
	buf_adds(c, hdr8 ? "Subject: caf\xc3\xa9\nFrom: a@b\n\n" : "Subject: x\nFrom: a@b\n\n");
	for (unsigned int i = 0; c->len < size; i++)
		buf_printf(c, "%s%06u %s\n", i % 5 == 0 ? "." : "", i,
			   body8 && i == 4000 ? "\xff" : "line of text");
}

/* queue_file - a queue file holding content; the fd is open read-write. */
static int queue_file(const struct buf *content)
{
	char path[] = "/tmp/test_smtp_body.XXXXXX";
	int fd = mkstemp(path);
	struct qfile_writer *w;
	struct timeval tv;
	struct err err;

	assert_true(fd >= 0);
	unlink(path);
	w = qfile_writer_new(fd);
	gettimeofday(&tv, NULL);
	qfile_writer_arrival(w, &tv);
	qfile_writer_sender(w, "a@b.test");
	qfile_writer_rcpt(w, "c@d.test", NULL, NULL, 0);
	qfile_writer_content(w, content->data, content->len);
	assert_int_equal(qfile_writer_finish(w, &err), 0);
	qfile_writer_free(&w);
	return fd;
}

static void scan_case(bool hdr8, bool body8)
{
	struct buf c = BUF_INIT, wire = BUF_INIT;
	struct smtp_req r;
	struct err err;

	memset(&r, 0, sizeof(r));
	make_content(&c, 150000, hdr8, body8);
	smtp_wire_encode(c.data, c.len, &wire);
	r.fd = queue_file(&c);
	assert_int_equal(qfile_read_envelope(r.fd, &r.env, &err), 0);
	assert_int_equal(smtp_body_scan(&r, &err), 0);
	assert_int_equal(r.wire_len, wire.len);
	assert_int_equal(r.has8bit, hdr8 || body8);
	assert_int_equal(r.hdr8bit, hdr8);
	qfile_env_deinit(&r.env);
	close(r.fd);
	buf_deinit(&c);
	buf_deinit(&wire);
}

static void test_scan(void **state)
{
	scan_case(false, false);
	scan_case(true, false);
	scan_case(false, true);
	scan_case(true, true);
}

static void on_close(struct loop_conn *conn, enum loop_close why, const char *detail, void *arg)
{
}

static const struct loop_conn_cb quiet_cb = {.on_close = on_close};

static void test_stream(void **state)
{
	struct buf c = BUF_INIT, wire = BUF_INIT, got = BUF_INIT;
	struct event_base *base = event_base_new();
	struct smtp_body *b;
	struct loop_conn *conn;
	struct smtp_req r;
	struct err err;
	int sv[2], rc = 0;
	char tmp[65536];

	memset(&r, 0, sizeof(r));
	make_content(&c, 3 * 1024 * 1024, false, false);
	smtp_wire_encode(c.data, c.len, &wire);
	r.fd = queue_file(&c);
	assert_int_equal(qfile_read_envelope(r.fd, &r.env, &err), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	conn = loop_conn_new(base, sv[0], NULL, &quiet_cb, NULL);
	b = smtp_body_new(&r, false, &err);
	assert_non_null(b);
	for (int i = 0; i < 100000 && (rc == 0 || loop_conn_pending(conn) > 0); i++) {
		ssize_t n;

		if (rc == 0) {
			rc = smtp_body_fill(b, conn, &err);
			assert_true(rc >= 0);
			/* one chunk past the high mark at most */
			assert_true(loop_conn_pending(conn) < 256 * 1024 + 2 * QFILE_REC_MAX);
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		while ((n = recv(sv[1], tmp, sizeof(tmp), MSG_DONTWAIT)) > 0)
			buf_add(&got, tmp, (size_t)n);
	}
	assert_int_equal(rc, 1);
	assert_int_equal(got.len, wire.len);
	assert_memory_equal(got.data, wire.data, wire.len);
	smtp_body_free(&b);
	assert_null(b);
	loop_conn_free(&conn);
	close(sv[1]);
	event_base_free(base);
	qfile_env_deinit(&r.env);
	close(r.fd);
	buf_deinit(&c);
	buf_deinit(&wire);
	buf_deinit(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_basic),
		cmocka_unit_test(test_wire_any_chunking),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
