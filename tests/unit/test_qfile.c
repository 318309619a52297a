/*
 * test_qfile.c - unit tests for lib/qfile*.c: writer/reader round trips
 * (many recipients, null sender, binary and multi-megabyte content, CRLF
 * normalisation), every malformed case (each prefix of a valid file, bad
 * varints, records in the wrong segment, lengths past EOF, missing END,
 * duplicates), in-place status updates and writer misuse.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "qfile.h"

static char tmpdir[64];
static char tmppath[128];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_qfile.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(tmppath, sizeof(tmppath), "%s/q", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	unlink(tmppath);
	return rmdir(tmpdir);
}

/* new_file - a fresh empty queue file at tmppath. */
static int new_file(void)
{
	int fd;

	unlink(tmppath);
	fd = open(tmppath, O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	return fd;
}

/* slurp - the whole file into b. */
static void slurp(int fd, struct buf *b)
{
	char tmp[65536];
	off_t off = 0;
	ssize_t n;

	buf_reset(b);
	while ((n = pread(fd, tmp, sizeof(tmp), off)) > 0) {
		buf_add(b, tmp, (size_t)n);
		off += n;
	}
	assert_int_equal(n, 0);
}

/* content_all - stream the content of fd into out. */
static void content_all(int fd, const struct qfile_env *env, struct buf *out)
{
	struct qfile_content_reader *r = qfile_content_reader_new(fd, env);
	struct buf chunk = BUF_INIT;
	struct err err;
	int rc, rounds = 0;

	buf_reset(out);
	while ((rc = qfile_content_read(r, &chunk, &err)) == 1) {
		assert_true(chunk.len > 0 && chunk.len <= QFILE_REC_MAX);
		buf_add(out, chunk.data, chunk.len);
		assert_true(++rounds < 1000000);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(qfile_content_read(r, &chunk, &err), 0);
	buf_deinit(&chunk);
	qfile_content_reader_free(&r);
	assert_null(r);
}

/* write_basic - a small complete file with every envelope field. */
static void write_basic(int fd, const char *content)
{
	struct qfile_writer *w = qfile_writer_new(fd);
	struct timeval tv = { 1700000000, 42 };
	struct err err;

	qfile_writer_arrival(w, &tv);
	qfile_writer_flags(w, QFILE_F_8BITMIME | QFILE_F_RET_HDRS);
	qfile_writer_envid(w, "env-1");
	qfile_writer_sender(w, "alice@example.org");
	qfile_writer_client(w, "mx.example.org", "192.0.2.1", 41234, "mx.example.org", "ESMTPS");
	qfile_writer_sasl_user(w, "alice");
	qfile_writer_attr(w, "dkim.result", "pass");
	qfile_writer_attr(w, "x-empty", "");
	qfile_writer_rcpt(w, "bob@example.net", "rfc822", "Bob@Example.NET",
			  QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_FAILURE);
	qfile_writer_rcpt(w, "carol@example.net", NULL, NULL, 0);
	qfile_writer_rcpt(w, "dave@example.net", "utf-8", "d\xc3\xa4ve@example.net",
			  QFILE_NOTIFY_NEVER);
	qfile_writer_content(w, content, strlen(content));
	assert_false(qfile_writer_failed(w));
	assert_int_equal(qfile_writer_finish(w, &err), 0);
	qfile_writer_free(&w);
	assert_null(w);
}

static void check_basic(const struct qfile_env *env)
{
	assert_int_equal(env->version, QFILE_VERSION);
	assert_int_equal(env->arrival.tv_sec, 1700000000);
	assert_int_equal(env->arrival.tv_usec, 42);
	assert_int_equal(env->flags, QFILE_F_8BITMIME | QFILE_F_RET_HDRS);
	assert_int_equal(env->mstat, 0);
	assert_string_equal(env->envid, "env-1");
	assert_string_equal(env->sender, "alice@example.org");
	assert_string_equal(env->client_name, "mx.example.org");
	assert_string_equal(env->client_addr, "192.0.2.1");
	assert_int_equal(env->client_port, 41234);
	assert_string_equal(env->helo, "mx.example.org");
	assert_string_equal(env->proto, "ESMTPS");
	assert_string_equal(env->sasl_user, "alice");
	assert_int_equal(env->attr_count, 2);
	assert_string_equal(env->attrs[0].name, "dkim.result");
	assert_string_equal(env->attrs[0].value, "pass");
	assert_string_equal(env->attrs[1].name, "x-empty");
	assert_string_equal(env->attrs[1].value, "");
	assert_int_equal(env->rcpt_count, 3);
	assert_int_equal(env->rcpt_pending, 3);
	assert_string_equal(env->rcpts[0].addr, "bob@example.net");
	assert_string_equal(env->rcpts[0].orcpt_type, "rfc822");
	assert_string_equal(env->rcpts[0].orcpt, "Bob@Example.NET");
	assert_int_equal(env->rcpts[0].notify, QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_FAILURE);
	assert_int_equal(env->rcpts[0].status, QFILE_RCPT_PENDING);
	assert_string_equal(env->rcpts[1].orcpt_type, "");
	assert_string_equal(env->rcpts[1].orcpt, "");
	assert_int_equal(env->rcpts[1].notify, 0);
	assert_string_equal(env->rcpts[2].orcpt, "d\xc3\xa4ve@example.net");
	assert_int_equal(env->rcpts[2].notify, QFILE_NOTIFY_NEVER);
	assert_true(env->rcpts[0].status_offset < env->rcpts[1].status_offset);
}

static void test_roundtrip_basic(void **state)
{
	const char *content = "Subject: hi\n\nhello\n";
	struct qfile_env env, env2;
	struct buf b = BUF_INIT, c = BUF_INIT;
	struct err err;
	int fd = new_file();

	write_basic(fd, content);
	assert_int_equal(qfile_read_envelope(fd, &env, &err), 0);
	check_basic(&env);
	assert_int_equal(env.content_size, strlen(content));
	content_all(fd, &env, &c);
	assert_int_equal(c.len, strlen(content));
	assert_memory_equal(c.data, content, c.len);
	/* The same bytes through the in-memory parser. */
	slurp(fd, &b);
	assert_int_equal(env.file_size, (off_t)b.len);
	assert_int_equal(qfile_parse(b.data, b.len, &env2, &err), 0);
	check_basic(&env2);
	assert_int_equal(env2.content_offset, env.content_offset);
	assert_int_equal(qfile_verify(tmppath, &err), 0);
	qfile_env_deinit(&env);
	qfile_env_deinit(&env2);
	buf_deinit(&b);
	buf_deinit(&c);
	close(fd);
}

static void test_many_rcpts_null_sender(void **state)
{
	const size_t n = 5000;
	struct qfile_writer *w;
	struct qfile_env env;
	struct timeval tv = { 1, 0 };
	struct err err;
	char addr[64];
	int fd = new_file();

	w = qfile_writer_new(fd);
	qfile_writer_arrival(w, &tv);
	qfile_writer_sender(w, "");
	for (size_t i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "user%zu@example.com", i);
		qfile_writer_rcpt(w, addr, NULL, NULL, QFILE_NOTIFY_DELAY);
	}
	assert_int_equal(qfile_writer_finish(w, &err), 0);
	qfile_writer_free(&w);
	assert_int_equal(qfile_read_envelope(fd, &env, &err), 0);
	assert_string_equal(env.sender, "");
	assert_null(env.envid);
	assert_null(env.client_addr);
	assert_int_equal(env.client_port, 0);
	assert_int_equal(env.content_size, 0);
	assert_int_equal(env.rcpt_count, n);
	for (size_t i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "user%zu@example.com", i);
		assert_string_equal(env.rcpts[i].addr, addr);
		assert_int_equal(env.rcpts[i].notify, QFILE_NOTIFY_DELAY);
	}
	qfile_env_deinit(&env);
	close(fd);
}

