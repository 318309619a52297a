/*
 * master.h - master's private state, shared by master.c (startup, signals,
 *            reload, stop), master_listen.c (listening sockets) and
 *            master_spawn.c (children, status channels, back-off, wakeups).
 * See: docs/architecture.md "Processes", lib/server.h (the child's side).
 */
#ifndef TERN_MASTER_H
#define TERN_MASTER_H

#include "sys.h"

#include <time.h>

#include "buf.h"

struct cfg;
struct err;
struct event;
struct event_base;
struct mastercf;
struct service;
struct master;

/* One child process.  A retired child (from before a reload) was sent 'Q'
 * and its status channel closed; it is only waited for. */
struct master_proc {
	pid_t pid;
	int status_fd;             /* master's end of fd 3; -1 when closed */
	struct event *status_ev;
	struct master_svc *svc;    /* NULL once retired */
	char *path;                /* program, for log lines */
	char *service;             /* service name, for log lines */
	time_t started;
	bool avail;                /* last status byte was 'A' (or none yet) */
	bool told_spare;           /* 'S' sent and not taken back with 'N' */
	struct master_proc *next;
};

/* One master.cf entry with its sockets and process bookkeeping. */
struct master_svc {
	struct master *m;
	const struct service *ent; /* owned by m->mcf */
	char *key;                 /* socket identity: reload keeps equal keys */
	int *fds;                  /* listening sockets, passed as 4.. */
	size_t nfds;
	char *sock_path;           /* unix: the socket file; NULL for inet */
	unsigned int nproc;        /* live, not retired */
	unsigned int navail;       /* of those, not full */
	long backoff;              /* next restart delay, seconds */
	struct event *restart_ev;  /* pending restart, NULL when none */
	struct event *wakeup_ev;   /* periodic 'W', NULL when no wakeup */
};

struct master {
	struct event_base *base;
	char *config_dir;          /* absolute */
	struct cfg *cfg;
	struct mastercf *mcf;
	struct master_svc *svcs;
	size_t nsvcs;
	struct master_proc *procs; /* every child, retired ones too */
	struct buf daemon_dir;
	bool root;                 /* started as root: children get -u/-g */
	uid_t uid;                 /* mail_owner (or our own uid) */
	gid_t gid;
	gid_t setgid_gid;          /* group of queue/public */
	bool verbose;
	bool stopping;
	long throttle;             /* $service_throttle_time */
};

/* master_listen_key - the socket identity of ent under cfg into out:
 * equal keys mean the same sockets, which a reload keeps open. */
void master_listen_key(struct cfg *cfg, const struct service *ent, struct buf *out);

/* master_listen_open - create, bind and listen every socket of svc (inet
 * per inet_interfaces/inet_protocols or the service's host; unix in
 * queue/private or queue/public with the modes of docs/architecture.md).
 * On -1 nothing stays open. */
int master_listen_open(struct master *m, struct cfg *cfg, struct master_svc *svc,
		       struct err *err) ATTR_WARN_UNUSED;

/* master_listen_close - close svc's sockets; unlink_socket removes a unix
 * socket file too (the service left master.cf). */
void master_listen_close(struct master_svc *svc, bool unlink_socket);

/* master_spawn - fork and exec one process of svc (no-op at maxproc). */
void master_spawn(struct master_svc *svc);
/* master_auth_owner - uid/gid of $auth_owner, the account the auth service
 * runs as; -1 with err when it does not exist or is root. */
int master_auth_owner(struct cfg *cfg, uid_t *uid_r, gid_t *gid_r, struct err *err)
	ATTR_WARN_UNUSED;

/* master_svc_start - the first process and the wakeup timer of svc. */
void master_svc_start(struct master_svc *svc);

/* master_svc_deinit - cancel svc's timers and free its key; its sockets
 * are master_listen_close's (or were handed over on reload). */
void master_svc_deinit(struct master_svc *svc);

/* master_retire_all - send 'Q' to every live child and close their status
 * channels; they finish their sessions and exit (reload). */
void master_retire_all(struct master *m);

/* master_reap - collect exited children; restarts with back-off as needed.
 * Returns the number of children still alive. */
unsigned int master_reap(struct master *m);

/* master_signal_all - send sig to every child; returns how many. */
unsigned int master_signal_all(struct master *m, int sig);

/* master_proc_free_all - forget every child (exit path). */
void master_proc_free_all(struct master *m);

#endif
