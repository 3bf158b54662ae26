#!/usr/bin/env bash
# Inside the systemd guest (tests/vm/run-in-vm.sh --systemd, README "The
# systemd guest"), as root from the test unit: cove next to crun, the peer,
# on a systemd host with pure cgroup v2.
#
#   systemd_guest.sh COVE_BINARY ROOTFS
#
# 1. podman as root with its default configuration (systemd cgroup manager,
#    overlay storage, netavark), `--runtime` crun then cove: run, exit
#    code, --memory read from the host side, the container's unit seen by
#    systemctl, exec, stop, rm (cgroup and unit gone).
# 2. A bundle with cgroupsPath "system.slice:cove:ID" and --systemd-cgroup,
#    `crun` then `cove`: the scope exists while the container runs, with
#    the memory limit; pause/resume, update, ps (and events --stats, which
#    crun lacks) on it; gone after delete.
# 3. containerd with the runc shim, SystemdCgroup = true and BinaryName
#    crun then cove (through ctr): exit code, the scope, --memory-limit
#    from the host side, exec, delete.
# 4. The logged-in user (lingering; `su -l`, so a real logind session):
#    rootless podman with its defaults, crun then cove; `cove agent run`
#    with the default policy (no crun peer: an agent is cove's): the
#    limits from the host side in the scope cove got from the user's
#    systemd, a memory hog OOM-killed, a fork bomb held by pids.max.
# Every check runs for both runtimes; a result line per check and runtime,
# then a table. Any FAIL fails the test. Then systemd_bench.sh prints the
# cove/crun start+exit ratio (information, not a check).
set -uo pipefail
# --user: the rootless part, run by the root part through `su -l`
USERPART=0
if [ "${1:-}" = --user ]; then USERPART=1; shift; fi
if [ $USERPART = 0 ] && { [ "${COVE_VM_SYSTEMD:-}" != 1 ] || [ "$(id -u)" != 0 ]; }; then
  echo "systemd_guest.sh: runs inside the systemd guest: tests/vm/run-in-vm.sh --systemd -- $0 COVE ROOTFS"
  exit 77
fi
COVE=${1:?cove binary}
ROOTFS=${2:?rootfs}
export LC_ALL=C
CRUN=$(command -v crun) || { echo "FAIL: no crun in the guest"; exit 1; }
FAILS=0
declare -A RES=()
CASES=()
T=$(mktemp -d /tmp/sdguest.XXXXXX)
chmod 0755 "$T"

