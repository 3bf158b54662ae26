#!/usr/bin/env bash
# containerd (Debian 12: 1.6) + containerd-shim-runc-v2 with the built cove
# as the runc binary. Root only: the daemon needs it.
#
# The test starts its own containerd: config, root, state, gRPC/ttrpc
# sockets all under $T; the image is an OCI tarball built here from the
# busybox rootfs (oci-layout, index.json, blobs/sha256) and imported with
# `ctr images import`; every `ctr run` passes --runtime io.containerd.runc.v2
# --runc-binary $COVE --runc-root $T/cove (so the shim runs
# `cove --root $T/cove/<namespace> --log .../log.json --log-format json ...`).
# Only the shim's socket lands outside $T (/run/containerd/s/<hash>, fixed
# in containerd 1.6); the test checks it is gone at the end. The daemon and
# the shims are killed and everything removed at exit, even on failure.
#
# Sub-checks that need a cove command other branches provide (exec, ps,
# pause, resume, cgroup limits) run when `cove` has them and print a SKIP
# line otherwise.
. "$(dirname "$0")/../lib/common.sh"

only_root "containerd runs as root only"
for p in containerd ctr containerd-shim-runc-v2; do
  command -v "$p" >/dev/null 2>&1 || skip "$p is not installed (apt-get install containerd)"
done

has_cmd() { "$COVE" "$1" --help >/dev/null 2>&1; }
HAS_CGROUPS=0
"$COVE" features 2>/dev/null | jq -e '.linux.cgroup.v1 == true or .linux.cgroup.v2 == true' >/dev/null 2>&1 &&
  HAS_CGROUPS=1
subskip() { printf 'SKIP: %s\n' "$*"; }

NS=covetest
SOCK=$T/containerd.sock
CROOT=$T/cove
STATE=$CROOT/$NS # the shim appends the namespace to --runc-root
IMAGE=docker.io/cove/busybox:test

# ------------------------------------------------------------ the daemon

ls -A /run/containerd/s 2>/dev/null | sort >"$T/.shimsocks0"

cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
# nothing of the CRI, no /opt plugins, no snapshotters this host lacks
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF

_containerd_cleanup() {
  local p
  # shims first (they hold the containers), then the daemon
  for p in $(pgrep -f -- "-address $SOCK" 2>/dev/null); do
    echo "LEFTOVER: shim $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    FAILS=$((FAILS + 1))
    kill -KILL "$p" 2>/dev/null
  done
  if [ -n "${CD_PID:-}" ]; then
    kill -TERM "$CD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$CD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CD_PID" 2>/dev/null
    wait "$CD_PID" 2>/dev/null
  fi
  # anything containerd mounted (snapshots, bundle rootfs) under $T is
  # reported by check_leftovers and unmounted by _finish
  local s
  for s in $(ls -A /run/containerd/s 2>/dev/null | sort | comm -13 "$T/.shimsocks0" -); do
    echo "LEFTOVER: shim socket /run/containerd/s/$s"
    FAILS=$((FAILS + 1))
    rm -f "/run/containerd/s/$s"
  done
  cleanup_cgparent # [cgroupsPath]
  return 0
}
trap '_rc=$?; _containerd_cleanup; (exit $_rc); _finish' EXIT

containerd --config "$T/config.toml" --log-level warn >"$T/containerd.log" 2>&1 &
CD_PID=$!
for _ in $(seq 100); do
  [ -S "$SOCK" ] && break
  kill -0 "$CD_PID" 2>/dev/null || break
  sleep 0.1
done
[ -S "$SOCK" ] || die "containerd did not start: $(tail -5 "$T/containerd.log")"