/* write_content - a file whose content is len bytes from data, handed to
 * the writer in pieces of step bytes. */
static void write_content(int fd, const char *data, size_t len, size_t step)
{
	struct qfile_writer *w = qfile_writer_new(fd);
	struct timeval tv = { 2, 3 };
	struct err err;

	qfile_writer_arrival(w, &tv);
	qfile_writer_sender(w, "s@x");
	qfile_writer_rcpt(w, "r@y", NULL, NULL, 0);
	for (size_t off = 0; off < len; off += step)
		qfile_writer_content(w, data + off, len - off < step ? len - off : step);
	assert_int_equal(qfile_writer_finish(w, &err), 0);
	assert_int_equal(qfile_writer_size(w), (uint64_t)lseek(fd, 0, SEEK_END));
	qfile_writer_free(&w);
}

static void roundtrip_content(const char *data, size_t len, size_t step)
{
	struct qfile_env env;
	struct buf c = BUF_INIT;
	struct err err;
	int fd = new_file();

	write_content(fd, data, len, step);
	assert_int_equal(qfile_read_envelope(fd, &env, &err), 0);
	assert_int_equal(env.content_size, len);
	content_all(fd, &env, &c);
	assert_int_equal(c.len, len);
	if (len > 0)
		assert_memory_equal(c.data, data, len);
	assert_int_equal(qfile_verify(tmppath, &err), 0);
	qfile_env_deinit(&env);
	buf_deinit(&c);
	close(fd);
}

