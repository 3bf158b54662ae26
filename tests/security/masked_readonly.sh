#!/usr/bin/env bash
# linux.maskedPaths and linux.readonlyPaths from inside the container.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

B=$T/bundle
secbundle "$B"
cfg "$B" '.mounts += [{destination: "/mnt/rw", type: "tmpfs", source: "tmpfs", options: ["size=1m"]}]'

# --- masked file, masked dir, missing path ------------------------------------------
# /proc/keys is a proc file present on every kernel with keys (it is in the
# default maskedPaths); /etc and /mnt/tmpfs are directories with content.
cfg "$B" '.linux.maskedPaths = ["/proc/keys", "/etc", "/nonexistent/deeper", "/mnt/tmpfs"]
  | .mounts += [{destination: "/mnt/tmpfs", type: "tmpfs", source: "tmpfs", options: ["size=1m"]}]
  | .mounts |= (.[0:-1] | map(select(.destination != "/mnt/tmpfs"))) + [.[-1]]'
run_in "$B" sh -c '
  printf "keys=%s\n" "$(wc -c </proc/keys)"
  printf "etc=[%s]\n" "$(ls -A /etc 2>/dev/null)"
  cat /etc/passwd >/dev/null 2>&1 && echo passwd-readable || echo passwd-unreadable
  printf "tmpfs=[%s]\n" "$(ls -A /mnt/tmpfs 2>/dev/null)"
  echo x >/mnt/tmpfs/f 2>/dev/null && echo tmpfs-write-ok || echo tmpfs-write-failed
  echo secret >/proc/keys 2>/dev/null; printf "keys-after-write=%s\n" "$(wc -c </proc/keys)"
  ls -d /etc/. >/dev/null 2>&1; ls -A /etc >/dev/null 2>&1 && echo etc-list-ok || echo etc-list-error
  ls /nonexistent 2>/dev/null && echo nonexistent-created || echo nonexistent-absent'
assert_eq 0 "$RC" "masked paths: exit status (stderr: $ERR)"
assert_contains "$OUT" "keys=0" "masked file /proc/keys reads empty"
assert_contains "$OUT" "etc=[]" "masked dir /etc shows no entries"
assert_contains "$OUT" "passwd-unreadable" "a file under a masked dir"
assert_contains "$OUT" "tmpfs=[]" "masked dir /mnt/tmpfs shows no entries"
assert_contains "$OUT" "tmpfs-write-failed" "write into a masked dir"
assert_contains "$OUT" "keys-after-write=0" "a masked file still reads empty after a write (it is /dev/null)"
assert_contains "$OUT" "nonexistent-absent" "a missing masked path is not created"
# runc masks directories with a plain read-only tmpfs, so a masked dir lists
# as empty rather than failing with EACCES for a root without
# CAP_DAC_OVERRIDE (`ls /proc/acpi` in docker prints nothing, no error)
assert_contains "$OUT" "etc-list-ok" "listing a masked dir succeeds (empty) with the default capabilities"
# a masked file in a dir that is not masked: reads empty
cfg "$B" '.linux.maskedPaths = ["/etc/hostname"]'
run_in "$B" sh -c 'printf "[%s]" "$(cat /etc/hostname)"; cat /etc/group | head -1'
assert_eq 0 "$RC" "masked /etc/hostname: exit status (stderr: $ERR)"
assert_eq "[]root:x:0:" "$(tr -d '\n' <<<"$OUT")" "masked /etc/hostname reads empty, /etc/group is intact"
# the masking does not show on the host
assert_eq cove-rootfs "$(cat "$SECROOTFS/etc/hostname")" "rootfs /etc/hostname on the host"

# --- readonly paths ------------------------------------------------------------------------
cfg "$B" '.mounts += [{destination: "/mnt/tmpfs", type: "tmpfs", source: "tmpfs", options: ["size=1m"]}]'
cfg "$B" '.linux.maskedPaths = [] | .linux.readonlyPaths = ["/mnt/rw", "/nonexistent", "/proc/sys"]'
run_in "$B" sh -c 'touch /mnt/rw/x 2>&1; echo rc=$?; touch /mnt/tmpfs/y && echo tmpfs-ok;
  echo 1 >/proc/sys/kernel/ns_last_pid 2>&1; echo rc2=$?; grep " /mnt/rw " /proc/self/mountinfo'
assert_eq 0 "$RC" "readonly paths: exit status (stderr: $ERR)"
assert_contains "$OUT" "Read-only file system" "touch in a readonly path fails with EROFS"
assert_contains "$OUT" "rc=1" "touch in a readonly path fails"
assert_contains "$OUT" "tmpfs-ok" "a path not listed stays writable"
assert_match "$OUT" 'rc2=[1-9]' "write to readonly /proc/sys fails"
assert_match "$(grep ' /mnt/rw ' <<<"$OUT")" ' ro,' "mountinfo shows /mnt/rw ro"
