/*
 * xtext.h - RFC 3461 xtext (ENVID, ORCPT, AUTH=) and the RFC 6533
 * utf-8-addr-xtext / utf-8-addr-unitext forms of ORCPT=utf-8;...
 * Decoding is strict: what a conforming client sends, nothing more.
 * See: RFC 3461 4, RFC 4954 5, RFC 6533 3, docs/smtp-parsing.md.
 */
#ifndef TERN_XTEXT_H
#define TERN_XTEXT_H

#include "sys.h"

struct buf;
struct err;

/* xtext_decode - decode xtext: bytes 33..126 except '+' and '=' stand for
 * themselves, "+HH" (two upper-case hex digits) for any byte.  out is reset
 * first.  Returns 0, or -1 with err ("501 5.5.4 Bad xtext") on an empty
 * input, a bad byte or a bad escape. */
int xtext_decode(const char *s, size_t len, struct buf *out, struct err *err) ATTR_WARN_UNUSED;

/* xtext_encode - append the xtext form of n bytes to out. */
void xtext_encode(const char *s, size_t len, struct buf *out);

/* xtext_valid - true if s is well-formed, non-empty xtext. */
bool xtext_valid(const char *s, size_t len);

/* xtext_decode_utf8addr - decode an RFC 6533 utf-8-addr-xtext (ASCII with
 * "\x{HEX}" escapes) or, with allow_utf8, a utf-8-addr-unitext (raw UTF-8
 * too) into UTF-8.  The escape takes 1..6 hex digits (either case, no
 * leading zero) naming a Unicode scalar value other than NUL; '\\', '+' and
 * '=' may not appear bare, nor may controls, space or DEL.  The result is
 * checked to be valid UTF-8.  out is reset first; -1 with err ("501 5.5.4
 * Bad utf-8-addr-xtext") on any fault. */
int xtext_decode_utf8addr(const char *s, size_t len, bool allow_utf8, struct buf *out,
			  struct err *err) ATTR_WARN_UNUSED;

/* xtext_encode_utf8addr - append the utf-8-addr-xtext form of a UTF-8
 * address (non-ASCII characters and the bytes the form forbids become
 * "\x{HEX}"); bytes that are not valid UTF-8 become U+FFFD. */
void xtext_encode_utf8addr(const char *s, size_t len, struct buf *out);

#endif
