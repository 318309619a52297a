/*
 * qfile.h - the queue file: typed records (type byte, varint length, data)
 * in three segments, ENVELOPE, CONTENT and END, each with its own table of
 * allowed record types.  A file is complete only when it ends with the END
 * record; anything shorter is incomplete and is never delivered.
 *
 * Writer: qfile_writer_new on a fresh empty file, envelope setters (any
 * order, recipients last or interleaved), then qfile_writer_content any
 * number of times, then qfile_writer_finish (END record, size fixed up, fsync).
 * Errors are sticky: setters return nothing, finish reports the first one.
 * The caller then renames the file out of incoming/ and fsyncs the directory.
 *
 * Reader: qfile_read_envelope (fd) or qfile_parse (bytes) validate the whole
 * file and fill struct qfile_env; qfile_content_reader streams the content.
 * qfile_mark_rcpt rewrites one recipient's status byte in place.
 * The on-disk format is described in docs/queue-format.md.
 * See: Postfix record.c, rec_type.h.
 */
#ifndef TERN_QFILE_H
#define TERN_QFILE_H

#include "sys.h"

#include <sys/time.h>

struct buf;
struct err;

/* QFILE_VERSION - the format version written in the first record. */
#define QFILE_VERSION 1
/* QFILE_REC_MAX - largest data part of any record (bytes). */
#define QFILE_REC_MAX 65536
/* QFILE_CHUNK - content bytes per CONTENT record the writer emits. */
#define QFILE_CHUNK 32768
/* QFILE_RCPT_MAX - most recipients a queue file may hold. */
#define QFILE_RCPT_MAX 100000
/* QFILE_ATTR_MAX - most free-form attributes a queue file may hold. */
#define QFILE_ATTR_MAX 1000

/* Record types (one byte, printable so `od -c` reads a queue file). */
enum qfile_rec {
	QREC_VERSION = 'V',     /* ENV, first record: decimal version */
	QREC_TIME = 'T',        /* ENV: arrival "SECONDS.UUUUUU" */
	QREC_SIZE = 'Z',        /* ENV: content size, 15 decimal digits */
	QREC_FLAGS = 'F',       /* ENV: decimal QFILE_F_* mask */
	QREC_MSTAT = 'W',       /* ENV: 1 byte QFILE_MSTAT_* mask, rewritten */
	QREC_ENVID = 'E',       /* ENV: DSN ENVID (xtext-decoded) */
	QREC_SENDER = 'S',      /* ENV: envelope sender, "" for <> */
	QREC_CLIENT_NAME = 'N', /* ENV: client host name */
	QREC_CLIENT_ADDR = 'A', /* ENV: client IP address */
	QREC_CLIENT_PORT = 'P', /* ENV: client port, decimal */
	QREC_HELO = 'H',        /* ENV: HELO/EHLO argument */
	QREC_PROTO = 'O',       /* ENV: SMTP, ESMTP, ESMTPSA, local ... */
	QREC_SASL_USER = 'U',   /* ENV: authenticated user */
	QREC_ATTR = 'K',        /* ENV: "name=value" extension attribute */
	QREC_RCPT = 'R',        /* ENV: one recipient (see docs) */
	QREC_MESSAGE = 'M',     /* ENV -> CONTENT: start of content, empty */
	QREC_DATA = 'D',        /* CONTENT: content bytes */
	QREC_END = 'X',         /* CONTENT -> END: last record, empty */
};

/* Message flags (QREC_FLAGS). */
#define QFILE_F_8BITMIME 0x01u   /* BODY=8BITMIME */
#define QFILE_F_BINARYMIME 0x02u /* BODY=BINARYMIME (excludes 8BITMIME) */
#define QFILE_F_SMTPUTF8 0x04u   /* SMTPUTF8 */
#define QFILE_F_RET_FULL 0x08u   /* RET=FULL */
#define QFILE_F_RET_HDRS 0x10u   /* RET=HDRS (excludes RET=FULL) */
#define QFILE_F_ALL 0x1fu

/* Message status byte (QREC_MSTAT), rewritten in place. */
#define QFILE_MSTAT_DELAY_SENT 0x01u /* a delay warning has been sent */
#define QFILE_MSTAT_ALL 0x01u

/* Recipient NOTIFY flags (RFC 3461); 0 means NOTIFY was not given. */
#define QFILE_NOTIFY_NEVER 0x01u
#define QFILE_NOTIFY_SUCCESS 0x02u
#define QFILE_NOTIFY_FAILURE 0x04u
#define QFILE_NOTIFY_DELAY 0x08u
#define QFILE_NOTIFY_ALL 0x0fu

