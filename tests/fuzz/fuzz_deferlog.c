/* fuzz_deferlog.c - the defer/bounce log parser (queue/defer/ID files). */
#include "fuzz.h"
#include "defer_log.h"

FUZZ(data, size)
{
	struct defer_log log;

	defer_log_parse((const char *)data, size, &log);
	if (log.count > 0)
		(void)defer_log_last(&log, log.entries[0].rcpt);
	defer_log_deinit(&log);
	return 0;
}