# check RT CASE CMD...: run CMD, record PASS/FAIL for runtime RT.
result() { # RT CASE ok|fail [DETAIL]
  local rt=$1 c=$2 st=$3 d=${4:-}
  [[ " ${CASES[*]} " == *" $c "* ]] || CASES+=("$c")
  if [ "$st" = ok ]; then
    RES[$rt,$c]=PASS
    echo "PASS: [$rt] $c${d:+: $d}"
  else
    RES[$rt,$c]=FAIL
    FAILS=$((FAILS + 1))
    echo "FAIL: [$rt] $c${d:+: $d}"
  fi
}
expect() { # RT CASE EXPECTED ACTUAL
  if [ "$3" = "$4" ]; then result "$1" "$2" ok "$4"; else result "$1" "$2" fail "expected '$3', got '$4'"; fi
}
rtpath() { if [ "$1" = cove ]; then echo "$COVE"; else echo "$CRUN"; fi; }
# The tightest memory.max from a cgroup up to the root (crun puts the
# container in a "container" child of its scope, runc/cove in the scope).
eff_memmax() {
  local d=/sys/fs/cgroup$1 best=max v
  while [ "$d" != /sys/fs/cgroup ] && [ -n "$d" ]; do
    v=$(cat "$d/memory.max" 2>/dev/null || echo max)
    if [ "$v" != max ] && { [ "$best" = max ] || [ "$v" -lt "$best" ]; }; then best=$v; fi
    d=${d%/*}
  done
  echo "$best"
}
pid_cg() { awk -F'::' '/^0::/ {print $2}' "/proc/$1/cgroup" 2>/dev/null; }
unit_of() { # the .scope/.service a cgroup path belongs to (deepest)
  tr '/' '\n' <<<"$1" | grep -E '\.(scope|service)$' | tail -n1
}

[ $USERPART = 1 ] || echo "# guest: $(uname -r), systemd $(systemctl --version | awk 'NR==1 {print $2}'), podman $(podman --version | awk '{print $3}'), crun $(crun --version | awk 'NR==1 {print $3}'), $(stat -fc %T /sys/fs/cgroup)"
if [ $USERPART = 0 ]; then
  st=$(systemctl is-system-running --wait 2>&1)
  echo "# system state: $st"
  [ "$st" = running ] || systemctl --failed --no-legend | sed 's/^/# failed unit: /'
fi

IMG=localhost/cove-busybox:latest
# the image from a tarball of the rootfs that root makes (the rootfs has
# root-only directories the user could not read)
import_image() { # TARBALL
  if ! podman import -q "$1" "$IMG" >"$T/import.out" 2>&1; then
    echo "FAIL: podman import of $ROOTFS as $(id -un): $(cat "$T/import.out")"
    exit 1
  fi
}
summary() {
  echo "# ---- crun vs cove ($1) ----"
  printf '# %-28s %-6s %-6s\n' case crun cove
  for c in "${CASES[@]}"; do
    printf '# %-28s %-6s %-6s\n' "$c" "${RES[crun,$c]:--}" "${RES[cove,$c]:--}"
  done
}
podman_cases() { # RT [podman options]: the podman cases with runtime RT
  local rt=$1; shift
  local pm=(podman "$@" --runtime "$(rtpath "$rt")") name=sd-$rt-$$ out rc id pid cg unit
  out=$("${pm[@]}" run --rm "$IMG" echo hello 2>&1)
  expect "$rt" "podman-run" hello "$out"
  "${pm[@]}" run --rm "$IMG" sh -c 'exit 7' >/dev/null 2>&1
  expect "$rt" "podman-exit-code" 7 $?
  out=$("${pm[@]}" run -d --name "$name" --memory 64m "$IMG" sleep 1000 2>&1)
  rc=$?
  if [ $rc != 0 ]; then
    result "$rt" "podman-run-d" fail "$out"
    return
  fi
  id=$out
  pid=$("${pm[@]}" inspect -f '{{.State.Pid}}' "$name")
  cg=$(pid_cg "$pid")
  echo "# [$rt] container cgroup: $cg"
  if [ "$(id -u)" = 0 ]; then
    expect "$rt" "podman-memory-host" 67108864 "$(eff_memmax "$cg")"
  else
    expect "$rt" "podman-memory-host(user)" 67108864 "$(eff_memmax "$cg")"
  fi
  unit=$(unit_of "$cg")
  if [ -n "$unit" ] && [[ $unit == *"${id:0:12}"* ]] && systemctl "${SCTL[@]}" status "$unit" >/dev/null 2>&1; then
    result "$rt" "podman-unit-systemctl" ok "$unit"
  else
    result "$rt" "podman-unit-systemctl" fail "no unit of the container (cgroup $cg, unit '${unit:-none}')"
  fi
  out=$("${pm[@]}" exec "$name" sh -c 'echo in-$((6*7))' 2>&1)
  expect "$rt" "podman-exec" in-42 "$out"
  out=$("${pm[@]}" stop -t 2 "$name" 2>&1)
  rc=$?
  [ $rc = 0 ] && out=$("${pm[@]}" inspect -f '{{.State.Status}}' "$name" 2>&1)
  expect "$rt" "podman-stop" exited "$out"
  out=$("${pm[@]}" rm "$name" 2>&1)
  rc=$?
  if [ $rc = 0 ] && [ ! -d "/sys/fs/cgroup$cg" ] && { [ -z "$unit" ] || ! systemctl "${SCTL[@]}" is-active -q "$unit"; }; then
    result "$rt" "podman-rm" ok
  else
    result "$rt" "podman-rm" fail "rc=$rc $out; cgroup $cg $( [ -d "/sys/fs/cgroup$cg" ] && echo still there); unit ${unit:-none} $(systemctl "${SCTL[@]}" is-active "$unit" 2>&1)"
  fi
}
# `cove agent run` with the default policy from this login session (a
# session-N.scope the user may not make cgroups in): cove gets a delegated
# scope from the user's systemd and the limits hold (cove only: crun has no
# agent). The sandbox's limits are read from the host side.
agent_cases() {
  local ws=$T/agent-ws out rec apid d="" mem pids live
  mkdir -p "$ws"
  "$COVE" agent run --json --workspace "$ws" -- sleep 1000 </dev/null >"$T/agent.out" 2>&1 &
  apid=$!
  # the sandbox's cgroup is beside the agent's leaf ("caller") in the scope
  # cove got; cgroupfs files have no size, so their content is read
  local until=$((SECONDS + 120)) acg
  while [ $SECONDS -lt $until ]; do
    acg=$(awk -F'::' '/^0::/ {print $2}' "/proc/$apid/cgroup" 2>/dev/null)
    if [[ $acg == */cove-deleg-*.scope/caller ]]; then
      for d in "/sys/fs/cgroup${acg%/caller}"/cove-*; do
        [ -d "$d" ] && grep -q . "$d/cgroup.procs" 2>/dev/null && break 2
      done
    fi
    d=""
    kill -0 "$apid" 2>/dev/null || break
    sleep 0.1
  done
  echo "# [cove] agent: $(awk -F'::' '/^0::/ {print $2}' "/proc/$apid/cgroup" 2>/dev/null), sandbox ${d:-not found}"
  mem=$(cat "$d/memory.max" 2>/dev/null)
  pids=$(cat "$d/pids.max" 2>/dev/null)
  kill -TERM "$apid" 2>/dev/null
  wait "$apid"
  expect cove "agent-memory-host(user)" 536870912 "${mem:-no sandbox cgroup: $(tail -n3 "$T/agent.out")}"
  expect cove "agent-pids-host(user)" 256 "${pids:-none}"
  out=$("$COVE" agent run --json --workspace "$ws" -- true </dev/null 2>&1)
  rec=$(grep -o '{"id":"a[0-9a-f]*",.*$' <<<"$out" | tail -n1)
  expect cove "agent-limits-enforced(user)" true "$(jq -r .limits_enforced <<<"$rec" 2>/dev/null)"
  [ "$(jq -r .limits_enforced <<<"$rec" 2>/dev/null)" = true ] || return
  out=$("$COVE" agent run --json --workspace "$ws" -- tail /dev/zero </dev/null 2>&1)
  rec=$(grep -o '{"id":"a[0-9a-f]*",.*$' <<<"$out" | tail -n1)
  expect cove "agent-memory-hog(user)" "true" "$(jq -r .oom_killed <<<"$rec" 2>/dev/null)"
  # the spawning shell dies when fork fails; the outer one counts with a
  # glob (no fork) and kills the rest
  # shellcheck disable=SC2016 # for the sandbox's shell
  out=$("$COVE" agent run --json --workspace "$ws" -- sh -c \
    'sh -c "i=0; while [ \$i -lt 400 ]; do sleep 100 & i=\$((i+1)); done" >/dev/null 2>&1; set -- /proc/[0-9]*; echo "live=$#"; kill -KILL -1' \
    </dev/null 2>&1)
  live=$(grep -o 'live=[0-9]*' <<<"$out" | cut -d= -f2)
  if [[ $live =~ ^[0-9]+$ ]] && [ "$live" -le 256 ]; then
    result cove "agent-fork-bomb(user)" ok "$live processes under pids.max 256"
  else
    result cove "agent-fork-bomb(user)" fail "${live:-no count}: $(tail -n3 <<<"$out")"
  fi
  # nothing of the runs left: the delegated scopes go with their processes
  left=$(find "/sys/fs/cgroup/user.slice/user-$(id -u).slice/user@$(id -u).service" -maxdepth 4 -type d \
    -path '*/cove-deleg-*.scope/cove-*' 2>/dev/null)
  expect cove "agent-cgroups-gone(user)" "" "$left"
}
SCTL=()
if [ $USERPART = 1 ]; then
  # rootless podman, its defaults (systemd cgroup manager through the
  # user's systemd, its D-Bus at $XDG_RUNTIME_DIR/bus)
  echo "# user $(id -un): $(awk -F'::' '/^0::/ {print $2}' /proc/self/cgroup), XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-unset}"
  echo "# delegated to user@$(id -u).service: $(cat "/sys/fs/cgroup/user.slice/user-$(id -u).slice/user@$(id -u).service/cgroup.controllers" 2>&1)"
  SCTL=(--user)
  import_image "${3:?tarball}"
  for rt in crun cove; do
    podman_cases "$rt"
  done
  agent_cases
  summary "rootless podman, user $(id -un) in a login session"
  podman ps -aq | xargs -r podman rm -f >/dev/null 2>&1
  rm -rf "$T"
  [ $FAILS = 0 ] || { echo "$FAILS failed (user)"; exit 1; }
  exit 0
