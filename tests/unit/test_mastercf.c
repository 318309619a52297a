/*
 * test_mastercf.c - unit tests for lib/mastercf.c: columns and their "-"
 * defaults, continuation lines, inet names, -o arguments, and every
 * rejection (type, y/n, number, command, duplicates, NUL, CR, long lines).
 * Touches:  a temp file under $TMPDIR for mastercf_load (removed).
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "mastercf.h"

static struct mastercf *parse(const char *text, struct err *err)
{
	return mastercf_parse_string("D/master.cf", text, strlen(text), 100, err);
}

/* fails - text (len bytes; 0: a C string) must fail with exactly msg. */
static void fails(const char *text, size_t len, const char *msg)
{
	struct err err;
	struct mastercf *m;

	m = mastercf_parse_string("D/master.cf", text, len ? len : strlen(text), 100, &err);
	assert_null(m);
	assert_string_equal(err.msg, msg);
}

static const char good[] =
	"# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
	"#\n"
	"10025     inet  n       -       n       -       -       smtpd\n"
	"127.0.0.1:587 inet n    -       n       -       20      smtpd\n"
	"    -o smtpd_tls_security_level=encrypt\n"
	"\n"
	"  # a comment inside an entry\n"
	"\t-o smtpd_sasl_auth_enable=yes\n"
	"[::1]:10110 inet n      -       n       -       0       pop3d\r\n"
	"qmgr      unix  n       -       n       300     1       qmgr\n"
	"pickup    unix  n       -       y       60?     1       pickup\n"
	"cleanup   unix  y       n       n       -       -       /usr/lib/tern/cleanup -v\n"
	"smtp      inet  -       y       -       0       5       smtpd";

static void test_good(void **state)
{
	struct err err;
	struct mastercf *m = parse(good, &err);
	const struct service *s;

	assert_non_null(m);
	assert_int_equal(m->count, 7);
	assert_string_equal(m->path, "D/master.cf");

	s = &m->services[0];
	assert_string_equal(s->name, "10025");
	assert_int_equal(s->type, SERVICE_INET);
	assert_false(s->private_);
	assert_true(s->unpriv);
	assert_false(s->chroot);
	assert_int_equal(s->wakeup, 0);
	assert_int_equal(s->maxproc, 100);
	assert_string_equal(s->command, "smtpd");
	assert_int_equal(s->argc, 0);
	assert_null(s->argv[0]);
	assert_null(s->host);
	assert_string_equal(s->port, "10025");
	assert_int_equal(s->line, 3);

	s = mastercf_find(m, "127.0.0.1:587", SERVICE_INET);
	assert_non_null(s);
	assert_string_equal(s->host, "127.0.0.1");
	assert_string_equal(s->port, "587");
	assert_int_equal(s->maxproc, 20);
	assert_int_equal(s->argc, 4);
	assert_string_equal(s->argv[0], "-o");
	assert_string_equal(s->argv[1], "smtpd_tls_security_level=encrypt");
	assert_string_equal(s->argv[3], "smtpd_sasl_auth_enable=yes");
	assert_null(s->argv[4]);
	assert_int_equal(s->line, 4);

	s = mastercf_find(m, "[::1]:10110", SERVICE_INET);
	assert_non_null(s);
	assert_string_equal(s->host, "::1");
	assert_string_equal(s->port, "10110");
	assert_int_equal(s->maxproc, 0);
	assert_string_equal(s->command, "pop3d");

	s = mastercf_find(m, "qmgr", SERVICE_UNIX);
	assert_non_null(s);
	assert_int_equal(s->wakeup, 300);
	assert_false(s->wakeup_if_used);
	assert_int_equal(s->maxproc, 1);
	assert_null(s->host);
	assert_null(s->port);
	assert_null(mastercf_find(m, "qmgr", SERVICE_INET));

	s = mastercf_find(m, "pickup", SERVICE_UNIX);
	assert_int_equal(s->wakeup, 60);
	assert_true(s->wakeup_if_used);
	assert_true(s->chroot);

	s = mastercf_find(m, "cleanup", SERVICE_UNIX);
	assert_true(s->private_);
	assert_false(s->unpriv);
	assert_string_equal(s->command, "/usr/lib/tern/cleanup");
	assert_string_equal(s->argv[0], "-v");

	s = mastercf_find(m, "smtp", SERVICE_INET);
	assert_true(s->private_);
	assert_string_equal(s->port, "smtp");
	assert_int_equal(s->maxproc, 5);
	mastercf_free(&m);
	assert_null(m);
	mastercf_free(&m);
}

static void test_equal(void **state)
{
	struct err err;
	struct mastercf *a = parse(good, &err);
	struct mastercf *b = parse("\n\nqmgr unix n - n 300 1 qmgr\n"
				   "pickup unix n - y 60 1 pickup\n"
				   "127.0.0.1:587 inet n - n - 20 smtpd -o "
				   "smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=no\n",
				   &err);

	assert_non_null(a);
	assert_non_null(b);
	assert_true(service_equal(mastercf_find(a, "qmgr", SERVICE_UNIX),
				  mastercf_find(b, "qmgr", SERVICE_UNIX)));
	assert_false(service_equal(mastercf_find(a, "pickup", SERVICE_UNIX),
				   mastercf_find(b, "pickup", SERVICE_UNIX)));
	assert_false(service_equal(mastercf_find(a, "127.0.0.1:587", SERVICE_INET),
				   mastercf_find(b, "127.0.0.1:587", SERVICE_INET)));
	assert_false(service_equal(mastercf_find(a, "qmgr", SERVICE_UNIX),
				   mastercf_find(b, "pickup", SERVICE_UNIX)));
	mastercf_free(&a);
	mastercf_free(&b);
}

