/*
 * sendmail.c - the Sendmail-compatible mail posting command, like
 * Postfix's sendmail(1):
 *     sendmail [-C DIR|-c DIR] [-f sender] [-F fullname] [-t] [-i|-oi]
 *              [-B 7BIT|8BITMIME] [-N dsn] [-R full|hdrs] [-V envid] [-v]
 *              [-bm] [rcpt...]
 *     sendmail -bs          SMTP conversation on stdin/stdout
 *     sendmail -bp          list the queue (= mailq)
 *     sendmail -q           flush the queue (= postqueue -f)
 *     sendmail -bi | -I     rebuild the aliases (= newaliases)
 * The message comes from stdin; a line of a single "." ends it unless
 * -i/-oi.  CRLF line ends become LF.  -t adds the recipients of To:, Cc:
 * and Bcc: (Resent-* when present) and removes Bcc:.  The message is handed
 * to the pickup daemon (public/pickup), which queues it; no network is used.
 * Touches:  reads DIR/main.cf and stdin; connects to public/pickup (and
 *           private/qmgr for -q); reads the queue for -bp.
 * Security: runs as the invoking user with no privileges; everything it
 *           sends is checked again by pickup, which trusts only the uid.
 * Errors:   "sendmail: fatal: ..." on stderr and a sysexits(3) status:
 *           EX_USAGE bad options or no recipients, EX_DATAERR bad address or
 *           too large, EX_CONFIG bad main.cf, EX_TEMPFAIL pickup unreachable.
 * See:      Postfix sendmail(1), docs/commands.md "sendmail".
 */
#include "sys.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "admin/postqueue.h"
#include "admin/sendmail.h"
#include "buf.h"
#include "cfg.h"
#include "cmd.h"
#include "err.h"
#include "pickup/pickup_hdr.h"
#include "proto.h"
#include "qfile.h"
#include "xmem.h"

#define PROG "sendmail"

enum sendmail_mode { MODE_DELIVER, MODE_SMTP, MODE_PRINT, MODE_FLUSH, MODE_ALIASES };

struct opts {
	const char *dir;
	const char *sender;
	const char *fullname;
	const char *envid;
	bool extract;  /* -t */
	bool dot_ends; /* no -i */
	bool verbose;
	bool body_7bit;	     /* -B 7BIT */
	bool body_8bit;	     /* -B 8BITMIME */
	unsigned int notify; /* -N */
	unsigned int ret;    /* -R: PICKUP_F_RET_* */
	enum sendmail_mode mode;
};

static void usage(void) ATTR_NORETURN;
static void usage(void)
{
	fputs("usage: " PROG " [-C DIR] [-f sender] [-F fullname] [-t] [-i] [-B type] [-N dsn]\n"
	      "                [-R ret] [-V envid] [-v] [-bm|-bs|-bp|-bi] [-q] [rcpt...]\n",
	      stderr);
	exit(EX_USAGE);
}

