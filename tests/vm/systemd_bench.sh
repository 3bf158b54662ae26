#!/usr/bin/env bash
# Inside the systemd guest, as root: start+exit time of `RUNTIME run` of
# /bin/true in the busybox rootfs, crun vs cove, with the cgroupfs driver
# and with --systemd-cgroup (a transient scope per container). Not a test:
# it prints ratios only (TCG makes absolute times meaningless; the load of
# the host shifts both runtimes alike because runs alternate).
# Then `cove agent run -- /bin/true` (default policy: limits enforced in a
# cgroup v2 subtree, CLONE_INTO_CGROUP) against bubblewrap's
# `--unshare-all --ro-bind / /` (issue 14's goal: within 2x on pure v2).
# tests/bench/bench.sh needs hyperfine, which the guest image does not have.
#
#   systemd_bench.sh COVE ROOTFS [RUNS]
set -uo pipefail
COVE=${1:?cove}; ROOTFS=${2:?rootfs}; RUNS=${3:-10}
CRUN=$(command -v crun) || { echo "bench: no crun"; exit 1; }
T=$(mktemp -d /tmp/sdbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$COVE" spec --bundle "$T"
jq --arg r "$ROOTFS" '.ociVersion = "1.0.2" | .root = {path: $r, readonly: true}
  | .process.terminal = false | .process.args = ["/bin/true"]' "$T/config.json" >"$T/c" && mv "$T/c" "$T/config.json"
now() { date +%s%N; }
declare -A tot=()
for mode in cgroupfs systemd; do
  for rt in crun cove; do tot[$rt,$mode]=0; done
  for i in $(seq "$RUNS"); do
    for rt in crun cove; do
      bin=$CRUN; [ $rt = cove ] && bin=$COVE
      flags=(--root "$T/state-$rt")
      [ $mode = systemd ] && flags+=(--systemd-cgroup)
      if [ $mode = systemd ]; then
        jq --arg p "system.slice:bench:$rt-$i" '.linux.cgroupsPath = $p' "$T/config.json" >"$T/b.json"
      else
        jq 'del(.linux.cgroupsPath)' "$T/config.json" >"$T/b.json"
      fi
      mkdir -p "$T/b-$rt"
      cp "$T/b.json" "$T/b-$rt/config.json"
      t0=$(now)
      "$bin" "${flags[@]}" run --bundle "$T/b-$rt" "bench-$rt-$mode-$i" </dev/null >/dev/null 2>"$T/err" ||
        { echo "bench: $rt ($mode) run failed: $(cat "$T/err")"; continue 2; }
      tot[$rt,$mode]=$(( tot[$rt,$mode] + $(now) - t0 ))
    done
  done
  awk -v a="${tot[cove,$mode]}" -v b="${tot[crun,$mode]}" -v m="$mode" -v n="$RUNS" \
    'BEGIN { if (b > 0) printf "bench: %s, %d runs each: cove/crun = %.2f\n", m, n, a / b }'
done

# the agent next to bwrap, alternating; the workspace is a small tree
ws=$T/ws
mkdir -p "$ws" && echo hi >"$ws/README"
agent=0 bw=0 fails=0
if command -v bwrap >/dev/null; then
  for i in $(seq "$RUNS"); do
    t0=$(now)
    (cd "$ws" && "$COVE" agent run -- /bin/true) </dev/null >/dev/null 2>"$T/err" || { fails=$((fails + 1)); tail -1 "$T/err"; }
    agent=$(( agent + $(now) - t0 ))
    t0=$(now)
    bwrap --unshare-all --ro-bind / / /bin/true </dev/null >/dev/null 2>&1
    bw=$(( bw + $(now) - t0 ))
  done
  awk -v a="$agent" -v b="$bw" -v n="$RUNS" -v f="$fails" \
    'BEGIN { if (b > 0) printf "bench: agent (root, default policy, limits on cgroup v2), %d runs each: cove agent/bwrap = %.2f (%d failed)\n", n, a / b, f }'
else
  echo "bench: no bwrap in the guest image: agent ratio skipped"
fi
