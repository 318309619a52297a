/* fuzz_mime8to7.c - 8-bit to 7-bit MIME conversion of arbitrary messages;
 * a message that was converted must come out 7-bit in its bodies. */
#include "fuzz.h"
#include "buf.h"
#include "mime8to7.h"

FUZZ(data, size)
{
	struct buf out = BUF_INIT;

	(void)mime8to7_has_8bit(data, size);
	(void)mime8to7_convert((const char *)data, size, &out);
	buf_reset(&out);
	mime8to7_qp((const char *)data, size, &out);
	if (mime8to7_has_8bit(out.data, out.len))
		abort();
	buf_reset(&out);
	mime8to7_base64(data, size, &out);
	buf_deinit(&out);
	return 0;
}
