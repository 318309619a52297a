/*
 * master_listen.c - master's listening sockets: inet per inet_interfaces and
 *                   inet_protocols (or the host in the service name), unix
 *                   in $queue_directory/private or public.
 * Touches:  sockets, $queue_directory/{private,public} and the socket files
 *           in them (created, chmod'ed, chown'ed to the mail owner).
 * Security: runs as root in master.  private/ is 0700 mail_owner with 0600
 *           sockets (daemons only); public/ is 0711 mail_owner:setgid_group
 *           (not listable) with 0666 sockets: any local user may submit
 *           mail (pickup), as with Postfix's sendmail; the services there
 *           identify callers by SO_PEERCRED and trust nothing else.  A
 *           non-socket in a socket's place is an error, never removed.
 * Errors:   -1 with "service NAME: bind 0.0.0.0:25: ..." in err; whatever
 *           was opened for the service is closed again.
 */
#include "sys.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "master.h"
#include "mastercf.h"
#include "safefile.h"
#include "str.h"
#include "xmem.h"

/* LISTEN_BACKLOG - deep enough that a burst of connections waits while
 * master starts another process for a full service (the kernel caps it at
 * net.core.somaxconn).  A short queue drops handshakes, and with SYN
 * cookies an idle client is then left half-connected and never greeted. */
#define LISTEN_BACKLOG 4096
#define LISTEN_MAX_FDS 64

/* One address to bind: host NULL is the wildcard of family. */
struct bind_spec {
	const char *host;
	int family;
	bool optional; /* wildcard of a family the kernel may lack */
};

void master_listen_key(struct cfg *cfg, const struct service *ent, struct buf *out)
{
	buf_reset(out);
	if (ent->type == SERVICE_UNIX) {
		buf_printf(out, "unix|%s/%s/%s", cfg_get(cfg, "queue_directory"),
			   ent->private_ ? "private" : "public", ent->name);
		return;
	}
	buf_printf(out, "inet|%s|%s|%s", ent->host != NULL ? ent->host
			: cfg_get(cfg, "inet_interfaces"),
		   cfg_get(cfg, "inet_protocols"), ent->port);
}

/* add_fd - remember one more socket of svc. */
static int add_fd(struct master_svc *svc, int fd, const char *name, struct err *err)
{
	if (svc->nfds >= LISTEN_MAX_FDS) {
		close(fd);
		return err_set(err, "service %s: more than %d sockets", name, LISTEN_MAX_FDS);
	}
	svc->fds = xreallocarray(svc->fds, svc->nfds + 1, sizeof(*svc->fds));
	svc->fds[svc->nfds++] = fd;
	return 0;
}

/* addr_text - "host:port" of a socket address for messages. */
static void addr_text(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(out, size, "?");
	else if (sa->sa_family == AF_INET6)
		snprintf(out, size, "[%s]:%s", host, port);
	else
		snprintf(out, size, "%s:%s", host, port);
}

/* bind_one - socket, SO_REUSEADDR, V6ONLY, bind, listen. */
static int bind_one(struct master_svc *svc, const struct addrinfo *ai, bool optional,
		    struct err *err)
{
	const char *name = svc->ent->name;
	char where[NI_MAXHOST + NI_MAXSERV + 4];
	int one = 1, fd;

	addr_text(ai->ai_addr, ai->ai_addrlen, where, sizeof(where));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (optional && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) {
			log_warn("service %s: %s: %s -- skipped", name, where, strerror(errno));
			return 0;
		}
		return err_set(err, "service %s: socket for %s: %s", name, where,
			       strerror(errno));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)) {
		close(fd);
		return err_set(err, "service %s: setsockopt %s: %s", name, where,
			       strerror(errno));
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;

		close(fd);
		if (optional && e == EADDRNOTAVAIL) {
			log_warn("service %s: bind %s: %s -- skipped", name, where, strerror(e));
			return 0;
		}
		return err_set(err, "service %s: bind %s: %s", name, where, strerror(e));
	}
	log_debug("service %s: listening on %s", name, where);
	return add_fd(svc, fd, name, err);
}

/* bind_spec_all - resolve one bind_spec and bind each address it gives. */
static int bind_spec_all(struct master_svc *svc, const struct bind_spec *bs, bool v4, bool v6,
			 struct err *err)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	int rc;

	hints.ai_family = bs->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(bs->host, svc->ent->port, &hints, &res);
	if (rc != 0)
		return err_set(err, "service %s: address \"%s\": %s", svc->ent->name,
			       bs->host != NULL ? bs->host : "*", gai_strerror(rc));
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		if ((ai->ai_family == AF_INET && !v4) || (ai->ai_family == AF_INET6 && !v6) ||
		    (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
			continue;
		if (bind_one(svc, ai, bs->optional, err) < 0) {
			freeaddrinfo(res);
			return -1;
		}
	}
	freeaddrinfo(res);
	return 0;
}

/* protocols - inet_protocols into v4/v6 flags. */
static int protocols(struct cfg *cfg, bool *v4, bool *v6, struct err *err)
{
	size_t n;
	char **list = cfg_get_list(cfg, "inet_protocols", &n);
	int rc = 0;

	*v4 = *v6 = false;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (strcmp(list[i], "all") == 0)
			*v4 = *v6 = true;
		else if (strcmp(list[i], "ipv4") == 0)
			*v4 = true;
		else if (strcmp(list[i], "ipv6") == 0)
			*v6 = true;
		else
			rc = err_set(err, "inet_protocols: unknown protocol \"%s\"", list[i]);
	}
	str_split_free(&list);
	if (rc == 0 && !*v4 && !*v6)
		rc = err_set(err, "inet_protocols is empty");
	return rc;
}

