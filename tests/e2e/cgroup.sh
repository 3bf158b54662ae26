#!/usr/bin/env bash
# cgroup limits on this kind of host (hybrid: memory/cpu/pids... are v1
# hierarchies, v2 has only hugetlb). Root: limits enforced through v1, the
# container placed and its cgroups removed; pause/resume, update, ps,
# events. Rootless (no delegated cgroup here): limits are refused with the
# delegation hint, --cgroup-manager=disabled runs without them.
# The pure cgroup v2 behaviour is tested inside a VM (tests/vm/cgroup_v2.sh).
. "$(dirname "$0")/../lib/common.sh"

[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] &&
  skip "pure cgroup v2 host: covered by tests/vm/cgroup_v2.sh"

B=$T/bundle
mkbundle "$B"

# own cgroup of this shell in v1 hierarchy $1
own() { awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup; }
# cgdir CONTROLLER ID: where cove puts container ID by default
cgdir() { local o; o=$(own "$1"); echo "/sys/fs/cgroup/$1${o%/}/cove-$2"; }
# no directory of container $1 left in any hierarchy
assert_no_cgroup() {
  local left
  left=$(find /sys/fs/cgroup -maxdepth 5 -type d -name "cove-$1" 2>/dev/null)
  assert_eq "" "$left" "cgroups of $1 left behind"
}
stats() { capture cv events --stats "$1"; STATS=$OUT; }

if [ "$MODE" = rootless ]; then
  # --- no delegated cgroup: a limit is refused, never dropped
  if [ -w "/sys/fs/cgroup/memory$(own memory)" ] || [ -w /sys/fs/cgroup/unified ]; then
    skip "this user can write cgroups here: nothing to refuse"
  fi
  cfg "$B" '.linux.resources = {memory: {limit: 33554432}, pids: {limit: 10}}'
  set_args "$B" true
  newid
  assert_fail cv run --bundle "$B" "$ID"
  assert_cove_error "linux.resources.memory"
  # the hint fits the host: memory is a v1 hierarchy here, which no
  # Delegate= would give this user
  assert_contains "$ERR" "cgroup v1 is never delegated" "delegation hint"
  assert_not_contains "$ERR" "Delegate=yes" "no systemd hint where it cannot help"
  assert_contains "$ERR" "--cgroup-manager=disabled" "opt-out hint"
  assert_fail cv state "$ID"
  assert_no_cgroup "$ID"
  # pids alone, cpu alone: same
  cfg "$B" '.linux.resources = {pids: {limit: 10}}'
  newid
  assert_fail cv create --bundle "$B" "$ID"
  assert_cove_error "linux.resources.pids"
  assert_fail cv state "$ID"

  # --- the explicit opt-out runs it, and says so
  cfg "$B" '.linux.resources = {memory: {limit: 33554432}, pids: {limit: 10}}'
  newid
  capture "$COVE" --root "$STATE" --cgroup-manager=disabled run --bundle "$B" "$ID"
  assert_eq 0 "$RC" "run with --cgroup-manager=disabled (stderr: $ERR)"
  assert_contains "$ERR" "NOT enforced" "warning"
  # --- no limits: runs without a cgroup; cgroup commands say why they cannot
  cfg "$B" 'del(.linux.resources)'
  set_args "$B" "${LONG[@]}"
  newid
  assert_ok cv create --bundle "$B" "$ID"
  assert_fail cv pause "$ID"
  assert_cove_error "has no cgroup"
  assert_fail cv events --stats "$ID"
  assert_cove_error "no cgroup"
  assert_ok cv delete --force "$ID"
  assert_fail "$COVE" --cgroup-manager=bogus list
  exit 0
fi

[ -d "/sys/fs/cgroup/memory$(own memory)" ] || skip "no cgroup v1 memory hierarchy"

# --- memory.limit: the init that allocates past it is OOM-killed (137)
cfg "$B" '.linux.resources = {memory: {limit: 33554432, swap: 33554432}}'
set_args "$B" dd if=/dev/zero of=/dev/null bs=64M count=1
newid
capture cv run --bundle "$B" "$ID"
assert_eq 137 "$RC" "exit status of dd past memory.limit (stderr: $ERR)"
assert_no_cgroup "$ID"

