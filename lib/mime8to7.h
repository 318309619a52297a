/*
 * mime8to7.h - convert a message with 8-bit MIME body parts into 7-bit
 * form for an SMTP server that does not offer 8BITMIME (RFC 6152 section
 * 3, RFC 2045): every leaf part whose body holds a byte over 127 and whose
 * Content-Transfer-Encoding is 7bit, 8bit, binary or absent is re-encoded,
 * text parts as quoted-printable and everything else as base64; multipart and
 * message/rfc822 containers are walked (their 8bit encoding label becomes
 * 7bit); a message without MIME-Version gets "MIME-Version: 1.0" when a
 * part of it is converted.  Header fields are left as they are.
 * Input and output use LF line ends (the queue's content form).
 * Limits: multipart nesting deeper than MIME8TO7_DEPTH_MAX is not walked
 *         (the deep part is encoded as one opaque body), and 8-bit header
 *         text is passed through unchanged (RFC 6152 has no conversion
 *         for it), as Postfix does.
 * See: RFC 2045 6.7/6.8, RFC 2046 5.1, RFC 6152, docs/smtp.md.
 */
#ifndef TERN_MIME8TO7_H
#define TERN_MIME8TO7_H

#include "sys.h"

struct buf;

/* MIME8TO7_DEPTH_MAX - deepest container nesting walked. */
#define MIME8TO7_DEPTH_MAX 32
/* MIME8TO7_LINE_MAX - longest encoded line (RFC 2045: 76). */
#define MIME8TO7_LINE_MAX 76

/* mime8to7_has_8bit - true if any of the len bytes is over 127. */
bool mime8to7_has_8bit(const void *data, size_t len);

/* mime8to7_convert - append the 7-bit form of the message (len bytes at
 * in) to out.  Never fails: whatever cannot be parsed as MIME is treated
 * as a text/plain body; a body that needs no change is copied byte for
 * byte.  Returns the number of parts that were re-encoded. */
size_t mime8to7_convert(const char *in, size_t len, struct buf *out);

/* mime8to7_qp - append the quoted-printable form of len bytes (LF line
 * ends stay hard line breaks) to out. */
void mime8to7_qp(const char *in, size_t len, struct buf *out);
/* mime8to7_base64 - append the base64 form in lines of 76 characters
 * separated by LF (no LF after the last line) to out. */
void mime8to7_base64(const void *in, size_t len, struct buf *out);

#endif
