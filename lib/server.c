/*
 * server.c - the daemon skeleton (see server.h): master's arguments, the
 *            privilege drop, main.cf, logging, the listeners master passed
 *            down, the status channel and the libevent loop.
 * Touches:  fds 3 and 4.., process credentials, signals, the maillog.
 * Security: privileges are dropped before any input is read (main.cf is read
 *           first only with -C, because it lies outside the jail; it is
 *           root's own file).  Peers' connections are handed to the daemon
 *           non-blocking and close-on-exec; nothing from a peer is parsed here.
 * Errors:   bad arguments, main.cf or a failed init hook are log_fatal (exit
 *           1; master restarts with back-off); accept(2) errors are logged
 *           and retried on the next readiness event, except running out of
 *           descriptors or memory, which pauses accepting for a second and
 *           reports the process full to master; a crash signal leaves a
 *           "panic: fatal signal" line before the default action.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "priv.h"
#include "server.h"
#include "str.h"
#include "tbl.h"
#include "xmem.h"

#define SERVER_STATUS_FD 3
#define SERVER_LISTEN_FD0 4
#define SERVER_MAX_LISTEN 64
#define SERVER_ACCEPT_BURST 64
/* SERVER_RESUME_MS - how long accept(2) rests after EMFILE and the like. */
#define SERVER_RESUME_MS 1000

struct server_opts {
	const char *config_dir;
	const char *service;
	const char *transport;
	const char *chroot_dir;
	uid_t uid;
	gid_t gid;
	bool have_uid;
	bool have_gid;
	bool verbose;
	char **overrides;
	size_t n_overrides;
};

static struct {
	const struct server_hooks *hooks;
	struct server_ctx ctx;
	struct event *listen_ev[SERVER_MAX_LISTEN];
	int listen_fd[SERVER_MAX_LISTEN];
	unsigned int n_listen;
	int status_fd;
	struct event *status_ev;
	struct event *idle_ev;
	struct event *resume_ev; /* out of descriptors: accept again later */
	struct event *stop_ev;
	struct event *sig_ev[2];
	unsigned int sessions;
	unsigned int session_limit;
	long max_idle;
	bool paused;
	bool stopping;
	bool spare;
	bool exiting;
	int exit_status;
} srv = { .status_fd = -1 };

/* usage_fatal - bad command line: master and the operator see why. */
static void ATTR_NORETURN usage_fatal(const char *why)
{
	log_fatal("%s; usage: %s -c CONFIG_DIR [-n SERVICE] [-t inet|unix] [-u UID -g GID] "
		  "[-C DIR] [-v] [-o name=value] [args...]", why, srv.hooks->name);
}

/* parse_id - a numeric uid or gid from -u/-g. */
static unsigned long parse_id(const char *s, const char *opt)
{
	unsigned long n;

	if (str_to_ulong(s, &n) < 0 || n > 0x7fffffffUL)
		usage_fatal(opt);
	return n;
}

/* parse_args - getopt over master's options; stops at the first non-option
 * so master.cf arguments reach the daemon untouched. */
static void parse_args(int argc, char **argv, struct server_opts *o)
{
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:n:t:u:g:C:vo:")) != -1) {
		switch (c) {
		case 'c': o->config_dir = optarg; break;
		case 'n': o->service = optarg; break;
		case 't': o->transport = optarg; break;
		case 'C': o->chroot_dir = optarg; break;
		case 'v': o->verbose = true; break;
		case 'u':
			o->uid = (uid_t)parse_id(optarg, "bad -u value");
			o->have_uid = true;
			break;
		case 'g':
			o->gid = (gid_t)parse_id(optarg, "bad -g value");
			o->have_gid = true;
			break;
		case 'o':
			o->overrides = xreallocarray(o->overrides, o->n_overrides + 1,
						     sizeof(*o->overrides));
			o->overrides[o->n_overrides++] = optarg;
			break;
		default:
			usage_fatal("unknown option or missing value");
		}
	}
	if (o->config_dir == NULL)
		usage_fatal("-c is required");
	if (o->transport != NULL && strcmp(o->transport, "inet") != 0 &&
	    strcmp(o->transport, "unix") != 0)
		usage_fatal("-t must be inet or unix");
	srv.ctx.argc = argc - optind;
	srv.ctx.argv = argv + optind;
}

