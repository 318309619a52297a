/*
 * fuzz_qfile.c - fuzz the queue file reader (qfile_parse): any bytes must
 * give a complete envelope or a clean INCOMPLETE/CORRUPT verdict.
 * Touches:  nothing but memory.
 */
#include "sys.h"

#include "err.h"
#include "fuzz.h"
#include "qfile.h"

FUZZ(data, size)
{
	struct qfile_env env;
	struct err err;

	if (qfile_parse(data, size, &env, &err) == 0 && env.rcpt_count == 0)
		__builtin_trap(); /* a valid file always has a recipient */
	qfile_env_deinit(&env);
	return 0;
}
