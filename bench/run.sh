#!/bin/bash
# bench/run.sh BUILD - `make bench`: tern side by side with a private Postfix,
# in the same run, on loopback only.
#
#   receive+deliver  smtp-source -> smtpd -> queue -> local -> Maildir,
#                    2000 x 2 KB messages at 1, 10 and 50 clients (issue 3)
#   relay            bench/relay.sh (issue 4)
#   idle             bench/idle.sh: 10,000 idle SMTP connections, memory held
#
# Each line prints both rates (messages/s, end to end until the last message
# is in the Maildir), the ratio tern/Postfix and the server CPU per message.
# Needs root (the Postfix instance, and the postfix package for smtp-source);
# installs the package when missing without starting the system Postfix.
# Environment: BENCH_COUNT (2000), BENCH_CONC ("1 10 50"), BENCH_SIZE (2048),
# BENCH_ONLY=tern to skip Postfix.
set -uo pipefail
BUILD=${1:?usage: bench/run.sh BUILD}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
COUNT=${BENCH_COUNT:-2000}
CONCS=${BENCH_CONC:-1 10 50}
SIZE=${BENCH_SIZE:-2048}
WORK=$(mktemp -d /tmp/tern-bench.XXXXXX)
chmod 755 "$WORK" # the mail owners of both instances must reach their trees
TERN_BASE=${BENCH_TERN_BASE:-41000}
PF_PORT=${BENCH_PF_PORT:-42025}

[ "$(id -u)" = 0 ] || { echo "bench: run as root (private Postfix, mail owner)" >&2; exit 1; }
[ -d "$SHARED" ] || { echo "bench: $SHARED not found (the shared bench scripts)" >&2; exit 1; }

install_postfix() {
	command -v smtp-source >/dev/null && command -v postfix >/dev/null && return 0
	echo "bench: installing Debian's postfix (for smtp-source and the comparison)"
	# Keep the package's maintainer scripts from starting a system Postfix.
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >/dev/null
	rc=$?
	rm -f /usr/sbin/policy-rc.d
	return $rc
}

cleanup() {
	[ -f "$WORK/tern/run/master.pid" ] && "$BUILD/sbin/tern" -c "$WORK/tern" stop >/dev/null 2>&1
	[ "${BENCH_ONLY:-}" = tern ] || "$SHARED/postfix_instance.sh" stop "$WORK/postfix" "$PF_PORT" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

install_postfix || { echo "bench: cannot install postfix" >&2; exit 1; }

# tern: one virtual user bench@example.test; its Maildir made in advance so
# the counter can watch new/ from the start (as the Postfix script does).
"$BUILD/sbin/tern" init "$WORK/tern" --port-base "$TERN_BASE" --hostname mx.example.test \
	--domain example.test >/dev/null || exit 1
"$BUILD/sbin/postconf" -c "$WORK/tern" inet_interfaces=loopback-only >/dev/null
"$BUILD/sbin/tern" -c "$WORK/tern" user add bench@example.test bench-password >/dev/null || exit 1
TERN_NEW=$WORK/tern/mail/example.test/bench/new
owner=$("$BUILD/sbin/postconf" -c "$WORK/tern" -h mail_owner)
for d in "$WORK/tern/mail/example.test" "$WORK/tern/mail/example.test/bench" \
	"$WORK/tern/mail/example.test/bench/tmp" "$TERN_NEW" "$WORK/tern/mail/example.test/bench/cur"; do
	install -d -o "$owner" -m 700 "$d"
done
"$BUILD/sbin/tern" -c "$WORK/tern" start >/dev/null || exit 1
TERN_PID=$(cat "$WORK/tern/run/master.pid")

if [ "${BENCH_ONLY:-}" != tern ]; then
	"$SHARED/postfix_instance.sh" start "$WORK/postfix" "$PF_PORT" >/dev/null || exit 1
	PF_PID=$(tr -d ' ' < "$WORK/postfix/queue/pid/master.pid")
	PF_NEW=$WORK/postfix/mail/bench/new
fi

# rate LINE - the last line of smtp_throughput.sh is "<rate> messages/s".
rate() { tail -n 1 | awk '{print $1}'; }
cpu_per_msg() { awk -F= '/^server_cpu_s=/{printf "%.2f", $2 * 1000 / '"$COUNT"'}'; }

printf '%-28s %12s %12s %8s %14s %14s\n' "receive+deliver ($SIZE B)" "tern msg/s" "postfix" "ratio" \
	"tern ms CPU" "postfix ms CPU"
for c in $CONCS; do
	t_out=$(CPU_PIDS=$TERN_PID "$SHARED/smtp_throughput.sh" 127.0.0.1 $((TERN_BASE + 25)) \
		bench@example.test "$TERN_NEW" "$COUNT" "$c" "$SIZE")
	t_rate=$(printf '%s\n' "$t_out" | rate)
	t_cpu=$(printf '%s\n' "$t_out" | cpu_per_msg)
	p_rate=- p_cpu=- ratio=-
	if [ "${BENCH_ONLY:-}" != tern ]; then
		p_out=$(CPU_PIDS=$PF_PID "$SHARED/smtp_throughput.sh" 127.0.0.1 "$PF_PORT" \
			bench@example.test "$PF_NEW" "$COUNT" "$c" "$SIZE")
		p_rate=$(printf '%s\n' "$p_out" | rate)
		p_cpu=$(printf '%s\n' "$p_out" | cpu_per_msg)
		ratio=$(awk -v a="$t_rate" -v b="$p_rate" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	fi
	printf '%-28s %12s %12s %8s %14s %14s\n' "$c client(s), $COUNT msgs" "$t_rate" "$p_rate" \
		"$ratio" "$t_cpu" "$p_cpu"
done

# relay (issue 4): smtp-source -> tern -> smtp -> smtp-sink, beside Postfix
echo
bash "$ROOT/bench/relay.sh" "$BUILD"

# idle connections (DESIGN.md: 10,000 idle connections in a few hundred MB)
echo
bash "$ROOT/bench/idle.sh" "$BUILD"
