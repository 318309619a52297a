/*
 * postsuper.c - queue maintenance for the operator, like Postfix's
 * postsuper(1):
 *     postsuper [-c DIR] [-s] [-p] [-d ID|ALL|-] [-h ID|ALL|-] [-H ID|ALL|-]
 *               [-r ID|ALL|-] [queue...]
 * -d delete, -h put on hold (to hold/), -H release from hold (to active/,
 * qmgr told), -r requeue (to active/ with the defer log cleared, qmgr told:
 * every recipient still PENDING is tried again now; DONE ones are not),
 * -s structure check (badly named files and invalid queue files go to
 * corrupt/, incoming files older than an hour and defer/bounce logs without
 * a message are removed), -p remove incoming files older than an hour.
 * "-" reads IDs from stdin (one a line; a trailing '*' or '!' of mailq is
 * ignored); "ALL" means every message in the queues searched.  The options
 * may repeat; queue names after them limit where IDs are looked for.
 * Touches:  $queue_directory/{incoming,active,deferred,hold,corrupt,defer,
 *           bounce}: renames, unlinks, directory fsyncs; private/qmgr
 *           (notify); the maillog ("ID: removed" lines).
 * Security: root or the mail owner.  Every ID is checked with qid_valid
 *           before it names a file; moves are rename(2) within the queue
 *           file system, so qmgr sees a message either here or there and
 *           tolerates one that vanished under it.
 * Errors:   "postsuper: fatal: ..." and exit 1 for usage, configuration and
 *           unreadable queue directories; per-message trouble is a warning.
 * See:      Postfix postsuper(1), docs/queue-format.md, docs/commands.md.
 */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "cmd.h"
#include "err.h"
#include "log.h"
#include "qfile.h"
#include "qid.h"
#include "qreceive.h"
#include "safefile.h"
#include "xmem.h"

#define PROG "postsuper"
#define STALE_AGE 3600 /* seconds: incoming files older than this are leftovers */

enum queue_ix { Q_INCOMING, Q_ACTIVE, Q_DEFERRED, Q_HOLD, Q_CORRUPT, Q_DEFER, Q_BOUNCE, Q_N };
static const char *const qnames[Q_N] = {"incoming", "active", "deferred", "hold",
					"corrupt",  "defer",  "bounce"};
#define QMASK(q) (1u << (q))
#define MSG_QUEUES (QMASK(Q_INCOMING) | QMASK(Q_ACTIVE) | QMASK(Q_DEFERRED) | QMASK(Q_HOLD))

enum op { OP_DELETE, OP_HOLD, OP_RELEASE, OP_REQUEUE, OP_N };

/* Per operation: the queues searched by default, the destination, the
 * summary and log words. */
static const struct {
	unsigned int from;
	int to; /* -1: delete */
	const char *summary;
	const char *logged;
} ops[OP_N] = {
	[OP_DELETE] = {MSG_QUEUES, -1, "Deleted", "removed"},
	[OP_HOLD] = {QMASK(Q_ACTIVE) | QMASK(Q_DEFERRED), Q_HOLD, "Placed on hold",
		     "placed on hold"},
	[OP_RELEASE] = {QMASK(Q_HOLD), Q_ACTIVE, "Released from hold", "released from hold"},
	[OP_REQUEUE] = {QMASK(Q_ACTIVE) | QMASK(Q_DEFERRED) | QMASK(Q_HOLD), Q_ACTIVE, "Requeued",
			"requeued"},
};

struct ctx {
	struct cfg *cfg;
	int fd[Q_N];
	bool dirty[Q_N];    /* fsync before exit */
	unsigned int limit; /* queues named on the command line (0: none) */
	char **ids[OP_N];   /* IDs per operation ("ALL" allowed) */
	size_t nids[OP_N];
};

static void warn(const char *fmt, ...) ATTR_PRINTF(1, 2);
static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(void) ATTR_NORETURN;
static void usage(void)
{
	fputs("usage: " PROG " [-c DIR] [-s] [-p] [-d ID|ALL|-] [-h ID|ALL|-] [-H ID|ALL|-]\n"
	      "                 [-r ID|ALL|-] [queue...]\n",
	      stderr);
	exit(1);
}

