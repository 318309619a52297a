/*
 * postqueue_show.c - list the mail queue as Postfix's mailq does (-p) or as
 * JSON lines (-j): through the showq service when it answers, else
 * straight from the queue directories (lib/qlist) when the caller may read
 * them, as Postfix's postqueue does with the mail system down.
 * Touches:  public/showq (connect); with showq down, reads
 *           $queue_directory/{incoming,active,deferred,hold,defer}.
 * Input:    the listing bytes showq sends are written out as they come.
 * Security: no privileges of its own: showq checks the caller's uid; the
 *           direct listing needs read access to the queue (root or the
 *           mail owner).
 * Errors:   -1 with err (postqueue.h lists the codes); nothing is written
 *           before the request was accepted.
 * See:      postqueue.h, lib/qlist.h, Postfix showq(8) and postqueue(1).
 */
#include "sys.h"

#include <errno.h>
#include <unistd.h>

#include "admin/postqueue.h"
#include "cfg.h"
#include "cmd.h"
#include "err.h"
#include "ipc.h"
#include "proto.h"
#include "qlist.h"
#include "showq_client.h"

/* show_direct - showq is down (why): list from the queue directories. */
static int show_direct(struct cfg *cfg, bool json, FILE *out, const char *why, struct err *err)
{
	struct qlist *ql = qlist_open(cfg_get(cfg, "queue_directory"), json, err);
	int rc;

	if (ql == NULL && err->code == EACCES)
		return err_set_code(err, POSTQUEUE_E_DOWN,
				    "cannot list the mail queue - mail system is down (%s)", why);
	if (ql == NULL)
		return -1;
	fprintf(stderr, "%s: warning: mail system is down -- accessing the queue directly\n",
		cmd_prog());
	rc = qlist_write(ql, out, err);
	qlist_free(&ql);
	return rc;
}

/* show_showq - send LIST on fd and copy the listing to out. */
static int show_showq(int fd, int timeout, bool json, FILE *out, struct err *err)
{
	struct ipc_msg req, reply;
	const void *data;
	size_t len;
	int rc;

	ipc_msg_init(&req, SHOWQ_LIST, 1);
	ipc_put_u32(&req, "format", json ? SHOWQ_FORMAT_JSON : SHOWQ_FORMAT_TEXT);
	rc = ipc_msg_finish(&req, err);
	if (rc == 0)
		rc = ipc_write_msg(fd, &req, timeout, err);
	ipc_msg_deinit(&req);
	while (rc == 0) {
		rc = showq_client_read(fd, 1, timeout, &reply, err);
		if (rc == 0 && reply.type == SHOWQ_END) {
			ipc_msg_deinit(&reply);
			break;
		}
		if (rc == 0 &&
		    (reply.type != SHOWQ_DATA ||
		     ipc_get(&reply, IPC_STRICT, IPC_DATA("text", &data, &len), IPC_END) != 1))
			rc = err_set(err, "showq: unexpected reply type %u", reply.type);
		if (rc == 0 && fwrite(data, 1, len, out) != len)
			rc = err_set_code(err, errno, "write error: %s", strerror(errno));
		ipc_msg_deinit(&reply);
	}
	if (rc == 0 && fflush(out) != 0)
		rc = err_set_code(err, errno, "write error: %s", strerror(errno));
	return rc;
}

int postqueue_show(struct cfg *cfg, bool json, FILE *out, struct err *err)
{
	char why[ERR_MSG_MAX];
	int fd = showq_client_connect(cfg, err);
	int rc;

	if (fd < 0) {
		snprintf(why, sizeof(why), "%s", err->msg);
		return show_direct(cfg, json, out, why, err);
	}
	rc = show_showq(fd, showq_client_timeout(cfg), json, out, err);
	close(fd);
	return rc;
}
