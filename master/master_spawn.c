/*
 * master_spawn.c - master's children: fork/exec with the status channel on
 *                  fd 3 and the listeners on 4.., the status bytes, reaping,
 *                  restart with exponential back-off, wakeup timers and the
 *                  spare ('S'/'N') bookkeeping of lib/server.h.
 * Touches:  child processes, their status sockets, libevent timers.
 * Security: a child gets exactly fds 0-2, 3 and its listeners (everything
 *           else is closed before exec), and -u/-g of the mail owner when
 *           master runs as root; it drops privileges itself, first thing.
 *           A status byte can at most make master start processes up to
 *           maxproc; unknown bytes are logged and ignored.
 * Errors:   fork/socketpair failures are logged and retried with back-off;
 *           a failed exec exits the child with 127, which is then a crash.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "master.h"
#include "mastercf.h"
#include "priv.h"
#include "server.h"
#include "str.h"
#include "xmem.h"

/* proc_send - one status byte; a full or dead channel loses it. */
static void proc_send(struct master_proc *p, char c)
{
	if (p->status_fd >= 0 && send(p->status_fd, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("pid %ld: status channel: %s", (long)p->pid, strerror(errno));
}

/* proc_close_status - stop listening to a child. */
static void proc_close_status(struct master_proc *p)
{
	if (p->status_ev != NULL)
		event_free(p->status_ev);
	p->status_ev = NULL;
	if (p->status_fd >= 0)
		close(p->status_fd);
	p->status_fd = -1;
}

/* proc_free - forget one child. */
static void proc_free(struct master_proc **pp)
{
	struct master_proc *p = *pp;

	proc_close_status(p);
	free(p->path);
	free(p->service);
	free(p);
	*pp = NULL;
}

/* can_grow - svc may have one more process (maxproc 0: no limit). */
static bool can_grow(const struct master_svc *svc)
{
	return svc->ent->maxproc == 0 || svc->nproc < svc->ent->maxproc;
}

/* update_spares - 'S' to every process of svc but the oldest, which is
 * never spare ('N' when it becomes the oldest); see server.h. */
static void update_spares(struct master_svc *svc)
{
	struct master_proc *oldest = NULL;

	for (struct master_proc *p = svc->m->procs; p != NULL; p = p->next)
		if (p->svc == svc)
			oldest = p; /* the list is newest first */
	for (struct master_proc *p = svc->m->procs; p != NULL; p = p->next) {
		if (p->svc != svc)
			continue;
		if (p != oldest && !p->told_spare) {
			proc_send(p, SERVER_STATUS_SPARE);
			p->told_spare = true;
		} else if (p == oldest && p->told_spare) {
			proc_send(p, SERVER_STATUS_NOT_SPARE);
			p->told_spare = false;
		}
	}
}

/* on_status - 'A'/'F' from a child; EOF just stops the reading (the
 * SIGCHLD path does the bookkeeping). */
static void on_status(evutil_socket_t fd, short what, void *arg)
{
	struct master_proc *p = arg;
	struct master_svc *svc = p->svc;
	char in[64];
	ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		proc_close_status(p);
		return;
	}
	for (ssize_t i = 0; i < n && svc != NULL; i++) {
		if (in[i] == SERVER_STATUS_AVAIL && !p->avail) {
			p->avail = true;
			svc->navail++;
		} else if (in[i] == SERVER_STATUS_FULL && p->avail) {
			p->avail = false;
			svc->navail--;
		} else if (in[i] != SERVER_STATUS_AVAIL && in[i] != SERVER_STATUS_FULL) {
			/* not a tern daemon: stop listening rather than flood the log */
			log_warn("service %s: pid %ld: unknown status byte 0x%02x -- "
				 "ignoring its status channel", p->service, (long)p->pid,
				 (unsigned char)in[i]);
			proc_close_status(p);
			return;
		}
	}
	if (svc != NULL && svc->navail == 0 && can_grow(svc) && !svc->m->stopping)
		master_spawn(svc);
}

/* child_exec - in the child: fds into place, signals reset, exec. */
static void ATTR_NORETURN child_exec(struct master_svc *svc, int status_fd, char **argv)
{
	int top = 4 + (int)svc->nfds, tmp_status, exec_errno;
	struct err err;
	char nbuf[16];
	sigset_t none;

	/* first out of the way (above every target), then into place */
	tmp_status = fcntl(status_fd, F_DUPFD, top);
	for (size_t i = 0; i < svc->nfds; i++)
		svc->fds[i] = fcntl(svc->fds[i], F_DUPFD, top);
	if (tmp_status < 0 || dup2(tmp_status, 3) < 0)
		_exit(126);
	for (size_t i = 0; i < svc->nfds; i++)
		if (svc->fds[i] < 0 || dup2(svc->fds[i], 4 + (int)i) < 0)
			_exit(126);
	close_range((unsigned int)top, ~0U, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	snprintf(nbuf, sizeof(nbuf), "%zu", svc->nfds);
	setenv("TERN_LISTEN_FDS", nbuf, 1);
	execv(argv[0], argv);
	exec_errno = errno;
	/* the maillog's fd may have been one of 3.. replaced above */
	if (log_reopen(&err) < 0 && log_set_file(NULL, &err) < 0)
		_exit(127);
	log_error("exec %s: %s", argv[0], strerror(exec_errno));
	_exit(127);
}

int master_auth_owner(struct cfg *cfg, uid_t *uid_r, gid_t *gid_r, struct err *err)
{
	const char *name = cfg_get(cfg, "auth_owner");

	if (priv_lookup_user(name, uid_r, gid_r, err) < 0) {
		if (err->code == ENOENT)
			return err_set(err, "auth_owner \"%s\" does not exist: create the account "
				       "(useradd -r %s) or set auth_owner in main.cf", name, name);
		return -1;
	}
	if (*uid_r == 0 || *gid_r == 0)
		return err_set(err, "auth_owner \"%s\" has uid or gid 0: the auth service must "
			       "not run as root", name);
	return 0;
}

/* service_owner - the uid/gid a service runs as when master is root: the
 * auth service (command "auth") as $auth_owner, every other as the mail
 * owner.  A lookup that fails now (the account was removed after the
 * configuration was loaded) falls back to the mail owner with a warning. */
static void service_owner(struct master *m, const struct service *ent, uid_t *uid_r,
			  gid_t *gid_r)
{
	const char *slash = strrchr(ent->command, '/');
	const char *prog = slash != NULL ? slash + 1 : ent->command;
	struct err err;

	*uid_r = m->uid;
	*gid_r = m->gid;
	if (strcmp(prog, "auth") != 0)
		return;
	if (master_auth_owner(m->cfg, uid_r, gid_r, &err) < 0) {
		log_warn("service %s: %s -- running it as the mail owner", ent->name, err.msg);
		*uid_r = m->uid;
		*gid_r = m->gid;
	}
}

/* build_argv - DAEMON -c DIR -n NAME -t TYPE [-u UID -g GID] [-C QDIR] [-v]
 * followed by the master.cf arguments. */
static char **build_argv(struct master_svc *svc)
{
	struct master *m = svc->m;
	const struct service *ent = svc->ent;
	size_t n = 0, max = 14 + ent->argc;
	char **argv = xcalloc(max + 1, sizeof(*argv));

	if (ent->command[0] == '/')
		argv[n++] = xstrdup(ent->command);
	else
		argv[n++] = xasprintf("%s/%s", buf_cstr(&m->daemon_dir), ent->command);
	argv[n++] = xstrdup("-c");
	argv[n++] = xstrdup(m->config_dir);
	argv[n++] = xstrdup("-n");
	argv[n++] = xstrdup(ent->name);
	argv[n++] = xstrdup("-t");
	argv[n++] = xstrdup(ent->type == SERVICE_INET ? "inet" : "unix");
	if (m->root) {
		uid_t uid;
		gid_t gid;

		service_owner(m, ent, &uid, &gid);
		argv[n++] = xstrdup("-u");
		argv[n++] = xasprintf("%ld", (long)uid);
		argv[n++] = xstrdup("-g");
		argv[n++] = xasprintf("%ld", (long)gid);
	}
	if (m->root && ent->chroot) {
		argv[n++] = xstrdup("-C");
		argv[n++] = xstrdup(cfg_get(m->cfg, "queue_directory"));
	}
	if (m->verbose)
		argv[n++] = xstrdup("-v");
	for (size_t i = 0; i < ent->argc; i++)
		argv[n++] = xstrdup(ent->argv[i]);
	argv[n] = NULL;
	return argv;
}

/* schedule_restart - start svc again after delay seconds (0: now-ish). */
static void schedule_restart(struct master_svc *svc, long delay);

void master_spawn(struct master_svc *svc)
{
	struct master *m = svc->m;
	struct master_proc *p;
	char **argv;
	int sv[2];
	pid_t pid;

	if (m->stopping || !can_grow(svc))
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("service %s: socketpair: %s", svc->ent->name, strerror(errno));
		schedule_restart(svc, svc->backoff);
		return;
	}
	argv = build_argv(svc);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child_exec(svc, sv[1], argv);
	}
	close(sv[1]);
	if (pid < 0) {
		log_warn("service %s: fork: %s", svc->ent->name, strerror(errno));
		close(sv[0]);
		str_split_free(&argv);
		schedule_restart(svc, svc->backoff);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->svc = svc;
	p->path = xstrdup(argv[0]);
	p->service = xstrdup(svc->ent->name);
	p->started = time(NULL);
	p->avail = true;
	p->status_fd = sv[0];
	p->status_ev = event_new(m->base, sv[0], EV_READ | EV_PERSIST, on_status, p);
	event_add(p->status_ev, NULL);
	p->next = m->procs;
	m->procs = p;
	svc->nproc++;
	svc->navail++;
	log_debug("service %s: started %s pid %ld", svc->ent->name, argv[0], (long)pid);
	str_split_free(&argv);
	update_spares(svc);
}

/* on_restart - the back-off delay is over. */
static void on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct master_svc *svc = arg;

	event_free(svc->restart_ev);
	svc->restart_ev = NULL;
	if (svc->nproc == 0 || svc->navail == 0)
		master_spawn(svc);
}

