/* fuzz_maildirname.c - Maildir file names (S=, W=, :2,flags) and the CRLF
 * and dot-stuffing converter pop3d sends with: fed in two chunks split at
 * byte 0's position, it must give what it gives in one piece. */
#include "fuzz.h"
#include "buf.h"
#include "mailbox.h"

FUZZ(data, size)
{
	struct buf base = BUF_INIT, flags = BUF_INIT, one = BUF_INIT, two = BUF_INIT;
	struct mailbox_crlf c1, c2;
	uint64_t s, w;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;
	char *name = strndup((const char *)data, size);

	if (name != NULL && mailbox_name_parse(name, &base, &s, &w, &flags) == 0)
		mailbox_uidl(buf_cstr(&base), &one);
	free(name);
	buf_reset(&one);
	mailbox_crlf_init(&c1, size & 1);
	mailbox_crlf_add(&c1, data, size, &one);
	mailbox_crlf_end(&c1, &one);
	mailbox_crlf_init(&c2, size & 1);
	mailbox_crlf_add(&c2, data, cut, &two);
	mailbox_crlf_add(&c2, data + cut, size - cut, &two);
	mailbox_crlf_end(&c2, &two);
	if (one.len != two.len || memcmp(one.data, two.data, one.len) != 0 || c1.out != one.len)
		abort();
	buf_deinit(&base);
	buf_deinit(&flags);
	buf_deinit(&one);
	buf_deinit(&two);
	return 0;
}
