/* fuzz_mastercf.c - master.cf: mastercf_parse_string, then look every entry up. */
#include "fuzz.h"
#include "err.h"
#include "mastercf.h"

FUZZ(data, size)
{
	struct err err;
	struct mastercf *m = mastercf_parse_string("master.cf", (const char *)data, size, 100,
						   &err);

	for (size_t i = 0; m != NULL && i < m->count; i++) {
		const struct service *s = &m->services[i];

		if (!service_equal(s, mastercf_find(m, s->name, s->type)))
			__builtin_trap();
	}
	mastercf_free(&m);
	return 0;
}
