/*
 * test_passwd.c - unit tests for lib/passwd.c: yescrypt and sha512-crypt
 * hashes made and verified, wrong passwords, refused inputs, malformed and
 * unsupported hashes, and the users-table value format.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "passwd.h"
#include "xmem.h"

/* Made with `openssl passwd -6 -salt saltsalt secret`: an independent
 * implementation, so this also checks we interoperate. */
static const char sha512_secret[] =
	"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN"
	".Pq.H91p5hVO1";

static void test_hash_then_verify(void **state)
{
	struct buf h = BUF_INIT;
	struct err err;

	assert_int_equal(passwd_hash("correct horse", &h, &err), 0);
	assert_true(strncmp(buf_cstr(&h), "$y$", 3) == 0);
	assert_true(passwd_hash_ok(buf_cstr(&h)));
	assert_true(passwd_verify("correct horse", buf_cstr(&h)));
	assert_false(passwd_verify("correct horsE", buf_cstr(&h)));
	assert_false(passwd_verify("correct hors", buf_cstr(&h)));
	assert_false(passwd_verify("", buf_cstr(&h)));
	buf_deinit(&h);
}

static void test_salts_differ(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct err err;

	assert_int_equal(passwd_hash("same", &a, &err), 0);
	assert_int_equal(passwd_hash("same", &b, &err), 0);
	assert_string_not_equal(buf_cstr(&a), buf_cstr(&b));
	assert_true(passwd_verify("same", buf_cstr(&a)));
	assert_true(passwd_verify("same", buf_cstr(&b)));
	buf_deinit(&a);
	buf_deinit(&b);
}

static void test_sha512_crypt(void **state)
{
	struct buf h = BUF_INIT;
	struct err err;

	assert_true(passwd_verify("secret", sha512_secret));
	assert_false(passwd_verify("Secret", sha512_secret));
	assert_int_equal(passwd_hash_prefix("pw", "$6$", &h, &err), 0);
	assert_true(strncmp(buf_cstr(&h), "$6$", 3) == 0);
	assert_true(passwd_verify("pw", buf_cstr(&h)));
	buf_deinit(&h);
}

static void test_scheme_names(void **state)
{
	assert_string_equal(passwd_scheme_prefix("yescrypt"), "$y$");
	assert_string_equal(passwd_scheme_prefix("sha512-crypt"), "$6$");
	assert_null(passwd_scheme_prefix("md5"));
	assert_null(passwd_scheme_prefix(""));
}

static void test_refused_passwords(void **state)
{
	struct buf h = BUF_INIT;
	struct err err;
	char *big = xcalloc(1, PASSWD_MAX + 2);

	assert_int_equal(passwd_hash("", &h, &err), -1);
	assert_string_equal(err.msg, "empty password");
	assert_int_equal(passwd_hash("a\nb", &h, &err), -1);
	assert_int_equal(passwd_hash("tab\there", &h, &err), -1);
	memset(big, 'x', PASSWD_MAX + 1);
	assert_int_equal(passwd_hash(big, &h, &err), -1);
	assert_false(passwd_verify(big, sha512_secret));
	big[PASSWD_MAX] = '\0';
	assert_int_equal(passwd_hash_prefix(big, "$6$", &h, &err), 0);
	assert_true(passwd_verify(big, buf_cstr(&h)));
	assert_int_equal(passwd_hash_prefix("pw", "$1$", &h, &err), -1);
	assert_int_equal(passwd_hash_prefix("pw", "", &h, &err), -1);
	assert_int_equal(passwd_hash_prefix("pw", NULL, &h, &err), -1);
	xfree(&big);
	buf_deinit(&h);
}

static void test_malformed_hashes(void **state)
{
	static const char *const bad[] = {
		"",
		"*",
		"!",
		"*0",
		"$",
		"$y$",
		"$6$",
		"$6$saltsalt",
		"$1$saltsalt$9xy1btjgzLYfb7hivXtC//",           /* md5-crypt: refused */
		"$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA", /* sha256 */
		"saHW9GdxihkGQ",                               /* DES */
		"$y$j9T$bad salt$x",
		"$y$j9T$\x01$x",
		"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN",
		"$y$!!!$abc$def",
		"$y$j9T$$",
		"plain-text-password",
	};

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		assert_false(passwd_verify("secret", bad[i]));
		assert_false(passwd_verify("", bad[i]));
	}
	assert_false(passwd_verify(NULL, sha512_secret));
	assert_false(passwd_verify("secret", NULL));
	assert_false(passwd_hash_ok("$1$saltsalt$9xy1btjgzLYfb7hivXtC//"));
	assert_true(passwd_hash_ok(sha512_secret));
}

static void test_entry_split(void **state)
{
	struct buf h = BUF_INIT, a = BUF_INIT;
	struct err err;

	assert_int_equal(passwd_entry_split(sha512_secret, &h, &a, &err), 0);
	assert_string_equal(buf_cstr(&h), sha512_secret);
	assert_string_equal(buf_cstr(&a), "");
	assert_int_equal(passwd_entry_split("$y$abc quota=10M  disabled=no", &h, &a, &err), 0);
	assert_string_equal(buf_cstr(&h), "$y$abc");
	assert_string_equal(buf_cstr(&a), "quota=10M  disabled=no");
	assert_int_equal(passwd_entry_split("$y$abc x=", &h, NULL, &err), 0);
	assert_int_equal(passwd_entry_split("", &h, &a, &err), -1);
	assert_int_equal(passwd_entry_split("   ", &h, &a, &err), -1);
	assert_int_equal(passwd_entry_split("$y$abc novalue", &h, &a, &err), -1);
	assert_int_equal(passwd_entry_split("$y$abc =v", &h, &a, &err), -1);
	buf_deinit(&h);
	buf_deinit(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_then_verify),
		cmocka_unit_test(test_salts_differ),
		cmocka_unit_test(test_sha512_crypt),
		cmocka_unit_test(test_scheme_names),
		cmocka_unit_test(test_refused_passwords),
		cmocka_unit_test(test_malformed_hashes),
		cmocka_unit_test(test_entry_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