fi

# ------------------------------------------------------------ podman, root
tar -C "$ROOTFS" -cf "$T/rootfs.tar" . || { echo "FAIL: tar $ROOTFS"; exit 1; }
chmod 0644 "$T/rootfs.tar"
import_image "$T/rootfs.tar"
for rt in crun cove; do
  podman_cases "$rt"
done

# ---------------------------------------- a bundle with a systemd cgroupsPath
status_of() { "$@" 2>/dev/null | jq -r .status; }
frozen() { awk '$1 == "frozen" {print $2}' "/sys/fs/cgroup$1/cgroup.events" 2>/dev/null; }
# pause/resume, update, ps, events --stats on a running container in a
# systemd scope, checked from the host side
scope_ops() { # RT ID PID CGROUP UNIT RUNTIME...
  local rt=$1 id=$2 pid=$3 cg=$4 unit=$5 out usage mm
  shift 5
  out=$("$@" pause "$id" 2>&1)
  if [ "$(status_of "$@" state "$id")" = paused ] && [ "$(frozen "$cg")" = 1 ]; then
    result "$rt" "scope-pause" ok
  else
    result "$rt" "scope-pause" fail "$out; state $(status_of "$@" state "$id"), frozen $(frozen "$cg")"
  fi
  out=$("$@" resume "$id" 2>&1)
  if [ "$(status_of "$@" state "$id")" = running ] && [ "$(frozen "$cg")" = 0 ]; then
    result "$rt" "scope-resume" ok
  else
    result "$rt" "scope-resume" fail "$out; state $(status_of "$@" state "$id"), frozen $(frozen "$cg")"
  fi
  # lower than the scope's MemoryMax, so the tightest limit shows it
  out=$("$@" update --memory 25165824 "$id" 2>&1)
  expect "$rt" "scope-update-memory" 25165824 "$(eff_memmax "$cg")${out:+ ($out)}"
  # the unit's property follows (runc sets both), so a daemon-reload, which
  # makes systemd write its properties again, keeps the updated limit
  systemctl daemon-reload
  mm=$(systemctl show -P MemoryMax "$unit" 2>&1)
  if [ "$rt" = cove ]; then
    expect "$rt" "scope-update-unit" "25165824 25165824" "$mm $(eff_memmax "$cg")"
  else
    RES[$rt,scope-update-unit]="($mm $(eff_memmax "$cg"))" # crun 1.8.1: information only
    [[ " ${CASES[*]} " == *" scope-update-unit "* ]] || CASES+=(scope-update-unit)
  fi
  out=$("$@" ps --format json "$id" 2>&1)
  if jq -e --argjson p "$pid" 'index($p) != null' <<<"$out" >/dev/null 2>&1; then
    result "$rt" "scope-ps" ok "$out"
  else
    result "$rt" "scope-ps" fail "init $pid not in: $out"
  fi
  if [ "$rt" = crun ]; then
    # crun has no events command
    RES[crun,scope-events-stats]=n/a
    return
  fi
  out=$("$@" events --stats "$id" 2>&1)
  usage=$(jq -r '.data.memory.usage.usage // empty' <<<"$out" 2>/dev/null)
  if [[ $usage =~ ^[0-9]+$ ]] && [ "$usage" -gt 0 ]; then
    result "$rt" "scope-events-stats" ok "memory usage $usage"
  else
    result "$rt" "scope-events-stats" fail "$out"
  fi
}
bundle_cases() { # RT
  local rt=$1 id=sdb-$1-$$ b=$T/bundle-$1 out pid cg unit=cove-sdb-$1-$$.scope
  mkdir -p "$b"
  "$COVE" spec --bundle "$b"
  # crun 1.8.1 refuses ociVersion 1.3.0 ("unknown version specified")
  jq --arg r "$ROOTFS" --arg cp "system.slice:cove:$id" \
    '.ociVersion = "1.0.2" | .root = {path: $r, readonly: true} | .process.terminal = false | .process.args = ["sleep", "1000"]
     | .linux.cgroupsPath = $cp | .linux.resources.memory = {limit: 33554432}' \
    "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
  local r=("$(rtpath "$rt")" --root "$T/state-$rt" --systemd-cgroup)
  # to a file: the container keeps its stdout open (a $(...) would wait)
  if ! "${r[@]}" run -d --bundle "$b" "$id" </dev/null >"$T/run-$rt.out" 2>&1; then
    result "$rt" "bundle-systemd-run" fail "$(cat "$T/run-$rt.out")"
    return
  fi
  pid=$("${r[@]}" state "$id" | jq -r .pid)
  cg=$(pid_cg "$pid")
  echo "# [$rt] bundle cgroup: $cg"
  if systemctl is-active -q "$unit" && [[ $cg == /system.slice/$unit* ]]; then
    result "$rt" "bundle-systemd-unit" ok "$unit active, init in $cg"
  else
    result "$rt" "bundle-systemd-unit" fail "$unit: $(systemctl is-active "$unit" 2>&1), init in $cg"
  fi
  expect "$rt" "bundle-systemd-memory" 33554432 "$(eff_memmax "$cg")"
  scope_ops "$rt" "$id" "$pid" "$cg" "$unit" "${r[@]}"
  "${r[@]}" kill "$id" KILL >/dev/null 2>&1
  for _ in $(seq 50); do
    [ "$("${r[@]}" state "$id" 2>/dev/null | jq -r .status)" = stopped ] && break
    sleep 0.1
  done
  out=$("${r[@]}" delete "$id" 2>&1)
  if [ $? = 0 ] && ! systemctl is-active -q "$unit" && [ ! -d "/sys/fs/cgroup$cg" ]; then
    result "$rt" "bundle-systemd-delete" ok "unit and cgroup gone"
  else
    result "$rt" "bundle-systemd-delete" fail "$out; unit $(systemctl is-active "$unit" 2>&1); cgroup $cg $([ -d "/sys/fs/cgroup$cg" ] && echo still there)"
  fi
}
for rt in crun cove; do
  bundle_cases "$rt"
