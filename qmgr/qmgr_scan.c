/*
 * qmgr_scan.c - the queue directories as qmgr sees them: opening them,
 *               the waiting list of active/ files waiting for a slot in the
 *               bounded active set, scans of active/, deferred/ (retry time
 *               in the mtime), incoming/ (stale files) and the defer/bounce
 *               logs (orphans), flush requests, and the moves between
 *               directories (rename, then fsync of both).
 * Touches:  $queue_directory/{incoming,active,deferred,hold,corrupt,defer,
 *           bounce}: renames, unlinks of stale incoming files and orphan
 *           logs; reads queue files for a site flush.
 * Input:    directory entries are only used when qid_valid accepts them, so
 *           a stray name can never become a path outside its directory.
 * Security: runs as the mail owner; *at() calls relative to directory
 *           descriptors opened once at start, no symlinks followed.
 * Errors:   a file that vanishes (postsuper -d, -h) is skipped; other
 *           errors are logged and the file is left for the next scan.
 * See:      docs/queue-format.md "Directories", docs/qmgr.md.
 */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "qmgr.h"
#include "str.h"
#include "xmem.h"

/* open_dir - open $queue_directory/name as a directory descriptor. */
static int open_dir(struct qmgr *q, const char *name, int *fd_r, struct err *err)
{
	struct buf path = BUF_INIT;

	buf_printf(&path, "%s/%s", q->queue_dir, name);
	*fd_r = open(path.data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd_r < 0) {
		err_set_code(err, errno, "open %s: %s", path.data, strerror(errno));
		buf_deinit(&path);
		return -1;
	}
	buf_deinit(&path);
	return 0;
}

int qmgr_dirs_open(struct qmgr *q, struct err *err)
{
	if (open_dir(q, "incoming", &q->dir_incoming, err) < 0 ||
	    open_dir(q, "active", &q->dir_active, err) < 0 ||
	    open_dir(q, "deferred", &q->dir_deferred, err) < 0 ||
	    open_dir(q, "hold", &q->dir_hold, err) < 0 ||
	    open_dir(q, "corrupt", &q->dir_corrupt, err) < 0 ||
	    open_dir(q, "defer", &q->dir_defer, err) < 0 ||
	    open_dir(q, "bounce", &q->dir_bounce, err) < 0)
		return -1;
	return 0;
}

void qmgr_waiting_push(struct qmgr *q, const char *qid)
{
	if (qmgr_map_get(&q->known, qid) != NULL)
		return;
	if (q->waiting_len >= q->waiting_cap) {
		q->rescan_active = true;
		return;
	}
	memcpy(q->waiting[(q->waiting_head + q->waiting_len) % q->waiting_cap], qid, QID_SIZE);
	q->waiting_len++;
	qmgr_map_put(&q->known, qid, q);
}

/* scan_dir - call fn for each valid queue ID in dirfd; fn returns false to
 * stop.  The directory is read through a dup, so dirfd stays open. */
static void scan_dir(int dirfd, const char *what, bool (*fn)(const char *qid, void *ctx), void *ctx)
{
	int fd = dup(dirfd);
	DIR *d;
	struct dirent *de;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		log_warn("scan %s: %s", what, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!qid_valid(de->d_name))
			continue;
		if (!fn(de->d_name, ctx))
			break;
	}
	closedir(d);
}

/* active_one - scan_active's step: queue an unknown file; stop when full. */
static bool active_one(const char *qid, void *ctx)
{
	struct qmgr *q = ctx;

	qmgr_waiting_push(q, qid);
	return q->waiting_len < q->waiting_cap;
}

void qmgr_feed(struct qmgr *q)
{
	char qid[QID_SIZE];
	unsigned int rescans = 0;

	while (q->active_count < q->active_limit) {
		if (q->waiting_len == 0) {
			if (!q->rescan_active || rescans++ > 0)
				break;
			q->rescan_active = false;
			scan_dir(q->dir_active, "active", active_one, q);
			if (q->waiting_len >= q->waiting_cap)
				q->rescan_active = true;
			continue;
		}
		memcpy(qid, q->waiting[q->waiting_head], QID_SIZE);
		q->waiting_head = (q->waiting_head + 1) % q->waiting_cap;
		q->waiting_len--;
		qmgr_message_load(q, qid);
	}
}

int qmgr_move(struct qmgr *q, int from_dir, int to_dir, const char *qid)
{
	if (renameat(from_dir, qid, to_dir, qid) < 0)
		return -1;
	if (fsync(to_dir) < 0 || fsync(from_dir) < 0)
		log_warn("%s: fsync of queue directory: %s", qid, strerror(errno));
	return 0;
}

void qmgr_corrupt(struct qmgr *q, int from_dir, const char *qid, const char *why)
{
	if (qmgr_move(q, from_dir, q->dir_corrupt, qid) < 0) {
		if (errno != ENOENT)
			log_warn("%s: cannot move to the corrupt queue: %s", qid, strerror(errno));
		return;
	}
	log_warn("%s: %s; moved to the corrupt queue", qid, why);
}

struct deferred_scan {
	struct qmgr *q;
	time_t now;
	unsigned int moved;
};

