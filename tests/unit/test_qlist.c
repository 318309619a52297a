/*
 * test_qlist.c - unit tests for lib/qlist.c: the mailq text and JSON of
 * one message (pure), and whole listings of a queue built on disk: order,
 * marks, deferral reasons, skipped files, the closing line, incremental
 * production and the error for a missing queue.
 */
#include "sys.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "defer_log.h"
#include "err.h"
#include "qfile.h"
#include "qid.h"
#include "qlist.h"
#include "xmem.h"

#define T0 1700000000 /* Tue Nov 14 22:13:20 2023 UTC */

/* ids - four valid queue IDs in sorted order, and a fifth. */
static char ids[5][QID_SIZE];

static void make_ids(void)
{
	struct timeval tv = {T0, 0};

	for (unsigned int i = 0; i < 5; i++)
		qid_make(&tv, 4242, i + 1, ids[i]);
	for (int i = 0; i < 4; i++)
		assert_true(strcmp(ids[i], ids[i + 1]) < 0);
}

static const char header[] = "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n";

/* pad - n spaces then s, as a heap string. */
static char *pad(int n, const char *s)
{
	return xasprintf("%*s%s", n, "", s);
}

/* make_log - a deferral log with reason for each address in rcpts. */
static void make_log(struct defer_log *log, const char *const *rcpts, const char *const *reasons,
		     size_t n)
{
	struct buf text = BUF_INIT;
	struct err err;

	for (size_t i = 0; i < n; i++) {
		struct defer_log_entry e = {.time = T0,
					    .rcpt_offset = -1,
					    .rcpt = rcpts[i],
					    .orcpt = "",
					    .status = "4.4.1",
					    .action = "delayed",
					    .mta = "",
					    .diag = "",
					    .reason = reasons[i]};

		assert_int_equal(defer_log_format(&text, &e, &err), 0);
	}
	defer_log_parse(text.data != NULL ? text.data : "", text.len, log);
	buf_deinit(&text);
}

static void env_init(struct qfile_env *env, struct qfile_rcpt *rcpts, size_t n, const char *sender)
{
	memset(env, 0, sizeof(*env));
	env->arrival.tv_sec = T0;
	env->content_size = 1234;
	env->sender = (char *)sender;
	env->rcpts = rcpts;
	env->rcpt_count = n;
}

static void test_text_one_message(void **state)
{
	struct qfile_rcpt rcpts[3] = {
		{.addr = "bob@example.net", .status = QFILE_RCPT_PENDING},
		{.addr = "carol@example.net", .status = QFILE_RCPT_DONE},
		{.addr = "dave@example.net", .status = QFILE_RCPT_PENDING},
	};
	const char *who[] = {"bob@example.net", "dave@example.net", "carol@example.net"};
	const char *why[] = {"connect to mx: timed out", "connect to mx: timed out", "x"};
	struct qfile_env env;
	struct defer_log log;
	struct buf out = BUF_INIT, want = BUF_INIT;
	char *l1 = pad(42, "(connect to mx: timed out)\n"), *l2 = pad(48, "bob@example.net\n"),
	     *l3 = pad(48, "dave@example.net\n");

	env_init(&env, rcpts, 3, "alice@example.org");
	make_log(&log, who, why, 3);
	qlist_format_msg(&out, false, true, "active", '*', "ABCDEFGHIJKLMNOP", &env, &log);
	buf_adds(&want, header);
	buf_adds(&want, "ABCDEFGHIJKLMNOP*     1234 Tue Nov 14 22:13:20  alice@example.org\n");
	buf_adds(&want, l1); /* the same reason twice is shown once */
	buf_adds(&want, l2);
	buf_adds(&want, l3);
	buf_adds(&want, "\n");
	assert_string_equal(buf_cstr(&out), buf_cstr(&want));

	/* No header the second time; the null sender; no log. */
	defer_log_deinit(&log);
	memset(&log, 0, sizeof(log));
	env.sender = "";
	buf_reset(&out);
	qlist_format_msg(&out, false, false, "hold", '!', "ABCDEFGHIJKLMNOP", &env, &log);
	buf_reset(&want);
	buf_adds(&want, "ABCDEFGHIJKLMNOP!     1234 Tue Nov 14 22:13:20  MAILER-DAEMON\n");
	buf_adds(&want, l2);
	buf_adds(&want, l3);
	buf_adds(&want, "\n");
	assert_string_equal(buf_cstr(&out), buf_cstr(&want));
	free(l1);
	free(l2);
	free(l3);
	buf_deinit(&out);
	buf_deinit(&want);
}

