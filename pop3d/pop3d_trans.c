/*
 * pop3d_trans.c - the TRANSACTION and UPDATE states in the mail process:
 *                 the maildrop lock, STAT, LIST, UIDL, RETR, TOP, DELE,
 *                 RSET, NOOP, CAPA and QUIT with its deletions.
 * Touches:  the user's Maildir (lib/mailbox): reads messages, and at QUIT
 *           only, unlinks them or (pop3d_delete_mode = hide) renames them
 *           with the Seen flag and lists them in tern-pop3-hidden.
 * Input:    untrusted command lines (capped) on the client socket or the
 *           login process's TLS relay; untrusted message files.
 * Security: runs as the mail owner after login; the Maildir path comes
 *           from pop3d_user_maildir (safe components only); a session that
 *           ends without QUIT (drop, timeout) changes nothing.
 * Errors:   bad commands get -ERR and the session goes on; a message that
 *           vanished is -ERR; a failed deletion is -ERR [SYS/TEMP] at QUIT.
 * See:      RFC 1939 5-8, RFC 2449, RFC 3206, docs/pop3d.md.
 */
#include "sys.h"

#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "mailbox.h"
#include "pop3d/pop3d.h"
#include "pop3d/pop3d_cmd.h"
#include "pop3d/pop3d_msg.h"
#include "safefile.h"
#include "server.h"
#include "xmem.h"

/* TRANS_HIGH - queued output above which streaming waits for the drain
 * callback, which comes at TRANS_LOW. */
#define TRANS_HIGH (256 * 1024)
#define TRANS_LOW (64 * 1024)
/* TRANS_CHUNK - bytes read from a message file at a time. */
#define TRANS_CHUNK 65536
/* TRANS_HIDDEN_MAX - largest hidden list read. */
#define TRANS_HIDDEN_MAX (64 * 1024 * 1024)

struct trans {
	struct trans *prev, *next;
	struct loop_conn *conn;
	char *user;
	char *addr;
	struct buf path;
	struct mailbox *mb; /* NULL: no Maildir yet (empty maildrop) */
	size_t *idx;	    /* visible messages: indexes into mb->msgs */
	bool *deleted;
	size_t n;
	struct pop3d_hidden hidden;
	struct pop3d_cmd cmd;
	/* the message being sent (RETR, TOP) */
	int fd;
	size_t cur;
	bool top;
	struct pop3d_top topst;
	struct mailbox_crlf out, plain;
	unsigned int n_retr, n_top;
};

static struct trans *sessions;

/* trans_free - end the session (nothing is deleted here). */
static void trans_free(struct trans *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	if (s->fd >= 0)
		close(s->fd);
	loop_conn_free(&s->conn);
	mailbox_free(&s->mb);
	pop3d_hidden_deinit(&s->hidden);
	pop3d_cmd_deinit(&s->cmd);
	buf_deinit(&s->path);
	free(s->idx);
	free(s->deleted);
	free(s->user);
	free(s->addr);
	free(s);
	server_session_end();
}