# $T/bin/c ARGS: ctr on our socket and namespace. $T/bin/crun [RUN OPTIONS]
# -- ID CMD...: ctr run of our image with cove as the runc binary.
# (scripts, not functions: capture runs them under timeout)
mkdir -p "$T/bin" "$T/fifo"
new_cgparent "cove-ctr-$$" # [cgroupsPath]
printf '#!/bin/bash\nexec ctr -a %q -n %q "$@"\n' "$SOCK" "$NS" >"$T/bin/c"
# --cpu-shares 0: ctr puts linux.resources.cpu.shares = 1024 in every
# config unless told otherwise; the cgroup-limit checks below drop it.
CPU_SHARES=(--cpu-shares 0)
[ "$HAS_CGROUPS" = 1 ] && CPU_SHARES=()
{
  echo '#!/bin/bash'
  echo 'opts=(); while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done; shift'
  echo 'id=$1; shift'
  printf 'exec %q run --snapshotter native --runtime io.containerd.runc.v2 --runc-binary %q --runc-root %q --fifo-dir %q' \
    "$T/bin/c" "$COVE" "$CROOT" "$T/fifo"
  [ ${#CPU_SHARES[@]} -gt 0 ] && printf ' %q' "${CPU_SHARES[@]}"
  # [cgroupsPath] ctr's default is /<namespace>/<id>, from the hierarchy's
  # root: keep the cgroups inside this test's own cgroup
  printf ' --cgroup %q/"$id"' "$CGPARENT"
  printf ' "${opts[@]}" %q "$id" "$@"\n' "$IMAGE"
} >"$T/bin/crun"
chmod 0755 "$T/bin/c" "$T/bin/crun"
export PATH=$T/bin:$PATH

log "containerd $(containerd --version | awk '{print $3}'), exec=$(has_cmd exec && echo yes || echo no)," \
  "ps=$(has_cmd ps && echo yes || echo no), pause=$(has_cmd pause && echo yes || echo no), cgroups=$HAS_CGROUPS"

# ---------------------------------------------------------- the image

# mkimage ROOTFS OUT.tar: an OCI image layout tarball, one gzip layer.
mkimage() {
  local rootfs=$1 out=$2 w=$T/img
  rm -rf "$w"
  mkdir -p "$w/layout/blobs/sha256"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 \
    --exclude=./.cove-rootfs-stamp -cf "$w/layer.tar" . || return 1
  local diffid
  diffid=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
  gzip -n -c "$w/layer.tar" >"$w/layer.tgz" || return 1
  blob() { # FILE → "digest size", file moved into blobs/sha256/
    local d s
    d=$(sha256sum "$1" | cut -d' ' -f1)
    s=$(stat -c %s "$1")
    mv "$1" "$w/layout/blobs/sha256/$d"
    echo "$d $s"
  }
  local ld ls cd cs md ms
  read -r ld ls < <(blob "$w/layer.tgz")
  jq -cn --arg d "sha256:$diffid" '{architecture: "amd64", os: "linux",
      config: {Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"], WorkingDir: "/"},
      rootfs: {type: "layers", diff_ids: [$d]}}' >"$w/config.json"
  read -r cd cs < <(blob "$w/config.json")
  jq -cn --arg cd "sha256:$cd" --argjson cs "$cs" --arg ld "sha256:$ld" --argjson ls "$ls" '{schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]}' >"$w/manifest.json"
  read -r md ms < <(blob "$w/manifest.json")
  jq -cn --arg md "sha256:$md" --argjson ms "$ms" --arg n "$IMAGE" '{schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
        platform: {architecture: "amd64", os: "linux"},
        annotations: {"io.containerd.image.name": $n, "org.opencontainers.image.ref.name": "test"}}]}' \
    >"$w/layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$w/layout/oci-layout"
  tar -C "$w/layout" -cf "$out" oci-layout index.json blobs
}
mkimage "$ROOTFS" "$T/busybox-oci.tar" || die "could not build the OCI image tarball"

assert_ok c images import --snapshotter native "$T/busybox-oci.tar"
capture c images ls -q
assert_contains "$OUT" "$IMAGE" "ctr images ls after import"

# ---------------------------------------------------------- foreground run

capture crun --rm -- r1 echo hello-from-cove
assert_eq 0 "$RC" "ctr run echo (stderr: $ERR)"
assert_eq "hello-from-cove" "$OUT" "ctr run echo: output"

capture crun --rm -- r2 sh -c 'echo "$$"; exit 3'
assert_eq 3 "$RC" "exit status propagates through the shim (stderr: $ERR)"
assert_eq "1" "$OUT" "pid 1 in its own pid namespace"

# stdin passthrough: the shim hands cove pipes, cove prints nothing itself
CAPTURE_STDIN=/dev/stdin capture crun --rm -- r3 sh -c 'read x; echo "got:$x"; echo to-stderr >&2' <<<"line1"
assert_eq "got:line1" "$OUT" "stdin/stdout through the shim (stderr: $ERR)"
assert_contains "$ERR" "to-stderr" "stderr through the shim"

# The shim reads cove's error from the last {"level":"error"} line of its
# --log file and reports it: the text must arrive.
capture crun --rm -- r4 /no/such/binary
assert_ne 0 "$RC" "ctr run of a missing executable fails"
assert_contains "$ERR" "/no/such/binary" "cove's error reaches ctr through the json log"
capture c containers ls -q
assert_not_contains "$OUT" "r4" "a failed ctr run --rm leaves no container"

