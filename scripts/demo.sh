#!/usr/bin/env bash
# The main job on a built-in default: build cove, assemble a busybox-static
# root filesystem, and run a demo container in it — as root and as an
# unprivileged user — printing what the container sees from inside.
#   scripts/demo.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022
build=${1:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
cove=$(realpath "$build/cove")

work=$(mktemp -d /tmp/cove-demo.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
tests/lib/mkrootfs.sh "$work/rootfs" >/dev/null

# What the agent inside tries; every line says what it saw.
probe='
echo "  pid inside:        $$ (a fresh pid namespace: I am init)"
echo "  hostname:          $(hostname)"
echo "  uid_map:           $(cat /proc/self/uid_map | tr -s " " | sed "s/^ //")"
echo "  user:              $(id)"
echo "  network:           $(ls /sys/class/net | tr "\n" " ")(only loopback)"
touch /etc/evil 2>/dev/null && echo "  rootfs:            WRITABLE" || echo "  rootfs:            read-only (touch /etc/evil refused)"
echo "  /proc/keys:        $(wc -c < /proc/keys) bytes (masked by /dev/null)"
echo "  NoNewPrivs:        $(grep NoNewPrivs /proc/self/status | tr -d "\t" | cut -d: -f2)"
echo "  CapEff:            $(grep CapEff /proc/self/status | cut -f2)"
fds=; for f in /proc/$$/fd/*; do [ -e "$f" ] && fds="$fds${f##*/} "; done; echo "  open fds:          $fds(stdio only: no host fd leaked)"
'

bundle() { # DIR [--rootless]
  mkdir -p "$1"
  (cd "$1" && "$cove" spec ${2:-})
  jq --arg r "$work/rootfs" --arg p "$probe" \
    '.root.path=$r | .process.terminal=false | .process.args=["sh","-c",$p]' \
    "$1/config.json" > "$1/c" && mv "$1/c" "$1/config.json"
  chmod -R a+rX "$1"
}

echo "== cove $("$cove" --version | head -1 | cut -d" " -f3): container as root"
bundle "$work/root"
"$cove" --root "$work/state-root" run --bundle "$work/root" demo-root

user=${COVE_DEMO_USER:-covetest}
id "$user" >/dev/null 2>&1 || useradd --create-home "$user"
echo
echo "== rootless: the same container as unprivileged user '$user' (uid $(id -u "$user"))"
# spec --rootless maps the caller: generate it as that user
mkdir -p "$work/rootless" "$work/state-rootless" && chown "$user" "$work/rootless" "$work/state-rootless"
setpriv --reuid="$user" --regid="$user" --init-groups sh -c "cd '$work/rootless' && '$cove' spec --rootless" 
jq --arg r "$work/rootfs" --arg p "$probe" \
  '.root.path=$r | .process.terminal=false | .process.args=["sh","-c",$p]' \
  "$work/rootless/config.json" > "$work/rootless/c"
mv "$work/rootless/c" "$work/rootless/config.json"
chmod -R a+rX "$work/rootless"
setpriv --reuid="$user" --regid="$user" --init-groups env -i PATH=/usr/bin:/bin \
  "$cove" --root "$work/state-rootless" run --bundle "$work/rootless" demo-rootless
echo
echo "Both containers ran in fresh namespaces and left nothing behind."
