/*
 * cmd.h - what every admin command shares: its name in messages, the fatal
 * exit, where the instance directory comes from, and loading its main.cf.
 * Used by tern, postconf, postmap, postalias, postqueue, postsuper, postcat
 * and sendmail (admin/); never by daemons.
 */
#ifndef TERN_CMD_H
#define TERN_CMD_H

#include "sys.h"

struct cfg;

/* cmd_init - set the program name used in messages and in log lines;
 * logging goes to stderr until the command configures more. */
void cmd_init(const char *prog);
/* cmd_prog - the name given to cmd_init. */
const char *cmd_prog(void);
/* cmd_fatal - flush stdout, print "PROG: fatal: TEXT" on stderr and exit
 * with code (1, or a sysexits code for sendmail and postqueue). */
void cmd_fatal(int code, const char *fmt, ...) ATTR_PRINTF(2, 3) ATTR_NORETURN;
/* cmd_config_dir - the instance directory: opt (-c/-C) when given and not
 * empty, else $TERN_CONFIG_DIR when set and not empty, else dflt (which
 * may be NULL: "no instance directory" is then the caller's error). */
const char *cmd_config_dir(const char *opt, const char *dflt);

#define CMD_CFG_DEFAULTS 0x1 /* a DIR without main.cf means the defaults */
/* cmd_load_cfg - DIR/main.cf; any error is cmd_fatal(fatal_code). */
struct cfg *cmd_load_cfg(const char *dir, int flags, int fatal_code);

#endif
