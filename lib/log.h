/*
 * log.h - Postfix-shaped log lines:
 *     Mon DD HH:MM:SS host tern/NAME[pid]: [warning: |error: |fatal: |panic: ]text
 * written to the instance's maillog (one write(2) per line, O_APPEND), to
 * stderr in the foreground, and to syslog when configured.  Control bytes in
 * the text become '?', so untrusted data cannot forge lines.  Queue-ID
 * prefixes are the caller's: log_info("%s: from=<%s>", qid, from).
 * See: Postfix util/msg.c, docs/architecture.md "Logging".
 */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include "sys.h"

#include <stdarg.h>

struct err;
struct buf;

enum log_level {
	LOGL_DEBUG,
	LOGL_INFO,
	LOGL_WARN,
	LOGL_ERROR,
	LOGL_FATAL,
	LOGL_PANIC,
};

/* log_init - set the program name shown as tern/NAME; stderr on until a
 * maillog or syslog is configured (log_set_stderr). */
void log_init(const char *name);
/* log_set_name - change NAME (a daemon learns its service name late). */
void log_set_name(const char *name);
/* log_set_program - the program field verbatim ("tern/submission/smtpd":
 * $syslog_name/DAEMON, as Postfix names its lines). */
void log_set_program(const char *prog);
/* log_set_hostname - the host field (default: gethostname). */
void log_set_hostname(const char *host);
/* log_set_file - append lines to path (NULL or "" stops); -1 on open error.
 * The file is opened once; log_reopen opens it again (after rotation). */
int log_set_file(const char *path, struct err *err) ATTR_WARN_UNUSED;
int log_reopen(struct err *err);
/* log_set_stderr - also copy lines to stderr. */
void log_set_stderr(bool on);
/* log_set_syslog - also send to syslog(3) with this facility name ("mail",
 * "local0"...) and ident; -1 for an unknown facility. */
int log_set_syslog(bool on, const char *facility, const char *ident,
		   struct err *err) ATTR_WARN_UNUSED;
/* log_set_debug - emit log_debug lines (verbose, -v). */
void log_set_debug(bool on);
bool log_debug_enabled(void);
/* log_set_fatal_hook - called before exit by log_fatal (tests, cleanup). */
void log_set_fatal_hook(void (*hook)(void));

void log_msg(enum log_level level, const char *fmt, ...) ATTR_PRINTF(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap) ATTR_PRINTF(2, 0);

#define log_debug(...) \
	do { if (log_debug_enabled()) log_msg(LOGL_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
/* log_format_delay - seconds as Postfix's delay=/delays= fields print
 * them: "0.12", "3.5", "75" (trailing zeros dropped, no sign). */
void log_format_delay(struct buf *out, double secs);

/* log_fatal - cannot go on (bad config, out of memory): log, exit(1). */
void log_fatal(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;
/* log_panic - our bug or an impossible state: log, abort() with a core. */
void log_panic(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;

#endif
