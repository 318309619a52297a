/*
 * smtpd.c - the SMTP server daemon: main, the server.h hooks, the list of
 *           open sessions and the per-client session counts.
 * Touches:  main.cf (through server.h), the tables named there (through
 *           lib/resolve and lib/tbl), the TLS certificate and key (through
 *           smtpd_tls.c), the auth service's socket (lib/auth_client), the
 *           client sockets handed over by master; the commit threads
 *           (lib/workq, smtpd_commit_threads) that smtpd_queue.c uses;
 *           the resolver for client names (smtpd_peer.c).
 * Security: runs as mail_owner (server_main drops privileges first); every
 *           byte from a client is untrusted and bounded (docs/smtpd.md).
 * Errors:   bad settings are fatal at start (master backs off); a client's
 *           trouble ends that session only.
 * See:      docs/smtpd.md, lib/server.h, RFC 5321.
 */
#include "sys.h"

#include <unistd.h>

#include "auth_client.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "netmatch.h"
#include "resolve.h"
#include "server.h"
#include "smtpd.h"
#include "str.h"
#include "tbl.h"
#include "workq.h"
#include "xmem.h"

/* CLIENT_BUCKETS - hash buckets of the per-client session counts. */
#define CLIENT_BUCKETS 1024

struct client_count {
	struct client_count *next;
	unsigned int n;
	char addr[];
};

static struct smtpd_conf conf;
static struct smtpd_session *sessions;
static struct client_count *clients[CLIENT_BUCKETS];

/* client_bucket - FNV-1a of the address. */
static struct client_count **client_bucket(const char *addr)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)addr; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return &clients[h % CLIENT_BUCKETS];
}

/* client_inc - one more session from addr; the new count. */
static unsigned int client_inc(const char *addr)
{
	struct client_count **b = client_bucket(addr), *c;
	size_t len = strlen(addr);

	for (c = *b; c != NULL; c = c->next) {
		if (strcmp(c->addr, addr) == 0)
			return ++c->n;
	}
	c = xmalloc(sizeof(*c) + len + 1);
	memcpy(c->addr, addr, len + 1);
	c->n = 1;
	c->next = *b;
	*b = c;
	return 1;
}

/* client_dec - one session from addr less; the entry goes at zero. */
static void client_dec(const char *addr)
{
	struct client_count **pp = client_bucket(addr), *c;

	for (; (c = *pp) != NULL; pp = &c->next) {
		if (strcmp(c->addr, addr) == 0) {
			if (--c->n == 0) {
				*pp = c->next;
				free(c);
			}
			return;
		}
	}
}

void smtpd_session_unlink(struct smtpd_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	client_dec(s->addr);
}

/* get_uint - a CFG_INT parameter that must fit an unsigned int. */
static unsigned int get_uint(struct cfg *cfg, const char *name)
{
	long v = cfg_get_int(cfg, name);

	if (v < 0 || v > (long)UINT32_MAX / 2)
		log_fatal("%s = %ld: out of range", name, v);
	return (unsigned int)v;
}

/* get_msec - a CFG_TIME parameter in milliseconds. */
static unsigned int get_msec(struct cfg *cfg, const char *name)
{
	long v = cfg_get_time(cfg, name);

	if (v < 0 || v > 86400L * 7)
		log_fatal("%s: %ld seconds is out of range", name, v);
	return (unsigned int)v * 1000u;
}

/* get_nets - a CFG_LIST of networks. */
static struct netmatch *get_nets(struct cfg *cfg, const char *name)
{
	char **nets = cfg_get_list(cfg, name, NULL);
	struct netmatch *nm;
	struct err err;

	nm = netmatch_new(nets, &err);
	str_split_free(&nets);
	if (nm == NULL)
		log_fatal("%s: %s", name, err.msg);
	return nm;
}

