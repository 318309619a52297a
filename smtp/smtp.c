/*
 * smtp.c - the smtp delivery agent: a server.h daemon on private/smtp
 * speaking the "deliver" protocol (lib/proto.h) with qmgr, and SMTP with
 * the rest of the Internet.  Event-driven: one process runs many
 * deliveries at once (one per qmgr connection), each through DNS
 * (lib/dns), sessions (smtp_session.c) and outbound TLS (lib/tls_client).
 * Touches:  $queue_directory/{active,deferred}/ID (read, status bytes),
 *           $queue_directory/{defer,bounce}/ID (append), the network.
 * Security: runs as the mail owner, never as root; every byte from a
 *           remote server is untrusted (smtp_reply.c parses it); the queue
 *           ID and queue name from qmgr are validated before they reach a
 *           path; a malformed request is rejected and the connection
 *           closed.
 * Errors:   bad configuration (TLS level, CA file, dns_servers) is fatal
 *           at start; everything after that is per delivery.
 * See:      docs/smtp.md, lib/proto.h, smtp.h.
 */
#include "sys.h"

#include <signal.h>
#include <strings.h>
#include <unistd.h>

#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "qid.h"
#include "server.h"
#include "smtp/smtp.h"
#include "str.h"
#include "tbl.h"
#include "xmem.h"

static struct smtp_agent agent;

static void on_msg(struct ipc_conn *conn, struct ipc_msg *msg, int fd, void *arg)
{
	const char *qid = NULL, *queue = NULL, *nexthop = "";
	const void *data = NULL;
	size_t len = 0, n = 0;
	off_t *offs = NULL;

	if (fd >= 0)
		close(fd);
	if (msg->type != DELIVER_REQUEST) {
		ipc_reject(conn, "unexpected message type %u", msg->type);
		return;
	}
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
	if (strlen(nexthop) > 1000 || !qfile_text_ok(nexthop, strlen(nexthop))) {
		ipc_reject(conn, "bad nexthop in DELIVER_REQUEST");
		return;
	}
	if (proto_offsets_get(data, len, &offs, &n) < 0) {
		ipc_reject(conn, "bad offsets in DELIVER_REQUEST");
		return;
	}
	smtp_req_start(&agent, conn, msg->reqid, qid, queue, nexthop, offs, n);
	free(offs);
}

static void on_close(struct ipc_conn *conn, const char *why, void *arg)
{
	smtp_req_ipc_gone(conn);
	server_session_end();
}

static void smtp_accept(struct server_ctx *ctx, int fd, const struct sockaddr *peer,
			socklen_t peerlen, int listener_index)
{
	struct ipc_conn *conn;
	long t = cfg_get_time(ctx->cfg, "ipc_timeout");

	server_session_begin();
	conn = ipc_conn_new(ctx->base, fd, &proto_deliver, "unix:private/smtp", on_msg, on_close,
			    NULL);
	ipc_conn_set_timeout(conn, (unsigned int)(t > 0 && t < 4000000 ? t * 1000 : 3600000));
}

/* msec - a CFG_TIME parameter in milliseconds (capped at a day). */
static unsigned int msec(struct cfg *cfg, const char *name)
{
	long v = cfg_get_time(cfg, name);

	return v <= 0 ? 0 : v > 86400 ? 86400000u : (unsigned int)v * 1000u;
}

/* count - a CFG_INT parameter as unsigned, capped. */
static unsigned int count(struct cfg *cfg, const char *name, unsigned int max)
{
	long v = cfg_get_int(cfg, name);

	return v < 0 ? 0 : v > (long)max ? max : (unsigned int)v;
}

/* families - which address families inet_protocols allows. */
static void families(struct cfg *cfg, bool *v4_r, bool *v6_r)
{
	size_t n = 0;
	char **list = cfg_get_list(cfg, "inet_protocols", &n);

	*v4_r = *v6_r = false;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(list[i], "all") == 0)
			*v4_r = *v6_r = true;
		else if (strcasecmp(list[i], "ipv4") == 0)
			*v4_r = true;
		else if (strcasecmp(list[i], "ipv6") == 0)
			*v6_r = true;
	}
	if (!*v4_r && !*v6_r)
		*v4_r = true;
	str_split_free(&list);
}

