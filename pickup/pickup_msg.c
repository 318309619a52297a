/*
 * pickup_msg.c - one locally submitted message: check the envelope sent by
 * sendmail, write the queue file through lib/qreceive with a Received:
 * header first, add From:, Date: and Message-ID: when the header section
 * lacks them (as Postfix's cleanup does for local mail), and commit.
 * Touches:  $queue_directory/incoming and active (through qreceive).
 * Input:    untrusted: every attribute and content byte comes from a local
 *           user; only the uid (SO_PEERCRED) is trusted.  Addresses go
 *           through lib/addr, strings through qfile_text_ok, sizes are
 *           capped (message_size_limit, pickup_recipient_limit).
 * Security: runs in pickup as the mail owner.
 * Errors:   -1 with a reason fit for the client ("bad recipient address
 *           syntax: ...", "message too large"); the incoming file is removed
 *           when the message is freed uncommitted.
 * See:      pickup.h, lib/qreceive.h, Postfix pickup.c and cleanup_message.c.
 */
#include "sys.h"

#include <pwd.h>
#include <sys/time.h>

#include "addr.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "pickup.h"
#include "pickup_hdr.h"
#include "proto.h"
#include "qfile.h"
#include "qreceive.h"
#include "str.h"
#include "xmem.h"

struct pickup_msg {
	struct cfg *cfg;
	uid_t uid;
	char *login;
	struct qreceive *q;
	struct qfile_writer *w;
	struct timeval arrival;
	char *sender;	 /* canonical, "" for <> */
	char *fullname;	 /* for an added From:, may be "" */
	struct buf head; /* content held until the header section ends */
	bool head_done;
	uint64_t size; /* content bytes received */
	uint64_t size_limit;
	size_t nrcpt;
	size_t rcpt_limit;
	unsigned int notify;
	bool content_started;
	struct buf msgid; /* the Message-ID pickup added, if any */
};

/* size_limit - message_size_limit (0: none). */
static uint64_t size_limit(struct cfg *cfg)
{
	return (uint64_t)cfg_get_int(cfg, "message_size_limit");
}

struct pickup_msg *pickup_msg_new(struct cfg *cfg, uid_t uid, const char *login)
{
	struct pickup_msg *m = xcalloc(1, sizeof(*m));

	m->cfg = cfg;
	m->uid = uid;
	m->login = xstrdup(login);
	buf_init(&m->head, 0);
	buf_init(&m->msgid, 0);
	m->size_limit = size_limit(cfg);
	m->rcpt_limit = (size_t)cfg_get_int(cfg, "pickup_recipient_limit");
	return m;
}

/* qualify - canonical address s (len bytes) with "@$myorigin" appended when
 * it has no domain; into out. */
static void qualify(struct cfg *cfg, const char *s, size_t len, struct buf *out)
{
	buf_set(out, s, len);
	if (len > 0 && memchr(s, '@', len) == NULL)
		buf_printf(out, "@%s", cfg_get(cfg, "myorigin"));
}

/* parse_addr - one address from the client (pickup_addr_parse), with
 * "@$myorigin" added when it has no domain; into out. */
static int parse_addr(struct cfg *cfg, const char *s, size_t len, bool sender, struct buf *out,
		      struct err *err)
{
	struct buf canon = BUF_INIT;
	int rc = pickup_addr_parse(s, len, sender, &canon, err);

	if (rc == 0)
		qualify(cfg, canon.data != NULL ? canon.data : "", canon.len, out);
	buf_deinit(&canon);
	return rc;
}

int pickup_msg_rcpts(struct pickup_msg *m, const void *data, size_t len, struct err *err)
{
	const char *p = data, *end = p + len;
	struct buf addr = BUF_INIT;
	struct buf show = BUF_INIT;
	int rc = 0;

	if (m->content_started)
		return err_set(err, "recipients after content");
	if (len > PICKUP_RCPT_DATA_MAX)
		return err_set(err, "recipient list too long");
	while (p < end && rc == 0) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		/* UNSAFE: nul, when found, lies inside [p, end). */
		size_t n = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);

		if (n == 0) {
			rc = err_set(err, "empty recipient address");
		} else if (m->nrcpt >= m->rcpt_limit) {
			rc = err_set(err, "too many recipients (limit %zu)", m->rcpt_limit);
		} else if (parse_addr(m->cfg, p, n, false, &addr, err) < 0) {
			str_sanitize(&show, p, n, 100);
			rc = err_set(err, "bad recipient address syntax: %s", buf_cstr(&show));
		} else {
			qfile_writer_rcpt(m->w, buf_cstr(&addr), NULL, NULL, m->notify);
			m->nrcpt++;
		}
		p += n + 1;
	}
	buf_deinit(&addr);
	buf_deinit(&show);
	return rc;
}

