/*
 * qlist.c - the mail queue listing (mailq text, postqueue -j JSON lines)
 * made one message at a time: the shared core of showq and of postqueue's
 * direct mode.
 * Touches:  reads $queue_directory/{incoming,active,deferred,hold,defer}.
 * Input:    queue file names are checked with qid_valid before use; files
 *           are opened O_NOFOLLOW and validated by lib/qfile; a file that
 *           moves or vanishes while we look is skipped.
 * Security: needs read access to the queue (root or the mail owner); what
 *           it prints is sanitized, as a local user reads it on a terminal.
 * Errors:   qlist_open fails with "cannot read the queue ..." when a
 *           directory cannot be opened; unreadable files are skipped.
 * See:      qlist.h, Postfix showq(8) and postqueue(1).
 */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "defer_log.h"
#include "err.h"
#include "qfile.h"
#include "qid.h"
#include "qlist.h"
#include "str.h"
#include "xmem.h"

/* The queues listed, in Postfix's order, with their status mark. */
static const struct {
	const char *name;
	char mark;
} qlist_queues[] = {
	{"incoming", ' '},
	{"active", '*'},
	{"deferred", ' '},
	{"hold", '!'},
};
#define QLIST_NQUEUES (sizeof(qlist_queues) / sizeof(qlist_queues[0]))

/* Column of the sender and recipients in the text format: queue ID + mark,
 * size, date. */
#define QLIST_ADDR_COL (QID_LEN + 1 + 1 + 8 + 1 + 20 + 1)

/* Most names taken from one directory (a bound on memory, not a limit any
 * real queue reaches). */
#define QLIST_DIR_MAX 10000000

struct qlist {
	bool json;
	bool done;
	bool loaded; /* ids holds the current directory's names */
	int fds[QLIST_NQUEUES];
	int defer_fd;
	size_t q;   /* queue being listed */
	char **ids; /* its sorted IDs (NULL before it is read) */
	size_t nids;
	size_t next; /* next index in ids */
	size_t count;
	uint64_t total;
};

/* cmp_names - qsort of queue IDs. */
static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_dir - the valid queue IDs in dirfd, sorted. */
static char **list_dir(int dirfd, size_t *n_r)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	*n_r = 0;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && n < QLIST_DIR_MAX) {
		if (!qid_valid(de->d_name))
			continue;
		if (n >= cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_names);
	*n_r = n;
	return v;
}

/* free_ids - drop the current directory's names. */
static void free_ids(struct qlist *ql)
{
	for (size_t i = 0; i < ql->nids; i++)
		free(ql->ids[i]);
	xfree(&ql->ids);
	ql->nids = 0;
	ql->next = 0;
}

void qlist_json_str(struct buf *out, const char *s)
{
	struct buf clean = BUF_INIT;

	str_sanitize(&clean, s, strlen(s), 100000);
	buf_addc(out, '"');
	for (size_t i = 0; i < clean.len; i++) {
		if (clean.data[i] == '"' || clean.data[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, clean.data[i]);
	}
	buf_addc(out, '"');
	buf_deinit(&clean);
}

/* format_json - one message as a JSON line. */
static void format_json(struct buf *b, const char *queue, const char *id,
			const struct qfile_env *env, const struct defer_log *log)
{
	bool first = true;

	buf_adds(b, "{\"queue_name\": ");
	qlist_json_str(b, queue);
	buf_adds(b, ", \"queue_id\": ");
	qlist_json_str(b, id);
	buf_printf(b,
		   ", \"arrival_time\": %lld, \"message_size\": %llu, "
		   "\"forced_expire\": false, \"sender\": ",
		   (long long)env->arrival.tv_sec, (unsigned long long)env->content_size);
	qlist_json_str(b, env->sender);
	buf_adds(b, ", \"recipients\": [");
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct qfile_rcpt *r = &env->rcpts[i];
		const struct defer_log_entry *e;

		if (r->status != QFILE_RCPT_PENDING)
			continue;
		buf_adds(b, first ? "{\"address\": " : ", {\"address\": ");
		first = false;
		qlist_json_str(b, r->addr);
		e = defer_log_last(log, r->addr);
		if (e != NULL && e->reason[0] != '\0') {
			buf_adds(b, ", \"delay_reason\": ");
			qlist_json_str(b, e->reason);
		}
		buf_addc(b, '}');
	}
	buf_adds(b, "]}\n");
}

/* format_text - one message in mailq's shape. */
static void format_text(struct buf *b, bool header, char mark, const char *id,
			const struct qfile_env *env, const struct defer_log *log)
{
	char date[64];
	struct tm tm;
	time_t t = env->arrival.tv_sec;
	const char *last_reason = NULL;
	struct buf clean = BUF_INIT;

	if (header)
		buf_printf(b, "%-11s %8s %-20s %s\n", "-Queue ID-", "--Size--",
			   "----Arrival Time----", "-Sender/Recipient-------");
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(date, sizeof(date), "%lld", (long long)t);
	str_sanitize(&clean, env->sender, strlen(env->sender), 1000);
	buf_printf(b, "%s%c %8llu %-20.20s %s\n", id, mark, (unsigned long long)env->content_size,
		   date, env->sender[0] != '\0' ? buf_cstr(&clean) : "MAILER-DAEMON");
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct qfile_rcpt *r = &env->rcpts[i];
		const struct defer_log_entry *e;

		if (r->status != QFILE_RCPT_PENDING)
			continue;
		e = defer_log_last(log, r->addr);
		if (e != NULL && e->reason[0] != '\0' &&
		    (last_reason == NULL || strcmp(last_reason, e->reason) != 0)) {
			buf_reset(&clean);
			str_sanitize(&clean, e->reason, strlen(e->reason), 1000);
			buf_printf(b, "%*s(%s)\n", QLIST_ADDR_COL - 6, "", buf_cstr(&clean));
			last_reason = e->reason;
		}
		buf_reset(&clean);
		str_sanitize(&clean, r->addr, strlen(r->addr), 1000);
		buf_printf(b, "%*s%s\n", QLIST_ADDR_COL, "", buf_cstr(&clean));
	}
	buf_addc(b, '\n');
	buf_deinit(&clean);
}

