#!/usr/bin/env bash
# linux.sysctl: namespaced sysctls are set inside the container's
# namespaces (read back inside, host unchanged); a host-wide one is refused.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

B=$T/bundle
secbundle "$B"
host_shmmax=$(cat /proc/sys/kernel/shmmax)
host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
host_panic=$(cat /proc/sys/kernel/panic)
want_fwd=$(( 1 - host_fwd ))

cfg "$B" --arg f "$want_fwd" '.linux.sysctl = {"kernel.shmmax": "123456789", "net.ipv4.ip_forward": $f, "kernel.msgmax": "4321"}'
run_in "$B" cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax
assert_eq 0 "$RC" "sysctl: exit status (stderr: $ERR)"
assert_eq "123456789 $want_fwd 4321" "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')" "sysctls read back inside"
assert_eq "$host_shmmax" "$(cat /proc/sys/kernel/shmmax)" "host kernel.shmmax unchanged"
assert_eq "$host_fwd" "$(cat /proc/sys/net/ipv4/ip_forward)" "host net.ipv4.ip_forward unchanged"

# --- host-wide sysctl refused --------------------------------------------------------
for k in kernel.panic vm.swappiness fs.file-max; do
  cfg "$B" --arg k "$k" '.linux.sysctl = {($k): "7"}'
  newid
  capture cv run --bundle "$B" "$ID"
  assert_cove_error "linux.sysctl.$k"
  assert_contains "$ERR" "not namespaced" "error for $k"
done
assert_eq "$host_panic" "$(cat /proc/sys/kernel/panic)" "host kernel.panic unchanged"

# path tricks: they must not reach a host-wide sysctl
for k in "net.ipv4.../../kernel/panic" "net/../kernel/panic" "kernel.shm/../panic"; do
  cfg "$B" --arg k "$k" '.linux.sysctl = {($k): "7"}'
  newid
  capture cv run --bundle "$B" "$ID"
  assert_ne 0 "$RC" "sysctl '$k' must be refused (stdout: $OUT)"
done
assert_eq "$host_panic" "$(cat /proc/sys/kernel/panic)" "host kernel.panic unchanged after path tricks"

# --- namespaced sysctl without its namespace ---------------------------------------------
cfg "$B" '.linux.sysctl = {"net.ipv4.ip_forward": "1"} | .linux.namespaces |= map(select(.type != "network"))'
newid
capture cv run --bundle "$B" "$ID"
assert_cove_error 'linux.sysctl.net.ipv4.ip_forward'
assert_eq "$host_fwd" "$(cat /proc/sys/net/ipv4/ip_forward)" "host ip_forward unchanged"
cfg "$B" '.linux.sysctl = {"kernel.shmmax": "1"} | .linux.namespaces |= map(select(.type != "ipc"))'
newid
capture cv run --bundle "$B" "$ID"
assert_cove_error 'linux.sysctl.kernel.shmmax'
assert_eq "$host_shmmax" "$(cat /proc/sys/kernel/shmmax)" "host shmmax unchanged"

# --- a namespace joined by path ------------------------------------------------------------
# podman (CNI/netavark) creates the network namespace itself and passes it
# by path with net.* sysctls (net.ipv4.ping_group_range). runc's rule: that
# is refused only when the path is the runtime's own namespace (same
# dev/inode as /proc/self/ns/net), i.e. the host's.
B=$T/bundle-nspath # a fresh config: the cases above removed namespaces
secbundle "$B"
if [ "$MODE" = root ] && command -v ip >/dev/null 2>&1; then
  NETNS="cove-sysctl-$$"
  ip netns add "$NETNS" || die "ip netns add $NETNS"
  trap '_rc=$?; ip netns delete "$NETNS" 2>/dev/null; (exit $_rc); _finish' EXIT
  want=$(( 1 - $(ip netns exec "$NETNS" cat /proc/sys/net/ipv4/ip_forward) ))
  cfg "$B" --arg p "/run/netns/$NETNS" --arg f "$want" \
    '.linux.sysctl = {"net.ipv4.ip_forward": $f, "net.ipv4.ping_group_range": "0 0"}
     | .linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
  run_in "$B" sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/ping_group_range; readlink /proc/self/ns/net'
  assert_eq 0 "$RC" "net sysctl in a netns joined by path (stderr: $ERR)"
  assert_eq "$want 0	0 $(ip netns exec "$NETNS" readlink /proc/self/ns/net)" "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')" \
    "sysctls read back inside the joined netns"
  assert_eq "$want" "$(ip netns exec "$NETNS" cat /proc/sys/net/ipv4/ip_forward)" "the joined netns got the sysctl"
  assert_eq "$host_fwd" "$(cat /proc/sys/net/ipv4/ip_forward)" "host ip_forward unchanged (netns by path)"
fi

# The host's own namespace by path: refused, naming the key and the path,
# nothing started. /proc/self/ns/net is resolved by cove, so it is cove's
# own; as root also the same namespace under another name (a bind mount of
# this shell's, which cove shares; pid 1's is not open to root here).
hostpaths=(/proc/self/ns/net)
if [ "$MODE" = root ]; then
  : >"$T/hostnet"
  mount --bind "/proc/$$/ns/net" "$T/hostnet" && hostpaths+=("$T/hostnet")
fi
for p in "${hostpaths[@]}"; do
  cfg "$B" --arg p "$p" '.linux.sysctl = {"net.ipv4.ip_forward": "1"}
     | .linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
  newid
  capture cv run --bundle "$B" "$ID"
  assert_cove_error "linux.sysctl.net.ipv4.ip_forward"
  assert_contains "$ERR" "$p is the host's network namespace" "error for the host netns by path ($p)"
  capture cv state "$ID"
  assert_ne 0 "$RC" "no container left after the refusal ($p)"
done
[ "$MODE" = root ] && umount "$T/hostnet" 2>/dev/null
assert_eq "$host_fwd" "$(cat /proc/sys/net/ipv4/ip_forward)" "host ip_forward unchanged (host netns by path)"
for ns in ipc uts; do
  secbundle "$B"
  case $ns in ipc) k=kernel.shmmax v=1 ;; uts) k=kernel.domainname v=cove-test ;; esac
  cfg "$B" --arg p "/proc/self/ns/$ns" --arg t "$ns" --arg k "$k" --arg v "$v" '.linux.sysctl = {($k): $v}
     | .linux.namespaces |= map(if .type == $t then .path = $p else . end)'
  newid
  capture cv run --bundle "$B" "$ID"
  assert_cove_error "linux.sysctl.$k"
  assert_contains "$ERR" "is the host's $ns namespace" "error for the host $ns namespace by path"
done
assert_eq "$host_shmmax" "$(cat /proc/sys/kernel/shmmax)" "host shmmax unchanged (host ipc by path)"
