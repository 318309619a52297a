/*
 * test_cfg.c - unit tests for lib/cfg.c: the parameter table, main.cf
 * parsing (good, boundary, malformed), typed validation and getters,
 * $name expansion, dynamic defaults, cfg_set and cfg_edit_file round trips.
 * Touches:  a temp directory under $TMPDIR (removed at the end).
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "str.h"
#include "xmem.h"

/* parse - cfg_parse_string over a C string with name "D/main.cf". */
static struct cfg *parse(const char *text, struct err *err)
{
	return cfg_parse_string("D", "D/main.cf", text, strlen(text), err);
}

/* parse_fails - text (len bytes; 0: a C string) must fail with exactly msg. */
static void parse_fails(const char *text, size_t len, const char *msg)
{
	struct err err;
	struct cfg *cfg;

	cfg = cfg_parse_string("D", "D/main.cf", text, len ? len : strlen(text), &err);

	assert_null(cfg);
	assert_string_equal(err.msg, msg);
}

static void test_table_defaults_valid(void **state)
{
	size_t n;
	const struct cfg_param *p = cfg_params(&n);
	struct cfg *cfg = cfg_new_defaults("/inst");

	assert_true(n > 10);
	for (size_t i = 0; i < n; i++) {
		assert_ptr_equal(cfg_param_find(p[i].name), &p[i]);
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(p[i].name, p[j].name);
		assert_non_null(p[i].doc);
		assert_false(cfg_is_set(cfg, p[i].name));
		(void)cfg_get(cfg, p[i].name);
	}
	assert_string_equal(cfg_problems(cfg), "");
	assert_null(cfg_param_find("no_such_parameter"));
	cfg_free(&cfg);
	assert_null(cfg);
	cfg_free(&cfg);
}

static void test_basic_parse(void **state)
{
	struct err err;
	struct cfg *cfg = parse("# comment\n"
				"\n"
				"myhostname=mx.example.com\n"
				"mydomain   =   example.org   \n"
				"  # indented comment\n"
				"relay_domains = a.example,\n"
				"    b.example\n"
				"\t c.example\n"
				"syslog_name = tern#1\n"
				"virtual_alias_maps =\n", &err);

	assert_non_null(cfg);
	assert_string_equal(cfg_get(cfg, "myhostname"), "mx.example.com");
	assert_string_equal(cfg_get(cfg, "mydomain"), "example.org");
	assert_string_equal(cfg_get(cfg, "relay_domains"), "a.example, b.example c.example");
	assert_string_equal(cfg_get(cfg, "syslog_name"), "tern#1");
	assert_string_equal(cfg_get(cfg, "virtual_alias_maps"), "");
	assert_true(cfg_is_set(cfg, "virtual_alias_maps"));
	assert_false(cfg_is_set(cfg, "mail_owner"));
	assert_string_equal(cfg_get(cfg, "mail_owner"), "tern");
	assert_string_equal(cfg_problems(cfg), "");
	cfg_free(&cfg);
}

static void test_crlf_and_no_final_newline(void **state)
{
	struct err err;
	struct cfg *cfg = parse("mail_owner = x\r\nsyslog_name = y", &err);

	assert_non_null(cfg);
	assert_string_equal(cfg_get(cfg, "mail_owner"), "x");
	assert_string_equal(cfg_get(cfg, "syslog_name"), "y");
	cfg_free(&cfg);
	cfg = parse("", &err);
	assert_non_null(cfg);
	cfg_free(&cfg);
}

static void test_malformed(void **state)
{
	const char nul[] = "mail_owner = a\0b\n";

	parse_fails("mail_owner = x\nthis is wrong\n", 0,
		    "D/main.cf:2: missing '=' in \"this is wrong\"");
	parse_fails(nul, sizeof(nul) - 1, "D/main.cf:1: NUL byte in line");
	parse_fails("a = b\rc\n", 0, "D/main.cf:1: control character in line");
	parse_fails("  mail_owner = x\n", 0,
		    "D/main.cf:1: continuation line without an entry above");
	parse_fails("\n\nmail-owner = x\n", 0, "D/main.cf:3: bad parameter name \"mail-owner\"");
	parse_fails("= x\n", 0, "D/main.cf:1: bad parameter name \"\"");
	parse_fails("a b = x\n", 0, "D/main.cf:1: bad parameter name \"a b\"");
	parse_fails("x\n", 0, "D/main.cf:1: missing '=' in \"x\"");
}

