/*
 * mastercf.c - parse master.cf into struct service entries (see mastercf.h).
 * Touches:  reads the master.cf named by mastercf_load (safefile_read: a
 *           regular file, not a symlink); nothing else.
 * Input:    operator-written, so fallible: NUL and control bytes, over-long
 *           entries, bad columns and unsafe command names are rejected.
 * Security: parsed by master (root when started as root): command is a
 *           bare program name (no '/', no "..") looked up in
 *           daemon_directory, or an absolute path; nothing is executed here.
 * Errors:   -1 with "FILE:LINE: ..." in err; the first error stops parsing.
 * Limits:   Postfix 3's "{ text with spaces }" argument grouping is not
 *           supported; -o takes one name=value word.
 * See:      Postfix master/master_ent.c, docs/configuration.md "master.cf".
 */
#include "sys.h"

#include <ctype.h>

#include "buf.h"
#include "err.h"
#include "mastercf.h"
#include "safefile.h"
#include "str.h"
#include "xmem.h"

#define MASTERCF_FILE_MAX (1024u * 1024)  /* largest master.cf read */
#define MASTERCF_LINE_MAX (16u * 1024)    /* largest logical entry */
#define MASTERCF_MAX (10000u)             /* most entries */
#define MASTERCF_QUOTE_MAX 60             /* bytes quoted in errors */

/* struct parse - the state of one parse, for messages. */
struct parse {
	const char *file;
	int line;
	struct err *err;
	struct buf q;
};

/* perr - fill err with "FILE:LINE: text". */
static int perr(struct parse *ps, const char *fmt, ...) ATTR_PRINTF(2, 3);
static int perr(struct parse *ps, const char *fmt, ...)
{
	struct buf m = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&m, fmt, ap);
	va_end(ap);
	err_set(ps->err, "%s:%d: %s", ps->file, ps->line, buf_cstr(&m));
	buf_deinit(&m);
	return -1;
}

/* quote - sanitized, shortened copy of s for a message. */
static const char *quote(struct parse *ps, const char *s)
{
	buf_reset(&ps->q);
	str_sanitize(&ps->q, s, strlen(s), MASTERCF_QUOTE_MAX);
	return buf_cstr(&ps->q);
}

/* parse_yn - a y/n/- column; "-" takes def. */
static int parse_yn(struct parse *ps, const char *col, const char *v, bool def, bool *b_r)
{
	if (strcmp(v, "-") == 0)
		*b_r = def;
	else if (strcmp(v, "y") == 0)
		*b_r = true;
	else if (strcmp(v, "n") == 0)
		*b_r = false;
	else
		return perr(ps, "bad %s column value \"%s\" (want y, n or -)", col, quote(ps, v));
	return 0;
}

/* port_ok - a port number 1..65535 or a services(5) name. */
static bool port_ok(const char *p)
{
	unsigned int n;
	bool alpha = false;

	if (*p == '\0')
		return false;
	if (str_to_uint(p, &n) == 0)
		return n >= 1 && n <= 65535;
	for (; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
		alpha |= isalpha((unsigned char)*p) != 0;
	}
	return alpha;
}

/* host_ok - a host name, IPv4 address, "*", or (bracketed) IPv6 address. */
static bool host_ok(const char *h, bool v6)
{
	if (*h == '\0')
		return false;
	for (; *h; h++)
		if (!isalnum((unsigned char)*h) && *h != '.' && *h != '-' && *h != '_' &&
		    *h != '*' && !(v6 && (*h == ':' || *h == '%')))
			return false;
	return true;
}

/* parse_inet_name - [host:]port or [v6addr]:port into host and port. */
static int parse_inet_name(struct parse *ps, struct service *sv)
{
	const char *n = sv->name, *colon;

	if (n[0] == '[') {
		const char *rb = strchr(n, ']');

		if (rb == NULL || rb[1] != ':')
			return perr(ps, "bad inet service name \"%s\" (want [addr]:port)",
				    quote(ps, n));
		sv->host = xstrndup(n + 1, (size_t)(rb - n - 1));
		sv->port = xstrdup(rb + 2);
		if (!host_ok(sv->host, true))
			return perr(ps, "bad host in inet service name \"%s\"", quote(ps, n));
	} else if ((colon = strrchr(n, ':')) != NULL) {
		sv->host = xstrndup(n, (size_t)(colon - n));
		sv->port = xstrdup(colon + 1);
		if (!host_ok(sv->host, false))
			return perr(ps, "bad host in inet service name \"%s\" (IPv6: [addr]:port)",
				    quote(ps, n));
	} else {
		sv->port = xstrdup(n);
	}
	if (!port_ok(sv->port))
		return perr(ps, "bad port in inet service name \"%s\"", quote(ps, n));
	return 0;
}