/* load_config - main.cf; on failure the default maillog gets the reason. */
static struct cfg *load_config(const char *dir)
{
	struct err err, err2;
	struct cfg *cfg = cfg_load(dir, &err);

	if (cfg == NULL) {
		struct cfg *def = cfg_new_defaults(dir);

		if (log_set_file(cfg_get(def, "maillog_file"), &err2) < 0)
			log_warn("%s", err2.msg);
		cfg_free(&def);
		log_fatal("%s", err.msg);
	}
	return cfg;
}

/* setup_log - maillog, syslog, stderr and debug per main.cf.  Lines are
 * from $syslog_name/DAEMON ("tern/smtpd"; "tern/submission/smtpd" for the
 * 587 entry's -o syslog_name=tern/submission), in the file and in syslog. */
static void setup_log(struct cfg *cfg, bool verbose, bool file_open_already)
{
	const char *e = getenv("TERN_LOG_STDERR");
	const char *sn = cfg_get(cfg, "syslog_name");
	struct buf prog = BUF_INIT;
	struct err err;

	buf_printf(&prog, "%s/%s", sn[0] != '\0' ? sn : "tern", srv.hooks->name);
	log_set_program(buf_cstr(&prog));
	if (!file_open_already && log_set_file(cfg_get(cfg, "maillog_file"), &err) < 0)
		log_fatal("%s", err.msg);
	if (log_set_syslog(cfg_get_bool(cfg, "syslog_enable"), cfg_get(cfg, "syslog_facility"),
			   buf_cstr(&prog), &err) < 0)
		log_fatal("%s", err.msg);
	buf_deinit(&prog);
	log_set_stderr(e != NULL && strcmp(e, "1") == 0);
	log_set_debug(verbose || cfg_get_bool(cfg, "debug_logging"));
	log_set_hostname(cfg_get(cfg, "myhostname"));
}

/* drop_privileges - first thing after the arguments (see header); true
 * when the maillog was opened before the drop. */
static bool drop_privileges(struct server_opts *o, struct cfg **cfgp)
{
	struct err err;
	bool log_open = false;

	if (geteuid() == 0 && (!o->have_uid || !o->have_gid))
		usage_fatal("running as root needs -u and -g");
	if (geteuid() != 0 && !o->have_uid && o->chroot_dir == NULL)
		return false;
	if (!o->have_uid)
		o->uid = getuid();
	if (!o->have_gid)
		o->gid = getgid();
	if (geteuid() == 0) {
		/* main.cf is root's own file.  The maillog is opened now when it
		 * will be out of reach: outside the jail, or owned by another
		 * account than ours (the auth service runs as $auth_owner; the
		 * file is the mail owner's).  O_NOFOLLOW guards the open. */
		const char *log;
		struct stat st;

		*cfgp = load_config(o->config_dir);
		log = cfg_get(*cfgp, "maillog_file");
		if (o->chroot_dir != NULL || (stat(log, &st) == 0 && st.st_uid != o->uid)) {
			if (log_set_file(log, &err) < 0)
				log_fatal("%s", err.msg);
			log_open = true;
		}
	}
	if (priv_drop(o->uid, o->gid, o->chroot_dir, &err) < 0)
		log_fatal("drop privileges: %s", err.msg);
	return log_open;
}