/* reply - one status line. */
static void reply(struct trans *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void reply(struct trans *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	loop_conn_vline(s->conn, fmt, ap);
	va_end(ap);
}

/* msg_at - visible message number k (1-based), or NULL with the -ERR sent. */
static const struct mailbox_msg *msg_at(struct trans *s, unsigned int k)
{
	if (k < 1 || k > s->n) {
		reply(s, "-ERR No such message, only %zu in maildrop", s->n);
		return NULL;
	}
	if (s->deleted[k - 1]) {
		reply(s, "-ERR Message %u already deleted", k);
		return NULL;
	}
	return &s->mb->msgs[s->idx[k - 1]];
}

/* totals - messages not deleted and their octets. */
static void totals(const struct trans *s, size_t *count_r, uint64_t *octets_r)
{
	*count_r = 0;
	*octets_r = 0;
	for (size_t k = 0; k < s->n; k++) {
		if (!s->deleted[k]) {
			(*count_r)++;
			*octets_r += s->mb->msgs[s->idx[k]].vsize;
		}
	}
}

/* do_list - LIST and UIDL, one message or all. */
static void do_list(struct trans *s, bool uidl)
{
	const struct mailbox_msg *m;
	struct buf b = BUF_INIT;
	size_t count;
	uint64_t octets;

	if (s->cmd.nargs == 1) {
		if ((m = msg_at(s, s->cmd.msg)) == NULL)
			return;
		if (uidl)
			reply(s, "+OK %u %s", s->cmd.msg, m->uidl);
		else
			reply(s, "+OK %u %" PRIu64, s->cmd.msg, m->vsize);
		return;
	}
	totals(s, &count, &octets);
	if (uidl)
		buf_adds(&b, "+OK Unique-ID listing follows\r\n");
	else
		buf_printf(&b, "+OK %zu messages (%" PRIu64 " octets)\r\n", count, octets);
	for (size_t k = 0; k < s->n; k++) {
		if (s->deleted[k])
			continue;
		m = &s->mb->msgs[s->idx[k]];
		if (uidl)
			buf_printf(&b, "%zu %s\r\n", k + 1, m->uidl);
		else
			buf_printf(&b, "%zu %" PRIu64 "\r\n", k + 1, m->vsize);
	}
	buf_adds(&b, ".\r\n");
	loop_conn_write(s->conn, b.data, b.len);
	buf_deinit(&b);
}

/* stream_end - the message is out: terminator, checks, next command. */
static void stream_end(struct trans *s)
{
	struct buf b = BUF_INIT;
	const struct mailbox_msg *m = &s->mb->msgs[s->idx[s->cur]];

	mailbox_crlf_end(&s->out, &b);
	mailbox_crlf_end(&s->plain, NULL);
	buf_adds(&b, ".\r\n");
	loop_conn_write(s->conn, b.data, b.len);
	buf_deinit(&b);
	if (!s->top && s->plain.out != m->vsize)
		log_warn("user=<%s>: %s: size %" PRIu64 " announced, %" PRIu64 " sent "
			 "(file changed, or a wrong W= in its name)",
			 s->user, m->name, m->vsize, s->plain.out);
	close(s->fd);
	s->fd = -1;
	loop_conn_pause(s->conn, false);
}

/* pump - send more of the message while the output queue is short. */
static void pump(struct trans *s)
{
	struct buf b = BUF_INIT;
	char *chunk = xmalloc(TRANS_CHUNK);

	while (s->fd >= 0 && loop_conn_pending(s->conn) < TRANS_HIGH) {
		ssize_t n = read(s->fd, chunk, TRANS_CHUNK);
		size_t take;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("user=<%s>: read %s: %s", s->user,
				  s->mb->msgs[s->idx[s->cur]].name, strerror(errno));
			close(s->fd);
			s->fd = -1;
			loop_conn_close_after_write(s->conn); /* cannot end the reply cleanly */
			break;
		}
		if (n == 0) {
			stream_end(s);
			break;
		}
		take = s->top ? pop3d_top_take(&s->topst, chunk, (size_t)n) : (size_t)n;
		buf_reset(&b);
		mailbox_crlf_add(&s->out, chunk, take, &b);
		mailbox_crlf_add(&s->plain, chunk, take, NULL);
		loop_conn_write(s->conn, b.data, b.len);
		if (s->top && s->topst.done) {
			stream_end(s);
			break;
		}
	}
	/* still open: the queue is over TRANS_HIGH, on_drain goes on */
	buf_deinit(&b);
	free(chunk);
}

/* on_drain - the client read the queue down to TRANS_LOW: send more. */
static void on_drain(struct loop_conn *conn, void *arg)
{
	struct trans *s = arg;

	if (s->fd >= 0)
		pump(s);
}

/* do_retr - RETR n, or TOP n lines. */
static void do_retr(struct trans *s, bool top)
{
	const struct mailbox_msg *m = msg_at(s, s->cmd.msg);
	struct err err;

	if (m == NULL)
		return;
	s->cur = s->cmd.msg - 1;
	s->fd = mailbox_msg_open(s->mb, s->idx[s->cur], &err);
	if (s->fd < 0) {
		if (err.code == ENOENT) {
			reply(s, "-ERR Message %u was removed by another client", s->cmd.msg);
		} else {
			log_error("user=<%s>: %s", s->user, err.msg);
			reply(s, "-ERR [SYS/TEMP] Cannot read message %u", s->cmd.msg);
		}
		return;
	}
	s->top = top;
	mailbox_crlf_init(&s->out, true);
	mailbox_crlf_init(&s->plain, false);
	if (top) {
		pop3d_top_init(&s->topst, s->cmd.lines);
		reply(s, "+OK Top of message follows");
		s->n_top++;
	} else {
		reply(s, "+OK %" PRIu64 " octets", m->vsize);
		s->n_retr++;
	}
	loop_conn_pause(s->conn, true);
	pump(s);
}

