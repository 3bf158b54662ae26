#!/usr/bin/env bash
# The container gets the namespaces its config lists (and only those);
# its shell is pid 1; user namespace id maps.
. "$(dirname "$0")/../lib/common.sh"

B=$T/bundle
mkbundle "$B"

nsfile() { # config type -> /proc/self/ns name
  case $1 in
    pid) echo pid ;; network) echo net ;; mount) echo mnt ;; ipc) echo ipc ;;
    uts) echo uts ;; user) echo user ;; cgroup) echo cgroup ;; time) echo time ;;
  esac
}
ALLNS=(pid net mnt uts ipc cgroup user)
probe=''
for n in "${ALLNS[@]}"; do probe+="echo $n \$(readlink /proc/self/ns/$n); "; done
probe+='echo self $$'

check_ns() { # label: runs the probe in $B and compares with the config
  local label=$1 n host inside listed
  run_in "$B" sh -c "$probe"
  assert_eq 0 "$RC" "$label: exit status (stderr: $ERR)"
  assert_eq "self 1" "$(grep '^self ' <<<"$OUT")" "$label: pid of the container's shell"
  listed=" $(jq -r '[.linux.namespaces[] | select(has("path") | not) | .type] | join(" ")' "$B/config.json") "
  for t in pid network mount ipc uts cgroup user; do
    n=$(nsfile "$t")
    host=$(readlink "/proc/self/ns/$n")
    inside=$(awk -v n="$n" '$1 == n { print $2 }' <<<"$OUT")
    if [[ "$listed" == *" $t "* ]]; then
      assert_ne "$host" "$inside" "$label: $t namespace (listed in config) must differ from the host's"
      assert_match "$inside" "^$n:\[[0-9]+\]$" "$label: $t namespace link"
    else
      assert_eq "$host" "$inside" "$label: $t namespace (not in config) must be the host's"
    fi
  done
}

log "namespaces in the default config: $(jq -c '[.linux.namespaces[].type]' "$B/config.json")"
check_ns default

# every namespace type we can create in this mode
if [ "$MODE" = rootless ]; then
  cfg "$B" '.linux.namespaces = [{type:"pid"},{type:"network"},{type:"ipc"},{type:"uts"},{type:"mount"},{type:"cgroup"},{type:"user"}]'
else
  cfg "$B" '.linux.namespaces = [{type:"pid"},{type:"network"},{type:"ipc"},{type:"uts"},{type:"mount"},{type:"cgroup"}]'
fi
check_ns all

# a minimal set: mount only (+ user when rootless); pid stays the host's
# in root mode (in rootless a new proc needs a pid namespace of our own)
if [ "$MODE" = root ]; then
  cfg "$B" '.linux.namespaces = [{type:"mount"}] | del(.hostname, .domainname)'
  run_in "$B" sh -c "$probe"
  assert_eq 0 "$RC" "mount-only: exit status (stderr: $ERR)"
  assert_eq "$(readlink /proc/self/ns/net)" "$(awk '$1 == "net" { print $2 }' <<<"$OUT")" "mount-only: net ns is the host's"
  assert_ne "self 1" "$(grep '^self ' <<<"$OUT")" "mount-only: shell is not pid 1 without a pid namespace"
fi

# id maps
mkbundle "$B"
run_in "$B" sh -c 'cat /proc/self/uid_map; echo --; cat /proc/self/gid_map'
assert_eq 0 "$RC" "id maps: exit status (stderr: $ERR)"
uidmap=$(sed -n '1,/^--$/p' <<<"$OUT" | grep -v '^--$' | awk '{$1=$1; print}')
gidmap=$(sed -n '/^--$/,$p' <<<"$OUT" | grep -v '^--$' | awk '{$1=$1; print}')
if [ "$MODE" = rootless ]; then
  assert_eq "0 $UID_NOW 1" "$uidmap" "uid_map in rootless container"
  assert_eq "0 $GID_NOW 1" "$gidmap" "gid_map in rootless container"
else
  assert_eq "0 0 4294967295" "$uidmap" "uid_map without a user namespace"
  assert_eq "0 0 4294967295" "$gidmap" "gid_map without a user namespace"
fi
run_in "$B" id -u
assert_eq 0 "$OUT" "uid inside the container"

