/* fuzz_aliasvalue.c - local's alias value / :include: line splitter. */
#include "fuzz.h"
#include "local/local.h"
#include "str.h"
#include "xmem.h"

FUZZ(data, size)
{
	char *value = xmemdup(data, size);
	size_t n;
	char **v = local_alias_split(value, &n);

	str_split_free(&v);
	free(value);
	return 0;
}