done

# ------------------------- containerd, SystemdCgroup = true, the runc shim
# ctr's --runc-binary and --runc-systemd-cgroup are the runc shim's
# BinaryName and SystemdCgroup options; --cgroup is the systemd path
# containerd's CRI plugin would pass ("slice:prefix:name").
containerd_cases() { # RT
  local rt=$1 id=ctrd-$1-$$ out pid cg unit
  local c=(ctr -n cove-test) o=(--runc-binary "$(rtpath "$rt")" --runc-systemd-cgroup --rootfs --read-only)
  unit=ctr-$id.scope
  out=$("${c[@]}" run --rm "${o[@]}" --cgroup "system.slice:ctr:$id-x" "$CTR_ROOTFS" "$id-x" /bin/sh -c 'exit 7' </dev/null 2>&1)
  expect "$rt" "containerd-exit-code" 7 "$?${out:+ ($out)}"
  if ! out=$("${c[@]}" run -d "${o[@]}" --cgroup "system.slice:ctr:$id" --memory-limit 67108864 "$CTR_ROOTFS" "$id" \
      /bin/sleep 1000 </dev/null 2>&1); then
    result "$rt" "containerd-run-d" fail "$out"
    "${c[@]}" container rm "$id" >/dev/null 2>&1
    return
  fi
  pid=$("${c[@]}" task ls | awk -v id="$id" '$1 == id {print $2}')
  cg=$(pid_cg "$pid")
  echo "# [$rt] containerd task cgroup: $cg"
  if systemctl is-active -q "$unit" && [[ $cg == /system.slice/$unit* ]]; then
    result "$rt" "containerd-systemd-unit" ok "$unit"
  else
    result "$rt" "containerd-systemd-unit" fail "$unit: $(systemctl is-active "$unit" 2>&1), task $pid in '$cg'"
  fi
  expect "$rt" "containerd-memory-host" 67108864 "$(eff_memmax "$cg")"
  out=$("${c[@]}" task exec --exec-id e1 "$id" /bin/sh -c 'echo in-$((6*7))' </dev/null 2>&1)
  expect "$rt" "containerd-exec" in-42 "$out"
  "${c[@]}" task kill -s KILL "$id" >/dev/null 2>&1
  for _ in $(seq 100); do
    [ "$("${c[@]}" task ls | awk -v id="$id" '$1 == id {print $3}')" = STOPPED ] && break
    sleep 0.1
  done
  local rc=0
  out=$("${c[@]}" task rm "$id" 2>&1 && "${c[@]}" container rm "$id" 2>&1) || rc=1
  if [ $rc = 0 ] && ! systemctl is-active -q "$unit" && [ ! -d "/sys/fs/cgroup$cg" ]; then
    result "$rt" "containerd-delete" ok "unit and cgroup gone"
  else
    result "$rt" "containerd-delete" fail "$out; unit $(systemctl is-active "$unit" 2>&1); cgroup $cg $([ -d "/sys/fs/cgroup$cg" ] && echo still there)"
  fi
}
# a copy on the guest's disk, as containerd's snapshots are
CTR_ROOTFS=$T/ctr-rootfs
mkdir -p "$CTR_ROOTFS" && tar -C "$CTR_ROOTFS" -xf "$T/rootfs.tar"
if systemctl start containerd; then
  for rt in crun cove; do
    containerd_cases "$rt"
  done
  systemctl stop containerd