/* Recipient status byte, rewritten in place by qfile_mark_rcpt. */
#define QFILE_RCPT_PENDING 'P' /* not yet delivered or bounced */
#define QFILE_RCPT_DONE 'D' /* delivered, or its bounce is in queue/bounce */

/* Reader verdicts in err->code. */
enum qfile_code {
	QFILE_OK = 0,
	QFILE_INCOMPLETE = 1, /* ends before END: still being written or cut */
	QFILE_CORRUPT = 2,    /* cannot be a prefix of any valid queue file */
	QFILE_IOERR = 3,      /* read, write or sync failed (err says errno) */
};

struct qfile_rcpt {
	char *addr;          /* recipient address (no <>) */
	char *orcpt_type;    /* ORCPT addr-type ("rfc822", "utf-8"), "" if none */
	char *orcpt;         /* ORCPT value (xtext-decoded), "" if none */
	unsigned int notify; /* QFILE_NOTIFY_* */
	uint8_t status;      /* QFILE_RCPT_PENDING or QFILE_RCPT_DONE */
	off_t status_offset; /* where qfile_mark_rcpt writes; recipient key */
};

struct qfile_attr {
	char *name;
	char *value;
};

struct qfile_env {
	unsigned int version;
	struct timeval arrival;
	uint64_t content_size;   /* bytes of content, checked against the chunks */
	unsigned int flags;      /* QFILE_F_* */
	uint8_t mstat;           /* QFILE_MSTAT_* */
	off_t mstat_offset;      /* for qfile_mark_message */
	char *envid;             /* NULL when absent */
	char *sender;            /* "" for the null sender */
	char *client_name;       /* the client fields are NULL when absent */
	char *client_addr;
	unsigned int client_port; /* 0 when absent */
	char *helo;
	char *proto;
	char *sasl_user;
	struct qfile_attr *attrs;
	size_t attr_count;
	struct qfile_rcpt *rcpts;
	size_t rcpt_count;
	size_t rcpt_pending;     /* recipients still QFILE_RCPT_PENDING */
	off_t content_offset;    /* first CONTENT record (after MESSAGE) */
	off_t file_size;         /* offset just past the END record */
};

/* ---- writer ---- */

struct qfile_writer;

/* qfile_writer_new - write a queue file into fd, a new empty file open for
 * writing at offset 0 (from qid_create_file).  The fd stays the caller's. */
struct qfile_writer *qfile_writer_new(int fd);
/* qfile_writer_free - accepts NULL, sets *wp NULL; does not close the fd. */
void qfile_writer_free(struct qfile_writer **wp);

/* Envelope setters.  Each single-valued field may be set once; strings must
 * hold no control bytes (< 0x20, 0x7f).  arrival, sender and at least one
 * recipient are required; flags default to 0.  Any violation makes the
 * writer fail (sticky) and qfile_writer_finish report it. */
void qfile_writer_arrival(struct qfile_writer *w, const struct timeval *tv);
void qfile_writer_flags(struct qfile_writer *w, unsigned int flags);
void qfile_writer_envid(struct qfile_writer *w, const char *envid);
void qfile_writer_sender(struct qfile_writer *w, const char *sender);
/* qfile_writer_client - name, addr, helo, proto may be NULL (not written);
 * port 0 is not written. */
void qfile_writer_client(struct qfile_writer *w, const char *name, const char *addr,
			 unsigned int port, const char *helo, const char *proto);
void qfile_writer_sasl_user(struct qfile_writer *w, const char *user);
/* qfile_writer_attr - an extension attribute; name is [A-Za-z0-9_.-]{1,64}. */
void qfile_writer_attr(struct qfile_writer *w, const char *name, const char *value);
/* qfile_writer_rcpt - one recipient; orcpt_type/orcpt NULL or "" for none
 * (both or neither); notify is a QFILE_NOTIFY_* mask (NEVER alone). */
void qfile_writer_rcpt(struct qfile_writer *w, const char *addr, const char *orcpt_type,
		       const char *orcpt, unsigned int notify);

/* qfile_writer_content - append len content bytes exactly as given.  The
 * first call closes the envelope (later setters fail the writer). */
void qfile_writer_content(struct qfile_writer *w, const void *data, size_t len);
/* qfile_writer_text - like qfile_writer_content but turns CRLF into LF
 * (a CR at the end of one call is held until the next shows what follows). */
void qfile_writer_text(struct qfile_writer *w, const void *data, size_t len);

/* qfile_writer_failed - true once an error has been recorded. */
bool qfile_writer_failed(const struct qfile_writer *w);
/* qfile_writer_finish - write the END record, fill in the content size,
 * fsync the file.  0, or -1 with the first error (sticky).  The file is
 * complete and durable; the caller renames it and fsyncs the directory. */
