/*
 * pop3d_cmd.h - parse one POP3 command line (RFC 1939, RFC 2449, RFC 2595,
 * RFC 5034) into a verb and checked arguments.  Pure: no I/O, no state;
 * whether a command is allowed in the session's state is the caller's
 * business (pop3d_login.c, pop3d_trans.c).
 */
#ifndef TERN_POP3D_CMD_H
#define TERN_POP3D_CMD_H

#include "sys.h"

#include "buf.h"

struct err;

enum pop3d_verb {
	POP3D_USER,
	POP3D_PASS,
	POP3D_APOP,
	POP3D_AUTH,
	POP3D_STLS,
	POP3D_CAPA,
	POP3D_QUIT,
	POP3D_STAT,
	POP3D_LIST,
	POP3D_RETR,
	POP3D_DELE,
	POP3D_NOOP,
	POP3D_RSET,
	POP3D_TOP,
	POP3D_UIDL,
};

/* POP3D_ARG_MAX - longest USER name, APOP digest or AUTH mechanism. */
#define POP3D_ARG_MAX 255

struct pop3d_cmd {
	enum pop3d_verb verb;
	const char *name;   /* the verb in upper case ("RETR") */
	unsigned int nargs; /* arguments present */
	unsigned int msg;   /* LIST/UIDL (when nargs 1), RETR, DELE, TOP: >= 1 */
	unsigned int lines; /* TOP: body lines, >= 0 */
	struct buf arg;	    /* USER name, PASS password (rest of the line,
			     * spaces included), APOP name, AUTH mechanism */
	struct buf arg2;    /* APOP digest, AUTH initial response */
};

/* pop3d_cmd_init / pop3d_cmd_deinit - an embedded command; deinit wipes
 * the argument buffers (a PASS line holds a password). */
void pop3d_cmd_init(struct pop3d_cmd *cmd);
void pop3d_cmd_deinit(struct pop3d_cmd *cmd);

/* pop3d_cmd_parse - parse line (len bytes, without CRLF) into cmd.  The
 * keyword is case-insensitive and separated from its arguments by one or
 * more spaces.  -1 with err->msg the text for "-ERR <msg>": unknown
 * command, NUL or other control bytes, wrong number of arguments, a number
 * that is not a plain decimal (or is 0 where a message number is meant),
 * an argument over POP3D_ARG_MAX. */
int pop3d_cmd_parse(const char *line, size_t len, struct pop3d_cmd *cmd,
		    struct err *err) ATTR_WARN_UNUSED;

#endif
