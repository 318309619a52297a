/*
 * qmgr.h - the queue manager's private state and the functions its files
 *          share: qmgr.c (service, timers), qmgr_scan.c (queue directories),
 *          qmgr_message.c (a message's delivery round), qmgr_sched.c
 *          (transports, destinations, delivery agents), qmgr_dsn.c
 *          (notifications) and qmgr_util.c (pure helpers, unit-tested).
 * See: docs/qmgr.md, lib/proto.h, docs/queue-format.md.
 */
#ifndef TERN_QMGR_H
#define TERN_QMGR_H

#include "sys.h"

#include <time.h>

#include "dsn.h"
#include "qfile.h"
#include "qid.h"

struct cfg;
struct event_base;
struct ipc_conn;
struct loop_timer;
struct mastercf;
struct resolver;
struct transport;
struct defer_log;

/* QMGR_INCOMING_MAX_AGE - incoming/ files untouched this long are removed. */
#define QMGR_INCOMING_MAX_AGE 3600
/* QMGR_AGENT_IDLE_MS - an idle delivery agent connection is closed after. */
#define QMGR_AGENT_IDLE_MS 10000
/* QMGR_TRANSPORT_RETRY_MS - wait after a transport's socket was busy. */
#define QMGR_TRANSPORT_RETRY_MS 1000

/* ---- qmgr_util.c: pure helpers ---- */

/* A string-keyed hash map (chained; grows), values are the caller's. */
struct qmgr_map_ent {
	char *key;
	void *value;
	struct qmgr_map_ent *next;
};
struct qmgr_map {
	struct qmgr_map_ent **slots;
	size_t nslots;
	size_t count;
};
/* qmgr_map_init / qmgr_map_deinit - an empty map; deinit frees the keys
 * (values are the caller's). */
void qmgr_map_init(struct qmgr_map *map);
void qmgr_map_deinit(struct qmgr_map *map);
/* qmgr_map_get - the value stored under key, or NULL. */
void *qmgr_map_get(const struct qmgr_map *map, const char *key);
/* qmgr_map_put - store value under key (replacing an old value). */
void qmgr_map_put(struct qmgr_map *map, const char *key, void *value);
/* qmgr_map_del - remove key; true if it was there. */
bool qmgr_map_del(struct qmgr_map *map, const char *key);

/* qmgr_backoff - seconds until the next attempt for a message of this age:
 * the age itself (so the wait doubles from try to try), kept between
 * min_backoff and max_backoff. */
long qmgr_backoff(long age, long min_backoff, long max_backoff);
/* qmgr_retry_time - when a message that arrived at arrival and was deferred
 * at now is tried again: now + qmgr_backoff, but no later than the moment
 * it expires (arrival + lifetime) and never before now + 1. */
time_t qmgr_retry_time(time_t now, time_t arrival, long min_backoff, long max_backoff,
		       long lifetime);
/* qmgr_expired - the message is older than lifetime. */
bool qmgr_expired(time_t now, time_t arrival, long lifetime);
/* qmgr_delay_due - a delay warning should go out now: warn_after > 0, the
 * message is at least that old, and none was sent (mstat). */
bool qmgr_delay_due(time_t now, time_t arrival, long warn_after, unsigned int mstat);
/* qmgr_notify_wants - should a DSN of this kind go to the sender for a
 * recipient with this NOTIFY mask (0: not given, RFC 3461 defaults:
 * failures and delays yes, success no)? */
bool qmgr_notify_wants(unsigned int notify, enum dsn_kind kind);

/* One pending recipient on its way to a transport. */
struct qmgr_route {
	char *transport;       /* "local", "smtp", or a master.cf transport */
	char *nexthop;	       /* the domain, lower case ("" when none) */
	char *dest;	       /* destination key: nexthop, or the address
				* for per-recipient transports */
	size_t rcpt;	       /* index into the envelope's recipients */
};
/* qmgr_route_set - fill r for recipient rcpt_index with address addr:
 * nexthop is its domain (after the last '@') lower-cased, dest the nexthop,
 * or the lower-cased whole address when per_rcpt. */
void qmgr_route_set(struct qmgr_route *r, const char *transport, const char *addr,
		    size_t rcpt_index, bool per_rcpt);
/* qmgr_route_set_nexthop - replace the nexthop (transport_maps, relayhost);
 * dest follows it unless the route is per recipient. */
