/*
 * postqueue_flush.c - ask the queue manager to retry deferred mail now
 * (postqueue -f, -s SITE, -i ID; sendmail -q): one QMGR_FLUSH request on
 * private/qmgr, answered by QMGR_FLUSH_OK{count}.
 * Touches:  $queue_directory/private/qmgr (connect).
 * Security: private/ is the mail owner's: root or the mail owner only.
 * Errors:   -1 with "cannot flush the mail queue - mail system is down"
 *           and the reason when qmgr cannot be reached or refuses.
 * See:      postqueue.h, lib/proto.h "qmgr".
 */
#include "sys.h"

#include <unistd.h>

#include "admin/postqueue.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "proto.h"

#define FLUSH_TIMEOUT_MS 30000

int postqueue_flush(struct cfg *cfg, const char *site, const char *queue_id, struct err *err)
{
	struct buf path = BUF_INIT;
	struct ipc_msg req, reply;
	char why[ERR_MSG_MAX];
	int fd, rc;

	proto_socket_path(cfg, "qmgr", false, &path);
	fd = ipc_connect_unix(buf_cstr(&path), &proto_qmgr, FLUSH_TIMEOUT_MS, err);
	buf_deinit(&path);
	if (fd < 0) {
		snprintf(why, sizeof(why), "%s", err->msg);
		return err_set(err, "cannot flush the mail queue - mail system is down (%s)", why);
	}
	memset(&reply, 0, sizeof(reply));
	ipc_msg_init(&req, QMGR_FLUSH, 1);
	if (site != NULL)
		ipc_put_str(&req, "site", site);
	if (queue_id != NULL)
		ipc_put_str(&req, "queue_id", queue_id);
	rc = ipc_msg_finish(&req, err);
	if (rc == 0)
		rc = ipc_call(fd, &req, &reply, FLUSH_TIMEOUT_MS, err);
	if (rc == 0 && reply.type != QMGR_FLUSH_OK)
		rc = err_set(err, "unexpected reply type %u", reply.type);
	ipc_msg_deinit(&reply);
	ipc_msg_deinit(&req);
	close(fd);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s", err->msg);
		return err_set(err, "cannot flush the mail queue: %s", why);
	}
	return 0;
}
