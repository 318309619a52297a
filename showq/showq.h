/*
 * showq.h - the showq daemon's private interface: one session per client
 * connection on public/showq, the access check, the streamed listing and
 * the flush relay (showq.c, showq_access.c, showq_list.c, showq_flush.c).
 */
#ifndef TERN_SHOWQ_H
#define TERN_SHOWQ_H

#include "sys.h"

#include <sys/types.h>

#include "buf.h"

struct cfg;
struct err;
struct ipc_conn;
struct ipc_msg;
struct loop_timer;
struct qlist;
struct server_ctx;

/* SHOWQ_LOGIN_MAX - room for a user name (longer names show as unknown). */
#define SHOWQ_LOGIN_MAX 64

/* One client connection. */
struct showq_sess {
	struct server_ctx *ctx;
	struct ipc_conn *conn;
	uid_t uid;		     /* from SO_PEERCRED: the only thing believed */
	char login[SHOWQ_LOGIN_MAX]; /* its user name, "#UID" when it has none (priv_peer) */
	bool answered;		     /* a request was taken: no second one */
	/* the listing in progress (showq_list.c) */
	struct qlist *ql;
	struct loop_timer *timer;
	struct buf out; /* listing bytes not yet sent */
	uint32_t reqid;
	bool list_done;
};

/* showq_access_init - remember who the mail owner is (uid of $mail_owner
 * and this process's own uid), who are always allowed. */
void showq_access_init(struct cfg *cfg);

/* showq_access_match - does the user called login match the list (items:
 * a user name, "type:table" whose lookup of login finds anything, e.g.
 * static:anyone)?  1 yes, 0 no, -1 with err when a table cannot be read
 * (the caller refuses: fail closed). */
int showq_access_match(char **list, const char *login, struct err *err) ATTR_WARN_UNUSED;

/* showq_access_check - may uid (called login) do what param guards
 * ("authorized_mailq_users", "authorized_flush_users")?  Root and the mail
 * owner always may.  0 yes; -1 no, with err->msg the refusal the user
 * reads ("User NAME(UID) is not allowed to VERB the mail queue") and the
 * reason logged here. */
int showq_access_check(struct cfg *cfg, const char *param, const char *verb, uid_t uid,
		       const char *login, struct err *err) ATTR_WARN_UNUSED;

/* showq_list_start - SHOWQ_LIST: check the request and the caller, open
 * the queue and stream the listing (SHOWQ_DATA..., SHOWQ_END) from the
 * event loop as the client reads it.  A refusal or error answers the
 * client and ends the connection. */
void showq_list_start(struct showq_sess *s, struct ipc_msg *msg);

/* showq_list_stop - drop a listing in progress (the session ended). */
void showq_list_stop(struct showq_sess *s);

/* showq_flush - SHOWQ_FLUSH: check the request and the caller, relay it
 * to qmgr and answer SHOWQ_FLUSH_OK, SHOWQ_DENIED or IPC_ERROR. */
void showq_flush(struct showq_sess *s, struct ipc_msg *msg);

/* showq_deny - answer SHOWQ_DENIED{reason} and end the connection. */
void showq_deny(struct showq_sess *s, uint32_t reqid, const char *reason);

#endif
