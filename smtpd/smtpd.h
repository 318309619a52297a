/*
 * smtpd.h - what the smtpd source files share (folder-private): the
 * settings read once from main.cf, the session record, and the entry
 * points each file offers the others.
 *   smtpd.c          main, server hooks, the session list, per-client counts
 *   smtpd_session.c  the command state machine, replies, error accounting
 *   smtpd_content.c  DATA and BDAT: raw input through smtpd_data, replies
 *   smtpd_queue.c    the queue file: envelope, Received:, content, commit
 *   smtpd_check.c    policy: relay control, recipient existence, limits,
 *                    sender ownership for authenticated clients
 *   smtpd_tls.c      STARTTLS, implicit TLS (465), the TLS context
 *   smtpd_auth.c     AUTH (RFC 4954) through the auth service
 *   smtpd_peer.c     the client's name: PTR, then forward confirmation
 * See: docs/smtpd.md.
 */
#ifndef TERN_SMTPD_H
#define TERN_SMTPD_H

#include "sys.h"

#include <sys/socket.h>

#include <openssl/ssl.h>

#include "buf.h"
#include "smtpd_cmd.h"
#include "smtpd_data.h"

struct cfg;
struct event_base;
struct evbuffer;
struct loop_conn;
struct loop_timer;
struct qreceive;
struct resolver;
struct netmatch;
struct tls_server;
struct auth_client;
struct tbl;
struct workq;
struct smtpd_commit;
struct dns_ctx;
struct dns_query;

/* smtpd_tls_security_level */
enum smtpd_tls_level {
	SMTPD_TLS_NONE,	   /* no STARTTLS */
	SMTPD_TLS_MAY,	   /* STARTTLS offered */
	SMTPD_TLS_ENCRYPT, /* no MAIL or AUTH before TLS */
};

/* struct smtpd_conf - main.cf settings, read once by the init hook. */
struct smtpd_conf {
	struct cfg *cfg;
	struct event_base *base;
	struct resolver *resolver;
	char *hostname; /* myhostname */
	char *origin;	/* myorigin (for <postmaster>) */
	char *banner;	/* smtpd_banner */
	char *queue_dir;
	uint64_t size_limit; /* message_size_limit; 0 none */
	unsigned int rcpt_limit;
	unsigned int soft_limit;
	unsigned int hard_limit;
	unsigned int error_sleep_ms;
	unsigned int timeout_ms;	    /* smtpd_timeout */
	size_t line_max;		    /* line_length_limit */
	unsigned int conn_limit;	    /* smtpd_client_connection_count_limit */
	struct netmatch *conn_limit_exempt; /* smtpd_client_event_limit_exceptions */
	bool vrfy_disabled;
	bool expn_enabled;
	bool bare_lf_reject; /* smtpd_forbid_bare_newline = reject */
	/* TLS and AUTH (smtpd_tls.c, smtpd_auth.c) */
	struct tls_server *tls;		/* NULL: no certificate, no TLS */
	enum smtpd_tls_level tls_level; /* smtpd_tls_security_level */
	bool tls_wrapper;		/* smtpd_tls_wrappermode (465) */
	bool tls_auth_only;		/* smtpd_tls_auth_only */
	struct netmatch *tls_exempt;	/* smtpd_tls_exempt_networks */
	bool sasl_enable;		/* smtpd_sasl_auth_enable */
	bool sasl_required;		/* smtpd_sasl_auth_required */
	bool hide_client;		/* smtpd_hide_client_address */
	struct auth_client *auth;	/* NULL unless sasl_enable */
	struct tbl **sender_maps;	/* smtpd_sender_login_maps */
	size_t n_sender_maps;
	/* the queue-file commits (smtpd_queue.c): smtpd_commit_threads */
	struct workq *commit_wq;
	/* client names (smtpd_peer.c) */
	struct dns_ctx *dns;	      /* NULL: smtpd_peername_lookup = no */
	unsigned int peer_timeout_ms; /* smtpd_peername_timeout */
};

/* Where an AUTH exchange is. */
enum smtpd_auth_state {
	SMTPD_AUTH_IDLE,     /* no exchange */
	SMTPD_AUTH_WAIT,     /* waiting for the auth service (input paused) */
	SMTPD_AUTH_RESPONSE, /* a 334 was sent: the next line is the answer */
};

