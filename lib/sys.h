/*
 * sys.h - included first by every tern source file.
 * Touches:  nothing; feature macros, attributes and the banned-function list.
 * See:      STYLE.md 5.3 (Postfix sys_defs.h, git banned.h).
 */
#ifndef TERN_SYS_H
#define TERN_SYS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_WARN_UNUSED __attribute__((warn_unused_result))
#define ATTR_UNUSED __attribute__((unused))

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* TERN_VERSION - the release string shown by every command and in logs. */
#define TERN_VERSION "0.1.0"

/*
 * Banned functions (git's banned.h): they overflow or hide state.  Use
 * buf_*, snprintf, str_* instead.  Included after the system headers a file
 * needs, so the macros only poison our own uses.
 */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#define TERN_BANNED(f) sorry_##f##_is_banned_in_tern
#undef strcpy
#define strcpy(a, b) TERN_BANNED(strcpy)
#undef strcat
#define strcat(a, b) TERN_BANNED(strcat)
#undef strncpy
#define strncpy(a, b, n) TERN_BANNED(strncpy)
#undef sprintf
#define sprintf(...) TERN_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) TERN_BANNED(vsprintf)
#undef strtok
#define strtok(a, b) TERN_BANNED(strtok)
#undef gets
#define gets(a) TERN_BANNED(gets)
#undef mktemp
#define mktemp(a) TERN_BANNED(mktemp)

#endif
