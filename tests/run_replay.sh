#!/bin/sh
# tests/run_replay.sh BUILD - replay every fuzz corpus under ASan+UBSan:
# BUILD/tests/fuzz/fuzz_X runs over tests/fuzz/corpus/X/*.
set -u
build=${1:-build/asan}
pass=0; fail=0
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "$build"/tests/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t"); n=${n#fuzz_}
	if [ ! -d "tests/fuzz/corpus/$n" ]; then
		echo "replay: $n has no corpus in tests/fuzz/corpus/$n"; fail=$((fail + 1)); continue
	fi
	if "$t" "tests/fuzz/corpus/$n"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