/* unix_name_ok - one socket file name: [A-Za-z0-9._-], not "." or "..". */
static bool unix_name_ok(const char *n)
{
	if (*n == '\0' || strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || *n == '-')
		return false;
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && *n != '.' && *n != '-' && *n != '_')
			return false;
	return true;
}

/* command_ok - a bare program name, or an absolute path with no ".."
 * component. */
static bool command_ok(const char *c)
{
	if (*c == '/') {
		for (const char *p = c; (p = strstr(p, "/..")) != NULL; p += 3)
			if (p[3] == '/' || p[3] == '\0')
				return false;
		return true;
	}
	return strchr(c, '/') == NULL && strcmp(c, "..") != 0 && strcmp(c, ".") != 0 &&
	       *c != '-';
}

/* parse_number - a "-" (def) or a decimal number, for column col. */
static int parse_number(struct parse *ps, const char *col, const char *v, unsigned int def,
			unsigned int *n_r)
{
	if (strcmp(v, "-") == 0) {
		*n_r = def;
		return 0;
	}
	if (str_to_uint(v, n_r) < 0)
		return perr(ps, "bad %s column value \"%s\" (want a number or -)", col,
			    quote(ps, v));
	return 0;
}

/* service_clear - free what one entry holds. */
static void service_clear(struct service *sv)
{
	free(sv->name);
	free(sv->command);
	free(sv->host);
	free(sv->port);
	for (size_t i = 0; i < sv->argc; i++)
		free(sv->argv[i]);
	free(sv->argv);
	memset(sv, 0, sizeof(*sv));
}

/* parse_entry - one logical line into sv (cleared by the caller on error). */
static int parse_entry(struct parse *ps, const char *text, unsigned int default_maxproc,
		       struct service *sv)
{
	size_t nf;
	char **f = str_split(text, " \t", &nf);
	size_t wlen;
	int rc = -1;

	if (nf < 7) {
		perr(ps, "too few fields in \"%s\" (want service type private unpriv chroot "
			 "wakeup maxproc command)", quote(ps, text));
		goto out;
	}
	if (nf == 7) {
		perr(ps, "missing command in \"%s\"", quote(ps, text));
		goto out;
	}
	sv->name = xstrdup(f[0]);
	sv->line = ps->line;
	if (strcmp(f[1], "inet") == 0) {
		sv->type = SERVICE_INET;
		if (parse_inet_name(ps, sv) < 0)
			goto out;
	} else if (strcmp(f[1], "unix") == 0) {
		sv->type = SERVICE_UNIX;
		if (!unix_name_ok(sv->name)) {
			perr(ps, "bad unix service name \"%s\"", quote(ps, sv->name));
			goto out;
		}
	} else {
		perr(ps, "unknown service type \"%s\"", quote(ps, f[1]));
		goto out;
	}
	if (parse_yn(ps, "private", f[2], true, &sv->private_) < 0 ||
	    parse_yn(ps, "unpriv", f[3], true, &sv->unpriv) < 0 ||
	    parse_yn(ps, "chroot", f[4], false, &sv->chroot) < 0)
		goto out;
	wlen = strlen(f[5]);
	if (wlen > 1 && f[5][wlen - 1] == '?') {
		sv->wakeup_if_used = true;
		f[5][wlen - 1] = '\0';
	}
	if (parse_number(ps, "wakeup", f[5], 0, &sv->wakeup) < 0 ||
	    parse_number(ps, "maxproc", f[6], default_maxproc, &sv->maxproc) < 0)
		goto out;
	if (!command_ok(f[7])) {
		perr(ps, "bad command \"%s\" (want a program name or an absolute path)",
		     quote(ps, f[7]));
		goto out;
	}
	sv->command = xstrdup(f[7]);
	sv->argc = nf - 8;
	sv->argv = xcalloc(sv->argc + 1, sizeof(char *));
	for (size_t i = 0; i < sv->argc; i++) {
		const char *a = f[8 + i];

		if (strcmp(a, "-o") == 0 &&
		    (i + 1 >= sv->argc || strchr(f[9 + i], '=') == NULL || f[9 + i][0] == '=')) {
			perr(ps, "-o without name=value in \"%s\"", quote(ps, text));
			goto out;
		}
		sv->argv[i] = xstrdup(a);
	}
	rc = 0;
out:
	str_split_free(&f);
	return rc;
}

