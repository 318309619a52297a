/*
 * cfg.c - main.cf: parsing, typed validation, $name expansion with
 *         caching, and in-place editing (the parameter table itself is in
 *         cfg_table.c).
 * Touches:  reads DIR/main.cf (cfg_load; a regular file, not a symlink);
 *           cfg_edit_file rewrites one main.cf with safefile_write (temp file,
 *           fsync, rename, fsync of the directory).
 *           gethostname(2) for the dynamic default of myhostname.
 * Input:    operator-written, so fallible: every byte is checked (no NUL or
 *           control bytes), files and logical lines are size-capped, and
 *           expansion is depth- and length-capped.  Nothing is executed.
 * Security: runs in every daemon (as mail_owner) and in postconf; values are
 *           never handed to a shell here.  No static result buffers.
 * Per-transport: TRANSPORT_destination_{concurrency_limit,recipient_limit,
 *           rate_delay} (TRANSPORT of [a-z0-9_-]) are known names typed and
 *           defaulted by their default_destination_* parameter.
 * Errors:   load fails with "FILE:LINE: ..." in err (syntax, bad name, bad
 *           typed value, recursive expansion); unknown names, duplicates and
 *           $names of unknown parameters are warnings kept in cfg_problems.
 * Limits:   the conditional forms ${name?text} and ${name:text} are
 *           supported; Postfix 3's ${name?{a}:{b}} and operators are not.
 * See:      Postfix mail_params.h, mac_expand.c; docs/configuration.md.
 */
#include "sys.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "safefile.h"
#include "str.h"
#include "xmem.h"

#define CFG_FILE_MAX (4u * 1024 * 1024)  /* largest main.cf read */
#define CFG_LINE_MAX (64u * 1024)        /* largest logical entry */
#define CFG_VALUE_MAX (1024u * 1024)     /* largest expanded value */
#define CFG_DEPTH_MAX 100                /* nested $name references */
#define CFG_QUOTE_MAX 60                 /* bytes of a line quoted in errors */
#define CFG_NAMES_MAX 10000              /* distinct names not in the table */

struct cfg_slot {
	const char *name;              /* param->name, or owned for unknown names */
	const struct cfg_param *param; /* NULL for a name not in the table */
	const struct cfg_template *tmpl;   /* a per-transport name (param NULL) */
	char *raw;                     /* value from main.cf or cfg_set; NULL: unset */
	int line;                      /* line of raw in main.cf; 0: cfg_set */
	char *value;                   /* expanded value (the cache); NULL: not yet */
	bool busy;                     /* being expanded: recursion check */
};

struct cfg {
	char *dir;               /* $config_directory */
	char *file;              /* the name used in messages */
	struct cfg_slot *slots;  /* the table's parameters first, then others */
	size_t nslots;
	size_t *set;             /* indexes of the set slots, in file order */
	size_t nset;
	bool record;             /* note unknown $names in problems (load only) */
	struct buf problems;
};