# A terminal: the shim passes --console-socket and relays the pty master.
if command -v script >/dev/null 2>&1; then
  printf -v cmdline '%q ' crun --rm -t -- r5 sh -c 'tty; test -t 0 && echo in-is-tty; exit 2'
  capture script -qec "$cmdline" /dev/null
  assert_eq 2 "$RC" "ctr run -t exit status (stderr: $ERR)"
  assert_contains "$OUT" "/dev/pts/" "ctr run -t: the process has a pty"
  assert_contains "$OUT" "in-is-tty" "ctr run -t: stdin is the terminal"
fi

# ------------------------------------------- detached: exec, ps, pause, kill

capture crun -d -- d1 sh -c 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done'
assert_eq 0 "$RC" "ctr run -d (stderr: $ERR)"
capture c task ls
assert_match "$OUT" $'\nd1 +[0-9]+ +RUNNING' "ctr task ls after run -d"
TPID=$(awk '$1 == "d1" {print $2}' <<<"$OUT")
[ -n "$TPID" ] && note_pid "$TPID"
# cove has it, under the shim's --root
capture cv state d1
assert_eq 0 "$RC" "cove state d1 in the shim's root (stderr: $ERR)"
assert_eq running "$(jq -r .status <<<"$OUT" 2>/dev/null)" "cove state status"
assert_eq "$TPID" "$(jq -r .pid <<<"$OUT" 2>/dev/null)" "cove state pid = the shim's pid"
if [ -n "$TPID" ] && [ -e "/proc/$TPID" ]; then
  assert_ne "$(readlink /proc/self/ns/pid)" "$(readlink "/proc/$TPID/ns/pid")" "the container's pid namespace"
  assert_ne "$(readlink /proc/self/ns/mnt)" "$(readlink "/proc/$TPID/ns/mnt")" "the container's mount namespace"
fi

if has_cmd exec; then
  # ctr sets no hostname: compare the uts namespace itself with the init's
  capture c task exec --exec-id e1 --fifo-dir "$T/fifo" d1 sh -c 'echo "exec:$(readlink /proc/self/ns/uts)"; exit 4'
  assert_eq 4 "$RC" "ctr task exec exit status (stderr: $ERR)"
  assert_eq "exec:$(readlink "/proc/$TPID/ns/uts")" "$OUT" "ctr task exec output (uts namespace of the init)"
  capture c task exec --exec-id e2 --fifo-dir "$T/fifo" d1 sh -c 'cat /proc/1/cmdline | tr "\0" " "'
  assert_contains "$OUT" "while :" "exec sees the container's pid 1"
else
  subskip "ctr task exec: this cove has no exec command"
  capture c task exec --exec-id e1 --fifo-dir "$T/fifo" d1 true
  assert_ne 0 "$RC" "ctr task exec without cove exec fails"
fi

if has_cmd ps; then
  capture c task ps d1
  assert_eq 0 "$RC" "ctr task ps (stderr: $ERR)"
  assert_contains "$OUT" "$TPID" "ctr task ps lists the init pid"
else
  subskip "ctr task ps: this cove has no ps command"
fi

if has_cmd pause && has_cmd resume; then
  capture c task pause d1
  assert_eq 0 "$RC" "ctr task pause (stderr: $ERR)"
  capture c task ls
  assert_match "$OUT" $'\nd1 +[0-9]+ +PAUSED' "ctr task ls after pause"
  capture cv state d1
  assert_eq paused "$(jq -r .status <<<"$OUT" 2>/dev/null)" "cove state after pause"
  capture c task resume d1
  assert_eq 0 "$RC" "ctr task resume (stderr: $ERR)"
  capture c task ls
  assert_match "$OUT" $'\nd1 +[0-9]+ +RUNNING' "ctr task ls after resume"
else
  subskip "ctr task pause/resume: this cove has no pause/resume commands"
fi

# SIGTERM (the default), trapped: exit 7
capture c task kill d1
assert_eq 0 "$RC" "ctr task kill (stderr: $ERR)"
for _ in $(seq 100); do
  capture c task ls
  [[ "$OUT" =~ $'\n'd1\ +[0-9]+\ +STOPPED ]] && break
  sleep 0.1
done
assert_match "$OUT" $'\nd1 +[0-9]+ +STOPPED' "ctr task ls after kill"
capture c task delete d1
assert_eq 0 "$RC" "ctr task delete (stderr: $ERR)"
assert_contains "$ERR" "exit code 7" "the exit status reached containerd"
[ -n "$TPID" ] && { gone "$TPID" 5 || fail "container process $TPID still alive after kill"; }
assert_ok c containers delete d1
capture cv state d1
assert_ne 0 "$RC" "cove state after ctr task delete: the container is gone"