/* status_send - one byte to master; lost bytes only delay a spawn. */
static void status_send(char c)
{
	if (srv.status_fd >= 0 && send(srv.status_fd, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN)
		log_debug("status channel: %s", strerror(errno));
}

/* listeners_enable - add or remove the accept events. */
static void listeners_enable(bool on)
{
	for (unsigned int i = 0; i < srv.n_listen; i++) {
		if (srv.listen_ev[i] == NULL)
			continue;
		if (on)
			event_add(srv.listen_ev[i], NULL);
		else
			event_del(srv.listen_ev[i]);
	}
	srv.paused = !on;
}

/* listeners_close - a graceful stop: this process takes no more sessions. */
static void listeners_close(void)
{
	for (unsigned int i = 0; i < srv.n_listen; i++) {
		if (srv.listen_ev[i] != NULL)
			event_free(srv.listen_ev[i]);
		srv.listen_ev[i] = NULL;
		if (srv.listen_fd[i] >= 0)
			close(srv.listen_fd[i]);
		srv.listen_fd[i] = -1;
	}
	srv.paused = true;
}

/* idle_arm - (re)start the max_idle clock while no session is open. */
static void idle_arm(void)
{
	struct timeval tv = { srv.max_idle > 0 ? srv.max_idle : 1, 0 };

	if (srv.idle_ev != NULL && srv.sessions == 0 && !srv.stopping && srv.max_idle > 0)
		event_add(srv.idle_ev, &tv);
}

/* on_idle - max_idle passed without a session: a spare process leaves. */
static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	if (srv.sessions != 0 || srv.stopping)
		return;
	if (srv.spare) {
		log_debug("idle for %lds -- exiting", srv.max_idle);
		server_exit(0);
		return;
	}
	idle_arm();
}

/* on_stop_timeout - sessions outlived $daemon_timeout after 'Q'. */
static void on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	log_warn("stop: %u session(s) still open after $daemon_timeout -- exiting",
		 srv.sessions);
	server_exit(0);
}

/* begin_stop - graceful stop ('Q' or master gone). */
static void begin_stop(void)
{
	struct timeval tv = { cfg_get_time(srv.ctx.cfg, "daemon_timeout"), 0 };

	if (srv.stopping)
		return;
	srv.stopping = true;
	listeners_close();
	if (srv.idle_ev != NULL)
		event_del(srv.idle_ev);
	if (srv.hooks->stop != NULL)
		srv.hooks->stop(&srv.ctx);
	if (srv.sessions == 0) {
		server_exit(0);
		return;
	}
	srv.stop_ev = evtimer_new(srv.ctx.base, on_stop_timeout, NULL);
	evtimer_add(srv.stop_ev, &tv);
}

/* status_close - master is gone or stopped talking: stop reading fd 3. */
static void status_close(void)
{
	if (srv.status_ev != NULL)
		event_free(srv.status_ev);
	srv.status_ev = NULL;
	if (srv.status_fd >= 0)
		close(srv.status_fd);
	srv.status_fd = -1;
}

/* on_status - bytes from master (see server.h); EOF is a graceful stop. */
static void on_status(evutil_socket_t fd, short what, void *arg)
{
	char in[64];
	ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_debug("status channel closed -- stopping");
		status_close();
		begin_stop();
		return;
	}
	for (ssize_t i = 0; i < n && !srv.exiting; i++) {
		switch (in[i]) {
		case SERVER_STATUS_WAKEUP:
			if (srv.hooks->wakeup != NULL && !srv.stopping)
				srv.hooks->wakeup(&srv.ctx);
			break;
		case SERVER_STATUS_QUIT:
			begin_stop();
			break;
		case SERVER_STATUS_SPARE:
			srv.spare = true;
			idle_arm();
			break;
		case SERVER_STATUS_NOT_SPARE:
			srv.spare = false;
			break;
		default:
			log_warn("status channel: unknown byte 0x%02x from master",
				 (unsigned char)in[i]);
		}
	}
}

/* on_resume - a pause for want of descriptors is over: accept again when
 * the session limit allows (server_session_end may have done it already). */
static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	if (srv.paused && !srv.stopping &&
	    (srv.session_limit == 0 || srv.sessions < srv.session_limit)) {
		listeners_enable(true);
		status_send(SERVER_STATUS_AVAIL);
	}
}

/* accept_pause - accept(2) ran out of descriptors or memory: the listener
 * would stay readable and spin the loop, so stop accepting for
 * SERVER_RESUME_MS (or until a session ends) and tell master this process
 * is full, so another one takes the waiting connections. */
static void accept_pause(int error)
{
	struct timeval tv = { SERVER_RESUME_MS / 1000, (SERVER_RESUME_MS % 1000) * 1000 };

	log_warn("accept: %s -- not accepting for %d ms (%u sessions)", strerror(error),
		 SERVER_RESUME_MS, srv.sessions);
	listeners_enable(false);
	status_send(SERVER_STATUS_FULL);
	if (srv.resume_ev != NULL)
		event_add(srv.resume_ev, &tv);
}