/* default_fullname - the first field of the uid's GECOS. */
static char *default_fullname(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char sbuf[4096];

	if (getpwuid_r(uid, &pw, sbuf, sizeof(sbuf), &res) != 0 || res == NULL ||
	    res->pw_gecos == NULL)
		return xstrdup("");
	return xstrndup(res->pw_gecos, strcspn(res->pw_gecos, ","));
}

int pickup_msg_begin(struct pickup_msg *m, struct ipc_msg *msg, struct err *err)
{
	const char *sender = NULL, *envid = NULL, *fullname = NULL;
	const void *rcpts = NULL;
	size_t rcpts_len = 0;
	uint32_t flags = 0, notify = 0;
	struct buf val = BUF_INIT;
	char num[32];

	if (ipc_get(msg, IPC_STRICT, IPC_STR("sender", &sender),
		    IPC_DATA("rcpts", &rcpts, &rcpts_len), IPC_U32("flags", &flags),
		    IPC_U32("notify", &notify), IPC_STR("envid", &envid),
		    IPC_STR("fullname", &fullname), IPC_END) < 0 ||
	    rcpts == NULL)
		return err_set(err, "malformed BEGIN");
	if ((flags & ~PICKUP_F_ALL) != 0 || !qfile_flags_ok(flags))
		return err_set(err, "bad message flags %#x", (unsigned int)flags);
	if (notify != 0 && !qfile_notify_ok(notify))
		return err_set(err, "bad NOTIFY mask %#x", (unsigned int)notify);
	if (envid != NULL && (strlen(envid) > 100 || !qfile_text_ok(envid, strlen(envid))))
		return err_set(err, "bad ENVID");
	if (sender == NULL) {
		buf_printf(&val, "%s@%s", m->login, cfg_get(m->cfg, "myorigin"));
	} else if (sender[0] != '\0' &&
		   parse_addr(m->cfg, sender, strlen(sender), true, &val, err) < 0) {
		str_sanitize(&val, sender, strlen(sender), 100);
		err_set(err, "bad sender address syntax: %s", buf_cstr(&val));
		buf_deinit(&val);
		return -1;
	}
	m->sender = xstrdup(buf_cstr(&val));
	buf_deinit(&val);
	m->fullname = fullname != NULL ? xstrdup(fullname) : default_fullname(m->uid);
	m->notify = notify;
	if ((m->q = qreceive_begin(cfg_get(m->cfg, "queue_directory"), err)) == NULL)
		return -1;
	m->w = qreceive_writer(m->q);
	gettimeofday(&m->arrival, NULL);
	qfile_writer_arrival(m->w, &m->arrival);
	qfile_writer_flags(m->w, flags);
	if (envid != NULL)
		qfile_writer_envid(m->w, envid);
	qfile_writer_sender(m->w, m->sender);
	qfile_writer_client(m->w, "localhost", NULL, 0, NULL, "LOCAL");
	snprintf(num, sizeof(num), "%lu", (unsigned long)m->uid);
	qfile_writer_attr(m->w, "local_uid", num);
	if (qfile_text_ok(m->login, strlen(m->login)))
		qfile_writer_attr(m->w, "local_login", m->login);
	if (pickup_msg_rcpts(m, rcpts, rcpts_len, err) < 0)
		return -1;
	return 0;
}

/* write_received - the Received: header that opens every local message. */
static void write_received(struct pickup_msg *m)
{
	struct buf h = BUF_INIT;

	buf_printf(&h, "Received: by %s (tern, from userid %lu)\n\tid %s; ",
		   cfg_get(m->cfg, "myhostname"), (unsigned long)m->uid, qreceive_id(m->q));
	pickup_hdr_date(m->arrival.tv_sec, &h);
	buf_addc(&h, '\n');
	qfile_writer_text(m->w, h.data, h.len);
	buf_deinit(&h);
}