void qlist_format_msg(struct buf *out, bool json, bool header, const char *queue, char mark,
		      const char *id, const struct qfile_env *env, const struct defer_log *log)
{
	if (json)
		format_json(out, queue, id, env, log);
	else
		format_text(out, header, mark, id, env, log);
}

void qlist_format_end(struct buf *out, bool json, size_t count, uint64_t total)
{
	if (json)
		return;
	if (count == 0)
		buf_adds(out, "Mail queue is empty\n");
	else
		buf_printf(out, "-- %llu Kbytes in %zu Request%s.\n",
			   (unsigned long long)((total + 1023) / 1024), count,
			   count == 1 ? "" : "s");
}

/* show_one - read queue/id and append it; false when the file cannot be
 * read now (moved, incomplete). */
static bool show_one(struct qlist *ql, struct buf *out, const char *id)
{
	struct qfile_env env;
	struct defer_log log;
	struct err err;
	int fd = openat(ql->fds[ql->q], id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return false;
	memset(&env, 0, sizeof(env));
	if (qfile_read_envelope(fd, &env, &err) < 0) {
		close(fd);
		qfile_env_deinit(&env);
		return false;
	}
	close(fd);
	memset(&log, 0, sizeof(log));
	if (ql->defer_fd < 0 || defer_log_read(ql->defer_fd, id, &log, &err) < 0)
		memset(&log, 0, sizeof(log));
	qlist_format_msg(out, ql->json, ql->count == 0, qlist_queues[ql->q].name,
			 qlist_queues[ql->q].mark, id, &env, &log);
	ql->total += env.content_size;
	ql->count++;
	defer_log_deinit(&log);
	qfile_env_deinit(&env);
	return true;
}

/* open_queue_dir - queue_dir/name as a directory fd, or -1 with err. */
static int open_queue_dir(const char *queue_dir, const char *name, struct err *err)
{
	struct buf path = BUF_INIT;
	int fd;

	buf_printf(&path, "%s/%s", queue_dir, name);
	fd = open(buf_cstr(&path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		err_set_code(err, errno, "cannot read the queue: %s: %s%s", buf_cstr(&path),
			     strerror(errno),
			     errno == EACCES ? " (run as root or as the mail owner)" : "");
	buf_deinit(&path);
	return fd;
}

struct qlist *qlist_open(const char *queue_dir, bool json, struct err *err)
{
	struct qlist *ql = xcalloc(1, sizeof(*ql));
	struct err ignored;

	ql->json = json;
	for (size_t q = 0; q < QLIST_NQUEUES; q++)
		ql->fds[q] = -1;
	ql->defer_fd = -1;
	for (size_t q = 0; q < QLIST_NQUEUES; q++) {
		if ((ql->fds[q] = open_queue_dir(queue_dir, qlist_queues[q].name, err)) < 0) {
			qlist_free(&ql);
			return NULL;
		}
	}
	ql->defer_fd = open_queue_dir(queue_dir, "defer", &ignored);
	return ql;
}

int qlist_next(struct qlist *ql, struct buf *out)
{
	while (!ql->done && ql->q < QLIST_NQUEUES) {
		if (!ql->loaded) {
			ql->ids = list_dir(ql->fds[ql->q], &ql->nids);
			ql->next = 0;
			ql->loaded = true;
		}
		while (ql->next < ql->nids) {
			const char *id = ql->ids[ql->next++];

			if (show_one(ql, out, id))
				return 1;
		}
		free_ids(ql);
		close(ql->fds[ql->q]);
		ql->fds[ql->q] = -1;
		ql->loaded = false;
		ql->q++;
	}
	if (!ql->done) {
		ql->done = true;
		qlist_format_end(out, ql->json, ql->count, ql->total);
	}
	return 0;
}

size_t qlist_count(const struct qlist *ql)
{
	return ql->count;
}

void qlist_free(struct qlist **qlp)
{
	struct qlist *ql = *qlp;

	if (ql == NULL)
		return;
	free_ids(ql);
	for (size_t q = 0; q < QLIST_NQUEUES; q++)
		if (ql->fds[q] >= 0)
			close(ql->fds[q]);
	if (ql->defer_fd >= 0)
		close(ql->defer_fd);
	free(ql);
	*qlp = NULL;
}

int qlist_write(struct qlist *ql, FILE *out, struct err *err)
{
	struct buf b = BUF_INIT;
	bool more = true;
	int rc = 0;

	while (more) {
		buf_reset(&b);
		more = qlist_next(ql, &b) == 1;
		if (b.len > 0 && fwrite(b.data, 1, b.len, out) != b.len) {
			rc = err_set_code(err, errno, "write error: %s", strerror(errno));
			break;
		}
	}
	if (rc == 0 && fflush(out) != 0)
		rc = err_set_code(err, errno, "write error: %s", strerror(errno));
	buf_deinit(&b);
	return rc;
}