/* save_hidden - write the hidden list (hide mode), pruned to what exists. */
static int save_hidden(struct trans *s, struct err *err)
{
	struct buf text = BUF_INIT, file = BUF_INIT;
	int rc;

	pop3d_hidden_format(&s->hidden, s->mb, &text);
	buf_printf(&file, "%s/%s", buf_cstr(&s->path), POP3D_HIDDEN_FILE);
	rc = safefile_write(buf_cstr(&file), text.data != NULL ? text.data : "", text.len, 0600,
			    err);
	buf_deinit(&text);
	buf_deinit(&file);
	return rc;
}

/* do_quit - the UPDATE state: carry out the DELEs, then say goodbye. */
static void do_quit(struct trans *s)
{
	unsigned int done = 0, failed = 0;
	struct err err;
	size_t left;
	uint64_t octets;

	for (size_t k = 0; k < s->n; k++) {
		struct mailbox_msg *m;
		struct buf flags = BUF_INIT;
		int rc;

		if (!s->deleted[k])
			continue;
		m = &s->mb->msgs[s->idx[k]];
		if (pop3d_conf.hide_mode) {
			buf_sets(&flags, m->flags);
			buf_addc(&flags, 'S');
			rc = mailbox_msg_set_flags(s->mb, s->idx[k], buf_cstr(&flags), &err);
			if (rc == 0 || err.code == ENOENT)
				pop3d_hidden_add(&s->hidden, m->base);
			buf_deinit(&flags);
		} else {
			rc = mailbox_msg_delete(s->mb, s->idx[k], &err);
		}
		if (rc == 0) {
			done++;
		} else {
			failed++;
			log_error("user=<%s>: %s", s->user, err.msg);
		}
	}
	if (pop3d_conf.hide_mode && done > 0 && save_hidden(s, &err) < 0) {
		failed += done;
		log_error("user=<%s>: %s", s->user, err.msg);
	}
	totals(s, &left, &octets);
	log_info("logout: user=<%s>, client=%s, retr=%u, top=%u, deleted=%u, left=%zu%s", s->user,
		 s->addr, s->n_retr, s->n_top, done, left, failed > 0 ? ", with errors" : "");
	if (failed > 0)
		reply(s, "-ERR [SYS/TEMP] %u message(s) could not be deleted", failed);
	else
		reply(s, "+OK Logging out, %u message(s) deleted", done);
	loop_conn_close_after_write(s->conn);
}

/* do_capa - capabilities of the TRANSACTION state. */
static void do_capa(struct trans *s)
{
	static const char capa[] = "+OK Capability list follows\r\nTOP\r\nUIDL\r\n"
				   "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
				   "IMPLEMENTATION tern\r\n.\r\n";

	loop_conn_write(s->conn, capa, sizeof(capa) - 1);
}

/* on_line - one command in the TRANSACTION state. */
static void on_line(struct loop_conn *conn, const char *line, size_t len, int flags, void *arg)
{
	struct trans *s = arg;
	struct err err;
	size_t count;
	uint64_t octets;

	if ((flags & LOOP_LINE_TOO_LONG) != 0) {
		reply(s, "-ERR Line too long");
		return;
	}
	if (pop3d_cmd_parse(line, len, &s->cmd, &err) < 0) {
		reply(s, "-ERR %s", err.msg);
		return;
	}
	switch (s->cmd.verb) {
	case POP3D_STAT:
		totals(s, &count, &octets);
		reply(s, "+OK %zu %" PRIu64, count, octets);
		break;
	case POP3D_LIST:
		do_list(s, false);
		break;
	case POP3D_UIDL:
		do_list(s, true);
		break;
	case POP3D_RETR:
		do_retr(s, false);
		break;
	case POP3D_TOP:
		do_retr(s, true);
		break;
	case POP3D_DELE:
		if (msg_at(s, s->cmd.msg) != NULL) {
			s->deleted[s->cmd.msg - 1] = true;
			reply(s, "+OK Message %u deleted", s->cmd.msg);
		}
		break;
	case POP3D_RSET:
		memset(s->deleted, 0, s->n * sizeof(*s->deleted));
		totals(s, &count, &octets);
		reply(s, "+OK Maildrop has %zu messages (%" PRIu64 " octets)", count, octets);
		break;
	case POP3D_NOOP:
		reply(s, "+OK");
		break;
	case POP3D_CAPA:
		do_capa(s);
		break;
	case POP3D_QUIT:
		do_quit(s);
		break;
	default:
		reply(s, "-ERR %s is not valid in the TRANSACTION state", s->cmd.name);
		break;
	}
}

