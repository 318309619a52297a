#!/bin/bash
# bench/idle.sh BUILD - idle SMTP connections: how many one server greets
# and what they cost in memory, tern side by side with a private Postfix in
# the same run, loopback only (DESIGN.md target: 10,000 idle connections in
# a few hundred MB).
#
# /work/shared/bench/idle_conns.py opens BENCH_IDLE connections (10000) at
# once, reads the greetings, holds them idle for 10 s and samples the PSS
# and RSS of the server's whole process tree (master and every child)
# before and during the hold.  Printed: greeted/opened, the memory held,
# and the memory per greeted connection above the idle baseline.
# tern runs with its defaults except smtpd_client_connection_count_limit = 0
# (every connection comes from 127.0.0.1); Postfix with its defaults
# (default_process_limit 100: one process per session).
# Needs root (the private Postfix).  Environment: BENCH_IDLE (10000),
# BENCH_ONLY=tern to skip Postfix.
set -uo pipefail
BUILD=${1:?usage: bench/idle.sh BUILD}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
N=${BENCH_IDLE:-10000}
TERN_BASE=${BENCH_TERN_BASE:-45000}
PF_PORT=${BENCH_PF_PORT:-46025}
WORK=$(mktemp -d /tmp/tern-idle-bench.XXXXXX)
chmod 755 "$WORK"

[ "$(id -u)" = 0 ] || { echo "bench/idle: run as root (private Postfix, mail owner)" >&2; exit 1; }
[ -d "$SHARED" ] || { echo "bench/idle: $SHARED not found (the shared bench scripts)" >&2; exit 1; }
# The client holds N sockets itself.
ulimit -n $((N + 256)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cleanup() {
	[ -f "$WORK/tern/run/master.pid" ] && "$BUILD/sbin/tern" -c "$WORK/tern" stop >/dev/null 2>&1
	[ "${BENCH_ONLY:-}" = tern ] || "$SHARED/postfix_instance.sh" stop "$WORK/postfix" "$PF_PORT" \
		>/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

"$BUILD/sbin/tern" init "$WORK/tern" --port-base "$TERN_BASE" --hostname mx.example.test \
	--domain example.test >/dev/null || exit 1
"$BUILD/sbin/postconf" -c "$WORK/tern" inet_interfaces=loopback-only \
	smtpd_client_connection_count_limit=0 >/dev/null || exit 1
"$BUILD/sbin/tern" -c "$WORK/tern" start >/dev/null || exit 1
TERN_PID=$(cat "$WORK/tern/run/master.pid")
if [ "${BENCH_ONLY:-}" != tern ]; then
	"$SHARED/postfix_instance.sh" start "$WORK/postfix" "$PF_PORT" >/dev/null || exit 1
	PF_PID=$(tr -d ' ' < "$WORK/postfix/queue/pid/master.pid")
fi

# summary OUTPUT - "greeted/opened held_MiB_PSS held_MiB_RSS KiB_PSS_per_conn"
summary() {
	awk '
	/^mem_before:/ { for (i = 1; i <= NF; i++) if ($i ~ /^pss_sum_kib=/) { split($i, a, "="); b = a[2] } }
	/^mem_held:/ {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^pss_sum_kib=/) { split($i, a, "="); p = a[2] }
			if ($i ~ /^rss_sum_kib=/) { split($i, a, "="); r = a[2] }
		}
	}
	/^success=/ { split($0, a, "="); s = a[2]; split(s, g, "/") }
	END {
		per = g[1] > 0 ? (p - b) / g[1] : 0
		printf "%s %.1f %.1f %.1f\n", s, p / 1024, r / 1024, per
	}'
}

printf '%-10s %14s %14s %14s %16s\n' "idle SMTP" "greeted" "MiB PSS held" "MiB RSS held" \
	"KiB PSS/conn"
t=$(python3 "$SHARED/idle_conns.py" 127.0.0.1 $((TERN_BASE + 25)) "$N" --hold 10 \
	--pids "$TERN_PID" 2>&1 | summary)
set -- $t
printf '%-10s %14s %14s %14s %16s\n' tern "$1" "$2" "$3" "$4"
if [ "${BENCH_ONLY:-}" != tern ]; then
	p=$(python3 "$SHARED/idle_conns.py" 127.0.0.1 "$PF_PORT" "$N" --hold 10 \
		--pids "$PF_PID" 2>&1 | summary)
	set -- $p
	printf '%-10s %14s %14s %14s %16s\n' postfix "$1" "$2" "$3" "$4"
fi
