/*
 * dsn.c - build RFC 3464 delivery status notifications (see dsn.h).
 * Touches:  nothing but its arguments (pure: no I/O, no globals; the clock
 *           is the caller's m->now).
 * Input:    envelope strings and defer/bounce log texts, which may come from
 *           remote servers: every one is passed through str_sanitize and
 *           capped, so no byte below 0x20 or DEL reaches a header field, and
 *           long values are folded at spaces.  The returned content is
 *           copied as it is inside its MIME part; the boundary is chosen so
 *           that it does not occur in it.
 * Security: runs in qmgr as the mail owner.
 * Errors:   -1 with err for a missing required field; never aborts.
 * See:      RFC 3464, RFC 3462, RFC 6533, RFC 5322 3.3 (dates).
 */
#include "sys.h"

#include "buf.h"
#include "dsn.h"
#include "err.h"
#include "str.h"

/* Caps on what one value may contribute to the report (bytes). */
#define DSN_ADDR_MAX 512
#define DSN_TEXT_MAX 900
/* Fold header fields after this column when a space allows it. */
#define DSN_FOLD_COL 76

/* add_field - "Name: value" with the value sanitized, capped and folded at
 * spaces so lines stay short; an empty value writes nothing. */
static void add_field(struct buf *out, const char *name, const char *value, size_t max)
{
	struct buf v = BUF_INIT;
	size_t col, i;

	if (value == NULL || *value == '\0')
		return;
	str_sanitize(&v, value, strlen(value), max);
	buf_printf(out, "%s:", name);
	col = strlen(name) + 1;
	i = 0;
	while (i < v.len) {
		/* one word: a run of spaces then of non-spaces */
		size_t start = i, word;

		while (i < v.len && v.data[i] == ' ')
			i++;
		while (i < v.len && v.data[i] != ' ')
			i++;
		word = i - start;
		if (start == 0) {
			buf_addc(out, ' ');
			col++;
			while (start < i && v.data[start] == ' ')
				start++, word--;
		} else if (col + word > DSN_FOLD_COL && col > strlen(name) + 2) {
			buf_addc(out, '\n');
			col = 0;
		}
		buf_add(out, v.data + start, word);
		col += word;
	}
	buf_addc(out, '\n');
	buf_deinit(&v);
}

/* add_addr - "Name: type; address" with type rfc822, or utf-8 when the
 * address is not ASCII (RFC 6533); the address is never split at ';'. */
static void add_addr(struct buf *out, const char *name, const char *addr)
{
	struct buf v = BUF_INIT;

	if (addr == NULL || *addr == '\0')
		return;
	buf_adds(&v, dsn_has_8bit(addr, strlen(addr)) ? "utf-8; " : "rfc822; ");
	buf_adds(&v, addr);
	add_field(out, name, v.data, DSN_ADDR_MAX);
	buf_deinit(&v);
}

/* add_typed - "Name: type; value" from "type;value" (Original-Recipient,
 * Remote-MTA, Diagnostic-Code); a value without a type gets deftype. */
static void add_typed(struct buf *out, const char *name, const char *value, const char *deftype,
		      size_t max)
{
	struct buf v = BUF_INIT;
	const char *semi = value != NULL ? strchr(value, ';') : NULL;

	if (value == NULL || *value == '\0')
		return;
	if (semi != NULL && semi > value && (size_t)(semi - value) <= 32) {
		buf_add(&v, value, (size_t)(semi - value));
		value = semi + 1;
	} else {
		buf_adds(&v, deftype);
	}
	buf_adds(&v, "; ");
	while (*value == ' ')
		value++;
	buf_adds(&v, value);
	add_field(out, name, v.data, max);
	buf_deinit(&v);
}

/* add_date_field - "Name: <RFC 5322 date>". */
static void add_date_field(struct buf *out, const char *name, time_t t)
{
	buf_printf(out, "%s: ", name);
	dsn_date(t, out);
	buf_addc(out, '\n');
}

/* add_duration - "N minutes/hours/days" in words for the human part. */
static void add_duration(struct buf *out, long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 2 * 3600)
		buf_printf(out, "%ld minute%s", secs / 60, secs / 60 == 1 ? "" : "s");
	else if (secs < 2 * 86400)
		buf_printf(out, "%ld hours", secs / 3600);
	else
		buf_printf(out, "%ld days", secs / 86400);
}

/* add_human - the text/plain first part: what happened, in English, then
 * one "<rcpt>: reason" line per recipient. */
