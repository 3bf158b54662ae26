#!/usr/bin/env bash
# Start-up benchmark of the agent orchestrator (not a test: no thresholds).
#
# One hyperfine run per caller (root, then the rootless user), so machine
# load hits every command alike:
#   cove agent run -- /bin/true          default policy (as root: limits on
#                                        the host's cgroups) and
#                                        allow_unlimited (no cgroups)
#   [cove-old agent run ...]             COVE_OLD=/path/to/old/cove: an
#                                        older build in the same run
#   bwrap --unshare-all --ro-bind / / /bin/true
#   [srt /bin/true]                      COVE_BENCH_SRT=1: Anthropic's
#                                        sandbox-runtime (npm, needs socat
#                                        and ripgrep)
# Prints medians and the ratios to bwrap. Then, as root, the cost of the
# v1 cgroup migration on a hybrid host: the write into each v1
# cgroup.procs, timed with strace -T over a few runs (cgroup v2 and
# CLONE_INTO_CGROUP avoid it), reported apart from the start-up figure.
#
#   tests/bench/agent.sh [BUILD_DIR]      env: RUNS (40), WARMUP (5),
#       COVE_OLD, COVE_BENCH_SRT, COVE_BENCH_USER (covetest), NO_ROOT=1,
#       NO_ROOTLESS=1
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
cove=$(realpath "$build/cove")
runs=${RUNS:-40}
warmup=${WARMUP:-5}
user=${COVE_BENCH_USER:-covetest}
old=${COVE_OLD:+$(realpath "$COVE_OLD")}
for t in hyperfine bwrap python3 setpriv; do
  command -v "$t" >/dev/null || { echo "agent.sh: $t is needed" >&2; exit 1; }
done

work=$(mktemp -d /tmp/cove-agent-bench.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ws" && echo hi >"$work/ws/README"
chmod -R a+rX "$work"
echo '{"allow_unlimited": true}' >"$work/unl.json"

srt=()
if [ "${COVE_BENCH_SRT:-0}" = 1 ]; then
  if ! command -v srt >/dev/null; then
    for t in socat rg npm; do
      command -v "$t" >/dev/null || { echo "agent.sh: srt needs $t (apt-get install socat ripgrep npm)" >&2; exit 1; }
    done
    npm install -g @anthropic-ai/sandbox-runtime >/dev/null
  fi
  srt=(-n srt "srt /bin/true")
fi

as_user() { setpriv --reuid="$user" --regid="$user" --init-groups env -i PATH="$PATH" HOME="$work/home-$user" \
  XDG_RUNTIME_DIR="$work/xdg-$user" XDG_STATE_HOME="$work/home-$user/state" XDG_DATA_HOME="$work/home-$user/data" \
  XDG_CONFIG_HOME="$work/home-$user/config" "$@"; }

bench() { # MODE
  local mode=$1 json="$work/$1.json" cmds=()
  [ "$mode" = rootless ] && json="$work/home-$user/$1.json"
  cmds+=(-n "cove agent (default policy)" "$cove agent run -- /bin/true")
  cmds+=(-n "cove agent (allow_unlimited)" "$cove agent run --policy $work/unl.json -- /bin/true")
  if [ -n "$old" ]; then
    cmds+=(-n "old cove agent (default policy)" "$old agent run -- /bin/true")
    cmds+=(-n "old cove agent (allow_unlimited)" "$old agent run --policy $work/unl.json -- /bin/true")
  fi
  cmds+=(-n "bwrap --unshare-all" "bwrap --unshare-all --ro-bind / / /bin/true")
  cmds+=("${srt[@]}")
  local hf=(hyperfine -N -i --warmup "$warmup" --runs "$runs" --export-json "$json" "${cmds[@]}")
  if [ "$mode" = rootless ]; then
    mkdir -p "$work/xdg-$user" "$work/home-$user" "$work/ws-$user"
    echo hi >"$work/ws-$user/README"
    chown -R "$user" "$work/xdg-$user" "$work/home-$user" "$work/ws-$user"
    chmod 700 "$work/xdg-$user"
    (cd "$work/ws-$user" && as_user "${hf[@]}" >/dev/null)
  else
    (cd "$work/ws" && "${hf[@]}" >/dev/null)
  fi
  python3 - "$json" "$mode" <<'PY'
import json, sys, statistics
res = json.load(open(sys.argv[1]))["results"]
med = {r["command"]: statistics.median(r["times"]) * 1e3 for r in res}
mn = {r["command"]: min(r["times"]) * 1e3 for r in res}
ok = {r["command"]: all(c == 0 for c in r.get("exit_codes", [0])) for r in res}
b = med["bwrap --unshare-all"]
bw = [r for r in res if r["command"] == "bwrap --unshare-all"][0]
bcpu = (bw["user"] + bw["system"]) * 1e3
print("== %s (hyperfine, %d runs; ratios to bwrap; cpu = user + system of the whole process tree, mean)" % (sys.argv[2], len(res[0]["times"])))
for r in res:
    c = r["command"]
    cpu = (r["user"] + r["system"]) * 1e3
    print("  %-34s median %8.2f ms %5.2fx | min %7.2f ms %5.2fx | cpu %6.2f ms %5.2fx%s" % (
        c, med[c], med[c] / b, mn[c], mn[c] / mn["bwrap --unshare-all"], cpu, cpu / bcpu, "" if ok[c] else "  [FAILED runs]"))
PY
}

[ "${NO_ROOT:-0}" = 1 ] || bench root
[ "${NO_ROOTLESS:-0}" = 1 ] || ! id "$user" >/dev/null 2>&1 || bench rootless

if [ "${NO_ROOT:-0}" != 1 ] && command -v strace >/dev/null; then
  echo "== v1 cgroup migration (root, default policy): write(cgroup.procs) per run, strace -T, 10 runs"
  : >"$work/cg.txt"
  for _ in $(seq 10); do
    (cd "$work/ws" && strace -f -T -y -e trace=write -o "$work/st.txt" "$cove" agent run -- /bin/true >/dev/null 2>&1) || true
    grep -E 'cgroup\.procs>' "$work/st.txt" | sed -E 's/.*<([0-9.]+)>$/\1/' |
      awk '{s += $1} END {printf "%.3f\n", s * 1000}' >>"$work/cg.txt"
  done
  python3 - "$work/cg.txt" <<'PY'
import sys, statistics
v = [float(x) for x in open(sys.argv[1]) if x.strip()]
if v:
    print("  sum of cgroup.procs writes per run: median %.2f ms (min %.2f, max %.2f)" % (statistics.median(v), min(v), max(v)))
PY
fi
