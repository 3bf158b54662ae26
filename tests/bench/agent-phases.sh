#!/usr/bin/env bash
# Where `cove agent run -- /bin/true` spends its time, by phase (not a test).
# Runs it N times under `strace -f --seccomp-bpf` tracing only the system
# calls at phase boundaries (the others run untraced), and prints the
# median of each phase. Tracing adds its own cost; compare phases and
# builds, not absolute totals.
#   tests/bench/agent-phases.sh COVE [N] [-- AGENT_RUN_ARGS...]
set -euo pipefail
cove=$(realpath "${1:?usage: agent-phases.sh COVE [N] [-- ARGS]}")
n=${2:-15}
shift $(( $# >= 2 ? 2 : 1 ))
[ "${1:-}" = -- ] && shift
work=$(mktemp -d /tmp/cove-phases.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ws" && echo hi >"$work/ws/README"
cd "$work/ws"
for i in $(seq "$n"); do
  strace -f -ttt --seccomp-bpf -o "$work/t$i" \
    -e trace=execve,clone,clone3,fork,vfork,linkat,setns,pidfd_open,wait4,exit_group,unlink,seccomp \
    "$cove" agent run "$@" -- /bin/true >/dev/null 2>&1 || true
done
python3 - "$work" "$n" <<'PY'
import re, sys, statistics
work, n = sys.argv[1], int(sys.argv[2])
phases = {}
order = []
def add(name, v):
    if name not in phases:
        phases[name] = []
        order.append(name)
    phases[name].append(v * 1000)
for i in range(1, n + 1):
    ev = []
    main = None
    for line in open("%s/t%d" % (work, i)):
        m = re.match(r"(\d+) +([\d.]+) (.*)", line)
        if not m:
            continue
        pid, t, rest = int(m.group(1)), float(m.group(2)), m.group(3)
        if main is None:
            main = pid
        ev.append((pid, t, rest))
    t0 = ev[0][1]
    def first(pred, after=0.0):
        for pid, t, r in ev:
            if t >= after and pred(pid, r):
                return t
        return None
    lock = first(lambda p, r: p == main and r.startswith("linkat(") and ".lock" in r)
    ns_fork = first(lambda p, r: p == main and r.startswith("clone("), lock or t0)
    ns_back = first(lambda p, r: p == main and r.startswith("setns(") , ns_fork or t0)
    ns_done = first(lambda p, r: p == main and r.startswith("wait4("), ns_back or ns_fork or t0)
    # the runtime's namespace joiner: fork (clone) before, vfork since
    runtime_fork = first(lambda p, r: p == main and r.startswith(("clone(", "vfork(")), (ns_done or t0) + 1e-9)
    pidfd = first(lambda p, r: p == main and r.startswith("pidfd_open("), runtime_fork or t0)
    sec = first(lambda p, r: p != main and r.startswith("seccomp("), pidfd or t0)
    exe = first(lambda p, r: p != main and r.startswith("execve(") and "/bin/true" in r, pidfd or t0)
    gone = first(lambda p, r: p != main and "exit_group" in r, exe or t0)
    unl = first(lambda p, r: p == main and r.startswith("unlink(") and ".lock" in r, gone or t0)
    end = ev[-1][1]
    marks = [("start-up, policy, audit, checks, plan and walk", t0, lock),
             ("run dir + namespace helper (masks staged)", lock, ns_done),
             ("spec built and parsed, seccomp from cache / compiled", ns_done, runtime_fork),
             ("runtime create: cgroups, clone, id maps, sync", runtime_fork, pidfd),
             ("sandbox init: mounts, pivot_root, caps, filter load", pidfd, exe),
             ("payload /bin/true", exe, gone),
             ("teardown: reap, destroy, run dir removed", gone, unl),
             ("exit", unl, end)]
    for name, a, b in marks:
        if a is not None and b is not None:
            add(name, b - a)
    add("total", end - t0)
for name in order:
    v = phases[name]
    print("  %-56s %7.2f ms  (n=%d)" % (name, statistics.median(v), len(v)))
PY
