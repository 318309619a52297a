/*
 * server.h - the skeleton every tern daemon runs on (after Postfix's
 * single_server.c, but event-driven: one process holds many sessions).
 *
 * master starts a daemon as
 *     DAEMON -c CONFIG_DIR -n SERVICE -t inet|unix [-u UID -g GID] [-C DIR]
 *            [-v] [-o name=value ...] [args...]
 * with these file descriptors:
 *     3          the status channel to master (a UNIX socketpair)
 *     4 .. 4+N-1 the service's listening sockets (N in $TERN_LISTEN_FDS)
 * The first thing server_main does, before reading any input, is drop
 * privileges when it runs as root: chroot to -C DIR if given, then
 * setgroups/setresgid/setresuid to -g/-u, and verify uid 0 cannot come back.
 * Then it reads main.cf, applies -o overrides, opens the log, calls the
 * hooks and runs the libevent loop.
 *
 * Status channel bytes:
 *     child -> master  'A' available (may take more sessions)
 *                      'F' full (session_limit reached: master may start
 *                          another process, up to maxproc)
 *     master -> child  'W' wakeup (master.cf wakeup column): hooks->wakeup
 *                      'Q' quit gracefully: stop accepting, let current
 *                          sessions finish (hooks->stop), then exit 0.
 *                          EOF on the channel (master gone) means the same.
 *                      'S' spare: another process of this service runs, so
 *                          this one may exit after $max_idle without a
 *                          session.
 *                      'N' not spare (any more): this is the service's only
 *                          process; stay up however long it is idle.
 * A child starts as "not spare" and sends 'A' once its init hook succeeded.
 * master sends 'S' to every process of a service but the oldest, and 'N' to
 * a process when it becomes the oldest (the older ones exited), so idle
 * processes leave down to one and the last one stays.  Should a service
 * still be left with none after a clean exit, master starts a fresh one
 * (not throttled).
 * SIGTERM makes the daemon exit at once (hooks->stop is not waited for).
 * Under master (fd 3 present) SIGINT and SIGHUP are ignored: they are
 * master's (a ^C in the foreground reaches the whole process group).
 * Logging: maillog per main.cf, syslog when syslog_enable; stderr only when
 * TERN_LOG_STDERR=1 is in the environment.  A crash signal (SEGV, BUS, ILL,
 * FPE) leaves a "panic: fatal signal N" line before the default action.
 * See: docs/architecture.md "Processes".
 */
#ifndef TERN_SERVER_H
#define TERN_SERVER_H

#include "sys.h"

#include <sys/socket.h>

struct cfg;
struct event_base;

/* Status channel bytes (see above). */
#define SERVER_STATUS_AVAIL 'A'
#define SERVER_STATUS_FULL 'F'
#define SERVER_STATUS_WAKEUP 'W'
#define SERVER_STATUS_QUIT 'Q'
#define SERVER_STATUS_SPARE 'S'
#define SERVER_STATUS_NOT_SPARE 'N'

struct server_ctx {
	struct cfg *cfg;           /* main.cf with -o overrides applied */
	struct event_base *base;   /* the process's one event loop */
	const char *config_dir;
	const char *service;       /* master.cf service name ("10025", "qmgr") */
	const char *transport;     /* "inet" or "unix" */
	int argc;                  /* arguments after the options */
	char **argv;
	void *data;                /* the daemon's own state */
};

struct server_hooks {
	const char *name;          /* program name: tern/NAME in log lines */
	/* init - after privileges are dropped and main.cf is loaded; open what
	 * the daemon needs.  Non-zero: log_fatal (master retries with back-off). */
	int (*init)(struct server_ctx *ctx);
	/* accept - a new connection on one of the listeners; fd is
	 * non-blocking and close-on-exec; the daemon owns it from here. */
	void (*accept)(struct server_ctx *ctx, int fd, const struct sockaddr *peer,
		       socklen_t peerlen, int listener_index);
	/* wakeup - master's timer fired (may be NULL). */
	void (*wakeup)(struct server_ctx *ctx);
	/* stop - a graceful stop began: close idle sessions; busy ones call
	 * server_session_end when done (may be NULL). */
	void (*stop)(struct server_ctx *ctx);
	/* session_limit - sessions one process holds (0 = no limit); at the
	 * limit the listeners are paused and master is told 'F'. */
	unsigned int session_limit;
};

/* server_main - parse master's arguments, drop privileges, run the loop;
 * returns the process exit status. */
int server_main(int argc, char **argv, const struct server_hooks *hooks);

/* server_session_begin / server_session_end - the daemon counts sessions so
 * the skeleton can report A/F, pause listeners and finish a graceful stop. */
void server_session_begin(void);
void server_session_end(void);
/* server_sessions - sessions open now. */
unsigned int server_sessions(void);
/* server_stopping - a graceful stop is under way: refuse new work. */
bool server_stopping(void);
/* server_exit - leave the event loop and exit with status after cleanup. */
void server_exit(int status);
/* server_set_session_limit - replace hooks->session_limit (for a limit that
 * comes from a daemon argument or main.cf); call it from the init hook. */
void server_set_session_limit(unsigned int limit);

#endif