/* add_entry - parse the logical line and append it, checking duplicates. */
static int add_entry(struct parse *ps, struct mastercf *mcf, const char *text,
		     unsigned int default_maxproc)
{
	struct service sv;
	const struct service *dup;

	memset(&sv, 0, sizeof(sv));
	if (mcf->count >= MASTERCF_MAX)
		return perr(ps, "more than %u entries", MASTERCF_MAX);
	if (parse_entry(ps, text, default_maxproc, &sv) < 0) {
		service_clear(&sv);
		return -1;
	}
	if ((dup = mastercf_find(mcf, sv.name, sv.type)) != NULL) {
		perr(ps, "duplicate service \"%s\" type %s (first at line %d)",
		     quote(ps, sv.name), sv.type == SERVICE_INET ? "inet" : "unix", dup->line);
		service_clear(&sv);
		return -1;
	}
	mcf->services = xreallocarray(mcf->services, mcf->count + 1, sizeof(sv));
	mcf->services[mcf->count++] = sv;
	return 0;
}

/* parse_text - physical lines into logical entries: blank and comment lines
 * are skipped, a line that starts with whitespace continues the entry. */
static int parse_text(struct parse *ps, struct mastercf *mcf, const char *text, size_t len,
		      unsigned int default_maxproc)
{
	const char *p = text, *end = text + len;
	struct buf entry = BUF_INIT;
	int lineno = 0, entry_line = 0, rc = 0;

	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *q = p;

		ps->line = ++lineno;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (p[i] == '\0')
				rc = perr(ps, "NUL byte in line");
			else if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
				rc = perr(ps, "control character in line");
		}
		if (rc == 0 && n + entry.len > MASTERCF_LINE_MAX)
			rc = perr(ps, "entry too long");
		if (rc < 0)
			break;
		while (q < p + n && isspace((unsigned char)*q))
			q++;
		if (q >= p + n || *q == '#') {
			/* blank or comment line */
		} else if (q != p) {
			if (entry_line == 0) {
				rc = perr(ps, "continuation line without an entry above");
				break;
			}
			buf_addc(&entry, ' ');
			buf_add(&entry, q, (size_t)(p + n - q));
		} else {
			if (entry_line > 0) {
				ps->line = entry_line;
				rc = add_entry(ps, mcf, buf_cstr(&entry), default_maxproc);
				ps->line = lineno;
			}
			buf_set(&entry, p, n);
			entry_line = lineno;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (rc == 0 && entry_line > 0) {
		ps->line = entry_line;
		rc = add_entry(ps, mcf, buf_cstr(&entry), default_maxproc);
	}
	buf_deinit(&entry);
	return rc;
}

struct mastercf *mastercf_parse_string(const char *name, const char *text, size_t len,
				       unsigned int default_maxproc, struct err *err)
{
	struct mastercf *mcf = xcalloc(1, sizeof(*mcf));
	struct parse ps = { name, 0, err, BUF_INIT };
	int rc;

	mcf->path = xstrdup(name);
	rc = parse_text(&ps, mcf, text, len, default_maxproc);
	buf_deinit(&ps.q);
	if (rc < 0)
		mastercf_free(&mcf);
	return mcf;
}

struct mastercf *mastercf_load(const char *path, unsigned int default_maxproc,
			       struct err *err)
{
	size_t len;
	char *data = safefile_read(path, MASTERCF_FILE_MAX, &len, err);
	struct mastercf *mcf = NULL;

	if (data != NULL)
		mcf = mastercf_parse_string(path, data, len, default_maxproc, err);
	free(data);
	return mcf;
}

void mastercf_free(struct mastercf **mcfp)
{
	struct mastercf *mcf = *mcfp;

	if (mcf == NULL)
		return;
	for (size_t i = 0; i < mcf->count; i++)
		service_clear(&mcf->services[i]);
	free(mcf->services);
	free(mcf->path);
	free(mcf);
	*mcfp = NULL;
}

const struct service *mastercf_find(const struct mastercf *mcf, const char *name,
				    enum service_type type)
{
	for (size_t i = 0; i < mcf->count; i++)
		if (mcf->services[i].type == type && strcmp(mcf->services[i].name, name) == 0)
			return &mcf->services[i];
	return NULL;
}

/* str_same - strcmp that accepts NULL on either side. */
static bool str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool service_equal(const struct service *a, const struct service *b)
{
	if (!str_same(a->name, b->name) || a->type != b->type || a->private_ != b->private_ ||
	    a->unpriv != b->unpriv || a->chroot != b->chroot || a->wakeup != b->wakeup ||
	    a->wakeup_if_used != b->wakeup_if_used || a->maxproc != b->maxproc ||
	    !str_same(a->command, b->command) || a->argc != b->argc)
		return false;
	for (size_t i = 0; i < a->argc; i++)
		if (!str_same(a->argv[i], b->argv[i]))
			return false;
	return true;
}
