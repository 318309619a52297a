/*
 * master.c - the tern master process: reads main.cf and master.cf, binds
 *            every listening socket, starts and supervises the daemons,
 *            reloads on SIGHUP and stops them on SIGTERM/SIGINT.
 *     master -c DIR [-f] [-v] [-s FD]
 *       -f     foreground: log lines of master and every daemon also go to stderr
 *       -v     debug logging here and in every daemon (-v passed on)
 *       -s FD  write "ready\n" to FD once listening and the first children
 *              are started, or "error: REASON\n" (and exit 1)
 *     master never detaches; `tern start` runs it under setsid.
 * Touches:  main.cf, master.cf, $data_directory/master.pid (flock'ed for
 *           master's lifetime), the maillog, sockets, child processes.
 * Security: the one process that stays root (when started as root): it
 *           binds, forks and execs, and parses nothing but the operator's
 *           own configuration.  Daemons run as $mail_owner, which must exist
 *           and must not be root.
 * Errors:   startup problems are fatal (exit 1) with a clear log line (and
 *           the -s "error:" line); a bad configuration on reload is logged
 *           and the old one kept.
 * See:      docs/architecture.md, lib/server.h, master_spawn.c.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "master.h"
#include "mastercf.h"
#include "paths.h"
#include "priv.h"
#include "str.h"
#include "xmem.h"

static struct master master;
static int ready_fd = -1;         /* -s FD until "ready" or "error" is sent */
static bool foreground;
static int pid_fd = -1;
static char *pid_path;
static struct event *stop_ev;