static void test_binary_content(void **state)
{
	char data[256 * 4];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i % 256);
	roundtrip_content(data, sizeof(data), 1);
	roundtrip_content(data, sizeof(data), 3);
	roundtrip_content("\0\0\r\n\0", 5, 5);
}

static void test_large_content(void **state)
{
	const size_t len = 5 * 1024 * 1024 + 123;
	char *data = malloc(len);
	uint32_t x = 12345;

	assert_non_null(data);
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		data[i] = (char)(x >> 16);
	}
	roundtrip_content(data, len, 7777);
	roundtrip_content(data, len, QFILE_CHUNK);
	roundtrip_content(data, len, len);
	free(data);
}

static void test_text_normalise(void **state)
{
	static const char *parts[] = { "a\r\nb\r", "\nc\rd\r", "\r\n", "e\r" };
	struct qfile_writer *w;
	struct qfile_env env;
	struct timeval tv = { 5, 0 };
	struct buf c = BUF_INIT;
	struct err err;
	int fd = new_file();

	w = qfile_writer_new(fd);
	qfile_writer_arrival(w, &tv);
	qfile_writer_sender(w, "s@x");
	qfile_writer_rcpt(w, "r@y", NULL, NULL, 0);
	for (size_t i = 0; i < N_ELEMENTS(parts); i++)
		qfile_writer_text(w, parts[i], strlen(parts[i]));
	assert_int_equal(qfile_writer_finish(w, &err), 0);
	qfile_writer_free(&w);
	assert_int_equal(qfile_read_envelope(fd, &env, &err), 0);
	content_all(fd, &env, &c);
	assert_string_equal(buf_cstr(&c), "a\nb\nc\rd\r\ne\r");
	qfile_env_deinit(&env);
	buf_deinit(&c);
	close(fd);
}

/* Every proper prefix of a valid file is incomplete, never accepted. */
static void test_every_prefix(void **state)
{
	struct qfile_env env;
	struct buf b = BUF_INIT;
	struct err err;
	int fd = new_file(), tfd;

	write_basic(fd, "Subject: x\n\nbody\n");
	slurp(fd, &b);
	close(fd);
	for (size_t len = 0; len < b.len; len++) {
		char *copy = malloc(len ? len : 1);

		memcpy(copy, b.data, len);
		err.code = QFILE_OK;
		assert_int_equal(qfile_parse(copy, len, &env, &err), -1);
		assert_int_equal(err.code, QFILE_INCOMPLETE);
		assert_int_equal(env.rcpt_count, 0);
		free(copy);
		/* The fd reader agrees. */
		tfd = new_file();
		assert_int_equal(write(tfd, b.data, len), (ssize_t)len);
		assert_int_equal(qfile_read_envelope(tfd, &env, &err), -1);
		assert_int_equal(err.code, QFILE_INCOMPLETE);
		close(tfd);
	}
	assert_int_equal(qfile_parse(b.data, b.len, &env, &err), 0);
	qfile_env_deinit(&env);
	buf_deinit(&b);
}

