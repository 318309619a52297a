/*
 * local_forward.c - re-inject a copy of a message for the remote members
 * of an expansion (a forwarding alias, a mailing list, a virtual alias to
 * another host): one new queue file with the same content, a
 * Delivered-To: header naming the expanded address (so a loop through
 * other hosts comes back recognisable), the expansion's envelope sender
 * (owner-NAME for lists) and the member addresses as recipients.
 * Touches:  $queue_directory/incoming and active through lib/qreceive; the
 *           original queue file (read).
 * Security: the addresses come from the expansion (canonical, checked by
 *           lib/addr); the queue writer refuses control bytes.
 * Errors:   -1 with err; the new file is then removed (the caller defers
 *           the recipient and tries the whole expansion again later).
 * See:      docs/local.md "Forwarding", lib/qreceive.h.
 */
#include "sys.h"

#include <sys/time.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "local/local.h"
#include "qfile.h"
#include "qreceive.h"

int local_forward(struct cfg *cfg, const struct local_msg *msg, const char *orig,
		  const char *sender, char **rcpts, size_t n, struct buf *id_r, struct err *err)
{
	struct qreceive *q = qreceive_begin(cfg_get(cfg, "queue_directory"), err);
	struct qfile_writer *w;
	struct local_content c;
	struct buf chunk = BUF_INIT;
	struct timeval now;
	int more, rc = -1;

	if (q == NULL)
		return -1;
	w = qreceive_writer(q);
	gettimeofday(&now, NULL);
	qfile_writer_arrival(w, &now);
	qfile_writer_flags(w, msg->env->flags);
	if (msg->env->envid != NULL)
		qfile_writer_envid(w, msg->env->envid);
	qfile_writer_sender(w, sender);
	qfile_writer_client(w, NULL, NULL, 0, NULL, "local");
	for (size_t i = 0; i < n; i++)
		qfile_writer_rcpt(w, rcpts[i], NULL, NULL, 0);
	buf_printf(&chunk, "Delivered-To: %s\n", orig);
	qfile_writer_content(w, chunk.data, chunk.len);
	local_content_open(&c, msg);
	while ((more = local_content_next(&c, &chunk, err)) > 0)
		qfile_writer_content(w, chunk.data, chunk.len);
	local_content_close(&c);
	if (more == 0 && qreceive_commit(q, err) == 0) {
		buf_sets(id_r, qreceive_id(q));
		qreceive_notify(cfg, qreceive_id(q));
		rc = 0;
	}
	qreceive_free(&q);
	buf_deinit(&chunk);
	return rc;
}
