/*
 * pop3d.c - the POP3 server daemon: main, the server.h hooks, the role
 *           choice (login or mail) and the settings both roles share.
 * Touches:  main.cf (through server.h); the auth service; login role:
 *           the mail process's socket; mail role: the Maildirs.
 * Security: runs as mail_owner.  The login role is meant to run chrooted
 *           to the queue directory (master.cf chroot column "y"), where no
 *           Maildir is reachable; in that jail $queue_directory is "/".
 *           The mail role runs outside the jail and parses nothing before
 *           a login process vouched for the user with a one-time token
 *           that the auth service confirms (docs/pop3d.md).
 * Errors:   bad settings are fatal at start (master backs off); a client's
 *           trouble ends that session only.
 * See:      docs/pop3d.md, lib/server.h, RFC 1939.
 */
#include "sys.h"

#include <errno.h>
#include <sys/stat.h>

#include "auth_client.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "pop3d/pop3d.h"
#include "safefile.h"
#include "server.h"
#include "str.h"
#include "tls_server.h"
#include "xmem.h"

static const uint16_t pop3d_fd_types[] = {POP3D_LOGIN};
const struct ipc_proto pop3d_proto = {"pop3d", 1, pop3d_fd_types, 1};

struct pop3d_conf pop3d_conf;

/* get_uint - a CFG_INT parameter within [min, max]. */
static unsigned int get_uint(struct cfg *cfg, const char *name, long min, long max)
{
	long v = cfg_get_int(cfg, name);

	if (v < min || v > max)
		log_fatal("%s = %ld: must be between %ld and %ld", name, v, min, max);
	return (unsigned int)v;
}

/* jail_check - in the login jail (chroot to the queue directory) the
 * configured queue path does not exist but private/ does at "/": make
 * $queue_directory "/" so socket paths resolve inside the jail. */
static void jail_check(struct cfg *cfg)
{
	struct stat st;
	struct err err;

	if (stat(cfg_get(cfg, "queue_directory"), &st) == 0 || errno != ENOENT ||
	    stat("/private", &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	if (cfg_set(cfg, "queue_directory", "/", &err) < 0)
		log_fatal("%s", err.msg);
	log_debug("running in the queue directory jail");
}

int pop3d_user_maildir(const char *base, const char *user, struct buf *path_r, struct err *err)
{
	const char *at = strrchr(user, '@');
	char *local, *domain;
	int rc = 0;

	if (at == NULL || at == user || at[1] == '\0')
		return err_set(err, "user %s is not local@domain", user);
	local = str_lower(xstrndup(user, (size_t)(at - user)));
	domain = str_lower(xstrdup(at + 1));
	if (!safefile_component_ok(local) || !safefile_component_ok(domain))
		rc = err_set(err, "user %s cannot name a Maildir", user);
	else {
		buf_reset(path_r);
		buf_printf(path_r, "%s/%s/%s", base, domain, local);
	}
	free(local);
	free(domain);
	return rc;
}

/* pop3d_init - read the settings and make the auth client (logins, or
 * login tokens); the login role also sets up TLS. */
static int pop3d_init(struct server_ctx *ctx)
{
	struct cfg *cfg = ctx->cfg;
	struct pop3d_conf *c = &pop3d_conf;
	const char *level, *mode;
	struct err err;
	long t;

	c->cfg = cfg;
	c->base = ctx->base;
	if (ctx->argc > 1 || (ctx->argc == 1 && strcmp(ctx->argv[0], "mail") != 0))
		log_fatal("usage: pop3d [mail] (master.cf arguments)");
	c->mail_role = ctx->argc == 1;
	if (!c->mail_role)
		jail_check(cfg);
	c->hostname = xstrdup(cfg_get(cfg, "myhostname"));
	c->banner = xstrdup(cfg_get(cfg, "pop3d_banner"));
	c->mail_socket = xasprintf("%s/private/%s", cfg_get(cfg, "queue_directory"),
				   cfg_get(cfg, "pop3d_mail_service"));
	c->mailbox_base = xstrdup(cfg_get(cfg, "virtual_mailbox_base"));
	t = cfg_get_time(cfg, "pop3d_timeout");
	if (t <= 0 || t > 86400)
		log_fatal("pop3d_timeout = %lds: must be between 1s and 1d", t);
	c->timeout_ms = (unsigned int)t * 1000u;
	c->line_max = get_uint(cfg, "pop3d_line_length_limit", 255, 65536);
	c->failure_limit = get_uint(cfg, "pop3d_auth_failure_limit", 1, 1000);
	c->wrapper = cfg_get_bool(cfg, "pop3d_tls_wrappermode");
	mode = cfg_get(cfg, "pop3d_delete_mode");
	if (strcmp(mode, "hide") == 0)
		c->hide_mode = true;
	else if (strcmp(mode, "delete") != 0)
		log_fatal("pop3d_delete_mode = %s: use delete or hide", mode);
	level = cfg_get(cfg, "pop3d_tls_security_level");
	if (strcmp(level, "none") == 0)
		c->tls_level = POP3D_TLS_NONE;
	else if (strcmp(level, "may") == 0)
		c->tls_level = POP3D_TLS_MAY;
	else if (strcmp(level, "encrypt") == 0)
		c->tls_level = POP3D_TLS_ENCRYPT;
	else
		log_fatal("pop3d_tls_security_level = %s: use none, may or encrypt", level);
	server_set_session_limit(get_uint(cfg, "pop3d_max_sessions", 1, 100000));
	c->auth = auth_client_new(ctx->base, cfg);
	if (c->mail_role)
		return 0;
	if (pop3d_tls_init(c, &err) < 0)
		log_fatal("%s", err.msg);
	return 0;
}

/* pop3d_accept - a client (login role) or a login process (mail role). */
static void pop3d_accept(struct server_ctx *ctx, int fd, const struct sockaddr *peer,
			 socklen_t peerlen, int listener_index)
{
	if (pop3d_conf.mail_role)
		pop3d_mail_accept(fd);
	else
		pop3d_login_accept(fd, peer, peerlen);
}

/* pop3d_stop - graceful stop: idle sessions go, busy ones finish. */
static void pop3d_stop(struct server_ctx *ctx)
{
	if (pop3d_conf.mail_role)
		pop3d_trans_stop();
	else
		pop3d_login_stop();
}

int main(int argc, char **argv)
{
	static const struct server_hooks hooks = {
		.name = "pop3d",
		.init = pop3d_init,
		.accept = pop3d_accept,
		.stop = pop3d_stop,
	};

	return server_main(argc, argv, &hooks);
}
