/*
 * test_qid.c - unit tests for lib/qid.c: format, ordering, uniqueness in
 * one process and across forked processes, validation, time recovery and
 * O_EXCL creation.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "qid.h"

#define MANY 20000

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_format(void **state)
{
	char id[QID_SIZE];

	qid_new(id);
	assert_int_equal(strlen(id), QID_LEN);
	for (size_t i = 0; i < QID_LEN; i++)
		assert_true((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'Z')
			    || (id[i] >= 'a' && id[i] <= 'z'));
	assert_true(qid_valid(id));
}

static void test_many_unique_sorted(void **state)
{
	char (*ids)[QID_SIZE] = calloc(MANY, QID_SIZE);

	assert_non_null(ids);
	for (int i = 0; i < MANY; i++) {
		qid_new(ids[i]);
		assert_true(qid_valid(ids[i]));
		/* Strictly increasing within one process. */
		if (i > 0)
			assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	}
	free(ids);
}

/* child_ids - fork a child that writes n IDs to a pipe. */
static pid_t child_ids(int *rfd, int n)
{
	int p[2];
	pid_t pid;
	char id[QID_SIZE];

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		for (int i = 0; i < n; i++) {
			qid_new(id);
			if (write(p[1], id, QID_SIZE) != QID_SIZE)
				_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* read_all - read n IDs from fd into ids. */
static void read_all(int fd, char (*ids)[QID_SIZE], int n)
{
	size_t want = (size_t)n * QID_SIZE, got = 0;
	ssize_t r;

	while (got < want) {
		r = read(fd, (char *)ids + got, want - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	close(fd);
}

static void test_forked_unique(void **state)
{
	const int n = 5000;
	char (*ids)[QID_SIZE] = calloc(3 * (size_t)n, QID_SIZE);
	int fd1, fd2, st;
	pid_t p1, p2;

	assert_non_null(ids);
	p1 = child_ids(&fd1, n);
	p2 = child_ids(&fd2, n);
	for (int i = 0; i < n; i++)
		qid_new(ids[2 * n + i]);
	read_all(fd1, ids, n);
	read_all(fd2, ids + n, n);
	assert_int_equal(waitpid(p1, &st, 0), p1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(waitpid(p2, &st, 0), p2);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	qsort(ids, 3 * (size_t)n, QID_SIZE, cmp_id);
	for (int i = 1; i < 3 * n; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	free(ids);
}

static void test_valid(void **state)
{
	static const char *bad[] = {
		"", "0", "000000000000000",       /* too short */
		"00000000000000000",              /* too long */
		"0000000000000-00", "000000000000 000", "00000000000000\n0",
		"000000zzzz000000",               /* usec field over 999999 */
		"../../etc/passwd",
	};
	char nul[QID_SIZE + 1] = "0000000000000000";

	assert_true(qid_valid("0000000000000000"));
	assert_true(qid_valid("1hX2Az0A3f7b0001"));
	assert_false(qid_valid(NULL));
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		assert_false(qid_valid(bad[i]));
	nul[5] = '\0';
	assert_false(qid_valid(nul));
}

static void test_time_roundtrip(void **state)
{
	struct timeval tv = { 1700000000, 123456 }, back, now, got;
	char id[QID_SIZE], id2[QID_SIZE];

	qid_make(&tv, 4194303, 3843, id);
	assert_true(qid_valid(id));
	assert_int_equal(qid_time(id, &back), 0);
	assert_int_equal(back.tv_sec, tv.tv_sec);
	assert_int_equal(back.tv_usec, tv.tv_usec);
	/* Later time sorts later even with a smaller pid. */
	tv.tv_usec++;
	qid_make(&tv, 1, 0, id2);
	assert_true(strcmp(id, id2) < 0);
	gettimeofday(&now, NULL);
	qid_new(id);
	assert_int_equal(qid_time(id, &got), 0);
	assert_true(got.tv_sec >= now.tv_sec - 1 && got.tv_sec <= now.tv_sec + 1);
	assert_int_equal(qid_time("bad", &got), -1);
}

static void test_create_file(void **state)
{
	char dir[] = "/tmp/test_qid.XXXXXX", id[QID_SIZE], id2[QID_SIZE];
	struct stat st;
	struct err err;
	int dfd, fd, fd2;

	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	fd = qid_create_file(dfd, id, &err);
	assert_true(fd >= 0);
	assert_true(qid_valid(id));
	assert_int_equal(fstatat(dfd, id, &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fd2 = qid_create_file(dfd, id2, &err);
	assert_true(fd2 >= 0);
	assert_string_not_equal(id, id2);
	close(fd);
	close(fd2);
	assert_int_equal(unlinkat(dfd, id, 0), 0);
	assert_int_equal(unlinkat(dfd, id2, 0), 0);
	close(dfd);
	assert_int_equal(rmdir(dir), 0);
	/* A bad directory fd: an error with errno, not a loop. */
	assert_int_equal(qid_create_file(-1, id, &err), -1);
	assert_true(err.code != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_many_unique_sorted),
		cmocka_unit_test(test_forked_unique),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_time_roundtrip),
		cmocka_unit_test(test_create_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
