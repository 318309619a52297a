/*
 * test_auth_client.c - unit tests for lib/auth_client.c against a fake
 * auth service in the same event loop (and, for the blocking call, in a
 * child process): replies matched to requests, SASL sessions, cancel, the
 * service down (TEMPFAIL from the loop, never from inside the call), a
 * lost connection and the reconnect after it.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <event2/event.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth_client.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "proto.h"

static char dir[] = "/tmp/test_auth_client.XXXXXX";
static struct cfg *cfg;
static struct event_base *base;
static int lfd = -1;
static struct event *lev;

/* fake service: canned answers */
static void srv_reply(struct ipc_conn *conn, uint16_t type, uint32_t reqid, const char *name,
		      const char *value, uint32_t temp)
{
	struct ipc_msg m;
	struct err err;

	ipc_msg_init(&m, type, reqid);
	if (name != NULL)
		ipc_put_str(&m, name, value);
	if (type == AUTH_FAIL)
		ipc_put_u32(&m, "temporary", temp);
	if (type == AUTH_USER_FOUND)
		ipc_put_u32(&m, "found", 1);
	assert_int_equal(ipc_msg_finish(&m, &err), 0);
	assert_int_equal(ipc_send(conn, &m, &err), 0);
	ipc_msg_deinit(&m);
}

static void srv_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	const void *pw = NULL;
	size_t len = 0;

	switch (msg->type) {
	case AUTH_PASS:
		(void)ipc_get(msg, 0, IPC_DATA("password", &pw, &len), IPC_END);
		if (len == 4 && memcmp(pw, "good", 4) == 0)
			srv_reply(conn, AUTH_OK, msg->reqid, "user", "a@example.test", 0);
		else if (len == 4 && memcmp(pw, "slow", 4) == 0)
			srv_reply(conn, AUTH_FAIL, msg->reqid + 1000, "reason", "late", 0);
		else if (len == 4 && memcmp(pw, "drop", 4) == 0)
			ipc_conn_close_after_write(conn, "test drop");
		else
			srv_reply(conn, AUTH_FAIL, msg->reqid, "reason", "authentication failed",
				  0);
		break;
	case AUTH_SASL_START:
		srv_reply(conn, AUTH_CHALLENGE, msg->reqid, "challenge", "abc", 0);
		break;
	case AUTH_SASL_CONTINUE:
		srv_reply(conn, AUTH_OK, msg->reqid, "user", "b@example.test", 0);
		break;
	case AUTH_USER:
		srv_reply(conn, AUTH_USER_FOUND, msg->reqid, "user", "c@example.test", 0);
		break;
	default:
		break;
	}
}

static void srv_close(struct ipc_conn *conn, const char *why, void *arg)
{
}

static void srv_accept(evutil_socket_t fd, short what, void *arg)
{
	int c = accept(fd, NULL, NULL);

	if (c >= 0)
		ipc_conn_new(base, c, &proto_auth, "test client", srv_msg, srv_close, NULL);
}