/* name_char - bytes allowed in a parameter name (Postfix: [A-Za-z0-9_]). */
static bool name_char(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* name_ok - a whole parameter name: non-empty, only name_char bytes. */
static bool name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

/* quote - sanitized, shortened copy of n bytes of s for an error message. */
static const char *quote(struct buf *q, const char *s, size_t n)
{
	buf_reset(q);
	str_sanitize(q, s, n, CFG_QUOTE_MAX);
	return buf_cstr(q);
}

/* where - "FILE:LINE: " for messages about a main.cf line; "" for a
 * default or a cfg_set value (line 0), which no file line holds. */
static const char *where(const struct cfg *cfg, int line, struct buf *w)
{
	buf_reset(w);
	if (line > 0)
		buf_printf(w, "%s:%d: ", cfg->file, line);
	return buf_cstr(w);
}

static struct cfg_slot *slot_find(const struct cfg *cfg, const char *name, size_t n)
{
	for (size_t i = 0; i < cfg->nslots; i++)
		if (strncmp(cfg->slots[i].name, name, n) == 0 && cfg->slots[i].name[n] == '\0')
			return &cfg->slots[i];
	return NULL;
}

/* slot_add - a slot for a name not in the table (a per-transport name
 * gets its template). */
static struct cfg_slot *slot_add(struct cfg *cfg, const char *name)
{
	struct cfg_slot *s;

	cfg->slots = xreallocarray(cfg->slots, cfg->nslots + 1, sizeof(*cfg->slots));
	s = &cfg->slots[cfg->nslots++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->tmpl = cfg_template_find(name, strlen(name));
	return s;
}

/* slot_type - the table entry that types s: its own, or its template's
 * default_* parameter; NULL for an unknown name. */
static const struct cfg_param *slot_type(const struct cfg_slot *s)
{
	if (s->param != NULL)
		return s->param;
	return s->tmpl != NULL ? cfg_param_find(s->tmpl->base) : NULL;
}

static void cache_clear(struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->nslots; i++)
		xfree(&cfg->slots[i].value);
}

/* type_check - is v a valid value of p's type?  *what_r names the type. */
static bool type_check(const struct cfg_param *p, const char *v, const char **what_r)
{
	unsigned long n;
	long secs;
	bool b;

	switch (p->type) {
	case CFG_INT:
		*what_r = "integer";
		return str_to_ulong(v, &n) == 0 && n <= LONG_MAX;
	case CFG_BOOL:
		*what_r = "boolean";
		return str_to_bool(v, &b) == 0;
	case CFG_TIME:
		*what_r = "time";
		return str_to_time(v, 's', &secs) == 0;
	case CFG_DAYS:
		*what_r = "time";
		return str_to_time(v, 'd', &secs) == 0;
	case CFG_STR:
	case CFG_LIST:
		break;
	}
	*what_r = "text";
	return true;
}

/* value_check - type_check of v, the value of s, with the error message
 * "bad TYPE value ... for NAME". */
static int value_check(const struct cfg *cfg, const struct cfg_slot *s, const char *v,
		       int line, struct err *err)
{
	const struct cfg_param *p = slot_type(s);
	struct buf w = BUF_INIT, q = BUF_INIT;
	const char *what;

	if (p == NULL || type_check(p, v, &what)) {
		return 0;
	}
	err_set(err, "%sbad %s value \"%s\" for %s", where(cfg, line, &w), what,
		quote(&q, v, strlen(v)), s->name);
	buf_deinit(&w);
	buf_deinit(&q);
	return -1;
}

/* system_hostname - gethostname(2), "localhost" when it fails or is empty. */
static char *system_hostname(void)
{
	char h[256];

	if (gethostname(h, sizeof(h)) < 0)
		return xstrdup("localhost");
	h[sizeof(h) - 1] = '\0';
	return xstrdup(h[0] ? h : "localhost");
}

static int expand_slot(struct cfg *cfg, struct cfg_slot *s, int depth, struct err *err);

/* expand_ref - append the value of the parameter named by n bytes at name;
 * an unknown name expands to "" and is noted (while loading). */
static int expand_ref(struct cfg *cfg, struct cfg_slot *owner, const char *name, size_t n,
		      struct buf *out, int depth, struct err *err)
{
	struct cfg_slot *s = slot_find(cfg, name, n);
	struct buf w = BUF_INIT, q = BUF_INIT;
	const struct cfg_template *t;

	if (s == NULL && (t = cfg_template_find(name, n)) != NULL)
		s = slot_find(cfg, t->base, strlen(t->base)); /* unset: its default */
	if (s != NULL) {
		if (expand_slot(cfg, s, depth + 1, err) < 0)
			return -1;
		buf_adds(out, s->value);
		return 0;
	}
	if (cfg->record) {
		buf_printf(&cfg->problems, "%s%s: unknown parameter $%s expands to \"\"\n",
			   where(cfg, owner->line, &w), owner->name, quote(&q, name, n));
	}
	buf_deinit(&w);
	buf_deinit(&q);
	return 0;
}

/* expand_text - append text to out with $name, ${name}, $(name),
 * ${name?text}, ${name:text} expanded and $$ made a literal $. */
static int expand_text(struct cfg *cfg, struct cfg_slot *owner, const char *text, size_t len,
		       struct buf *out, int depth, struct err *err)
{
	const char *p = text, *end = text + len;
	struct buf w = BUF_INIT;

	if (depth > CFG_DEPTH_MAX)
		goto deep;
	while (p < end) {
		const char *name, *q;
		char open, close;

		if (*p != '$') {
			buf_addc(out, *p++);
			continue;
		}
		p++;
		if (p < end && *p == '$') {
			buf_addc(out, '$');
			p++;
			continue;
		}
		if (p < end && name_char(*p)) {
			for (name = p; p < end && name_char(*p); p++)
				;
			if (expand_ref(cfg, owner, name, (size_t)(p - name), out, depth, err) < 0)
				goto fail;
			continue;
		}
		if (p >= end || (*p != '{' && *p != '(')) {
			buf_addc(out, '$');  /* a lone $ stays literal, as in Postfix */
			continue;
		}
		open = *p;
		close = open == '{' ? '}' : ')';
		for (name = ++p; p < end && name_char(*p); p++)
			;
		if (p == name || p >= end || (*p != close && *p != '?' && *p != ':')) {
			err_set(err, "%sbad $%c...%c expression in the value of %s",
				where(cfg, owner->line, &w), open, close, owner->name);
			goto fail;
		}
		if (*p == close) {
			if (expand_ref(cfg, owner, name, (size_t)(p - name), out, depth, err) < 0)
				goto fail;
			p++;
			continue;
		}
		/* ${name?text} / ${name:text}: find the matching close. */
		{
			struct buf val = BUF_INIT;
			size_t nlen = (size_t)(p - name);
			char op = *p++;
			int nest = 1;
			bool empty;

			for (q = p; q < end; q++) {
				if (*q == open)
					nest++;
				else if (*q == close && --nest == 0)
					break;
			}
			if (q >= end) {
				err_set(err, "%smissing '%c' in the value of %s",
					where(cfg, owner->line, &w), close, owner->name);
				goto fail;
			}
			if (expand_ref(cfg, owner, name, nlen, &val, depth, err) < 0) {
				buf_deinit(&val);
				goto fail;
			}
			empty = val.len == 0;
			buf_deinit(&val);
			if ((op == '?') != empty &&
			    expand_text(cfg, owner, p, (size_t)(q - p), out, depth + 1, err) < 0)
				goto fail;
			p = q + 1;
		}
	}
	buf_deinit(&w);
	return 0;
deep:
	err_set(err, "%s$name references nested too deeply in the value of %s",
		where(cfg, owner->line, &w), owner->name);
fail:
	buf_deinit(&w);
	return -1;
}

/* slot_text - what a slot expands from: its value, else its default. */
static const char *slot_text(const struct cfg *cfg, const struct cfg_slot *s)
{
	if (s->raw != NULL)
		return s->raw;
	if (s->param == NULL)
		return s->tmpl != NULL ? s->tmpl->ref : "";
	if (strcmp(s->name, "config_directory") == 0)
		return cfg->dir;
	return s->param->def;
}

/* expand_slot - fill s->value (the cache), detecting recursion; applies the
 * dynamic defaults of myhostname and mydomain to an empty result. */
static int expand_slot(struct cfg *cfg, struct cfg_slot *s, int depth, struct err *err)
{
	const char *text;
	struct buf out, w = BUF_INIT;
	int rc;

	if (s->value != NULL)
		return 0;
	if (s->busy) {
		err_set(err, "%sparameter %s expands recursively (its value refers back to it)",
			where(cfg, s->line, &w), s->name);
		buf_deinit(&w);
		return -1;
	}
	text = slot_text(cfg, s);
	buf_init(&out, CFG_VALUE_MAX);
	s->busy = true;
	rc = expand_text(cfg, s, text, strlen(text), &out, depth, err);
	s->busy = false;
	if (rc == 0 && buf_overflowed(&out)) {
		rc = err_set(err, "%svalue of %s is over %u bytes after expansion",
			     where(cfg, s->line, &w), s->name, CFG_VALUE_MAX);
	}
	if (rc == 0 && out.len == 0 && strcmp(s->name, "myhostname") == 0) {
		char *h = system_hostname();

		buf_sets(&out, h);
		free(h);
	} else if (rc == 0 && out.len == 0 && strcmp(s->name, "mydomain") == 0) {
		struct cfg_slot *h = slot_find(cfg, "myhostname", strlen("myhostname"));
		const char *dot;

		rc = h != NULL ? expand_slot(cfg, h, depth + 1, err) : 0;
		dot = rc == 0 && h != NULL ? strchr(h->value, '.') : NULL;
		buf_sets(&out, dot != NULL && dot[1] != '\0' ? dot + 1 : "localdomain");
	}
	buf_deinit(&w);
	if (rc < 0) {
		buf_deinit(&out);
		return -1;
	}
	s->value = xstrdup(buf_cstr(&out));
	buf_deinit(&out);
	return 0;
}

/* mark_set - remember that slot index i was set (for file order). */
static void mark_set(struct cfg *cfg, size_t i)
{
	cfg->set = xreallocarray(cfg->set, cfg->nset + 1, sizeof(*cfg->set));
	cfg->set[cfg->nset++] = i;
}

/* cfg_check - expand every value afresh (filling the cache) and check the
 * typed ones: set values in file order first, so errors name their line. */
static int cfg_check(struct cfg *cfg, struct err *err)
{
	int rc = 0;

	cache_clear(cfg);
	for (size_t k = 0; k < cfg->nset + cfg->nslots && rc == 0; k++) {
		struct cfg_slot *s;

		s = &cfg->slots[k < cfg->nset ? cfg->set[k] : k - cfg->nset];
		if (s->value == NULL)
			rc = expand_slot(cfg, s, 0, err);
		if (rc == 0)
			rc = value_check(cfg, s, s->value, s->line, err);
	}
	return rc;
}

static struct cfg *cfg_create(const char *config_dir, const char *file)
{
	struct cfg *cfg = xcalloc(1, sizeof(*cfg));
	const struct cfg_param *table = cfg_params(&cfg->nslots);

	cfg->dir = xstrdup(config_dir);
	cfg->file = xstrdup(file);
	cfg->slots = xcalloc(cfg->nslots, sizeof(*cfg->slots));
	for (size_t i = 0; i < cfg->nslots; i++) {
		cfg->slots[i].name = table[i].name;
		cfg->slots[i].param = &table[i];
	}
	buf_init(&cfg->problems, 0);
	return cfg;
}

void cfg_free(struct cfg **cfgp)
{
	struct cfg *cfg = *cfgp;

	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nslots; i++) {
		struct cfg_slot *s = &cfg->slots[i];

		if (s->param == NULL)
			free((char *)s->name);
		free(s->raw);
		free(s->value);
	}
	free(cfg->slots);
	free(cfg->set);
	free(cfg->dir);
	free(cfg->file);
	buf_deinit(&cfg->problems);
	free(cfg);
	*cfgp = NULL;
}

