/*
 * pop3d.h - folder-private declarations of the POP3 server.  One program,
 * two roles (docs/pop3d.md):
 *   login  (master.cf "pop3d", inet, chroot y): greeting, CAPA, STLS,
 *          USER/PASS, AUTH through the auth service; no mailbox access;
 *   mail   (master.cf "pop3d mail", unix private/pop3d-mail): takes over a
 *          logged-in session from a login process and serves the Maildir
 *          as the mail owner (TRANSACTION and UPDATE states).
 * They talk over lib/ipc protocol "pop3d" (below).
 */
#ifndef TERN_POP3D_H
#define TERN_POP3D_H

#include "sys.h"

#include <sys/socket.h>

#include <openssl/ssl.h>

#include "ipc.h"

struct auth_client;
struct cfg;
struct event_base;
struct tls_server;

/*
 * Protocol "pop3d" version 1 on $queue_directory/private/$pop3d_mail_service,
 * login process -> mail process.
 *
 * POP3D_LOGIN     (carries a descriptor: the client socket, or with TLS one
 *                 end of a socketpair the login process relays through)
 *                 user STR (canonical, from the auth service), token STR
 *                 (the one-time login token the auth service gave with its
 *                 AUTH_OK: the mail process redeems it, AUTH_TOKEN, before
 *                 it opens the mailbox, and refuses the session otherwise),
 *                 client STR
 *                 (address), port U32, tls U32 (1: relayed TLS), method STR
 *                 ("USER" or the SASL mechanism), pending DATA (client bytes
 *                 read after the login command, handled first)
 *   -> POP3D_LOGIN_OK (none): the mail process owns the session now and
 *                 answers the client itself (+OK or -ERR [IN-USE] ...);
 *      or IPC_ERROR reason.
 * POP3D_TLS_GET   (none): a jailed login process cannot read the key files
 *   -> POP3D_TLS_KEYS cert DATA, key DATA (PEM; wiped after sending).
 */
enum pop3d_ipc_type {
	POP3D_LOGIN = IPC_TYPE_FIRST,
	POP3D_LOGIN_OK,
	POP3D_TLS_GET,
	POP3D_TLS_KEYS,
};
extern const struct ipc_proto pop3d_proto;

/* POP3D_IPC_MAX_FRAME - frames carry PEM files and pending input. */
#define POP3D_IPC_MAX_FRAME (1024 * 1024)

enum pop3d_tls_level {
	POP3D_TLS_NONE,
	POP3D_TLS_MAY,
	POP3D_TLS_ENCRYPT,
};

/* The process's settings (main.cf, read once in init). */
struct pop3d_conf {
	struct cfg *cfg;
	struct event_base *base;
	bool mail_role;
	char *hostname;
	char *banner;
	char *mail_socket;  /* path of the mail process's socket */
	char *mailbox_base; /* mail role: $virtual_mailbox_base */
	unsigned int timeout_ms;
	size_t line_max;
	unsigned int failure_limit;
	bool wrapper;	/* implicit TLS on this service */
	bool hide_mode; /* pop3d_delete_mode = hide */
	enum pop3d_tls_level tls_level;
	SSL_CTX *tls_ctx;	  /* login role: NULL when TLS is unavailable */
	struct tls_server *tls;	  /* the owner of tls_ctx when read from files */
	struct auth_client *auth; /* login: logins; mail: login tokens */
};
extern struct pop3d_conf pop3d_conf;

/* pop3d_tls_init - login role: the TLS context from the key files, or,
 * in a jail where they cannot be read, from the mail process
 * (POP3D_TLS_GET).  A level of none needs none; otherwise failure is -1
 * with err (for wrapper mode) or a warning and no STLS. */
int pop3d_tls_init(struct pop3d_conf *conf, struct err *err) ATTR_WARN_UNUSED;
/* pop3d_tls_serve - mail role: answer one POP3D_TLS_GET on conn. */
void pop3d_tls_serve(struct ipc_conn *conn, struct ipc_msg *msg);

/* pop3d_login_accept - login role: a new client connection. */
void pop3d_login_accept(int fd, const struct sockaddr *peer, socklen_t peerlen);
/* pop3d_login_stop - login role: graceful stop, close idle sessions. */
void pop3d_login_stop(void);

/*
 * The TLS relay of the login process (pop3d_proxy.c).  client stays owned
 * by the login session, which forwards its on_data here and reports its
 * end with pop3d_proxy_client_gone; inner_fd (a socketpair end) is owned
 * by the proxy.  done(arg) runs once both sides are closed (the proxy is
 * freed by then).
 */
struct loop_conn;
struct evbuffer;
struct pop3d_proxy;
struct pop3d_proxy *pop3d_proxy_new(struct loop_conn *client, int inner_fd, void (*done)(void *arg),
				    void *arg);
/* pop3d_proxy_client_data - decrypted client input to relay. */
void pop3d_proxy_client_data(struct pop3d_proxy *p, struct evbuffer *in);
/* pop3d_proxy_client_gone - the client connection ended (freed by the
 * caller); the inner side closes once its queue is written. */
void pop3d_proxy_client_gone(struct pop3d_proxy *p);

/* pop3d_mail_accept - mail role: a login process connected. */
void pop3d_mail_accept(int fd);

/* pop3d_trans_start - mail role: serve user's mailbox on fd (owned from
 * here), after feeding pending to the command reader. */
void pop3d_trans_start(int fd, const char *user, const char *client, unsigned int port, bool tls,
		       const void *pending, size_t pending_len);
/* pop3d_trans_stop - mail role: graceful stop (sessions finish). */
void pop3d_trans_stop(void);

/* pop3d_user_maildir - the Maildir of user ("local@domain", lower-cased,
 * each part a safe path component) under base into path_r; -1 with err
 * for a user that cannot name a Maildir. */
int pop3d_user_maildir(const char *base, const char *user, struct buf *path_r,
		       struct err *err) ATTR_WARN_UNUSED;

#endif
