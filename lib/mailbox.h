/*
 * mailbox.h - read access to one Maildir for the mailbox servers (pop3d,
 * imapd): scan new/ and cur/ into a list of messages with their sizes,
 * unique names and flags; open a message's content; delete it; change its
 * flags (rename to cur/BASE...:2,FLAGS); take a named, exclusive, advisory
 * lock; and the CRLF (and POP3 dot-stuffing) output conversion whose
 * octet count is the size POP3 and IMAP report.
 *
 * Names (docs/store-format.md): "BASE[,S=size][,W=vsize][:2,FLAGS]".
 * BASE (everything before the first ',' or ':') never changes for a
 * message: delivery picks it and renames only ever change the suffixes, so
 * it is the message's identity for UIDLs and for finding a message again
 * after another process (imapd, an MUA) renamed it.
 *
 * A scan does not move anything from new/ to cur/ unless asked to
 * (MAILBOX_SCAN_MOVE_NEW, for imapd): pop3d leaves the Maildir untouched.
 * Symlinks, directories and other non-regular entries in new/ and cur/ are
 * skipped (and counted in skipped), as are names that start with '.'.
 * See: docs/store-format.md, docs/pop3d.md, https://cr.yp.to/proto/maildir.html.
 */
#ifndef TERN_MAILBOX_H
#define TERN_MAILBOX_H

#include "sys.h"

#include <time.h>

struct buf;
struct err;

/* MAILBOX_UIDL_MAX - longest UIDL (RFC 1939 7: 1 to 70 characters). */
#define MAILBOX_UIDL_MAX 70

/* One message found by a scan. */
struct mailbox_msg {
	char *name;	/* file name inside its directory (with suffixes) */
	char *base;	/* the unique base name (before ',' or ':') */
	char *uidl;	/* base when it is 1..70 bytes of 0x21..0x7e, else
			 * "H" + 64 hex digits of SHA-256(base) */
	char *flags;	/* the letters after ":2," ("" when none) */
	uint64_t size;	/* octets in the file */
	uint64_t vsize; /* octets after CRLF conversion (mailbox_crlf) */
	time_t mtime;
	bool in_new; /* lives in new/ (else cur/) */
};

struct mailbox {
	char *path;		  /* the Maildir */
	int dir_fd;		  /* the Maildir, O_DIRECTORY|O_NOFOLLOW */
	int lock_fd;		  /* -1 until mailbox_lock */
	struct mailbox_msg *msgs; /* in delivery order (time, then name) */
	size_t count;
	size_t skipped; /* entries the last scan refused */
};

/* mailbox_open - open the Maildir at path (a symlinked Maildir, new/ or
 * cur/ is refused).  -1 with err; err->code ENOENT when path or its new/
 * or cur/ does not exist. */
int mailbox_open(const char *path, struct mailbox **mb_r, struct err *err) ATTR_WARN_UNUSED;
/* mailbox_free - release the list, the lock and the descriptors; accepts
 * NULL, sets *mbp NULL. */
void mailbox_free(struct mailbox **mbp);

/* mailbox_lock - take the exclusive lock NAME (file "tern-NAME.lock" in the
 * Maildir, flock LOCK_EX|LOCK_NB).  Held until mailbox_free.  -1 with err;
 * err->code EWOULDBLOCK when another session holds it.  Delivery never
 * takes it, so a lock only keeps sessions of one kind apart. */
int mailbox_lock(struct mailbox *mb, const char *name, struct err *err) ATTR_WARN_UNUSED;

/* Scan flags. */
#define MAILBOX_SCAN_MOVE_NEW 0x1 /* rename new/NAME to cur/NAME:2, first */

/* mailbox_scan - (re)build mb->msgs from new/ and cur/.  vsize comes from
 * the name's W= when its S= equals the file's size, else the file is read
 * and converted to count it.  -1 with err when a directory cannot be read. */
int mailbox_scan(struct mailbox *mb, unsigned int flags, struct err *err) ATTR_WARN_UNUSED;

/* mailbox_msg_open - open message i for reading (O_NOFOLLOW, must be a
 * regular file).  When its file was renamed since the scan (flags changed
 * by another process), new/ and cur/ are searched for its base name and
 * the entry is updated.  Returns the descriptor; -1 with err, err->code
 * ENOENT when the message is gone. */
int mailbox_msg_open(struct mailbox *mb, size_t i, struct err *err) ATTR_WARN_UNUSED;

/* mailbox_msg_delete - unlink message i (found again by base name if it
 * was renamed).  A message already gone is success. */
int mailbox_msg_delete(struct mailbox *mb, size_t i, struct err *err) ATTR_WARN_UNUSED;

/* mailbox_msg_set_flags - rename message i to cur/NAME:2,FLAGS where NAME
 * is its name without the old info part and FLAGS the given letters
 * (A-Z, a-z), sorted and without repeats.  Updates the entry. */
int mailbox_msg_set_flags(struct mailbox *mb, size_t i, const char *flags,
			  struct err *err) ATTR_WARN_UNUSED;

/* mailbox_name_parse - split a file name: the base (into base_r), S= and
 * W= values (into *size_r / *vsize_r, UINT64_MAX when absent or
 * malformed), and the info flags after ":2," (into flags_r; "" when none).
 * flags_r may be NULL.  -1 when the name is unusable (empty base). */
int mailbox_name_parse(const char *name, struct buf *base_r, uint64_t *size_r, uint64_t *vsize_r,
		       struct buf *flags_r) ATTR_WARN_UNUSED;

/* mailbox_uidl - the UIDL for base into out (replacing it); see above. */
void mailbox_uidl(const char *base, struct buf *out);

/*
 * CRLF conversion: every LF not preceded by CR becomes CRLF; a final line
 * without a line end gets CRLF (LF if it ended in CR); with dot-stuffing
 * (POP3, SMTP) a line that starts with '.' gets another '.' in front.
 * Feed chunks with mailbox_crlf_add and finish with mailbox_crlf_end; the
 * state carries over between chunks, so chunk boundaries do not matter.
 */
struct mailbox_crlf {
	bool dot_stuff;
	bool bol;     /* at the beginning of a line */
	bool cr;      /* the last byte was CR */
	uint64_t out; /* octets produced so far (dot-stuffing included) */
};

/* mailbox_crlf_init - a fresh converter. */
void mailbox_crlf_init(struct mailbox_crlf *c, bool dot_stuff);
/* mailbox_crlf_add - convert n bytes into out (appended; out may be NULL
 * to count only). */
void mailbox_crlf_add(struct mailbox_crlf *c, const void *p, size_t n, struct buf *out);
/* mailbox_crlf_end - the final line end if one is missing. */
void mailbox_crlf_end(struct mailbox_crlf *c, struct buf *out);

/* mailbox_vsize_fd - the CRLF size (no dot-stuffing) of what fd holds
 * from its current offset to the end. */
int mailbox_vsize_fd(int fd, uint64_t *vsize_r, struct err *err) ATTR_WARN_UNUSED;

#endif