/* parse_notify - -N never | success,failure,delay. */
static unsigned int parse_notify(const char *s)
{
	unsigned int mask = 0;
	char *copy = xstrdup(s), *save = NULL;

	for (char *t = strtok_r(copy, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
		if (strcasecmp(t, "never") == 0)
			mask |= QFILE_NOTIFY_NEVER;
		else if (strcasecmp(t, "success") == 0)
			mask |= QFILE_NOTIFY_SUCCESS;
		else if (strcasecmp(t, "failure") == 0)
			mask |= QFILE_NOTIFY_FAILURE;
		else if (strcasecmp(t, "delay") == 0)
			mask |= QFILE_NOTIFY_DELAY;
		else
			cmd_fatal(EX_USAGE, "-N: bad DSN notification \"%s\"", t);
	}
	free(copy);
	if (!qfile_notify_ok(mask))
		cmd_fatal(EX_USAGE, "-N: bad DSN notification \"%s\"", s);
	return mask;
}

/* parse_b - -bX: the operation mode. */
static void parse_b(struct opts *o, const char *arg)
{
	if (strcmp(arg, "m") == 0)
		o->mode = MODE_DELIVER;
	else if (strcmp(arg, "s") == 0)
		o->mode = MODE_SMTP;
	else if (strcmp(arg, "p") == 0)
		o->mode = MODE_PRINT;
	else if (strcmp(arg, "i") == 0)
		o->mode = MODE_ALIASES;
	else
		cmd_fatal(EX_USAGE, "unsupported: -b%s", arg);
}

/* parse_args - the options; returns the index of the first recipient. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	o->dot_ends = true;
	o->dir = getenv("TERN_CONFIG_DIR");
	if (argc > 0 && strcmp(argv[0], "mailq") == 0)
		o->mode = MODE_PRINT;
	if (argc > 0 && strcmp(argv[0], "newaliases") == 0)
		o->mode = MODE_ALIASES;
	opterr = 0;
	while ((c = getopt(argc, argv, "+B:C:c:F:f:GIiL:mN:no:R:r:tUV:vX:b:h:q::")) != -1) {
		switch (c) {
		case 'B':
			if (strcasecmp(optarg, "8BITMIME") == 0)
				o->body_8bit = true;
			else if (strcasecmp(optarg, "7BIT") == 0)
				o->body_7bit = true;
			else
				cmd_fatal(EX_USAGE, "-B: bad body type \"%s\"", optarg);
			break;
		case 'C':
		case 'c':
			o->dir = optarg;
			break;
		case 'F':
			o->fullname = optarg;
			break;
		case 'f':
		case 'r':
			o->sender = optarg;
			break;
		case 'I':
			o->mode = MODE_ALIASES;
			break;
		case 'i':
			o->dot_ends = false;
			break;
		case 'N':
			o->notify = parse_notify(optarg);
			break;
		case 'o':
			if (strcmp(optarg, "i") == 0)
				o->dot_ends = false;
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				o->ret = PICKUP_F_RET_FULL;
			else if (strcasecmp(optarg, "hdrs") == 0)
				o->ret = PICKUP_F_RET_HDRS;
			else
				cmd_fatal(EX_USAGE, "-R: bad DSN return \"%s\"", optarg);
			break;
		case 't':
			o->extract = true;
			break;
		case 'V':
			o->envid = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'b':
			parse_b(o, optarg);
			break;
		case 'q':
			o->mode = MODE_FLUSH;
			break;
		case 'G':
		case 'L':
		case 'm':
		case 'n':
		case 'U':
		case 'X':
		case 'h':
			break; /* accepted for compatibility, no effect */
		default:
			usage();
		}
	}
	if (o->dir == NULL || o->dir[0] == '\0')
		cmd_fatal(EX_USAGE, "no instance directory: use -C DIR or set TERN_CONFIG_DIR");
	return optind;
}

/* read_message - stdin up to EOF or a lone "." line (dot_ends), CRLF made
 * LF, a missing last LF added.  Exits EX_DATAERR past limit bytes. */
static void read_message(FILE *in, bool dot_ends, uint64_t limit, struct buf *out)
{
	struct buf line = BUF_INIT;
	int ch = 0;

	while (ch != EOF) {
		buf_reset(&line);
		while ((ch = getc(in)) != EOF && ch != '\n') {
			buf_addc(&line, (char)ch);
			if (limit > 0 && out->len + line.len > limit)
				cmd_fatal(EX_DATAERR, "message is larger than %llu bytes",
				      (unsigned long long)limit);
		}
		if (ch == EOF && line.len == 0)
			break;
		if (line.len > 0 && line.data[line.len - 1] == '\r')
			buf_truncate(&line, line.len - 1);
		if (dot_ends && line.len == 1 && line.data[0] == '.')
			break;
		buf_add(out, line.data != NULL ? line.data : "", line.len);
		buf_addc(out, '\n');
		if (limit > 0 && out->len > limit)
			cmd_fatal(EX_DATAERR, "message is larger than %llu bytes",
			      (unsigned long long)limit);
	}
	if (ferror(in))
		cmd_fatal(EX_IOERR, "error reading the message from standard input");
	buf_deinit(&line);
}

struct rcpt_list {
	char **v;
	size_t n, cap;
};

/* rcpt_add - keep a copy of addr. */
static void rcpt_add(struct rcpt_list *l, const char *addr, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = xstrndup(addr, len);
}

/* header_rcpt - addr_header_fn for -t. */
static int header_rcpt(const char *addr, size_t len, void *ctx)
{
	rcpt_add(ctx, addr, len);
	return 0;
}

/* extract_rcpts - -t: recipients from the headers, Bcc: removed from msg. */
static void extract_rcpts(struct buf *msg, struct rcpt_list *l)
{
	struct pickup_hdr_scan scan;
	struct buf hdr = BUF_INIT;
	struct err err;
	const char *d = buf_cstr(msg);

	(void)pickup_hdr_scan(d, msg->len, true, &scan);
	if (pickup_hdr_rcpts(d, scan.hdr_len, header_rcpt, l, &hdr, &err) < 0)
		cmd_fatal(EX_DATAERR, "-t: %s", err.msg);
	buf_add(&hdr, d + scan.hdr_len, msg->len - scan.hdr_len);
	buf_set(msg, hdr.data != NULL ? hdr.data : "", hdr.len);
	buf_deinit(&hdr);
}

