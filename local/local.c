/*
 * local.c - the local delivery agent: a server.h daemon on private/local
 * speaking the "deliver" protocol (lib/proto.h).  For each recipient of a
 * DELIVER_REQUEST it expands aliases (local_expand.c), delivers to Maildirs,
 * files and commands (local_deliver.c, local_command.c), re-injects remote
 * members (local_forward.c), records the outcome in the queue file and the
 * defer/bounce logs, logs a Postfix-style line and answers DELIVER_STATUS.
 * Touches:  $queue_directory/{active,deferred}/ID (read, status bytes),
 *           $queue_directory/{defer,bounce}/ID (append), the Maildirs under
 *           $virtual_mailbox_base, the lookup tables through lib/resolve.
 * Security: runs as the mail owner (master.cf unpriv is always honoured:
 *           every virtual mailbox belongs to the mail owner).  The queue ID
 *           and queue name from qmgr are validated before they reach a
 *           path; a malformed request is rejected and the connection
 *           closed.  One request at a time per process (session_limit 1):
 *           deliveries block on fsync and on commands, so parallelism comes
 *           from master running up to maxproc processes.
 * Errors:   a queue file that cannot be read defers every recipient; each
 *           recipient's result is recorded before it is reported.
 * See:      docs/local.md, lib/proto.h, docs/queue-format.md.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "cfg.h"
#include "defer_log.h"
#include "err.h"
#include "ipc.h"
#include "local/local.h"
#include "log.h"
#include "proto.h"
#include "qfile.h"
#include "qid.h"
#include "resolve.h"
#include "server.h"
#include "tbl.h"
#include "xmem.h"

static struct local_agent agent;

/* lk_* - struct local_lookup over lib/resolve. */
static int lk_virtual_alias(void *ctx, const char *addr, struct buf *value_r, struct err *err)
{
	return resolve_virtual_alias(ctx, addr, value_r, err);
}

static int lk_alias(void *ctx, const char *addr, struct buf *value_r, struct err *err)
{
	return resolve_alias(ctx, addr, value_r, err);
}

static enum resolve_class lk_domain(void *ctx, const char *domain)
{
	return resolve_domain(ctx, domain);
}

/* send_status - one DELIVER_STATUS frame. */
static void send_status(struct ipc_conn *conn, uint32_t reqid, off_t off,
			const struct local_result *r)
{
	struct ipc_msg m;
	struct err err;

	ipc_msg_init(&m, DELIVER_STATUS, reqid);
	ipc_put_u64(&m, "offset", (uint64_t)off);
	ipc_put_u32(&m, "result", (uint32_t)r->result);
	ipc_put_str(&m, "dsn", r->dsn);
	ipc_put_str(&m, "reason", buf_cstr(&r->text));
	if (ipc_msg_finish(&m, &err) < 0 || ipc_send(conn, &m, &err) < 0)
		log_warn("send status: %s", err.msg);
	ipc_msg_deinit(&m);
}

/* on_request - one DELIVER_REQUEST: validate, deliver, answer. */
static void on_request(struct ipc_conn *conn, struct ipc_msg *msg)
{
	const char *qid = NULL, *queue = NULL, *nexthop = "";
	const void *data = NULL;
	size_t len = 0, n = 0;
	off_t *offs = NULL;
	struct ipc_msg done;
	struct err err;

	if (ipc_get(msg, 0, IPC_STR("queue_id", &qid), IPC_STR("queue", &queue),
		    IPC_DATA("offsets", &data, &len), IPC_STR("nexthop", &nexthop), IPC_END) < 3 ||
	    qid == NULL || queue == NULL || data == NULL) {
		ipc_reject(conn, "malformed DELIVER_REQUEST");
		return;
	}
	if (!qid_valid(qid) || (strcmp(queue, "active") != 0 && strcmp(queue, "deferred") != 0)) {
		ipc_reject(conn, "bad queue ID or queue in DELIVER_REQUEST");
		return;
	}
	if (proto_offsets_get(data, len, &offs, &n) < 0) {
		ipc_reject(conn, "bad offsets in DELIVER_REQUEST");
		return;
	}
	local_agent_request(&agent, qid, queue, offs, n, send_status, conn, msg->reqid);
	free(offs);
	ipc_msg_init(&done, DELIVER_DONE, msg->reqid);
	if (ipc_msg_finish(&done, &err) < 0 || ipc_send(conn, &done, &err) < 0)
		log_warn("send done: %s", err.msg);
	ipc_msg_deinit(&done);
}

static void on_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	if (fd >= 0)
		close(fd);
	if (msg->type != DELIVER_REQUEST) {
		ipc_reject(conn, "unexpected message type %u", msg->type);
		return;
	}
	on_request(conn, msg);
}

static void on_close(struct ipc_conn *conn, const char *why, void *arg)
{
	server_session_end();
}

static void local_accept(struct server_ctx *ctx, int fd, const struct sockaddr *peer,
			 socklen_t peerlen, int listener_index)
{
	struct ipc_conn *conn;
	long t = cfg_get_time(ctx->cfg, "ipc_timeout");

	server_session_begin();
	conn = ipc_conn_new(ctx->base, fd, &proto_deliver, "unix:private/local", on_msg, on_close,
			    NULL);
	ipc_conn_set_timeout(conn, (unsigned int)(t > 0 && t < 4000000 ? t * 1000 : 3600000));
}

/* limit - a CFG_INT parameter as unsigned (at least 1). */
static unsigned int limit(struct cfg *cfg, const char *name)
{
	long v = cfg_get_int(cfg, name);

	return v < 1 ? 1 : v > 1000000 ? 1000000 : (unsigned int)v;
}

static int local_init(struct server_ctx *ctx)
{
	struct err err;

	signal(SIGPIPE, SIG_IGN);
	memset(&agent, 0, sizeof(agent));
	agent.cfg = ctx->cfg;
	agent.lim.va_recursion = limit(ctx->cfg, "virtual_alias_recursion_limit");
	agent.lim.va_expansion = limit(ctx->cfg, "virtual_alias_expansion_limit");
	agent.lim.alias_recursion = limit(ctx->cfg, "alias_recursion_limit");
	agent.lim.alias_expansion = limit(ctx->cfg, "alias_expansion_limit");
	if (local_allow_parse(cfg_get(ctx->cfg, "allow_mail_to_commands"),
			      &agent.lim.allow_commands, &err) < 0 ||
	    local_allow_parse(cfg_get(ctx->cfg, "allow_mail_to_files"), &agent.lim.allow_files,
			      &err) < 0) {
		log_error("allow_mail_to_commands/files: %s", err.msg);
		return -1;
	}
	agent.command_time_limit = cfg_get_time(ctx->cfg, "command_time_limit");
	agent.resolver = resolver_new(ctx->cfg, &err);
	if (agent.resolver == NULL) {
		log_error("%s", err.msg);
		return -1;
	}
	agent.ops.virtual_alias = lk_virtual_alias;
	agent.ops.alias = lk_alias;
	agent.ops.domain = lk_domain;
	agent.ops.ctx = agent.resolver;
	tbl_set_reopen_check(cfg_get_time(ctx->cfg, "table_reopen_check"));
	server_set_session_limit(1);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct server_hooks hooks = {
		.name = "local",
		.init = local_init,
		.accept = local_accept,
		.session_limit = 1,
	};

	return server_main(argc, argv, &hooks);
}
