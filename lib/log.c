/*
 * log.c - Postfix-shaped logging to maillog, stderr and syslog (see log.h).
 * Touches:  the maillog file descriptor, fd 2, syslog; process-global state.
 * Security: message text is sanitized (control bytes -> '?') so that network
 *           input cannot forge log lines.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "buf.h"
#include "err.h"

#define LOG_LINE_MAX 4096

static struct {
	char name[64];
	char host[256];
	char path[4096];
	int fd;
	bool to_stderr;
	bool to_syslog;
	bool debug;
	void (*fatal_hook)(void);
} lg = { "tern", "", "", -1, true, false, false, NULL };

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

void log_init(const char *name)
{
	log_set_name(name);
	if (lg.host[0] == '\0') {
		char h[256];

		if (gethostname(h, sizeof(h)) == 0) {
			h[sizeof(h) - 1] = '\0';
			copy_str(lg.host, sizeof(lg.host), h);
		} else {
			copy_str(lg.host, sizeof(lg.host), "localhost");
		}
	}
}

void log_set_name(const char *name)
{
	if (strncmp(name, "tern/", 5) == 0 || strcmp(name, "tern") == 0)
		copy_str(lg.name, sizeof(lg.name), name);
	else
		snprintf(lg.name, sizeof(lg.name), "tern/%s", name);
}

void log_set_program(const char *prog)
{
	copy_str(lg.name, sizeof(lg.name), prog);
}

void log_set_hostname(const char *host)
{
	copy_str(lg.host, sizeof(lg.host), host);
}

int log_set_file(const char *path, struct err *err)
{
	if (lg.fd >= 0) {
		close(lg.fd);
		lg.fd = -1;
	}
	lg.path[0] = '\0';
	if (path == NULL || *path == '\0')
		return 0;
	copy_str(lg.path, sizeof(lg.path), path);
	return log_reopen(err);
}

int log_reopen(struct err *err)
{
	int fd;

	if (lg.path[0] == '\0')
		return 0;
	fd = open(lg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return err_set(err, "open %s: %s", lg.path, strerror(errno));
	if (lg.fd >= 0)
		close(lg.fd);
	lg.fd = fd;
	return 0;
}

void log_set_stderr(bool on)
{
	lg.to_stderr = on;
}

int log_set_syslog(bool on, const char *facility, const char *ident, struct err *err)
{
	static const struct { const char *name; int fac; } facs[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	static char ident_copy[64];
	int fac = -1;

	if (lg.to_syslog)
		closelog();
	lg.to_syslog = false;
	if (!on)
		return 0;
	for (size_t i = 0; i < N_ELEMENTS(facs); i++)
		if (strcasecmp(facility, facs[i].name) == 0)
			fac = facs[i].fac;
	if (fac < 0)
		return err_set(err, "unknown syslog facility \"%s\"", facility);
	copy_str(ident_copy, sizeof(ident_copy), ident);
	openlog(ident_copy, LOG_PID | LOG_NDELAY, fac);
	lg.to_syslog = true;
	return 0;
}

void log_set_debug(bool on)
{
	lg.debug = on;
}

bool log_debug_enabled(void)
{
	return lg.debug;
}

void log_set_fatal_hook(void (*hook)(void))
{
	lg.fatal_hook = hook;
}

static const char *level_prefix(enum log_level level)
{
	switch (level) {
	case LOGL_WARN: return "warning: ";
	case LOGL_ERROR: return "error: ";
	case LOGL_FATAL: return "fatal: ";
	case LOGL_PANIC: return "panic: ";
	default: return "";
	}
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOGL_DEBUG: return LOG_DEBUG;
	case LOGL_INFO: return LOG_INFO;
	case LOGL_WARN: return LOG_WARNING;
	case LOGL_ERROR: return LOG_ERR;
	case LOGL_FATAL: return LOG_CRIT;
	default: return LOG_ALERT;
	}
}

/* write_all - write a whole line, retrying on EINTR; errors are dropped
 * (there is nowhere left to report them). */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char text[LOG_LINE_MAX], line[LOG_LINE_MAX + 512], stamp[32];
	int saved_errno = errno;
	struct tm tm;
	time_t now;
	size_t n, i;
	int len;

	vsnprintf(text, sizeof(text), fmt, ap);
	for (i = 0; text[i]; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = '?';
	if (lg.to_syslog)
		syslog(syslog_priority(level), "%s%s", level_prefix(level), text);
	if (lg.fd >= 0 || lg.to_stderr) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		len = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s%s\n", stamp,
			       lg.host[0] ? lg.host : "localhost", lg.name, (long)getpid(),
			       level_prefix(level), text);
		if (len < 0)
			len = 0;
		n = (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1;
		if (n > 0 && line[n - 1] != '\n')
			line[n - 1] = '\n';
		if (lg.fd >= 0)
			write_all(lg.fd, line, n);
		if (lg.to_stderr)
			write_all(2, line, n);
	}
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOGL_FATAL, fmt, ap);
	va_end(ap);
	if (lg.fatal_hook)
		lg.fatal_hook();
	exit(1);
}

void log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOGL_PANIC, fmt, ap);
	va_end(ap);
	abort();
}

void log_format_delay(struct buf *out, double secs)
{
	char tmp[64];
	size_t n;

	if (secs < 0)
		secs = 0;
	if (secs >= 10) {
		snprintf(tmp, sizeof(tmp), "%.0f", secs);
	} else {
		snprintf(tmp, sizeof(tmp), secs >= 1 ? "%.1f" : "%.2f", secs);
		n = strlen(tmp);
		while (n > 1 && tmp[n - 1] == '0')
			tmp[--n] = '\0';
		if (n > 1 && tmp[n - 1] == '.')
			tmp[--n] = '\0';
	}
	buf_adds(out, tmp);
}
