#!/bin/sh
# A worker that speaks only the original system's file protocol, written in plain sh:
# exactly the original status fields, signals claimed between units, SIGTERM honoured,
# exit 0 once its milestone is complete. Use it as `parallel.worker_command` to check that
# sf-actors drives third-party workers unchanged.
#
# Usage: original-protocol-worker.sh [UNITS] [SECONDS_PER_UNIT] [COST_PER_UNIT]
# (defaults 6, 1, 0.10). Check it as any third-party worker is checked, from the repository
# (check-worker starts it in a worktree of its own, so the path is absolute):
#   sf-actors check-worker -- sh "$PWD/examples/workers/original-protocol-worker.sh"
set -u
units=${1:-6}
unit_seconds=${2:-1}
unit_cost=${3:-0.10}
mid=${SF_MILESTONE_LOCK:?SF_MILESTONE_LOCK is not set}
dir=${SF_PROJECT_ROOT:?SF_PROJECT_ROOT is not set}/.sf/parallel
status="$dir/$mid.status.json"
signal="$dir/$mid.signal.json"
started=$(($(date +%s%N) / 1000000))
done_units=0
cost=0
state=running
unit=null

write_status() {
  now=$(($(date +%s%N) / 1000000))
  tmp="$status.tmp.$$"
  printf '{"milestoneId":"%s","pid":%d,"state":"%s","currentUnit":%s,"completedUnits":%d,"cost":%s,"lastHeartbeat":%d,"startedAt":%d,"worktreePath":"%s"}\n' \
    "$mid" $$ "$state" "$unit" "$done_units" "$cost" "$now" "$started" "$PWD" >"$tmp" &&
    mv -f "$tmp" "$status"
}

# Claim by rename, so a signal written while we read is never lost.
take_signal() {
  claim="$signal.tmp.claim.$$"
  if mv "$signal" "$claim" 2>/dev/null; then
    sed -n 's/.*"signal" *: *"\([a-z]*\)".*/\1/p' "$claim"
    rm -f "$claim"
  fi
}

trap 'state=stopped; unit=null; write_status; exit 0' TERM INT

write_status
i=1
while [ "$i" -le "$units" ]; do
  sig=$(take_signal)
  if [ "$sig" = pause ]; then
    state=paused; write_status
    while :; do
      sleep 0.05
      sig=$(take_signal)
      [ "$sig" = resume ] && break
      [ "$sig" = stop ] && { state=stopped; write_status; exit 0; }
      write_status
    done
    state=running
  fi
  [ "$sig" = stop ] && { state=stopped; write_status; exit 0; }
  unit=$(printf '{"type":"task","id":"U%02d","startedAt":%d}' "$i" $(($(date +%s%N) / 1000000)))
  write_status
  echo "unit $i" >>"$PWD/original-worker-units.log"
  # The unit's work, with a heartbeat (a fresh status) at least every quarter second.
  left=$(awk "BEGIN { printf \"%.0f\", $unit_seconds * 1000 }")
  while [ "$left" -gt 0 ]; do
    step=$((left < 250 ? left : 250))
    sleep "$(awk "BEGIN { printf \"%.3f\", $step / 1000 }")" & wait $!
    left=$((left - step))
    write_status
  done
  done_units=$i
  cost=$(awk "BEGIN { printf \"%.2f\", $cost + $unit_cost }")
  unit=null
  write_status
  i=$((i + 1))
done
state=stopped
write_status
exit 0
