/*
 * test_qreceive.c - unit tests for lib/qreceive.c in a temp queue: commit
 * moves a complete, valid file to active/; abort and free leave nothing;
 * notify without a qmgr is harmless.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "qfile.h"
#include "qid.h"
#include "qreceive.h"

static char top[PATH_MAX], queue[PATH_MAX + 16];

static int setup(void **state)
{
	char sub[PATH_MAX + 32];

	snprintf(top, sizeof(top), "/tmp/tern-test-qreceive.XXXXXX");
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(queue, sizeof(queue), "%s/queue", top);
	if (mkdir(queue, 0700) < 0)
		return -1;
	for (const char *const *d = (const char *const[]){ "incoming", "active", "private", NULL };
	     *d; d++) {
		snprintf(sub, sizeof(sub), "%s/%s", queue, *d);
		if (mkdir(sub, 0700) < 0)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* entries - number of files in queue/NAME. */
static int entries(const char *name)
{
	char path[PATH_MAX + 32];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", queue, name);
	d = opendir(path);
	while (d && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_commit(void **state)
{
	char path[PATH_MAX + 64];
	struct qfile_env env;
	struct qfile_writer *w;
	struct qreceive *q;
	struct timeval tv = { 1700000000, 5 };
	struct err err;
	int fd;

	q = qreceive_begin(queue, &err);
	assert_non_null(q);
	assert_true(qid_valid(qreceive_id(q)));
	assert_int_equal(entries("incoming"), 1);
	w = qreceive_writer(q);
	qfile_writer_arrival(w, &tv);
	qfile_writer_sender(w, "a@example.test");
	qfile_writer_rcpt(w, "b@example.test", NULL, NULL, 0);
	qfile_writer_content(w, "Subject: x\n\nbody\n", 17);
	assert_int_equal(qreceive_commit(q, &err), 0);
	assert_int_equal(entries("incoming"), 0);
	assert_int_equal(entries("active"), 1);
	snprintf(path, sizeof(path), "%s/active/%s", queue, qreceive_id(q));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(qfile_read_envelope(fd, &env, &err), 0);
	assert_string_equal(env.sender, "a@example.test");
	assert_int_equal(env.rcpt_count, 1);
	assert_int_equal(env.rcpt_pending, 1);
	qfile_env_deinit(&env);
	close(fd);
	/* A second commit is refused; free keeps the committed file. */
	assert_int_equal(qreceive_commit(q, &err), -1);
	qreceive_free(&q);
	assert_null(q);
	assert_int_equal(entries("active"), 1);
}

static void test_abort_and_free(void **state)
{
	struct qreceive *q;
	struct err err;

	q = qreceive_begin(queue, &err);
	assert_non_null(q);
	qreceive_abort(q);
	assert_int_equal(entries("incoming"), 0);
	qreceive_free(&q);
	q = qreceive_begin(queue, &err);
	assert_non_null(q);
	qfile_writer_content(qreceive_writer(q), "x", 1);
	qreceive_free(&q);
	assert_int_equal(entries("incoming"), 0);
	assert_int_equal(entries("active"), 0);
}

static void test_incomplete_envelope_not_committed(void **state)
{
	struct qreceive *q;
	struct err err;

	/* No sender and no recipient: finish must fail, nothing reaches active/. */
	q = qreceive_begin(queue, &err);
	assert_non_null(q);
	assert_int_equal(qreceive_commit(q, &err), -1);
	assert_int_equal(entries("active"), 0);
	assert_int_equal(entries("incoming"), 0);
	qreceive_free(&q);
}

static void test_missing_queue(void **state)
{
	struct err err;

	assert_null(qreceive_begin("/nonexistent/tern/queue", &err));
	assert_non_null(strstr(err.msg, "/nonexistent/tern/queue"));
}

static void test_notify_without_qmgr(void **state)
{
	struct cfg *cfg = cfg_new_defaults(top);

	/* No socket: must return quietly (qmgr's scan finds the file). */
	qreceive_notify(cfg, "0000000000000000");
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_and_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incomplete_envelope_not_committed, setup,
						teardown),
		cmocka_unit_test(test_missing_queue),
		cmocka_unit_test_setup_teardown(test_notify_without_qmgr, setup, teardown),
	};

	log_init("test_qreceive");
	log_set_stderr(false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