/* deferred_one - move one due deferred file to active/. */
static bool deferred_one(const char *qid, void *ctx)
{
	struct deferred_scan *s = ctx;
	struct stat st;

	if (fstatat(s->q->dir_deferred, qid, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return true; /* gone meanwhile */
	if (!S_ISREG(st.st_mode)) {
		qmgr_corrupt(s->q, s->q->dir_deferred, qid, "not a regular file");
		return true;
	}
	if (st.st_mtime > s->now) {
		qmgr_note_due(s->q, st.st_mtime);
		return true;
	}
	if (qmgr_move(s->q, s->q->dir_deferred, s->q->dir_active, qid) < 0) {
		if (errno != ENOENT)
			log_warn("%s: cannot move to the active queue: %s", qid, strerror(errno));
		return true;
	}
	s->moved++;
	qmgr_waiting_push(s->q, qid);
	return true;
}

void qmgr_scan_deferred(struct qmgr *q, time_t now)
{
	struct deferred_scan s = {q, now, 0};

	scan_dir(q->dir_deferred, "deferred", deferred_one, &s);
	if (s.moved > 0)
		log_debug("queue run: %u deferred message(s) due", s.moved);
}

struct incoming_scan {
	struct qmgr *q;
	time_t now;
};

/* incoming_one - remove a file nobody finished writing within the hour. */
static bool incoming_one(const char *qid, void *ctx)
{
	struct incoming_scan *s = ctx;
	struct stat st;

	if (fstatat(s->q->dir_incoming, qid, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return true;
	if (s->now - st.st_mtime < QMGR_INCOMING_MAX_AGE)
		return true;
	if (unlinkat(s->q->dir_incoming, qid, 0) == 0)
		log_warn("%s: removed stale incoming file (never committed)", qid);
	return true;
}

void qmgr_scan_incoming(struct qmgr *q, time_t now)
{
	struct incoming_scan s = {q, now};

	scan_dir(q->dir_incoming, "incoming", incoming_one, &s);
}

struct orphan_scan {
	struct qmgr *q;
	int dir;
	const char *name;
};

/* in_any_queue - a queue file named qid exists in some queue directory. */
static bool in_any_queue(struct qmgr *q, const char *qid)
{
	int dirs[] = {q->dir_active, q->dir_deferred, q->dir_hold, q->dir_incoming, q->dir_corrupt};
	struct stat st;
	size_t i;

	for (i = 0; i < N_ELEMENTS(dirs); i++)
		if (fstatat(dirs[i], qid, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
			return true;
	return false;
}

/* orphan_one - remove a log whose message is gone. */
static bool orphan_one(const char *qid, void *ctx)
{
	struct orphan_scan *s = ctx;

	if (in_any_queue(s->q, qid))
		return true;
	if (unlinkat(s->dir, qid, 0) == 0)
		log_info("%s: removed orphan %s log", qid, s->name);
	return true;
}

void qmgr_scan_orphans(struct qmgr *q)
{
	struct orphan_scan d = {q, q->dir_defer, "defer"}, b = {q, q->dir_bounce, "bounce"};

	scan_dir(q->dir_defer, "defer", orphan_one, &d);
	scan_dir(q->dir_bounce, "bounce", orphan_one, &b);
	if (fsync(q->dir_defer) < 0 || fsync(q->dir_bounce) < 0)
		log_warn("fsync of defer/bounce directory: %s", strerror(errno));
}

struct flush_scan {
	struct qmgr *q;
	const char *site;
	unsigned int count;
};

/* site_matches - a pending recipient of deferred/QID is in domain site. */
static bool site_matches(struct qmgr *q, const char *qid, const char *site)
{
	struct qfile_env env;
	struct err err;
	bool found = false;
	size_t i;
	int fd = openat(q->dir_deferred, qid, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (qfile_read_envelope(fd, &env, &err) == 0) {
		for (i = 0; i < env.rcpt_count && !found; i++) {
			const char *at = strrchr(env.rcpts[i].addr, '@');

			found = env.rcpts[i].status == QFILE_RCPT_PENDING && at != NULL &&
				str_eq_ci(at + 1, site);
		}
		qfile_env_deinit(&env);
	}
	close(fd);
	return found;
}

/* flush_one - move one deferred file (of the site, if given) to active/. */
static bool flush_one(const char *qid, void *ctx)
{
	struct flush_scan *s = ctx;

	if (s->site != NULL && !site_matches(s->q, qid, s->site))
		return true;
	if (qmgr_move(s->q, s->q->dir_deferred, s->q->dir_active, qid) < 0) {
		if (errno != ENOENT)
			log_warn("%s: flush: %s", qid, strerror(errno));
		return true;
	}
	s->count++;
	qmgr_waiting_push(s->q, qid);
	return true;
}

unsigned int qmgr_flush(struct qmgr *q, const char *site, const char *qid)
{
	struct flush_scan s = {q, site, 0};
	struct stat st;

	if (qid != NULL) {
		if (fstatat(q->dir_active, qid, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			qmgr_waiting_push(q, qid); /* already active: make sure it is seen */
			s.count = 1;
		} else {
			flush_one(qid, &s);
		}
	} else {
		scan_dir(q->dir_deferred, "deferred", flush_one, &s);
	}
	log_info("flush%s%s%s%s: %u message(s) scheduled", site != NULL ? " site " : "",
		 site != NULL ? site : "", qid != NULL ? " queue ID " : "", qid != NULL ? qid : "",
		 s.count);
	return s.count;
}
