/*
 * mastercf.h - master.cf: one service per entry, Postfix's columns
 *     service type private unpriv chroot wakeup maxproc command [args...]
 * type is inet or unix; "-" takes the default of a column (private y,
 * unpriv y, chroot n, wakeup 0, maxproc $default_process_limit).  A line
 * that starts with whitespace continues the entry above; # starts a comment.
 * inet service names are [host:]port (port a number or a services(5) name);
 * unix service names are plain socket names under queue/private or
 * queue/public.  wakeup may end in "?" (only when the service is in use).
 * See: Postfix master/master_ent.c, docs/architecture.md.
 */
#ifndef TERN_MASTERCF_H
#define TERN_MASTERCF_H

#include "sys.h"

struct err;
struct cfg;

enum service_type {
	SERVICE_INET,
	SERVICE_UNIX,
};

struct service {
	char *name;           /* as written: "10025", "127.0.0.1:25", "qmgr" */
	enum service_type type;
	bool private_;        /* unix: queue/private (true) or queue/public */
	bool unpriv;          /* run as mail_owner (always, in this version) */
	bool chroot;          /* chroot to the queue directory before exec */
	unsigned int wakeup;  /* seconds between wakeups; 0 = none */
	bool wakeup_if_used;  /* wakeup column ended in '?' */
	unsigned int maxproc; /* 0 = no limit */
	char *command;        /* program in daemon_directory, or an absolute path */
	char **argv;          /* arguments after the command, NULL-terminated */
	size_t argc;
	char *host;           /* inet: host part or NULL; unix: NULL */
	char *port;           /* inet: port part; unix: NULL */
	int line;             /* first line of the entry in master.cf */
};

struct mastercf {
	struct service *services;
	size_t count;
	char *path;
};

/* mastercf_load - parse path; default_maxproc fills maxproc "-".  Errors
 * name file and line: "DIR/master.cf:7: unknown service type \"tcp\"". */
struct mastercf *mastercf_load(const char *path, unsigned int default_maxproc,
			       struct err *err) ATTR_WARN_UNUSED;
/* mastercf_parse_string - the same from memory (tests, fuzzing). */
struct mastercf *mastercf_parse_string(const char *name, const char *text, size_t len,
				       unsigned int default_maxproc,
				       struct err *err) ATTR_WARN_UNUSED;
void mastercf_free(struct mastercf **mcfp);

/* mastercf_find - the entry with this name and type, or NULL. */
const struct service *mastercf_find(const struct mastercf *mcf, const char *name,
				    enum service_type type);

/* service_equal - true if two entries would run the same way (same socket,
 * columns, command and args): reload keeps such services' processes. */
bool service_equal(const struct service *a, const struct service *b);

#endif
