#!/bin/bash
# bench/relay.sh BUILD - relay throughput, tern side by side with a private
# Postfix in the same run, loopback only (issue 4):
#
#   smtp-source -> smtpd -> queue -> qmgr -> smtp -> smtp-sink
#
# Both servers relay relay.test to [127.0.0.1]:SINK_PORT (transport_maps);
# /work/shared/bench/relay_throughput.sh sends BENCH_COUNT messages over
# each concurrency in BENCH_CONC and waits until smtp-sink has them all.
# Prints both rates (messages/s end to end), the ratio tern/Postfix, and the
# SMTP sessions each used towards the sink (connection reuse).
# Needs root (the private Postfix) and Debian's postfix package (smtp-source,
# smtp-sink).  Environment: BENCH_COUNT (2000), BENCH_CONC ("1 10 50"),
# BENCH_SIZE (2048), BENCH_ONLY=tern to skip Postfix.
set -uo pipefail
BUILD=${1:?usage: bench/relay.sh BUILD}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
COUNT=${BENCH_COUNT:-2000}
CONCS=${BENCH_CONC:-1 10 50}
SIZE=${BENCH_SIZE:-2048}
TERN_BASE=${BENCH_TERN_BASE:-43000}
TERN_SINK=$((TERN_BASE + 26))
PF_PORT=${BENCH_PF_PORT:-44025}
PF_SINK=$((PF_PORT + 1))
WORK=$(mktemp -d /tmp/tern-relay-bench.XXXXXX)
chmod 755 "$WORK"

[ "$(id -u)" = 0 ] || { echo "bench/relay: run as root (private Postfix, mail owner)" >&2; exit 1; }
[ -d "$SHARED" ] || { echo "bench/relay: $SHARED not found (the shared bench scripts)" >&2; exit 1; }
command -v smtp-source >/dev/null || { echo "bench/relay: smtp-source missing (apt-get install postfix)" >&2; exit 1; }

cleanup() {
	[ -f "$WORK/tern/run/master.pid" ] && "$BUILD/sbin/tern" -c "$WORK/tern" stop >/dev/null 2>&1
	[ "${BENCH_ONLY:-}" = tern ] || "$SHARED/postfix_instance.sh" stop "$WORK/postfix" "$PF_PORT" \
		"$PF_SINK" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

"$BUILD/sbin/tern" init "$WORK/tern" --port-base "$TERN_BASE" --hostname mx.example.test \
	--domain example.test >/dev/null || exit 1
pc() { "$BUILD/sbin/postconf" -c "$WORK/tern" "$@" >/dev/null || exit 1; }
pc inet_interfaces=loopback-only
pc relay_domains=relay.test
pc "transport_maps=inline:{relay.test=smtp:[127.0.0.1]:$TERN_SINK}"
"$BUILD/sbin/tern" -c "$WORK/tern" start >/dev/null || exit 1
TERN_PID=$(cat "$WORK/tern/run/master.pid")

if [ "${BENCH_ONLY:-}" != tern ]; then
	"$SHARED/postfix_instance.sh" start "$WORK/postfix" "$PF_PORT" "$PF_SINK" >/dev/null || exit 1
	PF_PID=$(tr -d ' ' < "$WORK/postfix/queue/pid/master.pid")
fi

rate() { tail -n 1 | awk '{print $1}'; }
field() { grep -o "$1=[0-9]*" | tail -n 1 | cut -d= -f2; }

printf '%-22s %12s %12s %8s %14s %14s\n' "relay ($SIZE B)" "tern msg/s" "postfix" "ratio" \
	"tern sessions" "pf sessions"
for c in $CONCS; do
	t_out=$(CPU_PIDS=$TERN_PID "$SHARED/relay_throughput.sh" 127.0.0.1 $((TERN_BASE + 25)) \
		x@relay.test "$TERN_SINK" "$COUNT" "$c" "$SIZE")
	t_rate=$(printf '%s\n' "$t_out" | rate)
	t_sess=$(printf '%s\n' "$t_out" | field sink_sessions)
	p_rate=- p_sess=- ratio=-
	if [ "${BENCH_ONLY:-}" != tern ]; then
		p_out=$(CPU_PIDS=$PF_PID "$SHARED/relay_throughput.sh" 127.0.0.1 "$PF_PORT" \
			x@relay.test "$PF_SINK" "$COUNT" "$c" "$SIZE")
		p_rate=$(printf '%s\n' "$p_out" | rate)
		p_sess=$(printf '%s\n' "$p_out" | field sink_sessions)
		ratio=$(awk -v a="$t_rate" -v b="$p_rate" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	fi
	printf '%-22s %12s %12s %8s %14s %14s\n' "$COUNT msgs, $c clients" "$t_rate" "$p_rate" \
		"$ratio" "${t_sess:--}" "${p_sess:--}"
done
