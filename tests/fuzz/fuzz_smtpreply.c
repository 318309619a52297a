/* fuzz_smtpreply.c - SMTP server replies line by line, then EHLO keywords. */
#include "fuzz.h"
#include "buf.h"
#include "smtp/smtp_reply.h"

FUZZ(data, size)
{
	struct smtp_reply r;
	struct smtp_ehlo e;
	struct buf out = BUF_INIT;
	const char *p = (const char *)data, *end = p + size, *nl;

	smtp_reply_init(&r);
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl != NULL ? nl : end;
		if (smtp_reply_feed(&r, p, (size_t)(nl - p), NULL) != 0)
			smtp_ehlo_parse(&r, &e), smtp_reply_format(&r, &out, 512);
	}
	return buf_deinit(&out), smtp_reply_deinit(&r), 0;
}