static void srv_listen(void)
{
	struct buf path = BUF_INIT;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	auth_client_socket_path(cfg, &path);
	unlink(path.data);
	memcpy(sun.sun_path, path.data, path.len + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	lev = event_new(base, lfd, EV_READ | EV_PERSIST, srv_accept, NULL);
	event_add(lev, NULL);
	buf_deinit(&path);
}

static void srv_stop(void)
{
	struct buf path = BUF_INIT;

	auth_client_socket_path(cfg, &path);
	if (lev != NULL)
		event_free(lev);
	lev = NULL;
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
	unlink(path.data);
	buf_deinit(&path);
}

/* callback recorder */
struct got {
	int calls;
	uint32_t id;
	enum auth_status status;
	char text[256];
};

static void record(uint32_t id, const struct auth_reply *r, void *arg)
{
	struct got *g = arg;
	const char *t = r->status == AUTH_STATUS_OK	    ? r->user
			: r->status == AUTH_STATUS_CONTINUE ? r->challenge
							    : r->reason;

	g->calls++;
	g->id = id;
	g->status = r->status;
	snprintf(g->text, sizeof(g->text), "%s", t != NULL ? t : "(null)");
}

/* run_until - loop until *calls reaches n (bounded). */
static void run_until(const int *calls, int n)
{
	for (int i = 0; i < 2000 && *calls < n; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
	assert_int_equal(*calls, n);
}

static int setup(void **state)
{
	struct buf text = BUF_INIT;
	struct err err;

	signal(SIGPIPE, SIG_IGN);
	assert_non_null(mkdtemp(dir));
	buf_printf(&text, "queue_directory = %s\n", dir);
	cfg = cfg_parse_string(dir, "main.cf", text.data, text.len, &err);
	assert_non_null(cfg);
	buf_reset(&text);
	buf_printf(&text, "%s/private", dir);
	assert_int_equal(mkdir(text.data, 0700), 0);
	buf_deinit(&text);
	base = event_base_new();
	return 0;
}

static int teardown(void **state)
{
	struct buf p = BUF_INIT;

	srv_stop();
	buf_printf(&p, "%s/private", dir);
	rmdir(p.data);
	rmdir(dir);
	buf_deinit(&p);
	cfg_free(&cfg);
	event_base_free(base);
	return 0;
}

static void test_service_down(void **state)
{
	struct auth_client *ac = auth_client_new(base, cfg);
	struct got g = {0};
	uint32_t id = auth_client_password(ac, "pop3d", "a", "good", 4, "192.0.2.1", record, &g);

	assert_int_not_equal(id, 0);
	assert_int_equal(g.calls, 0); /* never from inside the call */
	run_until(&g.calls, 1);
	assert_int_equal(g.id, id);
	assert_int_equal(g.status, AUTH_STATUS_TEMPFAIL);
	assert_non_null(strstr(g.text, "auth service unavailable"));
	/* a cancelled failed request is not called */
	id = auth_client_user_exists(ac, "x", record, &g);
	auth_client_cancel(ac, id);
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(g.calls, 1);
	auth_client_free(&ac);
	assert_null(ac);
}

static void test_requests_and_sasl(void **state)
{
	struct auth_client *ac = auth_client_new(base, cfg);
	struct got a = {0}, b = {0}, c = {0}, d = {0};
	uint32_t ida, idb, sess;

	srv_listen();
	ida = auth_client_password(ac, "pop3d", "a", "good", 4, "192.0.2.1", record, &a);
	idb = auth_client_password(ac, "pop3d", "a", "bad!", 4, "192.0.2.1", record, &b);
	sess = auth_client_sasl_start(ac, "imapd", "PLAIN", NULL, "192.0.2.1", record, &c);
	auth_client_user_exists(ac, "c", record, &d);
	run_until(&a.calls, 1);
	run_until(&b.calls, 1);
	run_until(&c.calls, 1);
	run_until(&d.calls, 1);
	assert_int_equal(a.id, ida);
	assert_int_equal(a.status, AUTH_STATUS_OK);
	assert_string_equal(a.text, "a@example.test");
	assert_int_equal(b.id, idb);
	assert_int_equal(b.status, AUTH_STATUS_FAIL);
	assert_int_equal(c.status, AUTH_STATUS_CONTINUE);
	assert_string_equal(c.text, "abc");
	assert_int_equal(d.status, AUTH_STATUS_OK);
	assert_string_equal(d.text, "c@example.test");
	auth_client_sasl_continue(ac, sess, "", record, &c);
	run_until(&c.calls, 2);
	assert_int_equal(c.status, AUTH_STATUS_OK);
	assert_string_equal(c.text, "b@example.test");
	auth_client_sasl_end(ac, sess);

	/* cancel: the late reply is dropped */
	memset(&a, 0, sizeof(a));
	ida = auth_client_password(ac, "pop3d", "a", "slow", 4, "192.0.2.1", record, &a);
	auth_client_cancel(ac, ida);
	auth_client_password(ac, "pop3d", "a", "good", 4, "192.0.2.1", record, &b);
	run_until(&b.calls, 2);
	assert_int_equal(a.calls, 0);

	/* a lost connection fails what waits; the next request reconnects */
	memset(&a, 0, sizeof(a));
	auth_client_password(ac, "pop3d", "a", "drop", 4, "192.0.2.1", record, &a);
	run_until(&a.calls, 1);
	assert_int_equal(a.status, AUTH_STATUS_TEMPFAIL);
	assert_non_null(strstr(a.text, "auth service unavailable"));
	auth_client_password(ac, "pop3d", "a", "good", 4, "192.0.2.1", record, &a);
	run_until(&a.calls, 2);
	assert_int_equal(a.status, AUTH_STATUS_OK);
	auth_client_free(&ac);
	srv_stop();
	/* let the fake service see EOF and free its connection */
	for (int i = 0; i < 50; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
}

static void test_blocking(void **state)
{
	struct buf user = BUF_INIT;
	struct err err;
	pid_t pid;
	int status;

	assert_int_equal(auth_client_check_password(cfg, "smtpd", "a", "good", "192.0.2.1", 2000,
						    &user, &err),
			 AUTH_STATUS_TEMPFAIL);
	assert_non_null(strstr(err.msg, "auth service unavailable"));
	srv_listen();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		event_reinit(base);
		for (int i = 0; i < 5000; i++)
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
		_exit(0);
	}
	event_free(lev);
	lev = NULL;
	assert_int_equal(auth_client_check_password(cfg, "smtpd", "a", "good", "192.0.2.1", 5000,
						    &user, &err),
			 AUTH_STATUS_OK);
	assert_string_equal(buf_cstr(&user), "a@example.test");
	assert_int_equal(auth_client_check_password(cfg, "smtpd", "a", "nope", "192.0.2.1", 5000,
						    &user, &err),
			 AUTH_STATUS_FAIL);
	assert_string_equal(err.msg, "authentication failed");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	srv_stop();
	buf_deinit(&user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_down),
		cmocka_unit_test(test_requests_and_sasl),
		cmocka_unit_test(test_blocking),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
