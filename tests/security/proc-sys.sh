#!/usr/bin/env bash
# /proc and /sys protections hold against the container process: masks
# cannot be unmounted or remounted (EPERM without CAP_SYS_ADMIN; with a
# namespaced CAP_SYS_ADMIN in rootless mode the locked mounts still hold),
# and host sysctls cannot be written.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

B=$T/bundle
secbundle "$B"
host_panic=$(cat /proc/sys/kernel/panic)
probe='umount /proc/keys 2>&1; echo um=$?; mount -o remount,rw /proc/sys 2>&1; echo rm=$?;
  echo 9 >/proc/sys/kernel/panic 2>&1; echo w=$?; wc -c </proc/keys'
run_in "$B" sh -c "$probe"
assert_match "$OUT" 'um=[1-9]' "umount of a mask with default capabilities"
assert_match "$OUT" 'rm=[1-9]' "remount rw of /proc/sys with default capabilities"
assert_match "$OUT" 'w=[1-9]' "write to /proc/sys/kernel/panic"
assert_eq "$host_panic" "$(cat /proc/sys/kernel/panic)" "host kernel.panic"
if [ "$MODE" = rootless ]; then
  cfg "$B" '.process.capabilities = {bounding: ["CAP_SYS_ADMIN"], effective: ["CAP_SYS_ADMIN"], permitted: ["CAP_SYS_ADMIN"]}'
  run_in "$B" sh -c "$probe; echo 9 >/proc/sys/vm/swappiness; echo sw=\$?"
  log "$OUT"
  assert_match "$OUT" 'w=[1-9]' "write to kernel.panic with namespaced CAP_SYS_ADMIN"
  assert_match "$OUT" 'sw=[1-9]' "write to vm.swappiness with namespaced CAP_SYS_ADMIN"
  assert_eq "$host_panic" "$(cat /proc/sys/kernel/panic)" "host kernel.panic"
  # masks made inside the container's own user namespace are not locked:
  # a container given CAP_SYS_ADMIN can unmount them (as with runc); only
  # the host must stay unaffected, which the checks above assert.
  log "umount/remount with namespaced CAP_SYS_ADMIN: $(grep -E '^(um|rm)=' <<<"$OUT" | tr '\n' ' ')"
fi