/* tls_auth_init - TLS, AUTH and submission settings. */
static int tls_auth_init(struct server_ctx *ctx)
{
	struct cfg *cfg = ctx->cfg;
	const char *level = cfg_get(cfg, "smtpd_tls_security_level");
	char **maps;
	size_t n = 0;
	struct err err;

	if (strcmp(level, "none") == 0 || *level == '\0')
		conf.tls_level = SMTPD_TLS_NONE;
	else if (strcmp(level, "may") == 0)
		conf.tls_level = SMTPD_TLS_MAY;
	else if (strcmp(level, "encrypt") == 0)
		conf.tls_level = SMTPD_TLS_ENCRYPT;
	else
		log_fatal("smtpd_tls_security_level = %s: use none, may or encrypt", level);
	conf.tls_wrapper = cfg_get_bool(cfg, "smtpd_tls_wrappermode");
	conf.tls_auth_only = cfg_get_bool(cfg, "smtpd_tls_auth_only");
	conf.tls_exempt = get_nets(cfg, "smtpd_tls_exempt_networks");
	conf.sasl_enable = cfg_get_bool(cfg, "smtpd_sasl_auth_enable");
	conf.sasl_required = cfg_get_bool(cfg, "smtpd_sasl_auth_required");
	conf.hide_client = cfg_get_bool(cfg, "smtpd_hide_client_address");
	if (conf.sasl_required && !conf.sasl_enable)
		log_fatal("smtpd_sasl_auth_required = yes needs smtpd_sasl_auth_enable = yes");
	if (smtpd_tls_init(&conf, &err) < 0) {
		log_error("%s", err.msg);
		return -1;
	}
	if (conf.sasl_enable)
		conf.auth = auth_client_new(ctx->base, cfg);
	maps = cfg_get_list(cfg, "smtpd_sender_login_maps", &n);
	conf.sender_maps = n > 0 ? xcalloc(n, sizeof(*conf.sender_maps)) : NULL;
	for (size_t i = 0; i < n; i++) {
		conf.sender_maps[i] =
			tbl_open(maps[i], cfg_get(cfg, "default_database_type"), TBL_RDONLY, &err);
		if (conf.sender_maps[i] == NULL) {
			log_error("smtpd_sender_login_maps: %s", err.msg);
			str_split_free(&maps);
			return -1;
		}
		conf.n_sender_maps++;
	}
	str_split_free(&maps);
	return 0;
}

/* peer_init - client name lookups (smtpd_peer.c). */
static int peer_init(struct cfg *cfg)
{
	bool lookup = cfg_get_bool(cfg, "smtpd_peername_lookup");
	unsigned int timeout_ms = get_msec(cfg, "smtpd_peername_timeout");
	size_t n = 0;
	char **servers = cfg_get_list(cfg, "dns_servers", &n);
	struct err err;
	int rc;

	if (lookup && timeout_ms == 0)
		log_fatal("smtpd_peername_timeout must be more than 0");
	rc = smtpd_peer_init(&conf, servers, n, lookup, timeout_ms, &err);
	str_split_free(&servers);
	if (rc < 0)
		log_error("client name lookups: %s", err.msg);
	return rc;
}

