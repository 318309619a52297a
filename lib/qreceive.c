/*
 * qreceive.c - put a new message into the queue (see qreceive.h).
 * Touches:  $queue_directory/incoming and active (create, rename, fsync);
 *           private/qmgr (one cached connection per process for NOTIFY,
 *           blocking or, in event-driven daemons, asynchronous).
 * Security: file names are queue IDs made here (qid_create_file, O_EXCL,
 *           O_NOFOLLOW); nothing from the message reaches a path.
 * Errors:   -1 with the reason; an uncommitted file is removed.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "qfile.h"
#include "qid.h"
#include "qreceive.h"
#include "xmem.h"

#define QRECEIVE_NOTIFY_TIMEOUT 2000 /* msec */

struct qreceive {
	char id[QID_SIZE];
	int fd;
	struct qfile_writer *writer;
	bool committed;
};

/* The queue directories stay open for the life of the process. */
static struct {
	char *queue_dir;
	int incoming_fd;
	int active_fd;
} dirs = { NULL, -1, -1 };

/* open_dirs - open (or reuse) incoming/ and active/ of queue_dir. */
static int open_dirs(const char *queue_dir, struct err *err)
{
	struct buf path = BUF_INIT;
	int in_fd, act_fd;

	if (dirs.queue_dir != NULL && strcmp(dirs.queue_dir, queue_dir) == 0)
		return 0;
	buf_printf(&path, "%s/incoming", queue_dir);
	in_fd = open(buf_cstr(&path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (in_fd < 0) {
		err_set(err, "open %s: %s", buf_cstr(&path), strerror(errno));
		buf_deinit(&path);
		return -1;
	}
	buf_reset(&path);
	buf_printf(&path, "%s/active", queue_dir);
	act_fd = open(buf_cstr(&path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (act_fd < 0) {
		err_set(err, "open %s: %s", buf_cstr(&path), strerror(errno));
		close(in_fd);
		buf_deinit(&path);
		return -1;
	}
	buf_deinit(&path);
	if (dirs.incoming_fd >= 0)
		close(dirs.incoming_fd);
	if (dirs.active_fd >= 0)
		close(dirs.active_fd);
	free(dirs.queue_dir);
	dirs.queue_dir = xstrdup(queue_dir);
	dirs.incoming_fd = in_fd;
	dirs.active_fd = act_fd;
	return 0;
}

struct qreceive *qreceive_begin(const char *queue_dir, struct err *err)
{
	struct qreceive *q;
	int fd;

	if (open_dirs(queue_dir, err) < 0)
		return NULL;
	q = xcalloc(1, sizeof(*q));
	fd = qid_create_file(dirs.incoming_fd, q->id, err);
	if (fd < 0) {
		free(q);
		return NULL;
	}
	q->fd = fd;
	q->writer = qfile_writer_new(fd);
	return q;
}

const char *qreceive_id(const struct qreceive *q)
{
	return q->id;
}

struct qfile_writer *qreceive_writer(struct qreceive *q)
{
	return q->writer;
}

int qreceive_commit(struct qreceive *q, struct err *err)
{
	if (q->committed || q->fd < 0)
		return err_set(err, "%s: queue file already committed or aborted", q->id);
	if (qfile_writer_finish(q->writer, err) < 0)
		goto fail;
	if (close(q->fd) < 0) {
		q->fd = -1;
		err_set(err, "%s: close: %s", q->id, strerror(errno));
		goto fail;
	}
	q->fd = -1;
	if (renameat(dirs.incoming_fd, q->id, dirs.active_fd, q->id) < 0) {
		err_set(err, "%s: rename incoming to active: %s", q->id, strerror(errno));
		goto fail;
	}
	q->committed = true;
	if (fsync(dirs.active_fd) < 0) {
		/* The rename may not be durable: the sender must not get a 250. */
		int e = errno;

		unlinkat(dirs.active_fd, q->id, 0);
		q->committed = false;
		return err_set(err, "%s: fsync active: %s", q->id, strerror(e));
	}
	return 0;
fail:
	qreceive_abort(q);
	return -1;
}

void qreceive_abort(struct qreceive *q)
{
	if (q->committed)
		return;
	if (q->fd >= 0) {
		close(q->fd);
		q->fd = -1;
	}
	if (dirs.incoming_fd >= 0 && unlinkat(dirs.incoming_fd, q->id, 0) < 0 &&
	    errno != ENOENT)
		log_warn("%s: remove incoming file: %s", q->id, strerror(errno));
}

void qreceive_free(struct qreceive **qp)
{
	struct qreceive *q = *qp;

	if (q == NULL)
		return;
	if (!q->committed)
		qreceive_abort(q);
	qfile_writer_free(&q->writer);
	if (q->fd >= 0)
		close(q->fd);
	xfree(qp);
}

/* The connection to qmgr is kept for the next notification. */
static int notify_fd = -1;

/* notify_once - one NOTIFY on the cached connection; -1 on any failure. */
static int notify_once(struct cfg *cfg, const char *queue_id, struct err *err)
{
	static uint32_t reqid;
	struct ipc_msg req, reply;
	struct buf path = BUF_INIT;
	int rc;

	if (notify_fd < 0) {
		proto_socket_path(cfg, "qmgr", false, &path);
		notify_fd = ipc_connect_unix(buf_cstr(&path), &proto_qmgr,
					     QRECEIVE_NOTIFY_TIMEOUT, err);
		buf_deinit(&path);
		if (notify_fd < 0)
			return -1;
	}
	ipc_msg_init(&req, QMGR_NOTIFY, ++reqid);
	ipc_put_str(&req, "queue_id", queue_id);
	rc = ipc_msg_finish(&req, err);
	if (rc == 0) {
		rc = ipc_call(notify_fd, &req, &reply, QRECEIVE_NOTIFY_TIMEOUT, err);
		if (rc == 0 && reply.type != QMGR_NOTIFY_OK)
			rc = err_set(err, "unexpected reply type %u", reply.type);
		ipc_msg_deinit(&reply);
	}
	ipc_msg_deinit(&req);
	if (rc < 0) {
		close(notify_fd);
		notify_fd = -1;
	}
	return rc;
}

void qreceive_notify(struct cfg *cfg, const char *queue_id)
{
	struct err err;

	/* A cached connection may have been closed by a restarted qmgr. */
	if (notify_once(cfg, queue_id, &err) == 0 || notify_once(cfg, queue_id, &err) == 0)
		return;
	log_debug("%s: notify qmgr: %s", queue_id, err.msg);
}

/* The asynchronous connection (event-driven daemons). */
static struct ipc_conn *async_conn;

/* async_on_msg - NOTIFY_OK needs nothing; anything else ends the link. */
static void async_on_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	if (fd >= 0)
		close(fd);
	if (msg->type != QMGR_NOTIFY_OK)
		ipc_reject(conn, "unexpected message type %u from qmgr", msg->type);
}

/* async_on_close - forget the connection; the next notify reconnects. */
static void async_on_close(struct ipc_conn *conn, const char *why, void *arg)
{
	log_debug("qmgr notify connection closed: %s", why);
	ipc_conn_free(&async_conn);
}

/* async_connect - a non-blocking connection to private/qmgr, or -1 (a full
 * listen queue counts as failure: qmgr's scan finds the file anyway). */
static int async_connect(struct cfg *cfg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct buf path = BUF_INIT;
	int fd;

	proto_socket_path(cfg, "qmgr", false, &path);
	if (path.len >= sizeof(sun.sun_path)) {
		buf_deinit(&path);
		return -1;
	}
	memcpy(sun.sun_path, path.data, path.len + 1);
	buf_deinit(&path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		log_debug("notify qmgr: connect %s: %s", sun.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void qreceive_notify_async(struct event_base *base, struct cfg *cfg, const char *queue_id)
{
	static uint32_t reqid;
	struct ipc_msg req;
	struct err err;
	int fd;

	if (async_conn == NULL) {
		if ((fd = async_connect(cfg)) < 0)
			return;
		async_conn = ipc_conn_new(base, fd, &proto_qmgr, "qmgr", async_on_msg,
					  async_on_close, NULL);
	}
	ipc_msg_init(&req, QMGR_NOTIFY, ++reqid);
	ipc_put_str(&req, "queue_id", queue_id);
	if (ipc_msg_finish(&req, &err) < 0 || ipc_send(async_conn, &req, &err) < 0) {
		log_debug("%s: notify qmgr: %s", queue_id, err.msg);
		ipc_conn_free(&async_conn);
	}
	ipc_msg_deinit(&req);
}