else
  result crun containerd-start fail "systemctl start containerd"
  result cove containerd-start fail "systemctl start containerd"
fi

# -------------------------------------- the logged-in user (linger, su -l)
summary "root"
user=${COVE_VM_USER:-covetest}
for _ in $(seq 60); do
  systemctl is-active -q "user@$(id -u "$user").service" && break
  sleep 1
done
echo "# ---- as $user (su -l: a logind session; user@$(id -u "$user").service: $(systemctl is-active "user@$(id -u "$user").service"))"
# Rootless podman's default network opens /dev/net/tun (slirp4netns); on a
# full Debian udev makes it 0666, the guest has no udev
modprobe tun 2>/dev/null
chmod 0666 /dev/net/tun
here=$(cd "$(dirname "$0")" && pwd)
su -l "$user" -c "$(printf '%q ' bash "$here/$(basename "$0")" --user "$COVE" "$ROOTFS" "$T/rootfs.tar")" </dev/null ||
  FAILS=$((FAILS + 1))

# ------------------------------------------------- start+exit ratio (no test)
bash "$here/systemd_bench.sh" "$COVE" "$ROOTFS" 8 || echo "# bench failed (not a test failure)"
podman ps -aq | xargs -r podman rm -f >/dev/null 2>&1
rm -rf "$T"
[ $FAILS = 0 ] || { echo "$FAILS failed"; exit 1; }
echo "all passed"
