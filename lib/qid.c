/*
 * qid.c - generate, validate and decode queue IDs (see qid.h for layout).
 * Touches:  the clock; qid_create_file creates one file in a directory.
 * Input:    qid_valid/qid_time take untrusted strings (arguments, file
 *           names) and read at most QID_LEN + 1 bytes of them.
 * Security: IDs carry no secret; O_EXCL|O_NOFOLLOW keeps creation safe in
 *           a queue directory that other processes write.
 * Errors:   qid_create_file returns -1 with err (code = errno).
 * See:      Postfix mail_queue.c, docs/queue-format.md.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "err.h"
#include "qid.h"

#define QID_SEC_DIGITS 6
#define QID_USEC_DIGITS 4
#define QID_PID_DIGITS 4
#define QID_SEQ_DIGITS 2
#define QID_SEQ_MAX (62u * 62u)
#define QID_PID_MAX (62ul * 62ul * 62ul * 62ul)
#define QID_CREATE_TRIES 100

static const char qid_digits[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Per-process state: the last (time, sequence) handed out. */
static struct timeval qid_last;
static unsigned int qid_seq;

/* put_digits - write v as n base-62 digits, most significant first. */
static void put_digits(char *out, unsigned long long v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = qid_digits[v % 62];
		v /= 62;
	}
}

/* digit_value - base-62 value of c, or -1. */
static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 36;
	return -1;
}

/* get_digits - decode n base-62 digits (already checked by qid_valid). */
static unsigned long long get_digits(const char *s, int n)
{
	unsigned long long v = 0;

	for (int i = 0; i < n; i++)
		v = v * 62 + (unsigned long long)digit_value(s[i]);
	return v;
}

void qid_make(const struct timeval *tv, unsigned long pid, unsigned int seq,
	      char id_r[QID_SIZE])
{
	char *p = id_r;

	put_digits(p, (unsigned long long)tv->tv_sec, QID_SEC_DIGITS);
	p += QID_SEC_DIGITS;
	put_digits(p, (unsigned long long)tv->tv_usec, QID_USEC_DIGITS);
	p += QID_USEC_DIGITS;
	put_digits(p, pid % QID_PID_MAX, QID_PID_DIGITS);
	p += QID_PID_DIGITS;
	put_digits(p, seq % QID_SEQ_MAX, QID_SEQ_DIGITS);
	id_r[QID_LEN] = '\0';
}

void qid_new(char id_r[QID_SIZE])
{
	struct timeval now;

	gettimeofday(&now, NULL);
	if (timercmp(&now, &qid_last, >)) {
		qid_last = now;
		qid_seq = 0;
	} else if (++qid_seq >= QID_SEQ_MAX) {
		/* Sequence used up within one microsecond: move time on. */
		qid_seq = 0;
		if (++qid_last.tv_usec >= 1000000) {
			qid_last.tv_usec = 0;
			qid_last.tv_sec++;
		}
	}
	qid_make(&qid_last, (unsigned long)getpid(), qid_seq, id_r);
}

bool qid_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < QID_LEN; i++)
		if (s[i] == '\0' || digit_value(s[i]) < 0)
			return false;
	if (s[QID_LEN] != '\0')
		return false;
	return get_digits(s + QID_SEC_DIGITS, QID_USEC_DIGITS) < 1000000;
}

int qid_time(const char *id, struct timeval *tv_r)
{
	if (!qid_valid(id))
		return -1;
	tv_r->tv_sec = (time_t)get_digits(id, QID_SEC_DIGITS);
	tv_r->tv_usec = (suseconds_t)get_digits(id + QID_SEC_DIGITS, QID_USEC_DIGITS);
	return 0;
}

int qid_create_file(int dirfd, char id_r[QID_SIZE], struct err *err)
{
	int fd;

	for (int tries = 0; tries < QID_CREATE_TRIES; tries++) {
		qid_new(id_r);
		fd = openat(dirfd, id_r, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST && errno != EINTR)
			return err_set_code(err, errno, "create queue file %s: %s", id_r,
					    strerror(errno));
	}
	return err_set_code(err, EEXIST, "create queue file: %d names in use",
			    QID_CREATE_TRIES);
}
