/*
 * local_command.c - deliver to a |command target of the alias database:
 * fork, execv("/bin/sh", "-c", COMMAND) with the message on stdin, a
 * minimal sanitized environment and a time limit; map the exit status.
 * Touches:  one child process (its own process group) and three pipes;
 *           the queue file's content (read).
 * Security: the command text is the administrator's (an alias value, or an
 *           :include: file when allow_mail_to_commands says so); message
 *           data reaches the command only on stdin and in the environment
 *           variables SENDER, RECIPIENT, ORIGINAL_RECIPIENT, LOCAL, DOMAIN
 *           and QUEUE_ID, each cut to a safe character set, never in the
 *           command line.  The child runs as the mail owner (our uid), with
 *           no inherited descriptors beyond 0-2.  On timeout the child's
 *           process group is killed.
 * Errors:   EX_TEMPFAIL, EX_OSERR, EX_OSFILE, EX_IOERR, signals and the time
 *           limit defer (4.3.0); other non-zero exits bounce (5.3.0), the
 *           command's first output line in the reason.
 * See:      docs/local.md "Commands", Postfix pipe_command.c, sysexits.h.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "local/local.h"
#include "log.h"
#include "proto.h"
#include "qfile.h"
#include "xmem.h"

/* LOCAL_CMD_OUTPUT_MAX - command output kept for the bounce reason. */
#define LOCAL_CMD_OUTPUT_MAX 1000

void local_env_sanitize(struct buf *out, const char *s)
{
	buf_reset(out);
	for (size_t i = 0; s[i] != '\0' && i < 1000; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || strchr(" @%+=:,./_-", c) != NULL;

		buf_addc(out, ok && c != '\0' ? (char)c : '_');
	}
}

void local_command_status(int status, bool timed_out, const char *output, struct local_result *r)
{
	char line[200];
	size_t n = strcspn(output, "\n");

	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, output, n);
	line[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	if (timed_out) {
		local_set_result(r, DELIVER_DEFER, "4.3.0", "command time limit exceeded");
	} else if (WIFSIGNALED(status)) {
		local_set_result(r, DELIVER_DEFER, "4.3.0", "command killed by signal %d",
				 WTERMSIG(status));
	} else if (!WIFEXITED(status)) {
		local_set_result(r, DELIVER_DEFER, "4.3.0", "command ended abnormally");
	} else if (WEXITSTATUS(status) == 0) {
		local_set_result(r, DELIVER_OK, "2.0.0", "delivered to command");
	} else {
		int code = WEXITSTATUS(status);
		bool soft = code == EX_TEMPFAIL || code == EX_OSERR || code == EX_OSFILE ||
			    code == EX_IOERR;

		local_set_result(r, soft ? DELIVER_DEFER : DELIVER_BOUNCE, soft ? "4.3.0" : "5.3.0",
				 "command exited %d%s%s", code, n > 0 ? ": " : "", line);
	}
}

/* child_exec - in the child: wire the pipes, build the environment and
 * exec the shell.  Never returns. */
static void child_exec(int in_fd, int out_fd, const char *cmd, char **envp) ATTR_NORETURN;
static void child_exec(int in_fd, int out_fd, const char *cmd, char **envp)
{
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)cmd, NULL};

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(EX_OSERR);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	execve("/bin/sh", argv, envp);
	_exit(EX_OSERR);
}

/* env_add - "NAME=sanitized value" into the environment array. */
static void env_add(char **envp, size_t *n, const char *name, const char *value)
{
	struct buf v = BUF_INIT;

	local_env_sanitize(&v, value);
	envp[(*n)++] = xasprintf("%s=%s", name, buf_cstr(&v));
	buf_deinit(&v);
}

/* ms_left - milliseconds until deadline (0 when passed). */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

/* pump - feed the message to the child and collect its output until it
 * closes its output or the deadline passes; true on timeout. */
