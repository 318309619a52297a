/*
 * local.h - private declarations of the local delivery agent: the address
 * expander (local_expand.c, pure apart from reading :include: files), the
 * delivery methods (local_deliver.c: Maildir, mbox file, command; and
 * local_forward.c: re-injection) and the request handler (local.c).
 * See: docs/local.md.
 */
#ifndef TERN_LOCAL_H
#define TERN_LOCAL_H

#include "sys.h"

#include "buf.h"
#include "resolve.h"

struct err;
struct cfg;
struct qfile_env;

/* ---- expansion (local_expand.c) ---- */

/* Where a final destination came from decides what it may be. */
#define LOCAL_ALLOW_ALIAS 0x1u	 /* the alias database itself */
#define LOCAL_ALLOW_INCLUDE 0x2u /* a :include: file */

enum local_dest_kind {
	LOCAL_DEST_MAILBOX, /* target: an address in a local or virtual domain */
	LOCAL_DEST_FORWARD, /* target: a remote address, re-injected */
	LOCAL_DEST_COMMAND, /* target: the command text after '|' */
	LOCAL_DEST_FILE,    /* target: the absolute file name */
	LOCAL_DEST_ERROR,   /* target: the address that failed; result, dsn, reason */
};

struct local_dest {
	enum local_dest_kind kind;
	char *target;
	char *sender; /* envelope sender of this copy ("" for <>) */
	char *via;    /* the alias address that produced it (or the
		       * recipient itself) */
	int result;   /* LOCAL_DEST_ERROR: DELIVER_BOUNCE or DELIVER_DEFER */
	char dsn[8];  /* LOCAL_DEST_ERROR: "5.4.6" */
	char *reason; /* LOCAL_DEST_ERROR: human-readable text */
};

struct local_expansion {
	struct local_dest *dests;
	size_t n, cap;
	int result; /* DELIVER_OK, or the whole recipient failed */
	char dsn[8];
	struct buf reason;
};

/* The table lookups the expander needs; the daemon wraps lib/resolve, the
 * unit tests use inline: tables.  Results are TBL_FOUND/NOTFOUND/TEMPFAIL. */
struct local_lookup {
	int (*virtual_alias)(void *ctx, const char *addr, struct buf *value_r, struct err *err);
	int (*alias)(void *ctx, const char *addr, struct buf *value_r, struct err *err);
	enum resolve_class (*domain)(void *ctx, const char *domain);
	void *ctx;
};

struct local_limits {
	unsigned int va_recursion;    /* $virtual_alias_recursion_limit */
	unsigned int va_expansion;    /* $virtual_alias_expansion_limit */
	unsigned int alias_recursion; /* $alias_recursion_limit */
	unsigned int alias_expansion; /* $alias_expansion_limit */
	unsigned int allow_commands;  /* LOCAL_ALLOW_* ($allow_mail_to_commands) */
	unsigned int allow_files;     /* LOCAL_ALLOW_* ($allow_mail_to_files) */
};

/* LOCAL_INCLUDE_MAX - largest :include: file read. */
#define LOCAL_INCLUDE_MAX (4 * 1024 * 1024)

/* local_expand - expand recipient rcpt (canonical local@domain) of a
 * message from sender into final destinations in exp_r (initialised here;
 * local_expansion_deinit).  exp_r->result is DELIVER_OK with the
 * destinations (some may be LOCAL_DEST_ERROR: a loop, a refused command, a
 * failed lookup of one member), or DELIVER_BOUNCE/DEFER with dsn and reason
 * when the recipient as a whole fails (an expansion limit). */
void local_expand(const struct local_limits *lim, const struct local_lookup *ops, const char *rcpt,
		  const char *sender, struct local_expansion *exp_r);
void local_expansion_deinit(struct local_expansion *exp);

/* local_alias_split - split an alias value (or a line of an include file)
 * into elements: separators are commas and whitespace outside double
 * quotes; "|cmd ..." runs to the next comma; a fully quoted element that
 * starts with | / or :include: loses its quotes.  NULL-terminated heap
 * array (str_split_free), count in *n_r. */
char **local_alias_split(const char *value, size_t *n_r);

/* local_allow_parse - "alias, include" (or "" / "none") into a
 * LOCAL_ALLOW_* mask; -1 with err for an unknown word. */
int local_allow_parse(const char *value, unsigned int *mask_r, struct err *err) ATTR_WARN_UNUSED;

/* local_addr_norm - canonical form of an element naming an address: a
 * bare local part gets "@domain"; -1 with err when it is no address. */
int local_addr_norm(const char *elem, const char *domain, struct buf *out,
		    struct err *err) ATTR_WARN_UNUSED;

/* ---- delivery (local_deliver.c, local_forward.c) ---- */

