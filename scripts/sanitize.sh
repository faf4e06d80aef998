#!/usr/bin/env bash
# Builds the whole suite with a sanitizer and runs it: scripts/sanitize.sh address|thread
# (ASan+UBSan, or TSan). Too slow for CI's 90 minutes on 2 cores next to the normal suite,
# so it is a documented command (README, "Sanitizers").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:?usage: scripts/sanitize.sh address|thread}
case "$kind" in address | thread) ;; *) echo "usage: scripts/sanitize.sh address|thread" >&2; exit 2 ;; esac
build="$here/build-$kind"
"$here/scripts/setup.sh" "$build" -DSF_SANITIZE="$kind" -DCMAKE_BUILD_TYPE=Debug
export LSAN_OPTIONS="suppressions=$here/tests/sanitizers/lsan.supp"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="suppressions=$here/tests/sanitizers/tsan.supp:halt_on_error=1:second_deadlock_stack=1"
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 900