static void test_text_sanitizes(void **state)
{
	struct qfile_rcpt rcpts[1] = {{.addr = "b\x1b[2Jb@x", .status = QFILE_RCPT_PENDING}};
	const char *who[] = {"b\x1b[2Jb@x"};
	const char *why[] = {"bad\x07 reason"};
	struct qfile_env env;
	struct defer_log log;
	struct buf out = BUF_INIT;

	env_init(&env, rcpts, 1, "a\x01@x");
	make_log(&log, who, why, 1);
	qlist_format_msg(&out, false, false, "deferred", ' ', "ABCDEFGHIJKLMNOP", &env, &log);
	assert_null(memchr(out.data, '\x1b', out.len));
	assert_null(memchr(out.data, '\x01', out.len));
	assert_null(memchr(out.data, '\x07', out.len));
	assert_non_null(strstr(buf_cstr(&out), "  a?@x\n"));
	defer_log_deinit(&log);
	buf_deinit(&out);
}

static void test_json_one_message(void **state)
{
	struct qfile_rcpt rcpts[2] = {
		{.addr = "bob@example.net", .status = QFILE_RCPT_PENDING},
		{.addr = "q\"uo\\te@example.net", .status = QFILE_RCPT_PENDING},
	};
	const char *who[] = {"bob@example.net"};
	const char *why[] = {"host said \"no\""};
	struct qfile_env env;
	struct defer_log log;
	struct buf out = BUF_INIT;

	env_init(&env, rcpts, 2, "");
	make_log(&log, who, why, 1);
	qlist_format_msg(&out, true, true, "deferred", ' ', "ABCDEFGHIJKLMNOP", &env, &log);
	assert_string_equal(buf_cstr(&out),
			    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEFGHIJKLMNOP\", "
			    "\"arrival_time\": 1700000000, \"message_size\": 1234, "
			    "\"forced_expire\": false, \"sender\": \"\", \"recipients\": ["
			    "{\"address\": \"bob@example.net\", \"delay_reason\": "
			    "\"host said \\\"no\\\"\"}, {\"address\": "
			    "\"q\\\"uo\\\\te@example.net\"}]}\n");
	defer_log_deinit(&log);
	buf_deinit(&out);
}

static void test_json_str(void **state)
{
	struct buf out = BUF_INIT;

	qlist_json_str(&out, "a\tb\xff\"\\");
	assert_string_equal(buf_cstr(&out), "\"a?b?\\\"\\\\\"");
	buf_deinit(&out);
}

static void test_end_lines(void **state)
{
	struct buf out = BUF_INIT;

	qlist_format_end(&out, false, 0, 0);
	assert_string_equal(buf_cstr(&out), "Mail queue is empty\n");
	buf_reset(&out);
	qlist_format_end(&out, false, 1, 1);
	assert_string_equal(buf_cstr(&out), "-- 1 Kbytes in 1 Request.\n");
	buf_reset(&out);
	qlist_format_end(&out, false, 3, 2049);
	assert_string_equal(buf_cstr(&out), "-- 3 Kbytes in 3 Requests.\n");
	buf_reset(&out);
	qlist_format_end(&out, true, 3, 2049);
	assert_int_equal(out.len, 0);
	buf_deinit(&out);
}

