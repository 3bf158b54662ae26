#!/usr/bin/env bash
# The standard mounts, read-only root, tmpfs, bind mounts (ro/rw), the
# default devices, masked and read-only paths.
. "$(dirname "$0")/../lib/common.sh"

B=$T/bundle
mkbundle "$B"

# --- the standard mounts (mount point → fstype from mountinfo)
run_in "$B" cat /proc/self/mountinfo
assert_eq 0 "$RC" "cat mountinfo: exit status (stderr: $ERR)"
MI=$OUT
fstype() { awk -v m="$1" '$5 == m { for (i = 7; $i != "-"; i++); t = $(i + 1) } END { print t }' <<<"$MI"; }
mopts() { awk -v m="$1" '$5 == m { o = $6 } END { print o }' <<<"$MI"; }
assert_eq proc "$(fstype /proc)" "fstype of /proc"
assert_eq tmpfs "$(fstype /dev)" "fstype of /dev"
assert_eq devpts "$(fstype /dev/pts)" "fstype of /dev/pts"
assert_eq tmpfs "$(fstype /dev/shm)" "fstype of /dev/shm"
assert_eq mqueue "$(fstype /dev/mqueue)" "fstype of /dev/mqueue"
assert_eq sysfs "$(fstype /sys)" "fstype of /sys (sysfs or a bind of it)"
assert_match "$(mopts /)" '(^|,)ro(,|$)' "mount options of / (root.readonly)"
# nothing of the host's mount table beyond what the config asks for
n=$(jq '.mounts | length' "$B/config.json")
total=$(grep -c . <<<"$MI")
# root + config mounts + masked/readonly path mounts, never the host's dozens
max=$((1 + n + $(jq '(.linux.maskedPaths // []) + (.linux.readonlyPaths // []) | length' "$B/config.json") + 20))
[ "$total" -le "$max" ] || fail "container has $total mounts, expected at most $max: $MI"
# no mount point is a host path (the root mount's source may be)
assert_eq "" "$(awk '$5 ~ /^\/(work|home|var|usr|etc|boot)(\/|$)/ { print $5 }' <<<"$MI")" "container mount points that are host paths"

# --- read-only root; tmpfs at /tmp with size and mode
cfg "$B" '.mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid","nodev","size=1m","mode=1777"]}]'
run_in "$B" sh -c 'touch /x'
assert_ne 0 "$RC" "touch /x on a read-only root"
assert_contains "$ERR" "Read-only file system" "stderr of touch /x"
[ -e "$ROOTFS/x" ] && fail "touch /x created $ROOTFS/x on the host"
run_in "$B" sh -c 'echo hello >/tmp/f && cat /tmp/f && stat -c %a /tmp && df -k /tmp | tail -1'
assert_eq 0 "$RC" "write to tmpfs /tmp: exit status (stderr: $ERR)"
assert_eq hello "$(sed -n 1p <<<"$OUT")" "content written to /tmp"
assert_eq 1777 "$(sed -n 2p <<<"$OUT")" "mode of /tmp (mode=1777)"
assert_eq 1024 "$(sed -n 3p <<<"$OUT" | awk '{print $2}')" "size of /tmp in KiB (size=1m)"
[ -e "$ROOTFS/tmp/f" ] && fail "write to container /tmp reached the host rootfs"

# --- bind mounts
H=$T/host-ro; mkdir -p "$H"; echo "ro-content-$TAG" >"$H/file"
W=$T/host-rw; mkdir -p "$W"
F=$T/host-file; echo "file-content-$TAG" >"$F"
chmod 0777 "$W"; chmod 0755 "$H"; chmod 0644 "$F" "$H/file"
cfg "$B" --arg h "$H" --arg w "$W" --arg f "$F" '.mounts += [
  {destination: "/mnt/ro", type: "bind", source: $h, options: ["rbind","ro"]},
  {destination: "/mnt/rw", type: "bind", source: $w, options: ["rbind","rw"]},
  {destination: "/mnt/file", type: "none", source: $f, options: ["bind","ro"]}]'
run_in "$B" cat /mnt/ro/file
assert_eq 0 "$RC" "read from ro bind: exit status (stderr: $ERR)"
assert_eq "ro-content-$TAG" "$OUT" "content of a ro bind-mounted file"
run_in "$B" touch /mnt/ro/new
assert_ne 0 "$RC" "touch in a ro bind mount"
assert_contains "$ERR" "Read-only file system" "stderr of touch in a ro bind mount"
[ -e "$H/new" ] && fail "touch in a ro bind mount created $H/new on the host"
run_in "$B" sh -c "echo rw-$TAG >/mnt/rw/new"
assert_eq 0 "$RC" "write to rw bind: exit status (stderr: $ERR)"
assert_eq "rw-$TAG" "$(cat "$W/new" 2>/dev/null)" "host sees the write through a rw bind mount"
run_in "$B" cat /mnt/file
assert_eq "file-content-$TAG" "$OUT" "content of a file bind mount (stderr: $ERR)"
run_in "$B" sh -c 'echo x >/mnt/file'
assert_ne 0 "$RC" "write to a ro file bind mount"
assert_eq "file-content-$TAG" "$(cat "$F")" "host file after a write to its ro bind mount"

