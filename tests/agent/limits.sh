#!/usr/bin/env bash
# Limits: the policy's memory and pids limits are enforced by the sandbox's
# cgroup (as root on this host: v1 memory/pids), reported in the result
# record and the audit log — or, where this user cannot get a cgroup, the
# run is refused (fail closed) and nothing is left behind.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

pol=$(policy limits '{"limits": {"memory": "64M", "pids": 32}}')
arun --policy "$pol" --workspace "$WS" -- true
if [ "$RC" -ne 0 ]; then
  # Only an unprivileged user without a delegated cgroup may be refused.
  assert_eq rootless "$MODE" "limits refused only rootless ($ERR)"
  assert_contains "$ERR" "limits cannot be enforced" "refusal says why"
  assert_contains "$ERR" "allow_unlimited" "refusal names the opt-out"
  assert_eq false "$(rec .limits_enforced)" "record: limits_enforced false"
  assert_contains "$(audit_of_last)" '"event":"limits","decision":"refuse"' "refusal audited"
  assert_eq "" "$(ls -A "$RUNBASE" 2>/dev/null | grep -v '^\.' || true)" "no run directory left"
  exit 0
fi
assert_eq true "$(rec .limits_enforced)" "record: limits_enforced"
assert_eq false "$(rec .oom_killed)" "record: a run within its limit is not oom_killed"
assert_match "$(rec .cpu_usec)" '^[0-9]+$' "record: cpu_usec measured"

# memory: 200 MiB under a 64 MiB limit is OOM-killed
arun --policy "$pol" --workspace "$WS" -- python3 -c 'b = bytearray(200 << 20); print("allocated")'
assert_eq 137 "$RC" "memory hog killed (SIGKILL) ($ERR)"
assert_not_contains "$OUT" "allocated" "the allocation never completed"
assert_eq true "$(rec .oom_killed)" "record: oom_killed"
peak=$(rec .memory_peak_bytes)
if [ "$peak" != null ]; then
  assert_match "$peak" '^[0-9]+$' "record: memory_peak_bytes"
  [ "$peak" -le $((64 << 20)) ] || fail "memory peak $peak above the 64 MiB limit"
fi
assert_contains "$(audit_of_last)" '"event":"limit","kind":"memory","action":"oom-kill"' "OOM kill audited"

# pids: 100 sleepers under a limit of 32; counted with a glob (no fork)
arun --policy "$pol" --workspace "$WS" -- sh -c \
  'sh -c "i=0; while [ \$i -lt 100 ]; do sleep 20 & i=\$((i+1)); done" >/dev/null 2>&1; set -- /proc/[0-9]*; echo "live=$#"; kill -KILL -1'
live=$(grep -o 'live=[0-9]*' <<<"$OUT" | cut -d= -f2)
assert_match "$live" '^[0-9]+$' "process count reported ($OUT $ERR)"
[ -n "$live" ] && [ "$live" -le 32 ] || fail "pids limit 32 did not hold: $live processes"
