/*
 * pop3d_cmd.c - parse one POP3 command line into struct pop3d_cmd.
 * Touches:  nothing but its arguments (pure: no I/O, no globals).
 * Input:    untrusted; length already capped by the session (loop_conn).
 * Security: runs before authentication in the login process; a PASS line
 *           holds a password, so its copies are wiped (pop3d_cmd_deinit).
 * Errors:   returns -1 and fills err with the text after "-ERR "; never
 *           aborts.
 * See:      RFC 1939 3 and 5-7, RFC 2449, RFC 5034, docs/pop3d.md.
 */
#include "sys.h"

#include "err.h"
#include "pop3d/pop3d_cmd.h"
#include "str.h"

/* Argument shapes. */
enum arg_shape {
	ARGS_NONE,    /* no arguments */
	ARGS_NAME,    /* one word */
	ARGS_REST,    /* the rest of the line (PASS) */
	ARGS_TWO,     /* two words (APOP) */
	ARGS_AUTH,    /* [mechanism [initial-response]] */
	ARGS_OPT_MSG, /* [msg] */
	ARGS_MSG,     /* msg */
	ARGS_TOP,     /* msg lines */
};

static const struct {
	const char *name;
	enum pop3d_verb verb;
	enum arg_shape shape;
} verbs[] = {
	{"USER", POP3D_USER, ARGS_NAME},    {"PASS", POP3D_PASS, ARGS_REST},
	{"APOP", POP3D_APOP, ARGS_TWO},	    {"AUTH", POP3D_AUTH, ARGS_AUTH},
	{"STLS", POP3D_STLS, ARGS_NONE},    {"CAPA", POP3D_CAPA, ARGS_NONE},
	{"QUIT", POP3D_QUIT, ARGS_NONE},    {"STAT", POP3D_STAT, ARGS_NONE},
	{"LIST", POP3D_LIST, ARGS_OPT_MSG}, {"RETR", POP3D_RETR, ARGS_MSG},
	{"DELE", POP3D_DELE, ARGS_MSG},	    {"NOOP", POP3D_NOOP, ARGS_NONE},
	{"RSET", POP3D_RSET, ARGS_NONE},    {"TOP", POP3D_TOP, ARGS_TOP},
	{"UIDL", POP3D_UIDL, ARGS_OPT_MSG},
};

void pop3d_cmd_init(struct pop3d_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	buf_init(&cmd->arg, 0);
	buf_init(&cmd->arg2, 0);
}

/* wipe - clear a buffer's bytes (it may have held a password). */
static void wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_reset(b);
}

void pop3d_cmd_deinit(struct pop3d_cmd *cmd)
{
	wipe(&cmd->arg);
	wipe(&cmd->arg2);
	buf_deinit(&cmd->arg);
	buf_deinit(&cmd->arg2);
}

/* next_word - the word at *p (up to a space or end), advancing *p past it
 * and the spaces after it; its length in *len_r. */
static const char *next_word(const char **p, const char *end, size_t *len_r)
{
	const char *w = *p, *e = w;

	while (e < end && *e != ' ')
		e++;
	*len_r = (size_t)(e - w);
	while (e < end && *e == ' ')
		e++;
	*p = e;
	return w;
}

/* parse_num - a plain decimal of at most 9 digits (RFC 1939 numbers are
 * small); min is the smallest value allowed. */
static int parse_num(const char *s, size_t len, unsigned int min, unsigned int *n_r)
{
	char tmp[16];

	if (len == 0 || len > 9)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (str_to_uint(tmp, n_r) < 0 || *n_r < min)
		return -1;
	return 0;
}

int pop3d_cmd_parse(const char *line, size_t len, struct pop3d_cmd *cmd, struct err *err)
{
	const char *end = line + len, *p = line, *w;
	size_t wlen, i;
	enum arg_shape shape;

	buf_reset(&cmd->arg);
	buf_reset(&cmd->arg2);
	cmd->nargs = 0;
	cmd->msg = cmd->lines = 0;
	for (size_t k = 0; k < len; k++)
		if ((unsigned char)line[k] < 0x20 || line[k] == 0x7f)
			return err_set(err, "Invalid characters in command");
	w = next_word(&p, end, &wlen);
	for (i = 0; i < N_ELEMENTS(verbs); i++)
		if (strlen(verbs[i].name) == wlen && strncasecmp(verbs[i].name, w, wlen) == 0)
			break;
	if (wlen == 0 || i == N_ELEMENTS(verbs))
		return err_set(err, "Unknown command");
	cmd->verb = verbs[i].verb;
	cmd->name = verbs[i].name;
	shape = verbs[i].shape;
	if (shape == ARGS_REST) {
		/* PASS: everything after the one separating space */
		if (wlen >= len || line[wlen] != ' ' || wlen + 1 == len)
			return err_set(err, "%s needs an argument", cmd->name);
		buf_set(&cmd->arg, line + wlen + 1, len - wlen - 1);
		cmd->nargs = 1;
		return 0;
	}
	while (p < end && cmd->nargs < 3) {
		w = next_word(&p, end, &wlen);
		if (cmd->nargs == 0)
			buf_set(&cmd->arg, w, wlen);
		else if (cmd->nargs == 1)
			buf_set(&cmd->arg2, w, wlen);
		cmd->nargs++;
	}
	if (p < end)
		cmd->nargs++;
	switch (shape) {
	case ARGS_NONE:
		if (cmd->nargs != 0)
			return err_set(err, "%s takes no arguments", cmd->name);
		return 0;
	case ARGS_NAME:
	case ARGS_TWO:
		if (cmd->nargs != (shape == ARGS_NAME ? 1u : 2u))
			return err_set(err, "%s: wrong number of arguments", cmd->name);
		if (cmd->arg.len > POP3D_ARG_MAX || cmd->arg2.len > POP3D_ARG_MAX)
			return err_set(err, "%s: argument too long", cmd->name);
		return 0;
	case ARGS_AUTH:
		if (cmd->nargs > 2)
			return err_set(err, "AUTH: wrong number of arguments");
		if (cmd->arg.len > POP3D_ARG_MAX)
			return err_set(err, "AUTH: mechanism name too long");
		return 0;
	case ARGS_OPT_MSG:
	case ARGS_MSG:
		if (cmd->nargs > 1 || (shape == ARGS_MSG && cmd->nargs == 0))
			return err_set(err, "%s: wrong number of arguments", cmd->name);
		if (cmd->nargs == 1 && parse_num(cmd->arg.data, cmd->arg.len, 1, &cmd->msg) < 0)
			return err_set(err, "%s: invalid message number", cmd->name);
		return 0;
	case ARGS_TOP:
		if (cmd->nargs != 2)
			return err_set(err, "TOP: wrong number of arguments");
		if (parse_num(cmd->arg.data, cmd->arg.len, 1, &cmd->msg) < 0)
			return err_set(err, "TOP: invalid message number");
		if (parse_num(cmd->arg2.data, cmd->arg2.len, 0, &cmd->lines) < 0)
			return err_set(err, "TOP: invalid line count");
		return 0;
	case ARGS_REST:
		break;
	}
	return err_set(err, "Unknown command");
}
