#!/usr/bin/env bash
# Benchmark of the agent orchestrator (not a test):
#  1. `cove agent run -- true` against bubblewrap with comparable isolation
#     (user, mount, pid, net, ipc, uts, cgroup namespaces; host /usr, /etc
#     read-only; fresh /proc, /dev, /tmp; the workspace read-only), in one
#     hyperfine run (a plain loop when hyperfine is missing). Target ≤ 1.5×.
#  2. Memory the orchestrator adds per running sandbox: 200 sandboxes
#     sleeping at once; for every orchestrator process its RSS, PSS and
#     private (USS) memory from /proc/PID/smaps_rollup. Target ≤ 1 MiB.
#   tests/bench/agent.sh [BUILD_DIR] [N_SANDBOXES]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
n=${2:-200}
cove=$(realpath "$build/cove")
work=$(mktemp -d /tmp/cove-agent-bench.XXXXXX)
trap 'pkill -KILL -P $$ 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/ws" && echo hi >"$work/ws/README"
echo '{"allow_unlimited": true}' >"$work/unl.json"
# limits are refused on hosts without cgroup enforcement; the benchmark
# measures start-up either way
pol=(--policy "$work/unl.json")
cd "$work/ws"

bw=(bwrap --unshare-user --unshare-pid --unshare-net --unshare-ipc --unshare-uts --unshare-cgroup
    --die-with-parent --new-session
    --ro-bind /usr /usr --ro-bind /etc /etc --proc /proc --dev /dev --tmpfs /tmp --tmpfs /run
    --ro-bind "$work/ws" /workspace --chdir /workspace)
for l in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$l" ]; then bw+=(--symlink "$(readlink "/$l")" "/$l"); elif [ -d "/$l" ]; then bw+=(--ro-bind "/$l" "/$l"); fi
done
bw+=(true)

echo "== start-up: cove agent run -- true  vs  bwrap (comparable isolation)"
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-json "$work/h.json" \
    -n "cove agent run" "$cove agent run ${pol[*]} -- true" \
    -n "bwrap" "${bw[*]}" >/dev/null
  python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
c, b = r["cove agent run"], r["bwrap"]
for name, x in (("cove agent run", c), ("bwrap", b)):
    print("  %-16s mean %7.2f ms  ± %5.2f  (min %.2f)" % (name, x["mean"] * 1e3, x["stddev"] * 1e3, x["min"] * 1e3))
print("  ratio cove/bwrap: %.2fx (target <= 1.5x)" % (c["mean"] / b["mean"]))
PY
else
  t() { local s e; s=$(date +%s%N); for _ in $(seq 30); do "$@" >/dev/null 2>&1; done; e=$(date +%s%N); echo $(( (e - s) / 30000 )); }
  c=$(t "$cove" agent run "${pol[@]}" -- true); b=$(t "${bw[@]}")
  echo "  cove agent run: ${c} us, bwrap: ${b} us, ratio $(awk -v c="$c" -v b="$b" 'BEGIN{printf "%.2f", c/b}')x"
fi

echo "== memory: $n sandboxes sleeping at once"
pids=()
for i in $(seq "$n"); do
  "$cove" agent run "${pol[@]}" --group "bench$((i % 4))" -- sleep 60 >/dev/null 2>&1 &
  pids+=($!)
done
# wait until every sandbox runs (its sleep is PID 1 of a pid namespace)
for _ in $(seq 600); do
  running=$(pgrep -c -x sleep -P "$(IFS=,; echo "${pids[*]}")" 2>/dev/null || true)
  [ "${running:-0}" -ge "$n" ] && break
  sleep 0.1
done
echo "  sandboxes running: ${running:-0}/$n"
python3 - "${pids[@]}" <<'PY'
import sys
rss = pss = uss = 0
k = 0
for p in sys.argv[1:]:
    try:
        d = {}
        for line in open("/proc/%s/smaps_rollup" % p):
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":"):
                d[parts[0][:-1]] = int(parts[1])
    except OSError:
        continue
    k += 1
    rss += d.get("Rss", 0); pss += d.get("Pss", 0)
    uss += d.get("Private_Clean", 0) + d.get("Private_Dirty", 0)
if k:
    print("  per orchestrator (n=%d): RSS %.0f KiB, PSS %.0f KiB, private %.0f KiB (target <= 1024 KiB)" % (k, rss / k, pss / k, uss / k))
PY
kill -TERM "${pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true