/* ready_send - the one line `tern start` waits for. */
static void ready_send(const char *line)
{
	if (ready_fd < 0)
		return;
	for (size_t off = 0, n = strlen(line); off < n;) {
		ssize_t w = write(ready_fd, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(ready_fd);
	ready_fd = -1;
}

/* startup_fatal_hook - a log_fatal before "ready" still answers -s. */
static void startup_fatal_hook(void)
{
	ready_send("error: fatal error during startup, see the maillog\n");
}

/* startup_fatal - log and report REASON on the -s channel, exit 1. */
static void ATTR_NORETURN ATTR_PRINTF(1, 2) startup_fatal(const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (ready_fd >= 0) {
		struct buf line = BUF_INIT;

		buf_printf(&line, "error: %s\n", buf_cstr(&msg));
		ready_send(buf_cstr(&line));
		buf_deinit(&line);
	}
	log_fatal("%s", buf_cstr(&msg));
}

/* usage - bad command line. */
static void ATTR_NORETURN usage(void)
{
	startup_fatal("usage: master -c CONFIG_DIR [-f] [-v] [-s FD]");
}

/* fds_sane - make sure 0, 1 and 2 are open so sockets never land there. */
static void fds_sane(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			exit(1);
	}
}

/* MASTER_NOFILE - the descriptor limit master gives itself and its
 * children: an smtpd holding smtpd_max_sessions (1000) sessions needs more
 * than the common soft limit of 1024. */
#define MASTER_NOFILE 65536

/* fds_limit - raise the soft RLIMIT_NOFILE to MASTER_NOFILE (or the hard
 * limit if lower); as root, the hard limit too when it is below. */
static void fds_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= MASTER_NOFILE)
		return;
	if (rl.rlim_max < MASTER_NOFILE && geteuid() == 0) {
		struct rlimit want = { MASTER_NOFILE, MASTER_NOFILE };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max < MASTER_NOFILE ? rl.rlim_max : MASTER_NOFILE;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* owner_resolve - mail_owner and setgid_group of cfg into uid/gid/sgid;
 * auth_owner is checked too (master_spawn looks it up when it starts the
 * auth service). */
static int owner_resolve(struct cfg *cfg, uid_t *uid, gid_t *gid, gid_t *sgid,
			 struct err *err)
{
	const char *owner = cfg_get(cfg, "mail_owner");
	const char *group = cfg_get(cfg, "setgid_group");
	struct err gerr;
	uid_t auid;
	gid_t agid;

	if (geteuid() != 0) {
		*uid = getuid();
		*gid = *sgid = getgid();
		return 0;
	}
	if (priv_lookup_user(owner, uid, gid, err) < 0) {
		if (err->code == ENOENT)
			return err_set(err, "mail_owner \"%s\" does not exist: create the account "
				       "(useradd -r %s) or set mail_owner in main.cf", owner, owner);
		return -1;
	}
	if (*uid == 0 || *gid == 0)
		return err_set(err, "mail_owner \"%s\" has uid or gid 0: daemons must not run "
			       "as root", owner);
	if (priv_lookup_group(group, sgid, &gerr) < 0) {
		if (strcmp(group, owner) != 0)
			return err_set(err, "setgid_group: %s", gerr.msg);
		*sgid = *gid; /* the default $mail_owner: the owner's own group */
	}
	return master_auth_owner(cfg, &auid, &agid, err);
}

/* log_open - the maillog (owned by the mail owner so daemons can append),
 * syslog and debug per cfg. */
static int log_open(struct cfg *cfg, uid_t uid, gid_t gid, struct err *err)
{
	const char *path = cfg_get(cfg, "maillog_file");
	struct buf ident = BUF_INIT;
	int rc;

	log_set_hostname(cfg_get(cfg, "myhostname"));
	if (log_set_file(path, err) < 0)
		return -1;
	if (*path != '\0' && geteuid() == 0 && chown(path, uid, gid) < 0)
		return err_set(err, "chown %s: %s", path, strerror(errno));
	buf_printf(&ident, "%s/master", cfg_get(cfg, "syslog_name"));
	rc = log_set_syslog(cfg_get_bool(cfg, "syslog_enable"), cfg_get(cfg, "syslog_facility"),
			    buf_cstr(&ident), err);
	buf_deinit(&ident);
	if (rc < 0)
		return -1;
	log_set_debug(master.verbose || cfg_get_bool(cfg, "debug_logging"));
	return 0;
}

/* pid_lock - create and flock $data_directory/master.pid; a second master
 * on the instance finds it locked and gives up. */
static void pid_lock(struct cfg *cfg)
{
	const char *dir = cfg_get(cfg, "data_directory");
	char old[32];
	struct buf line = BUF_INIT;
	ssize_t n;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		startup_fatal("mkdir %s: %s", dir, strerror(errno));
	pid_path = xasprintf("%s/master.pid", dir);
	pid_fd = open(pid_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (pid_fd < 0)
		startup_fatal("open %s: %s", pid_path, strerror(errno));
	if (flock(pid_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			startup_fatal("lock %s: %s", pid_path, strerror(errno));
		n = pread(pid_fd, old, sizeof(old) - 1, 0);
		old[n > 0 ? n : 0] = '\0';
		xfree(&pid_path); /* not ours: the running master removes it */
		startup_fatal("master already running, pid %ld", strtol(old, NULL, 10));
	}
	buf_printf(&line, "%ld\n", (long)getpid());
	if (ftruncate(pid_fd, 0) < 0 || pwrite(pid_fd, line.data, line.len, 0) !=
	    (ssize_t)line.len)
		startup_fatal("write %s: %s", pid_path, strerror(errno));
	buf_deinit(&line);
}

/* svcs_free - an array of services whose sockets were closed or moved. */
static void svcs_free(struct master_svc **svcsp, size_t n)
{
	for (size_t i = 0; i < n && *svcsp != NULL; i++)
		master_svc_deinit(&(*svcsp)[i]);
	xfree(svcsp);
}

/* svcs_build - one master_svc per entry of mcf; sockets are taken over from
 * old (equal keys, marked in taken[]) or opened.  -1: nothing changed. */
static struct master_svc *svcs_build(struct cfg *cfg, struct mastercf *mcf,
				     struct master_svc *old, size_t nold, struct err *err)
{
	struct master_svc *svcs = xcalloc(mcf->count + 1, sizeof(*svcs));
	bool *taken = xcalloc(nold + 1, sizeof(*taken));
	size_t *from = xcalloc(mcf->count + 1, sizeof(*from));
	struct buf key = BUF_INIT;
	size_t i, j;

	for (i = 0; i < mcf->count; i++) {
		svcs[i].m = &master;
		svcs[i].ent = &mcf->services[i];
		master_listen_key(cfg, svcs[i].ent, &key);
		svcs[i].key = xstrdup(buf_cstr(&key));
		from[i] = SIZE_MAX;
		for (j = 0; j < nold; j++) {
			if (!taken[j] && strcmp(old[j].key, svcs[i].key) == 0) {
				taken[j] = true;
				from[i] = j;
				break;
			}
		}
		if (from[i] == SIZE_MAX && master_listen_open(&master, cfg, &svcs[i], err) < 0)
			break;
	}
	if (i < mcf->count) {
		for (j = 0; j < i; j++)
			if (from[j] == SIZE_MAX)
				master_listen_close(&svcs[j], false);
		svcs_free(&svcs, mcf->count);
	} else {
		for (i = 0; i < mcf->count; i++) {
			if (from[i] == SIZE_MAX)
				continue;
			svcs[i].fds = old[from[i]].fds;
			svcs[i].nfds = old[from[i]].nfds;
			svcs[i].sock_path = old[from[i]].sock_path;
			old[from[i]].fds = NULL;
			old[from[i]].nfds = 0;
			old[from[i]].sock_path = NULL;
		}
		for (j = 0; j < nold; j++)
			if (!taken[j])
				master_listen_close(&old[j], true);
	}
	buf_deinit(&key);
	free(taken);
	free(from);
	return svcs;
}

/* config_load - main.cf, master.cf, accounts and daemon directory. */
static int config_load(struct cfg **cfg_r, struct mastercf **mcf_r, uid_t *uid, gid_t *gid,
		       gid_t *sgid, struct buf *ddir, struct err *err)
{
	struct cfg *cfg = cfg_load(master.config_dir, err);
	struct mastercf *mcf;
	char *path;

	if (cfg == NULL)
		return -1;
	path = xasprintf("%s/master.cf", master.config_dir);
	mcf = mastercf_load(path, (unsigned int)cfg_get_int(cfg, "default_process_limit"), err);
	free(path);
	if (mcf == NULL || owner_resolve(cfg, uid, gid, sgid, err) < 0 ||
	    paths_daemon_dir(cfg, ddir, err) < 0) {
		mastercf_free(&mcf);
		cfg_free(&cfg);
		return -1;
	}
	*cfg_r = cfg;
	*mcf_r = mcf;
	return 0;
}

/* start_all - first process and wakeup timer of every service. */
static void start_all(void)
{
	master.throttle = cfg_get_time(master.cfg, "service_throttle_time");
	if (master.throttle < 1)
		master.throttle = 1;
	for (size_t i = 0; i < master.nsvcs; i++)
		master_svc_start(&master.svcs[i]);
}

/* reload - SIGHUP: new configuration, same sockets where they still fit;
 * old children finish their sessions, new ones start. */
static void reload(void)
{
	struct cfg *cfg;
	struct mastercf *mcf;
	struct master_svc *svcs;
	struct buf ddir = BUF_INIT;
	struct err err;
	uid_t uid, old_uid;
	gid_t gid, sgid, old_gid, old_sgid;

	if (config_load(&cfg, &mcf, &uid, &gid, &sgid, &ddir, &err) < 0) {
		log_warn("reload: %s -- keeping the old configuration", err.msg);
		buf_deinit(&ddir);
		return;
	}
	old_uid = master.uid;
	old_gid = master.gid;
	old_sgid = master.setgid_gid;
	master.uid = uid; /* unix sockets opened below belong to the new owner */
	master.gid = gid;
	master.setgid_gid = sgid;
	svcs = svcs_build(cfg, mcf, master.svcs, master.nsvcs, &err);
	if (svcs == NULL) {
		master.uid = old_uid;
		master.gid = old_gid;
		master.setgid_gid = old_sgid;
		log_warn("reload: %s -- keeping the old configuration", err.msg);
		mastercf_free(&mcf);
		cfg_free(&cfg);
		buf_deinit(&ddir);
		return;
	}
	master_retire_all(&master);
	svcs_free(&master.svcs, master.nsvcs);
	mastercf_free(&master.mcf);
	cfg_free(&master.cfg);
	master.svcs = svcs;
	master.nsvcs = mcf->count;
	master.mcf = mcf;
	master.cfg = cfg;
	buf_sets(&master.daemon_dir, buf_cstr(&ddir));
	buf_deinit(&ddir);
	if (log_open(cfg, uid, gid, &err) < 0)
		log_warn("reload: %s", err.msg);
	log_info("reload -- version %s, configuration %s", TERN_VERSION, master.config_dir);
	start_all();
}

/* finish - every child is gone: remove the pid file and leave the loop. */
static void finish(void)
{
	if (pid_path != NULL)
		unlink(pid_path);
	event_base_loopbreak(master.base);
}

/* on_stop_timeout - children outlived $master_stop_timeout. */
static void on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	unsigned int n = master_signal_all(&master, SIGKILL);

	log_warn("stop: %u process(es) still running after %lds -- killed", n,
		 cfg_get_time(master.cfg, "master_stop_timeout"));
	for (struct master_proc *p = master.procs; p != NULL; p = p->next)
		waitpid(p->pid, NULL, 0);
	master_proc_free_all(&master);
	finish();
}

/* stop - SIGTERM/SIGINT: TERM to every child, KILL after the timeout. */
static void stop(int sig)
{
	struct timeval tv = { cfg_get_time(master.cfg, "master_stop_timeout"), 0 };

	if (master.stopping)
		return;
	log_info("terminating on signal %d", sig);
	master.stopping = true;
	for (size_t i = 0; i < master.nsvcs; i++)
		master_svc_deinit(&master.svcs[i]);
	if (master_signal_all(&master, SIGTERM) == 0 && master_reap(&master) == 0) {
		finish();
		return;
	}
	stop_ev = evtimer_new(master.base, on_stop_timeout, NULL);
	evtimer_add(stop_ev, &tv);
}

/* on_signal - HUP reload, TERM/INT stop, CHLD reap. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	switch (sig) {
	case SIGHUP:
		if (!master.stopping)
			reload();
		break;
	case SIGTERM:
	case SIGINT:
		stop((int)sig);
		break;
	case SIGCHLD:
		if (master_reap(&master) == 0 && master.stopping)
			finish();
		break;
	}
}

/* parse_args - -c DIR [-f] [-v] [-s FD]. */
static void parse_args(int argc, char **argv)
{
	const char *dir = NULL;
	char real[PATH_MAX];
	unsigned int fd;
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, "c:fvs:")) != -1) {
		switch (c) {
		case 'c': dir = optarg; break;
		case 'f': foreground = true; break;
		case 'v': master.verbose = true; break;
		case 's':
			if (str_to_uint(optarg, &fd) < 0 || fd > INT_MAX || fd < 3 ||
			    fcntl((int)fd, F_GETFD) < 0)
				usage();
			ready_fd = (int)fd;
			fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
			break;
		default: usage();
		}
	}
	if (dir == NULL || optind != argc)
		usage();
	if (realpath(dir, real) == NULL)
		startup_fatal("configuration directory %s: %s", dir, strerror(errno));
	master.config_dir = xstrdup(real);
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD };
	struct event *sig_ev[N_ELEMENTS(sigs)];
	struct err err;
	const char *e;

	fds_sane();
	fds_limit();
	log_init("master");
	log_set_fatal_hook(startup_fatal_hook);
	parse_args(argc, argv);
	buf_init(&master.daemon_dir, 0);
	master.root = geteuid() == 0;
	if (config_load(&master.cfg, &master.mcf, &master.uid, &master.gid, &master.setgid_gid,
			&master.daemon_dir, &err) < 0)
		startup_fatal("%s", err.msg);
	if (log_open(master.cfg, master.uid, master.gid, &err) < 0)
		startup_fatal("%s", err.msg);
	pid_lock(master.cfg);
	signal(SIGPIPE, SIG_IGN);
	master.base = event_base_new();
	if (master.base == NULL)
		startup_fatal("event_base_new failed");
	for (size_t i = 0; i < N_ELEMENTS(sigs); i++) {
		sig_ev[i] = evsignal_new(master.base, sigs[i], on_signal, NULL);
		evsignal_add(sig_ev[i], NULL);
	}
	master.svcs = svcs_build(master.cfg, master.mcf, NULL, 0, &err);
	if (master.svcs == NULL)
		startup_fatal("%s", err.msg);
	master.nsvcs = master.mcf->count;
	e = getenv("TERN_LOG_STDERR");
	log_set_stderr(foreground || (e != NULL && strcmp(e, "1") == 0));
	/* In the foreground every daemon's lines reach the terminal too. */
	if (foreground && setenv("TERN_LOG_STDERR", "1", 1) < 0)
		log_warn("setenv: %s", strerror(errno));
	log_info("daemon started -- version %s, configuration %s", TERN_VERSION,
		 master.config_dir);
	start_all();
	log_set_fatal_hook(NULL);
	ready_send("ready\n");

	event_base_dispatch(master.base);

	for (size_t i = 0; i < N_ELEMENTS(sigs); i++)
		event_free(sig_ev[i]);
	if (stop_ev != NULL)
		event_free(stop_ev);
	for (size_t i = 0; i < master.nsvcs; i++)
		master_listen_close(&master.svcs[i], false);
	svcs_free(&master.svcs, master.nsvcs);
	master_proc_free_all(&master);
	mastercf_free(&master.mcf);
	cfg_free(&master.cfg);
	buf_deinit(&master.daemon_dir);
	event_base_free(master.base);
	free(master.config_dir);
	free(pid_path);
	close(pid_fd);
	return 0;
}
