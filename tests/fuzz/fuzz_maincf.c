/* fuzz_maincf.c - main.cf: cfg_parse_string, then get every parameter (typed). */
#include "fuzz.h"
#include "cfg.h"
#include "err.h"

FUZZ(data, size)
{
	struct err err;
	struct cfg *cfg = cfg_parse_string("/d", "main.cf", (const char *)data, size, &err);
	size_t n;
	const struct cfg_param *p = cfg_params(&n);

	for (size_t i = 0; cfg != NULL && i < n; i++) {
		if (p[i].type == CFG_INT)
			(void)cfg_get_int(cfg, p[i].name);
		else if (p[i].type == CFG_TIME || p[i].type == CFG_DAYS)
			(void)cfg_get_time(cfg, p[i].name);
		else
			(void)cfg_get(cfg, p[i].name);
	}
	cfg_free(&cfg);
	return 0;
}