# bind mount options show up in the container's mountinfo
run_in "$B" cat /proc/self/mountinfo
MI=$OUT
assert_match "$(mopts /mnt/ro)" '(^|,)ro(,|$)' "mount options of /mnt/ro"
assert_match "$(mopts /mnt/rw)" '(^|,)rw(,|$)' "mount options of /mnt/rw"
assert_eq tmpfs "$(fstype /tmp)" "fstype of /tmp"

# atime modes on binds: one field in mount_setattr(2), the last option
# wins (two modes at once, or "relatime" or-ed in, were EINVAL or no-ops)
cfg "$B" --arg h "$H" '.mounts += [
  {destination: "/mnt/at1", type: "bind", source: $h, options: ["bind","strictatime","noatime"]},
  {destination: "/mnt/at2", type: "bind", source: $h, options: ["rbind","rnoatime"]},
  {destination: "/mnt/at3", type: "bind", source: $h, options: ["bind","noatime","relatime"]}]'
run_in "$B" cat /proc/self/mountinfo
assert_eq 0 "$RC" "binds with atime modes (stderr: $ERR)"
MI=$OUT
if [ "$MODE" = root ]; then
  assert_match "$(mopts /mnt/at1)" '(^|,)noatime(,|$)' "strictatime then noatime: noatime"
  assert_match "$(mopts /mnt/at2)" '(^|,)noatime(,|$)' "rnoatime: noatime"
  assert_match "$(mopts /mnt/at3)" '(^|,)relatime(,|$)' "noatime then relatime: relatime"
else
  # rootless: the host mount's atime mode is locked in a user namespace
  # (the kernel refuses to change it); the bind is made, the mode kept
  host_atime=$(awk -v m="$(df --output=target "$H" | tail -1)" '$5 == m { o = $6 } END { print o }' /proc/self/mountinfo |
    grep -oE '(^|,)(noatime|relatime|strictatime)' | tr -d ,)
  assert_match "$(mopts /mnt/at1)" "(^|,)${host_atime:-relatime}(,|\$)" "rootless: the host's locked atime mode kept"
fi
cfg "$B" '.mounts |= map(select(.destination | startswith("/mnt/at") | not))'

# mounts made in the container never show on the host
grep -F "$T" /proc/self/mountinfo && fail "container mounts visible on the host"

# --- devices
run_in "$B" sh -c 'for d in null zero full random urandom tty; do test -c /dev/$d && echo "$d c $(stat -c %t:%T /dev/$d)" || echo "$d missing"; done
  for l in fd stdin stdout stderr ptmx; do test -e /dev/$l -o -L /dev/$l && echo "$l ok" || echo "$l missing"; done
  readlink /dev/fd'
assert_eq 0 "$RC" "device listing: exit status (stderr: $ERR)"
for d in "null c 1:3" "zero c 1:5" "full c 1:7" "random c 1:8" "urandom c 1:9" "tty c 5:0"; do
  assert_contains "$OUT" "$d" "default device"
done
for l in fd stdin stdout stderr ptmx; do assert_contains "$OUT" "$l ok" "/dev/$l"; done
assert_eq /proc/self/fd "$(tail -1 <<<"$OUT")" "/dev/fd symlink"

run_in "$B" sh -c 'echo x >/dev/null && echo null-ok; head -c 5 /dev/zero | wc -c; head -c 7 /dev/urandom | wc -c'
assert_eq 0 "$RC" "null/zero/urandom: exit status (stderr: $ERR)"
assert_eq "null-ok 5 7" "$(tr -s ' \n' ' ' <<<"$OUT" | sed 's/ $//')" "writing /dev/null, reading /dev/zero and /dev/urandom"
run_in "$B" sh -c 'echo x >/dev/full'
assert_ne 0 "$RC" "write to /dev/full"
assert_contains "$ERR" "No space left on device" "stderr of a write to /dev/full"

# devices beyond the defaults must not be reachable (root: cgroup/mknod;
# both: /dev is a fresh tmpfs)
run_in "$B" sh -c 'ls /dev'
for d in sda vda mem kmsg; do
  assert_not_contains " $(tr '\n' ' ' <<<"$OUT")" " $d " "/dev listing"
done

# --- maskedPaths / readonlyPaths from the config
cfg "$B" '.linux.maskedPaths = ["/proc/timer_list", "/sys/firmware", "/proc/nonexistent-cove"]
  | .linux.readonlyPaths = ["/proc/sys"]'
run_in "$B" sh -c 'stat -c %F /proc/timer_list; wc -c </proc/timer_list; ls -A /sys/firmware | wc -l; echo x >/proc/sys/kernel/domainname'
assert_ne 0 "$RC" "write into a readonlyPaths /proc/sys"
assert_contains "$ERR" "Read-only file system" "stderr of a write into /proc/sys"
assert_eq "character special file" "$(sed -n 1p <<<"$OUT")" "masked /proc/timer_list is /dev/null"
assert_eq 0 "$(sed -n 2p <<<"$OUT" | tr -d ' ')" "bytes read from masked /proc/timer_list"
assert_eq 0 "$(sed -n 3p <<<"$OUT" | tr -d ' ')" "entries in masked /sys/firmware"
