/*
 * pop3d_msg.h - the pure parts of serving messages: TOP's cut after the
 * header and n body lines, and the list of messages hidden from POP3 by
 * pop3d_delete_mode = hide (file tern-pop3-hidden in the Maildir, one base
 * name per line).
 */
#ifndef TERN_POP3D_MSG_H
#define TERN_POP3D_MSG_H

#include "sys.h"

struct err;
struct mailbox;

/* TOP state, fed the raw file content in chunks. */
struct pop3d_top {
	unsigned int left; /* body lines still to send */
	bool in_body;
	bool line_empty; /* the current line has nothing but CR so far */
	bool done;	 /* the limit was reached */
};

/* pop3d_top_init - send the header, the empty line and lines body lines. */
void pop3d_top_init(struct pop3d_top *t, unsigned int lines);
/* pop3d_top_take - how many of the n bytes at p are still to be sent;
 * fewer than n (and done set) once the last wanted line ended. */
size_t pop3d_top_take(struct pop3d_top *t, const char *p, size_t n);

/* The hidden list: sorted base names. */
struct pop3d_hidden {
	char **names;
	size_t n;
};

/* POP3D_HIDDEN_FILE - its name in the Maildir. */
#define POP3D_HIDDEN_FILE "tern-pop3-hidden"

/* pop3d_hidden_parse - the file's text (len bytes) into h (replacing
 * it); lines that cannot be base names (empty, '/', control bytes) are
 * dropped. */
void pop3d_hidden_parse(struct pop3d_hidden *h, const char *text, size_t len);
/* pop3d_hidden_has - base is in the list. */
bool pop3d_hidden_has(const struct pop3d_hidden *h, const char *base);
/* pop3d_hidden_add - add base (no-op when present). */
void pop3d_hidden_add(struct pop3d_hidden *h, const char *base);
/* pop3d_hidden_format - the file's text: the names that are still in mb
 * (mb may be NULL: all of them), one per line. */
void pop3d_hidden_format(const struct pop3d_hidden *h, const struct mailbox *mb, struct buf *out);
/* pop3d_hidden_deinit - free the list. */
void pop3d_hidden_deinit(struct pop3d_hidden *h);

#endif
