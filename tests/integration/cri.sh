#!/usr/bin/env bash
# Kubernetes' path to cove, driven the way kubelet drives it: containerd
# 1.6's CRI plugin, the runc shim, runtime handlers `cove` (BinaryName =
# the built cove) and `runc` side by side in the same daemon, and a CRI
# client (tests/integration/cri/cri_cases.py, stubs generated here from
# the CRI proto with Debian's grpc tools) making kubelet's calls on each:
# RunPodSandbox/PodSandboxStatus, Create/Start/ContainerStatus, the CRI
# log file, ExecSync (exit codes, stdout/stderr apart, deadline), limits
# on the host and inside (/sys/fs/cgroup as a JVM reads it),
# UpdateContainerResources, ContainerStats, ListContainers, Stop/Remove,
# and a pod whose cgroup kubelet-style exists beforehand (plain mkdir, an
# empty cpuset, a pod-level memory limit a memory hog must not pass).
# Every call's result must be what it must be, and cove's = runc's (a
# per-call table is printed); nothing may be left behind.
#
# Isolation on a shared host: containerd runs in its own network
# namespace (unshare --net; CNI bridge + host-local addresses inside it,
# nothing touches the host network), with root, state, socket, CNI config
# and IPAM data in $T; images are local only (a pause image from
# cri/pause.c built with gcc -static, and the busybox test rootfs), OCI
# archives imported with ctr into k8s.io. Every pod's cgroup_parent is
# below this test's own cgroup. Root lacks CAP_SYS_RESOURCE here:
# restrict_oom_score_adj = true.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-oci.sh"
. "$(dirname "$0")/../lib/integration.sh"

only_root "containerd runs as root only"
PY=/usr/bin/python3
CNI_BIN=/usr/lib/cni
# the CRI proto: $CRI_PROTO, else ../shared/reference/cri-api-v1 beside the
# checkout (or beside the directory of worktrees it is in)
PROTO=${CRI_PROTO:-}
for d in "$COVE_TESTS_DIR/../.." "$COVE_TESTS_DIR/../../.."; do
  [ -n "$PROTO" ] || [ ! -f "$d/shared/reference/cri-api-v1/api.proto" ] || PROTO=$d/shared/reference/cri-api-v1/api.proto
done
for p in containerd ctr containerd-shim-runc-v2 runc gcc unshare; do
  command -v "$p" >/dev/null 2>&1 || skip "$p is not installed (scripts/setup.sh)"
done
for p in bridge host-local loopback; do
  [ -x "$CNI_BIN/$p" ] || skip "CNI plugin $CNI_BIN/$p missing (apt-get install containernetworking-plugins)"
done
"$PY" -c 'import grpc, grpc_tools.protoc' 2>/dev/null || skip "python3-grpcio/python3-grpc-tools missing (scripts/setup.sh)"
[ -f "$PROTO" ] || skip "no CRI proto (../shared/reference/cri-api-v1/api.proto beside the checkout; or set CRI_PROTO)"
grep -q ' - cgroup ' /proc/self/mountinfo || skip "the cases read v1 cgroup files; this host has no v1 hierarchy"

T0=$(date +%s.%N)
SOCK=$T/containerd.sock
NS=k8s.io
HERE=$(cd "$(dirname "$0")" && pwd)

# ---------------------------------------------------------- the client
# Debian 12's protoc (3.21) rejects the field option [debug_redact = true]
mkdir -p "$T/stubs"
sed 's/ \[debug_redact = true\]//' "$PROTO" >"$T/stubs/api.proto"
capture "$PY" -m grpc_tools.protoc -I"$T/stubs" --python_out="$T/stubs" --grpc_python_out="$T/stubs" "$T/stubs/api.proto"
assert_eq 0 "$RC" "CRI stubs generated from $PROTO (stderr: $ERR)"
[ -f "$T/stubs/api_pb2_grpc.py" ] || die "no CRI stubs"

# ---------------------------------------------------------- the images
mkdir -p "$T/pause-rootfs"
capture gcc -static -O2 -o "$T/pause-rootfs/pause" "$HERE/cri/pause.c"
assert_eq 0 "$RC" "gcc -static pause.c (stderr: $ERR)"
PAUSE=localhost/cove/pause:test
BUSYBOX=docker.io/cove/busybox:test
mkimage "$T/pause-rootfs" "$T/pause.tar" "$PAUSE" '["/pause"]' || die "could not build the pause image"
mkimage "$ROOTFS" "$T/busybox.tar" "$BUSYBOX" || die "could not build the busybox image"

# ---------------------------------------------------------- cgroups
# Pods go below this test's memory cgroup, which must be below (or equal
# to) its cgroup in every other hierarchy (see containerd.sh).
cg_parent "cove-cri-$$"
# kubepod HANDLER: a pod cgroup as kubelet makes it: plain mkdir in every
# hierarchy (cpuset.cpus/mems stay empty), memory limit 64 MiB
POD_LIMIT=67108864
kubepod() {
  local m
  for m in $CGMNTS; do
    mkdir -p "$m$CGP/kubepods/pod-$1" || return 1
  done
  echo "$POD_LIMIT" >"/sys/fs/cgroup/memory$CGP/kubepods/pod-$1/memory.limit_in_bytes" || return 1
  echo "$CGP/kubepods/pod-$1"
}

# ---------------------------------------------------------- the daemon
mkdir -p "$T/cni/net.d" "$T/cni/ipam" "$T/logs" "$T/cove" "$T/runc"
cat >"$T/cni/net.d/10-cove-test.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "cove-cri-test", "plugins": [
  {"type": "bridge", "bridge": "cove-cri0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$T/cni/ipam", "ranges": [[{"subnet": "10.244.77.0/24"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}}]}
