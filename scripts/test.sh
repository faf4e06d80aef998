#!/usr/bin/env bash
# README command (2): installs what is missing, builds, and runs the whole test suite.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh" "$here/build"
cd "$here/build"
# Most tests wait on processes, git and timers (CPU is busy about a third of the time at one
# test per core), so two per core keep both busy and halve the wall time.
ctest --output-on-failure -j "$((2 * $(nproc)))" --timeout 600