static void schedule_restart(struct master_svc *svc, long delay)
{
	struct timeval tv = { delay, 0 };

	if (svc->restart_ev != NULL || svc->m->stopping)
		return;
	svc->restart_ev = evtimer_new(svc->m->base, on_restart, svc);
	evtimer_add(svc->restart_ev, &tv);
}

/* on_wakeup - master.cf wakeup: 'W' to the oldest process of svc. */
static void on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct master_svc *svc = arg;
	struct master_proc *oldest = NULL;

	for (struct master_proc *p = svc->m->procs; p != NULL; p = p->next)
		if (p->svc == svc && p->status_fd >= 0)
			oldest = p; /* the list is newest first */
	if (oldest != NULL)
		proc_send(oldest, SERVER_STATUS_WAKEUP);
}

void master_svc_start(struct master_svc *svc)
{
	struct timeval tv = { svc->ent->wakeup, 0 };

	svc->backoff = 1;
	master_spawn(svc);
	if (svc->ent->wakeup > 0) {
		svc->wakeup_ev = event_new(svc->m->base, -1, EV_PERSIST, on_wakeup, svc);
		evtimer_add(svc->wakeup_ev, &tv);
	}
}

void master_svc_deinit(struct master_svc *svc)
{
	if (svc->restart_ev != NULL)
		event_free(svc->restart_ev);
	if (svc->wakeup_ev != NULL)
		event_free(svc->wakeup_ev);
	svc->restart_ev = svc->wakeup_ev = NULL;
	xfree(&svc->key);
}

