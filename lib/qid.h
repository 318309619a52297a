/*
 * qid.h - queue IDs: unique on one host across processes and restarts,
 * sortable by arrival time, [0-9A-Za-z] only, fixed length QID_LEN.
 *
 * Layout (16 characters, base 62 with digits 0-9 A-Z a-z in ASCII order,
 * most significant digit first, so byte order is numeric order):
 *     SSSSSS  seconds since the epoch    (6 digits, good until year 3770)
 *     UUUU    microseconds, < 1000000    (4 digits)
 *     PPPP    process id                 (4 digits, pid < 62^4)
 *     CC      per-process sequence       (2 digits)
 * Within a process the (time, sequence) part is strictly increasing even if
 * the clock steps back; two processes differ in PPPP; a pid reused after a
 * restart runs at a later time.  Whatever slips through (a clock set back
 * across a restart) is caught by qid_create_file's O_EXCL retry.
 * See: Postfix mail_queue.c (long queue IDs), docs/queue-format.md.
 */
#ifndef TERN_QID_H
#define TERN_QID_H

#include "sys.h"

#include <sys/time.h>

struct err;

/* QID_LEN - characters in a queue ID; QID_SIZE - with the trailing NUL. */
#define QID_LEN 16
#define QID_SIZE (QID_LEN + 1)

/* qid_new - a fresh queue ID for "now" into id_r (QID_SIZE bytes). */
void qid_new(char id_r[QID_SIZE]);

/* qid_make - the queue ID for arrival time tv, process pid and sequence seq
 * (seq < 3844); deterministic, for tests and tools.  pid must be < 62^4. */
void qid_make(const struct timeval *tv, unsigned long pid, unsigned int seq,
	      char id_r[QID_SIZE]);

/* qid_valid - true if s is a well-formed queue ID: exactly QID_LEN
 * characters of [0-9A-Za-z] whose microsecond field is below 1000000.
 * Use it on every ID that comes from outside (arguments, file names). */
bool qid_valid(const char *s);

/* qid_time - the arrival time encoded in id; -1 if id is not valid. */
int qid_time(const char *id, struct timeval *tv_r) ATTR_WARN_UNUSED;

/* qid_create_file - pick a new queue ID and create the file of that name in
 * dirfd with O_CREAT|O_EXCL|O_RDWR|O_NOFOLLOW|O_CLOEXEC, mode 0600; on
 * EEXIST try again with a new ID (bounded).  Returns the open fd with the
 * name in id_r, or -1 with err (err->code = errno). */
int qid_create_file(int dirfd, char id_r[QID_SIZE], struct err *err) ATTR_WARN_UNUSED;

#endif