# the same in a container that survives it: failcnt, oom_control, events
set_args "$B" sh -c "dd if=/dev/zero of=/dev/null bs=64M count=1; exec sleep $SLEEPN"
newid; M=$ID
assert_ok cv create --bundle "$B" "$M"
cstate "$M"; MPID=$PID
# placement: every hierarchy, before the process ran anything
assert_contains "$(cat "/proc/$MPID/cgroup")" "memory:$(own memory | sed 's:/$::')/cove-$M" "init's memory cgroup"
assert_contains "$(cat "/proc/$MPID/cgroup")" "pids:$(own pids | sed 's:/$::')/cove-$M" "init's pids cgroup"
assert_contains "$(cat "/proc/$MPID/cgroup")" "0::/cove-$M" "init's v2 cgroup"
MC=$(cgdir memory "$M")
assert_eq 33554432 "$(cat "$MC/memory.limit_in_bytes")" "memory.limit_in_bytes"
assert_ok cv start "$M"
for _ in $(seq 100); do
  grep -q '^oom_kill [1-9]' "$MC/memory.oom_control" 2>/dev/null && break
  sleep 0.05
done
assert_match "$(grep '^oom_kill ' "$MC/memory.oom_control")" '^oom_kill [1-9]' "memory.oom_control"
assert_match "$(cat "$MC/memory.failcnt")" '^[0-9]+$' "memory.failcnt"
stats "$M"
assert_eq stats "$(jq -r .type <<<"$STATS")" "events --stats type"
assert_eq "$M" "$(jq -r .id <<<"$STATS")" "events --stats id"
assert_eq 33554432 "$(jq -r .data.memory.usage.limit <<<"$STATS")" "stats memory limit"
assert_match "$(jq -r .data.memory.raw.oom_kill <<<"$STATS")" '^[1-9]' "stats oom_kill"
assert_match "$(jq -r .data.memory.usage.max <<<"$STATS")" '^[1-9][0-9]{6,}$' "stats memory peak"
assert_match "$(jq -r .data.cpu.usage.total <<<"$STATS")" '^[0-9]+$' "stats cpu total"
assert_eq 1 "$(jq -r .data.pids.current <<<"$STATS")" "stats pids.current"
assert_status "$M" running
assert_ok cv delete --force "$M"
assert_no_cgroup "$M"

# --- pids.limit: a fork loop stops at the limit; delete still cleans up
# (the inner shell dies when fork fails; its sleeps stay, the init execs)
cfg "$B" '.linux.resources = {pids: {limit: 8}}'
set_args "$B" sh -c "sh -c 'i=0; while [ \$i -lt 30 ]; do sleep $SLEEPN & i=\$((i+1)); done' 2>/dev/null; exec sleep $SLEEPN"
newid; P=$ID
assert_ok cv run -d --bundle "$B" "$P"
PC=$(cgdir pids "$P")
assert_eq 8 "$(cat "$PC/pids.max")" "pids.max"
for _ in $(seq 100); do
  grep -q 'max [1-9]' "$PC/pids.events" 2>/dev/null && break
  sleep 0.05
done
sleep 0.3
n=$(cat "$PC/pids.current")
assert_match "$n" '^[78]$' "pids.current at the limit"
assert_match "$(cat "$PC/pids.events")" 'max [1-9]' "pids.events (forks refused)"
cstate "$P"
capture cv ps --format json "$P"
assert_eq "$n" "$(jq length <<<"$OUT")" "ps --format json: number of processes"
assert_eq true "$(jq --argjson p "$PID" 'index($p) != null' <<<"$OUT")" "ps json lists the init $PID"
capture cv ps "$P"
assert_contains "$OUT" "PID" "ps table header"
assert_contains "$OUT" "sleep $SLEEPN" "ps table lists the sleeps"
pids=$(cat "$PC/cgroup.procs")
assert_ok cv delete --force "$P"
for p in $pids; do gone "$p" || fail "process $p of $P survived delete --force"; done
assert_no_cgroup "$P"

# --- pause / resume, update, kill --all
cfg "$B" '.linux.resources = {memory: {limit: 33554432, swap: 33554432}, pids: {limit: 20},
                              cpu: {shares: 512, quota: 50000, period: 100000}}'
