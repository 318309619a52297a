/*
 * sendmail.h - the parts of sendmail(1) shared by its files: handing one
 * message to the pickup daemon (sendmail_submit.c) and the -bs SMTP
 * conversation on stdin/stdout (sendmail_smtp.c).
 * Exit statuses are sysexits(3) codes, carried in err->code.
 */
#ifndef TERN_SENDMAIL_H
#define TERN_SENDMAIL_H

#include "sys.h"

#include <stdio.h>

struct buf;
struct cfg;
struct err;

/* SENDMAIL_TIMEOUT_MS - longest wait for pickup in any one call. */
#define SENDMAIL_TIMEOUT_MS 300000

/* struct sendmail_msg - one message for pickup. */
struct sendmail_msg {
	const char *sender;   /* NULL: pickup's default (login@$myorigin); "" <> */
	const char *fullname; /* NULL: pickup takes the GECOS name */
	char **rcpts;	      /* nrcpt addresses as given (pickup qualifies) */
	size_t nrcpt;
	unsigned int flags;  /* PICKUP_F_* */
	unsigned int notify; /* QFILE_NOTIFY_* for every recipient, 0 none */
	const char *envid;   /* NULL: none */
	const char *data;    /* the content, LF line ends */
	size_t len;
};

/* sendmail_submit - connect to $queue_directory/public/pickup and submit m;
 * the queue ID into qid_r.  -1 with err->msg the reason and err->code
 * EX_TEMPFAIL (pickup unreachable, queue trouble) or EX_DATAERR (pickup
 * refused the envelope or the size). */
int sendmail_submit(struct cfg *cfg, const struct sendmail_msg *m, struct buf *qid_r,
		    struct err *err) ATTR_WARN_UNUSED;

/* sendmail_8bit - true if any of the len bytes at p has the high bit set. */
bool sendmail_8bit(const char *p, size_t len);

/* sendmail_smtp - sendmail -bs: an SMTP session on in/out, each message
 * submitted through pickup as the invoking user; returns the exit status
 * (0 after QUIT or EOF). */
int sendmail_smtp(struct cfg *cfg, FILE *in, FILE *out);

#endif
