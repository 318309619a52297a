/*
 * paths.c - locate the daemon directory (see paths.h).
 * Touches:  /proc/self/exe, access(2) and realpath(3) on the program's dir.
 * Security: the result comes from main.cf (trusted) or from the kernel's
 *           record of the running binary, never from the environment.
 * Errors:   -1 with "readlink /proc/self/exe: ..." in err.
 */
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "paths.h"

void paths_beside(const char *exe_path, struct buf *out)
{
	const char *slash = strrchr(exe_path, '/');
	char real[PATH_MAX];
	size_t dirlen;

	buf_reset(out);
	if (slash == NULL) {
		buf_adds(out, ".");
	} else {
		dirlen = slash == exe_path ? 1 : (size_t)(slash - exe_path);
		buf_add(out, exe_path, dirlen);
	}
	buf_adds(out, "/master");
	if (access(buf_cstr(out), X_OK) == 0) {
		buf_truncate(out, out->len - strlen("/master"));
		return;
	}
	buf_truncate(out, out->len - strlen("/master"));
	buf_adds(out, "/../libexec/tern");
	if (realpath(buf_cstr(out), real) != NULL)
		buf_sets(out, real);
}

int paths_daemon_dir(struct cfg *cfg, struct buf *out, struct err *err)
{
	const char *dir = cfg != NULL ? cfg_get(cfg, "daemon_directory") : "";
	char exe[PATH_MAX];
	ssize_t n;

	if (*dir != '\0') {
		buf_sets(out, dir);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return err_set_code(err, errno, "readlink /proc/self/exe: %s", strerror(errno));
	if ((size_t)n >= sizeof(exe) - 1)
		return err_set(err, "readlink /proc/self/exe: path too long");
	exe[n] = '\0';
	paths_beside(exe, out);
	return 0;
}