static void test_empty(void **state)
{
	struct err err;
	struct mastercf *m = parse("# nothing\n\n   \n", &err);

	assert_non_null(m);
	assert_int_equal(m->count, 0);
	mastercf_free(&m);
}

static void test_rejects(void **state)
{
	const char nul[] = "qmgr unix n - n 300 1 qm\0gr\n";

	fails("smtp tcp n - n - - smtpd\n", 0, "D/master.cf:1: unknown service type \"tcp\"");
	fails("\nsmtp inet x - n - - smtpd\n", 0,
	      "D/master.cf:2: bad private column value \"x\" (want y, n or -)");
	fails("smtp inet n yes n - - smtpd\n", 0,
	      "D/master.cf:1: bad unpriv column value \"yes\" (want y, n or -)");
	fails("smtp inet n - 1 - - smtpd\n", 0,
	      "D/master.cf:1: bad chroot column value \"1\" (want y, n or -)");
	fails("qmgr unix n - n 3x 1 qmgr\n", 0,
	      "D/master.cf:1: bad wakeup column value \"3x\" (want a number or -)");
	fails("qmgr unix n - n ? 1 qmgr\n", 0,
	      "D/master.cf:1: bad wakeup column value \"?\" (want a number or -)");
	fails("qmgr unix n - n - -1 qmgr\n", 0,
	      "D/master.cf:1: bad maxproc column value \"-1\" (want a number or -)");
	fails("qmgr unix n - n - 1\n", 0, "D/master.cf:1: missing command in \"qmgr unix n - n - 1\"");
	fails("qmgr unix n\n", 0,
	      "D/master.cf:1: too few fields in \"qmgr unix n\" (want service type private "
	      "unpriv chroot wakeup maxproc command)");
	fails("qmgr unix n - n - 1 ../bin/sh\n", 0,
	      "D/master.cf:1: bad command \"../bin/sh\" (want a program name or an absolute path)");
	fails("qmgr unix n - n - 1 bin/sh\n", 0,
	      "D/master.cf:1: bad command \"bin/sh\" (want a program name or an absolute path)");
	fails("qmgr unix n - n - 1 /usr/../bin/sh\n", 0,
	      "D/master.cf:1: bad command \"/usr/../bin/sh\" (want a program name or an absolute "
	      "path)");
	fails("qmgr unix n - n - 1 qmgr\n# c\nqmgr unix n - n - 1 qmgr\n", 0,
	      "D/master.cf:3: duplicate service \"qmgr\" type unix (first at line 1)");
	fails("  qmgr unix n - n - 1 qmgr\n", 0,
	      "D/master.cf:1: continuation line without an entry above");
	fails(nul, sizeof(nul) - 1, "D/master.cf:1: NUL byte in line");
	fails("qmgr unix n - n - 1 qm\rgr\n", 0, "D/master.cf:1: control character in line");
	fails("::1:25 inet n - n - - smtpd\n", 0,
	      "D/master.cf:1: bad host in inet service name \"::1:25\" (IPv6: [addr]:port)");
	fails("[::1]25 inet n - n - - smtpd\n", 0,
	      "D/master.cf:1: bad inet service name \"[::1]25\" (want [addr]:port)");
	fails("host:99999 inet n - n - - smtpd\n", 0,
	      "D/master.cf:1: bad port in inet service name \"host:99999\"");
	fails("host: inet n - n - - smtpd\n", 0,
	      "D/master.cf:1: bad port in inet service name \"host:\"");
	fails(":25 inet n - n - - smtpd\n", 0,
	      "D/master.cf:1: bad host in inet service name \":25\" (IPv6: [addr]:port)");
	fails("a/b unix n - n - - smtpd\n", 0, "D/master.cf:1: bad unix service name \"a/b\"");
	fails(".. unix n - n - - smtpd\n", 0, "D/master.cf:1: bad unix service name \"..\"");
	fails("x unix n - n - - smtpd -o\n", 0,
	      "D/master.cf:1: -o without name=value in \"x unix n - n - - smtpd -o\"");
	fails("x unix n - n - - smtpd -o novalue\n", 0,
	      "D/master.cf:1: -o without name=value in \"x unix n - n - - smtpd -o novalue\"");
}

static void test_overlong(void **state)
{
	struct buf b = BUF_INIT;
	struct err err;
	struct mastercf *m;

	buf_adds(&b, "x unix n - n - - smtpd\n");
	for (int i = 0; i < 2000; i++)
		buf_adds(&b, "  -o a=bbbbbbbbbbbb\n");
	m = mastercf_parse_string("D/master.cf", b.data, b.len, 100, &err);
	assert_null(m);
	assert_non_null(strstr(err.msg, "entry too long"));
	buf_deinit(&b);
}

static void test_load(void **state)
{
	const char *t = getenv("TMPDIR");
	char path[512];
	struct err err;
	struct mastercf *m;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/test_mastercf.XXXXXX", t != NULL && *t ? t : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("qmgr unix n - n 300 1 qmgr\n", f);
	fclose(f);
	m = mastercf_load(path, 7, &err);
	assert_non_null(m);
	assert_int_equal(m->count, 1);
	assert_string_equal(m->path, path);
	mastercf_free(&m);
	unlink(path);
	assert_null(mastercf_load(path, 7, &err));
	assert_non_null(strstr(err.msg, "No such file or directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
