#!/usr/bin/env bash
# Build a minimal busybox-static root filesystem at DIR (idempotent: skipped
# when DIR/.cove-rootfs-stamp is newer than busybox and this script).
#   mkrootfs.sh DIR
set -euo pipefail
dir=${1:?usage: mkrootfs.sh DIR}
bb=$(command -v busybox || true)
[ -n "$bb" ] || { echo "mkrootfs: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
if ! file_out=$(LC_ALL=C readelf -d "$bb" 2>&1) || grep -q NEEDED <<<"$file_out"; then
  echo "mkrootfs: $bb is not static (install busybox-static)" >&2; exit 1
fi
stamp=$dir/.cove-rootfs-stamp
if [ -f "$stamp" ] && [ "$stamp" -nt "$bb" ] && [ "$stamp" -nt "$0" ]; then
  echo "mkrootfs: $dir up to date"
  exit 0
fi

umask 022
tmp=$dir.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
mkdir -p bin sbin usr/bin usr/sbin proc sys dev tmp etc root home run var mnt
# mount points for the tests (the shared rootfs is read-only: the runtime
# cannot create them)
mkdir -p mnt/ro mnt/rw mnt/a mnt/b mnt/tmpfs mnt/at1 mnt/at2 mnt/at3
: > mnt/file
chmod 1777 tmp
chmod 0700 root
cp "$bb" bin/busybox
chmod 0755 bin/busybox
# Every applet busybox knows about, as relative symlinks in bin/.
for applet in $(bin/busybox --list); do
  [ "$applet" = busybox ] && continue
  ln -sf busybox "bin/$applet"
done
# The ones the tests rely on, explicitly (fail loudly if missing).
for applet in sh ls cat echo id hostname mount grep sleep true false env pwd \
  readlink stat wc head tail tr ps kill touch mkdir rm ln test [ printf sed \
  awk cut nproc uname seq tty df ifconfig umount dd; do
  [ -e "bin/$applet" ] || { echo "mkrootfs: busybox lacks applet $applet" >&2; exit 1; }
done
ln -s ../bin/busybox usr/bin/busybox
cat > etc/passwd <<'PW'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > etc/group <<'GR'
root:x:0:
user:x:1000:
extra:x:1001:user
nogroup:x:65534:
GR
echo cove-rootfs > etc/hostname
: > etc/hosts
: > etc/resolv.conf
mkdir -p home/user
chown 1000:1000 home/user 2>/dev/null || true
date -u +%FT%TZ > .cove-rootfs-stamp
cd /
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
chmod 0755 "$dir"
# The rootless tests (another user) must reach it: every parent o+x.
p=$(dirname "$(readlink -f "$dir")")
while [ "$p" != / ]; do
  chmod o+x "$p" 2>/dev/null || true
  p=$(dirname "$p")
done
echo "mkrootfs: built $dir"
