/*
 * showq_client.c - the client end of the showq protocol (showq_client.h).
 * Touches:  $queue_directory/public/showq (connect).
 * Input:    showq's replies: a trusted peer, still parsed by lib/ipc.
 * Security: runs as the invoking user; showq decides what the caller may
 *           do from the kernel's peer credentials, not from what we send.
 * Errors:   -1 with err; see showq_client.h.
 */
#include "sys.h"

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "proto.h"
#include "showq_client.h"

/* Longest wait for one step, ms. */
#define SHOWQ_CLIENT_TIMEOUT_MAX (86400 * 1000)

int showq_client_timeout(struct cfg *cfg)
{
	long secs = cfg_get_time(cfg, "showq_timeout");

	if (secs <= 0 || secs > SHOWQ_CLIENT_TIMEOUT_MAX / 1000)
		return SHOWQ_CLIENT_TIMEOUT_MAX;
	return (int)secs * 1000;
}

int showq_client_connect(struct cfg *cfg, struct err *err)
{
	struct buf path = BUF_INIT;
	int fd;

	proto_socket_path(cfg, "showq", true, &path);
	fd = ipc_connect_unix(buf_cstr(&path), &proto_showq, showq_client_timeout(cfg), err);
	buf_deinit(&path);
	return fd;
}

int showq_client_read(int fd, uint32_t reqid, int timeout_ms, struct ipc_msg *reply_r,
		      struct err *err)
{
	const char *why = "(no reason given)";

	if (ipc_read_msg(fd, reply_r, IPC_MAX_FRAME, timeout_ms, err) < 0)
		return -1;
	if (reply_r->type == IPC_ERROR) {
		(void)ipc_get(reply_r, 0, IPC_STR("reason", &why), IPC_END);
		return err_set(err, "%s", why);
	}
	if (reply_r->reqid != reqid)
		return err_set(err, "showq: reply for request %u, expected %u", reply_r->reqid,
			       reqid);
	if (reply_r->type == SHOWQ_DENIED) {
		(void)ipc_get(reply_r, 0, IPC_STR("reason", &why), IPC_END);
		return err_set_code(err, SHOWQ_CLIENT_E_DENIED, "%s", why);
	}
	return 0;
}