/* on_accept - drain the listener's backlog; EAGAIN (another process won
 * the race) ends the burst quietly. */
static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	int index = (int)(intptr_t)arg;

	for (int i = 0; i < SERVER_ACCEPT_BURST && !srv.paused && !srv.stopping; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				accept_pause(errno);
				return;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		srv.hooks->accept(&srv.ctx, fd, (struct sockaddr *)&peer, len, index);
	}
}

/* on_signal - SIGTERM: leave now, sessions are not waited for. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	log_debug("signal %d -- exiting", (int)sig);
	server_exit(0);
}

/* fatal_signal - a crash leaves a log line, then the default action. */
static void fatal_signal(int sig)
{
	log_msg(LOGL_PANIC, "fatal signal %d -- exiting", sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

#if defined(__SANITIZE_ADDRESS__)
#define SERVER_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SERVER_SANITIZED 1
#endif
#endif

/* signals_setup - ignore SIGPIPE; under master, SIGINT and SIGHUP belong to
 * master (a ^C in the foreground reaches the whole process group). */
static void signals_setup(void)
{
	static const int crash[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
	struct sigaction sa;

	signal(SIGPIPE, SIG_IGN);
	if (srv.status_fd >= 0) {
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
	}
#ifndef SERVER_SANITIZED
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fatal_signal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_ELEMENTS(crash); i++)
		sigaction(crash[i], &sa, NULL);
#else
	(void)sa;
	(void)crash;
	(void)fatal_signal;
#endif
}

/* fd_is_open - fd refers to an open file. */
static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* inherit_fds - the status channel (when present) and $TERN_LISTEN_FDS
 * listening sockets from 4 on. */
static void inherit_fds(void)
{
	const char *n_env = getenv("TERN_LISTEN_FDS");
	unsigned int n = 0;
	struct stat st;

	if (fd_is_open(SERVER_STATUS_FD) && fstat(SERVER_STATUS_FD, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		srv.status_fd = SERVER_STATUS_FD;
	if (n_env != NULL && *n_env != '\0' &&
	    (str_to_uint(n_env, &n) < 0 || n > SERVER_MAX_LISTEN))
		log_fatal("bad TERN_LISTEN_FDS \"%s\"", n_env);
	unsetenv("TERN_LISTEN_FDS");
	for (unsigned int i = 0; i < n; i++) {
		int fd = SERVER_LISTEN_FD0 + (int)i;

		if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
			log_fatal("listener fd %d is not an open socket", fd);
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
			log_fatal("listener fd %d: %s", fd, strerror(errno));
		srv.listen_fd[i] = fd;
	}
	srv.n_listen = n;
	if (srv.status_fd >= 0 && fcntl(srv.status_fd, F_SETFD, FD_CLOEXEC) < 0)
		log_fatal("status fd: %s", strerror(errno));
}

/* loop_setup - the event base, signal, timer and fd events. */
static void loop_setup(void)
{
	struct event_base *base = event_base_new();

	if (base == NULL)
		log_fatal("event_base_new failed");
	srv.ctx.base = base;
	srv.sig_ev[0] = evsignal_new(base, SIGTERM, on_signal, NULL);
	srv.sig_ev[1] = srv.status_fd < 0 ? evsignal_new(base, SIGINT, on_signal, NULL) : NULL;
	for (size_t i = 0; i < N_ELEMENTS(srv.sig_ev); i++)
		if (srv.sig_ev[i] != NULL)
			evsignal_add(srv.sig_ev[i], NULL);
	srv.idle_ev = evtimer_new(base, on_idle, NULL);
	srv.resume_ev = evtimer_new(base, on_resume, NULL);
	if (srv.status_fd >= 0) {
		srv.status_ev = event_new(base, srv.status_fd, EV_READ | EV_PERSIST, on_status,
					  NULL);
		event_add(srv.status_ev, NULL);
	}
	for (unsigned int i = 0; i < srv.n_listen; i++)
		srv.listen_ev[i] = event_new(base, srv.listen_fd[i], EV_READ | EV_PERSIST,
					     on_accept, (void *)(intptr_t)i);
}

/* loop_teardown - release what loop_setup made. */
static void loop_teardown(void)
{
	listeners_close();
	status_close();
	for (size_t i = 0; i < N_ELEMENTS(srv.sig_ev); i++)
		if (srv.sig_ev[i] != NULL)
			event_free(srv.sig_ev[i]);
	if (srv.idle_ev != NULL)
		event_free(srv.idle_ev);
	if (srv.resume_ev != NULL)
		event_free(srv.resume_ev);
	if (srv.stop_ev != NULL)
		event_free(srv.stop_ev);
	srv.resume_ev = NULL;
	srv.idle_ev = srv.stop_ev = srv.sig_ev[0] = srv.sig_ev[1] = NULL;
	event_base_free(srv.ctx.base);
	srv.ctx.base = NULL;
}

/* apply_overrides - -o name=value, validated like main.cf. */
static void apply_overrides(struct cfg *cfg, struct server_opts *o)
{
	struct err err;

	for (size_t i = 0; i < o->n_overrides; i++) {
		const char *eq = strchr(o->overrides[i], '=');
		char *name;
		int rc;

		if (eq == NULL || eq == o->overrides[i])
			usage_fatal("-o needs name=value");
		name = xstrndup(o->overrides[i], (size_t)(eq - o->overrides[i]));
		rc = cfg_set(cfg, name, eq + 1, &err);
		free(name);
		if (rc < 0)
			log_fatal("-o %s: %s", o->overrides[i], err.msg);
	}
}

int server_main(int argc, char **argv, const struct server_hooks *hooks)
{
	struct server_opts o = { 0 };
	struct cfg *cfg = NULL;
	bool log_open;
	int status;

	srv.hooks = hooks;
	srv.session_limit = hooks->session_limit;
	log_init(hooks->name);
	parse_args(argc, argv, &o);
	log_open = drop_privileges(&o, &cfg);
	if (cfg == NULL)
		cfg = load_config(o.config_dir);
	apply_overrides(cfg, &o);
	free(o.overrides);
	setup_log(cfg, o.verbose, log_open);
	tbl_set_reopen_check(cfg_get_time(cfg, "table_reopen_check"));

	srv.ctx.cfg = cfg;
	srv.ctx.config_dir = o.config_dir;
	srv.ctx.service = o.service != NULL ? o.service : hooks->name;
	srv.ctx.transport = o.transport != NULL ? o.transport : "unix";
	srv.max_idle = cfg_get_time(cfg, "max_idle");
	inherit_fds();
	signals_setup();
	loop_setup();
	if (hooks->init != NULL && hooks->init(&srv.ctx) != 0)
		log_fatal("%s: initialization failed", srv.ctx.service);
	log_debug("%s: ready, %u listener(s)", srv.ctx.service, srv.n_listen);
	if (!srv.exiting) {
		listeners_enable(true);
		status_send(SERVER_STATUS_AVAIL);
		idle_arm();
		event_base_dispatch(srv.ctx.base);
	}
	status = srv.exit_status;
	loop_teardown();
	cfg_free(&srv.ctx.cfg);
	return status;
}

void server_session_begin(void)
{
	unsigned int limit = srv.session_limit;

	srv.sessions++;
	if (srv.idle_ev != NULL)
		event_del(srv.idle_ev);
	if (limit != 0 && srv.sessions >= limit && !srv.paused && !srv.stopping) {
		listeners_enable(false);
		status_send(SERVER_STATUS_FULL);
	}
}

void server_session_end(void)
{
	unsigned int limit = srv.session_limit;

	if (srv.sessions == 0)
		log_panic("server_session_end without a session");
	srv.sessions--;
	if (srv.stopping) {
		if (srv.sessions == 0)
			server_exit(0);
		return;
	}
	if (srv.paused && (limit == 0 || srv.sessions < limit)) {
		listeners_enable(true);
		status_send(SERVER_STATUS_AVAIL);
	}
	if (srv.sessions == 0)
		idle_arm();
}

unsigned int server_sessions(void)
{
	return srv.sessions;
}

bool server_stopping(void)
{
	return srv.stopping;
}

void server_exit(int status)
{
	srv.exit_status = status;
	srv.exiting = true;
	if (srv.ctx.base != NULL)
		event_base_loopbreak(srv.ctx.base);
}

void server_set_session_limit(unsigned int limit)
{
	srv.session_limit = limit;
}
