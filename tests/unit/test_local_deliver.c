/*
 * test_local_deliver.c - unit tests for local/local_deliver.c,
 * local_command.c and the helpers of local_agent.c, over a real queue file
 * in a temp directory: Delivered-To scanning (folded, case), mailbox
 * paths (lower case, unsafe names), Maildir delivery with the added
 * headers and the loop check, mbox appends with >From quoting, commands
 * (exit codes, time limit, sanitized environment), delay formatting.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "local/local.h"
#include "proto.h"
#include "qfile.h"

static char dir[64];

struct fixture {
	int fd;
	struct qfile_env env;
	struct local_msg msg;
};

/* rm_tree - remove the temp tree (bounded depth). */
static void rm_tree(const char *path, int depth)
{
	char p[512];
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode) || depth > 5) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		rm_tree(p, depth + 1);
	}
	if (d != NULL)
		closedir(d);
	rmdir(path);
}

/* make_msg - a queue file holding content, read back into f. */
static void make_msg(struct fixture *f, const char *content)
{
	char path[128];
	struct qfile_writer *w;
	struct timeval tv = {1700000000, 0};
	struct err err;

	snprintf(path, sizeof(path), "%s/q", dir);
	unlink(path);
	f->fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(f->fd >= 0);
	w = qfile_writer_new(f->fd);
	qfile_writer_arrival(w, &tv);
	qfile_writer_sender(w, "s@x.test");
	qfile_writer_rcpt(w, "bob@example.test", NULL, NULL, 0);
	qfile_writer_content(w, content, strlen(content));
	assert_int_equal(qfile_writer_finish(w, &err), 0);
	qfile_writer_free(&w);
	assert_int_equal(qfile_read_envelope(f->fd, &f->env, &err), 0);
	memset(&f->msg, 0, sizeof(f->msg));
	f->msg.queue_id = "0000000000000000";
	f->msg.fd = f->fd;
	f->msg.env = &f->env;
	assert_int_equal(local_delivered_to_scan(&f->msg, &err), 0);
}

static void free_msg(struct fixture *f)
{
	local_msg_deinit(&f->msg);
	qfile_env_deinit(&f->env);
	close(f->fd);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tern-test-local.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	rm_tree(dir, 0);
	return 0;
}

/* slurp - a whole small file as a string in out. */
static void slurp(const char *path, struct buf *out)
{
	char tmp[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	buf_reset(out);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(out, tmp, (size_t)n);
	close(fd);
}

static void test_delivered_to_scan(void **state)
{
	struct fixture f;

	make_msg(&f, "Received: x\nDelivered-To: One@Example.test\ndelivered-to:\n two@b.test\n"
		     "Subject: s\n\nDelivered-To: body@not.header\n");
	assert_int_equal(f.msg.n_delivered_to, 2);
	assert_true(local_delivered_to_has(&f.msg, "one@example.test"));
	assert_true(local_delivered_to_has(&f.msg, "TWO@b.test"));
	assert_false(local_delivered_to_has(&f.msg, "body@not.header"));
	free_msg(&f);
	make_msg(&f, "");
	assert_int_equal(f.msg.n_delivered_to, 0);
	free_msg(&f);
}

static void test_mailbox_path(void **state)
{
	struct buf p = BUF_INIT;
	struct err err;

	assert_int_equal(local_mailbox_path("/b", "Bob.Smith@Example.TEST", &p, &err), 0);
	assert_string_equal(buf_cstr(&p), "/b/example.test/bob.smith");
	assert_int_equal(local_mailbox_path("/b", "\"a b\"@x.test", &p, &err), 0);
	assert_string_equal(buf_cstr(&p), "/b/x.test/a b");
	assert_int_equal(local_mailbox_path("/b", "\"..\"@x.test", &p, &err), -1);
	assert_int_equal(local_mailbox_path("/b", "\"a/b\"@x.test", &p, &err), -1);
	assert_int_equal(local_mailbox_path("/b", "-x@x.test", &p, &err), -1);
	buf_deinit(&p);
}

static void test_maildir(void **state)
{
	struct fixture f;
	struct cfg *cfg = cfg_new_defaults(dir);
	struct local_result r = {0, "", BUF_INIT};
	struct buf data = BUF_INIT;
	char p[400];
	DIR *d;
	struct dirent *de;
	int n = 0;

	make_msg(&f, "Delivered-To: loop@example.test\nSubject: s\n\nbody\n");
	local_deliver_maildir(cfg, &f.msg, "Bob@example.test", "s@x.test", &r);
	assert_int_equal(r.result, DELIVER_OK);
	assert_string_equal(buf_cstr(&r.text), "delivered to maildir");
	snprintf(p, sizeof(p), "%s/mail/example.test/bob/new", dir);
	d = opendir(p);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(p, sizeof(p), "%s/mail/example.test/bob/new/%s", dir, de->d_name);
	}
	closedir(d);
	assert_int_equal(n, 1);
	slurp(p, &data);
	assert_string_equal(buf_cstr(&data),
			    "Return-Path: <s@x.test>\nDelivered-To: Bob@example.test\n"
			    "Delivered-To: loop@example.test\nSubject: s\n\nbody\n");
	local_deliver_maildir(cfg, &f.msg, "loop@example.test", "s@x.test", &r);
	assert_int_equal(r.result, DELIVER_BOUNCE);
	assert_string_equal(r.dsn, "5.4.6");
	assert_string_equal(buf_cstr(&r.text), "mail forwarding loop for loop@example.test");
	local_deliver_maildir(cfg, &f.msg, "\"..\"@example.test", "s@x.test", &r);
	assert_int_equal(r.result, DELIVER_BOUNCE);
	free_msg(&f);
	cfg_free(&cfg);
	buf_deinit(&r.text);
	buf_deinit(&data);
}

