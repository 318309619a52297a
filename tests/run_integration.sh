#!/bin/sh
# tests/run_integration.sh - the pytest integration suite against TERN_BUILD
# (default: build/asan).  Extra arguments go to pytest.
set -u
: "${TERN_BUILD:=$(pwd)/build/asan}"
export TERN_BUILD
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m pytest -p no:cacheprovider -q -ra tests/integration "$@"
