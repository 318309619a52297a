/*
 * sendmail_submit.c - sendmail's client side of the "pickup" protocol: one
 * message as BEGIN (+ RCPTS when the recipients do not fit one frame),
 * CHUNKs and END, answered by PICKUP_OK{queue_id} once the queue file is
 * committed.
 * Touches:  $queue_directory/public/pickup (connect).
 * Security: runs as the invoking user; pickup believes only our uid.
 * Errors:   -1 with the reason; err->code is the sysexits status:
 *           EX_TEMPFAIL when pickup cannot be reached or the queue cannot
 *           take the message, EX_DATAERR when pickup refused what we sent.
 * See:      lib/proto.h "pickup", pickup/pickup.c.
 */
#include "sys.h"

#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "proto.h"
#include "sendmail.h"

bool sendmail_8bit(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] & 0x80)
			return true;
	return false;
}

/* refusal_code - pickup's reasons for refusing data start with these. */
static int refusal_code(const char *reason)
{
	static const char *const data_errs[] = {"bad ",
						"too many",
						"message too large",
						"empty recipient",
						"no recipients",
						"recipient list too long"};
	for (size_t i = 0; i < N_ELEMENTS(data_errs); i++)
		if (strncmp(reason, data_errs[i], strlen(data_errs[i])) == 0)
			return EX_DATAERR;
	return EX_TEMPFAIL;
}

/* send_frame - write one finished message; when the write fails, pickup
 * may have refused an earlier frame: read its IPC_ERROR for the reason. */
static int send_frame(int fd, struct ipc_msg *msg, struct err *err)
{
	struct ipc_msg reply;
	struct err rerr;

	if (ipc_msg_finish(msg, err) < 0) {
		err->code = EX_SOFTWARE;
		return -1;
	}
	if (ipc_write_msg(fd, msg, SENDMAIL_TIMEOUT_MS, err) == 0)
		return 0;
	if (ipc_read_msg(fd, &reply, IPC_MAX_FRAME, 2000, &rerr) == 0 && reply.type == IPC_ERROR) {
		const char *reason = "refused";

		(void)ipc_get(&reply, 0, IPC_STR("reason", &reason), IPC_END);
		err_set_code(err, refusal_code(reason), "pickup: %s", reason);
	} else {
		char why[ERR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		err_set_code(err, EX_TEMPFAIL, "pickup: %s", why);
	}
	ipc_msg_deinit(&reply);
	return -1;
}

/* rcpt_frames - BEGIN's recipients, then RCPTS frames of at most
 * PICKUP_RCPT_DATA_MAX bytes each. */
static int rcpt_frames(int fd, struct ipc_msg *begin, const struct sendmail_msg *m, uint32_t *reqid,
		       struct err *err)
{
	struct buf batch = BUF_INIT;
	struct ipc_msg *msg = begin;
	struct ipc_msg more;
	size_t i = 0;
	int rc = 0;

	while (rc == 0) {
		buf_reset(&batch);
		while (i < m->nrcpt) {
			size_t n = strlen(m->rcpts[i]) + 1;

			if (batch.len > 0 && batch.len + n > PICKUP_RCPT_DATA_MAX)
				break;
			if (n > PICKUP_RCPT_DATA_MAX) {
				rc = err_set_code(err, EX_DATAERR, "recipient address too long");
				break;
			}
			buf_add(&batch, m->rcpts[i], n);
			i++;
		}
		if (rc < 0)
			break;
		/* The last NUL is a separator too many. */
		ipc_put_data(msg, "rcpts", batch.data != NULL ? batch.data : "",
			     batch.len > 0 ? batch.len - 1 : 0);
		rc = send_frame(fd, msg, err);
		if (msg == &more)
			ipc_msg_deinit(&more);
		if (rc < 0 || i >= m->nrcpt)
			break;
		ipc_msg_init(&more, PICKUP_RCPTS, ++*reqid);
		msg = &more;
	}
	buf_deinit(&batch);
	return rc;
}

/* submit_on - the whole exchange on a connected fd. */
static int submit_on(int fd, const struct sendmail_msg *m, struct buf *qid_r, struct err *err)
{
	struct ipc_msg msg, reply;
	uint32_t reqid = 0;
	const char *qid = NULL;
	int rc;

	ipc_msg_init(&msg, PICKUP_BEGIN, ++reqid);
	if (m->sender != NULL)
		ipc_put_str(&msg, "sender", m->sender);
	if (m->flags != 0)
		ipc_put_u32(&msg, "flags", m->flags);
	if (m->notify != 0)
		ipc_put_u32(&msg, "notify", m->notify);
	if (m->envid != NULL)
		ipc_put_str(&msg, "envid", m->envid);
	if (m->fullname != NULL)
		ipc_put_str(&msg, "fullname", m->fullname);
	rc = rcpt_frames(fd, &msg, m, &reqid, err);
	ipc_msg_deinit(&msg);
	for (size_t off = 0; rc == 0 && off < m->len; off += PICKUP_CHUNK_MAX) {
		size_t n = m->len - off < PICKUP_CHUNK_MAX ? m->len - off : PICKUP_CHUNK_MAX;

		ipc_msg_init(&msg, PICKUP_CHUNK, ++reqid);
		ipc_put_data(&msg, "data", m->data + off, n);
		rc = send_frame(fd, &msg, err);
		ipc_msg_deinit(&msg);
	}
	if (rc < 0)
		return -1;
	ipc_msg_init(&msg, PICKUP_END, ++reqid);
	if (ipc_msg_finish(&msg, err) < 0) {
		ipc_msg_deinit(&msg);
		err->code = EX_SOFTWARE;
		return -1;
	}
	/* Not ipc_call: a refusal (IPC_ERROR) may answer any earlier frame. */
	rc = ipc_write_msg(fd, &msg, SENDMAIL_TIMEOUT_MS, err);
	ipc_msg_deinit(&msg);
	memset(&reply, 0, sizeof(reply));
	if (rc == 0)
		rc = ipc_read_msg(fd, &reply, IPC_MAX_FRAME, SENDMAIL_TIMEOUT_MS, err);
	if (rc < 0) {
		err->code = EX_TEMPFAIL;
	} else if (reply.type == IPC_ERROR) {
		const char *reason = "refused";

		(void)ipc_get(&reply, 0, IPC_STR("reason", &reason), IPC_END);
		rc = err_set_code(err, refusal_code(reason), "pickup: %s", reason);
	} else if (reply.type != PICKUP_OK ||
		   ipc_get(&reply, 0, IPC_STR("queue_id", &qid), IPC_END) != 1) {
		rc = err_set_code(err, EX_TEMPFAIL, "pickup: unexpected reply type %u", reply.type);
	} else {
		buf_sets(qid_r, qid);
	}
	ipc_msg_deinit(&reply);
	return rc;
}

int sendmail_submit(struct cfg *cfg, const struct sendmail_msg *m, struct buf *qid_r,
		    struct err *err)
{
	struct buf path = BUF_INIT;
	int fd, rc;

	proto_socket_path(cfg, "pickup", true, &path);
	fd = ipc_connect_unix(buf_cstr(&path), &proto_pickup, SENDMAIL_TIMEOUT_MS, err);
	if (fd < 0) {
		char why[ERR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		err_set_code(err, EX_TEMPFAIL, "cannot connect to %s (is tern running?): %s",
			     buf_cstr(&path), why);
		buf_deinit(&path);
		return -1;
	}
	buf_deinit(&path);
	rc = submit_on(fd, m, qid_r, err);
	close(fd);
	return rc;
}
