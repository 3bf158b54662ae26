#!/usr/bin/env bash
# kill -9 of the orchestrator at every step of a run's start (issue 10
# item 11): afterwards `cove agent gc` leaves no run directory, lock,
# runtime state or cgroup behind. The kill points are made deterministic
# with strace's fault injection: SIGKILL at the Nth mkdir / openat /
# write, for N = 1, 2, ... until the run gets through.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

command -v strace >/dev/null || die "strace is needed (scripts/setup.sh installs it)"
killed=0
for sc in mkdir openat write; do
  step=1
  case $sc in openat) step=20 ;; write) step=4 ;; esac
  for ((n = 1; n <= 400; n += step)); do
    # LeakSanitizer cannot run under ptrace (the ASan tree would fail every
    # run at exit, so no run would ever get through): leaks off here only
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
      strace -f -o /dev/null -e trace="$sc" -e inject="$sc:signal=SIGKILL:when=$n" \
      "$COVE" agent run --policy "$UNL" --workspace "$WS" -- true </dev/null >/dev/null 2>&1
    rc=$?
    [ "$rc" -eq 0 ] && break # ran to its end: no more kill points
    killed=$((killed + 1))
  done
done
log "orchestrator killed at $killed points"
assert_ne 0 "$killed" "some runs were killed"
ids=$(grep -ho '"run":"a[0-9a-f]*"' "$AUDIT_DIR/global.jsonl" | cut -d'"' -f4 | sort -u)
assert_ne "" "$ids" "runs were recorded"

capture "$COVE" agent gc
assert_eq 0 "$RC" "gc ($ERR)"
assert_eq "" "$(ls -A "$RUNBASE" 2>/dev/null)" "no run directory or lock left"
cgs=$(find /sys/fs/cgroup -maxdepth 8 -type d -name 'cove-a*' 2>/dev/null)
left=0
for id in $ids; do
  if grep -q "/cove-$id\$" <<<"$cgs"; then
    fail "cgroup of run $id left: $(grep "/cove-$id\$" <<<"$cgs" | head -3 | tr '\n' ' ')"
    left=1
    # clean up after ourselves (these are ours: named after our run ids)
    grep "/cove-$id\$" <<<"$cgs" | while read -r d; do rmdir "$d" 2>/dev/null; done
  fi
done
assert_eq 0 "$left" "no cgroup left"
capture "$COVE" agent gc
assert_contains "$OUT" "0 leftover runs removed" "second gc finds nothing"