static void test_mbox(void **state)
{
	struct fixture f;
	struct local_result r = {0, "", BUF_INIT};
	struct buf data = BUF_INIT;
	char p[128], link_[128];
	const char *body;

	make_msg(&f, "Subject: s\n\nFrom me\n>From you\n>>From x\nFrom\nFro\nno newline");
	snprintf(p, sizeof(p), "%s/mbox", dir);
	local_deliver_file(&f.msg, p, "a@b.test", "", &r);
	assert_int_equal(r.result, DELIVER_OK);
	local_deliver_file(&f.msg, p, "a@b.test", "s@x.test", &r);
	assert_int_equal(r.result, DELIVER_OK);
	slurp(p, &data);
	assert_true(strncmp(data.data, "From MAILER-DAEMON ", 19) == 0);
	body = strstr(data.data, "\nReturn-Path: <>\nDelivered-To: a@b.test\nSubject: s\n\n"
				 ">From me\n>>From you\n>>>From x\nFrom\nFro\nno newline\n\n"
				 "From s@x.test ");
	assert_non_null(body);
	assert_true(data.len > 20 && strcmp(data.data + data.len - 12, "no newline\n\n") == 0);
	/* a symlink is refused */
	snprintf(link_, sizeof(link_), "%s/link", dir);
	assert_int_equal(symlink(p, link_), 0);
	local_deliver_file(&f.msg, link_, "a@b.test", "", &r);
	assert_int_equal(r.result, DELIVER_BOUNCE);
	free_msg(&f);
	buf_deinit(&r.text);
	buf_deinit(&data);
}

static void test_command(void **state)
{
	struct fixture f;
	struct local_result r = {0, "", BUF_INIT};
	struct buf data = BUF_INIT, cmd = BUF_INIT;
	char p[128];

	make_msg(&f, "Subject: s\n\nbody\n");
	snprintf(p, sizeof(p), "%s/out", dir);
	buf_printf(&cmd, "cat > %s; echo \"$SENDER|$RECIPIENT|$ORIGINAL_RECIPIENT\" >> %s", p, p);
	local_deliver_command(&f.msg, buf_cstr(&cmd), "l@b.test", "o@b.test", "x$(id)`y`@s.test",
			      10, &r);
	assert_int_equal(r.result, DELIVER_OK);
	slurp(p, &data);
	assert_string_equal(buf_cstr(&data),
			    "Return-Path: <x$(id)`y`@s.test>\nDelivered-To: l@b.test\n"
			    "Subject: s\n\nbody\nx__id__y_@s.test|l@b.test|o@b.test\n");
	local_deliver_command(&f.msg, "echo no such list; exit 67", "l@b.test", "o@b.test", "s@x",
			      10, &r);
	assert_int_equal(r.result, DELIVER_BOUNCE);
	assert_string_equal(buf_cstr(&r.text), "command exited 67: no such list");
	local_deliver_command(&f.msg, "exit 75", "l@b.test", "o@b.test", "s@x", 10, &r);
	assert_int_equal(r.result, DELIVER_DEFER);
	/* a command that does not read its input still succeeds */
	local_deliver_command(&f.msg, "true", "l@b.test", "o@b.test", "s@x", 10, &r);
	assert_int_equal(r.result, DELIVER_OK);
	local_deliver_command(&f.msg, "sleep 20", "l@b.test", "o@b.test", "s@x", 1, &r);
	assert_int_equal(r.result, DELIVER_DEFER);
	assert_string_equal(buf_cstr(&r.text), "command time limit exceeded");
	free_msg(&f);
	buf_deinit(&r.text);
	buf_deinit(&data);
	buf_deinit(&cmd);
}

static void test_status_map(void **state)
{
	struct local_result r = {0, "", BUF_INIT};

	local_command_status(0, false, "", &r);
	assert_int_equal(r.result, DELIVER_OK);
	local_command_status(1 << 8, false, "bad\x01line\nsecond", &r);
	assert_int_equal(r.result, DELIVER_BOUNCE);
	assert_string_equal(r.dsn, "5.3.0");
	assert_string_equal(buf_cstr(&r.text), "command exited 1: bad?line");
	local_command_status(71 << 8, false, "", &r);
	assert_int_equal(r.result, DELIVER_DEFER);
	local_command_status(74 << 8, false, "", &r);
	assert_int_equal(r.result, DELIVER_DEFER);
	local_command_status(9, false, "", &r); /* killed by SIGKILL */
	assert_int_equal(r.result, DELIVER_DEFER);
	assert_string_equal(buf_cstr(&r.text), "command killed by signal 9");
	buf_deinit(&r.text);
}

static void test_env_sanitize(void **state)
{
	struct buf b = BUF_INIT;

	local_env_sanitize(&b, "a b;c|d$e`f'g\"h\ni@x.test+1=2,3:4/5_6-7%");
	assert_string_equal(buf_cstr(&b), "a b_c_d_e_f_g_h_i@x.test+1=2,3:4/5_6-7%");
	buf_deinit(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delivered_to_scan, setup, teardown),
		cmocka_unit_test(test_mailbox_path),
		cmocka_unit_test_setup_teardown(test_maildir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command, setup, teardown),
		cmocka_unit_test(test_status_map),
		cmocka_unit_test(test_env_sanitize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