static void add_human(const struct dsn_msg *m, struct buf *out)
{
	size_t i;

	buf_adds(out, "This is the mail system at host ");
	str_sanitize(out, m->reporting_mta, strlen(m->reporting_mta), DSN_ADDR_MAX);
	buf_adds(out, ".\n\n");
	switch (m->kind) {
	case DSN_FAILURE:
		buf_adds(out, "Your message could not be delivered to one or more of its\n"
			      "recipients; the reason is given below for each of them.\n"
			      "The message (or its header) is attached to this report.\n\n"
			      "For help, write to postmaster and include this report; you\n"
			      "may remove your own text from the returned message.\n");
		break;
	case DSN_DELAY:
		buf_adds(out, "This is a warning only: you do not need to send your\n"
			      "message again.\n\n"
			      "Your message could not be delivered for ");
		add_duration(out, (long)(m->now - m->arrival));
		buf_adds(out, " to the\nrecipients listed below.");
		if (m->retry_until > 0) {
			buf_adds(out, " The mail system will keep trying\nuntil ");
			dsn_date(m->retry_until, out);
			buf_adds(out, ", and tell you if it gives up.");
		}
		buf_adds(out, "\nThe header of your message is attached to this report.\n");
		break;
	case DSN_SUCCESS:
		buf_adds(out, "Your message was delivered to the recipients listed below,\n"
			      "as you asked to be told.  The header of your message is\n"
			      "attached to this report.\n");
		break;
	}
	buf_adds(out, "\n                   The mail system\n\n");
	for (i = 0; i < m->rcpt_count; i++) {
		const struct dsn_rcpt *r = &m->rcpts[i];
		const char *why = r->reason != NULL && *r->reason != '\0' ? r->reason
				  : r->diag != NULL && *r->diag != '\0'	  ? r->diag
				  : m->kind == DSN_SUCCESS		  ? "delivery successful"
									  : r->status;

		buf_addc(out, '<');
		str_sanitize(out, r->rcpt, strlen(r->rcpt), DSN_ADDR_MAX);
		buf_adds(out, ">: ");
		str_sanitize(out, why, strlen(why), DSN_TEXT_MAX);
		buf_adds(out, "\n");
	}
}

/* add_status - the message/delivery-status part body: per-message fields,
 * then a block per recipient, blocks separated by empty lines. */
static void add_status(const struct dsn_msg *m, struct buf *out)
{
	struct buf mta = BUF_INIT;
	size_t i;

	add_field(out, "Original-Envelope-Id", m->envid, DSN_ADDR_MAX);
	buf_printf(&mta, "dns; %s", m->reporting_mta);
	add_field(out, "Reporting-MTA", mta.data, DSN_ADDR_MAX);
	add_field(out, "X-Tern-Queue-ID", m->queue_id, DSN_ADDR_MAX);
	add_addr(out, "X-Tern-Sender", m->sender);
	add_date_field(out, "Arrival-Date", m->arrival);
	for (i = 0; i < m->rcpt_count; i++) {
		const struct dsn_rcpt *r = &m->rcpts[i];

		buf_addc(out, '\n');
		add_addr(out, "Final-Recipient", r->rcpt);
		add_typed(out, "Original-Recipient", r->orcpt, "rfc822", DSN_ADDR_MAX);
		add_field(out, "Action", r->action, 32);
		add_field(out, "Status", r->status, 32);
		add_typed(out, "Remote-MTA", r->mta, "dns", DSN_ADDR_MAX);
		add_typed(out, "Diagnostic-Code", r->diag, "X-Tern", DSN_TEXT_MAX);
		if (r->last_attempt > 0)
			add_date_field(out, "Last-Attempt-Date", r->last_attempt);
		if (m->kind == DSN_DELAY && m->retry_until > 0)
			add_date_field(out, "Will-Retry-Until", m->retry_until);
	}
	buf_deinit(&mta);
}

/* occurs - the boundary line "--b" could be read somewhere in text. */
static bool occurs(const struct buf *b, const char *text, size_t len)
{
	return len >= b->len && memmem(text, len, b->data, b->len) != NULL;
}

/* pick_boundary - "QID.NOW/HOST", lengthened by ".N" until it occurs in
 * none of the parts (bounded: each try changes the string). */
static void pick_boundary(const struct dsn_msg *m, const struct buf *human,
			  const struct buf *status, struct buf *b)
{
	unsigned int n;

	for (n = 0; n < 1000; n++) {
		buf_reset(b);
		buf_printf(b, "%s.%lld/", m->queue_id, (long long)m->now);
		str_sanitize(b, m->reporting_mta, strlen(m->reporting_mta), 100);
		if (n > 0)
			buf_printf(b, ".%u", n);
		if (!occurs(b, m->content, m->content_len) && !occurs(b, human->data, human->len) &&
		    !occurs(b, status->data, status->len))
			return;
	}
}

