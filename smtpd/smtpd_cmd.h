/*
 * smtpd_cmd.h - one SMTP command line parsed into struct smtpd_cmd (pure).
 * The session reads a line, strips CRLF, caps its length and calls
 * smtpd_cmd_parse with flags telling which extensions it offered; on -1 it
 * sends err->msg as the reply.  Policy (is the client allowed to relay, is
 * SIZE over message_size_limit, is STARTTLS offered) stays with the session.
 * See: RFC 5321 4.1, RFC 1870, 3030, 3461, 4954, 6152, 6531, 6533,
 *      docs/smtp-parsing.md.
 */
#ifndef TERN_SMTPD_CMD_H
#define TERN_SMTPD_CMD_H

#include "sys.h"

#include "buf.h"

struct err;

/* enum smtpd_verb - the commands smtpd knows. */
enum smtpd_verb {
	SMTPD_VERB_NONE,
	SMTPD_VERB_HELO,
	SMTPD_VERB_EHLO,
	SMTPD_VERB_MAIL,
	SMTPD_VERB_RCPT,
	SMTPD_VERB_DATA,
	SMTPD_VERB_BDAT,
	SMTPD_VERB_RSET,
	SMTPD_VERB_NOOP,
	SMTPD_VERB_QUIT,
	SMTPD_VERB_VRFY,
	SMTPD_VERB_EXPN,
	SMTPD_VERB_HELP,
	SMTPD_VERB_STARTTLS,
	SMTPD_VERB_AUTH,
};

/* Flags for smtpd_cmd_parse: what the session offered or the client declared. */
#define SMTPD_CMD_STRICT         (1 << 0) /* RFC 5321 to the letter: no space after
					     "FROM:", no bare paths, no trailing
					     space, HELO must be a valid name */
#define SMTPD_CMD_EXT_SIZE       (1 << 1) /* SIZE= (RFC 1870) */
#define SMTPD_CMD_EXT_8BITMIME   (1 << 2) /* BODY=7BIT|8BITMIME (RFC 6152) */
#define SMTPD_CMD_EXT_BINARYMIME (1 << 3) /* BODY=BINARYMIME (RFC 3030) */
#define SMTPD_CMD_EXT_SMTPUTF8   (1 << 4) /* SMTPUTF8, UTF-8 sender (RFC 6531) */
#define SMTPD_CMD_EXT_DSN        (1 << 5) /* RET ENVID NOTIFY ORCPT (RFC 3461) */
#define SMTPD_CMD_EXT_AUTH       (1 << 6) /* AUTH= on MAIL (RFC 4954) */
#define SMTPD_CMD_EXT_ALL        0x7e     /* every extension above */
#define SMTPD_CMD_TXN_UTF8       (1 << 8) /* this transaction's MAIL said SMTPUTF8:
					     RCPT may carry UTF-8 */

/* Bits of smtpd_cmd.params: which ESMTP parameters were given. */
#define SMTPD_PARAM_SIZE     (1u << 0)
#define SMTPD_PARAM_BODY     (1u << 1)
#define SMTPD_PARAM_SMTPUTF8 (1u << 2)
#define SMTPD_PARAM_RET      (1u << 3)
#define SMTPD_PARAM_ENVID    (1u << 4)
#define SMTPD_PARAM_AUTH     (1u << 5)
#define SMTPD_PARAM_NOTIFY   (1u << 6)
#define SMTPD_PARAM_ORCPT    (1u << 7)

/* BODY= values. */
enum smtpd_body { SMTPD_BODY_NONE, SMTPD_BODY_7BIT, SMTPD_BODY_8BITMIME, SMTPD_BODY_BINARYMIME };
/* RET= values. */
enum smtpd_ret { SMTPD_RET_NONE, SMTPD_RET_FULL, SMTPD_RET_HDRS };
/* NOTIFY= bits; NEVER is alone. */
#define SMTPD_NOTIFY_NEVER   (1u << 0)
#define SMTPD_NOTIFY_SUCCESS (1u << 1)
#define SMTPD_NOTIFY_FAILURE (1u << 2)
#define SMTPD_NOTIFY_DELAY   (1u << 3)

/* Limits on arguments, in octets as sent. */
#define SMTPD_CMD_LINE_MAX   4096 /* whole line; the session's own cap is lower */
#define SMTPD_CMD_ARG_MAX    512  /* VRFY/EXPN/HELP/NOOP argument */
#define SMTPD_CMD_HELO_MAX   255  /* HELO/EHLO argument */
#define SMTPD_CMD_ENVID_MAX  100  /* ENVID, RFC 3461 4.4 */
#define SMTPD_CMD_ORCPT_MAX  500  /* ORCPT value, RFC 3461 4.2 */
#define SMTPD_CMD_AUTH_MAX   1024 /* AUTH initial response, AUTH= value */

/* struct smtpd_cmd - a parsed command.  Init once, parse many times (each
 * parse resets every field and reuses the buffers), deinit at the end. */
struct smtpd_cmd {
	enum smtpd_verb verb;
	struct buf arg;        /* HELO/EHLO name (lowercased when valid, else as
				  sent), VRFY/EXPN/HELP/NOOP text, AUTH mechanism
				  (upper-cased) */
	bool helo_valid;       /* the HELO/EHLO name is a valid domain or literal */
	struct buf auth_resp;  /* AUTH initial response as sent ("=" = empty) */
	bool has_auth_resp;
	struct buf addr;       /* MAIL/RCPT path, canonical; "" for <> */
	unsigned int params;   /* SMTPD_PARAM_* present */
	uint64_t size;         /* SIZE= value, or BDAT chunk size */
	bool last;             /* BDAT ... LAST */
	enum smtpd_body body;
	enum smtpd_ret ret;
	unsigned int notify;   /* SMTPD_NOTIFY_* */
	struct buf envid;      /* ENVID=, decoded */
	struct buf orcpt_type; /* ORCPT= address type, lowercased ("rfc822") */
	struct buf orcpt;      /* ORCPT= address, decoded (UTF-8 for utf-8) */
	struct buf auth;       /* AUTH= on MAIL, decoded; "" for <> */
	struct buf scratch;    /* the parser's own */
};

/* smtpd_cmd_init / smtpd_cmd_deinit - set up and release a command record. */
void smtpd_cmd_init(struct smtpd_cmd *cmd);
void smtpd_cmd_deinit(struct smtpd_cmd *cmd);

/* smtpd_cmd_parse - parse one command line of len bytes (without CRLF).
 * Pure: no I/O, no globals.  flags: SMTPD_CMD_*.  Returns 0 with cmd
 * filled, or -1 with err->code the reply code and err->msg the whole reply
 * ("501 5.5.4 Syntax: MAIL FROM:<address>"); cmd->verb is then still set
 * when the verb was recognized, so the session can count errors per verb. */
int smtpd_cmd_parse(const char *line, size_t len, int flags, struct smtpd_cmd *cmd,
		    struct err *err) ATTR_WARN_UNUSED;

/* smtpd_verb_name - the verb in upper case ("MAIL"), "" for NONE. */
const char *smtpd_verb_name(enum smtpd_verb verb);

#endif
