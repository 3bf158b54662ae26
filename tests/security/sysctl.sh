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
