#!/usr/bin/env bash
# GHSA-pxhw-h44j-8pfx (bubblewrap): the directories created for a mount
# destination whose parent is a symlink to outside the rootfs are created
# inside the rootfs (clamped) or not at all, never on the host.
# cove resolves the destination's parents inside the rootfs and does not
# create them through a symlink: each mount here is refused with an error
# naming it, and no directory appears, outside or inside the rootfs.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

R=$T/rootfs
private_rootfs "$R"
OUTSIDE=$T/outside
mkdir -p "$OUTSIDE"
ln -s "$OUTSIDE" "$R/mnt/link"          # absolute
ln -s "../../..$OUTSIDE" "$R/mnt/rlink"  # relative
ln -s /nonexistent-cove-$$ "$R/mnt/dangling"
watch_path "/nonexistent-cove-$$"
mounts0=$(host_mounts)
B=$T/bundle
secbundle "$B" "$R"
cfg "$B" '.root.readonly = false'
for dest in /mnt/link/x/y /mnt/rlink/x/y /mnt/dangling/x /mnt/link/../link/z; do
  cfg "$B" --arg d "$dest" '.mounts += [{destination: $d, type: "tmpfs", source: "tmpfs", options: ["size=1m"]}]'
  run_in "$B" sh -c "grep -c ' ${dest%/*}' /proc/self/mountinfo >/dev/null; ls -d $dest"
  log "$dest: rc=$RC err=$ERR"
  assert_ne 0 "$RC" "$dest: mount through a symlinked parent must be refused"
  link=${dest#/mnt/}; link=/mnt/${link%%/*}
  assert_contains "$ERR" "($dest): resolve $link inside the rootfs" "$dest: cove's error names the mount and the symlink"
  assert_eq "" "$(ls -A "$OUTSIDE")" "outside dir after a mount at $dest"
  assert_eq "$mounts0" "$(host_mounts)" "host mount table after $dest"
  cfg "$B" '.mounts |= .[0:-1]'
done
# refused, not clamped: nothing was created inside the rootfs copy either
assert_eq "" "$(ls -d "$R${OUTSIDE%/*}" "$R/nonexistent-cove-$$" 2>/dev/null)" "directories created inside the rootfs for refused mounts"
