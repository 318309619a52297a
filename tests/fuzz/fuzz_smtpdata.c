/* fuzz_smtpdata.c - smtpd_data_feed in pieces sized by byte 0 (bit 7: BDAT). */
#include "fuzz.h"
#include "smtpd/smtpd_data.h"

static void body(void *ctx, const char *p, size_t n) { *(uint64_t *)ctx += n; }
static const struct smtpd_data_sink sink = { body, NULL };
FUZZ(data, size)
{
	struct smtpd_data d;
	uint64_t out = 0;
	size_t step = size > 0 ? (data[0] & 0x3f) + 1u : 1u, off = size > 0, took = 0;

	smtpd_data_init(&d, size > 0 && (data[0] & 0x80) ? SMTPD_DATA_CHUNKED : 0, 0, 64, &sink, &out);
	for (; off < size && !smtpd_data_done(&d); off += step)
		took += smtpd_data_feed(&d, (const char *)data + off, size - off < step ? size - off : step);
	if (took > size || out > took || d.size != out) /* never more out than in */
		abort();
	smtpd_data_deinit(&d);
	return 0;
}