/* on_close - the client went away: no UPDATE state, nothing deleted. */
static void on_close(struct loop_conn *conn, enum loop_close why, const char *detail, void *arg)
{
	struct trans *s = arg;

	s->conn = NULL;
	if (why == LOOP_CLOSE_TIMEOUT)
		log_info("timeout: user=<%s>, client=%s: nothing deleted", s->user, s->addr);
	else if (why != LOOP_CLOSE_DONE)
		log_info("disconnect without QUIT: user=<%s>, client=%s: nothing deleted", s->user,
			 s->addr);
	trans_free(s);
}

static const struct loop_conn_cb trans_cb = {
	.on_line = on_line,
	.on_close = on_close,
};

/* open_maildrop - lock and list the mailbox; false with the -ERR sent. */
static bool open_maildrop(struct trans *s)
{
	struct err err;
	size_t len;
	char *text;

	if (pop3d_user_maildir(pop3d_conf.mailbox_base, s->user, &s->path, &err) < 0) {
		log_warn("login from %s: %s", s->addr, err.msg);
		reply(s, "-ERR [SYS/PERM] No mailbox for this user");
		return false;
	}
	if (mailbox_open(buf_cstr(&s->path), &s->mb, &err) < 0) {
		if (err.code == ENOENT)
			return true; /* nothing delivered yet: an empty maildrop */
		log_error("user=<%s>: %s", s->user, err.msg);
		reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox");
		return false;
	}
	if (mailbox_lock(s->mb, "pop3", &err) < 0) {
		log_info("user=<%s>, client=%s: %s", s->user, s->addr, err.msg);
		reply(s, err.code == EWOULDBLOCK
				 ? "-ERR [IN-USE] Mailbox in use by another POP3 session"
				 : "-ERR [SYS/TEMP] Cannot lock the mailbox");
		return false;
	}
	if (mailbox_scan(s->mb, 0, &err) < 0) {
		log_error("user=<%s>: %s", s->user, err.msg);
		reply(s, "-ERR [SYS/TEMP] Cannot read the mailbox");
		return false;
	}
	if (pop3d_conf.hide_mode) {
		struct buf file = BUF_INIT;

		buf_printf(&file, "%s/%s", buf_cstr(&s->path), POP3D_HIDDEN_FILE);
		text = safefile_read(buf_cstr(&file), TRANS_HIDDEN_MAX, &len, &err);
		if (text != NULL)
			pop3d_hidden_parse(&s->hidden, text, len);
		else if (err.code != ENOENT)
			log_warn("user=<%s>: %s", s->user, err.msg);
		free(text);
		buf_deinit(&file);
	}
	s->idx = xcalloc(s->mb->count + 1, sizeof(*s->idx));
	s->deleted = xcalloc(s->mb->count + 1, sizeof(*s->deleted));
	for (size_t i = 0; i < s->mb->count; i++)
		if (!pop3d_hidden_has(&s->hidden, s->mb->msgs[i].base))
			s->idx[s->n++] = i;
	return true;
}

void pop3d_trans_start(int fd, const char *user, const char *client, unsigned int port, bool tls,
		       const void *pending, size_t pending_len)
{
	struct trans *s = xcalloc(1, sizeof(*s));
	size_t count;
	uint64_t octets;

	server_session_begin();
	s->fd = -1;
	s->user = xstrdup(user);
	s->addr = xstrdup(client);
	buf_init(&s->path, 0);
	pop3d_cmd_init(&s->cmd);
	s->conn = loop_conn_new(pop3d_conf.base, fd, NULL, &trans_cb, s);
	loop_conn_set_drain(s->conn, TRANS_LOW, on_drain, s);
	loop_conn_set_max_line(s->conn, pop3d_conf.line_max);
	loop_conn_set_timeout(s->conn, pop3d_conf.timeout_ms);
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
	if (!open_maildrop(s)) {
		loop_conn_close_after_write(s->conn);
		return;
	}
	totals(s, &count, &octets);
	log_info("session: user=<%s>, client=%s%s, messages=%zu, octets=%" PRIu64, s->user, s->addr,
		 tls ? ", TLS" : "", count, octets);
	reply(s, "+OK Logged in, %zu messages (%" PRIu64 " octets)", count, octets);
	/* commands the client pipelined behind its login go first */
	loop_conn_feed(s->conn, pending, pending_len);
}

void pop3d_trans_stop(void)
{
	struct trans *s = sessions, *next;

	for (; s != NULL; s = next) {
		next = s->next;
		if (s->fd < 0 && s->conn != NULL) {
			reply(s, "-ERR [SYS/TEMP] Server shutting down, nothing deleted");
			loop_conn_close_after_write(s->conn);
		}
	}
}