static void test_overlong(void **state)
{
	struct buf b = BUF_INIT;
	struct err err;
	struct cfg *cfg;

	buf_adds(&b, "syslog_name = ");
	for (int i = 0; i < 70000; i++)
		buf_addc(&b, 'x');
	buf_addc(&b, '\n');
	cfg = cfg_parse_string("D", "D/main.cf", b.data, b.len, &err);
	assert_null(cfg);
	assert_string_equal(err.msg, "D/main.cf:1: line too long");
	buf_reset(&b);
	buf_adds(&b, "syslog_name = x\n");
	for (int i = 0; i < 7000; i++)
		buf_adds(&b, "  xxxxxxxxxxx\n");
	cfg = cfg_parse_string("D", "D/main.cf", b.data, b.len, &err);
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "entry too long"));
	buf_deinit(&b);
}

static void test_typed_values(void **state)
{
	struct err err;
	struct cfg *cfg = parse("default_process_limit = 7\n"
				"syslog_enable = yes\n"
				"service_throttle_time = 2m\n"
				"master_stop_timeout = 15\n"
				"mynetworks = 10.0.0.0/8, 192.168.0.0/16 [::1]/128\n", &err);
	char **v;
	size_t n;

	assert_non_null(cfg);
	assert_int_equal(cfg_get_int(cfg, "default_process_limit"), 7);
	assert_true(cfg_get_bool(cfg, "syslog_enable"));
	assert_false(cfg_get_bool(cfg, "debug_logging"));
	assert_int_equal(cfg_get_time(cfg, "service_throttle_time"), 120);
	assert_int_equal(cfg_get_time(cfg, "master_stop_timeout"), 15);
	assert_int_equal(cfg_get_time(cfg, "daemon_timeout"), 18000);
	v = cfg_get_list(cfg, "mynetworks", &n);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "10.0.0.0/8");
	assert_string_equal(v[2], "[::1]/128");
	assert_null(v[3]);
	str_split_free(&v);
	v = cfg_get_list(cfg, "relay_domains", &n);
	assert_int_equal(n, 0);
	assert_null(v[0]);
	str_split_free(&v);
	cfg_free(&cfg);

	parse_fails("\n\n\n\n\n\ndefault_process_limit = abc\n", 0,
		    "D/main.cf:7: bad integer value \"abc\" for default_process_limit");
	parse_fails("default_process_limit = -1\n", 0,
		    "D/main.cf:1: bad integer value \"-1\" for default_process_limit");
	parse_fails("default_process_limit =\n", 0,
		    "D/main.cf:1: bad integer value \"\" for default_process_limit");
	parse_fails("default_process_limit = 99999999999999999999999\n", 0,
		    "D/main.cf:1: bad integer value \"99999999999999999999999\" for "
		    "default_process_limit");
	parse_fails("syslog_enable = maybe\n", 0,
		    "D/main.cf:1: bad boolean value \"maybe\" for syslog_enable");
	parse_fails("max_idle = 10x\n", 0, "D/main.cf:1: bad time value \"10x\" for max_idle");
	/* a typed value that comes from $name is checked after expansion */
	parse_fails("mail_owner = abc\ndefault_process_limit = $mail_owner\n", 0,
		    "D/main.cf:2: bad integer value \"abc\" for default_process_limit");
}

