#!/usr/bin/env bash
# Where does one `cove run` of /bin/true spend its time? Runs cove N times per
# mode under `strace -f --seccomp-bpf` tracing only phase-boundary syscalls
# (untraced syscalls run at full speed; each traced one pays a ptrace stop,
# roughly 50-100 us here, so phases are inflated by ~10 ms in total) and
# prints the median duration of each phase. Diagnostic only: no thresholds.
#
#   profile.sh WORKDIR [--runs N] [--rootless-user USER] [--cove PATH]
# WORKDIR is a bench.sh work directory (it has rootfs/, root/, rootless/).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wd=${1:?usage: profile.sh WORKDIR [--runs N] [--rootless-user USER] [--cove PATH]}
shift
runs=20 user=covetest tool=strace cove=$here/../../build/cove
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --rootless-user) user=$2; shift 2 ;;
    --cove) cove=$2; shift 2 ;;
    *) echo "profile: unknown argument $1" >&2; exit 2 ;;
  esac
done
cove=$(readlink -f "$cove")
command -v "$tool" >/dev/null || { echo "profile: $tool not installed" >&2; exit 1; }
out=$wd/profile-$tool
mkdir -p "$out"; chmod 0777 "$out"
trace=execve,clone3,sendto,recvfrom,poll,mount,pivot_root,exit_group,sethostname,setresuid,write,wait4
for mode in root rootless; do
  [ -d "$wd/$mode/cove-bundle" ] || continue
  pre=()
  [ "$mode" = rootless ] && pre=(setpriv --reuid="$user" --regid="$user" --init-groups)
  for i in $(seq 1 "$runs"); do
    "${pre[@]+"${pre[@]}"}" strace -f --seccomp-bpf -q -ttt -T -s 64 -e trace=$trace \
      -o "$out/$mode.$i.st" "$cove" --root "$wd/$mode/state/cove" run \
      --bundle "$wd/$mode/cove-bundle" prof-$$-$i
  done
done
python3 - "$out" "$runs" "$tool" <<'EOF'
import re, sys, statistics, glob, os
out, runs, tool = sys.argv[1], int(sys.argv[2]), sys.argv[3]
line_re = re.compile(r'^(\d+)\s+(\d+\.\d+) (.*)$')
dur_re = re.compile(r'<(\d+\.\d+)>$')

def parse(path):
    ev = []  # (pid, t_start, name, text, dur)
    pending = {}
    for l in open(path):
        m = line_re.match(l.rstrip('\n'))
        if not m:
            continue
        pid, t, rest = int(m.group(1)), float(m.group(2)), m.group(3)
        if rest.startswith('<... '):
            name = rest[5:].split(' ')[0]
            st = pending.pop((pid, name), None)
            d = dur_re.search(rest)
            if st is not None:
                ev.append((pid, st[0], name, st[1] + rest, float(d.group(1)) if d else 0.0))
            continue
        if rest.startswith('+++') or rest.startswith('---'):
            ev.append((pid, t, rest[:3], rest, 0.0))
            continue
        name = rest.split('(')[0]
        if rest.endswith('<unfinished ...>'):
            pending[(pid, name)] = (t, rest)
            continue
        d = dur_re.search(rest)
        ev.append((pid, t, name, rest, float(d.group(1)) if d else 0.0))
    ev.sort(key=lambda e: e[1])
    return ev

def phases(ev):
    parent = next(e[0] for e in ev if e[2] == 'clone3')
    first = lambda pred, after=0.0: next(e for e in ev if e[1] >= after and pred(e))
    last = lambda pred: [e for e in ev if pred(e)][-1]
    P = lambda name: (lambda e: e[0] == parent and e[2] == name)
    C = lambda name: (lambda e: e[0] != parent and e[2] == name)
    t0 = ev[0][1]  # execve of cove
    clone = first(P('clone3'))
    child = int(re.search(r'= (\d+)', clone[3]).group(1))
    Cp = lambda name: (lambda e: e[0] == child and e[2] == name)
    p_send1 = first(P('sendto'), clone[1])
    c_recv1 = first(Cp('recvfrom'))
    c_mount1 = first(Cp('mount'))
    pivot = first(Cp('pivot_root'))
    c_ready = first(lambda e: e[0] == child and e[2] == 'sendto' and 'NOSIGNAL' in e[3], pivot[1])
    p_recv = last(lambda e: e[0] == parent and e[2] == 'recvfrom')
    p_send2 = first(P('sendto'), c_ready[1])
    c_recv2 = first(Cp('recvfrom'), c_ready[1])
    c_exec = first(Cp('execve'))
    c_exit = first(Cp('exit_group'))
    p_poll = first(P('poll'))
    p_exitg = last(P('exit_group'))
    p_gone = last(lambda e: e[0] == parent and e[2] == '+++')
    maps = sum(e[4] for e in ev if e[0] == parent and e[2] == 'write'
               and re.search(r'write\(\d+, "(deny|\d+ \d+ \d+\\n)', e[3]))
    end = lambda e: e[1] + e[4]
    ms = lambda a, b: (b - a) * 1000
    r = {}
    r['1 cove exec + ld.so + config/state (to clone3)'] = ms(t0, clone[1])
    r['2 clone3 (new pid/net/mnt/ipc/uts/cgroup[/user] ns)'] = clone[4] * 1000
    r['3 parent: state.json [+ uid/gid maps] -> child go'] = ms(end(clone), p_send1[1])
    if maps:
        r['  (of which setgroups/gid_map/uid_map writes)'] = maps * 1000
    r['4 child: hostname, lo up (netlink) -> first mount'] = ms(end(c_recv1), c_mount1[1])
    r['5 child: rootfs mounts + /dev nodes -> pivot_root'] = ms(c_mount1[1], end(pivot))
    r['6 child: masked/ro paths -> ready'] = ms(end(pivot), c_ready[1])
    r['7 parent: ready -> start (state.json)'] = ms(end(p_recv), p_send2[1])
    r['8 child: caps/uid switch -> execve'] = ms(end(c_recv2), c_exec[1])
    r['9 execve(/bin/true) + run to exit_group'] = ms(c_exec[1], c_exit[1])
    r['10 init exit -> parent poll wakes (ns teardown)'] = ms(c_exit[1], end(p_poll))
    r['11 parent cleanup -> exit_group'] = ms(end(p_poll), p_exitg[1])
    r['12 cove exit_group -> process gone'] = ms(p_exitg[1], p_gone[1])
    r[f'total (under {tool})'] = ms(t0, p_gone[1])
    return r

for mode in ('root', 'rootless'):
    files = sorted(glob.glob(os.path.join(out, f'{mode}.*.st')))
    if not files:
        continue
    rows = {}
    for f in files:
        try:
            for k, v in phases(parse(f)).items():
                rows.setdefault(k, []).append(v)
        except (StopIteration, IndexError, AttributeError) as e:
            print(f'{f}: could not parse ({e!r})', file=sys.stderr)
    print(f'\n{mode} ({tool}): {len(files)} runs, ms (median / min / max)')
    for k, v in rows.items():
        print(f'  {k:<52} {statistics.median(v):7.2f} {min(v):7.2f} {max(v):7.2f}')
EOF
