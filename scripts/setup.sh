#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine (as root) to build and test cove.
# Idempotent: safe to run again; only installs what is missing.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: must run as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# Build dependencies.
BUILD_PKGS=(
  build-essential cmake pkg-config
  libseccomp-dev libcap-dev libyajl-dev libmnl-dev
  libssl-dev # the agent's credential proxy (TLS, run CA)
  # the systemd cgroup manager (CMake option COVE_SYSTEMD)
  libsystemd-dev
  clang libclang-rt-14-dev
)

# Test dependencies.
TEST_PKGS=(
  busybox-static runc bubblewrap hyperfine uidmap
  iproute2 util-linux procps tmux python3 python3-jsonschema jq strace
)

# ---- EXTRA_PKGS: extend here (podman, containerd, qemu, ... ) ----
EXTRA_PKGS=(
  # tests/integration: podman 4.3 (pulls conmon and containers-common) and
  # containerd 1.6 (ships ctr and containerd-shim-runc-v2). podman's
  # default network on Debian 12 is CNI (netavark is not installed, so
  # podman 4.3 picks CNI): the bridge/host-local/portmap/firewall/tuning
  # plugins and iptables for its NAT rules; rootless, slirp4netns.
  podman containerd containernetworking-plugins iptables slirp4netns
  # tests/integration/cri.sh: a CRI client generated at test time from the
  # CRI proto (grpc_tools.protoc), talking gRPC to containerd's CRI plugin
  python3-grpcio python3-grpc-tools
  # tests/vm (ctest -L vm): pure cgroup v2 guest under qemu
  qemu-system-x86 linux-image-amd64 cpio xz-utils
  # tests/vm systemd guest (ctest -L systemd): its image
  mmdebstrap e2fsprogs
)
# ------------------------------------------------------------------

ALL_PKGS=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${EXTRA_PKGS[@]}")

missing=()
for p in "${ALL_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Unprivileged user (with /etc/subuid and /etc/subgid ranges) for the
# rootless tests.
"$(dirname "$0")/../tests/lib/setup-user.sh" >/dev/null

echo "setup.sh: ok"