int qfile_writer_finish(struct qfile_writer *w, struct err *err) ATTR_WARN_UNUSED;
/* qfile_writer_size - bytes written so far (the file size after finish). */
uint64_t qfile_writer_size(const struct qfile_writer *w);

/* ---- reader ---- */

/* qfile_parse - validate a whole queue file held in memory and fill env_r
 * (heap copies; qfile_env_deinit).  0, or -1 with err->code QFILE_INCOMPLETE
 * or QFILE_CORRUPT (env_r is then empty). */
int qfile_parse(const void *data, size_t len, struct qfile_env *env_r, struct err *err)
	ATTR_WARN_UNUSED;
/* qfile_read_envelope - the same from an open file, read with pread (the
 * content is walked record by record, not loaded); err->code may also be
 * QFILE_IOERR. */
int qfile_read_envelope(int fd, struct qfile_env *env_r, struct err *err) ATTR_WARN_UNUSED;
/* qfile_env_deinit - free what a reader filled in; env may be reused. */
void qfile_env_deinit(struct qfile_env *env);

/* qfile_verify - open path (no symlinks) and validate it completely: for
 * postsuper, tern check and the queue manager's start-up scan. */
int qfile_verify(const char *path, struct err *err) ATTR_WARN_UNUSED;

struct qfile_content_reader;

/* qfile_content_reader_new - stream the content of the file in fd whose
 * envelope was read into env (the offsets are copied; env may go away). */
struct qfile_content_reader *qfile_content_reader_new(int fd, const struct qfile_env *env);
void qfile_content_reader_free(struct qfile_content_reader **rp);
/* qfile_content_read - replace out with the next chunk of content: 1 with
 * data, 0 at the end (all content_size bytes seen and END found), -1 with
 * err (the file changed under us, or I/O). */
int qfile_content_read(struct qfile_content_reader *r, struct buf *out, struct err *err)
	ATTR_WARN_UNUSED;

/* qfile_mark_rcpt - set the recipient status byte at offset (from
 * qfile_rcpt.status_offset) with pwrite, then fdatasync.  The byte there
 * must currently be a recipient status byte. */
int qfile_mark_rcpt(int fd, off_t offset, uint8_t status, struct err *err) ATTR_WARN_UNUSED;
/* qfile_mark_message - the same for the message status byte
 * (qfile_env.mstat_offset); mstat is a QFILE_MSTAT_* mask. */
int qfile_mark_message(int fd, off_t offset, uint8_t mstat, struct err *err)
	ATTR_WARN_UNUSED;

/* ---- record primitives (shared by the writer, the reader and tools) ---- */

/* QFILE_VARINT_MAX - bytes in the longest varint (lengths <= QFILE_REC_MAX). */
#define QFILE_VARINT_MAX 3

/* qfile_put_varint - append v (<= QFILE_REC_MAX) as LEB128: 7 bits a byte,
 * low bits first, high bit set on every byte but the last. */
void qfile_put_varint(struct buf *out, uint32_t v);
/* qfile_get_varint - decode a varint from the avail bytes at p: 0 with the
 * value and its byte count, 1 if p ends inside it, -1 if it is over-long
 * (more than QFILE_VARINT_MAX bytes, or a redundant zero top byte) or its
 * value is over QFILE_REC_MAX. */
int qfile_get_varint(const uint8_t *p, size_t avail, uint32_t *v_r, size_t *used_r)
	ATTR_WARN_UNUSED;
/* qfile_put_rec - append one record (type, varint length, data) to out. */
void qfile_put_rec(struct buf *out, int type, const void *data, size_t len);
/* qfile_text_ok - true if the len bytes at s hold no byte < 0x20 and no 0x7f
 * (UTF-8 passes): what every envelope string record must satisfy. */
bool qfile_text_ok(const char *s, size_t len);
/* qfile_attr_name_ok - an attribute name: [A-Za-z0-9_.-]{1,64}. */
bool qfile_attr_name_ok(const char *s, size_t len);
/* qfile_orcpt_type_ok - an RFC 3461 addr-type: [A-Za-z0-9-]{1,32}. */
bool qfile_orcpt_type_ok(const char *s, size_t len);
/* qfile_notify_ok - known QFILE_NOTIFY_* bits only, NEVER alone. */
bool qfile_notify_ok(unsigned int notify);
/* qfile_flags_ok - known QFILE_F_* bits, no BODY or RET conflict. */
bool qfile_flags_ok(unsigned int flags);

#endif
