/*
 * test_dsn.c - unit tests for lib/dsn.c: reports are parsed back (header
 * fields unfolded, MIME parts split at the boundary, the delivery-status
 * blocks read field by field) and checked against what was put in;
 * hostile texts cannot add lines; the boundary avoids the content.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "dsn.h"
#include "err.h"

/* field - the unfolded value of header field name in the block [p, p+len)
 * (ends at the first empty line) into out; false when absent. */
static bool field(const char *p, size_t len, const char *name, struct buf *out)
{
	size_t nlen = strlen(name), i = 0;

	buf_reset(out);
	while (i < len && p[i] != '\n') {
		size_t eol = i;

		while (eol < len && p[eol] != '\n')
			eol++;
		if (eol - i > nlen && strncasecmp(p + i, name, nlen) == 0 && p[i + nlen] == ':') {
			size_t v = i + nlen + 1;

			while (v < eol && p[v] == ' ')
				v++;
			buf_add(out, p + v, eol - v);
			/* continuation lines start with a space or tab */
			while (eol + 1 < len && (p[eol + 1] == ' ' || p[eol + 1] == '\t')) {
				size_t s = eol + 1;

				eol = s;
				while (eol < len && p[eol] != '\n')
					eol++;
				buf_add(out, p + s, eol - s);
			}
			return true;
		}
		i = eol + 1;
	}
	return false;
}

/* body_of - the text after the header block's empty line. */
static const char *body_of(const char *p)
{
	const char *b = strstr(p, "\n\n");

	return b != NULL ? b + 2 : p + strlen(p);
}

struct parsed {
	struct buf boundary;
	char *parts[4]; /* each part: its header, empty line, body */
	size_t nparts;
	char *status_blocks[8];
	size_t nblocks;
};

/* parse - split a report into parts and status blocks; fails the test if
 * the MIME structure is wrong. */
static void parse(const char *msg, struct parsed *p)
{
	struct buf ct = BUF_INIT, delim = BUF_INIT;
	const char *b, *cur, *next, *status;
	size_t i;

	memset(p, 0, sizeof(*p));
	buf_init(&p->boundary, 0);
	assert_true(field(msg, strlen(msg), "Content-Type", &ct));
	assert_non_null(strstr(ct.data, "multipart/report"));
	b = strstr(ct.data, "boundary=\"");
	assert_non_null(b);
	b += 10;
	buf_add(&p->boundary, b, strcspn(b, "\""));
	buf_printf(&delim, "\n--%s", p->boundary.data);
	cur = strstr(msg, delim.data + 1); /* first delimiter line */
	assert_non_null(cur);
	while (p->nparts < 4) {
		cur += delim.len - 1;
		if (strncmp(cur, "--\n", 3) == 0)
			break; /* the close delimiter */
		assert_true(*cur == '\n');
		cur++;
		next = strstr(cur, delim.data);
		assert_non_null(next);
		p->parts[p->nparts++] = strndup(cur, (size_t)(next - cur));
		cur = next + 1;
	}
	assert_int_equal(p->nparts, 3);
	status = body_of(p->parts[1]);
	for (cur = status; *cur != '\0' && p->nblocks < 8; cur = next) {
		next = strstr(cur, "\n\n");
		if (next == NULL)
			next = cur + strlen(cur);
		else
			next++;
		p->status_blocks[p->nblocks++] = strndup(cur, (size_t)(next - cur));
		while (*next == '\n')
			next++;
	}
	for (i = 0; i < p->nblocks; i++)
		assert_true(strlen(p->status_blocks[i]) > 0);
	buf_deinit(&ct);
	buf_deinit(&delim);
}

static void parsed_free(struct parsed *p)
{
	size_t i;

	for (i = 0; i < p->nparts; i++)
		free(p->parts[i]);
	for (i = 0; i < p->nblocks; i++)
		free(p->status_blocks[i]);
	buf_deinit(&p->boundary);
}

static const char original[] = "From: alice@example.org\nTo: bob@example.net\n"
			       "Subject: hello\n\nbody line 1\nbody line 2\n";