static bool pump(const struct local_msg *msg, const char *prefix, int wfd, int rfd,
		 const struct timespec *deadline, struct buf *output)
{
	struct local_content c;
	struct buf chunk = BUF_INIT;
	struct err err;
	size_t off = 0;
	bool writing = true, timed_out = false;
	int more = 1;

	buf_sets(&chunk, prefix);
	local_content_open(&c, msg);
	while (rfd >= 0) {
		struct pollfd p[2] = {{rfd, POLLIN, 0}, {writing ? wfd : -1, POLLOUT, 0}};
		int left = ms_left(deadline);

		if (left == 0) {
			timed_out = true;
			break;
		}
		if (poll(p, 2, left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char tmp[4096];
			ssize_t n = read(rfd, tmp, sizeof(tmp));

			if (n > 0 && output->len < LOCAL_CMD_OUTPUT_MAX)
				buf_add(output, tmp, (size_t)n);
			else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				rfd = -1;
		}
		if (writing && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			if (off == chunk.len) {
				more = local_content_next(&c, &chunk, &err);
				off = 0;
				if (more <= 0) {
					if (more < 0)
						log_warn("%s: read content: %s", msg->queue_id,
							 err.msg);
					writing = false;
					close(wfd);
					continue;
				}
			}
			ssize_t w = write(wfd, chunk.data + off, chunk.len - off);
			if (w > 0) {
				off += (size_t)w;
			} else if (w < 0 && errno != EINTR && errno != EAGAIN) {
				/* EPIPE: the command need not read everything */
				writing = false;
				close(wfd);
			}
		}
	}
	if (writing)
		close(wfd);
	local_content_close(&c);
	buf_deinit(&chunk);
	return timed_out;
}

void local_deliver_command(const struct local_msg *msg, const char *cmd, const char *rcpt,
			   const char *orig_rcpt, const char *sender, long time_limit,
			   struct local_result *r)
{
	int in[2] = {-1, -1}, outp[2] = {-1, -1};
	char *envp[12];
	size_t n = 0;
	const char *at = strrchr(rcpt, '@');
	struct buf local = BUF_INIT, prefix = BUF_INIT, output = BUF_INIT;
	struct timespec deadline;
	bool timed_out;
	int status = 0;
	pid_t pid;

	buf_add(&local, rcpt, at != NULL ? (size_t)(at - rcpt) : strlen(rcpt));
	envp[n++] = xstrdup("PATH=/usr/bin:/bin");
	envp[n++] = xstrdup("SHELL=/bin/sh");
	env_add(envp, &n, "SENDER", sender);
	env_add(envp, &n, "RECIPIENT", rcpt);
	env_add(envp, &n, "ORIGINAL_RECIPIENT", orig_rcpt);
	env_add(envp, &n, "LOCAL", buf_cstr(&local));
	env_add(envp, &n, "DOMAIN", at != NULL ? at + 1 : "");
	env_add(envp, &n, "QUEUE_ID", msg->queue_id);
	envp[n] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		local_set_result(r, DELIVER_DEFER, "4.3.0", "pipe: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		local_set_result(r, DELIVER_DEFER, "4.3.0", "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(in[0], outp[1], cmd, envp);
	setpgid(pid, pid);
	close(in[0]);
	close(outp[1]);
	in[0] = outp[1] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(outp[0], F_SETFL, O_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += time_limit > 0 ? time_limit : 1;
	buf_printf(&prefix, "Return-Path: <%s>\nDelivered-To: %s\n", sender, rcpt);
	timed_out = pump(msg, buf_cstr(&prefix), in[1], outp[0], &deadline, &output);
	in[1] = -1;
	if (timed_out)
		kill(-pid, SIGKILL);
	/* the output is closed: the command ends now (or is killed after the
	 * remaining time) */
	for (;;) {
		pid_t w = waitpid(pid, &status, timed_out ? 0 : WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (w == 0) {
			if (ms_left(&deadline) == 0) {
				kill(-pid, SIGKILL);
				timed_out = true;
			} else {
				usleep(10000);
			}
		}
	}
	local_command_status(status, timed_out, buf_cstr(&output), r);
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(envp[i]);
	buf_deinit(&local);
	buf_deinit(&prefix);
	buf_deinit(&output);
}