set_args "$B" sh -c "sleep $SLEEPN & while :; do :; done"
newid; L=$ID
assert_ok cv run -d --bundle "$B" "$L"
cstate "$L"; LPID=$PID
CC=$(cgdir cpu "$L")
assert_eq 50000 "$(cat "$CC/cpu.cfs_quota_us")" "cpu.cfs_quota_us"
assert_eq 512 "$(cat "$CC/cpu.shares")" "cpu.shares"
assert_ok cv pause "$L"
assert_status "$L" paused
st=$(awk '/^State:/ {print $2}' "/proc/$LPID/status")
assert_ne R "$st" "State of the paused busy loop"
stats "$L"; u1=$(jq .data.cpu.usage.total <<<"$STATS")
sleep 0.3
stats "$L"; u2=$(jq .data.cpu.usage.total <<<"$STATS")
assert_eq "$u1" "$u2" "cpu usage while paused"
assert_fail cv start "$L"
assert_fail cv pause "$L"   # not running
assert_ok cv resume "$L"
assert_status "$L" running
sleep 0.3
stats "$L"; u3=$(jq .data.cpu.usage.total <<<"$STATS")
[ "$u3" -gt "$u2" ] || fail "cpu usage did not grow after resume ($u2 -> $u3)"
assert_fail cv resume "$L"
assert_cove_error "not paused"

MC=$(cgdir memory "$L")
assert_ok cv update --memory 64m --pids-limit 30 --cpu-quota 20000 --cpu-shares 1024 "$L"
assert_eq 67108864 "$(cat "$MC/memory.limit_in_bytes")" "memory limit after update"
assert_eq 67108864 "$(cat "$MC/memory.memsw.limit_in_bytes" 2>/dev/null || echo 67108864)" "memsw after update (still no swap)"
assert_eq 30 "$(cat "$(cgdir pids "$L")/pids.max")" "pids.max after update"
assert_eq 20000 "$(cat "$CC/cpu.cfs_quota_us")" "cpu quota after update"
assert_eq 1024 "$(cat "$CC/cpu.shares")" "cpu shares after update"
CAPTURE_STDIN=$T/res.json
echo '{"pids": {"limit": 40}, "memory": {"limit": 50331648, "swap": 50331648}}' >"$CAPTURE_STDIN"
assert_ok cv update --resources - "$L"
unset CAPTURE_STDIN
assert_eq 40 "$(cat "$(cgdir pids "$L")/pids.max")" "pids.max after update --resources -"
assert_eq 50331648 "$(cat "$MC/memory.limit_in_bytes")" "memory limit after update --resources -"
assert_fail cv update --pids-limit -5 "$L"
assert_cove_error "linux.resources.pids.limit"
assert_fail cv update --memory lots "$L"
assert_cove_error "--memory"
assert_fail cv update --cpuset-cpus 9999 "$L"
assert_cove_error "linux.resources.cpu.cpus"
assert_eq 40 "$(cat "$(cgdir pids "$L")/pids.max")" "pids.max unchanged by a failed update"

# exec joins the container's cgroups (and its cgroup namespace)
capture cv exec "$L" cat /proc/self/cgroup
assert_eq 0 "$RC" "exec (stderr: $ERR)"
assert_contains "$OUT" ":memory:/"$'\n' "exec'd process's memory cgroup (inside)"
assert_not_contains "$OUT" "cove-" "exec'd process's cgroups (inside)"
procs=$(cat "$(cgdir pids "$L")/cgroup.procs")
assert_ok cv kill --all "$L" KILL
for p in $procs; do gone "$p" || fail "process $p survived kill --all"; done
wait_status "$L" stopped
assert_ok cv delete "$L"
assert_no_cgroup "$L"

# --- a failed create leaves no cgroup: a limit the kernel rejects, and a
# failure after the cgroups exist (the executable is missing)
cfg "$B" '.linux.resources = {memory: {limit: 33554432}, cpu: {cpus: "4095"}}'
set_args "$B" true
newid
assert_fail cv create --bundle "$B" "$ID"
assert_cove_error "linux.resources.cpu.cpus"
assert_no_cgroup "$ID"
cfg "$B" '.linux.resources = {memory: {limit: 33554432}, pids: {limit: 5}}'
set_args "$B" /nonexistent-cove-binary
newid
assert_fail cv create --bundle "$B" "$ID"
assert_no_cgroup "$ID"
assert_fail cv state "$ID"

# --- cgroupsPath: relative, nested; every directory cove made goes away
cfg "$B" --arg p "cove-nest-$TAG/inner-$TAG" '.linux.cgroupsPath = $p | .linux.resources = {pids: {limit: 7}}'
set_args "$B" cat /proc/self/cgroup
newid
assert_ok cv run --bundle "$B" "$ID"
assert_contains "$OUT" "pids:/" "cgroup namespace root (inside)"
assert_not_contains "$OUT" "cove-nest" "cgroup paths inside the cgroup namespace"
left=$(find /sys/fs/cgroup -maxdepth 5 -name "cove-nest-$TAG" 2>/dev/null)
assert_eq "" "$left" "nested cgroupsPath directories left"

