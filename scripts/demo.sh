#!/usr/bin/env bash
# README command (1): installs what is missing, builds, creates a demo project (a real git
# repository with a plan of five milestones), and runs sf-actors on it for real.
# Usage: scripts/demo.sh [project-dir]   (default: a new folder under /tmp)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# SF_DEMO_BIN: a folder with sf-actors already built (the test suite plays the demo that way).
if [ -n "${SF_DEMO_BIN:-}" ]; then
  sf="$SF_DEMO_BIN/sf-actors"
else
  "$here/scripts/setup.sh" "$here/build" >/dev/null
  sf="$here/build/sf-actors"
fi
demo=${1:-$(mktemp -d /tmp/sf-demo-XXXXXX)}
mkdir -p "$demo"
cd "$demo"
if [ -e .sf ]; then
  echo "demo: $demo already holds a project; give an empty folder" >&2
  exit 2
fi

git init -q -b main .
git config user.name "sf-actors demo"
git config user.email "demo@sf-actors.invalid"
mkdir -p src
printf 'export type Id = string;\n' >src/types.ts
printf 'export const middleware = [];\n' >src/middleware.ts
printf '# Demo app\n' >README.md

milestone() { # id title status deps units-yaml
  mkdir -p ".sf/milestones/$1"
  printf -- '---\ntitle: %s\nstatus: %s\ndependsOn: %s\nslices:\n  - id: S01\n    title: Main slice\n    units:\n%s\n---\n\nDemo milestone %s.\n' \
    "$2" "$3" "$4" "$5" "$1" >".sf/milestones/$1/MILESTONE.md"
}
unit() { # id title file line cost [declared-files]
  printf '      - id: %s\n        title: %s\n        run: "sleep 1; echo '"'"'%s'"'"' >> %s; echo SF_COST %s"\n        files: [%s]\n' \
    "$1" "$2" "$4" "$3" "$5" "${6:-$3}"
}

milestone M001 "Core Types" complete "[]" "$(unit U01 'Define ids' src/types.ts '// ids' 0.05)"
milestone M002 "Auth System" pending "[]" \
  "$(unit U01 'User type' src/types.ts 'export type User = { id: Id };' 0.10)
$(unit U02 'Auth middleware' src/middleware.ts 'export const auth = true;' 0.10)
$(unit U03 'Login' src/auth.ts 'export function login() {}' 0.10)"
# M003 declares two of M002's files: an overlap warning, not a blocker.
milestone M003 "Dashboard UI" pending "[]" \
  "$(unit U01 'Widget type' src/widgets.ts 'export type Widget = {};' 0.10 'src/types.ts, src/middleware.ts')
$(unit U02 'Dashboard' src/dashboard.ts 'export const dashboard = 1;' 0.10)"
milestone M004 "API Integration" pending "[M002]" \
  "$(unit U01 'API client' src/api.ts 'export const api = 1;' 0.10)
$(unit U02 'API auth' src/api.ts 'export const apiAuth = 1;' 0.10)"
milestone M005 "Release" pending "[M004]" \
  "$(unit U01 'Changelog' CHANGELOG.md 'First release' 0.05)"

# The merge gate: every merge is checked in .sf/worktrees/_gate before main moves.
cat >check.sh <<'CHECK'
#!/bin/sh
# Demo project's tests: every TypeScript file exports something.
for f in src/*.ts; do
  grep -q export "$f" || { echo "check: $f exports nothing" >&2; exit 1; }
done
echo "check: $(ls src/*.ts | wc -l) files ok"
CHECK

cat >.sf/PREFERENCES.md <<'PREFS'
---
parallel:
  enabled: true
  max_workers: 2
  budget_ceiling: 10.00
  auto_merge: auto
  merge_order: by-completion
  heartbeat_interval: 1
  stale_timeout: 30
  stop_grace: 5
  merge_gate: sh check.sh
---
PREFS
# The runtime paths sf-actors would add to .gitignore at the first start, committed with the plan.
printf '%s\n' '# sf-actors runtime files (added automatically)' /.sf/parallel/ /.sf/worktrees/ \
  .sf/auto.lock '**/.sf/auto.lock' >.gitignore
git add -A
git commit -q -m "Demo project with a five-milestone plan"

echo "== demo project: $demo"
echo
"$sf" graph
echo
rc=0
"$sf" start --yes || rc=$?
echo
"$sf" status
echo
echo "== branches"
git branch --list 'milestone/*' -v
echo
echo "== main"
git log --oneline --graph -n 12 main
exit "$rc"