static void test_expansion(void **state)
{
	struct err err;
	struct cfg *cfg = parse("mydomain = example.com\n"
				"myhostname = mx.$mydomain\n"
				"syslog_name = ${mydomain}-$(myhostname)\n"
				"syslog_facility = cost $$5 $ end$\n"
				"mail_owner = ${myhostname?yes}${relay_domains?no}|${relay_domains:empty}\n"
				"relay_domains =\n"
				"setgid_group = ${mydomain?${mail_owner}}\n", &err);

	assert_non_null(cfg);
	assert_string_equal(cfg_get(cfg, "myhostname"), "mx.example.com");
	assert_string_equal(cfg_get(cfg, "syslog_name"), "example.com-mx.example.com");
	assert_string_equal(cfg_get(cfg, "syslog_facility"), "cost $5 $ end$");
	assert_string_equal(cfg_get(cfg, "mail_owner"), "yes|empty");
	assert_string_equal(cfg_get(cfg, "setgid_group"), "yes|empty");
	assert_string_equal(cfg_get(cfg, "queue_directory"), "D/queue");
	assert_string_equal(cfg_get(cfg, "config_directory"), "D");
	assert_string_equal(cfg_get(cfg, "myorigin"), "example.com");
	assert_string_equal(cfg_get_raw(cfg, "myhostname"), "mx.$mydomain");
	assert_string_equal(cfg_get_raw(cfg, "queue_directory"), "$config_directory/queue");
	assert_null(cfg_get_raw(cfg, "no_such_name"));
	assert_string_equal(cfg_get(cfg, "no_such_name"), "");
	assert_string_equal(cfg_problems(cfg), "");
	cfg_free(&cfg);
}

static void test_unknown_ref_and_names(void **state)
{
	struct err err;
	struct cfg *cfg = parse("mail_owner = a${nothing}b\n"
				"my_own_thing = x\n"
				"syslog_name = $my_own_thing\n"
				"config_directory = /elsewhere\n"
				"mail_owner = c${nothing}d\n", &err);

	assert_non_null(cfg);
	assert_string_equal(cfg_get(cfg, "mail_owner"), "cd");
	assert_string_equal(cfg_get(cfg, "syslog_name"), "x");
	assert_string_equal(cfg_get(cfg, "my_own_thing"), "x");
	assert_true(cfg_is_set(cfg, "my_own_thing"));
	assert_string_equal(cfg_get(cfg, "config_directory"), "D");
	assert_string_equal(cfg_problems(cfg),
			    "D/main.cf:2: unknown parameter my_own_thing\n"
			    "D/main.cf:4: config_directory is not settable in main.cf; ignored\n"
			    "D/main.cf:5: mail_owner: overrides the value at line 1\n"
			    "D/main.cf:5: mail_owner: unknown parameter $nothing expands to \"\"\n");
	cfg_free(&cfg);
}

static void test_recursion(void **state)
{
	parse_fails("mail_owner = $mail_owner\n", 0,
		    "D/main.cf:1: parameter mail_owner expands recursively (its value refers "
		    "back to it)");
	parse_fails("syslog_name = x\nmail_owner = ${setgid_group}\n", 0,
		    "D/main.cf:2: parameter mail_owner expands recursively (its value refers "
		    "back to it)");
	parse_fails("mail_owner = ${mail_owner\n", 0,
		    "D/main.cf:1: bad ${...} expression in the value of mail_owner");
	parse_fails("mail_owner = ${x?abc\n", 0,
		    "D/main.cf:1: missing '}' in the value of mail_owner");
}

static void test_expansion_limits(void **state)
{
	struct buf b = BUF_INIT;
	struct err err;
	struct cfg *cfg;

	/* a chain longer than the nesting limit */
	for (int i = 0; i < 150; i++)
		buf_printf(&b, "p%d = $p%d\n", i, i + 1);
	cfg = cfg_parse_string("D", "D/main.cf", b.data, b.len, &err);
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "nested too deeply"));
	/* doubling at every step must stop at the value cap */
	buf_reset(&b);
	buf_adds(&b, "q0 = xxxxxxxxxxxxxxxx\n");
	for (int i = 1; i < 40; i++)
		buf_printf(&b, "q%d = $q%d$q%d\n", i, i - 1, i - 1);
	cfg = cfg_parse_string("D", "D/main.cf", b.data, b.len, &err);
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "after expansion"));
	buf_deinit(&b);
}