/* open_inet - the addresses of an inet service (see file header). */
static int open_inet(struct cfg *cfg, struct master_svc *svc, struct err *err)
{
	const struct service *ent = svc->ent;
	char **list = NULL;
	size_t n = 0;
	bool v4, v6;
	int rc = 0;

	if (protocols(cfg, &v4, &v6, err) < 0)
		return -1;
	if (ent->host != NULL && strcmp(ent->host, "*") != 0) {
		struct bind_spec bs = { ent->host, AF_UNSPEC, false };

		return bind_spec_all(svc, &bs, v4, v6, err);
	}
	if (ent->host == NULL)
		list = cfg_get_list(cfg, "inet_interfaces", &n);
	if (n == 0 || (n == 1 && strcmp(list[0], "all") == 0) || ent->host != NULL) {
		struct bind_spec all[] = { { NULL, AF_INET, false }, { NULL, AF_INET6, v4 } };

		for (size_t i = 0; i < N_ELEMENTS(all) && rc == 0; i++)
			if (all[i].family == AF_INET ? v4 : v6)
				rc = bind_spec_all(svc, &all[i], v4, v6, err);
	} else if (n == 1 && strcmp(list[0], "loopback-only") == 0) {
		struct bind_spec lo[] = { { "127.0.0.1", AF_INET, false },
					  { "::1", AF_INET6, v4 } };

		for (size_t i = 0; i < N_ELEMENTS(lo) && rc == 0; i++)
			if (lo[i].family == AF_INET ? v4 : v6)
				rc = bind_spec_all(svc, &lo[i], v4, v6, err);
	} else {
		for (size_t i = 0; i < n && rc == 0; i++) {
			char *h = list[i];
			size_t len = strlen(h);
			struct bind_spec bs = { h, AF_UNSPEC, false };

			if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
				h[len - 1] = '\0';
				bs.host = h + 1;
			}
			if (strcmp(bs.host, "all") == 0 || strcmp(bs.host, "loopback-only") == 0)
				rc = err_set(err, "inet_interfaces: \"%s\" must stand alone",
					     bs.host);
			else
				rc = bind_spec_all(svc, &bs, v4, v6, err);
		}
	}
	str_split_free(&list);
	if (rc == 0 && svc->nfds == 0)
		rc = err_set(err, "service %s: no address to listen on", ent->name);
	return rc;
}

/* make_dir - create a queue directory when missing, then set owner/mode. */
static int make_dir(struct master *m, const char *path, mode_t mode, gid_t gid,
		    struct err *err)
{
	return safefile_mkdir(path, mode, m->root ? m->uid : (uid_t)-1, gid, err);
}

/* open_unix - the socket file of a unix service (see file header). */
static int open_unix(struct master *m, struct cfg *cfg, struct master_svc *svc,
		     struct err *err)
{
	const struct service *ent = svc->ent;
	const char *qdir = cfg_get(cfg, "queue_directory");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct buf dir = BUF_INIT;
	mode_t dmode = ent->private_ ? 0700 : 0711, smode = ent->private_ ? 0600 : 0666;
	gid_t gid = ent->private_ ? m->gid : m->setgid_gid;
	struct stat st;
	int fd = -1, rc = -1;

	if (mkdir(qdir, 0755) == 0 && m->root && chown(qdir, m->uid, m->gid) < 0)
		log_warn("chown %s: %s", qdir, strerror(errno));
	buf_printf(&dir, "%s/%s", qdir, ent->private_ ? "private" : "public");
	if (make_dir(m, buf_cstr(&dir), dmode, gid, err) < 0)
		goto out;
	svc->sock_path = xasprintf("%s/%s", buf_cstr(&dir), ent->name);
	if (strlen(svc->sock_path) >= sizeof(sun.sun_path)) {
		err_set(err, "service %s: socket path %s is too long", ent->name, svc->sock_path);
		goto out;
	}
	memcpy(sun.sun_path, svc->sock_path, strlen(svc->sock_path) + 1);
	if (lstat(svc->sock_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			err_set(err, "service %s: %s exists and is not a socket", ent->name,
				svc->sock_path);
			goto out;
		}
		unlink(svc->sock_path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(svc->sock_path, smode) < 0 ||
	    (m->root && lchown(svc->sock_path, m->uid, gid) < 0) ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		err_set(err, "service %s: socket %s: %s", ent->name, svc->sock_path,
			strerror(errno));
		goto out;
	}
	rc = add_fd(svc, fd, ent->name, err);
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	buf_deinit(&dir);
	return rc;
}

int master_listen_open(struct master *m, struct cfg *cfg, struct master_svc *svc,
		       struct err *err)
{
	int rc = svc->ent->type == SERVICE_INET ? open_inet(cfg, svc, err)
						: open_unix(m, cfg, svc, err);

	if (rc < 0)
		master_listen_close(svc, false);
	return rc;
}

void master_listen_close(struct master_svc *svc, bool unlink_socket)
{
	for (size_t i = 0; i < svc->nfds; i++)
		close(svc->fds[i]);
	xfree(&svc->fds);
	svc->nfds = 0;
	if (unlink_socket && svc->sock_path != NULL)
		unlink(svc->sock_path);
	xfree(&svc->sock_path);
}