/* summary - "postsuper: Deleted: 2 messages" on stderr. */
static void summary(const char *what, size_t n, const char *unit)
{
	if (n > 0)
		fprintf(stderr, PROG ": %s: %zu %s%s\n", what, n, unit, n == 1 ? "" : "s");
}

/* add_id - remember an ID (or ALL) for op; IDs are checked here. */
static void add_id(struct ctx *c, enum op op, const char *id, bool from_stdin)
{
	if (strcmp(id, "ALL") != 0 && !qid_valid(id)) {
		if (!from_stdin)
			cmd_fatal(1, "invalid queue ID: \"%.100s\"", id);
		warn("invalid queue ID: \"%.100s\"", id);
		return;
	}
	c->ids[op] = xreallocarray(c->ids[op], c->nids[op] + 1, sizeof(char *));
	c->ids[op][c->nids[op]++] = xstrdup(id);
}

/* add_stdin_ids - "-": one ID per line, mailq's '*' and '!' dropped. */
static void add_stdin_ids(struct ctx *c, enum op op)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		char *id = line + strspn(line, " \t");

		id[strcspn(id, " \t\r\n*!")] = '\0';
		if (id[0] != '\0')
			add_id(c, op, id, true);
	}
	free(line);
}

/* open_queues - a descriptor for every queue directory. */
static void open_queues(struct ctx *c)
{
	const char *qdir = cfg_get(c->cfg, "queue_directory");
	struct buf path = BUF_INIT;

	for (int q = 0; q < Q_N; q++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", qdir, qnames[q]);
		c->fd[q] = open(buf_cstr(&path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->fd[q] < 0)
			cmd_fatal(1, "open %s: %s%s", buf_cstr(&path), strerror(errno),
			      errno == EACCES ? " (run as root or as the mail owner)" : "");
	}
	buf_deinit(&path);
}

/* list_names - every entry of queue q but "." and ".."; NULL-terminated. */
static char **list_names(struct ctx *c, int q)
{
	int fd = dup(c->fd[q]);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		warn("cannot list %s: %s", qnames[q], strerror(errno));
		return v;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && n < 10000000) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		v = xreallocarray(v, n + 2, sizeof(char *));
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	closedir(d);
	return v;
}