/* struct smtpd_rcpt - one accepted recipient. */
struct smtpd_rcpt {
	char *addr;
	char *orcpt_type; /* NULL when no ORCPT */
	char *orcpt;
	unsigned int notify; /* QFILE_NOTIFY_* */
};

/* Where input goes. */
enum smtpd_phase {
	SMTPD_PHASE_CMD,  /* command lines */
	SMTPD_PHASE_DATA, /* DATA content (raw) */
	SMTPD_PHASE_BDAT, /* a BDAT chunk (raw) */
};

/* SMTPD_NVERB - slots in the per-verb counters (index = enum smtpd_verb;
 * SMTPD_VERB_NONE counts unknown commands). */
#define SMTPD_NVERB (SMTPD_VERB_AUTH + 1)

struct smtpd_session;
/* smtpd_peer_done_fn - the client name is settled (s->name). */
typedef void smtpd_peer_done_fn(struct smtpd_session *s);

struct smtpd_session {
	const struct smtpd_conf *conf;
	struct loop_conn *conn;
	struct loop_timer *idle;  /* smtpd_timeout */
	struct loop_timer *sleep; /* error replies delayed past the soft limit */
	struct buf held;	  /* the delayed reply */
	struct sockaddr_storage sa;
	socklen_t salen;
	char addr[64]; /* numeric client address */
	unsigned int port;
	const char *name;	       /* client host name: forward-confirmed, lower
					* case, else "unknown" (smtpd_peer.c) */
	char *peer_name;	       /* the PTR name being confirmed, then the name */
	struct dns_query *peer_q;      /* the lookup in progress */
	struct loop_timer *peer_timer; /* smtpd_peername_timeout */
	smtpd_peer_done_fn *peer_done; /* called when the name is settled */
	char *refuse;		       /* the reply to refuse with after the
					* lookup, or NULL */
	unsigned int too_many;	       /* sessions of this client, when
					* over the limit (else 0) */
	struct buf helo;	       /* "" before HELO/EHLO */
	bool esmtp;
	bool quit;
	bool closing;
	enum smtpd_verb last_verb; /* for "timeout after X" */
	struct smtpd_cmd cmd;
	unsigned int errors;
	unsigned int ok[SMTPD_NVERB], total[SMTPD_NVERB];
	/* the transaction (MAIL .. end of data or RSET) */
	bool in_mail;
	struct buf sender;
	struct buf envid;
	bool has_envid;
	unsigned int qflags; /* QFILE_F_* */
	bool utf8;	     /* MAIL said SMTPUTF8 */
	struct smtpd_rcpt *rcpts;
	size_t nrcpt, rcpt_cap;
	/* content */
	enum smtpd_phase phase;
	struct qreceive *q;	     /* the queue file, once content begins */
	struct smtpd_commit *commit; /* a queue file being committed on a
				      * commit thread: input paused, no timer,
				      * the reply owed (smtpd_content_committed) */
	bool data_open;		     /* data reader initialised */
	struct smtpd_data data;
	struct buf msgid;
	bool bdat_seen;	    /* this transaction used BDAT */
	bool bdat_failed;   /* a BDAT of this transaction failed */
	uint64_t bdat_left; /* chunk bytes still to read */
	bool bdat_last;
	const char *bdat_error; /* reply owed for the chunk being skipped */
	/* TLS and AUTH */
	bool tls;	     /* the TLS handshake completed */
	bool tls_exempt;     /* the client is in smtpd_tls_exempt_networks */
	struct buf tls_info; /* "TLSv1.3 with cipher ..." for Received: */
	char *auth_user;     /* canonical user after AUTH, else NULL */
	char *auth_mech;     /* its mechanism */
	enum smtpd_auth_state auth_state;
	uint32_t auth_req;     /* the request waiting for its callback */
	uint32_t auth_session; /* the SASL session id */
	/* message fix-ups for authenticated mail (smtpd_queue.c) */
	bool fix_hold; /* content is held until the headers end */
	struct buf fix_held;
	bool saw_date, saw_msgid;
	struct smtpd_session *prev, *next;
};

/* ---- smtpd.c ---- */

/* smtpd_session_unlink - take s off the session list and drop its client
 * count (the session is being freed). */
void smtpd_session_unlink(struct smtpd_session *s);

