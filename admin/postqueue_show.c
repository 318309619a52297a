/*
 * postqueue_show.c - list the mail queue as Postfix's mailq does (-p) or as
 * JSON lines (-j, the fields of Postfix 3.1+): per message its queue ID
 * with '*' (active) or '!' (hold), size, arrival time, sender, and each
 * recipient still to be delivered with its last deferral reason from
 * queue/defer/ID.
 * Touches:  reads $queue_directory/{incoming,active,deferred,hold,defer}.
 * Input:    queue file names are checked with qid_valid before use; files
 *           are opened O_NOFOLLOW and validated by lib/qfile; a file that
 *           moves or vanishes while we look is skipped.
 * Security: needs read access to the queue: root or the mail owner.
 * Errors:   -1 with "cannot read the queue ..." when a directory cannot be
 *           opened; unreadable or incomplete files are skipped.
 * See:      postqueue.h, Postfix showq(8) and postqueue(1).
 */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "admin/postqueue.h"
#include "buf.h"
#include "cfg.h"
#include "defer_log.h"
#include "err.h"
#include "qfile.h"
#include "qid.h"
#include "str.h"
#include "xmem.h"

/* The queues listed, in Postfix's order, with their status mark. */
static const struct {
	const char *name;
	char mark;
} queues[] = {
	{"incoming", ' '},
	{"active", '*'},
	{"deferred", ' '},
	{"hold", '!'},
};

/* Column of the sender and recipients: ID + mark, size, date. */
#define SHOW_ADDR_COL (QID_LEN + 1 + 1 + 8 + 1 + 20 + 1)

struct show_state {
	bool json;
	FILE *out;
	int defer_fd;
	uint64_t total;
	size_t count;
};

/* cmp_names - qsort of queue IDs. */
static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_dir - the valid queue IDs in dirfd, sorted (NULL-terminated). */
static char **list_dir(int dirfd, size_t *n_r)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		*n_r = 0;
		return xcalloc(1, sizeof(char *));
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && n < 10000000) {
		if (!qid_valid(de->d_name))
			continue;
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (v == NULL)
		v = xcalloc(1, sizeof(char *));
	v[n] = NULL;
	qsort(v, n, sizeof(*v), cmp_names);
	*n_r = n;
	return v;
}

/* json_str - s as a JSON string (control and non-UTF-8 bytes made '?'). */
static void json_str(struct buf *out, const char *s)
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

/* show_json - one message as a JSON line. */
static void show_json(struct show_state *st, const char *queue, const char *id,
		      const struct qfile_env *env, const struct defer_log *log)
{
	struct buf b = BUF_INIT;
	bool first = true;

	buf_adds(&b, "{\"queue_name\": ");
	json_str(&b, queue);
	buf_adds(&b, ", \"queue_id\": ");
	json_str(&b, id);
	buf_printf(&b,
		   ", \"arrival_time\": %lld, \"message_size\": %llu, "
		   "\"forced_expire\": false, \"sender\": ",
		   (long long)env->arrival.tv_sec, (unsigned long long)env->content_size);
	json_str(&b, env->sender);
	buf_adds(&b, ", \"recipients\": [");
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct qfile_rcpt *r = &env->rcpts[i];
		const struct defer_log_entry *e;

		if (r->status != QFILE_RCPT_PENDING)
			continue;
		buf_adds(&b, first ? "{\"address\": " : ", {\"address\": ");
		first = false;
		json_str(&b, r->addr);
		e = defer_log_last(log, r->addr);
		if (e != NULL && e->reason[0] != '\0') {
			buf_adds(&b, ", \"delay_reason\": ");
			json_str(&b, e->reason);
		}
		buf_addc(&b, '}');
	}
	buf_adds(&b, "]}\n");
	fwrite(b.data, 1, b.len, st->out);
	buf_deinit(&b);
}

/* show_text - one message in mailq's shape. */
static void show_text(struct show_state *st, char mark, const char *id, const struct qfile_env *env,
		      const struct defer_log *log)
{
	char date[64];
	struct tm tm;
	time_t t = env->arrival.tv_sec;
	const char *last_reason = NULL;
	struct buf clean = BUF_INIT;

	if (st->count == 0)
		fprintf(st->out, "%-11s %8s %-20s %s\n", "-Queue ID-", "--Size--",
			"----Arrival Time----", "-Sender/Recipient-------");
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(date, sizeof(date), "%lld", (long long)t);
	str_sanitize(&clean, env->sender, strlen(env->sender), 1000);
	fprintf(st->out, "%s%c %8llu %-20.20s %s\n", id, mark,
		(unsigned long long)env->content_size, date,
		env->sender[0] != '\0' ? buf_cstr(&clean) : "MAILER-DAEMON");
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
			fprintf(st->out, "%*s(%s)\n", SHOW_ADDR_COL - 6, "", buf_cstr(&clean));
			last_reason = e->reason;
		}
		buf_reset(&clean);
		str_sanitize(&clean, r->addr, strlen(r->addr), 1000);
		fprintf(st->out, "%*s%s\n", SHOW_ADDR_COL, "", buf_cstr(&clean));
	}
	fputc('\n', st->out);
	buf_deinit(&clean);
}

/* show_one - read queue/id and print it; a file that cannot be read now
 * (moved, incomplete) is skipped. */
static void show_one(struct show_state *st, int dirfd, const char *queue, char mark, const char *id)
{
	struct qfile_env env;
	struct defer_log log;
	struct err err;
	int fd = openat(dirfd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	memset(&env, 0, sizeof(env));
	if (qfile_read_envelope(fd, &env, &err) < 0) {
		close(fd);
		return;
	}
	close(fd);
	memset(&log, 0, sizeof(log));
	if (st->defer_fd < 0 || defer_log_read(st->defer_fd, id, &log, &err) < 0)
		memset(&log, 0, sizeof(log));
	if (st->json)
		show_json(st, queue, id, &env, &log);
	else
		show_text(st, mark, id, &env, &log);
	st->total += env.content_size;
	st->count++;
	defer_log_deinit(&log);
	qfile_env_deinit(&env);
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

int postqueue_show(struct cfg *cfg, bool json, FILE *out, struct err *err)
{
	const char *qdir = cfg_get(cfg, "queue_directory");
	struct show_state st = {json, out, -1, 0, 0};
	int fds[N_ELEMENTS(queues)];

	/* Open every directory first so a permission problem prints nothing. */
	for (size_t q = 0; q < N_ELEMENTS(queues); q++) {
		if ((fds[q] = open_queue_dir(qdir, queues[q].name, err)) < 0) {
			while (q-- > 0)
				close(fds[q]);
			return -1;
		}
	}
	st.defer_fd = open_queue_dir(qdir, "defer", err);
	for (size_t q = 0; q < N_ELEMENTS(queues); q++) {
		size_t n;
		char **ids = list_dir(fds[q], &n);

		for (size_t i = 0; i < n; i++)
			show_one(&st, fds[q], queues[q].name, queues[q].mark, ids[i]);
		for (size_t i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
		close(fds[q]);
	}
	if (st.defer_fd >= 0)
		close(st.defer_fd);
	if (!json && st.count == 0)
		fputs("Mail queue is empty\n", out);
	else if (!json)
		fprintf(out, "-- %llu Kbytes in %zu Request%s.\n",
			(unsigned long long)((st.total + 1023) / 1024), st.count,
			st.count == 1 ? "" : "s");
	fflush(out);
	return 0;
}
