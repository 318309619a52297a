/*
 * cfg.h - main.cf: `name = value` lines, continuation lines (a line that
 * starts with whitespace continues the previous one), `#` comments, and
 * $name / ${name} / $(name) expansion.  Every parameter is declared once in
 * lib/params.def with its type and default; docs/configuration.md is checked
 * against that table (tests/check_docs.sh).
 *
 * The table and its lookups live in cfg_table.c, the rest in cfg.c.
 * Values are validated against their type when main.cf is loaded, so the
 * typed getters never fail.  An unknown name is warned about (log_warn, and
 * listed by cfg_problems) but is not an error, as in Postfix.
 * See: Postfix mail_params.h, docs/configuration.md.
 */
#ifndef TERN_CFG_H
#define TERN_CFG_H

#include "sys.h"

struct err;
struct buf;

enum cfg_type {
	CFG_STR,   /* any text */
	CFG_INT,   /* decimal, >= 0 */
	CFG_BOOL,  /* yes/no */
	CFG_TIME,  /* duration, default unit seconds: 10s, 5m, 2h, 5d, 1w */
	CFG_DAYS,  /* duration, default unit days (maximal_queue_lifetime) */
	CFG_LIST,  /* comma and/or whitespace separated list */
};

struct cfg_param {
	const char *name;
	enum cfg_type type;
	const char *def;   /* default value, may contain $name */
	const char *doc;   /* one line for postconf -d and the docs */
};

/* cfg_params - the table of every parameter (from params.def), n in *n_r. */
const struct cfg_param *cfg_params(size_t *n_r);
/* cfg_param_find - the table entry for name, or NULL. */
const struct cfg_param *cfg_param_find(const char *name);
/* cfg_param_lookup - the entry that gives name its type and default: its
 * own table entry, or for a per-transport name TRANSPORT_SUFFIX (TRANSPORT
 * of [a-z0-9_-], SUFFIX one of _destination_concurrency_limit,
 * _destination_recipient_limit, _destination_rate_delay) the entry of
 * default_SUFFIX; NULL for any other name.  Such names are never "unknown":
 * they are validated with that type, and when unset cfg_get gives the
 * default_SUFFIX value and cfg_get_raw "$default_SUFFIX".  The typed getters
 * accept them (e.g. cfg_get_time(cfg, "smtp_destination_rate_delay")). */
const struct cfg_param *cfg_param_lookup(const char *name);

/* A per-transport family: TRANSPORT + suffix is typed and defaulted by
 * base; ref is that default as postconf shows it ("$default_..."). */
struct cfg_template {
	const char *suffix;
	const char *base;
	const char *ref;
};
/* cfg_template_find - the family the n bytes at name belong to (TRANSPORT
 * of [a-z0-9_-], then a family suffix), or NULL. */
const struct cfg_template *cfg_template_find(const char *name, size_t n);

struct cfg;

/* cfg_load - read DIR/main.cf (DIR is also $config_directory).  Syntax and
 * type errors fail with "DIR/main.cf:LINE: ..." in err. */
struct cfg *cfg_load(const char *config_dir, struct err *err) ATTR_WARN_UNUSED;
/* cfg_new_defaults - a cfg with only defaults (postconf -d, tests). */
struct cfg *cfg_new_defaults(const char *config_dir);
/* cfg_parse_string - parse main.cf text (tests, fuzzing); name is used in
 * error messages in place of the file name. */
struct cfg *cfg_parse_string(const char *config_dir, const char *name, const char *text,
			     size_t len, struct err *err) ATTR_WARN_UNUSED;
void cfg_free(struct cfg **cfgp);

/* cfg_set - override a value (daemon -o name=value); validated like main.cf
 * values; -1 with err for a bad value. Unknown names are accepted. */
int cfg_set(struct cfg *cfg, const char *name, const char *value, struct err *err)
	ATTR_WARN_UNUSED;

/* cfg_get - expanded value of name (explicit or default); "" for a name that
 * is neither set nor in the table.  The pointer stays valid until the next
 * cfg_set or cfg_free. */
const char *cfg_get(struct cfg *cfg, const char *name);
/* cfg_get_raw - the value as written (unexpanded); NULL when not set in
 * main.cf and not in the table. */
const char *cfg_get_raw(const struct cfg *cfg, const char *name);
/* cfg_is_set - true if main.cf (or cfg_set) gave name a value. */
bool cfg_is_set(const struct cfg *cfg, const char *name);
/* Typed getters: names must be of the matching type in params.def
 * (log_panic otherwise: that is a programming error). */
long cfg_get_int(struct cfg *cfg, const char *name);
bool cfg_get_bool(struct cfg *cfg, const char *name);
long cfg_get_time(struct cfg *cfg, const char *name);  /* seconds, CFG_TIME or CFG_DAYS */
/* cfg_get_list - NULL-terminated heap array (free with str_split_free);
 * commas and whitespace separate, except inside {...}. */
char **cfg_get_list(struct cfg *cfg, const char *name, size_t *count_r);

/* cfg_problems - warnings found while loading (unknown names, $name of an
 * unknown parameter), one per line, "DIR/main.cf:LINE: ...". */
const char *cfg_problems(const struct cfg *cfg);

/* cfg_foreach_set - call fn for each name set in main.cf, in file order. */
void cfg_foreach_set(const struct cfg *cfg,
		     void (*fn)(const char *name, const char *raw, void *ctx), void *ctx);

/* cfg_edit_file - set (value != NULL) or remove (value == NULL) one name in
 * the main.cf at path, keeping every other line and comment; written with
 * safe replacement (temp, fsync, rename).  For postconf name=value / -X. */
int cfg_edit_file(const char *path, const char *name, const char *value, struct err *err)
	ATTR_WARN_UNUSED;

#endif