# SIGKILL by number, and delete --force of a running task (kill --all)
capture crun -d -- d2 sleep 1000
assert_eq 0 "$RC" "ctr run -d sleep (stderr: $ERR)"
capture c task ls
TPID=$(awk '$1 == "d2" {print $2}' <<<"$OUT")
[ -n "$TPID" ] && note_pid "$TPID"
capture c task delete --force d2
assert_eq 0 "$RC" "ctr task delete --force of a running task (stderr: $ERR)"
[ -n "$TPID" ] && { gone "$TPID" 5 || fail "container process $TPID still alive after delete --force"; }
assert_ok c containers delete d2

capture crun -d -- d3 sleep 1000
capture c task ls
TPID=$(awk '$1 == "d3" {print $2}' <<<"$OUT")
[ -n "$TPID" ] && note_pid "$TPID"
capture c task kill --signal 9 d3
assert_eq 0 "$RC" "ctr task kill --signal 9 (stderr: $ERR)"
[ -n "$TPID" ] && { gone "$TPID" 5 || fail "container process $TPID still alive after SIGKILL"; }
for _ in $(seq 100); do
  capture c task ls
  [[ "$OUT" =~ $'\n'd3\ +[0-9]+\ +STOPPED ]] && break
  sleep 0.1
done
capture c task delete d3
assert_contains "$ERR" "exit code 137" "SIGKILL exit status reached containerd"
assert_ok c containers delete d3

# ------------------------------------------------------ cgroup limits

if [ "$HAS_CGROUPS" != 1 ]; then
  subskip "--memory-limit: this cove's features report no cgroup support"
  # ... and a limit must then be refused, never dropped (ctr's default
  # cpu.shares = 1024 counts as a request)
  capture c run --snapshotter native --runtime io.containerd.runc.v2 --runc-binary "$COVE" \
    --runc-root "$CROOT" --fifo-dir "$T/fifo" --rm --memory-limit 67108864 "$IMAGE" m0 true
  assert_ne 0 "$RC" "--memory-limit without cgroup support is refused"
  assert_contains "$ERR" "linux.resources" "the refusal names the field"
else
  cgfile() { # PID CONTROLLER V1FILE V2FILE
    local n ctrls path f
    while IFS=: read -r n ctrls path; do
      if [[ ",$ctrls," == *",$2,"* ]] && [ -e "/sys/fs/cgroup/$2$path/$3" ]; then
        echo "/sys/fs/cgroup/$2$path/$3"; return
      fi
      if [ -z "$ctrls" ]; then
        for f in "/sys/fs/cgroup$path/$4" "/sys/fs/cgroup/unified$path/$4"; do
          [ -e "$f" ] && { echo "$f"; return; }
        done
      fi
    done <"/proc/$1/cgroup"
  }
  capture crun -d --memory-limit 67108864 -- m1 sleep 1000
  assert_eq 0 "$RC" "ctr run -d --memory-limit (stderr: $ERR)"
  capture c task ls
  TPID=$(awk '$1 == "m1" {print $2}' <<<"$OUT")
  if [ -n "$TPID" ] && [ -e "/proc/$TPID/cgroup" ]; then
    note_pid "$TPID"
    f=$(cgfile "$TPID" memory memory.limit_in_bytes memory.max)
    assert_ne "" "$f" "memory limit file of the container's cgroup"
    [ -n "$f" ] && assert_eq 67108864 "$(cat "$f")" "memory limit ($f)"
  fi
  capture c task delete --force m1
  assert_eq 0 "$RC" "ctr task delete --force m1 (stderr: $ERR)"
  assert_ok c containers delete m1
fi

# ---------------------------------------------------------------- the end

capture c task ls -q
assert_eq "" "$OUT" "containerd has no tasks left"
capture c containers ls -q
assert_eq "" "$OUT" "containerd has no containers left"
capture cv list -q
assert_eq "" "$OUT" "cove has no containers left in the shim's root"
for _ in $(seq 50); do
  [ -z "$(pgrep -f -- "-address $SOCK")" ] && break
  sleep 0.1
done
assert_eq "" "$(pgrep -f -- "-address $SOCK")" "no shim process left"
assert_eq "" "$(grep -F "$T/state" /proc/self/mountinfo)" "no bundle rootfs mount left"