void qmgr_route_set_nexthop(struct qmgr_route *r, const char *nexthop, bool per_rcpt);
/* qmgr_route_deinit - free what qmgr_route_set allocated. */
void qmgr_route_deinit(struct qmgr_route *r);
/* qmgr_routes_sort - order by transport, destination, then recipient
 * index, so one destination's recipients are adjacent. */
void qmgr_routes_sort(struct qmgr_route *routes, size_t n);
/* qmgr_routes_batch - end of the batch that starts at start: the following
 * routes with the same transport and destination, at most limit (>= 1). */
size_t qmgr_routes_batch(const struct qmgr_route *routes, size_t n, size_t start, size_t limit);

/* qmgr_param_name - the parameter that sets SUFFIX ("destination_rate_delay",
 * "destination_concurrency_limit", "destination_recipient_limit") for a
 * transport, into name_r: "TRANSPORT_SUFFIX" when that is a parameter (the
 * table's own, as local_destination_recipient_limit, or a per-transport
 * name: lib/cfg.h cfg_param_lookup), else "default_SUFFIX". */
struct buf;
void qmgr_param_name(const char *transport, const char *suffix, struct buf *name_r);

/* The state of a destination (docs/qmgr.md "Dead destinations"). */
enum qmgr_dest_state {
	QMGR_DEST_ALIVE, /* deliveries up to the concurrency limit */
	QMGR_DEST_DEAD,	 /* suspended: new and waiting entries are deferred */
	QMGR_DEST_PROBE, /* suspension over: one delivery at a time decides */
};
/* qmgr_dest_room - may a destination in state st start one more delivery,
 * with busy in flight and concurrency limit conc?  rate_limited (its
 * transport's rate delay is > 0) allows one at a time, and none while
 * rate_wait (the delay since the last start is running). */
bool qmgr_dest_room(enum qmgr_dest_state st, unsigned long busy, unsigned long conc,
		    bool rate_limited, bool rate_wait);
/* qmgr_site_reason - "delivery temporarily suspended: REASON" into out
 * (REASON from an agent, sanitized and capped; without one the words
 * alone). */
void qmgr_site_reason(const char *reason, struct buf *out);
/* qmgr_site_dsn - dsn when it is a temporary RFC 3463 code (4.X.Y), else
 * "4.4.1" (cannot connect). */
const char *qmgr_site_dsn(const char *dsn);

/* ---- the process state ---- */

struct qmgr_message;
struct qmgr_transport;

struct qmgr {
	struct event_base *base;
	struct cfg *cfg;
	struct resolver *resolver;
	struct transport *routes; /* transport_maps and relayhost */
	struct mastercf *mcf; /* for transports' maxproc; may be NULL */
	char *queue_dir;
	char *hostname; /* $myhostname */
	/* queue directory descriptors (O_DIRECTORY) */
	int dir_incoming, dir_active, dir_deferred, dir_hold, dir_corrupt;
	int dir_defer, dir_bounce;
	/* parameters */
	long queue_run_delay, min_backoff, max_backoff;
	long max_lifetime, bounce_lifetime, delay_warning;
	unsigned long active_limit;
	unsigned long default_proc_limit;
	size_t bounce_size_limit;
	long ipc_timeout;
	/* messages: known (in waiting or loaded), the waiting FIFO, the active set */
	struct qmgr_map known;
	char (*waiting)[QID_SIZE];
	size_t waiting_head, waiting_len, waiting_cap;
	bool rescan_active; /* active/ holds files not in waiting */
	unsigned long active_count;
	struct qmgr_message *messages;
	/* delivery */
	struct qmgr_transport *transports;
	uint32_t reqid;
	/* timers */
	struct loop_timer *kick_timer; /* 0 ms: feed and schedule */
	struct loop_timer *scan_timer; /* the periodic queue run */
	time_t next_due;	       /* earliest deferred retry known, 0 none */
};

/* A message in the active set, for one delivery round. */
struct qmgr_success {
	size_t rcpt;
	char *dsn;
	char *reason;
};
struct qmgr_message {
	struct qmgr *q;
	char qid[QID_SIZE];
	int fd; /* active/QID, read-write */
	struct qfile_env env;
	size_t entries_out;	   /* entries not finished this round */
	struct qmgr_success *succ; /* delivered recipients with NOTIFY=SUCCESS */
	size_t nsucc;
	struct qmgr_message *prev, *next;
};

/* ---- qmgr_scan.c ---- */