EOF
cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/cstate"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$T/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$T/runc"
        SystemdCgroup = false
EOF
# cove's handler exactly as shims/containerd/config.toml tells users to
# merge it, BinaryName and Root pointed at this test
HANDLER_TOML=$COVE_TESTS_DIR/../shims/containerd/config.toml
[ -f "$HANDLER_TOML" ] || die "missing $HANDLER_TOML"
sed -n '/^\[/,$p' "$HANDLER_TOML" |
  sed -e "s|^\\(\\s*BinaryName = \\).*|\\1\"$COVE\"|" -e "s|^\\(\\s*Root = \\).*|\\1\"$T/cove\"|" >>"$T/config.toml"
capture containerd --config "$T/config.toml" config dump
assert_eq 0 "$RC" "containerd parses the config (stderr: $ERR)"
assert_contains "$OUT" "BinaryName = \"$COVE\"" "the cove handler runs this cove"
assert_contains "$OUT" "Root = \"$T/cove\"" "the cove handler's state root is this test's"

_cri_cleanup() {
  local m
  ctrd_stop
  # our kubepods, then what was missing above them
  for m in $CGMNTS; do
    [ -d "$m$CGP/kubepods" ] || continue
    find "$m$CGP/kubepods" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null
    rmdir "$m$CGP/kubepods" 2>/dev/null
  done
  cg_parent_cleanup
}
trap '_rc=$?; _cri_cleanup; (exit $_rc); _finish' EXIT

# lo up for the streaming server; then containerd in that netns
ctrd_start unshare --net sh -c 'ip link set lo up && exec "$@"' sh
assert_ne "$(readlink /proc/self/ns/net)" "$(readlink "/proc/$CD_PID/ns/net")" "containerd runs in its own network namespace"
export PATH=$T/bin:$PATH
assert_ok c images import "$T/pause.tar"
assert_ok c images import "$T/busybox.tar"
capture c images ls -q
assert_contains "$OUT" "$PAUSE" "the pause image is imported"
assert_contains "$OUT" "$BUSYBOX" "the busybox image is imported"
log "containerd $(containerd --version | awk '{print $3}'), cgroup parent $CGP; setup $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s"

# ---------------------------------------------------------- the cases
declare -A WALL
for h in cove runc; do
  kp=$(kubepod "$h") || die "could not pre-create the pod cgroup for $h"
  assert_eq "" "$(cat "/sys/fs/cgroup/cpuset$kp/cpuset.cpus" 2>/dev/null)" "$h: the pre-created pod's cpuset is empty (as kubelet leaves it)"
  t=$(date +%s.%N)
  CMD_TIMEOUT=240 capture "$PY" "$HERE/cri/cri_cases.py" "$T/stubs" "$SOCK" "$h" "$T/work-$h" "$CGP/pods-$h" "$kp" "$T/$h.json"
  WALL[$h]=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')
  printf '%s\n' "$OUT"
  [ -n "$ERR" ] && printf '# stderr: %s\n' "$ERR"
  assert_eq 0 "$RC" "$h: every CRI case passes ($(grep -c '^FAIL' <<<"$OUT") failed)"
  FAILS=$((FAILS + $(grep -c '^FAIL' <<<"$OUT")))
  [ -s "$T/$h.json" ] || fail "$h: no results"

  # leftovers of this handler: shims, cgroups, runtime state, mounts
  for _ in $(seq 50); do
    [ -z "$(pgrep -f -- "-address $SOCK")" ] && break
    sleep 0.1
  done
  assert_eq "" "$(pgrep -f -- "-address $SOCK")" "$h: no shim left"
  left=
  for m in $CGMNTS; do
    [ -d "$m$CGP/pods-$h" ] && left+=$(find "$m$CGP/pods-$h" -mindepth 1 -type d)
    [ -d "$m$kp" ] && left+=$(find "$m$kp" -mindepth 1 -type d)
  done
  assert_eq "" "$left" "$h: no container or sandbox cgroup left"
  assert_eq "" "$(find "$T/$h" -mindepth 2 2>/dev/null)" "$h: no runtime state left in the handler's root"
  assert_eq "" "$(grep -F "$T" /proc/self/mountinfo | grep -v " $T/root" | awk '{print $5}')" "$h: no netns or bundle mount left"
  for m in $CGMNTS; do
    rmdir "$m$CGP/pods-$h" "$m$kp" 2>/dev/null
  done
done

# ---------------------------------------------------------- cove vs runc
printf '\n%-34s | %-44s | %-44s |\n' "CRI call / check" "cove" "runc"
printf '%s\n' "$(printf -- '-%.0s' $(seq 132))"
while IFS= read -r k; do
  cv_=$(jq -r --arg k "$k" '.[$k] // "(missing)"' "$T/cove.json" 2>/dev/null)
  rv=$(jq -r --arg k "$k" '.[$k] // "(missing)"' "$T/runc.json")
  mark=
  [ "$k" = "wall time (s)" ] || [ "$cv_" = "$rv" ] || mark=" <- differs"
  printf '%-34s | %-44s | %-44s |%s\n' "$k" "$cv_" "$rv" "$mark"
  [ "$k" = "wall time (s)" ] || assert_eq "$rv" "$cv_" "CRI $k: cove = runc"
done < <(jq -r 'keys_unsorted[]' "$T/runc.json" 2>/dev/null)
printf '%-34s | %-44s | %-44s |\n\n' "wall time incl. checks (s)" "${WALL[cove]}" "${WALL[runc]}"
log "total wall time $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s"
