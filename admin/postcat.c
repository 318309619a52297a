/*
 * postcat.c - show a queue file, like Postfix's postcat(1):
 *     postcat [-c DIR] [-e] [-h] [-b] -q ID...     find each ID in the queue
 *     postcat [-c DIR] [-e] [-h] [-b] FILE...      a queue file by path
 * -e envelope records, -h header, -b body; none of them: everything, in
 * Postfix's shape:
 *     *** ENVELOPE RECORDS active/ID ***
 *     *** MESSAGE CONTENTS active/ID ***
 *     *** HEADER EXTRACTED active/ID ***
 *     *** MESSAGE FILE END active/ID ***
 * DIR is -c, else $TERN_CONFIG_DIR (needed with -q only).
 * Touches:  reads DIR/main.cf and queue files (incoming, active, deferred,
 *           hold, corrupt); writes nothing.
 * Input:    queue files are validated by lib/qfile before anything is
 *           shown; IDs from the command line go through qid_valid.
 * Security: an operator command; needs read access to the queue (root or
 *           the mail owner).  Control bytes in envelope values cannot occur
 *           (qfile refuses them); content is printed as stored.
 * Errors:   "postcat: fatal: ..." and exit 1 for usage, a missing message,
 *           or a file that is not a valid queue file.
 * See:      Postfix postcat(1), docs/queue-format.md, docs/commands.md.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "cmd.h"
#include "err.h"
#include "qfile.h"
#include "qid.h"

#define PROG "postcat"

#define SHOW_ENV 0x1
#define SHOW_HDR 0x2
#define SHOW_BODY 0x4
#define SHOW_ALL 0x7

/* Where -q looks, in this order. */
static const char *const queue_names[] = {"incoming", "active", "deferred", "hold", "corrupt"};

static void usage(void) ATTR_NORETURN;
static void usage(void)
{
	fputs("usage: " PROG " [-c DIR] [-e] [-h] [-b] -q ID...\n"
	      "       " PROG " [-c DIR] [-e] [-h] [-b] FILE...\n",
	      stderr);
	exit(1);
}

/* time_text - t as "Sun Nov 22 03:20:26 2026". */
static void time_text(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(out, size, "%a %b %e %H:%M:%S %Y", &tm) == 0)
		snprintf(out, size, "%lld", (long long)t);
}

/* show_flags - the QFILE_F_* names. */
static void show_flags(unsigned int flags)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {{QFILE_F_8BITMIME, "8BITMIME"},
		     {QFILE_F_BINARYMIME, "BINARYMIME"},
		     {QFILE_F_SMTPUTF8, "SMTPUTF8"},
		     {QFILE_F_RET_FULL, "RET=FULL"},
		     {QFILE_F_RET_HDRS, "RET=HDRS"}};

	printf("message_flags: %u", flags);
	for (size_t i = 0; i < N_ELEMENTS(names); i++)
		if (flags & names[i].bit)
			printf(" %s", names[i].name);
	putchar('\n');
}

/* show_envelope - one line per envelope record. */
static void show_envelope(const struct qfile_env *env)
{
	char when[64];

	printf("message_version: %u\n", env->version);
	printf("message_size: %llu\n", (unsigned long long)env->content_size);
	time_text(env->arrival.tv_sec, when, sizeof(when));
	printf("message_arrival_time: %s\n", when);
	show_flags(env->flags);
	if (env->mstat & QFILE_MSTAT_DELAY_SENT)
		printf("delay_warning: sent\n");
	if (env->envid != NULL)
		printf("dsn_envid: %s\n", env->envid);
	if (env->client_name != NULL)
		printf("client_name: %s\n", env->client_name);
	if (env->client_addr != NULL)
		printf("client_address: %s\n", env->client_addr);
	if (env->client_port != 0)
		printf("client_port: %u\n", env->client_port);
	if (env->helo != NULL)
		printf("helo_name: %s\n", env->helo);
	if (env->proto != NULL)
		printf("protocol_name: %s\n", env->proto);
	if (env->sasl_user != NULL)
		printf("sasl_username: %s\n", env->sasl_user);
	for (size_t i = 0; i < env->attr_count; i++)
		printf("named_attribute: %s=%s\n", env->attrs[i].name, env->attrs[i].value);
	printf("sender: %s\n", env->sender);
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct qfile_rcpt *r = &env->rcpts[i];

		if (r->orcpt[0] != '\0')
			printf("original_recipient: %s;%s\n", r->orcpt_type, r->orcpt);
		if (r->notify != 0)
			printf("dsn_notify: %u\n", r->notify);
		printf("%s: %s\n", r->status == QFILE_RCPT_DONE ? "done_recipient" : "recipient",
		       r->addr);
	}
}

/* show_content - stream the content; with only one of -h/-b, split it at
 * the first empty line (which belongs to neither part). */
