/* fuzz_addr.c - addr paths (byte 0: flags), header lists, xtext, utf-8-addr-xtext. */
#include "fuzz.h"
#include "addr.h"
#include "buf.h"
#include "xtext.h"

static int none(const char *a, size_t n, void *ctx) { return 0; }

FUZZ(data, size)
{
	struct buf out = BUF_INIT;
	const char *s = size > 0 ? (const char *)data + 1 : "";
	size_t n = size > 0 ? size - 1 : 0;

	(void)!addr_parse_path(s, n, size > 0 ? data[0] & 0x7f : 0, NULL, &out, NULL, NULL);
	(void)!addr_parse_header_list(s, n, none, NULL, NULL);
	(void)!xtext_decode(s, n, &out, NULL);
	(void)!xtext_decode_utf8addr(s, n, n & 1, &out, NULL);
	buf_deinit(&out);
	return 0;
}
