# shellcheck shell=bash
# Helpers for tests/security, sourced after tests/lib/common.sh:
#   . "$(dirname "$0")/../lib/common.sh"; . "$(dirname "$0")/lib-security.sh"
# Environment in: COVE_SEC_ROOTFS (busybox rootfs + probes in /bin),
# COVE_SEC_PROGS (the probes, for building a private rootfs).

: "${COVE_SEC_ROOTFS:?COVE_SEC_ROOTFS must point at the security rootfs (fixture secrootfs)}"
: "${COVE_SEC_PROGS:?COVE_SEC_PROGS must point at the built probes}"
SECROOTFS=$COVE_SEC_ROOTFS
[ -x "$SECROOTFS/bin/syscall_probe" ] || die "security rootfs $SECROOTFS lacks its probes"

# secbundle DIR [rootfs]: mkbundle with root.path = the security rootfs
# (or the given one).
secbundle() {
  mkbundle "$1"
  cfg "$1" --arg r "${2:-$SECROOTFS}" '.root.path = $r'
}

# private_rootfs DIR: a writable copy of the security rootfs, owned by the
# caller (so by container root in rootless mode).
private_rootfs() {
  # (rootless: /root of the fixture is 0700 root, the copy skips it)
  cp -a "$SECROOTFS" "$1" 2>/dev/null
  [ -x "$1/bin/busybox" ] && [ -x "$1/bin/syscall_probe" ] || die "copy rootfs to $1 failed"
  mkdir -p "$1/root"
  chmod 0755 "$1"
}

# capline KEY: the value of "KEY:" in $OUT (a /proc/PID/status dump).
capline() { awk -v k="$1:" '$1 == k { print $2 }' <<<"$OUT"; }

# sha FILE
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }

# host_mounts: the host's mount table, mount points only, sorted.
# Mounts other programs make under /tmp and /run while we run (podman's or
# containerd's own tests in parallel) are left out; the escape targets these
# tests plant (their own $T, /tmp/host-target-*, /tmp/b) are kept.
host_mounts() {
  awk '{print $5}' /proc/self/mountinfo |
    awk -v t="${T:-/nonexistent}" '!/^\/(tmp|run)\// || index($0, t) == 1 || /^\/tmp\/(host-target|b$|b\/)/' | sort
}