# joining the namespaces of another container by path
set_args "$B" "${LONG[@]}"
cfg "$B" '.linux.namespaces |= (map(select(.type != "network")) + [{type:"network"}])'
newid; A=$ID
assert_ok cv run --detach --bundle "$B" "$A"
assert_status "$A" running
APID=$PID
B2=$T/bundle2
mkbundle "$B2"
if [ "$MODE" = rootless ]; then
  # join A's user and network namespaces (no mappings: they come with the joined user ns; runc 1.1 would want them)
  cfg "$B2" --arg p "/proc/$APID/ns" '.linux.namespaces |= (map(select(.type != "network" and .type != "user")) + [{type:"user", path:($p + "/user")}, {type:"network", path:($p + "/net")}]) | del(.linux.uidMappings, .linux.gidMappings)'
else
  cfg "$B2" --arg p "/proc/$APID/ns" '.linux.namespaces |= (map(select(.type != "network")) + [{type:"network", path:($p + "/net")}])'
fi
run_in "$B2" readlink /proc/self/ns/net
assert_eq 0 "$RC" "join netns by path: exit status (stderr: $ERR)"
anet=$(readlink "/proc/$APID/ns/net" 2>/dev/null)
assert_match "$anet" '^net:' "net ns of container A (readable from the host)"
assert_eq "$anet" "$OUT" "net ns of a container that joined A's by path"
assert_ne "$(readlink /proc/self/ns/net)" "$OUT" "joined net ns is not the host's"
assert_ok cv kill "$A" KILL
wait_status "$A" stopped
assert_ok cv delete "$A"

# --- no "mount" namespace: the container shares the runtime's mount
# namespace (config-linux.md) and is only chrooted into its rootfs; the
# mount table is never changed. Its rootfs has no /proc of its own (none
# can be mounted), so what it shares is checked from outside, by pid.
N=$T/nomnt
mkbundle "$N"
cp -a "$ROOTFS" "$T/nomnt-root"
echo "nomnt-$TAG" >"$T/nomnt-root/marker"
cfg "$N" --arg r "$T/nomnt-root" '.root = {path: $r} | .mounts = [] | .linux.maskedPaths = []
  | .linux.readonlyPaths = [] | del(.linux.devices)
  | .linux.namespaces |= map(select(.type != "mount"))'
mi0=$(cat /proc/self/mountinfo)
set_args "$N" sh -c 'cat /marker; exec sleep '"$SLEEPN"
newid
assert_ok cv run --detach --bundle "$N" "$ID"
cstate "$ID"
assert_eq "$(readlink /proc/self/ns/mnt)" "$(readlink "/proc/$PID/ns/mnt")" "no mount ns: the container's mount ns is the host's"
assert_eq "$T/nomnt-root" "$(readlink "/proc/$PID/root")" "no mount ns: the container's root"
capture cv exec "$ID" cat /marker
assert_eq "nomnt-$TAG" "$OUT" "no mount ns: exec sees the rootfs as / (stderr: $ERR)"
capture cv exec "$ID" sh -c 'ls /proc | wc -l'
assert_eq 0 "$OUT" "no mount ns: exec'd process is chrooted (the rootfs's empty /proc, not the host's)"
assert_ok cv delete --force "$ID"
assert_eq "$mi0" "$(cat /proc/self/mountinfo)" "no mount ns: host mount table unchanged"
# configs that would need a mount in the shared namespace are refused by
# field, and leave nothing behind
for c in '.mounts = [{destination: "/tmp", type: "tmpfs", source: "tmpfs"}]@mounts' \
         '.linux.maskedPaths = ["/etc"]@linux.maskedPaths' \
         '.linux.readonlyPaths = ["/etc"]@linux.readonlyPaths' \
         '.root.readonly = true@root.readonly' \
         '.linux.devices = [{path: "/dev/fuse", type: "c", major: 10, minor: 229}]@linux.devices' \
         '.linux.rootfsPropagation = "private"@linux.rootfsPropagation' \
         '.process.terminal = true@process.terminal'; do
  cp "$N/config.json" "$T/nomnt.json"
  cfg "$N" "${c%@*}"
  newid
  capture cv create --bundle "$N" "$ID"
  assert_cove_error "${c#*@}: needs a \"mount\" namespace"
  assert_fail cv state "$ID"
  cp "$T/nomnt.json" "$N/config.json"
done
assert_eq "$mi0" "$(cat /proc/self/mountinfo)" "no mount ns: host mount table unchanged after the refusals"
