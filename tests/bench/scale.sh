#!/usr/bin/env bash
# Scale benchmark of the agent orchestrator (not a test: no thresholds).
#   1. N sandboxes (default 1000) started at once, each `sleep` under
#      `cove agent run --policy {"allow_unlimited": true}`: how many run,
#      which failed and why (last line of their stderr, counted), time
#      until all run, PSS per sandbox (orchestrator + its sleep) from
#      /proc/PID/smaps_rollup, system memory (MemAvailable) before/while.
#   2. All stopped (SIGTERM to the orchestrators), then the time of
#      `cove agent gc`.
#   3. 100 `cove agent run -- /bin/true` started in parallel: wall time,
#      next to 100 parallel bwrap --unshare-all.
#   4. Nothing left behind: no run directory, lock, cove cgroup, process.
# Everything lives in a fresh /tmp/cove-scale.XXXXXX (XDG_* point there).
#   tests/bench/scale.sh [BUILD_DIR] [N]     (as root)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
n=${2:-1000}
cove=$(realpath "$build/cove")
work=$(mktemp -d /tmp/cove-scale.XXXXXX)
export XDG_RUNTIME_DIR=$work/xdg XDG_STATE_HOME=$work/state XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_RUNTIME_DIR" "$work/ws" "$work/log" && chmod 700 "$XDG_RUNTIME_DIR"
echo hi >"$work/ws/README"
echo '{"allow_unlimited": true}' >"$work/unl.json"
pids=()
cleanup() {
  [ "${#pids[@]}" -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
avail() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
now() { date +%s.%N; }
cd "$work/ws"

echo "== $n sleeping sandboxes at once (cove agent run, allow_unlimited)"
mem0=$(avail)
t0=$(now)
for i in $(seq "$n"); do
  "$cove" agent run --policy "$work/unl.json" --timeout 30m -- sleep 3600 >/dev/null 2>"$work/log/$i" &
  pids+=($!)
done
t_spawned=$(now)
running=0 alive=0
for _ in $(seq 1200); do # up to 10 minutes
  alive=0
  for p in "${pids[@]}"; do [ -d "/proc/$p" ] && alive=$((alive + 1)); done
  running=$(pgrep -c -x sleep -P "$(IFS=,; echo "${pids[*]}")" 2>/dev/null || true)
  [ "${running:-0}" -ge "$alive" ] && break
  sleep 0.5
done
t_all=$(now)
mem1=$(avail)
failed=$((n - alive))
echo "  launched in $(awk -v a="$t0" -v b="$t_spawned" 'BEGIN{printf "%.2f", b-a}') s; all $running running after $(awk -v a="$t0" -v b="$t_all" 'BEGIN{printf "%.2f", b-a}') s"
echo "  started: $running / $n, failed: $failed"
if [ "$failed" -gt 0 ]; then
  echo "  failure reasons:"
  for i in $(seq "$n"); do [ -s "$work/log/$i" ] && tail -n1 "$work/log/$i"; done | sed 's/a[0-9a-f]\{16\}/ID/g' |
    sort | uniq -c | sort -rn | head -10 | sed 's/^/    /'
fi
python3 - "$mem0" "$mem1" "$n" "${pids[@]}" <<'PY'
import sys, os
mem0, mem1, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def roll(pid):
    d = {}
    try:
        for line in open("/proc/%s/smaps_rollup" % pid):
            p = line.split()
            if len(p) >= 2 and p[0].endswith(":"):
                d[p[0][:-1]] = int(p[1])
    except OSError:
        return None
    return d
def children(pid):
    try:
        return [int(x) for x in open("/proc/%s/task/%s/children" % (pid, pid)).read().split()]
    except OSError:
        return []
mon = pay = 0
k = 0
for p in sys.argv[4:]:
    m = roll(p)
    if not m:
        continue
    kids = [roll(c) for c in children(p)]
    kids = [x for x in kids if x]
    k += 1
    mon += m.get("Pss", 0)
    pay += sum(x.get("Pss", 0) for x in kids)
if k:
    print("  PSS per sandbox (n=%d): orchestrator %.0f KiB + payload %.0f KiB = %.0f KiB" % (k, mon / k, pay / k, (mon + pay) / k))
    print("  system memory: MemAvailable %.0f MiB -> %.0f MiB, %.2f MiB per sandbox (kernel included)" % (
        mem0 / 1024, mem1 / 1024, (mem0 - mem1) / 1024 / k))
PY

echo "== stop all, then gc"
t0=$(now)
kill -TERM "${pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true
pids=()
t1=$(now)
"$cove" agent gc >"$work/gc.out"
t2=$(now)
echo "  all $n stopped in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s; cove agent gc: $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.3f", b-a}') s ($(tail -n1 "$work/gc.out"))"

echo "== 100 parallel starts of /bin/true"
par() {
  local s e
  s=$(now)
  for _ in $(seq 100); do "$@" >/dev/null 2>&1 & done
  wait
  e=$(now)
  awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", b-a}'
}
echo "  cove agent run: $(par "$cove" agent run --policy "$work/unl.json" -- /bin/true) s"
echo "  bwrap --unshare-all: $(par bwrap --unshare-all --ro-bind / / /bin/true) s"

echo "== left behind"
left=0
if [ -n "$(ls -A "$XDG_RUNTIME_DIR/cove-agent" 2>/dev/null | grep -v '^\.gc-stamp$' || true)" ]; then
  echo "  LEFT: $(ls -A "$XDG_RUNTIME_DIR/cove-agent")"; left=1
fi
if pgrep -f "$work" >/dev/null; then echo "  LEFT: processes $(pgrep -f "$work" | tr '\n' ' ')"; left=1; fi
# only cgroups of our runs (ids from our audit log): other users' may exist
grep -oh '"run":"a[0-9a-f]*"' "$XDG_STATE_HOME"/cove/audit/global.jsonl 2>/dev/null | cut -d'"' -f4 | sort -u |
  sed 's/^/cove-/' >"$work/ids" || true
cg=$(find /sys/fs/cgroup -maxdepth 6 -type d -name 'cove-a*' 2>/dev/null | awk -F/ '{print $NF, $0}' |
  awk 'NR == FNR {want[$1] = 1; next} ($1 in want) {print $2}' "$work/ids" - | head -5 || true)
if [ -n "$cg" ]; then echo "  LEFT: cgroups $cg"; left=1; fi
if grep -q "$work" /proc/self/mountinfo; then echo "  LEFT: mounts"; left=1; fi
[ "$left" = 0 ] && echo "  nothing (run dirs, locks, processes, cgroups, mounts checked)"
exit "$left"
