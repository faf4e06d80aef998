#!/usr/bin/env bash
# Runs the whole chaos scenario catalog (slow ones included) against a fresh build and
# regenerates docs/RELIABILITY.md from the results. Exit status: 0 when every scenario kept
# every invariant.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/setup.sh" "$here/build"
cd "$here"
build/sf-actors chaos --slow --report docs/RELIABILITY.md chaos/scenarios
