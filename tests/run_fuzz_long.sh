#!/bin/sh
# tests/run_fuzz_long.sh FUZZ_BUILD - `make check-long`: every libFuzzer
# target for $FUZZ_SECONDS (default 300) over a scratch copy of its corpus.
# New crashes are left as crash-* files in the current directory; add the
# input to tests/fuzz/corpus/NAME/ once it is fixed.
set -u
build=${1:-build/fuzz}
secs=${FUZZ_SECONDS:-300}
pass=0; fail=0
work=$(mktemp -d /tmp/tern-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
for t in "$build"/bin/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t"); n=${n#fuzz_}
	mkdir -p "$work/$n"
	cp tests/fuzz/corpus/"$n"/* "$work/$n"/ 2>/dev/null
	echo "== fuzz_$n for ${secs}s"
	if "$t" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 "$work/$n" \
		>"$work/$n.log" 2>&1; then
		pass=$((pass + 1))
		grep -E "^stat::number_of_executed_units" "$work/$n.log"
	else
		fail=$((fail + 1))
		tail -n 30 "$work/$n.log"
	fi
done
echo "fuzz-long: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