/* qmgr_dirs_open - open the queue directories; -1 with err. */
int qmgr_dirs_open(struct qmgr *q, struct err *err) ATTR_WARN_UNUSED;
/* qmgr_waiting_push - remember qid (a file in active/) for loading; known
 * IDs are ignored; a full waiting list sets rescan_active instead. */
void qmgr_waiting_push(struct qmgr *q, const char *qid);
/* qmgr_feed - load messages from waiting (rescanning active/ when asked)
 * while the active set has room. */
void qmgr_feed(struct qmgr *q);
/* qmgr_scan_deferred - move deferred files whose time has come to active/;
 * note the earliest future one in q->next_due. */
void qmgr_scan_deferred(struct qmgr *q, time_t now);
/* qmgr_scan_incoming - remove incoming/ files older than an hour. */
void qmgr_scan_incoming(struct qmgr *q, time_t now);
/* qmgr_scan_orphans - remove defer/ and bounce/ logs whose message is in
 * no queue (a crash after the unlink of step 9). */
void qmgr_scan_orphans(struct qmgr *q);
/* qmgr_flush - move deferred mail to active/ now: all (site and qid
 * NULL), one destination domain, or one queue ID.  Returns the count. */
unsigned int qmgr_flush(struct qmgr *q, const char *site, const char *qid);
/* qmgr_move - rename qid from one queue directory to another and fsync
 * both; -1 with errno set (ENOENT: it vanished). */
int qmgr_move(struct qmgr *q, int from_dir, int to_dir, const char *qid);
/* qmgr_corrupt - move qid from from_dir to corrupt/ with a warning. */
void qmgr_corrupt(struct qmgr *q, int from_dir, const char *qid, const char *why);

/* ---- qmgr_message.c ---- */

/* qmgr_message_load - read active/QID and start its delivery round (or
 * finish it at once when nothing is pending). */
void qmgr_message_load(struct qmgr *q, const char *qid);
/* qmgr_message_result - a recipient's outcome this round (DELIVER_*). */
void qmgr_message_result(struct qmgr_message *m, size_t rcpt, unsigned int result, const char *dsn,
			 const char *reason);
/* qmgr_message_defer - qmgr itself defers a recipient: defer log entry,
 * log line, result. */
void qmgr_message_defer(struct qmgr_message *m, size_t rcpt, const char *status,
			const char *reason);
/* qmgr_message_entry_done - one of the message's entries finished; the
 * last one ends the round. */
void qmgr_message_entry_done(struct qmgr_message *m);

/* ---- qmgr_sched.c ---- */

/* qmgr_sched_add - queue a delivery request for n recipients (indices,
 * copied) of m to transport/dest. */
void qmgr_sched_add(struct qmgr *q, struct qmgr_message *m, const char *transport, const char *dest,
		    const char *nexthop, const size_t *rcpts, size_t n);
/* qmgr_schedule - start as many queued requests as the limits allow. */
void qmgr_schedule(struct qmgr *q);
/* qmgr_sched_free - drop every transport and connection (exit). */
void qmgr_sched_free(struct qmgr *q);
/* qmgr_transport_limits - rcpt and per-destination concurrency limits and
 * whether destinations are per recipient, for a transport name
 * (TRANSPORT_destination_* parameters, else default_destination_*; read
 * once per transport). */
void qmgr_transport_limits(struct qmgr *q, const char *transport, size_t *rcpt_limit_r,
			   unsigned long *dest_conc_r, bool *per_rcpt_r);
/* qmgr_sched_revive - end the suspension of dead destinations (QMGR_FLUSH,
 * as Postfix's flush does): those called site (case-insensitive), or all
 * when site is NULL.  Returns how many. */
unsigned int qmgr_sched_revive(struct qmgr *q, const char *site);

/* ---- qmgr_dsn.c ---- */

/* qmgr_dsn_send - build a notification of kind for rcpts of m from its
 * queue file, queue it (sender <>) and tell the scheduler; logs "QID:
 * sender ... notification: NEWQID".  -1 with err when it could not be
 * queued (the caller keeps what it needs to try again). */
int qmgr_dsn_send(struct qmgr_message *m, enum dsn_kind kind, const struct dsn_rcpt *rcpts,
		  size_t n, struct err *err) ATTR_WARN_UNUSED;

/* ---- qmgr.c ---- */

/* qmgr_kick - feed and schedule from the loop, soon (not re-entrantly). */
void qmgr_kick(struct qmgr *q);
/* qmgr_note_due - a deferred file becomes due at t: make sure the queue
 * run timer fires by then. */
void qmgr_note_due(struct qmgr *q, time_t t);

#endif