static const struct dsn_rcpt two_rcpts[] = {
	{"bob@example.net", "rfc822;Bob@Example.NET", "failed", "5.1.1", "dns;mx.example.net",
	 "smtp;550 5.1.1 no such user", "host mx.example.net said: 550 no such user", 1700000100},
	{"carol@example.net", "", "failed", "5.4.7", "", "", "message delivery time expired", 0},
};

static void base_msg(struct dsn_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->kind = DSN_FAILURE;
	m->reporting_mta = "mx.example.test";
	m->queue_id = "ABCDEFGHIJ012345";
	m->sender = "alice@example.org";
	m->arrival = 1700000000;
	m->now = 1700000200;
	m->rcpts = two_rcpts;
	m->rcpt_count = 2;
	m->content = original;
	m->content_len = strlen(original);
	m->content_full = true;
}

static void test_failure_parses_back(void **state)
{
	struct dsn_msg m;
	struct buf out = BUF_INIT, v = BUF_INIT;
	struct err err;
	struct parsed p;

	base_msg(&m);
	m.envid = "ENV-42";
	assert_int_equal(dsn_build(&m, &out, &err), 0);
	assert_true(field(out.data, out.len, "From", &v));
	assert_string_equal(v.data, "MAILER-DAEMON@mx.example.test (Mail Delivery System)");
	assert_true(field(out.data, out.len, "To", &v));
	assert_string_equal(v.data, "alice@example.org");
	assert_true(field(out.data, out.len, "Subject", &v));
	assert_string_equal(v.data, "Undelivered Mail Returned to Sender");
	assert_true(field(out.data, out.len, "Auto-Submitted", &v));
	assert_string_equal(v.data, "auto-replied");
	assert_true(field(out.data, out.len, "Message-Id", &v));
	assert_true(field(out.data, out.len, "Date", &v));
	assert_true(field(out.data, out.len, "MIME-Version", &v));
	assert_null(strchr(out.data, '\r'));

	parse(out.data, &p);
	assert_true(field(p.parts[0], strlen(p.parts[0]), "Content-Type", &v));
	assert_string_equal(v.data, "text/plain; charset=utf-8");
	assert_non_null(strstr(body_of(p.parts[0]), "<bob@example.net>: host mx.example.net "
						    "said: 550 no such user"));
	assert_non_null(strstr(body_of(p.parts[0]), "<carol@example.net>: message delivery"));
	assert_true(field(p.parts[1], strlen(p.parts[1]), "Content-Type", &v));
	assert_string_equal(v.data, "message/delivery-status");
	assert_true(field(p.parts[2], strlen(p.parts[2]), "Content-Type", &v));
	assert_string_equal(v.data, "message/rfc822");
	assert_string_equal(body_of(p.parts[2]), original);

	/* per-message block, then one block per recipient */
	assert_int_equal(p.nblocks, 3);
	assert_true(field(p.status_blocks[0], strlen(p.status_blocks[0]), "Reporting-MTA", &v));
	assert_string_equal(v.data, "dns; mx.example.test");
	assert_true(
		field(p.status_blocks[0], strlen(p.status_blocks[0]), "Original-Envelope-Id", &v));
	assert_string_equal(v.data, "ENV-42");
	assert_true(field(p.status_blocks[0], strlen(p.status_blocks[0]), "Arrival-Date", &v));
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Final-Recipient", &v));
	assert_string_equal(v.data, "rfc822; bob@example.net");
	assert_true(
		field(p.status_blocks[1], strlen(p.status_blocks[1]), "Original-Recipient", &v));
	assert_string_equal(v.data, "rfc822; Bob@Example.NET");
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Action", &v));
	assert_string_equal(v.data, "failed");
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Status", &v));
	assert_string_equal(v.data, "5.1.1");
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Remote-MTA", &v));
	assert_string_equal(v.data, "dns; mx.example.net");
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Diagnostic-Code", &v));
	assert_string_equal(v.data, "smtp; 550 5.1.1 no such user");
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Last-Attempt-Date", &v));
	assert_false(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Will-Retry-Until", &v));
	assert_false(
		field(p.status_blocks[2], strlen(p.status_blocks[2]), "Original-Recipient", &v));
	assert_false(field(p.status_blocks[2], strlen(p.status_blocks[2]), "Remote-MTA", &v));
	assert_true(field(p.status_blocks[2], strlen(p.status_blocks[2]), "Status", &v));
	assert_string_equal(v.data, "5.4.7");
	parsed_free(&p);
	buf_deinit(&out);
	buf_deinit(&v);
}

static void test_headers_only_and_delay(void **state)
{
	struct dsn_msg m;
	struct buf out = BUF_INIT, v = BUF_INIT;
	struct err err;
	struct parsed p;
	const struct dsn_rcpt r = {"bob@example.net",	 NULL,	    "delayed", "4.4.1", NULL, NULL,
				   "connection refused", 1700000100};

	base_msg(&m);
	m.kind = DSN_DELAY;
	m.rcpts = &r;
	m.rcpt_count = 1;
	m.retry_until = 1700432000;
	m.content_len = dsn_header_len(original, strlen(original));
	m.content_full = false;
	assert_int_equal(dsn_build(&m, &out, &err), 0);
	assert_true(field(out.data, out.len, "Subject", &v));
	assert_string_equal(v.data, "Delayed Mail (still being retried)");
	parse(out.data, &p);
	assert_non_null(strstr(body_of(p.parts[0]), "warning only"));
	assert_true(field(p.parts[2], strlen(p.parts[2]), "Content-Type", &v));
	assert_string_equal(v.data, "text/rfc822-headers");
	assert_null(strstr(p.parts[2], "body line"));
	assert_non_null(strstr(p.parts[2], "Subject: hello"));
	assert_int_equal(p.nblocks, 2);
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Action", &v));
	assert_string_equal(v.data, "delayed");
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Will-Retry-Until", &v));
	parsed_free(&p);
	buf_deinit(&out);
	buf_deinit(&v);
}

static void test_success_and_utf8(void **state)
{
	struct dsn_msg m;
	struct buf out = BUF_INIT, v = BUF_INIT;
	struct err err;
	struct parsed p;
	const struct dsn_rcpt r = {
		"j\xc3\xb6rg@example.net", "",	      "delivered", "2.0.0", "", "",
		"delivered to maildir",	   1700000100};

	base_msg(&m);
	m.kind = DSN_SUCCESS;
	m.utf8 = true;
	m.rcpts = &r;
	m.rcpt_count = 1;
	assert_int_equal(dsn_build(&m, &out, &err), 0);
	assert_true(field(out.data, out.len, "Subject", &v));
	assert_string_equal(v.data, "Successful Mail Delivery Report");
	assert_true(field(out.data, out.len, "Content-Transfer-Encoding", &v));
	assert_string_equal(v.data, "8bit");
	parse(out.data, &p);
	assert_true(field(p.parts[1], strlen(p.parts[1]), "Content-Type", &v));
	assert_string_equal(v.data, "message/global-delivery-status");
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Final-Recipient", &v));
	assert_string_equal(v.data, "utf-8; j\xc3\xb6rg@example.net");
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Action", &v));
	assert_string_equal(v.data, "delivered");
	parsed_free(&p);
	buf_deinit(&out);
	buf_deinit(&v);
}

static void test_hostile_text_stays_in_field(void **state)
{
	struct dsn_msg m;
	struct buf out = BUF_INIT, v = BUF_INIT, longdiag = BUF_INIT;
	struct err err;
	struct parsed p;
	struct dsn_rcpt r = {"bob@example.net",
			     "",
			     "failed",
			     "5.0.0",
			     "",
			     NULL,
			     "bad\nX-Injected: yes\r\n\n--oops",
			     0};
	size_t i;

	for (i = 0; i < 60; i++)
		buf_adds(&longdiag, "word ");
	r.diag = longdiag.data;
	base_msg(&m);
	m.rcpts = &r;
	m.rcpt_count = 1;
	assert_int_equal(dsn_build(&m, &out, &err), 0);
	assert_null(strstr(out.data, "\nX-Injected"));
	parse(out.data, &p);
	assert_false(field(p.status_blocks[1], strlen(p.status_blocks[1]), "X-Injected", &v));
	/* a long Diagnostic-Code is folded, and unfolds to the same words */
	assert_true(field(p.status_blocks[1], strlen(p.status_blocks[1]), "Diagnostic-Code", &v));
	assert_int_equal(strncmp(v.data, "X-Tern; word word", 17), 0);
	for (i = 0; p.status_blocks[1][i] != '\0'; i++) {
		size_t eol = strcspn(p.status_blocks[1] + i, "\n");

		assert_true(eol <= 80);
		i += eol;
		if (p.status_blocks[1][i] == '\0')
			break;
	}
	parsed_free(&p);
	buf_deinit(&out);
	buf_deinit(&v);
	buf_deinit(&longdiag);
}

static void test_boundary_avoids_content(void **state)
{
	struct dsn_msg m;
	struct buf out = BUF_INIT, first = BUF_INIT, content = BUF_INIT;
	struct err err;
	struct parsed p;

	base_msg(&m);
	assert_int_equal(dsn_build(&m, &first, &err), 0);
	parse(first.data, &p);
	/* a message that quotes the boundary the report would have used */
	buf_printf(&content, "Subject: trap\n\n--%s\nContent-Type: text/plain\n\nx\n--%s--\n",
		   p.boundary.data, p.boundary.data);
	m.content = content.data;
	m.content_len = content.len;
	assert_int_equal(dsn_build(&m, &out, &err), 0);
	parsed_free(&p);
	parse(out.data, &p);
	assert_null(strstr(content.data, p.boundary.data));
	assert_string_equal(body_of(p.parts[2]), content.data);
	parsed_free(&p);
	buf_deinit(&out);
	buf_deinit(&first);
	buf_deinit(&content);
}

static void test_missing_fields(void **state)
{
	struct dsn_msg m;
	struct buf out = BUF_INIT;
	struct err err;
	struct dsn_rcpt r = two_rcpts[0];

	base_msg(&m);
	m.sender = "";
	assert_int_equal(dsn_build(&m, &out, &err), -1);
	base_msg(&m);
	m.rcpt_count = 0;
	assert_int_equal(dsn_build(&m, &out, &err), -1);
	base_msg(&m);
	r.status = NULL;
	m.rcpts = &r;
	m.rcpt_count = 1;
	assert_int_equal(dsn_build(&m, &out, &err), -1);
	assert_int_equal(out.len, 0);
	buf_deinit(&out);
}

static void test_header_len(void **state)
{
	assert_int_equal(dsn_header_len("A: b\n\nbody\n", 11), 6);
	assert_int_equal(dsn_header_len("A: b\nC: d\n", 10), 10);
	assert_int_equal(dsn_header_len("\nbody", 5), 1);
	assert_int_equal(dsn_header_len("", 0), 0);
	assert_int_equal(dsn_header_len("A: b", 4), 4);
	assert_int_equal(dsn_header_len("A: b\n\n", 6), 6);
}

static void test_date(void **state)
{
	struct buf d = BUF_INIT;

	setenv("TZ", "UTC", 1);
	tzset();
	dsn_date(1700000000, &d);
	assert_string_equal(d.data, "Tue, 14 Nov 2023 22:13:20 +0000");
	buf_deinit(&d);
	assert_true(dsn_has_8bit("a\x80", 2));
	assert_false(dsn_has_8bit("abc", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_parses_back),
		cmocka_unit_test(test_headers_only_and_delay),
		cmocka_unit_test(test_success_and_utf8),
		cmocka_unit_test(test_hostile_text_stays_in_field),
		cmocka_unit_test(test_boundary_avoids_content),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_header_len),
		cmocka_unit_test(test_date),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