/* env_recs - the standard envelope by hand, leaving out record type omit. */
static void env_recs(struct buf *b, int omit, const char *size)
{
	char rcpt[] = { QFILE_RCPT_PENDING, 0, 3, 'r', '@', 'y', 0, 0 };

	if (omit != QREC_VERSION)
		qfile_put_rec(b, QREC_VERSION, "1", 1);
	if (omit != QREC_TIME)
		qfile_put_rec(b, QREC_TIME, "10.000001", 9);
	if (omit != QREC_SIZE)
		qfile_put_rec(b, QREC_SIZE, size, strlen(size));
	if (omit != QREC_FLAGS)
		qfile_put_rec(b, QREC_FLAGS, "0", 1);
	if (omit != QREC_MSTAT)
		qfile_put_rec(b, QREC_MSTAT, "\0", 1);
	if (omit != QREC_SENDER)
		qfile_put_rec(b, QREC_SENDER, "s@x", 3);
	if (omit != QREC_RCPT)
		qfile_put_rec(b, QREC_RCPT, rcpt, sizeof(rcpt));
}

/* tail_recs - MESSAGE, "hello" in one DATA record, END. */
static void tail_recs(struct buf *b)
{
	qfile_put_rec(b, QREC_MESSAGE, "", 0);
	qfile_put_rec(b, QREC_DATA, "hello", 5);
	qfile_put_rec(b, QREC_END, "", 0);
}

