/*
 * pop3d_tls.c - the login process's TLS context, and the mail process's
 *               answer to a jailed login process that needs the key.
 * Touches:  login role: the certificate and key files when reachable, else
 *           the mail process's socket (one blocking request at start);
 *           mail role: reads the files for POP3D_TLS_GET.
 * Security: the login process runs chrooted to the queue directory where
 *           the files under $config_directory/tls are out of reach; the
 *           mail process (same uid, outside the jail) reads them and sends
 *           the PEM text over the private socket, which only the mail owner
 *           can connect to.  The key's copies are wiped once loaded/sent.
 *           The context is built from memory by lib/tls_server.c
 *           (tls_server_ctx_new_pem), with exactly the settings of one
 *           built from the files.
 * Errors:   -1 with err from pop3d_tls_init; the mail side answers a
 *           request it cannot serve with IPC_ERROR.
 * See:      docs/pop3d.md "TLS in the jail", lib/tls_server.h.
 */
#include "sys.h"

#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "pop3d/pop3d.h"
#include "safefile.h"
#include "tls_server.h"
#include "xmem.h"

/* POP3D_PEM_MAX - largest certificate chain or key file sent. */
#define POP3D_PEM_MAX (48 * 1024)
/* POP3D_TLS_FETCH_MS - how long a jailed login process waits for the keys. */
#define POP3D_TLS_FETCH_MS 20000

/* fetch_keys - ask the mail process for the PEM text (blocking). */
static SSL_CTX *fetch_keys(struct pop3d_conf *conf, struct err *err)
{
	struct ipc_msg req, reply;
	const void *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	SSL_CTX *ctx = NULL;
	int fd = ipc_connect_unix(conf->mail_socket, &pop3d_proto, POP3D_TLS_FETCH_MS, err);

	if (fd < 0)
		return NULL;
	ipc_msg_init(&req, POP3D_TLS_GET, 1);
	if (ipc_msg_finish(&req, err) == 0 &&
	    ipc_call(fd, &req, &reply, POP3D_TLS_FETCH_MS, err) == 0) {
		if (reply.type != POP3D_TLS_KEYS ||
		    ipc_get(&reply, IPC_STRICT, IPC_DATA("cert", &cert, &cert_len),
			    IPC_DATA("key", &key, &key_len), IPC_END) != 2)
			err_set(err, "malformed TLS_KEYS from %s", conf->mail_socket);
		else
			ctx = tls_server_ctx_new_pem(cert, cert_len, key, key_len, err);
		if (reply.frame.data != NULL)
			explicit_bzero(reply.frame.data, reply.frame.cap);
		if (reply.store.data != NULL)
			explicit_bzero(reply.store.data, reply.store.cap);
	}
	ipc_msg_deinit(&reply);
	ipc_msg_deinit(&req);
	close(fd);
	return ctx;
}

int pop3d_tls_init(struct pop3d_conf *conf, struct err *err)
{
	struct err e1;

	if (conf->tls_level == POP3D_TLS_NONE && !conf->wrapper)
		return 0;
	conf->tls = tls_server_new(conf->cfg, "pop3d", &e1);
	if (conf->tls != NULL) {
		conf->tls_ctx = tls_server_ctx(conf->tls);
		return 0;
	}
	conf->tls_ctx = fetch_keys(conf, err);
	if (conf->tls_ctx != NULL)
		return 0;
	if (conf->wrapper || conf->tls_level == POP3D_TLS_ENCRYPT)
		return err_set(err, "TLS unavailable: %s; %s", e1.msg, err->msg);
	log_warn("TLS unavailable, STLS not offered: %s; %s", e1.msg, err->msg);
	return 0;
}

void pop3d_tls_serve(struct ipc_conn *conn, struct ipc_msg *msg)
{
	struct cfg *cfg = pop3d_conf.cfg;
	const char *cert_file = cfg_get(cfg, "pop3d_tls_cert_file");
	char *cert, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	struct ipc_msg reply;
	struct err err;

	cert = safefile_read(cert_file, POP3D_PEM_MAX, &cert_len, &err);
	if (cert != NULL)
		key = safefile_read(cfg_get(cfg, "pop3d_tls_key_file"), POP3D_PEM_MAX, &key_len,
				    &err);
	if (cert == NULL || key == NULL) {
		free(cert);
		ipc_reject(conn, "TLS files: %s", err.msg);
		return;
	}
	ipc_msg_init(&reply, POP3D_TLS_KEYS, msg->reqid);
	ipc_msg_set_max(&reply, POP3D_IPC_MAX_FRAME);
	ipc_put_data(&reply, "cert", cert, cert_len);
	ipc_put_data(&reply, "key", key, key_len);
	if (ipc_msg_finish(&reply, &err) < 0 || ipc_send(conn, &reply, &err) < 0)
		ipc_reject(conn, "TLS_KEYS: %s", err.msg);
	if (reply.frame.data != NULL)
		explicit_bzero(reply.frame.data, reply.frame.cap);
	ipc_msg_deinit(&reply);
	explicit_bzero(key, key_len);
	free(key);
	free(cert);
}
