/*
 * tern_ctl.c - instance life cycle for tern: start (master detached, wait
 * for its "ready"), start-fg (exec master in the foreground), stop, status,
 * reload (SIGHUP after validation) and check.
 * Touches:  $data_directory/master.pid (read only), /proc/PID (to make sure
 *           a pid is a master of this instance before signalling it), the
 *           master program in daemon_directory.
 * Security: signals go only to a live process whose /proc/PID/cmdline is
 *           a master run with -c for this very directory, so a stale or
 *           planted pid file cannot make us kill an unrelated process.
 *           master is started with execv and a fixed argv, never a shell.
 * Errors:   "tern: ..." on stderr and exit 1 (see docs/commands.md).
 * See:      admin/tern.h, master/ (-s FD protocol: "ready\n" or
 *           "error: REASON\n").
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin/tern.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "paths.h"
#include "safefile.h"
#include "str.h"

#define TERN_START_TIMEOUT_MS 30000
#define TERN_POLL_MS 50

/* tern_now_ms - monotonic milliseconds. */
static long long tern_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* tern_sleep_ms - nanosleep that tolerates EINTR (bounded by the caller). */
static void tern_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* tern_ctl_cfg - main.cf for the commands that must work even when it is
 * broken (stop, status): the defaults then, with a warning. */
static struct cfg *tern_ctl_cfg(struct tern_ctx *ctx)
{
	struct err err;

	if (ctx->cfg != NULL)
		return ctx->cfg;
	err_clear(&err);
	ctx->cfg = tern_cfg_load(ctx->dir, &err);
	if (ctx->cfg == NULL) {
		fprintf(stderr, "tern: warning: %s (using defaults)\n", err.msg);
		ctx->cfg = cfg_new_defaults(ctx->dir);
	}
	return ctx->cfg;
}

/* tern_proc_read - a /proc file (st_size is 0 there, so read to EOF), at
 * most max bytes, NUL-terminated; NULL when it cannot be read. */
static char *tern_proc_read(const char *path, size_t max, size_t *len_r)
{
	struct buf b = BUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	for (int i = 0; i < 1024 && b.len < max; i++) {
		char *p = buf_reserve(&b, 4096);
		ssize_t n = read(fd, p, 4096);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_commit(&b, (size_t)n);
	}
	close(fd);
	*len_r = b.len;
	if (b.data == NULL)
		buf_adds(&b, "");
	return buf_steal(&b);
}

/* tern_pid_alive - the process exists and is not a zombie. */
static bool tern_pid_alive(pid_t pid)
{
	char path[64];
	char *stat;
	const char *rp;
	size_t len;
	bool alive = false;

	if (kill(pid, 0) < 0 && errno != EPERM)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = tern_proc_read(path, 4096, &len);
	if (stat == NULL)
		return false;
	rp = strrchr(stat, ')');
	alive = rp != NULL && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X' && rp[2] != '\0';
	free(stat);
	return alive;
}

/* tern_pid_is_master - /proc/PID/cmdline is "…/master … -c DIR" with DIR
 * this instance (compared after realpath). */
static bool tern_pid_is_master(pid_t pid, const char *dir)
{
	char path[64];
	char real[PATH_MAX];
	char *cmd;
	size_t len;
	bool ours = false;
	const char *base;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	cmd = tern_proc_read(path, 65536, &len);
	if (cmd == NULL || len == 0)
		goto out;
	base = strrchr(cmd, '/');
	base = base != NULL ? base + 1 : cmd;
	if (strcmp(base, "master") != 0)
		goto out;
	/* UNSAFE: cmdline is NUL-separated and tern_proc_read adds a NUL at
	 * cmd[len], so every strlen below stays inside the buffer. */
	for (size_t off = strlen(cmd) + 1; off < len; off += strlen(cmd + off) + 1) {
		const char *arg = cmd + off;
		size_t next = off + strlen(arg) + 1;

		if (strcmp(arg, "-c") != 0 || next >= len)
			continue;
		if (strcmp(cmd + next, dir) == 0 ||
		    (realpath(cmd + next, real) != NULL && strcmp(real, dir) == 0)) {
			ours = true;
			break;
		}
	}
out:
	free(cmd);
	return ours;
}

/* tern_running - the pid of this instance's live master (> 0), or 0; a
 * pid file naming anything else sets *stale_r. */
static pid_t tern_running(struct tern_ctx *ctx, bool *stale_r)
{
	struct buf path = BUF_INIT;
	struct err err;
	char *text;
	size_t len;
	unsigned int n;
	pid_t pid = 0;

	*stale_r = false;
	buf_printf(&path, "%s/master.pid", cfg_get(tern_ctl_cfg(ctx), "data_directory"));
	text = safefile_read(buf_cstr(&path), 64, &len, &err);
	buf_deinit(&path);
	if (text == NULL)
		return 0;
	if (str_to_uint(str_trim(text), &n) == 0 && n > 1 && n <= INT_MAX &&
	    tern_pid_alive((pid_t)n) && tern_pid_is_master((pid_t)n, ctx->dir))
		pid = (pid_t)n;
	else
		*stale_r = true;
	free(text);
	return pid;
}