/* The outcome of one delivery attempt. */
struct local_result {
	int result; /* DELIVER_OK / DEFER / BOUNCE */
	char dsn[8];
	struct buf text; /* "delivered to maildir", or the failure */
};

/* The message being delivered: the queue file and what was read of it. */
struct local_msg {
	const char *queue_id;
	int fd; /* the queue file, open read-write */
	const struct qfile_env *env;
	char **delivered_to; /* Delivered-To values already present
			      * (lower-case, NULL-terminated) */
	size_t n_delivered_to;
};

/* local_set_result - fill r (text formatted). */
void local_set_result(struct local_result *r, int result, const char *dsn, const char *fmt, ...)
	ATTR_PRINTF(4, 5);

/* local_delivered_to_scan - read the header of the message and collect
 * its Delivered-To values into msg (lower-cased).  -1 with err when the
 * content cannot be read. */
int local_delivered_to_scan(struct local_msg *msg, struct err *err) ATTR_WARN_UNUSED;
/* local_delivered_to_has - true if addr is among them (case-insensitive). */
bool local_delivered_to_has(const struct local_msg *msg, const char *addr);
void local_msg_deinit(struct local_msg *msg);

/* local_mailbox_path - BASE/domain/local for a user address: the domain
 * and the unquoted local part lower-cased, each checked with
 * safefile_component_ok.  -1 with err when a component is unsafe. */
int local_mailbox_path(const char *base, const char *addr, struct buf *path_r,
		       struct err *err) ATTR_WARN_UNUSED;

/* local_deliver_maildir - deliver msg to the Maildir of user addr (which
 * must exist) with Return-Path: <sender> and Delivered-To: addr. */
void local_deliver_maildir(struct cfg *cfg, const struct local_msg *msg, const char *addr,
			   const char *sender, struct local_result *r);
/* local_deliver_file - append msg in mbox format to path (locked). */
void local_deliver_file(const struct local_msg *msg, const char *path, const char *rcpt,
			const char *sender, struct local_result *r);
/* local_deliver_command - run cmd with /bin/sh -c, the message on stdin,
 * SENDER, RECIPIENT, ORIGINAL_RECIPIENT, LOCAL, DOMAIN and QUEUE_ID in the
 * environment (sanitized), at most time_limit seconds. */
void local_deliver_command(const struct local_msg *msg, const char *cmd, const char *rcpt,
			   const char *orig_rcpt, const char *sender, long time_limit,
			   struct local_result *r);
/* local_env_sanitize - out = s with every byte outside the safe set
 * [A-Za-z0-9 @%+=:,./_-] replaced by '_' (at most 1000 bytes). */
void local_env_sanitize(struct buf *out, const char *s);
/* local_command_status - map a wait(2) status, a timeout flag and the
 * command's output to a result (EX_TEMPFAIL, EX_OSERR, EX_IOERR and signals
 * defer; other non-zero exits bounce; exit 0 is delivered). */
void local_command_status(int status, bool timed_out, const char *output, struct local_result *r);

/* local_forward - re-inject msg for the n addresses rcpts with envelope
 * sender, prepending Delivered-To: orig; the new queue ID to id_r. */
int local_forward(struct cfg *cfg, const struct local_msg *msg, const char *orig,
		  const char *sender, char **rcpts, size_t n, struct buf *id_r,
		  struct err *err) ATTR_WARN_UNUSED;

/* local_content_source - a maildir_source_fn-compatible reader of the
 * message content (ctx: struct local_content). */
struct local_content {
	struct qfile_content_reader *reader;
};
int local_content_open(struct local_content *c, const struct local_msg *msg);
void local_content_close(struct local_content *c);
int local_content_next(void *ctx, struct buf *chunk_r, struct err *err);

/* ---- requests (local_agent.c) ---- */

struct ipc_conn;

/* The daemon's state, built once by the init hook. */
struct local_agent {
	struct cfg *cfg;
	struct resolver *resolver;
	struct local_lookup ops; /* over resolver */
	struct local_limits lim;
	long command_time_limit; /* seconds */
};

/* local_status_fn - report one recipient's result (DELIVER_STATUS). */
typedef void local_status_fn(struct ipc_conn *conn, uint32_t reqid, off_t offset,
			     const struct local_result *r);

/* local_agent_request - deliver the n recipients at offs of queue file
 * QUEUE/QID: expand, deliver, record (mark DONE, defer/bounce logs), log
 * and report each through status_fn.  qid and queue are validated. */
void local_agent_request(struct local_agent *a, const char *qid, const char *queue,
			 const off_t *offs, size_t n, local_status_fn *status_fn,
			 struct ipc_conn *conn, uint32_t reqid);


#endif