static int smtp_init(struct server_ctx *ctx)
{
	struct cfg *cfg = ctx->cfg;
	struct smtp_params *p = &agent.p;
	struct err err;
	char **servers;
	size_t nserv = 0;
	bool v4, v6;
	const char *helo = cfg_get(cfg, "smtp_helo_name");

	signal(SIGPIPE, SIG_IGN);
	memset(&agent, 0, sizeof(agent));
	agent.cfg = cfg;
	agent.base = ctx->base;
	agent.queue_dir = xstrdup(cfg_get(cfg, "queue_directory"));
	p->port = count(cfg, "smtp_tcp_port", 65535);
	if (p->port == 0)
		p->port = 25;
	p->mx_limit = count(cfg, "smtp_mx_address_limit", 1000);
	p->reuse_limit = count(cfg, "smtp_connection_reuse_count_limit", 1000000);
	p->t_connect = msec(cfg, "smtp_connect_timeout");
	p->t_helo = msec(cfg, "smtp_helo_timeout");
	p->t_starttls = msec(cfg, "smtp_starttls_timeout");
	p->t_mail = msec(cfg, "smtp_mail_timeout");
	p->t_rcpt = msec(cfg, "smtp_rcpt_timeout");
	p->t_data_init = msec(cfg, "smtp_data_init_timeout");
	p->t_data_xfer = msec(cfg, "smtp_data_xfer_timeout");
	p->t_data_done = msec(cfg, "smtp_data_done_timeout");
	p->t_quit = msec(cfg, "smtp_quit_timeout");
	p->t_cache = msec(cfg, "smtp_connection_cache_time_limit");
	p->helo_name = xstrdup(helo[0] != '\0' ? helo : "localhost");
	p->myhostname = xstrdup(cfg_get(cfg, "myhostname"));
	p->bind4 = xstrdup(cfg_get(cfg, "smtp_bind_address"));
	p->bind6 = xstrdup(cfg_get(cfg, "smtp_bind_address6"));
	if (tls_level_parse(cfg_get(cfg, "smtp_tls_security_level"), &p->tls_level) < 0) {
		log_error("smtp_tls_security_level: unknown level \"%s\"",
			  cfg_get(cfg, "smtp_tls_security_level"));
		return -1;
	}
	if (p->tls_level != TLS_LEV_NONE) {
		agent.tls = tls_client_ctx_new(cfg_get(cfg, "smtp_tls_CAfile"),
					       cfg_get(cfg, "smtp_tls_CApath"), &err);
		if (agent.tls == NULL) {
			log_error("%s", err.msg);
			return -1;
		}
	}
	families(cfg, &v4, &v6);
	servers = cfg_get_list(cfg, "dns_servers", &nserv);
	agent.dns = dns_new(ctx->base, servers, nserv, cfg_get(cfg, "dns_trust_anchor_file"), v4,
			    v6, msec(cfg, "dns_timeout"), &err);
	str_split_free(&servers);
	if (agent.dns == NULL) {
		log_error("%s", err.msg);
		return -1;
	}
	tbl_set_reopen_check(cfg_get_time(cfg, "table_reopen_check"));
	if (smtp_sasl_init(&agent, cfg, &err) < 0) {
		log_error("%s", err.msg);
		return -1;
	}
	server_set_session_limit(count(cfg, "smtp_max_sessions", 100000));
	return 0;
}

/* smtp_stop - a graceful stop: close the idle cached sessions. */
static void smtp_stop(struct server_ctx *ctx)
{
	while (agent.cache != NULL) {
		struct smtp_sess *s = agent.cache;

		smtp_cache_remove(&agent, s);
		smtp_sess_abort(&s);
	}
}

int main(int argc, char **argv)
{
	static const struct server_hooks hooks = {
		.name = "smtp",
		.init = smtp_init,
		.accept = smtp_accept,
		.stop = smtp_stop,
		.session_limit = 1000,
	};

	return server_main(argc, argv, &hooks);
}