/* ---- smtpd_session.c ---- */

/* smtpd_session_start - look up the client's name, then greet (or refuse
 * with reason, a whole reply line without CRLF, and close) a new session
 * on fd; s is zeroed by the caller with conf, sa, salen, addr and port
 * filled in, and too_many set when the client is over the connection
 * limit.  Input waits until the greeting. */
void smtpd_session_start(struct smtpd_session *s, int fd, const char *refuse);
/* smtpd_reply - queue one reply (text without CRLF; "250-" lines allowed
 * in a multi-line reply written by one call with embedded CRLFs). */
void smtpd_reply(struct smtpd_session *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* smtpd_reply_error - an error reply: counted toward the soft and hard
 * limits (delayed past the soft one, 421 and close at the hard one). */
void smtpd_reply_error(struct smtpd_session *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* smtpd_txn_reset - forget the transaction (RSET, HELO, after the data). */
void smtpd_txn_reset(struct smtpd_session *s);
/* smtpd_touch - input arrived: restart the idle timer. */
void smtpd_touch(struct smtpd_session *s);
/* smtpd_log_reject - "QID|NOQUEUE: reject: VERB from NAME[ADDR]: REPLY;
 * from=<s> to=<r> proto=P helo=<h>" (rcpt may be NULL). */
void smtpd_log_reject(struct smtpd_session *s, const char *qid, const char *verb, const char *reply,
		      const char *rcpt);
/* smtpd_proto - "SMTP" after HELO; after EHLO "ESMTP", with "S" for TLS
 * and "A" for AUTH (RFC 3848: ESMTPS, ESMTPA, ESMTPSA). */
const char *smtpd_proto(const struct smtpd_session *s);
/* smtpd_session_resume - input may flow again (after an AUTH exchange
 * step), unless an error reply is being held back. */
void smtpd_session_resume(struct smtpd_session *s);
/* smtpd_session_reset - forget everything the client said: HELO, the
 * transaction, authentication (after STARTTLS, RFC 3207 4.2). */
void smtpd_session_reset(struct smtpd_session *s);
/* smtpd_session_free - free a session whose connection is gone (s->conn
 * NULL): on_close leaves that to the commit's completion while a commit
 * is in flight. */
void smtpd_session_free(struct smtpd_session *s);

/* ---- smtpd_tls.c ---- */

/* smtpd_tls_init - the TLS context from smtpd_tls_cert_file/key_file when
 * TLS is wanted; -1 with err when it is required (encrypt, wrapper mode)
 * and cannot be loaded, a warning and no STARTTLS when only offered. */
int smtpd_tls_init(struct smtpd_conf *conf, struct err *err) ATTR_WARN_UNUSED;
/* smtpd_tls_ctx - the SSL_CTX for a new connection (NULL: no TLS). */
SSL_CTX *smtpd_tls_ctx(const struct smtpd_conf *conf);
/* smtpd_tls_offered - EHLO lists STARTTLS in this session. */
bool smtpd_tls_offered(const struct smtpd_session *s);
/* smtpd_tls_required - TLS is required now and not there (encrypt level,
 * client not exempt): MAIL and AUTH get 530 5.7.0. */
bool smtpd_tls_required(const struct smtpd_session *s);
/* smtpd_tls_starttls - the STARTTLS command. */
bool smtpd_tls_starttls(struct smtpd_session *s);
/* smtpd_tls_established - loop's on_tls: log, remember the cipher. */
void smtpd_tls_established(struct smtpd_session *s);

/* ---- smtpd_peer.c ---- */

/* smtpd_peer_init - client names: a resolver context in conf->dns when
 * lookup (smtpd_peername_lookup) is on; servers as dns_servers.  -1 with
 * err when the resolver refuses the settings. */
int smtpd_peer_init(struct smtpd_conf *conf, char **servers, size_t n_servers, bool lookup,
		    unsigned int timeout_ms, struct err *err) ATTR_WARN_UNUSED;
/* smtpd_peer_lookup - set s->name: "unknown", or the forward-confirmed
 * name of s->sa; done(s) runs from the loop when the lookup ends or times
 * out (at once, from inside this call, when there is nothing to look up:
 * lookups off, not an IP client). */
void smtpd_peer_lookup(struct smtpd_session *s, smtpd_peer_done_fn *done);
/* smtpd_peer_cancel - drop a lookup in progress: done never runs. */
void smtpd_peer_cancel(struct smtpd_session *s);
/* smtpd_peer_deinit - cancel, and free the name (the session ends). */
void smtpd_peer_deinit(struct smtpd_session *s);

/* ---- smtpd_auth.c ---- */

/* smtpd_auth_offered - EHLO lists AUTH in this session. */
bool smtpd_auth_offered(const struct smtpd_session *s);
/* smtpd_auth_command - the AUTH command; true when the exchange started. */
bool smtpd_auth_command(struct smtpd_session *s);
/* smtpd_auth_response - a line while in SMTPD_AUTH_RESPONSE. */
void smtpd_auth_response(struct smtpd_session *s, const char *line, size_t len, int flags);
/* smtpd_auth_abort - drop an exchange in progress (disconnect, STARTTLS). */
void smtpd_auth_abort(struct smtpd_session *s);
/* smtpd_auth_forget - abort, and forget the authenticated user. */
void smtpd_auth_forget(struct smtpd_session *s);

/* ---- smtpd_content.c ---- */

/* smtpd_content_data - the DATA command (cmd parsed, verb counted). */
void smtpd_content_data(struct smtpd_session *s);
/* smtpd_content_bdat - the BDAT command. */
void smtpd_content_bdat(struct smtpd_session *s);
/* smtpd_content_input - raw-mode input (DATA or BDAT phase). */
void smtpd_content_input(struct smtpd_session *s, struct evbuffer *in);
/* smtpd_content_abort - drop content state (RSET, disconnect). */
void smtpd_content_abort(struct smtpd_session *s);
/* smtpd_content_committed - loop thread, the commit of s's message (qid,
 * counted for verb) is over: error NULL when the file and active/ are on
 * disk (250), else the reason (451 4.3.0).  Input flows again; a session
 * whose client left meanwhile (s->conn NULL) is freed. */
void smtpd_content_committed(struct smtpd_session *s, enum smtpd_verb verb, const char *qid,
			     const char *error);

/* ---- smtpd_queue.c ---- */

/* smtpd_queue_begin - create the queue file, write the envelope and the
 * Received: header; -1 with err (logged by the caller). */
int smtpd_queue_begin(struct smtpd_session *s, struct err *err) ATTR_WARN_UNUSED;
/* smtpd_queue_sink - the smtpd_data sink writing into s->q. */
extern const struct smtpd_data_sink smtpd_queue_sink;
/* smtpd_queue_commit - hand the message to a commit thread: the END
 * record, fsync, rename to active/, fsync of active/ run there, and
 * smtpd_content_committed(s, verb, ...) runs on the loop thread after.
 * s->q is taken over and s->commit set meanwhile.  -1 with err when
 * there is no queue file (nothing started). */
int smtpd_queue_commit(struct smtpd_session *s, enum smtpd_verb verb,
		       struct err *err) ATTR_WARN_UNUSED;
/* smtpd_queue_fix_reset - drop held content and the header flags. */
void smtpd_queue_fix_reset(struct smtpd_session *s);
/* smtpd_queue_id - the queue ID, "NOQUEUE" before the file exists. */
const char *smtpd_queue_id(const struct smtpd_session *s);

/* ---- smtpd_check.c ---- */

/* smtpd_check_rcpt - may addr (canonical) be a recipient of this client?
 * 0, or -1 with err->msg the whole reply (550 5.1.1, 554 5.7.1, 451 4.3.0). */
int smtpd_check_rcpt(struct smtpd_session *s, const char *addr, struct err *err) ATTR_WARN_UNUSED;
/* smtpd_check_sender - may the authenticated user send as addr (the MAIL
 * FROM path, "" for <>)?  0, or -1 with err->msg the whole reply (553 5.7.1
 * not owned, 451 4.3.0 lookup failure).  0 when nobody is authenticated. */
int smtpd_check_sender(struct smtpd_session *s, const char *addr, struct err *err) ATTR_WARN_UNUSED;
/* smtpd_check_expn - the EXPN reply for arg into reply_r (multi-line
 * allowed); returns the reply code. */
int smtpd_check_expn(struct smtpd_session *s, const char *arg, size_t len, struct buf *reply_r);

#endif