/* tern_validate - the checks that must pass before master may (re)read the
 * configuration; prints every problem.  -1 when there were errors. */
static int tern_validate(struct tern_ctx *ctx, const char *what)
{
	struct tern_check_result res;

	tern_check_run(ctx, &res);
	if (res.errors == 0)
		return 0;
	fprintf(stderr, "tern: %s: refused: the configuration has %u error%s\n", what,
		res.errors, res.errors == 1 ? "" : "s");
	return -1;
}

/* tern_master_path - DAEMON_DIR/master into out; -1 (printed) if missing. */
static int tern_master_path(struct tern_ctx *ctx, struct buf *out)
{
	struct err err;

	err_clear(&err);
	if (paths_daemon_dir(ctx->cfg, out, &err) < 0) {
		fprintf(stderr, "tern: %s\n", err.msg);
		return -1;
	}
	buf_adds(out, "/master");
	if (!tern_program_ok(buf_cstr(out))) {
		fprintf(stderr, "tern: %s: missing or not executable\n", buf_cstr(out));
		return -1;
	}
	return 0;
}

/* tern_start_child - in the forked child: detach and exec master with its
 * ready channel on a descriptor >= 10.  Never returns. */
static void ATTR_NORETURN tern_start_child(const char *master, const char *dir, int wfd)
{
	char fdarg[16];
	sigset_t none;
	int fd = fcntl(wfd, F_DUPFD, 10); /* without FD_CLOEXEC */
	int nul = open("/dev/null", O_RDWR);

	if (fd < 0 || nul < 0)
		_exit(127);
	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(nul, 2);
	if (nul > 2)
		close(nul);
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	char *const argv[] = { (char *)master, "-c", (char *)dir, "-s", fdarg, NULL };
	execv(master, argv);
	dprintf(fd, "error: cannot execute %s: %s\n", master, strerror(errno));
	_exit(127);
}

/* tern_start_wait - read master's one-line answer; returns 0 on "ready",
 * else -1 with the reason printed. */
static int tern_start_wait(int rfd, pid_t child, struct tern_ctx *ctx)
{
	struct buf line = BUF_INIT;
	long long deadline = tern_now_ms() + TERN_START_TIMEOUT_MS;
	char chunk[256];
	int status;
	int rc = -1;

	buf_init(&line, 4096);
	for (;;) {
		long long left = deadline - tern_now_ms();
		struct pollfd pfd = { rfd, POLLIN, 0 };
		ssize_t n;

		if (memchr(buf_cstr(&line), '\n', line.len) != NULL)
			break;
		if (left <= 0) {
			fprintf(stderr, "tern: start: master did not report ready within %ds; "
					"stopping it (see %s/log/maillog)\n",
				TERN_START_TIMEOUT_MS / 1000, ctx->dir);
			kill(child, SIGTERM);
			goto out;
		}
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tern: start: poll: %s\n", strerror(errno));
			goto out;
		}
		n = read(rfd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		buf_add(&line, chunk, (size_t)n);
		if (buf_overflowed(&line))
			break;
	}
	if (line.len > 0 && line.data[line.len - 1] == '\n')
		buf_truncate(&line, line.len - 1);
	if (strcmp(buf_cstr(&line), "ready") == 0) {
		rc = 0;
	} else if (strncmp(buf_cstr(&line), "error: ", 7) == 0) {
		fprintf(stderr, "tern: start: %s\n", buf_cstr(&line) + 7);
		/* master exits right after the error line: wait for it (a few
		 * seconds at most) so that its pid lock is gone and a start
		 * right after ours works */
		for (int i = 0; i < 500 && waitpid(child, &status, WNOHANG) == 0; i++)
			usleep(10000);
	} else if (line.len == 0 && waitpid(child, &status, 0) == child) {
		fprintf(stderr, "tern: start: master exited (%s %d) before it was ready; "
				"see %s/log/maillog\n",
			WIFEXITED(status) ? "status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), ctx->dir);
	} else {
		struct buf clean = BUF_INIT;

		str_sanitize(&clean, line.data != NULL ? line.data : "", line.len, 200);
		fprintf(stderr, "tern: start: unexpected answer from master: \"%s\"\n",
			buf_cstr(&clean));
		buf_deinit(&clean);
	}
out:
	buf_deinit(&line);
	return rc;
}

int tern_ctl_start(struct tern_ctx *ctx)
{
	struct buf master = BUF_INIT;
	bool stale;
	pid_t pid;
	int fds[2];
	int rc = TERN_EXIT_FAIL;

	if (tern_validate(ctx, "start") < 0)
		goto out;
	pid = tern_running(ctx, &stale);
	if (pid > 0) {
		fprintf(stderr, "tern: start: already running, pid %d\n", (int)pid);
		goto out;
	}
	if (tern_master_path(ctx, &master) < 0)
		goto out;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "tern: start: pipe: %s\n", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "tern: start: fork: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto out;
	}
	if (pid == 0)
		tern_start_child(buf_cstr(&master), ctx->dir, fds[1]);
	close(fds[1]);
	if (tern_start_wait(fds[0], pid, ctx) == 0) {
		pid_t running = tern_running(ctx, &stale);

		printf("tern: started, pid %d\n", (int)(running > 0 ? running : pid));
		rc = TERN_EXIT_OK;
	}
	close(fds[0]);
out:
	buf_deinit(&master);
	return rc;
}

