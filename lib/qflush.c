/*
 * qflush.c - one QMGR_FLUSH request to the queue manager on private/qmgr,
 * answered by QMGR_FLUSH_OK{count}: the flush of postqueue -f/-s/-i and
 * sendmail -q, made by showq for users and by the commands themselves
 * when showq is down.
 * Touches:  $queue_directory/private/qmgr (connect).
 * Input:    site and queue_id come from users through showq or the command
 *           line: callers check them with qflush_site_ok and qid_valid.
 * Security: private/ is the mail owner's: only root, the mail owner and
 *           the daemons (showq) reach it.
 * Errors:   -1 with "cannot flush the mail queue ..." and the reason.
 * See:      qflush.h, lib/proto.h "qmgr".
 */
#include "sys.h"

#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "proto.h"
#include "qflush.h"

#define QFLUSH_TIMEOUT_MS 30000

bool qflush_site_ok(const char *site)
{
	size_t n = strlen(site);

	return n > 0 && n <= QFLUSH_SITE_MAX &&
	       strspn(site, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789.-[]:") == n;
}

int qflush_qmgr(struct cfg *cfg, const char *site, const char *queue_id, uint32_t *count_r,
		struct err *err)
{
	struct buf path = BUF_INIT;
	struct ipc_msg req, reply;
	char why[ERR_MSG_MAX];
	uint32_t count = 0;
	int fd, rc, code;

	proto_socket_path(cfg, "qmgr", false, &path);
	fd = ipc_connect_unix(buf_cstr(&path), &proto_qmgr, QFLUSH_TIMEOUT_MS, err);
	buf_deinit(&path);
	if (fd < 0) {
		snprintf(why, sizeof(why), "%s", err->msg);
		code = err->code;
		return err_set_code(err, code,
				    "cannot flush the mail queue - mail system is down (%s)", why);
	}
	memset(&reply, 0, sizeof(reply));
	ipc_msg_init(&req, QMGR_FLUSH, 1);
	if (site != NULL)
		ipc_put_str(&req, "site", site);
	if (queue_id != NULL)
		ipc_put_str(&req, "queue_id", queue_id);
	rc = ipc_msg_finish(&req, err);
	if (rc == 0)
		rc = ipc_call(fd, &req, &reply, QFLUSH_TIMEOUT_MS, err);
	if (rc == 0 && reply.type != QMGR_FLUSH_OK)
		rc = err_set(err, "unexpected reply type %u", reply.type);
	if (rc == 0)
		(void)ipc_get(&reply, 0, IPC_U32("count", &count), IPC_END);
	ipc_msg_deinit(&reply);
	ipc_msg_deinit(&req);
	close(fd);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s", err->msg);
		return err_set(err, "cannot flush the mail queue: %s", why);
	}
	if (count_r != NULL)
		*count_r = count;
	return 0;
}
