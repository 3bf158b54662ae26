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
#    the memory limit, and is gone after delete.
# 3. The logged-in user (lingering; `su -l`, so a real logind session):
#    rootless podman with its defaults, crun then cove.
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