int tern_ctl_start_fg(struct tern_ctx *ctx)
{
	struct buf master = BUF_INIT;
	bool stale;
	pid_t pid;

	if (tern_validate(ctx, "start-fg") < 0)
		return TERN_EXIT_FAIL;
	pid = tern_running(ctx, &stale);
	if (pid > 0) {
		fprintf(stderr, "tern: start-fg: already running, pid %d\n", (int)pid);
		return TERN_EXIT_FAIL;
	}
	if (tern_master_path(ctx, &master) < 0) {
		buf_deinit(&master);
		return TERN_EXIT_FAIL;
	}
	fflush(NULL);
	char *const argv[] = { master.data, "-c", ctx->dir, "-f", NULL };
	execv(master.data, argv);
	fprintf(stderr, "tern: start-fg: cannot execute %s: %s\n", master.data, strerror(errno));
	buf_deinit(&master);
	return TERN_EXIT_FAIL;
}

int tern_ctl_stop(struct tern_ctx *ctx)
{
	bool stale;
	pid_t pid = tern_running(ctx, &stale);
	long wait_s = cfg_get_time(ctx->cfg, "master_stop_timeout") + 5;
	long long deadline;

	if (pid <= 0) {
		fprintf(stderr, "tern: stop: not running%s\n", stale ? " (stale pid file)" : "");
		return TERN_EXIT_FAIL;
	}
	if (kill(pid, SIGTERM) < 0) {
		fprintf(stderr, "tern: stop: kill %d: %s\n", (int)pid, strerror(errno));
		return TERN_EXIT_FAIL;
	}
	deadline = tern_now_ms() + wait_s * 1000;
	while (tern_pid_alive(pid)) {
		if (tern_now_ms() >= deadline) {
			fprintf(stderr, "tern: stop: master pid %d still running after %lds\n",
				(int)pid, wait_s);
			return TERN_EXIT_FAIL;
		}
		tern_sleep_ms(TERN_POLL_MS);
	}
	printf("tern: stopped, pid %d\n", (int)pid);
	return TERN_EXIT_OK;
}

int tern_ctl_status(struct tern_ctx *ctx)
{
	bool stale;
	pid_t pid = tern_running(ctx, &stale);

	if (pid > 0) {
		printf("tern: running, pid %d\n", (int)pid);
		return TERN_EXIT_OK;
	}
	printf("tern: not running%s\n", stale ? " (stale pid file)" : "");
	return TERN_EXIT_FAIL;
}

int tern_ctl_reload(struct tern_ctx *ctx)
{
	bool stale;
	pid_t pid;

	if (tern_validate(ctx, "reload") < 0)
		return TERN_EXIT_FAIL;
	pid = tern_running(ctx, &stale);
	if (pid <= 0) {
		fprintf(stderr, "tern: reload: not running%s\n", stale ? " (stale pid file)" : "");
		return TERN_EXIT_FAIL;
	}
	if (kill(pid, SIGHUP) < 0) {
		fprintf(stderr, "tern: reload: kill %d: %s\n", (int)pid, strerror(errno));
		return TERN_EXIT_FAIL;
	}
	printf("tern: reloaded, pid %d\n", (int)pid);
	return TERN_EXIT_OK;
}

int tern_ctl_check(struct tern_ctx *ctx)
{
	struct tern_check_result res;

	tern_check_run(ctx, &res);
	if (res.errors == 0 && res.warnings == 0) {
		printf("tern: check: %s: no problems found\n", ctx->dir);
		return TERN_EXIT_OK;
	}
	fprintf(stderr, "tern: check: %u error%s, %u warning%s\n", res.errors,
		res.errors == 1 ? "" : "s", res.warnings, res.warnings == 1 ? "" : "s");
	return TERN_EXIT_FAIL;
}