struct cfg *cfg_new_defaults(const char *config_dir)
{
	struct cfg *cfg = cfg_create(config_dir, "defaults");
	struct err err;

	if (cfg_check(cfg, &err) < 0)
		log_panic("params.def: %s", err.msg);
	return cfg;
}

/* parse_entry - one logical `name = value` entry starting at line. */
static int parse_entry(struct cfg *cfg, const char *e, size_t len, int line, struct err *err)
{
	const char *eq = memchr(e, '=', len);
	struct buf w = BUF_INIT, q = BUF_INIT;
	size_t nlen, vlen, n_table;
	const char *v;
	struct cfg_slot *s;
	char *name = NULL;
	int rc = -1;

	if (eq == NULL) {
		err_set(err, "%smissing '=' in \"%s\"", where(cfg, line, &w), quote(&q, e, len));
		goto out;
	}
	for (nlen = (size_t)(eq - e); nlen > 0 && isspace((unsigned char)e[nlen - 1]); nlen--)
		;
	if (!name_ok(e, nlen) && cfg_template_find(e, nlen) == NULL) {
		err_set(err, "%sbad parameter name \"%s\"", where(cfg, line, &w),
			quote(&q, e, nlen));
		goto out;
	}
	name = xstrndup(e, nlen);
	for (v = eq + 1; v < e + len && isspace((unsigned char)*v); v++)
		;
	for (vlen = (size_t)(e + len - v); vlen > 0 && isspace((unsigned char)v[vlen - 1]); vlen--)
		;
	rc = 0;
	if (strcmp(name, "config_directory") == 0) {
		buf_printf(&cfg->problems, "%sconfig_directory is not settable in main.cf; ignored\n",
			   where(cfg, line, &w));
		log_warn("%sconfig_directory is not settable in main.cf; ignored",
			 where(cfg, line, &w));
		goto out;
	}
	s = slot_find(cfg, name, nlen);
	(void)cfg_params(&n_table);
	if (s == NULL && cfg->nslots >= n_table + CFG_NAMES_MAX) {
		rc = err_set(err, "%smore than %u unknown parameter names", where(cfg, line, &w),
			     CFG_NAMES_MAX);
		goto out;
	}
	if (s == NULL && cfg_template_find(name, nlen) == NULL) {
		buf_printf(&cfg->problems, "%sunknown parameter %s\n", where(cfg, line, &w), name);
		log_warn("%sunknown parameter %s", where(cfg, line, &w), name);
	}
	if (s == NULL)
		s = slot_add(cfg, name);
	if (s->raw != NULL) {
		buf_printf(&cfg->problems, "%s%s: overrides the value at line %d\n",
			   where(cfg, line, &w), name, s->line);
		xfree(&s->raw);
	} else {
		mark_set(cfg, (size_t)(s - cfg->slots));
	}
	s->raw = xstrndup(v, vlen);
	s->line = line;
	if (memchr(s->raw, '$', vlen) == NULL)
		rc = value_check(cfg, s, s->raw, line, err);
out:
	free(name);
	buf_deinit(&w);
	buf_deinit(&q);
	return rc;
}

