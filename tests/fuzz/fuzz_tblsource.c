/* fuzz_tblsource.c - tbl_parse_source; odd first byte ('#'): aliases format, else map. */
#include "sys.h"
#include "err.h"
#include "fuzz.h"
#include "tbl.h"

static int fuzz_entry(const char *key, const char *value, int line, void *ctx)
{
	return *key == '\0' || *value == '\0' ? -1 : 0;
}

FUZZ(data, size)
{
	struct err err;
	int kind = size > 0 && (data[0] & 1) ? TBL_SRC_ALIASES : TBL_SRC_MAP;

	if (tbl_parse_source("fuzz", (const char *)data, size, kind, fuzz_entry, NULL, &err) < 0)
		return 0;
	return 0;
}