/* A queue on disk: dir and its subdirectories. */
struct fixture {
	char dir[64];
};

static const char *const subdirs[] = {"incoming", "active", "deferred", "hold", "defer"};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct buf p = BUF_INIT;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_qlist.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (size_t i = 0; i < N_ELEMENTS(subdirs); i++) {
		buf_reset(&p);
		buf_printf(&p, "%s/%s", f->dir, subdirs[i]);
		assert_int_equal(mkdir(buf_cstr(&p), 0700), 0);
	}
	buf_deinit(&p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct buf cmd = BUF_INIT;

	buf_printf(&cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(buf_cstr(&cmd)), 0);
	buf_deinit(&cmd);
	free(f);
	return 0;
}

/* put_msg - a complete queue file called id in sub with these recipients. */
static void put_msg(struct fixture *f, const char *sub, const char *id, const char *sender,
		    const char *r1, const char *r2)
{
	struct buf p = BUF_INIT;
	struct timeval tv = {T0, 0};
	struct qfile_writer *w;
	struct err err;
	int fd;

	buf_printf(&p, "%s/%s/%s", f->dir, sub, id);
	fd = open(buf_cstr(&p), O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	w = qfile_writer_new(fd);
	qfile_writer_arrival(w, &tv);
	qfile_writer_sender(w, sender);
	qfile_writer_rcpt(w, r1, NULL, NULL, 0);
	if (r2 != NULL)
		qfile_writer_rcpt(w, r2, NULL, NULL, 0);
	qfile_writer_content(w, "Subject: x\n\nbody\n", 17);
	assert_int_equal(qfile_writer_finish(w, &err), 0);
	qfile_writer_free(&w);
	close(fd);
	buf_deinit(&p);
}

/* put_file - a file with these bytes (not a valid queue file). */
static void put_file(struct fixture *f, const char *sub, const char *name, const char *text)
{
	struct buf p = BUF_INIT;
	int fd;

	buf_printf(&p, "%s/%s/%s", f->dir, sub, name);
	fd = open(buf_cstr(&p), O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	buf_deinit(&p);
}

/* listing - the whole listing of f's queue, one qlist_next at a time. */
static char *listing(struct fixture *f, bool json, size_t *calls_r)
{
	struct err err;
	struct qlist *ql = qlist_open(f->dir, json, &err);
	struct buf out = BUF_INIT;
	size_t calls = 1;

	assert_non_null(ql);
	while (qlist_next(ql, &out) == 1)
		calls++;
	assert_int_equal(qlist_next(ql, &out), 0); /* stays done, adds nothing */
	*calls_r = calls;
	qlist_free(&ql);
	assert_null(ql);
	return buf_steal(&out);
}

static void test_empty_queue(void **state)
{
	struct fixture *f = *state;
	size_t calls;
	char *s = listing(f, false, &calls);

	assert_string_equal(s, "Mail queue is empty\n");
	assert_int_equal(calls, 1);
	free(s);
	s = listing(f, true, &calls);
	assert_string_equal(s, "");
	free(s);
}

static void test_queue_on_disk(void **state)
{
	struct fixture *f = *state;
	struct defer_log_entry e = {.time = T0,
				    .rcpt_offset = -1,
				    .rcpt = "carol@example.net",
				    .orcpt = "",
				    .status = "4.4.1",
				    .action = "delayed",
				    .mta = "",
				    .diag = "",
				    .reason = "no route"};
	struct buf p = BUF_INIT;
	struct err err;
	size_t calls;
	char *s, *t, id[QID_SIZE + 1];
	int dfd;

	make_ids();
	put_msg(f, "deferred", ids[1], "alice@example.org", "carol@example.net", NULL);
	put_msg(f, "deferred", ids[0], "", "x@example.net", "y@example.net");
	put_msg(f, "active", ids[2], "bob@example.org", "z@example.net", NULL);
	put_msg(f, "hold", ids[3], "dan@example.org", "w@example.net", NULL);
	put_file(f, "incoming", ids[4], "half a file");	      /* skipped */
	put_file(f, "deferred", "not-a-queue-id", "ignored"); /* ignored */
	buf_printf(&p, "%s/defer", f->dir);
	dfd = open(buf_cstr(&p), O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(defer_log_append(dfd, ids[1], &e, &err), 0);
	close(dfd);

	s = listing(f, false, &calls);
	assert_int_equal(calls, 5); /* four messages, then the end */
	/* Order: incoming, active, deferred (sorted), hold; marks '*' '!'. */
	assert_true(strncmp(s, header, strlen(header)) == 0);
	snprintf(id, sizeof(id), "%s*", ids[2]);
	t = strstr(s, id);
	assert_ptr_equal(s + strlen(header), t);
	snprintf(id, sizeof(id), "%s ", ids[0]);
	t = strstr(s, id);
	assert_true(t > s + strlen(header));
	assert_true(strstr(t, "  MAILER-DAEMON\n") == t + QID_LEN + 30);
	snprintf(id, sizeof(id), "%s ", ids[1]);
	assert_true(strstr(s, id) > t);
	t = strstr(s, id);
	assert_non_null(strstr(t, "  alice@example.org\n"));
	snprintf(id, sizeof(id), "%s!", ids[3]);
	assert_true(strstr(s, id) > t);
	assert_non_null(strstr(s, "(no route)\n"));
	assert_null(strstr(s, ids[4]));
	assert_true(strlen(s) > 27);
	assert_string_equal(s + strlen(s) - 27, "-- 1 Kbytes in 4 Requests.\n");
	free(s);

	s = listing(f, true, &calls);
	assert_int_equal(calls, 5);
	snprintf(id, sizeof(id), "%s", ids[2]);
	t = strstr(s, "{\"queue_name\": \"active\", \"queue_id\": \"");
	assert_non_null(t);
	assert_true(strncmp(t + 38, id, QID_LEN) == 0);
	assert_non_null(strstr(s, "\"address\": \"carol@example.net\", \"delay_reason\": "
				  "\"no route\"}"));
	assert_non_null(strstr(s, "\"queue_name\": \"hold\""));
	free(s);
	buf_deinit(&p);
}

static void test_write_to_file(void **state)
{
	struct fixture *f = *state;
	struct err err;
	struct qlist *ql;
	char text[256];
	FILE *out = fmemopen(text, sizeof(text), "w");
	size_t n;

	assert_non_null(out);
	make_ids();
	put_msg(f, "active", ids[2], "bob@example.org", "z@example.net", NULL);
	ql = qlist_open(f->dir, true, &err);
	assert_non_null(ql);
	assert_int_equal(qlist_write(ql, out, &err), 0);
	assert_int_equal(qlist_count(ql), 1);
	n = (size_t)ftell(out);
	fclose(out);
	assert_true(n > 0 && n < sizeof(text));
	text[n] = '\0';
	assert_true(strncmp(text, "{\"queue_name\": \"active\"", 23) == 0);
	qlist_free(&ql);
}

static void test_missing_queue(void **state)
{
	struct fixture *f = *state;
	struct buf p = BUF_INIT;
	struct err err;
	struct qlist *none = NULL;

	qlist_free(&none); /* NULL is fine */
	buf_printf(&p, "%s/hold", f->dir);
	assert_int_equal(rmdir(buf_cstr(&p)), 0);
	assert_null(qlist_open(f->dir, false, &err));
	assert_non_null(strstr(err.msg, "cannot read the queue: "));
	assert_non_null(strstr(err.msg, "/hold: "));
	buf_deinit(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_one_message),
		cmocka_unit_test(test_text_sanitizes),
		cmocka_unit_test(test_json_one_message),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_end_lines),
		cmocka_unit_test_setup_teardown(test_empty_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_on_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_to_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_queue, setup, teardown),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
