#!/usr/bin/env bash
# cgroup v2 behaviour of cove, run inside the pure-v2 test VM by
# tests/vm/cgroup_v2.sh: as root (MODE=root) and as the user with a
# delegated subtree (MODE=rootless, through vm-as-user). Uses the e2e
# harness (assertions, leftover checks: state, processes, cgroups).
. "$(dirname "$0")/../lib/common.sh"

[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || skip "needs a pure cgroup v2 host (the test VM)"
CG=/sys/fs/cgroup
own=$(sed -n 's/^0:://p' /proc/self/cgroup)
# cove puts containers next to the caller's cgroup (no-internal-process rule)
if [ "$own" = / ]; then BASE=$CG; else BASE=$CG$(dirname "$own"); fi
BASE=${BASE%/}
cgd() { echo "$BASE/cove-$1"; }
log "own cgroup $own, containers go to $BASE"

# Every exec costs ~0.3 s under emulation: the helpers below (and this
# capture, a lean copy of common.sh's) use bash builtins where they can.
kv() { local k v; while read -r k v; do [ "$k" = "$2" ] && { printf '%s' "${v%% *}"; return; }; done <"$1"; }
capture() {
  _TIMED_OUT=
  _CAPN=$((_CAPN + 1))
  local o="$T/.cap$_CAPN.out" e="$T/.cap$_CAPN.err" cmd=("$@")
  [ "$1" = cv ] && cmd=("$COVE" --root "$STATE" "${@:2}")
  timeout -k 3 "$CMD_TIMEOUT" "${cmd[@]}" <"${CAPTURE_STDIN:-/dev/null}" >"$o" 2>"$e"
  RC=$?
  [ "$RC" -eq 124 ] && { _TIMED_OUT=1; fail "timed out after ${CMD_TIMEOUT}s: $*"; }
  OUT=$(<"$o")
  ERR=$(<"$e")
  return 0
}
alive() {
  local s
  s=$(<"/proc/$1/stat") 2>/dev/null || return 1
  s=${s##*) }
  case ${s%% *} in Z|X|"") return 1 ;; esac
}
cstate() {
  capture cv state "$1"
  local re='"status": "([a-z]+)".*"pid": ([0-9]+)'
  STATUS= PID=
  [[ $OUT =~ $re ]] && { STATUS=${BASH_REMATCH[1]}; PID=${BASH_REMATCH[2]}; }
  [ -n "$PID" ] && [ "$PID" != 0 ] && note_pid "$PID"
}
cfg() {
  local dir=$1 out; shift
  out=$(jq "$@" "$dir/config.json" </dev/null) || die "jq failed on $dir/config.json: $*"
  printf '%s\n' "$out" >"$dir/config.json"
}
set_args() {
  local dir=$1 out i=0 x ja=(); shift
  for x; do ja+=(--arg "a$i" "$x"); i=$((i + 1)); done
  out=$(jq "${ja[@]}" --argjson n $# '.process.args = [range(0; $n) as $i | $ARGS.named["a\($i)"]]' \
    "$dir/config.json" </dev/null) || die "set_args: jq failed"
  printf '%s\n' "$out" >"$dir/config.json"
}
note_pid() { local s; s=$(<"/proc/$1/stat") 2>/dev/null; s=${s##*) }; set -- $1 $s; echo "$1 ${21}" >>"$T/pids"; }

B=$T/bundle
mkbundle "$B"
stats() { capture cv events --stats "$1"; STATS=$OUT; }
no_cgroup() { [ ! -e "$(cgd "$1")" ] || fail "cgroup $(cgd "$1") left after $2"; pass; }

# --- memory.max: allocation past it is OOM-killed; events report it
log "[${SECONDS}s] memory.max: allocation past it is OOM-killed; even"
cfg "$B" '.linux.resources = {memory: {limit: 33554432, swap: 33554432}}'
set_args "$B" dd if=/dev/zero of=/dev/null bs=64M count=1
newid
capture cv run --bundle "$B" "$ID"
assert_eq 137 "$RC" "dd past memory.max (stderr: $ERR)"
no_cgroup "$ID" run

set_args "$B" sh -c "sleep 0.5; dd if=/dev/zero of=/dev/null bs=64M count=1; exec sleep $SLEEPN"
newid; M=$ID
assert_ok cv --debug --log "$T/create.log" create --bundle "$B" "$M"
MC=$(cgd "$M")
assert_eq 33554432 "$(<"$MC/memory.max")" "memory.max"
assert_eq 0 "$(<"$MC/memory.swap.max")" "memory.swap.max (limit - swap)"
# born in its cgroup: clone3(CLONE_INTO_CGROUP), no move afterwards
assert_not_contains "$(<"$T/create.log")" "placing through cgroup.procs" "create debug log"
cstate "$M"
assert_eq "0::${MC#"$CG"}" "$(<"/proc/$PID/cgroup")" "init's cgroup seen from the host"
timeout 6 "$COVE" --root "$STATE" events --interval 100ms "$M" >"$T/events.out" 2>&1 &
evpid=$!
sleep 0.2
assert_ok cv start "$M"
for _ in $(seq 100); do
  grep -q '^oom_kill [1-9]' "$MC/memory.events" && break
  sleep 0.05
done
assert_match "$(<"$MC/memory.events")" 'oom_kill [1-9]' "memory.events"
stats "$M"
read -r ok pk lm < <(jq -r '.data.memory | "\(.raw.oom_kill) \(.usage.max) \(.usage.limit)"' <<<"$STATS")
assert_match "$ok" '^[1-9]' "events --stats oom_kill"
assert_match "$pk" '^[1-9][0-9]{6,}$' "events --stats peak (memory.peak)"
assert_eq 33554432 "$lm" "events --stats limit"
sleep 0.4
kill "$evpid" 2>/dev/null; wait "$evpid" 2>/dev/null
assert_contains "$(<"$T/events.out")" '"type":"oom"' "events stream"
assert_contains "$(<"$T/events.out")" '"type":"stats"' "events stream"
assert_status "$M" running
assert_ok cv delete --force "$M"
no_cgroup "$M" "delete --force"

cfg "$B" '.linux.resources = {memory: {limit: 33554432, disableOOMKiller: true}}'
newid
assert_fail cv create --bundle "$B" "$ID"
assert_cove_error "linux.resources.memory.disableOOMKiller"
no_cgroup "$ID" "refused create"

# --- pids.max: a fork bomb stops there, delete cleans up
log "[${SECONDS}s] pids.max: a fork bomb stops there, delete cleans u"
cfg "$B" '.linux.resources = {pids: {limit: 8}}'
set_args "$B" sh -c "sh -c 'i=0; while [ \$i -lt 40 ]; do sleep $SLEEPN & i=\$((i+1)); done' 2>/dev/null; exec sleep $SLEEPN"
newid; P=$ID
assert_ok cv run -d --bundle "$B" "$P"
PC=$(cgd "$P")
assert_eq 8 "$(<"$PC/pids.max")" "pids.max"
for _ in $(seq 100); do grep -q 'max [1-9]' "$PC/pids.events" && break; sleep 0.05; done
sleep 0.3
n=$(<"$PC/pids.current")
assert_match "$n" '^[78]$' "pids.current at the limit"
capture cv ps --format json "$P"
commas=${OUT//[^,]/}
assert_eq "$n" "$(( ${#commas} + 1 ))" "ps --format json ($OUT)"

# joining another container's namespaces (a namespace joiner clones the
# init, as for cove agent): born in its cgroup too, no move afterwards
cstate "$P"
cp -r "$B" "$T/join"
# (rootless, its user namespace too: it owns the network namespace)
cfg "$T/join" --arg p "/proc/$PID/ns" '.linux.resources = {pids: {limit: 4}}
  | .linux.namespaces |= map(if .type == "network" then .path = "\($p)/net"
                             elif .type == "user" then .path = "\($p)/user" else . end)
  | if any(.linux.namespaces[]; .type == "user") then del(.linux.uidMappings, .linux.gidMappings) else . end'
set_args "$T/join" sleep "$SLEEPN"
newid; J=$ID
assert_ok cv --debug --log "$T/join.log" create --bundle "$T/join" "$J"
assert_contains "$(<"$T/join.log")" "init cloned into its cgroup" "create (joining a netns) debug log"
cstate "$J"
JC=$(cgd "$J")
assert_eq "0::${JC#"$CG"}" "$(<"/proc/$PID/cgroup")" "joined init's cgroup seen from the host"
assert_ok cv delete --force "$J"
no_cgroup "$J" "delete --force"

procs=$(<"$PC/cgroup.procs")
assert_ok cv delete --force "$P"   # cgroup.kill
for p in $procs; do gone "$p" || fail "process $p survived delete --force"; done
no_cgroup "$P" "delete --force"

# --- cpu: weight, cpu.max, throttling measured by cpu.stat; cpuset; idle
log "[${SECONDS}s] cpu: weight, cpu.max, throttling measured by cpu.s"
cfg "$B" '.linux.resources = {cpu: {shares: 1024, quota: 20000, period: 100000, cpus: "1", mems: "0"}}'
set_args "$B" sh -c 'grep Cpus_allowed_list /proc/self/status; while :; do :; done'
newid; C=$ID
assert_ok cv run -d --bundle "$B" "$C"
CC=$(cgd "$C")
assert_eq "20000 100000" "$(<"$CC/cpu.max")" "cpu.max"
assert_eq 39 "$(<"$CC/cpu.weight")" "cpu.weight from shares 1024"
assert_eq 1 "$(<"$CC/cpuset.cpus")" "cpuset.cpus"
assert_eq 0 "$(<"$CC/cpuset.mems")" "cpuset.mems"
cstate "$C"
assert_eq 1 "$(kv "/proc/$PID/status" Cpus_allowed_list:)" "init's allowed cpus"
for _ in $(seq 60); do
  [ "$(kv "$CC/cpu.stat" nr_throttled)" -gt 0 ] && break
  sleep 0.05
done
assert_match "$(kv "$CC/cpu.stat" nr_throttled)" '^[1-9]' "cpu.stat nr_throttled"

# --- pause / resume through cgroup.freeze
log "[${SECONDS}s] pause / resume through cgroup.freeze"
assert_ok cv pause "$C"
assert_eq 1 "$(<"$CC/cgroup.freeze")" "cgroup.freeze"
assert_contains "$(<"$CC/cgroup.events")" "frozen 1" "cgroup.events"
assert_status "$C" paused
u1=$(kv "$CC/cpu.stat" usage_usec); sleep 0.3
u2=$(kv "$CC/cpu.stat" usage_usec)
assert_eq "$u1" "$u2" "cpu usage while frozen"
assert_ok cv resume "$C"
assert_status "$C" running
assert_contains "$(<"$CC/cgroup.events")" "frozen 0" "cgroup.events after resume"

# --- update changes the files of a running container
log "[${SECONDS}s] update changes the files of a running container"
assert_ok cv update --cpu-quota 50000 --cpu-period 200000 --memory 64m --pids-limit 30 "$C"
assert_eq "50000 200000" "$(<"$CC/cpu.max")" "cpu.max after update"
assert_eq 67108864 "$(<"$CC/memory.max")" "memory.max after update"
assert_eq 30 "$(<"$CC/pids.max")" "pids.max after update"
assert_ok cv update --cpu-period 100000 "$C"
assert_eq "50000 100000" "$(<"$CC/cpu.max")" "cpu.max after --cpu-period alone"
echo '{"unified": {"pids.max": "21", "memory.high": "50000000"}}' >"$T/res.json"
assert_ok cv update --resources "$T/res.json" "$C"
assert_eq 21 "$(<"$CC/pids.max")" "pids.max after update --resources (unified)"
assert_eq 49999872 "$(<"$CC/memory.high")" "memory.high (page-rounded)"
assert_fail cv update --resources "$T/nonexistent.json" "$C"
capture cv exec "$C" cat /proc/self/cgroup
assert_eq "0::/" "$OUT" "exec'd process's cgroup (inside; stderr: $ERR)"
assert_ok cv kill --all "$C" KILL
wait_status "$C" stopped
assert_ok cv delete "$C"
no_cgroup "$C" delete

# --- unified keys, hugetlb, io
log "[${SECONDS}s] unified keys, hugetlb, io"
cfg "$B" '.linux.resources = {unified: {"pids.max": "9", "memory.high": "max"}}'
set_args "$B" cat /sys/fs/cgroup/pids.max
newid
capture cv run --bundle "$B" "$ID"
assert_eq 0 "$RC" "run with unified keys ($ERR)"
assert_eq 9 "$OUT" "pids.max seen inside (cgroup namespace + cgroup mount)"
cfg "$B" '.linux.resources = {unified: {"memory.bogus": "1"}}'
newid
assert_fail cv create --bundle "$B" "$ID"
assert_cove_error "linux.resources.unified.memory.bogus"
no_cgroup "$ID" "refused unified key"

if grep -qw hugetlb "$BASE/cgroup.subtree_control" 2>/dev/null || grep -qw hugetlb "$BASE/cgroup.controllers"; then
  cfg "$B" '.linux.resources = {hugepageLimits: [{pageSize: "2MB", limit: 0}]}'
  set_args "$B" cat /sys/fs/cgroup/hugetlb.2MB.max
  newid
  capture cv run --bundle "$B" "$ID"
  if [ "$RC" -eq 0 ]; then
    assert_eq 0 "$OUT" "hugetlb.2MB.max"
  else
    assert_cove_error "linux.resources.hugepageLimits[0]"
  fi
fi

# io: a weight is enforced or refused by name; a throttle on a device
# that is no block device is refused
cfg "$B" '.linux.resources = {blockIO: {weight: 500}}'
set_args "$B" sh -c 'cat /sys/fs/cgroup/io.weight 2>/dev/null || cat /sys/fs/cgroup/io.bfq.weight'
newid
capture cv run --bundle "$B" "$ID"
if [ "$RC" -eq 0 ]; then
  assert_match "$OUT" 'default (4950|500)' "io weight for blkio weight 500"
else
  assert_cove_error "linux.resources.blockIO.weight"
fi
cfg "$B" '.linux.resources = {blockIO: {throttleReadBpsDevice: [{major: 259, minor: 999999, rate: 1048576}]}}'
newid
assert_fail cv create --bundle "$B" "$ID"
assert_cove_error "linux.resources.blockIO.throttleReadBpsDevice[0]"
no_cgroup "$ID" "refused io.max"
if [ -e /sys/dev/block/1:3 ]; then # a RAM disk (brd): a real block device
  cfg "$B" '.linux.resources = {blockIO: {throttleReadBpsDevice: [{major: 1, minor: 3, rate: 1048576}],
                                          throttleWriteIOPSDevice: [{major: 1, minor: 3, rate: 100}]}}'
  set_args "$B" cat /sys/fs/cgroup/io.max
  newid
  capture cv run --bundle "$B" "$ID"
  assert_contains "$OUT" "1:3 rbps=1048576 wbps=max riops=max wiops=100" "io.max"
fi

# --- an init that dies leaves no orphans; the cgroup goes with delete
log "[${SECONDS}s] an init that dies leaves no orphans; the cgroup go"
cfg "$B" 'del(.linux.resources)'
set_args "$B" sh -c "sleep $SLEEPN & sleep $SLEEPN & exit 3"
newid
capture cv run --bundle "$B" "$ID"
assert_eq 3 "$RC" "exit status"
no_cgroup "$ID" run

# --- relative nested cgroupsPath
log "[${SECONDS}s] relative nested cgroupsPath"
cfg "$B" --arg p "cove-nest-$TAG/inner" '.linux.cgroupsPath = $p | .linux.resources = {pids: {limit: 7}}'
set_args "$B" sh -c 'cat /sys/fs/cgroup/pids.max; cat /proc/self/cgroup'
newid
capture cv run --bundle "$B" "$ID"
assert_eq $'7\n0::/' "$OUT" "nested cgroupsPath (inside)"
[ ! -e "$BASE/cove-nest-$TAG" ] || fail "nested cgroupsPath parent left behind"
pass

# --- /sys/fs/cgroup without a cgroup namespace: a bind of the container's
# own cgroup (docs/cgroups.md), never the host's tree
log "[${SECONDS}s] /sys/fs/cgroup without a cgroup namespace"
cfg "$B" 'del(.linux.cgroupsPath) | del(.linux.namespaces[] | select(.type == "cgroup"))
  | .linux.resources = {pids: {limit: 7}}'
set_args "$B" sh -c 'cat /sys/fs/cgroup/pids.max
  while read -r _ _ _ r m _; do [ "$m" = /sys/fs/cgroup ] && echo "root=$r"; done </proc/self/mountinfo
  { echo x >/sys/fs/cgroup/pids.max; } 2>/dev/null && echo writable; exit 0'
newid
capture cv run --bundle "$B" "$ID"
assert_eq 0 "$RC" "run without a cgroup namespace (stderr: $ERR)"
assert_eq 7 "${OUT%%$'\n'*}" "its own pids.max at /sys/fs/cgroup"
assert_match "$OUT" "root=[^ ]*/cove-$ID"$'(\n|$)' "the mount is the container's own cgroup"
assert_not_contains "$OUT" "writable" "read-only"
cfg "$B" '.linux.namespaces += [{type: "cgroup"}]'

# --- rootless without delegation: refusal (root drops to the user, in a
log "[${SECONDS}s] rootless without delegation: refusal (root drops t"
# cgroup the user may not write)
if [ "$MODE" = root ]; then
  mkbundle "$T/rl" rootless
  cfg "$T/rl" --arg r "$ROOTFS" '.linux.resources = {memory: {limit: 33554432}} | .root.path = $r'
  newid
  mkdir -p "$T/rlstate" && chmod 0777 "$T/rlstate" "$T"
  out=$(setpriv --reuid="${COVE_VM_UID:-1000}" --regid="${COVE_VM_UID:-1000}" --clear-groups -- \
    "$COVE" --root "$T/rlstate/s" run --bundle "$T/rl" "$ID" 2>&1)
  rc=$?
  assert_ne 0 "$rc" "rootless run with limits and no delegation"
  assert_contains "$out" "linux.resources" "refusal"
  # no systemd in this guest: the hint says so, not "Delegate=yes"
  assert_contains "$out" "no systemd runs here" "refusal hint"
  assert_not_contains "$out" "Delegate=yes" "refusal hint"
  [ ! -e "$CG/cove-$ID" ] || fail "refused rootless run left $CG/cove-$ID"
  pass
  rm -rf "$T/rlstate"
fi

# --- linux.resources.devices on pure v2: only the BPF_CGROUP_DEVICE program
log "[${SECONDS}s] device rules through the BPF program (pure v2)"
# (docs/cgroups.md "Devices"). Root only: rootless, the user namespace
# already refuses mknod of real devices. The program runs before the
# driver is looked up, so a denied node fails with EPERM whether or not
# the guest kernel has that driver.
if [ "$MODE" = root ]; then
  mkbundle "$T/dev"
  cfg "$T/dev" '.process.capabilities.bounding += ["CAP_MKNOD"]
    | .process.capabilities.effective += ["CAP_MKNOD"]
    | .process.capabilities.permitted += ["CAP_MKNOD"]
    | .linux.resources.devices = [{allow: false, access: "rwm"},
        {allow: true, type: "c", major: 1, minor: 3, access: "rwm"}]'
  set_args "$T/dev" sh -c 'mknod /dev/xfuse c 10 229 && mknod /dev/xnull c 1 3 || exit 3
    (exec 3<>/dev/xfuse) 2>&1 && echo fuse opened
    (echo x >/dev/xnull) 2>&1 && echo null ok
    (echo x >/dev/null) 2>&1 && echo default ok'
  newid
  capture cv run --bundle "$T/dev" "$ID"
  assert_eq 0 "$RC" "device rules run (stderr: $ERR)"
  assert_not_contains "$OUT" "fuse opened" "denied c 10:229 opened"
  assert_contains "$OUT" "Operation not permitted" "denied c 10:229: EPERM"
  assert_contains "$OUT" "null ok" "allowed c 1:3"
  assert_contains "$OUT" "default ok" "default /dev/null under deny-all"
  no_cgroup "$ID" run
fi
