/*
 * err.h - the error record that fallible library calls fill.
 * A call returns 0 or -1; on -1 err->msg says what went wrong in a form fit
 * for a log line or an operator ("main.cf:12: bad value ..."), and err->code
 * optionally carries an errno or a protocol reply code.
 */
#ifndef TERN_ERR_H
#define TERN_ERR_H

#include "sys.h"

#define ERR_MSG_MAX 256

struct err {
	int code;
	char msg[ERR_MSG_MAX];
};

/* err_set - format the message (truncated to fit); returns -1 for tail calls. */
int err_set(struct err *err, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* err_set_code - like err_set, also setting err->code. */
int err_set_code(struct err *err, int code, const char *fmt, ...) ATTR_PRINTF(3, 4);
/* err_clear - reset to "no error". */
void err_clear(struct err *err);

#endif