/* expect - parse b and demand verdict code (QFILE_OK: success). */
static void expect(const struct buf *b, int code)
{
	struct qfile_env env;
	struct err err;
	int rc = qfile_parse(b->data, b->len, &env, &err);

	if (code == QFILE_OK) {
		assert_int_equal(rc, 0);
		qfile_env_deinit(&env);
		return;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(err.code, code);
	assert_int_equal(env.rcpt_count, 0);
	assert_null(env.sender);
}

#define SIZE5 "000000000000005"

static void test_hand_built_ok(void **state)
{
	struct buf b = BUF_INIT;

	env_recs(&b, 0, SIZE5);
	tail_recs(&b);
	expect(&b, QFILE_OK);
	buf_deinit(&b);
}

static void test_malformed_structure(void **state)
{
	struct buf b = BUF_INIT;

	/* Missing END: incomplete. */
	env_recs(&b, 0, SIZE5);
	qfile_put_rec(&b, QREC_MESSAGE, "", 0);
	qfile_put_rec(&b, QREC_DATA, "hello", 5);
	expect(&b, QFILE_INCOMPLETE);
	/* Data after END. */
	buf_reset(&b);
	env_recs(&b, 0, SIZE5);
	tail_recs(&b);
	buf_addc(&b, 'X');
	expect(&b, QFILE_CORRUPT);
	/* Duplicate version. */
	buf_reset(&b);
	env_recs(&b, 0, SIZE5);
	qfile_put_rec(&b, QREC_VERSION, "1", 1);
	tail_recs(&b);
	expect(&b, QFILE_CORRUPT);
	/* Version not first. */
	buf_reset(&b);
	qfile_put_rec(&b, QREC_SENDER, "", 0);
	env_recs(&b, QREC_SENDER, SIZE5);
	tail_recs(&b);
	expect(&b, QFILE_CORRUPT);
	/* Unsupported version. */
	buf_reset(&b);
	qfile_put_rec(&b, QREC_VERSION, "2", 1);
	env_recs(&b, QREC_VERSION, SIZE5);
	tail_recs(&b);
	expect(&b, QFILE_CORRUPT);
	/* Duplicate sender. */
	buf_reset(&b);
	env_recs(&b, 0, SIZE5);
	qfile_put_rec(&b, QREC_SENDER, "t@x", 3);
	tail_recs(&b);
	expect(&b, QFILE_CORRUPT);
	/* Each required record missing. */
	static const int required[] = { QREC_TIME, QREC_SIZE, QREC_FLAGS, QREC_MSTAT,
					QREC_SENDER, QREC_RCPT };
	for (size_t i = 0; i < N_ELEMENTS(required); i++) {
		buf_reset(&b);
		env_recs(&b, required[i], SIZE5);
		tail_recs(&b);
		expect(&b, QFILE_CORRUPT);
	}
	/* Content size does not match the DATA records (over, under). */
	buf_reset(&b);
	env_recs(&b, 0, "000000000000004");
	tail_recs(&b);
	expect(&b, QFILE_CORRUPT);
	buf_reset(&b);
	env_recs(&b, 0, "000000000000006");
	tail_recs(&b);
	expect(&b, QFILE_CORRUPT);
	buf_deinit(&b);
}

static void test_wrong_segment(void **state)
{
	struct buf b = BUF_INIT;

	/* DATA in the envelope. */
	env_recs(&b, 0, SIZE5);
	qfile_put_rec(&b, QREC_DATA, "hello", 5);
	tail_recs(&b);
	expect(&b, QFILE_CORRUPT);
	/* A recipient in the content. */
	buf_reset(&b);
	env_recs(&b, 0, SIZE5);
	qfile_put_rec(&b, QREC_MESSAGE, "", 0);
	qfile_put_rec(&b, QREC_SENDER, "s", 1);
	qfile_put_rec(&b, QREC_DATA, "hello", 5);
	qfile_put_rec(&b, QREC_END, "", 0);
	expect(&b, QFILE_CORRUPT);
	/* END in the envelope. */
	buf_reset(&b);
	env_recs(&b, 0, "000000000000000");
	qfile_put_rec(&b, QREC_END, "", 0);
	expect(&b, QFILE_CORRUPT);
	/* Unknown record types, in both segments. */
	buf_reset(&b);
	env_recs(&b, 0, SIZE5);
	qfile_put_rec(&b, 'q', "x", 1);
	tail_recs(&b);
	expect(&b, QFILE_CORRUPT);
	buf_reset(&b);
	env_recs(&b, 0, SIZE5);
	qfile_put_rec(&b, QREC_MESSAGE, "", 0);
	qfile_put_rec(&b, 0, "", 0);
	expect(&b, QFILE_CORRUPT);
	buf_deinit(&b);
}

static void test_bad_varint_and_length(void **state)
{
	static const struct {
		const char *v;
		size_t len;
	} bad[] = {
		{ "\x80\x80\x80\x01", 4 }, /* four bytes: over-long */
		{ "\x85\x00", 2 },         /* redundant zero top byte */
		{ "\xff\xff\x7f", 3 },     /* value over QFILE_REC_MAX */
	};
	struct buf b = BUF_INIT;
	uint32_t v;
	size_t used;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		buf_reset(&b);
		env_recs(&b, 0, SIZE5);
		buf_addc(&b, QREC_ATTR);
		buf_add(&b, bad[i].v, bad[i].len);
		buf_adds(&b, "some bytes after the length to be sure");
		expect(&b, QFILE_CORRUPT);
	}
	/* A length past the end of the file: the file was cut. */
	buf_reset(&b);
	env_recs(&b, 0, SIZE5);
	buf_addc(&b, QREC_ATTR);
	buf_add(&b, "\x90\x01", 2);
	buf_adds(&b, "a=b");
	expect(&b, QFILE_INCOMPLETE);
	/* Varint codec edges. */
	buf_reset(&b);
	qfile_put_varint(&b, 0);
	qfile_put_varint(&b, 127);
	qfile_put_varint(&b, 128);
	qfile_put_varint(&b, QFILE_REC_MAX);
	assert_int_equal(b.len, 1 + 1 + 2 + 3);
	assert_int_equal(qfile_get_varint((uint8_t *)b.data, b.len, &v, &used), 0);
	assert_int_equal(v, 0);
	assert_int_equal(qfile_get_varint((uint8_t *)b.data + 2, 2, &v, &used), 0);
	assert_int_equal(v, 128);
	assert_int_equal(qfile_get_varint((uint8_t *)b.data + 4, 3, &v, &used), 0);
	assert_int_equal(v, QFILE_REC_MAX);
	assert_int_equal(qfile_get_varint((uint8_t *)b.data + 4, 2, &v, &used), 1);
	buf_deinit(&b);
}

