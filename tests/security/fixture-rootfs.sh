#!/usr/bin/env bash
# fixture-rootfs.sh SRC DST PROGDIR: DST = a copy of the shared busybox
# rootfs SRC with every static probe of PROGDIR in DST/bin (rebuilt every
# time: it is small).
set -euo pipefail
src=${1:?usage: fixture-rootfs.sh SRC DST PROGDIR}
dst=${2:?}
progs=${3:?}
[ -x "$src/bin/busybox" ] || { echo "fixture-rootfs: $src is not a busybox rootfs" >&2; exit 1; }
n=0
for p in "$progs"/*; do [ -x "$p" ] && n=$((n + 1)); done
[ "$n" -gt 0 ] || { echo "fixture-rootfs: no probes in $progs (build the security_progs target)" >&2; exit 1; }
umask 022
tmp=$dst.tmp.$$
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
cp -a "$src" "$tmp"
for p in "$progs"/*; do
  [ -x "$p" ] || continue
  install -m 0755 "$p" "$tmp/bin/$(basename "$p")"
done
rm -rf "$dst"
mv "$tmp" "$dst"
trap - EXIT
chmod 0755 "$dst"
p=$(dirname "$(readlink -f "$dst")")
while [ "$p" != / ]; do
  chmod o+x "$p" 2>/dev/null || true
  p=$(dirname "$p")
done
echo "fixture-rootfs: built $dst with $n probes"