static const char *subject(enum dsn_kind kind)
{
	switch (kind) {
	case DSN_FAILURE:
		return "Undelivered Mail Returned to Sender";
	case DSN_DELAY:
		return "Delayed Mail (still being retried)";
	case DSN_SUCCESS:
		break;
	}
	return "Successful Mail Delivery Report";
}

int dsn_build(const struct dsn_msg *m, struct buf *out, struct err *err)
{
	struct buf human = BUF_INIT, status = BUF_INIT, bnd = BUF_INIT;
	bool eight;
	size_t i;

	if (m->reporting_mta == NULL || m->queue_id == NULL || m->sender == NULL ||
	    *m->sender == '\0')
		return err_set(err, "dsn: reporting MTA, queue ID and sender are required");
	if (m->rcpt_count == 0 || m->rcpts == NULL)
		return err_set(err, "dsn: no recipients to report");
	for (i = 0; i < m->rcpt_count; i++)
		if (m->rcpts[i].rcpt == NULL || m->rcpts[i].status == NULL ||
		    m->rcpts[i].action == NULL)
			return err_set(err, "dsn: recipient %zu lacks address, status or action",
				       i);
	add_human(m, &human);
	add_status(m, &status);
	pick_boundary(m, &human, &status, &bnd);
	eight = dsn_has_8bit(m->content, m->content_len) || dsn_has_8bit(human.data, human.len) ||
		dsn_has_8bit(status.data, status.len);

	buf_adds(out, "From: MAILER-DAEMON@");
	str_sanitize(out, m->reporting_mta, strlen(m->reporting_mta), DSN_ADDR_MAX);
	buf_adds(out, " (Mail Delivery System)\n");
	add_field(out, "To", m->sender, DSN_ADDR_MAX);
	add_field(out, "Subject", subject(m->kind), 100);
	add_date_field(out, "Date", m->now);
	buf_printf(out, "Message-Id: <%s.%lld.dsn@", m->queue_id, (long long)m->now);
	str_sanitize(out, m->reporting_mta, strlen(m->reporting_mta), DSN_ADDR_MAX);
	buf_adds(out, ">\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n");
	buf_printf(out, "Content-Type: multipart/report; report-type=%s;\n\tboundary=\"%s\"\n",
		   m->utf8 ? "global-delivery-status" : "delivery-status", bnd.data);
	buf_printf(out, "Content-Transfer-Encoding: %s\n\n", eight ? "8bit" : "7bit");
	buf_adds(out, "This is a MIME-encapsulated message.\n\n");

	buf_printf(out,
		   "--%s\nContent-Description: Notification\n"
		   "Content-Type: text/plain; charset=utf-8\n\n",
		   bnd.data);
	buf_add(out, human.data, human.len);
	buf_printf(out,
		   "\n--%s\nContent-Description: Delivery report\n"
		   "Content-Type: message/%sdelivery-status\n\n",
		   bnd.data, m->utf8 ? "global-" : "");
	buf_add(out, status.data, status.len);
	buf_printf(out, "\n--%s\nContent-Description: %s%s\n", bnd.data,
		   m->kind == DSN_FAILURE ? "Undelivered Message" : "Message",
		   m->content_full ? "" : " Headers");
	if (m->content_full)
		buf_printf(out, "Content-Type: message/%s\n", m->utf8 ? "global" : "rfc822");
	else
		buf_printf(out, "Content-Type: %s\n",
			   m->utf8 ? "message/global-headers" : "text/rfc822-headers");
	if (dsn_has_8bit(m->content, m->content_len))
		buf_adds(out, "Content-Transfer-Encoding: 8bit\n");
	buf_addc(out, '\n');
	buf_add(out, m->content, m->content_len);
	if (m->content_len > 0 && m->content[m->content_len - 1] != '\n')
		buf_addc(out, '\n');
	buf_printf(out, "\n--%s--\n", bnd.data);
	buf_deinit(&human);
	buf_deinit(&status);
	buf_deinit(&bnd);
	return 0;
}

size_t dsn_header_len(const char *content, size_t len)
{
	size_t i = 0;

	/* UNSAFE: i < len is checked before every read of content[i]. */
	while (i < len) {
		if (content[i] == '\n')
			return i + 1; /* an empty first line: no header at all */
		while (i < len && content[i] != '\n')
			i++;
		if (i < len)
			i++; /* past the LF: the next line starts at i */
		if (i < len && content[i] == '\n')
			return i + 1;
	}
	return len;
}

void dsn_date(time_t t, struct buf *out)
{
	struct tm tm;
	char text[64];

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0) {
		buf_adds(out, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	buf_adds(out, text);
}

bool dsn_has_8bit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}