/* check_addr - refuse an unusable address before pickup does. */
static void check_addr(const char *a, bool sender)
{
	struct buf canon = BUF_INIT;
	struct err err;

	if (pickup_addr_parse(a, strlen(a), sender, &canon, &err) < 0)
		cmd_fatal(EX_DATAERR, "bad %s address syntax: %s", sender ? "sender" : "recipient", a);
	buf_deinit(&canon);
}

/* run_newaliases - -bi / -I: the newaliases command beside this one. */
static void run_newaliases(const char *dir)
{
	char self[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 32);
	struct buf path = BUF_INIT;

	if (n <= 0 || (slash = memrchr(self, '/', (size_t)n)) == NULL)
		cmd_fatal(EX_OSERR, "cannot find newaliases beside this program");
	buf_add(&path, self, (size_t)(slash - self));
	buf_adds(&path, "/newaliases");
	execl(buf_cstr(&path), "newaliases", "-c", dir, (char *)NULL);
	cmd_fatal(EX_OSERR, "exec %s: %s", buf_cstr(&path), strerror(errno));
}

/* deliver - -bm: read, extract, submit. */
static int deliver(struct cfg *cfg, const struct opts *o, char **argv, int argc)
{
	struct buf msg = BUF_INIT, qid = BUF_INIT;
	struct rcpt_list rcpts = {NULL, 0, 0};
	struct sendmail_msg m;
	struct err err;
	bool utf8 = false;

	if (o->sender != NULL)
		check_addr(o->sender, true);
	for (int i = 0; i < argc; i++) {
		check_addr(argv[i], false);
		rcpt_add(&rcpts, argv[i], strlen(argv[i]));
	}
	if (!o->extract && rcpts.n == 0)
		cmd_fatal(EX_USAGE, "Recipient addresses must be specified on the command line "
				"or via the -t option");
	read_message(stdin, o->dot_ends, (uint64_t)cfg_get_int(cfg, "message_size_limit"), &msg);
	if (o->extract)
		extract_rcpts(&msg, &rcpts);
	if (rcpts.n == 0)
		cmd_fatal(EX_USAGE, "No recipient addresses found in message header");
	memset(&m, 0, sizeof(m));
	m.sender = o->sender != NULL && strcmp(o->sender, "<>") == 0 ? "" : o->sender;
	m.fullname = o->fullname;
	m.rcpts = rcpts.v;
	m.nrcpt = rcpts.n;
	m.notify = o->notify;
	m.envid = o->envid;
	m.data = buf_cstr(&msg);
	m.len = msg.len;
	for (size_t i = 0; i < rcpts.n && !utf8; i++)
		utf8 = addr_needs_utf8(rcpts.v[i], strlen(rcpts.v[i]));
	if (m.sender != NULL && addr_needs_utf8(m.sender, strlen(m.sender)))
		utf8 = true;
	m.flags = o->ret | (utf8 ? PICKUP_F_SMTPUTF8 : 0);
	if (o->body_8bit || (!o->body_7bit && sendmail_8bit(m.data, m.len)))
		m.flags |= PICKUP_F_8BITMIME;
	if (sendmail_submit(cfg, &m, &qid, &err) < 0)
		cmd_fatal(err.code, "%s", err.msg);
	if (o->verbose)
		fprintf(stderr, PROG ": queued as %s\n", buf_cstr(&qid));
	for (size_t i = 0; i < rcpts.n; i++)
		free(rcpts.v[i]);
	free(rcpts.v);
	buf_deinit(&msg);
	buf_deinit(&qid);
	return EX_OK;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct cfg *cfg;
	struct err err;
	const char *base = strrchr(argv[0], '/');
	char *args0 = base != NULL ? (char *)base + 1 : argv[0];
	int first, rc = EX_OK;

	cmd_init(PROG);
	memset(&o, 0, sizeof(o));
	signal(SIGPIPE, SIG_IGN);
	argv[0] = args0;
	first = parse_args(argc, argv, &o);
	if (o.mode == MODE_ALIASES)
		run_newaliases(o.dir);
	cfg = cmd_load_cfg(o.dir, 0, EX_CONFIG);
	switch (o.mode) {
	case MODE_PRINT:
		if (postqueue_show(cfg, false, stdout, &err) < 0)
			cmd_fatal(EX_NOPERM, "%s", err.msg);
		break;
	case MODE_FLUSH:
		if (postqueue_flush(cfg, NULL, NULL, &err) < 0)
			cmd_fatal(EX_UNAVAILABLE, "%s", err.msg);
		break;
	case MODE_SMTP:
		rc = sendmail_smtp(cfg, stdin, stdout);
		break;
	default:
		rc = deliver(cfg, &o, argv + first, argc - first);
		break;
	}
	cfg_free(&cfg);
	return rc;
}
