#!/usr/bin/env bash
# Build (once, cached) the Debian 12 disk image of the systemd test guest
# and print its path. See tests/vm/README.md, "The systemd guest".
#
#   systemd-image.sh [--cache DIR] [--force]
#
# mmdebstrap builds the root from the machine's own apt sources
# (/etc/apt/sources.list and /etc/apt/sources.list.d/*.sources|*.list),
# tests/vm/systemd-image-setup.sh configures it (users, linger, the test
# unit), and mkfs.ext4 -d packs it into a raw ext4 image. The image is
# keyed by a hash of this script, the setup script and the sources: a new
# package list means a new image, older ones are removed.
#
# Cache: --cache, else $COVE_VM_IMAGE_CACHE, else /var/cache/cove-vm when
# writable, else ${XDG_CACHE_HOME:-~/.cache}/cove-vm.
# Exit status: 0 (path on stdout); 77 when the image cannot be built here
# (not root, no mmdebstrap/mkfs.ext4, apt sources unreachable), with the
# reason on stderr.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=systemd-image.sh
skip() { echo "$prog: SKIP: $*" >&2; exit 77; }

# The guest's packages. cove itself comes from the 9p share, so its
# run-time libraries are here; the tests' tools too (bash, jq, ...).
PACKAGES=(
  systemd systemd-sysv dbus dbus-user-session libpam-systemd
  libseccomp2 libcap2 libyajl2 libmnl0 libsystemd0
  bubblewrap
  podman crun runc conmon netavark aardvark-dns iptables
  slirp4netns uidmap fuse-overlayfs catatonit containers-storage
  kmod procps iproute2 util-linux jq python3-minimal less
  containerd
)

cache=${COVE_VM_IMAGE_CACHE:-}
force=0
while [ $# -gt 0 ]; do
  case $1 in
    --cache) cache=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$prog: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$cache" ]; then
  if mkdir -p /var/cache/cove-vm 2>/dev/null && [ -w /var/cache/cove-vm ]; then
    cache=/var/cache/cove-vm
  else
    cache=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/cove-vm
  fi
fi

[ "$(id -u)" = 0 ] || skip "building the image needs root (mmdebstrap, device nodes)"
command -v mmdebstrap >/dev/null || skip "mmdebstrap not found (apt-get install mmdebstrap)"
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 not found (apt-get install e2fsprogs)"

# The machine's own sources, enabled ones only (apt reads sources.list and
# sources.list.d/*.list|*.sources; anything else there is disabled).
sources=()
[ -s /etc/apt/sources.list ] && grep -q '^[[:space:]]*deb' /etc/apt/sources.list && sources+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  # only Debian's archive: other vendors' keys are not in the guest
  grep -qE 'debian(-security)?( |/|$)' "$f" || continue
  sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || skip "no Debian apt sources in /etc/apt"

key=$( { printf '%s\n' "${PACKAGES[@]}"; cat "$0" "$here/systemd-image-setup.sh";
         cat "${sources[@]}"; } | sha256sum | cut -c1-16)
img=$cache/debian12-systemd-$key.img
mkdir -p "$cache"
exec 8>"$cache/image.lock"
flock 8
if [ -f "$img" ] && [ $force = 0 ]; then
  echo "$img"
  exit 0
fi

t0=$(date +%s)
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
inc=$(IFS=,; echo "${PACKAGES[*]}")
echo "$prog: building $img (mmdebstrap bookworm, ${#PACKAGES[@]} packages)" >&2
if ! mmdebstrap --quiet --variant=minbase --include="$inc" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --customize-hook="$here/systemd-image-setup.sh \"\$1\"" \
    bookworm "$work/root" "${sources[@]}" >"$work/log" 2>&1; then
  tail -n 30 "$work/log" >&2
  skip "mmdebstrap failed (apt sources unreachable?); log above"
fi
t1=$(date +%s)
# ext4, sized to the content plus room for podman's storage and the tests
size=$(du -sm "$work/root" | cut -f1)
size=$(( size + 1536 ))
mkfs.ext4 -q -F -L cove-root -d "$work/root" "$work/img" "${size}M" >&2
mv "$work/img" "$img"
for old in "$cache"/debian12-systemd-*.img; do [ "$old" = "$img" ] || rm -f "$old"; done
t2=$(date +%s)
echo "$prog: built in $((t2 - t0)) s (mmdebstrap $((t1 - t0)) s, mkfs $((t2 - t1)) s), $(du -sh "$img" | cut -f1) used of ${size} MiB" >&2
echo "$img"