static void test_bad_values(void **state)
{
	static const struct {
		int type;
		const char *data;
		size_t len;
	} bad[] = {
		{ QREC_TIME, "10.1", 4 }, { QREC_TIME, "x.000000", 8 },
		{ QREC_TIME, "010.000000", 10 }, { QREC_FLAGS, "3", 1 },
		{ QREC_FLAGS, "24", 2 }, { QREC_FLAGS, "64", 2 }, { QREC_FLAGS, "", 0 },
		{ QREC_MSTAT, "\x02", 1 }, { QREC_CLIENT_PORT, "0", 1 },
		{ QREC_CLIENT_PORT, "65536", 5 }, { QREC_SENDER, "a\nb", 3 },
		{ QREC_HELO, "a\0b", 3 }, { QREC_ATTR, "novalue", 7 }, { QREC_ATTR, "=v", 2 },
		{ QREC_ATTR, "a b=v", 5 },
		{ QREC_RCPT, "P\0\x03r@y\0", 7 },        /* record ends early */
		{ QREC_RCPT, "P\0\x03r@y\0\0!", 9 },     /* leftover byte */
		{ QREC_RCPT, "?\0\x03r@y\0\0", 8 },      /* bad status byte */
		{ QREC_RCPT, "P\x03\x03r@y\0\0", 8 },    /* NEVER with others */
		{ QREC_RCPT, "P\0\0\0\0", 5 },           /* empty address */
		{ QREC_RCPT, "P\0\x03r@y\x02xy\0", 10 }, /* ORCPT type without value */
		{ QREC_RCPT, "P\0\x03r\ny\0\0", 8 },     /* control byte */
		{ QREC_RCPT, "P\0\x09r@y\0\0", 8 },      /* inner length too long */
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		buf_reset(&b);
		env_recs(&b, bad[i].type == QREC_RCPT ? 0 : bad[i].type, SIZE5);
		qfile_put_rec(&b, bad[i].type, bad[i].data, bad[i].len);
		tail_recs(&b);
		expect(&b, QFILE_CORRUPT);
	}
	buf_deinit(&b);
}

static void test_mark_in_place(void **state)
{
	struct qfile_env env;
	struct err err;
	int fd = new_file();

	write_basic(fd, "x\n");
	assert_int_equal(qfile_read_envelope(fd, &env, &err), 0);
	assert_int_equal(qfile_mark_rcpt(fd, env.rcpts[1].status_offset, QFILE_RCPT_DONE, &err),
			 0);
	assert_int_equal(qfile_mark_message(fd, env.mstat_offset, QFILE_MSTAT_DELAY_SENT, &err),
			 0);
	/* Not a status byte there (the first byte of the file), bad values. */
	assert_int_equal(qfile_mark_rcpt(fd, 1, QFILE_RCPT_DONE, &err), -1);
	assert_int_equal(err.code, QFILE_CORRUPT);
	assert_int_equal(qfile_mark_rcpt(fd, 0, QFILE_RCPT_DONE, &err), -1);
	assert_int_equal(qfile_mark_rcpt(fd, env.rcpts[0].status_offset, 'Q', &err), -1);
	assert_int_equal(qfile_mark_message(fd, env.mstat_offset, 0x80, &err), -1);
	assert_int_equal(qfile_mark_rcpt(fd, env.file_size + 10, QFILE_RCPT_DONE, &err), -1);
	qfile_env_deinit(&env);
	assert_int_equal(qfile_read_envelope(fd, &env, &err), 0);
	assert_int_equal(env.rcpts[0].status, QFILE_RCPT_PENDING);
	assert_int_equal(env.rcpts[1].status, QFILE_RCPT_DONE);
	assert_int_equal(env.rcpts[2].status, QFILE_RCPT_PENDING);
	assert_int_equal(env.rcpt_pending, 2);
	assert_int_equal(env.mstat, QFILE_MSTAT_DELAY_SENT);
	/* And back: PENDING again is allowed (a requeue). */
	assert_int_equal(qfile_mark_rcpt(fd, env.rcpts[1].status_offset, QFILE_RCPT_PENDING, &err),
			 0);
	qfile_env_deinit(&env);
	assert_int_equal(qfile_read_envelope(fd, &env, &err), 0);
	assert_int_equal(env.rcpt_pending, 3);
	qfile_env_deinit(&env);
	close(fd);
}

/* writer_expect_fail - finish must fail with code after the setters ran. */
static void writer_expect_fail(struct qfile_writer *w, int code)
{
	struct err err;

	assert_true(qfile_writer_failed(w));
	assert_int_equal(qfile_writer_finish(w, &err), -1);
	assert_int_equal(err.code, code);
	qfile_writer_free(&w);
}