/* smtpd_init - read the settings, open the tables. */
static int smtpd_init(struct server_ctx *ctx)
{
	struct cfg *cfg = ctx->cfg;
	const char *bare = cfg_get(cfg, "smtpd_forbid_bare_newline");
	struct err err;
	unsigned int threads;
	long size;

	conf.cfg = cfg;
	conf.base = ctx->base;
	conf.hostname = xstrdup(cfg_get(cfg, "myhostname"));
	conf.origin = xstrdup(*cfg_get(cfg, "myorigin") != '\0' ? cfg_get(cfg, "myorigin")
								: conf.hostname);
	conf.banner = xstrdup(cfg_get(cfg, "smtpd_banner"));
	conf.queue_dir = xstrdup(cfg_get(cfg, "queue_directory"));
	size = cfg_get_int(cfg, "message_size_limit");
	conf.size_limit = size > 0 ? (uint64_t)size : 0;
	conf.rcpt_limit = get_uint(cfg, "smtpd_recipient_limit");
	conf.soft_limit = get_uint(cfg, "smtpd_soft_error_limit");
	conf.hard_limit = get_uint(cfg, "smtpd_hard_error_limit");
	conf.error_sleep_ms = get_msec(cfg, "smtpd_error_sleep_time");
	conf.timeout_ms = get_msec(cfg, "smtpd_timeout");
	conf.line_max = get_uint(cfg, "line_length_limit");
	conf.conn_limit = get_uint(cfg, "smtpd_client_connection_count_limit");
	{
		char **nets = cfg_get_list(cfg, "smtpd_client_event_limit_exceptions", NULL);

		conf.conn_limit_exempt = netmatch_new(nets, &err);
		str_split_free(&nets);
		if (conf.conn_limit_exempt == NULL)
			log_fatal("smtpd_client_event_limit_exceptions: %s", err.msg);
	}
	conf.vrfy_disabled = cfg_get_bool(cfg, "disable_vrfy_command");
	conf.expn_enabled = cfg_get_bool(cfg, "smtpd_expn_enable");
	if (strcmp(bare, "reject") == 0)
		conf.bare_lf_reject = true;
	else if (strcmp(bare, "normalize") != 0)
		log_fatal("smtpd_forbid_bare_newline = %s: use normalize or reject", bare);
	if (conf.line_max < 512)
		log_fatal("line_length_limit = %zu: must be at least 512", conf.line_max);
	if (conf.timeout_ms == 0)
		log_fatal("smtpd_timeout must be more than 0");
	if (conf.hard_limit == 0)
		conf.hard_limit = 1;
	conf.resolver = resolver_new(cfg, &err);
	if (conf.resolver == NULL) {
		log_error("cannot open the address tables: %s", err.msg);
		return -1;
	}
	if (tls_auth_init(ctx) < 0)
		return -1;
	threads = get_uint(cfg, "smtpd_commit_threads");
	if (threads > WORKQ_MAX_THREADS)
		log_fatal("smtpd_commit_threads = %u: at most %d", threads, WORKQ_MAX_THREADS);
	conf.commit_wq = workq_new(ctx->base, threads);
	server_set_session_limit(get_uint(cfg, "smtpd_max_sessions"));
	return peer_init(cfg);
}

/* smtpd_accept - a new client: count it, greet or refuse it. */
static void smtpd_accept(struct server_ctx *ctx, int fd, const struct sockaddr *peer,
			 socklen_t peerlen, int listener_index)
{
	struct smtpd_session *s = xcalloc(1, sizeof(*s));
	struct buf host = BUF_INIT, refuse = BUF_INIT;
	struct err err;
	unsigned int n;

	s->conf = &conf;
	if (peerlen > sizeof(s->sa))
		peerlen = sizeof(s->sa);
	memcpy(&s->sa, peer, peerlen);
	s->salen = peerlen;
	if (loop_addr_format(peer, peerlen, &host, &s->port, &err) < 0)
		buf_sets(&host, "unknown");
	snprintf(s->addr, sizeof(s->addr), "%s", buf_cstr(&host));
	buf_deinit(&host);
	server_session_begin();
	n = client_inc(s->addr);
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
	if (server_stopping()) {
		buf_printf(&refuse, "421 4.3.2 %s Service shutting down", conf.hostname);
	} else if (conf.conn_limit > 0 && n > conf.conn_limit &&
		   !netmatch_sockaddr(conf.conn_limit_exempt, peer)) {
		s->too_many = n; /* logged with the client's name */
		buf_printf(&refuse, "421 4.7.0 %s Error: too many connections from %s",
			   conf.hostname, s->addr);
	}
	smtpd_session_start(s, fd, refuse.len > 0 ? buf_cstr(&refuse) : NULL);
	buf_deinit(&refuse);
}

/* smtpd_stop - graceful stop (reload): every session runs to its end. */
static void smtpd_stop(struct server_ctx *ctx)
{
	/* Nothing to do: as with Postfix, a reload never cuts a session.  The
	 * skeleton has closed the listeners; each session runs until QUIT or
	 * $smtpd_timeout, and the process exits with the last one (a session
	 * with a commit in flight ends only when the commit is over). */
	log_debug("graceful stop: %u session(s) will finish", server_sessions());
}

int main(int argc, char **argv)
{
	static const struct server_hooks hooks = {
		.name = "smtpd",
		.init = smtpd_init,
		.accept = smtpd_accept,
		.stop = smtpd_stop,
		.session_limit = 1000,
	};

	return server_main(argc, argv, &hooks);
}
