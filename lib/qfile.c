/*
 * qfile.c - queue file record primitives (varints, records, text checks)
 * and the in-place status updates qfile_mark_rcpt / qfile_mark_message.
 * Touches:  the caller's buffers; the mark functions write one byte of an
 *           open queue file and fdatasync it.
 * Input:    qfile_get_varint reads untrusted bytes within the given bound.
 * Security: runs in smtpd/qmgr/delivery agents as mail_owner; an offset is
 *           only written after the byte there reads back as a status byte.
 * Errors:   mark functions return -1 with err (code QFILE_CORRUPT or
 *           QFILE_IOERR); nothing here aborts.
 * See:      qfile.h, docs/queue-format.md, Postfix record.c.
 */
#include "sys.h"

#include <errno.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "qfile.h"

void qfile_put_varint(struct buf *out, uint32_t v)
{
	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		if (v != 0)
			b |= 0x80;
		buf_addc(out, (char)b);
	} while (v != 0);
}

int qfile_get_varint(const uint8_t *p, size_t avail, uint32_t *v_r, size_t *used_r)
{
	uint32_t v = 0;

	for (size_t i = 0; i < QFILE_VARINT_MAX; i++) {
		if (i >= avail)
			return 1;
		v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			if (i > 0 && p[i] == 0)
				return -1; /* redundant zero top byte */
			if (v > QFILE_REC_MAX)
				return -1;
			*v_r = v;
			*used_r = i + 1;
			return 0;
		}
	}
	return -1;
}

void qfile_put_rec(struct buf *out, int type, const void *data, size_t len)
{
	buf_addc(out, (char)type);
	qfile_put_varint(out, (uint32_t)len);
	buf_add(out, data, len);
}

bool qfile_text_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* alnum - ASCII letter or digit. */
static bool alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool qfile_attr_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

bool qfile_orcpt_type_ok(const char *s, size_t len)
{
	if (len == 0 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool qfile_notify_ok(unsigned int notify)
{
	if ((notify & ~QFILE_NOTIFY_ALL) != 0)
		return false;
	return !((notify & QFILE_NOTIFY_NEVER) && notify != QFILE_NOTIFY_NEVER);
}

bool qfile_flags_ok(unsigned int flags)
{
	const unsigned int body = QFILE_F_8BITMIME | QFILE_F_BINARYMIME;
	const unsigned int ret = QFILE_F_RET_FULL | QFILE_F_RET_HDRS;

	return (flags & ~QFILE_F_ALL) == 0 && (flags & body) != body && (flags & ret) != ret;
}

/* mark_byte - check the byte at offset with ok(), then overwrite it with
 * val and fdatasync; what names the byte in messages. */
static int mark_byte(int fd, off_t offset, uint8_t val, bool (*ok)(uint8_t),
		     const char *what, struct err *err)
{
	uint8_t cur;
	ssize_t n;

	if (offset <= 0)
		return err_set_code(err, QFILE_CORRUPT, "%s: bad offset %lld", what,
				    (long long)offset);
	do
		n = pread(fd, &cur, 1, offset);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_set_code(err, QFILE_IOERR, "%s: read at %lld: %s", what,
				    (long long)offset, strerror(errno));
	if (n == 0 || !ok(cur))
		return err_set_code(err, QFILE_CORRUPT, "%s: offset %lld holds no status byte",
				    what, (long long)offset);
	do
		n = pwrite(fd, &val, 1, offset);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return err_set_code(err, QFILE_IOERR, "%s: write at %lld: %s", what,
				    (long long)offset, n < 0 ? strerror(errno) : "short write");
	if (fdatasync(fd) < 0)
		return err_set_code(err, QFILE_IOERR, "%s: fdatasync: %s", what,
				    strerror(errno));
	return 0;
}

/* rcpt_status_ok - a recipient status byte. */
static bool rcpt_status_ok(uint8_t c)
{
	return c == QFILE_RCPT_PENDING || c == QFILE_RCPT_DONE;
}

/* mstat_ok - a message status byte. */
static bool mstat_ok(uint8_t c)
{
	return (c & ~QFILE_MSTAT_ALL) == 0;
}

int qfile_mark_rcpt(int fd, off_t offset, uint8_t status, struct err *err)
{
	if (!rcpt_status_ok(status))
		return err_set_code(err, QFILE_CORRUPT, "recipient status: bad value 0x%02x",
				    status);
	return mark_byte(fd, offset, status, rcpt_status_ok, "recipient status", err);
}

int qfile_mark_message(int fd, off_t offset, uint8_t mstat, struct err *err)
{
	if (!mstat_ok(mstat))
		return err_set_code(err, QFILE_CORRUPT, "message status: bad value 0x%02x",
				    mstat);
	return mark_byte(fd, offset, mstat, mstat_ok, "message status", err);
}
