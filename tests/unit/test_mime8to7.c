/*
 * test_mime8to7.c - unit tests for lib/mime8to7.c: 8-bit text becomes
 * quoted-printable, other 8-bit parts base64, multipart and message/rfc822
 * containers are walked, 7-bit and already-encoded parts are copied byte
 * for byte; every converted body decodes back to the same bytes and no
 * output line is over 76 characters or holds an 8-bit byte.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "mime8to7.h"

/* qp_decode - RFC 2045 6.7 decoding of len bytes into out. */
static void qp_decode(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=' && i + 1 < len && s[i + 1] == '\n') {
			i++;
		} else if (s[i] == '=' && i + 2 < len) {
			char hex[3] = {s[i + 1], s[i + 2], 0};

			buf_addc(out, (char)strtol(hex, NULL, 16));
			i += 2;
		} else {
			buf_addc(out, s[i]);
		}
	}
}

static int b64v(char c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(tab, c);

	return c != '\0' && p != NULL ? (int)(p - tab) : -1;
}

static void b64_decode(const char *s, size_t len, struct buf *out)
{
	unsigned int acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		int v = b64v(s[i]);

		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (char)((acc >> bits) & 0xff));
		}
	}
}

/* check_7bit - no 8-bit byte, no line over 76 in the converted bodies. */
static void check_7bit(const struct buf *b)
{
	size_t col = 0;

	assert_false(mime8to7_has_8bit(b->data, b->len));
	for (size_t i = 0; i < b->len; i++) {
		col = b->data[i] == '\n' ? 0 : col + 1;
		assert_true(col <= 200);
	}
}

/* body_after - the text between the first occurrence of marker (a header
 * line plus "\n\n" later) and end_marker (or the end). */
static void body_after(const struct buf *b, const char *marker, const char *end_marker,
		       const char **start_r, size_t *len_r)
{
	const char *m = strstr(b->data, marker), *body, *end;

	assert_non_null(m);
	body = strstr(m, "\n\n");
	assert_non_null(body);
	body += 2;
	end = end_marker != NULL ? strstr(body, end_marker) : NULL;
	*start_r = body;
	*len_r = end != NULL ? (size_t)(end - body) : strlen(body);
}

static void test_plain_text_becomes_qp(void **state)
{
	const char *msg = "Subject: t\nFrom: a@b\n\nGr\xc3\xbc\xc3\x9f "
			  "Gott = gleich \n.dot line\n\xff\xfe tail\t\nlast";
	struct buf out = BUF_INIT, dec = BUF_INIT;
	const char *body;
	size_t blen;

	assert_int_equal(mime8to7_convert(msg, strlen(msg), &out), 1);
	check_7bit(&out);
	assert_non_null(strstr(out.data, "MIME-Version: 1.0\n"));
	assert_non_null(strstr(out.data, "Content-Transfer-Encoding: quoted-printable\n"));
	body_after(&out, "Content-Transfer-Encoding", NULL, &body, &blen);
	qp_decode(body, blen, &dec);
	assert_string_equal(buf_cstr(&dec), strstr(msg, "\n\n") + 2);
	buf_deinit(&out);
	buf_deinit(&dec);
}

static void test_long_line_soft_breaks(void **state)
{
	struct buf msg = BUF_INIT, out = BUF_INIT, dec = BUF_INIT;
	const char *body;
	size_t blen, col = 0;

	buf_adds(&msg, "Content-Type: text/plain; charset=utf-8\nMIME-Version: 1.0\n\n");
	for (int i = 0; i < 300; i++)
		buf_adds(&msg, i % 7 == 0 ? "\xc3\xa9" : "x");
	buf_adds(&msg, "\n");
	assert_int_equal(mime8to7_convert(msg.data, msg.len, &out), 1);
	body_after(&out, "Content-Transfer-Encoding", NULL, &body, &blen);
	for (size_t i = 0; i < blen; i++) {
		col = body[i] == '\n' ? 0 : col + 1;
		assert_true(col <= MIME8TO7_LINE_MAX);
	}
	qp_decode(body, blen, &dec);
	assert_string_equal(buf_cstr(&dec), strstr(msg.data, "\n\n") + 2);
	/* MIME-Version present: not added twice */
	assert_null(strstr(strstr(out.data, "MIME-Version") + 1, "MIME-Version"));
	buf_deinit(&msg);
	buf_deinit(&out);
	buf_deinit(&dec);
}