static void test_dynamic_defaults(void **state)
{
	struct err err;
	struct cfg *cfg = cfg_new_defaults("/x");
	char host[256];
	const char *dot;

	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	assert_string_equal(cfg_get(cfg, "myhostname"), host);
	dot = strchr(host, '.');
	assert_string_equal(cfg_get(cfg, "mydomain"), dot && dot[1] ? dot + 1 : "localdomain");
	assert_string_equal(cfg_get_raw(cfg, "config_directory"), "/x");
	assert_string_equal(cfg_get_raw(cfg, "myhostname"), host);
	cfg_free(&cfg);

	cfg = parse("myhostname = single\n", &err);
	assert_string_equal(cfg_get(cfg, "mydomain"), "localdomain");
	cfg_free(&cfg);
	cfg = parse("myhostname = a.b.example\n", &err);
	assert_string_equal(cfg_get(cfg, "mydomain"), "b.example");
	assert_string_equal(cfg_get(cfg, "mydestination"), "a.b.example, localhost");
	cfg_free(&cfg);
}

static void test_cfg_set(void **state)
{
	struct err err;
	struct cfg *cfg = parse("myhostname = a.example\n", &err);

	assert_int_equal(cfg_set(cfg, "myhostname", "b.example", &err), 0);
	assert_string_equal(cfg_get(cfg, "myorigin"), "example");
	assert_int_equal(cfg_set(cfg, "default_process_limit", "x", &err), -1);
	assert_string_equal(err.msg, "bad integer value \"x\" for default_process_limit");
	assert_int_equal(cfg_get_int(cfg, "default_process_limit"), 100);
	assert_int_equal(cfg_set(cfg, "mail_owner", "$setgid_group", &err), -1);
	assert_non_null(strstr(err.msg, "recursively"));
	assert_string_equal(cfg_get(cfg, "mail_owner"), "tern");
	assert_int_equal(cfg_set(cfg, "brand_new", "$bad_ref_", &err), 0);
	assert_int_equal(cfg_set(cfg, "other", "$other", &err), -1);
	assert_false(cfg_is_set(cfg, "other"));
	assert_int_equal(cfg_set(cfg, "config_directory", "/z", &err), -1);
	assert_int_equal(cfg_set(cfg, "bad name", "1", &err), -1);
	assert_int_equal(cfg_set(cfg, "mail_owner", "a\nb", &err), -1);
	assert_int_equal(cfg_set(cfg, "syslog_enable", "on", &err), 0);
	assert_true(cfg_get_bool(cfg, "syslog_enable"));
	cfg_free(&cfg);
}

static void collect(const char *name, const char *raw, void *ctx)
{
	buf_printf(ctx, "%s=%s;", name, raw);
}

static void test_foreach_set(void **state)
{
	struct err err;
	struct buf b = BUF_INIT;
	struct cfg *cfg = parse("syslog_name = a\nmail_owner = b\nzz_unknown = c\n"
				"syslog_name = d\n", &err);

	cfg_foreach_set(cfg, collect, &b);
	assert_string_equal(buf_cstr(&b), "syslog_name=d;mail_owner=b;zz_unknown=c;");
	buf_deinit(&b);
	cfg_free(&cfg);
}

