/* fuzz_smtpcmd.c - smtpd_cmd_parse over one line; byte 0 picks the flags.
 * A refusal must carry a reply whose code matches err.code. */
#include "fuzz.h"
#include "err.h"
#include "smtpd/smtpd_cmd.h"

FUZZ(data, size)
{
	struct smtpd_cmd cmd;
	struct err err;
	int flags = size > 0 ? data[0] | (data[0] & 1) << 8 : 0;

	smtpd_cmd_init(&cmd);
	if (smtpd_cmd_parse(size > 0 ? (const char *)data + 1 : "", size > 0 ? size - 1 : 0, flags,
			    &cmd, &err) < 0 && atoi(err.msg) != err.code)
		abort();
	smtpd_cmd_deinit(&cmd);
	return 0;
}