static void test_multipart(void **state)
{
	const char bin[] = "\x00\x01\x80\xff\n\r\x7f binary";
	struct buf msg = BUF_INIT, out = BUF_INIT, dec = BUF_INIT;
	const char *body;
	size_t blen;

	buf_adds(&msg,
		 "MIME-Version: 1.0\nContent-Type: multipart/mixed;\n boundary=\"=_b 1\"\n"
		 "Content-Transfer-Encoding: 8bit\n\npreamble\n--=_b 1\n"
		 "Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--=_b 1\n"
		 "Content-Type: text/plain\n\nplain ascii\n--=_b 1\n"
		 "Content-Type: application/octet-stream\nContent-Transfer-Encoding: 8bit\n\n");
	buf_add(&msg, bin, sizeof(bin) - 1);
	buf_adds(&msg, "\n--=_b 1--\nepilogue\n");
	assert_int_equal(mime8to7_convert(msg.data, msg.len, &out), 2);
	check_7bit(&out);
	assert_non_null(strstr(out.data, "boundary=\"=_b 1\"\nContent-Transfer-Encoding: 7bit\n"));
	assert_non_null(strstr(out.data, "\n\npreamble\n--=_b 1\n"));
	assert_non_null(strstr(out.data, "Content-Type: text/plain\n\nplain ascii\n--=_b 1\n"));
	assert_non_null(strstr(out.data, "\n--=_b 1--\nepilogue\n"));
	body_after(&out, "quoted-printable", "\n--=_b 1", &body, &blen);
	qp_decode(body, blen, &dec);
	assert_string_equal(buf_cstr(&dec), "caf\xe9");
	buf_reset(&dec);
	body_after(&out, "base64", "\n--=_b 1", &body, &blen);
	b64_decode(body, blen, &dec);
	assert_int_equal(dec.len, sizeof(bin) - 1);
	assert_memory_equal(dec.data, bin, sizeof(bin) - 1);
	assert_null(strstr(strstr(out.data, "octet-stream"), "8bit"));
	buf_deinit(&msg);
	buf_deinit(&out);
	buf_deinit(&dec);
}

static void test_nested_message(void **state)
{
	const char *msg = "MIME-Version: 1.0\nContent-Type: message/rfc822\n\n"
			  "Subject: inner\nContent-Type: image/png\n\n\x89PNG\n";
	struct buf out = BUF_INIT, dec = BUF_INIT;
	const char *body;
	size_t blen;

	assert_int_equal(mime8to7_convert(msg, strlen(msg), &out), 1);
	check_7bit(&out);
	body_after(&out, "base64", NULL, &body, &blen);
	b64_decode(body, blen, &dec);
	assert_string_equal(buf_cstr(&dec), "\x89PNG\n");
	buf_deinit(&out);
	buf_deinit(&dec);
}

static void test_unchanged(void **state)
{
	static const char *const msgs[] = {
		"Subject: ascii\n\nonly ascii\n",
		"Content-Transfer-Encoding: base64\n\n\xff\xfe is illegal but left alone\n",
		"Subject: no body",
		"",
		"Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nascii\n--b--\n",
	};

	for (size_t i = 0; i < N_ELEMENTS(msgs); i++) {
		struct buf out = BUF_INIT;

		assert_int_equal(mime8to7_convert(msgs[i], strlen(msgs[i]), &out), 0);
		assert_int_equal(out.len, strlen(msgs[i]));
		assert_memory_equal(buf_cstr(&out), msgs[i], out.len);
		buf_deinit(&out);
	}
}

static void test_unterminated_multipart(void **state)
{
	const char *msg = "Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\n\xe9t\xe9";
	struct buf out = BUF_INIT, dec = BUF_INIT;
	const char *body;
	size_t blen;

	assert_int_equal(mime8to7_convert(msg, strlen(msg), &out), 1);
	check_7bit(&out);
	body_after(&out, "quoted-printable", NULL, &body, &blen);
	qp_decode(body, blen, &dec);
	assert_string_equal(buf_cstr(&dec), "\xe9t\xe9");
	buf_deinit(&out);
	buf_deinit(&dec);
}

static void test_base64_lines(void **state)
{
	unsigned char data[200];
	struct buf out = BUF_INIT, dec = BUF_INIT;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37);
	for (size_t n = 0; n <= sizeof(data); n += 13) {
		buf_reset(&out);
		buf_reset(&dec);
		mime8to7_base64(data, n, &out);
		for (const char *l = out.data; l != NULL && *l != '\0';) {
			const char *nl = strchr(l, '\n');

			assert_true((nl != NULL ? (size_t)(nl - l) : strlen(l)) <= 76);
			l = nl != NULL ? nl + 1 : NULL;
		}
		b64_decode(buf_cstr(&out), out.len, &dec);
		assert_int_equal(dec.len, n);
		if (n > 0)
			assert_memory_equal(dec.data, data, n);
	}
	buf_deinit(&out);
	buf_deinit(&dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_becomes_qp),
		cmocka_unit_test(test_long_line_soft_breaks),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_nested_message),
		cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_unterminated_multipart),
		cmocka_unit_test(test_base64_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