# --- cgroupsPath taken by a running container: the second create is
# refused even with no limits asked (COVE_EK_EXISTS: not a hierarchy to
# skip), the first keeps its cgroup
cfg "$B" --arg p "cove-taken-$TAG" '.linux.cgroupsPath = $p | del(.linux.resources)'
set_args "$B" "${LONG[@]}"
newid; first=$ID
assert_ok cv create --bundle "$B" "$first"
cstate "$first"; fpid=$PID
newid
assert_fail cv create --bundle "$B" "$ID"
assert_cove_error "linux.cgroupsPath"
assert_contains "$ERR" "already exists and has processes" "taken cgroupsPath"
assert_fail cv state "$ID"
assert_contains "$(cat /proc/"$fpid"/cgroup)" "cove-taken-$TAG" "first container still in its cgroup"
assert_ok cv delete --force "$first"
left=$(find /sys/fs/cgroup -maxdepth 6 -name "cove-taken-$TAG" 2>/dev/null)
assert_eq "" "$left" "taken cgroupsPath directories left"

# --- cgroupsPath: absolute = from the hierarchy's root (config-linux.md),
# not re-rooted under the caller's cgroup. cove runs from a sub-cgroup of
# this test's memory cgroup and is given a path beside that sub-cgroup:
# still inside the test's own cgroup, outside cove's.
mo=$(own memory)
sub="/sys/fs/cgroup/memory${mo%/}/cove-sub-$TAG"
abs="${mo%/}/cove-abs-$TAG/inner"
mkdir "$sub" || die "mkdir $sub"
cfg "$B" --arg p "$abs" '.linux.cgroupsPath = $p | .linux.resources = {memory: {limit: 67108864}, pids: {limit: 7}}'
set_args "$B" "${LONG[@]}"
newid
capture sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$sub" "$COVE" --root "$STATE" create --bundle "$B" "$ID"
assert_eq 0 "$RC" "create with an absolute cgroupsPath (stderr: $ERR)"
cstate "$ID"
if [ -n "$PID" ]; then
  assert_eq "$abs" "$(awk -F: '$2 == "memory" { print $3 }' "/proc/$PID/cgroup")" "absolute cgroupsPath: memory cgroup"
  assert_eq "$abs" "$(awk -F: '$2 == "pids" { print $3 }' "/proc/$PID/cgroup")" "absolute cgroupsPath: pids cgroup"
  assert_eq 67108864 "$(cat "/sys/fs/cgroup/memory$abs/memory.limit_in_bytes")" "absolute cgroupsPath: limit"
fi
assert_ok cv delete --force "$ID"
left=$(find /sys/fs/cgroup -maxdepth 6 -name "cove-abs-$TAG" 2>/dev/null)
assert_eq "" "$left" "absolute cgroupsPath directories left"
rmdir "$sub"
cfg "$B" 'del(.linux.cgroupsPath)'