void master_retire_all(struct master *m)
{
	for (struct master_proc *p = m->procs; p != NULL; p = p->next) {
		if (p->svc == NULL)
			continue;
		proc_send(p, SERVER_STATUS_QUIT);
		proc_close_status(p);
		p->svc = NULL;
	}
}

/* child_gone - bookkeeping and restart policy for one exited child. */
static void child_gone(struct master *m, struct master_proc *p, int status)
{
	struct master_svc *svc = p->svc;
	bool crashed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	long lived = (long)(time(NULL) - p->started);

	if (crashed && !m->stopping) {
		if (WIFSIGNALED(status))
			log_warn("process %s pid %ld killed by signal %d", p->path, (long)p->pid,
				 WTERMSIG(status));
		else
			log_warn("process %s pid %ld exit status %d", p->path, (long)p->pid,
				 WEXITSTATUS(status));
	} else {
		log_debug("process %s pid %ld exited", p->path, (long)p->pid);
	}
	if (svc == NULL)
		return;
	svc->nproc--;
	if (p->avail)
		svc->navail--;
	update_spares(svc);
	if (m->stopping)
		return;
	if (!crashed && lived >= 1) {
		if (svc->nproc == 0)
			master_spawn(svc);
		return;
	}
	if (svc->nproc > 0 && svc->navail > 0)
		return;
	if (lived >= m->throttle)
		svc->backoff = 1;
	log_warn("%s: restarting in %lds", svc->ent->name, svc->backoff);
	schedule_restart(svc, svc->backoff);
	svc->backoff = svc->backoff * 2 > m->throttle ? m->throttle : svc->backoff * 2;
	if (svc->backoff < 1)
		svc->backoff = 1;
}

unsigned int master_reap(struct master *m)
{
	unsigned int alive = 0;
	int status;
	pid_t pid;

	for (int guard = 0; guard < 100000; guard++) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break;
		for (struct master_proc **pp = &m->procs; *pp != NULL; pp = &(*pp)->next) {
			if ((*pp)->pid == pid) {
				struct master_proc *p = *pp;

				*pp = p->next;
				child_gone(m, p, status);
				proc_free(&p);
				break;
			}
		}
	}
	for (struct master_proc *p = m->procs; p != NULL; p = p->next)
		alive++;
	return alive;
}

unsigned int master_signal_all(struct master *m, int sig)
{
	unsigned int n = 0;

	for (struct master_proc *p = m->procs; p != NULL; p = p->next)
		if (kill(p->pid, sig) == 0)
			n++;
	return n;
}

void master_proc_free_all(struct master *m)
{
	while (m->procs != NULL) {
		struct master_proc *p = m->procs;

		m->procs = p->next;
		proc_free(&p);
	}
}