static void show_content(int fd, const struct qfile_env *env, int what, const char *label)
{
	struct qfile_content_reader *r = qfile_content_reader_new(fd, env);
	struct buf chunk = BUF_INIT;
	struct err err;
	bool in_hdr = true, line_start = true;
	int rc;

	while ((rc = qfile_content_read(r, &chunk, &err)) > 0) {
		size_t start = 0;

		for (size_t i = 0; in_hdr && i < chunk.len; i++) {
			if (line_start && chunk.data[i] == '\n') {
				if (what & SHOW_HDR)
					fwrite(chunk.data, 1, i, stdout);
				in_hdr = false;
				start = i + 1;
				break;
			}
			line_start = chunk.data[i] == '\n';
		}
		if (in_hdr && (what & SHOW_HDR))
			fwrite(chunk.data, 1, chunk.len, stdout);
		else if (!in_hdr && (what & SHOW_BODY)) {
			if (start > 0 && (what & SHOW_HDR))
				putchar('\n');
			fwrite(chunk.data + start, 1, chunk.len - start, stdout);
		}
	}
	qfile_content_reader_free(&r);
	buf_deinit(&chunk);
	if (rc < 0)
		cmd_fatal(1, "%s: %s", label, err.msg);
}

/* show_file - the whole display of one open queue file. */
static void show_file(int fd, const char *label, int what)
{
	struct qfile_env env;
	struct err err;

	memset(&env, 0, sizeof(env));
	if (qfile_read_envelope(fd, &env, &err) < 0)
		cmd_fatal(1, "%s: not a valid queue file: %s", label, err.msg);
	if (what & SHOW_ENV) {
		printf("*** ENVELOPE RECORDS %s ***\n", label);
		show_envelope(&env);
	}
	if (what & (SHOW_HDR | SHOW_BODY)) {
		printf("*** MESSAGE CONTENTS %s ***\n", label);
		fflush(stdout);
		show_content(fd, &env, what, label);
	}
	if (what & SHOW_ENV) {
		printf("*** HEADER EXTRACTED %s ***\n", label);
		printf("*** MESSAGE FILE END %s ***\n", label);
	}
	fflush(stdout);
	qfile_env_deinit(&env);
}

/* find_id - open the queue file ID in the first queue that has it; its
 * "queue/ID" label into label_r. */
static int find_id(const char *queue_dir, const char *id, struct buf *label_r)
{
	struct buf path = BUF_INIT;

	for (size_t i = 0; i < N_ELEMENTS(queue_names); i++) {
		int fd;

		buf_reset(&path);
		buf_printf(&path, "%s/%s/%s", queue_dir, queue_names[i], id);
		fd = open(buf_cstr(&path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			buf_reset(label_r);
			buf_printf(label_r, "%s/%s", queue_names[i], id);
			buf_deinit(&path);
			return fd;
		}
		if (errno != ENOENT)
			cmd_fatal(1, "open %s: %s", buf_cstr(&path), strerror(errno));
	}
	buf_deinit(&path);
	cmd_fatal(1, "%s: no such message in the queue", id);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("TERN_CONFIG_DIR");
	struct buf label = BUF_INIT;
	struct cfg *cfg = NULL;
	struct err err;
	bool by_id = false;
	int c, what = 0;

	cmd_init(PROG);
	while ((c = getopt(argc, argv, "bc:ehoqrsv")) != -1) {
		switch (c) {
		case 'b':
			what |= SHOW_BODY;
			break;
		case 'c':
			dir = optarg;
			break;
		case 'e':
			what |= SHOW_ENV;
			break;
		case 'h':
			what |= SHOW_HDR;
			break;
		case 'q':
			by_id = true;
			break;
		case 'o':
		case 'r':
		case 's':
		case 'v':
			break; /* Postfix options without meaning here */
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (what == 0)
		what = SHOW_ALL;
	if (by_id) {
		if (dir == NULL || dir[0] == '\0')
			cmd_fatal(1, "no instance directory: use -c DIR or set TERN_CONFIG_DIR");
		if ((cfg = cfg_load(dir, &err)) == NULL)
			cmd_fatal(1, "%s", err.msg);
	}
	for (int i = optind; i < argc; i++) {
		int fd;

		if (by_id) {
			if (!qid_valid(argv[i]))
				cmd_fatal(1, "invalid queue ID: \"%.100s\"", argv[i]);
			fd = find_id(cfg_get(cfg, "queue_directory"), argv[i], &label);
		} else {
			fd = open(argv[i], O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				cmd_fatal(1, "open %s: %s", argv[i], strerror(errno));
			buf_sets(&label, argv[i]);
		}
		show_file(fd, buf_cstr(&label), what);
		close(fd);
	}
	buf_deinit(&label);
	cfg_free(&cfg);
	return 0;
}