/* missing_headers - From:, Date:, Message-ID: lines the scan did not see. */
static void missing_headers(struct pickup_msg *m, const struct pickup_hdr_scan *s, struct buf *out)
{
	struct tm tm;
	time_t t = m->arrival.tv_sec;

	if (!s->has_from) {
		struct buf addr = BUF_INIT;

		if (m->sender[0] != '\0')
			buf_adds(&addr, m->sender);
		else
			buf_printf(&addr, "MAILER-DAEMON@%s", cfg_get(m->cfg, "myhostname"));
		pickup_hdr_from(m->fullname, buf_cstr(&addr), out);
		buf_deinit(&addr);
	}
	if (!s->has_date) {
		buf_adds(out, "Date: ");
		pickup_hdr_date(t, out);
		buf_addc(out, '\n');
	}
	if (!s->has_msgid) {
		gmtime_r(&t, &tm);
		buf_printf(&m->msgid, "<%04d%02d%02d%02d%02d%02d.%s@%s>", tm.tm_year + 1900,
			   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			   qreceive_id(m->q), cfg_get(m->cfg, "myhostname"));
		buf_printf(out, "Message-ID: %s\n", buf_cstr(&m->msgid));
	}
}

/* flush_head - write the held header section with the missing headers
 * added at its end; at_eof when no more content follows.  Returns false
 * while the end of the header section is not yet in sight. */
static bool flush_head(struct pickup_msg *m, bool at_eof)
{
	struct pickup_hdr_scan s;
	struct buf add = BUF_INIT;
	const char *d = m->head.data != NULL ? m->head.data : "";

	if (pickup_hdr_scan(d, m->head.len, at_eof, &s) == 0) {
		if (m->head.len <= PICKUP_HDR_MAX)
			return false;
		/* Too long to examine: pass it on as it is. */
		write_received(m);
		qfile_writer_text(m->w, d, m->head.len);
		m->head_done = true;
		buf_deinit(&m->head);
		return true;
	}
	write_received(m);
	qfile_writer_text(m->w, d, s.hdr_len);
	if (s.hdr_len > 0 && d[s.hdr_len - 1] != '\n')
		buf_addc(&add, '\n');
	missing_headers(m, &s, &add);
	if (!s.has_blank && s.body_off < m->head.len)
		buf_addc(&add, '\n');
	qfile_writer_text(m->w, add.data, add.len);
	qfile_writer_text(m->w, d + s.body_off, m->head.len - s.body_off);
	buf_deinit(&add);
	buf_deinit(&m->head);
	m->head_done = true;
	return true;
}

int pickup_msg_chunk(struct pickup_msg *m, const void *data, size_t len, struct err *err)
{
	if (m->w == NULL)
		return err_set(err, "content before BEGIN");
	if (m->nrcpt == 0)
		return err_set(err, "no recipients");
	m->content_started = true;
	m->size += len;
	if (m->size_limit > 0 && m->size > m->size_limit)
		return err_set(err, "message too large (limit %llu bytes)",
			       (unsigned long long)m->size_limit);
	if (m->head_done) {
		qfile_writer_text(m->w, data, len);
	} else {
		buf_add(&m->head, data, len);
		flush_head(m, false);
	}
	if (qfile_writer_failed(m->w))
		return err_set(err, "queue file write error");
	return 0;
}

int pickup_msg_end(struct pickup_msg *m, struct err *err)
{
	if (m->w == NULL)
		return err_set(err, "END before BEGIN");
	if (m->nrcpt == 0)
		return err_set(err, "no recipients");
	m->content_started = true;
	if (!m->head_done)
		flush_head(m, true);
	if (qreceive_commit(m->q, err) < 0)
		return -1;
	log_info("%s: uid=%lu from=<%s>", qreceive_id(m->q), (unsigned long)m->uid, m->sender);
	if (m->msgid.len > 0)
		log_info("%s: message-id=%s", qreceive_id(m->q), buf_cstr(&m->msgid));
	return 0;
}

const char *pickup_msg_id(const struct pickup_msg *m)
{
	return m->q != NULL ? qreceive_id(m->q) : "";
}

void pickup_msg_free(struct pickup_msg **mp)
{
	struct pickup_msg *m = *mp;

	if (m == NULL)
		return;
	qreceive_free(&m->q);
	buf_deinit(&m->head);
	buf_deinit(&m->msgid);
	free(m->login);
	free(m->sender);
	free(m->fullname);
	xfree(mp);
}
