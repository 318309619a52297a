/*
 * fuzz_ipc.c - the internal protocol's frame parser (ipc_parse, ipc_get).
 */
#include "fuzz.h"

#include "ipc.h"

FUZZ(data, size)
{
	struct ipc_msg msg;
	struct err err;
	const char *s = NULL;
	uint32_t u = 0;
	uint64_t v = 0;
	const void *d = NULL;
	size_t n = 0;

	if (ipc_parse(data, size, IPC_MAX_FRAME, &msg, &err) == 0)
		(void)ipc_get(&msg, IPC_STRICT, IPC_STR("protocol", &s), IPC_U32("version", &u),
			      IPC_U64("offset", &v), IPC_DATA("data", &d, &n), IPC_END);
	ipc_msg_deinit(&msg);
	return 0;
}