static void test_writer_misuse(void **state)
{
	struct timeval tv = { 1, 0 }, badtv = { 1, 1000000 };
	struct qfile_writer *w;
	struct err err;
	int fd = new_file();

	/* A required field missing. */
	w = qfile_writer_new(fd);
	qfile_writer_arrival(w, &tv);
	qfile_writer_rcpt(w, "r@y", NULL, NULL, 0);
	assert_false(qfile_writer_failed(w));
	assert_int_equal(qfile_writer_finish(w, &err), -1);
	assert_int_equal(err.code, QFILE_CORRUPT);
	qfile_writer_free(&w);
	close(fd);
	/* An envelope field after the content started. */
	fd = new_file();
	w = qfile_writer_new(fd);
	qfile_writer_arrival(w, &tv);
	qfile_writer_sender(w, "s@x");
	qfile_writer_rcpt(w, "r@y", NULL, NULL, 0);
	qfile_writer_content(w, "x", 1);
	qfile_writer_rcpt(w, "late@y", NULL, NULL, 0);
	writer_expect_fail(w, QFILE_CORRUPT);
	close(fd);
	/* Bad values, each its own writer. */
	fd = new_file();
	w = qfile_writer_new(fd);
	qfile_writer_sender(w, "a\r\nRCPT TO:<x>");
	writer_expect_fail(w, QFILE_CORRUPT);
	w = qfile_writer_new(fd);
	qfile_writer_arrival(w, &badtv);
	writer_expect_fail(w, QFILE_CORRUPT);
	w = qfile_writer_new(fd);
	qfile_writer_flags(w, QFILE_F_8BITMIME | QFILE_F_BINARYMIME);
	writer_expect_fail(w, QFILE_CORRUPT);
	w = qfile_writer_new(fd);
	qfile_writer_rcpt(w, "r@y", "rfc822", NULL, 0);
	writer_expect_fail(w, QFILE_CORRUPT);
	w = qfile_writer_new(fd);
	qfile_writer_attr(w, "bad name", "v");
	writer_expect_fail(w, QFILE_CORRUPT);
	w = qfile_writer_new(fd);
	qfile_writer_sender(w, "a");
	qfile_writer_sender(w, "b");
	writer_expect_fail(w, QFILE_CORRUPT);
	w = qfile_writer_new(fd);
	qfile_writer_client(w, NULL, NULL, 70000, NULL, NULL);
	writer_expect_fail(w, QFILE_CORRUPT);
	close(fd);
	/* Finishing twice; a fd not at offset 0; a write error. */
	fd = new_file();
	write_content(fd, "abc", 3, 3);
	assert_int_equal(qfile_verify(tmppath, &err), 0);
	w = qfile_writer_new(fd);
	writer_expect_fail(w, QFILE_IOERR);
	close(fd);
	fd = open("/dev/null", O_RDONLY);
	w = qfile_writer_new(fd);
	qfile_writer_arrival(w, &tv);
	qfile_writer_sender(w, "s@x");
	qfile_writer_rcpt(w, "r@y", NULL, NULL, 0);
	assert_int_equal(qfile_writer_finish(w, &err), -1);
	assert_int_equal(err.code, QFILE_IOERR);
	assert_int_equal(qfile_writer_finish(w, &err), -1);
	qfile_writer_free(&w);
	qfile_writer_free(&w);
	close(fd);
}

static void test_verify_paths(void **state)
{
	char link[160];
	struct err err;
	int fd = new_file();

	close(fd);
	assert_int_equal(qfile_verify(tmppath, &err), -1);
	assert_int_equal(err.code, QFILE_INCOMPLETE);
	assert_int_equal(qfile_verify("/nonexistent/q", &err), -1);
	assert_int_equal(err.code, QFILE_IOERR);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	assert_int_equal(symlink(tmppath, link), 0);
	assert_int_equal(qfile_verify(link, &err), -1);
	assert_int_equal(err.code, QFILE_IOERR);
	assert_int_equal(unlink(link), 0);
	fd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(qfile_read_envelope(fd, &(struct qfile_env){ 0 }, &err), -1);
	assert_int_equal(err.code, QFILE_CORRUPT);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_basic),
		cmocka_unit_test(test_many_rcpts_null_sender),
		cmocka_unit_test(test_binary_content),
		cmocka_unit_test(test_large_content),
		cmocka_unit_test(test_text_normalise),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_hand_built_ok),
		cmocka_unit_test(test_malformed_structure),
		cmocka_unit_test(test_wrong_segment),
		cmocka_unit_test(test_bad_varint_and_length),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_mark_in_place),
		cmocka_unit_test(test_writer_misuse),
		cmocka_unit_test(test_verify_paths),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
