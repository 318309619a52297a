/*
 * paths.h - where tern's programs live.  The daemons are found in
 * $daemon_directory; left empty (the default) it is the directory beside the
 * running program: the program's own directory when it holds "master" (the
 * program is itself a daemon or master), else ../libexec/tern from it (the
 * program is an admin command in sbin/).
 * See: docs/architecture.md "Processes".
 */
#ifndef TERN_PATHS_H
#define TERN_PATHS_H

#include "sys.h"

struct buf;
struct cfg;
struct err;

/* paths_daemon_dir - the daemon directory into out (replacing it): main.cf's
 * daemon_directory, or paths_beside(/proc/self/exe).  -1 with err when the
 * running program cannot be found. */
int paths_daemon_dir(struct cfg *cfg, struct buf *out, struct err *err) ATTR_WARN_UNUSED;

/* paths_beside - the daemon directory for a program at exe_path (absolute):
 * dirname(exe_path) when it holds an executable "master", otherwise
 * dirname(exe_path)/../libexec/tern, made canonical when it exists. */
void paths_beside(const char *exe_path, struct buf *out);

#endif