/* line_error - "FILE:LINE: what" for a physical line. */
static int line_error(struct cfg *cfg, int line, const char *what, struct err *err)
{
	struct buf w = BUF_INIT;

	err_set(err, "%s%s", where(cfg, line, &w), what);
	buf_deinit(&w);
	return -1;
}

/* cfg_parse - split text into logical entries: comment and blank lines are
 * skipped, a line that starts with whitespace continues the entry above. */
static int cfg_parse(struct cfg *cfg, const char *text, size_t len, struct err *err)
{
	const char *p = text, *end = text + len;
	struct buf entry = BUF_INIT;
	int lineno = 0, entry_line = 0, rc = 0;

	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *q = p;

		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (p[i] == '\0')
				rc = line_error(cfg, lineno, "NUL byte in line", err);
			else if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
				rc = line_error(cfg, lineno, "control character in line", err);
		}
		if (rc == 0 && n > CFG_LINE_MAX)
			rc = line_error(cfg, lineno, "line too long", err);
		if (rc < 0)
			break;
		while (q < p + n && isspace((unsigned char)*q))
			q++;
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (q >= p + n || *q == '#') {
			/* blank or comment line: skipped, does not end an entry */
		} else if (q != p) {
			if (entry_line == 0)
				rc = line_error(cfg, lineno, "continuation line without an entry above",
						err);
			else if (entry.len + n > CFG_LINE_MAX)
				rc = line_error(cfg, lineno, "entry too long", err);
			buf_addc(&entry, ' ');
			buf_add(&entry, q, (size_t)(p + n - q));
		} else {
			if (entry_line > 0)
				rc = parse_entry(cfg, entry.data, entry.len, entry_line, err);
			buf_set(&entry, p, n);
			entry_line = lineno;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (rc == 0 && entry_line > 0)
		rc = parse_entry(cfg, entry.data, entry.len, entry_line, err);
	buf_deinit(&entry);
	return rc;
}

