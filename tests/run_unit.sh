#!/bin/sh
# tests/run_unit.sh BUILD - run every cmocka unit test binary in BUILD/tests/unit.
# Prints each binary's cmocka report and a closing "N passed, N failed" line.
set -u
build=${1:-build/asan}
pass=0; fail=0; failed=""
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "$build"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue ;; esac
	echo "== $(basename "$t")"
	if (cd tests/unit && "../../$t"); then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); failed="$failed $(basename "$t")"
	fi
done
[ -n "$failed" ] && echo "unit: failed:$failed"
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
