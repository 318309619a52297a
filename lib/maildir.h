/*
 * maildir.h - deliver one message into a Maildir (new/ cur/ tmp/) the way
 * the Maildir specification asks: a unique name in tmp/, the data written and
 * fsync'ed, a rename into new/, an fsync of new/.  Readers (pop3d, imapd,
 * Dovecot, mutt) never see a partial file.
 *
 * File names: "SECONDS.M<usec>P<pid>Q<n>.HOST" in tmp/, and the same plus
 * ",S=<size>,W=<size with CRLF line ends>" in new/ (Dovecot's fields: the
 * size in the name saves a stat, W= is what POP3/IMAP report).  '/' and ':'
 * in HOST are written as \057 and \072.
 * See: https://cr.yp.to/proto/maildir.html, docs/store-format.md.
 */
#ifndef TERN_MAILDIR_H
#define TERN_MAILDIR_H

#include "sys.h"

#include <sys/time.h>

struct buf;
struct err;

/* maildir_create - make the Maildir path (its parent must exist) and its
 * tmp/, new/ and cur/, each mode 0700, owned by uid/gid when uid is not
 * (uid_t)-1.  Existing directories are accepted when they are real
 * directories (a symlink anywhere among them is an error). */
int maildir_create(const char *path, uid_t uid, gid_t gid, struct err *err) ATTR_WARN_UNUSED;

/* maildir_source_fn - the message after the prefix, chunk by chunk: put the
 * next chunk in chunk_r (replacing it) and return 1, return 0 at the end,
 * -1 with err on failure. */
typedef int maildir_source_fn(void *ctx, struct buf *chunk_r, struct err *err);

/* maildir_deliver - write prefix (prefix_len bytes, may be 0) and then what
 * src yields into a new file of the Maildir path: tmp/NAME (O_EXCL,
 * O_NOFOLLOW, mode 0600), fsync, rename to new/NAME,S=..,W=.., fsync new/.
 * The final name (without directory) goes to name_r.  On any failure the
 * tmp file is removed and nothing appears in new/.  path and its tmp/ and
 * new/ must not be symlinks.  -1 with err (err->code is the errno, or 0). */
int maildir_deliver(const char *path, const void *prefix, size_t prefix_len, maildir_source_fn *src,
		    void *ctx, struct buf *name_r, struct err *err) ATTR_WARN_UNUSED;

/* maildir_host_escape - append host to out with '/' as \057 and ':' as
 * \072 (the Maildir spec's rule for the host part of a name). */
void maildir_host_escape(struct buf *out, const char *host);

/* maildir_tmp_name - the unique base name for a delivery at tv by process
 * pid, its seq'th delivery, on host: "SECS.M<usec>P<pid>Q<seq>.HOST"
 * (replaces out). */
void maildir_tmp_name(struct buf *out, const struct timeval *tv, unsigned long pid,
		      unsigned long seq, const char *host);

/* maildir_final_name - tmp_name plus ",S=<size>,W=<vsize>" (replaces out). */
void maildir_final_name(struct buf *out, const char *tmp_name, uint64_t size, uint64_t vsize);

/* maildir_name_size - the S= value in a Maildir file name (before any
 * ":2," info part): 0 with *size_r, -1 when there is none. */
int maildir_name_size(const char *name, uint64_t *size_r) ATTR_WARN_UNUSED;

#endif
