/*
 * postqueue_flush.c - ask the queue manager to retry deferred mail now
 * (postqueue -f, -s SITE, -i ID; sendmail -q): SHOWQ_FLUSH through the
 * showq service, which relays it to qmgr for any authorized user; when
 * showq cannot be reached, QMGR_FLUSH on private/qmgr directly (lib/qflush).
 * Touches:  public/showq, else $queue_directory/private/qmgr (connect).
 * Security: showq checks the caller's uid against authorized_flush_users;
 *           private/ is the mail owner's, so the direct way works for root
 *           and the mail owner only.
 * Errors:   -1 with "cannot flush the mail queue - mail system is down"
 *           and the reason when neither can be reached; showq's refusal
 *           with code POSTQUEUE_E_DENIED.
 * See:      postqueue.h, lib/proto.h "showq" and "qmgr", lib/qflush.h.
 */
#include "sys.h"

#include <unistd.h>

#include "admin/postqueue.h"
#include "err.h"
#include "ipc.h"
#include "proto.h"
#include "qflush.h"
#include "showq_client.h"

int postqueue_flush(struct cfg *cfg, const char *site, const char *queue_id, struct err *err)
{
	struct ipc_msg req, reply;
	int timeout = showq_client_timeout(cfg);
	int fd = showq_client_connect(cfg, err);
	int rc;

	if (fd < 0)
		return qflush_qmgr(cfg, site, queue_id, NULL, err);
	ipc_msg_init(&req, SHOWQ_FLUSH, 1);
	if (site != NULL)
		ipc_put_str(&req, "site", site);
	if (queue_id != NULL)
		ipc_put_str(&req, "queue_id", queue_id);
	rc = ipc_msg_finish(&req, err);
	if (rc == 0)
		rc = ipc_write_msg(fd, &req, timeout, err);
	ipc_msg_deinit(&req);
	if (rc == 0) {
		rc = showq_client_read(fd, 1, timeout, &reply, err);
		if (rc == 0 && reply.type != SHOWQ_FLUSH_OK)
			rc = err_set(err, "showq: unexpected reply type %u", reply.type);
		ipc_msg_deinit(&reply);
	}
	close(fd);
	return rc;
}
