#!/usr/bin/env bash
# Checks that the test VM (tests/vm/run-in-vm.sh) gives what the cgroup
# tests need. Runs inside the VM as root:
#
#   tests/vm/run-in-vm.sh -- tests/vm/selftest.sh
#
# Exits 77 (skipped) when not inside the VM.
# shellcheck disable=SC2016  # single-quoted code runs in other shells
set -uo pipefail
export LC_ALL=C

if [ "${COVE_VM:-}" != 1 ] || [ "$(id -u)" != 0 ]; then
  echo "selftest.sh: run me inside the VM: tests/vm/run-in-vm.sh -- tests/vm/selftest.sh"
  exit 77
fi

CG=/sys/fs/cgroup
UCG=${COVE_VM_CGROUP:?}
pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # check DESCRIPTION CMD...
  local d=$1; shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}

echo "kernel $(uname -r), cmdline: $(cat /proc/cmdline)"

# -- cgroup v2 only ----------------------------------------------------------
fstype=$(stat -f -c %T $CG)
check "/sys/fs/cgroup is cgroup2 (got $fstype)" test "$fstype" = cgroup2fs
check "no cgroup v1 hierarchy mounted" awk '$3 == "cgroup" {exit 1}' /proc/mounts
ctrls=$(cat $CG/cgroup.controllers)
echo "controllers: $ctrls"
for c in memory cpu pids io cpuset; do
  check "controller $c available" grep -qw "$c" <<<"$ctrls"
done
check "root subtree_control enables memory and pids" \
  bash -c "grep -qw memory $CG/cgroup.subtree_control && grep -qw pids $CG/cgroup.subtree_control"

# -- memory.max: 64M in a 32M cgroup is OOM-killed ---------------------------
m=$CG/selftest-mem
mkdir $m
echo 32M >$m/memory.max
echo 0 >$m/memory.swap.max 2>/dev/null
# dd allocates (and fills) one 64M buffer
rc=$(sh -c "echo \$\$ >$m/cgroup.procs && dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo \$?")
oom=$(awk '$1 == "oom_kill" {print $2}' $m/memory.events)
echo "memory: dd exit $rc, memory.events: $(tr '\n' ' ' <$m/memory.events)"
check "64M allocation under memory.max=32M is OOM-killed (exit $rc)" test "$rc" = 137
check "memory.events oom_kill >= 1 (got $oom)" test "${oom:-0}" -ge 1
rmdir $m

# -- pids.max stops a fork loop ----------------------------------------------
p=$CG/selftest-pids
mkdir $p
echo 5 >$p/pids.max
# every sleep that could be forked stays in the cgroup for 30 s
sh -c "echo \$\$ >$p/cgroup.procs
  for i in \$(seq 20); do sleep 30 </dev/null >/dev/null 2>&1 & done" >/dev/null 2>&1
out=$(cat $p/pids.current)
events=$(awk '$1 == "max" {print $2}' $p/pids.events)
echo "pids: pids.current after the loop $out, pids.events max $events"
check "pids.max=5 holds (pids.current $out, 1..5)" test "${out:-99}" -le 5 -a "${out:-0}" -ge 1
check "pids.events max >= 1 (got $events)" test "${events:-0}" -ge 1
echo 1 >$p/cgroup.kill
for _ in $(seq 50); do [ "$(cat $p/pids.current)" = 0 ] && break; sleep 0.1; done
rmdir $p

# -- cpu and io interfaces are writable ---------------------------------------
c=$CG/selftest-cpu
mkdir $c
check "cpu.max writable" sh -c "echo '50000 100000' >$c/cpu.max"
check "cpu.weight writable" sh -c "echo 50 >$c/cpu.weight"
check "io.weight writable" sh -c "echo 'default 50' >$c/io.weight"
rmdir $c

# -- the unprivileged user and its delegated subtree -------------------------
check "user ${COVE_VM_USER:?} owns its delegated cgroup" test "$(stat -c %U "$UCG")" = "$COVE_VM_USER"
uid=$(vm-as-user id -u)
check "vm-as-user runs as uid ${COVE_VM_UID:?} (got $uid)" test "$uid" = "$COVE_VM_UID"
where=$(vm-as-user cat /proc/self/cgroup)
check "vm-as-user runs in the delegated subtree ($where)" test "$where" = "0::${UCG#"$CG"}/session"
check "user creates a child cgroup, limits it and moves itself in" \
  vm-as-user sh -ec "
    mkdir $UCG/child
    echo 64M >$UCG/child/memory.max
    echo 10 >$UCG/child/pids.max
    echo \$\$ >$UCG/child/cgroup.procs
    grep -qx '0::${UCG#"$CG"}/child' /proc/self/cgroup
    echo \$\$ >$UCG/session/cgroup.procs
    rmdir $UCG/child"
check "user can change the delegated subtree_control" \
  vm-as-user sh -ec "echo -pids >$UCG/cgroup.subtree_control; echo +pids >$UCG/cgroup.subtree_control"
check "user cannot touch cgroups outside its subtree" \
  vm-as-user sh -c "! mkdir $CG/user.slice/not-mine 2>/dev/null"
ns=$(vm-as-user unshare -Ur id -u 2>&1)
check "unshare -Ur works as the user (id -u inside: $ns)" test "$ns" = 0
check "user namespace + mount/pid namespaces (unshare -Urmpf --mount-proc)" \
  vm-as-user unshare -Urmpf --mount-proc sh -c 'test "$(cat /proc/self/stat | cut -d" " -f1)" -le 3 && mount -t tmpfs t /mnt'
check "user cgroup namespace sees its cgroup as root" \
  vm-as-user unshare -UrC sh -c 'grep -qx "0::/" /proc/self/cgroup'

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
