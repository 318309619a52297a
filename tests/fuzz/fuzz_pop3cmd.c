/* fuzz_pop3cmd.c - pop3d_cmd_parse over one line.  An accepted command
 * must have its numbers in range and a refusal must carry a message. */
#include "fuzz.h"
#include "err.h"
#include "pop3d/pop3d_cmd.h"

FUZZ(data, size)
{
	struct pop3d_cmd cmd;
	struct err err;

	pop3d_cmd_init(&cmd);
	if (pop3d_cmd_parse((const char *)data, size, &cmd, &err) == 0) {
		if ((cmd.verb == POP3D_RETR || cmd.verb == POP3D_DELE || cmd.verb == POP3D_TOP) &&
		    cmd.msg == 0)
			abort();
	} else if (err.msg[0] == '\0') {
		abort();
	}
	pop3d_cmd_deinit(&cmd);
	return 0;
}
