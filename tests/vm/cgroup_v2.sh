#!/usr/bin/env bash
# Inside the test VM (pure cgroup v2), as root: run tests/vm/cgroup_checks.sh
# as root and as the user with a delegated cgroup subtree (vm-as-user).
#   cgroup_v2.sh COVE_BINARY ROOTFS
set -uo pipefail
if [ "${COVE_VM:-}" != 1 ] || [ "$(id -u)" != 0 ]; then
  echo "cgroup_v2.sh: runs inside the VM: tests/vm/run-in-vm.sh -- $0 COVE ROOTFS"
  exit 77
fi
export COVE=${1:?cove binary} ROOTFS=${2:?rootfs}
here=$(cd "$(dirname "$0")" && pwd)
rc=0
echo "=== root"
MODE=root bash "$here/cgroup_checks.sh" || rc=1
echo "=== delegated user $(id -un "$COVE_VM_UID" 2>/dev/null || echo "$COVE_VM_UID")"
cd /tmp || exit 1
vm-as-user env MODE=rootless TMPDIR=/tmp bash "$here/cgroup_checks.sh" || rc=1
exit $rc
