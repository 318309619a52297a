/* fuzz_pickuphdr.c - pickup's header scan, sendmail -t recipients, addresses. */
#include "fuzz.h"
#include "buf.h"
#include "pickup/pickup_hdr.h"

static int none(const char *a, size_t n, void *ctx) { return 0; }

FUZZ(data, size)
{
	struct pickup_hdr_scan r;
	struct buf out = BUF_INIT;
	const char *s = (const char *)data;

	if (pickup_hdr_scan(s, size, true, &r) == 1 && r.hdr_len <= size)
		(void)!pickup_hdr_rcpts(s, r.hdr_len, none, NULL, &out, NULL);
	(void)!pickup_addr_parse(s, size, size & 1, &out, NULL);
	buf_deinit(&out);
	return 0;
}