static void free_names(char **v)
{
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* drop_logs - remove defer/ID and bounce/ID. */
static void drop_logs(struct ctx *c, const char *id)
{
	for (int q = Q_DEFER; q <= Q_BOUNCE; q++) {
		if (unlinkat(c->fd[q], id, 0) == 0)
			c->dirty[q] = true;
		else if (errno != ENOENT)
			warn("remove %s/%s: %s", qnames[q], id, strerror(errno));
	}
}

/* apply - op on message id in queue q; true if it was there and done. */
static bool apply(struct ctx *c, enum op op, int q, const char *id)
{
	int to = ops[op].to;

	if (to == q) {
		/* -r of an active message: qmgr is told again; nothing moves. */
		if (op != OP_REQUEUE || faccessat(c->fd[q], id, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			return false;
		drop_logs(c, id);
		log_info("%s: %s", id, ops[op].logged);
		return true;
	}
	if (to < 0 ? unlinkat(c->fd[q], id, 0) < 0 : renameat(c->fd[q], id, c->fd[to], id) < 0) {
		if (errno != ENOENT)
			warn("%s/%s: %s", qnames[q], id, strerror(errno));
		return false;
	}
	c->dirty[q] = true;
	if (to >= 0)
		c->dirty[to] = true;
	if (op == OP_DELETE || op == OP_REQUEUE)
		drop_logs(c, id);
	log_info("%s: %s", id, ops[op].logged);
	return true;
}

/* run_op - every ID given for op, in every queue it may be in. */
static size_t run_op(struct ctx *c, enum op op, char ***moved_r, size_t *nmoved)
{
	unsigned int from =
		c->limit != 0 ? c->limit & (ops[op].from | QMASK(Q_CORRUPT)) : ops[op].from;
	size_t done = 0;

	for (size_t i = 0; i < c->nids[op]; i++) {
		bool all = strcmp(c->ids[op][i], "ALL") == 0;

		for (int q = 0; q < Q_N; q++) {
			char **names;

			if (!(from & QMASK(q)))
				continue;
			names = all ? list_names(c, q) : NULL;
			for (size_t k = 0; all ? names[k] != NULL : k < 1; k++) {
				const char *id = all ? names[k] : c->ids[op][i];

				if (!qid_valid(id) || !apply(c, op, q, id))
					continue;
				done++;
				if (ops[op].to == Q_ACTIVE) {
					*moved_r = xreallocarray(*moved_r, *nmoved + 1,
								 sizeof(char *));
					(*moved_r)[(*nmoved)++] = xstrdup(id);
				}
				if (!all)
					break;
			}
			if (names != NULL)
				free_names(names);
		}
	}
	return done;
}

/* older_than - the entry is a regular file last changed over age s ago. */
static bool older_than(int dirfd, const char *name, time_t age)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       st.st_mtime + age < time(NULL);
}

/* purge_incoming - -p (and -s): incoming files left by a crashed writer. */
static size_t purge_incoming(struct ctx *c)
{
	char **names = list_names(c, Q_INCOMING);
	size_t n = 0;

	for (size_t i = 0; names[i] != NULL; i++) {
		if (!older_than(c->fd[Q_INCOMING], names[i], STALE_AGE))
			continue;
		if (unlinkat(c->fd[Q_INCOMING], names[i], 0) == 0) {
			n++;
			c->dirty[Q_INCOMING] = true;
			log_info("%s: removed stale incoming file", names[i]);
		}
	}
	free_names(names);
	return n;
}

/* to_corrupt - move queue q's entry name to corrupt/ (kept, never used). */
static bool to_corrupt(struct ctx *c, int q, const char *name, const char *why)
{
	if (!safefile_component_ok(name) ||
	    faccessat(c->fd[Q_CORRUPT], name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		warn("%s/%.100s: %s; not moved (name unusable or taken in corrupt/)", qnames[q],
		     name, why);
		return false;
	}
	if (renameat(c->fd[q], name, c->fd[Q_CORRUPT], name) < 0) {
		if (errno != ENOENT)
			warn("%s/%.100s: %s", qnames[q], name, strerror(errno));
		return false;
	}
	c->dirty[q] = c->dirty[Q_CORRUPT] = true;
	log_warn("%s/%s: %s: moved to corrupt/", qnames[q], name, why);
	return true;
}

/* message_exists - id is a file in one of the message queues. */
static bool message_exists(struct ctx *c, const char *id)
{
	for (int q = Q_INCOMING; q <= Q_CORRUPT; q++)
		if (faccessat(c->fd[q], id, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return true;
	return false;
}

/* structure_check - -s. */
static void structure_check(struct ctx *c)
{
	const char *qdir = cfg_get(c->cfg, "queue_directory");
	struct buf path = BUF_INIT;
	size_t corrupt = 0, stale = purge_incoming(c), orphans = 0;
	struct err err;

	for (int q = Q_INCOMING; q <= Q_HOLD; q++) {
		char **names = list_names(c, q);

		for (size_t i = 0; names[i] != NULL; i++) {
			struct stat st;

			if (fstatat(c->fd[q], names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (!qid_valid(names[i]) || !S_ISREG(st.st_mode)) {
				corrupt += to_corrupt(c, q, names[i], "not a queue file name");
				continue;
			}
			if (q == Q_INCOMING)
				continue; /* may be still being written */
			buf_reset(&path);
			buf_printf(&path, "%s/%s/%s", qdir, qnames[q], names[i]);
			if (qfile_verify(buf_cstr(&path), &err) < 0 &&
			    (err.code == QFILE_CORRUPT || err.code == QFILE_INCOMPLETE))
				corrupt += to_corrupt(c, q, names[i], err.msg);
		}
		free_names(names);
	}
	for (int q = Q_DEFER; q <= Q_BOUNCE; q++) {
		char **names = list_names(c, q);

		for (size_t i = 0; names[i] != NULL; i++) {
			if (!qid_valid(names[i]) || message_exists(c, names[i]))
				continue;
			if (unlinkat(c->fd[q], names[i], 0) == 0) {
				orphans++;
				c->dirty[q] = true;
			}
		}
		free_names(names);
	}
	buf_deinit(&path);
	summary("Moved to corrupt", corrupt, "file");
	summary("Removed stale files", stale, "file");
	summary("Removed orphaned logs", orphans, "file");
}

/* sync_dirs - fsync every directory that changed. */
static void sync_dirs(struct ctx *c)
{
	for (int q = 0; q < Q_N; q++)
		if (c->dirty[q] && fsync(c->fd[q]) < 0)
			warn("fsync %s: %s", qnames[q], strerror(errno));
}

/* setup_log - ID lines go to the maillog as tern/postsuper. */
static void setup_log(struct cfg *cfg)
{
	struct err err;
	const char *file = cfg_get(cfg, "maillog_file");

	cmd_init(PROG);
	log_set_stderr(false);
	log_set_hostname(cfg_get(cfg, "myhostname"));
	if (file[0] != '\0' && log_set_file(file, &err) < 0)
		warn("%s", err.msg);
}

int main(int argc, char **argv)
{
	static const char opchars[OP_N] = {'d', 'h', 'H', 'r'};
	const char *dir = getenv("TERN_CONFIG_DIR");
	struct ctx c;
	struct err err;
	bool check = false, purge = false, any = false;
	char **moved = NULL;
	size_t nmoved = 0;
	int ch;

	memset(&c, 0, sizeof(c));
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "c:d:h:H:r:spv")) != -1) {
		const char *p = ch > 0 && ch < 256 ? memchr(opchars, ch, OP_N) : NULL;

		if (ch == 'c') {
			dir = optarg;
		} else if (ch == 's') {
			check = any = true;
		} else if (ch == 'p') {
			purge = any = true;
		} else if (ch == 'v') {
			continue;
		} else if (p != NULL) {
			enum op op = (enum op)(p - opchars);

			any = true;
			if (strcmp(optarg, "-") == 0)
				add_stdin_ids(&c, op);
			else
				add_id(&c, op, optarg, false);
		} else {
			usage();
		}
	}
	for (int i = optind; i < argc; i++) {
		int q = 0;

		while (q <= Q_CORRUPT && strcmp(argv[i], qnames[q]) != 0)
			q++;
		if (q > Q_CORRUPT)
			cmd_fatal(1, "invalid queue name: \"%.100s\"", argv[i]);
		c.limit |= QMASK(q);
	}
	if (!any)
		usage();
	if (dir == NULL || dir[0] == '\0')
		cmd_fatal(1, "no instance directory: use -c DIR or set TERN_CONFIG_DIR");
	if ((c.cfg = cfg_load(dir, &err)) == NULL)
		cmd_fatal(1, "%s", err.msg);
	setup_log(c.cfg);
	open_queues(&c);
	if (check)
		structure_check(&c);
	if (purge && !check)
		summary("Removed stale files", purge_incoming(&c), "file");
	for (int op = 0; op < OP_N; op++) {
		size_t n = c.nids[op] > 0 ? run_op(&c, (enum op)op, &moved, &nmoved) : 0;

		if (c.nids[op] > 0)
			summary(ops[op].summary, n, "message");
	}
	sync_dirs(&c);
	for (size_t i = 0; i < nmoved; i++) {
		qreceive_notify(c.cfg, moved[i]);
		free(moved[i]);
	}
	free(moved);
	for (int op = 0; op < OP_N; op++) {
		for (size_t i = 0; i < c.nids[op]; i++)
			free(c.ids[op][i]);
		free(c.ids[op]);
	}
	for (int q = 0; q < Q_N; q++)
		close(c.fd[q]);
	cfg_free(&c.cfg);
	return 0;
}