# --- a pre-created, empty cpuset parent (kubelet makes pod cgroups with
# plain mkdir: cpuset.cpus/mems empty): cove fills every empty level from
# its parent top-down, as runc does, or no process could join
if [ -d "/sys/fs/cgroup/cpuset$(own cpuset)" ]; then
  cs="/sys/fs/cgroup/cpuset$(own cpuset)"
  cs=${cs%/}
  mkdir -p "$cs/cove-pod-$TAG/burst" || die "mkdir $cs/cove-pod-$TAG/burst"
  assert_eq "" "$(cat "$cs/cove-pod-$TAG/burst/cpuset.cpus")" "a plain mkdir'ed cpuset starts empty"
  cfg "$B" --arg p "cove-pod-$TAG/burst/ctr" '.linux.cgroupsPath = $p | .linux.resources = {memory: {limit: 67108864}}'
  set_args "$B" sh -c 'grep -E "^Cpus_allowed_list|^Mems_allowed_list" /proc/self/status'
  newid
  capture cv run --bundle "$B" "$ID"
  assert_eq 0 "$RC" "run below an empty pre-created cpuset parent (stderr: $ERR)"
  assert_contains "$OUT" "Cpus_allowed_list:	$(cat "$cs/cpuset.cpus")" "the container's cpus = the top parent's"
  for d in "$cs/cove-pod-$TAG" "$cs/cove-pod-$TAG/burst"; do
    assert_eq "$(cat "$cs/cpuset.cpus")" "$(cat "$d/cpuset.cpus")" "cpuset.cpus filled in ${d#"$cs"/}"
    assert_eq "$(cat "$cs/cpuset.mems")" "$(cat "$d/cpuset.mems")" "cpuset.mems filled in ${d#"$cs"/}"
  done
  # a level that has its own cpus keeps them (not overwritten by the parent's)
  first=$(cut -d, -f1 <"$cs/cpuset.cpus" | cut -d- -f1)
  mkdir "$cs/cove-pod-$TAG/pinned" && echo "$first" >"$cs/cove-pod-$TAG/pinned/cpuset.cpus"
  cfg "$B" --arg p "cove-pod-$TAG/pinned/ctr" '.linux.cgroupsPath = $p | .linux.resources = {memory: {limit: 67108864}}'
  newid
  capture cv run --bundle "$B" "$ID"
  assert_eq 0 "$RC" "run below a pinned pre-created cpuset parent (stderr: $ERR)"
  assert_contains "$OUT" "Cpus_allowed_list:	$first" "the pinned parent's cpus hold"
  assert_eq "$first" "$(cat "$cs/cove-pod-$TAG/pinned/cpuset.cpus")" "the pinned parent keeps its cpus"
  # the pre-created parents are the caller's: they survive, cove's leaf not
  assert_eq "" "$(find "$cs/cove-pod-$TAG" -name ctr)" "the container's cpuset cgroups are removed"
  rmdir "$cs/cove-pod-$TAG/burst" "$cs/cove-pod-$TAG/pinned" "$cs/cove-pod-$TAG"
  left=$(find /sys/fs/cgroup -maxdepth 6 -name "cove-pod-$TAG" 2>/dev/null)
  assert_eq "" "$left" "the directories cove made in the other hierarchies are removed"
  cfg "$B" 'del(.linux.cgroupsPath)'
fi

# --- update with the container's own device rules (containerd's CRI
# plugin sends the whole LinuxResources, devices included) applies the
# rest; different device rules are refused
cfg "$B" '.linux.resources = {memory: {limit: 67108864}, devices: [{allow: false, access: "rwm"}, {allow: true, type: "c", major: 1, minor: 3, access: "rwm"}]}'
set_args "$B" "${LONG[@]}"
newid
assert_ok cv create --bundle "$B" "$ID"
jq -n '{devices: [{allow: false, access: "rwm"}, {allow: true, type: "c", major: 1, minor: 3, access: "rwm"}], memory: {limit: 100663296}}' >"$T/upd.json"
capture cv update -r "$T/upd.json" "$ID"
assert_eq 0 "$RC" "update carrying the unchanged device rules (stderr: $ERR)"
assert_eq 100663296 "$(cat "$(cgdir memory "$ID")/memory.limit_in_bytes" 2>&1)" "update with unchanged devices: the memory limit applied"
jq -n '{devices: [{allow: true, access: "rwm"}], memory: {limit: 67108864}}' >"$T/upd.json"
assert_fail cv update -r "$T/upd.json" "$ID"
assert_cove_error "linux.resources.devices"
assert_eq 100663296 "$(cat "$(cgdir memory "$ID")/memory.limit_in_bytes" 2>&1)" "a refused update changes nothing"
assert_ok cv delete --force "$ID"

# --- memory.kernel (deprecated) is accepted with a warning, even -1 (the
# spec's own example); kernelTCP is applied where v1 has the file
for k in -1 100000000; do
  cfg "$B" --argjson k "$k" '.linux.resources = {memory: {kernel: $k}}'
  set_args "$B" true
  newid
  capture cv run --bundle "$B" "$ID"
  assert_eq 0 "$RC" "memory.kernel $k accepted (stderr: $ERR)"
  assert_contains "$ERR" "linux.resources.memory.kernel: ignored" "memory.kernel $k: warning"
done
if [ -e "/sys/fs/cgroup/memory$(own memory)/memory.kmem.tcp.limit_in_bytes" ]; then
  cfg "$B" '.linux.resources = {memory: {kernelTCP: 16777216}}'
  set_args "$B" "${LONG[@]}"
  newid
  assert_ok cv create --bundle "$B" "$ID"
  assert_eq 16777216 "$(cat "$(cgdir memory "$ID")/memory.kmem.tcp.limit_in_bytes" 2>&1)" "memory.kernelTCP applied"
  assert_ok cv delete --force "$ID"
fi