struct cfg *cfg_parse_string(const char *config_dir, const char *name, const char *text,
			     size_t len, struct err *err)
{
	struct cfg *cfg = cfg_create(config_dir, name);

	cfg->record = true;
	if (cfg_parse(cfg, text, len, err) < 0 || cfg_check(cfg, err) < 0) {
		cfg_free(&cfg);
		return NULL;
	}
	cfg->record = false;
	return cfg;
}

struct cfg *cfg_load(const char *config_dir, struct err *err)
{
	char *path = xasprintf("%s/main.cf", config_dir);
	size_t len;
	char *text = safefile_read(path, CFG_FILE_MAX, &len, err);
	struct cfg *cfg = NULL;

	if (text == NULL && err != NULL && err->code == ELOOP)
		err_set_code(err, ELOOP, "%s: a symbolic link; main.cf must be a regular file", path);
	if (text != NULL)
		cfg = cfg_parse_string(config_dir, path, text, len, err);
	free(text);
	free(path);
	return cfg;
}

int cfg_set(struct cfg *cfg, const char *name, const char *value, struct err *err)
{
	struct cfg_slot *s;
	char *old;
	int old_line;
	bool added = false;

	if (!name_ok(name, strlen(name)) && cfg_template_find(name, strlen(name)) == NULL)
		return err_set(err, "bad parameter name \"%s\"", name);
	if (strcmp(name, "config_directory") == 0)
		return err_set(err, "config_directory is not settable");
	for (const char *p = value; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return err_set(err, "control character in the value of %s", name);
	if ((s = slot_find(cfg, name, strlen(name))) == NULL) {
		s = slot_add(cfg, name);
		added = true;
	}
	if (strchr(value, '$') == NULL && value_check(cfg, s, value, 0, err) < 0)
		goto undo_add;
	old = s->raw;
	old_line = s->line;
	if (old == NULL)
		mark_set(cfg, (size_t)(s - cfg->slots));
	s->raw = xstrdup(value);
	s->line = 0;
	if (cfg_check(cfg, err) == 0) {
		free(old);
		return 0;
	}
	free(s->raw);
	s->raw = old;
	s->line = old_line;
	if (old == NULL)
		cfg->nset--;
	if (cfg_check(cfg, &(struct err){ 0 }) < 0)
		log_panic("cfg_set: restoring %s failed", name);
undo_add:
	if (added) {
		free((char *)cfg->slots[cfg->nslots - 1].name);
		free(cfg->slots[cfg->nslots - 1].value);
		cfg->nslots--;
	}
	return -1;
}

const char *cfg_get(struct cfg *cfg, const char *name)
{
	struct cfg_slot *s = slot_find(cfg, name, strlen(name));
	const struct cfg_template *t;
	struct err err;

	if (s == NULL && (t = cfg_template_find(name, strlen(name))) != NULL)
		return cfg_get(cfg, t->base); /* an unset per-transport name */
	if (s == NULL)
		return "";
	if (expand_slot(cfg, s, 0, &err) < 0) {
		log_warn("%s", err.msg);
		return "";
	}
	return s->value;
}

const char *cfg_get_raw(const struct cfg *cfg, const char *name)
{
	const struct cfg_slot *s = slot_find(cfg, name, strlen(name));
	const struct cfg_template *t;

	if (s == NULL && (t = cfg_template_find(name, strlen(name))) != NULL)
		return t->ref;
	if (s == NULL || (s->raw == NULL && s->param == NULL))
		return NULL;
	if (s->raw == NULL && s->value != NULL &&
	    (strcmp(name, "myhostname") == 0 || strcmp(name, "mydomain") == 0))
		return s->value;
	return slot_text(cfg, s);
}

bool cfg_is_set(const struct cfg *cfg, const char *name)
{
	const struct cfg_slot *s = slot_find(cfg, name, strlen(name));

	return s != NULL && s->raw != NULL;
}

/* typed_value - the expanded value of a table parameter of type t or t2. */
static const char *typed_value(struct cfg *cfg, const char *name, enum cfg_type t,
			       enum cfg_type t2)
{
	const struct cfg_param *p = cfg_param_lookup(name);

	if (p == NULL || (p->type != t && p->type != t2))
		log_panic("cfg: %s is not a parameter of the requested type", name);
	return cfg_get(cfg, name);
}

long cfg_get_int(struct cfg *cfg, const char *name)
{
	const char *v = typed_value(cfg, name, CFG_INT, CFG_INT);
	unsigned long n;

	if (str_to_ulong(v, &n) < 0 || n > LONG_MAX)
		log_panic("cfg: %s = \"%s\" passed validation but is no integer", name, v);
	return (long)n;
}

bool cfg_get_bool(struct cfg *cfg, const char *name)
{
	const char *v = typed_value(cfg, name, CFG_BOOL, CFG_BOOL);
	bool b;

	if (str_to_bool(v, &b) < 0)
		log_panic("cfg: %s = \"%s\" passed validation but is no boolean", name, v);
	return b;
}

long cfg_get_time(struct cfg *cfg, const char *name)
{
	const char *v = typed_value(cfg, name, CFG_TIME, CFG_DAYS);
	char unit = cfg_param_lookup(name)->type == CFG_DAYS ? 'd' : 's';
	long secs;

	if (str_to_time(v, unit, &secs) < 0)
		log_panic("cfg: %s = \"%s\" passed validation but is no time", name, v);
	return secs;
}

char **cfg_get_list(struct cfg *cfg, const char *name, size_t *count_r)
{
	return str_split_braces(cfg_get(cfg, name), ", \t", count_r);
}

const char *cfg_problems(const struct cfg *cfg)
{
	return buf_cstr(&cfg->problems);
}

void cfg_foreach_set(const struct cfg *cfg,
		     void (*fn)(const char *name, const char *raw, void *ctx), void *ctx)
{
	for (size_t k = 0; k < cfg->nset; k++)
		fn(cfg->slots[cfg->set[k]].name, cfg->slots[cfg->set[k]].raw, ctx);
}

int cfg_edit_file(const char *path, const char *name, const char *value, struct err *err)
{
	struct buf out = BUF_INIT;
	size_t len = 0, nlen = strlen(name);
	mode_t mode = 0644;
	bool dropping = false, replaced = false;
	struct err rerr;
	struct stat st;
	char *text;
	const char *p, *end;
	int rc;

	if (!name_ok(name, nlen) && cfg_template_find(name, nlen) == NULL)
		return err_set(err, "bad parameter name \"%s\"", name);
	for (const char *v = value; v != NULL && *v; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			return err_set(err, "control character in the value of %s", name);
	text = safefile_read(path, CFG_FILE_MAX, &len, &rerr);
	if (text == NULL && rerr.code != ENOENT)
		return err_set(err, "%s", rerr.msg);
	if (text != NULL && stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	if (text == NULL)
		text = xstrdup("");
	for (p = text, end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl != NULL ? nl + 1 : end, *q = p;
		size_t n;

		while (q < next && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q == next || *q == '\n' || *q == '#') {
			buf_add(&out, p, (size_t)(next - p));  /* blank or comment */
		} else if (q != p) {
			if (!dropping)                          /* continuation */
				buf_add(&out, p, (size_t)(next - p));
		} else {
			for (n = 0; p + n < next && (name_char(p[n]) || p[n] == '-'); n++)
				;
			dropping = n == nlen && memcmp(p, name, n) == 0 &&
				   (p + n == next || isspace((unsigned char)p[n]) || p[n] == '=');
			if (!dropping)
				buf_add(&out, p, (size_t)(next - p));
			else if (value != NULL && !replaced)
				buf_printf(&out, "%s = %s\n", name, value);
			replaced |= dropping;
		}
		p = next;
	}
	if (value != NULL && !replaced) {
		if (out.len > 0 && out.data[out.len - 1] != '\n')
			buf_addc(&out, '\n');
		buf_printf(&out, "%s = %s\n", name, value);
	}
	rc = safefile_write(path, buf_cstr(&out), out.len, mode, err);
	free(text);
	buf_deinit(&out);
	return rc;
}