/* with_dir - make a temp dir, returns its path in dir (PATH_MAX bytes). */
static void with_dir(char *dir, size_t n)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, n, "%s/test_cfg.XXXXXX", t != NULL && *t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b = BUF_INIT;
	char chunk[512];
	size_t n;

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_steal(&b);
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_edit_file(void **state)
{
	char dir[512], path[600];
	struct err err;
	struct cfg *cfg;
	struct stat st;
	char *s;

	with_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	/* missing file: created */
	assert_int_equal(cfg_edit_file(path, "mail_owner", "m1", &err), 0);
	s = slurp(path);
	assert_string_equal(s, "mail_owner = m1\n");
	free(s);
	spit(path, "# head\n"
		   "mail_owner = old\n"
		   "    continued\n"
		   "# keep me\n"
		   "\tand more\n"
		   "syslog_name = n # not a comment\n"
		   "mail_owner = dup\n"
		   "relay_domains = r");
	chmod(path, 0640);
	assert_int_equal(cfg_edit_file(path, "mail_owner", "new", &err), 0);
	s = slurp(path);
	assert_string_equal(s, "# head\n"
			       "mail_owner = new\n"
			       "# keep me\n"
			       "syslog_name = n # not a comment\n"
			       "relay_domains = r");
	free(s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* append after a last line with no newline */
	assert_int_equal(cfg_edit_file(path, "myhostname", "h.example", &err), 0);
	/* a name that is a prefix of another is not matched */
	assert_int_equal(cfg_edit_file(path, "syslog", "x", &err), 0);
	assert_int_equal(cfg_edit_file(path, "syslog", NULL, &err), 0);
	assert_int_equal(cfg_edit_file(path, "relay_domains", NULL, &err), 0);
	assert_int_equal(cfg_edit_file(path, "not_there", NULL, &err), 0);
	s = slurp(path);
	assert_string_equal(s, "# head\n"
			       "mail_owner = new\n"
			       "# keep me\n"
			       "syslog_name = n # not a comment\n"
			       "myhostname = h.example\n");
	free(s);
	cfg = cfg_load(dir, &err);
	assert_non_null(cfg);
	assert_string_equal(cfg_get(cfg, "mail_owner"), "new");
	assert_string_equal(cfg_get(cfg, "syslog_name"), "n # not a comment");
	cfg_free(&cfg);
	assert_int_equal(cfg_edit_file(path, "bad-name", "x", &err), -1);
	assert_int_equal(cfg_edit_file(path, "mail_owner", "a\nb = c", &err), -1);
	unlink(path);
	rmdir(dir);
}

/* per-transport names: TRANSPORT_destination_{concurrency_limit,
 * recipient_limit,rate_delay} are typed and defaulted by default_*. */
static void test_transport_params(void **state)
{
	static const char *const good[] = {
		"smtp_destination_rate_delay",
		"relay-out_destination_concurrency_limit",
		"a_b-c9_destination_recipient_limit",
	};
	static const char *const bad[] = {
		"_destination_rate_delay",      /* no transport */
		"Smtp_destination_rate_delay",  /* upper case */
		"smtp.x_destination_rate_delay",
		"smtp_destination_rate_delays",
		"smtp_destination_concurrency",
		"destination_rate_delay",
	};
	struct err err;
	struct cfg *cfg;
	char *text;

	for (size_t i = 0; i < N_ELEMENTS(good); i++)
		assert_non_null(cfg_param_lookup(good[i]));
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		assert_null(cfg_param_lookup(bad[i]));
	assert_ptr_equal(cfg_param_lookup("smtp_destination_rate_delay"),
			 cfg_param_find("default_destination_rate_delay"));
	assert_ptr_equal(cfg_param_lookup("local_destination_recipient_limit"),
			 cfg_param_find("local_destination_recipient_limit"));
	assert_null(cfg_param_find("smtp_destination_rate_delay"));

	cfg = parse("default_destination_concurrency_limit = 7\n"
		    "smtp_destination_rate_delay = 2m\n"
		    "relay-out_destination_recipient_limit = 3\n"
		    "x_destination_concurrency_limit = $default_destination_recipient_limit\n",
		    &err);
	assert_non_null(cfg);
	assert_string_equal(cfg_problems(cfg), "");
	assert_int_equal(cfg_get_time(cfg, "smtp_destination_rate_delay"), 120);
	assert_int_equal(cfg_get_time(cfg, "relay_destination_rate_delay"), 0);
	assert_int_equal(cfg_get_int(cfg, "relay-out_destination_recipient_limit"), 3);
	assert_int_equal(cfg_get_int(cfg, "x_destination_concurrency_limit"), 50);
	/* unset: the default_* value, shown raw as a reference to it */
	assert_int_equal(cfg_get_int(cfg, "smtp_destination_concurrency_limit"), 7);
	assert_string_equal(cfg_get(cfg, "smtp_destination_concurrency_limit"), "7");
	assert_string_equal(cfg_get_raw(cfg, "smtp_destination_concurrency_limit"),
			    "$default_destination_concurrency_limit");
	assert_string_equal(cfg_get_raw(cfg, "smtp_destination_rate_delay"), "2m");
	assert_false(cfg_is_set(cfg, "smtp_destination_concurrency_limit"));
	assert_true(cfg_is_set(cfg, "relay-out_destination_recipient_limit"));
	/* -o overrides are checked with the inherited type */
	assert_int_equal(cfg_set(cfg, "smtp_destination_rate_delay", "soon", &err), -1);
	assert_string_equal(err.msg, "bad time value \"soon\" for smtp_destination_rate_delay");
	assert_int_equal(cfg_set(cfg, "lmtp_destination_rate_delay", "5s", &err), 0);
	assert_int_equal(cfg_get_time(cfg, "lmtp_destination_rate_delay"), 5);
	assert_int_equal(cfg_set(cfg, "a-b_c", "1", &err), -1);
	cfg_free(&cfg);

	parse_fails("smtp_destination_concurrency_limit = many\n", 0,
		    "D/main.cf:1: bad integer value \"many\" for "
		    "smtp_destination_concurrency_limit");
	parse_fails("smtp_destination_rate_delay = 1x\n", 0,
		    "D/main.cf:1: bad time value \"1x\" for "
		    "smtp_destination_rate_delay");
	parse_fails("relay-out_thing = 1\n", 0,
		    "D/main.cf:1: bad parameter name \"relay-out_thing\"");
	/* an unset per-transport $name expands to its default */
	cfg = parse("syslog_name = t$smtp_destination_recipient_limit\n", &err);
	assert_non_null(cfg);
	assert_string_equal(cfg_get(cfg, "syslog_name"), "t50");
	assert_string_equal(cfg_problems(cfg), "");
	cfg_free(&cfg);
	/* names with '-' are edited in place */
	{
		char dir[512], path[600];

		with_dir(dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/main.cf", dir);
		spit(path, "relay-out_destination_rate_delay = 1s\n"
			   "relay_destination_rate_delay = 2s\n");
		assert_int_equal(
			cfg_edit_file(path, "relay-out_destination_rate_delay", "9s", &err), 0);
		text = slurp(path);
		assert_string_equal(text, "relay-out_destination_rate_delay = 9s\n"
					  "relay_destination_rate_delay = 2s\n");
		free(text);
		unlink(path);
		rmdir(dir);
	}
}

static void test_load_errors(void **state)
{
	char dir[512], path[600];
	struct err err;

	with_dir(dir, sizeof(dir));
	assert_null(cfg_load(dir, &err));
	assert_non_null(strstr(err.msg, "main.cf: No such file or directory"));
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	spit(path, "mail_owner = x\nbroken\n");
	assert_null(cfg_load(dir, &err));
	snprintf(path, sizeof(path), "%s/main.cf:2: missing '=' in \"broken\"", dir);
	assert_string_equal(err.msg, path);
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	unlink(path);
	assert_int_equal(symlink("/dev/null", path), 0);
	assert_null(cfg_load(dir, &err));
	assert_non_null(strstr(err.msg, "main.cf: a symbolic link; main.cf must be a regular file"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_defaults_valid),
		cmocka_unit_test(test_basic_parse),
		cmocka_unit_test(test_crlf_and_no_final_newline),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_typed_values),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_unknown_ref_and_names),
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_expansion_limits),
		cmocka_unit_test(test_dynamic_defaults),
		cmocka_unit_test(test_cfg_set),
		cmocka_unit_test(test_foreach_set),
		cmocka_unit_test(test_edit_file),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_transport_params),
	};

	log_init("test_cfg");
	log_set_stderr(false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
