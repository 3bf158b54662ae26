#!/usr/bin/env bash
# containerd (Debian 12: 1.6) + containerd-shim-runc-v2 with the built cove
# as the runc binary, side by side with Debian's runc. Root only: the
# daemon needs it.
#
# Defaults, not the flags that happen to work: the daemon runs with
# `containerd config default` plus cove's runtime handler merged in exactly
# as shims/containerd/config.toml tells users to; changed are only the
# paths that must be private because other jobs run containerd on this
# machine at the same time (root, state, the gRPC socket, the opt plugin's
# directory; BinaryName and Root of the handler point into the test).
# `ctr run` keeps its defaults: overlayfs snapshotter, a new network
# namespace with only lo (ctr's default: no --net-host, no --cni),
# cgroupfs driver. The one run option added is --cgroup: ctr's default
# cgroupsPath is /<namespace>/<id> from the root of every v1 hierarchy,
# which runc creates there, outside this test's own cgroup (forbidden on
# this shared host; containerd has no setting for a default parent), so
# every run gets <own memory cgroup>/cove-ctrd-$$/<id>.
#
# ctr cannot select a CRI runtime handler (only the CRI plugin reads
# them, and no CRI client is installed), so the handler's options are read
# back from `containerd config dump` and passed as what they are to the
# shim: --runc-binary (BinaryName) and --runc-root (Root). runc runs with
# the shim's defaults (BinaryName "" = runc) and a private --runc-root.
#
# The image is an OCI tarball built here from the busybox rootfs and
# imported with `ctr images import`. Only the shims' sockets land outside
# $T (/run/containerd/s/<sha256(address/namespace/id)>, fixed in 1.6);
# each is checked to exist while its shim runs and to be gone at the end.
# The daemon and the shims are killed and everything removed at exit.
#
# Sub-checks that need a cove command other branches provide (exec, ps,
# pause, resume, cgroup limits) run when `cove` has them and print a SKIP
# line otherwise.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-oci.sh"
. "$(dirname "$0")/../lib/integration.sh"

only_root "containerd runs as root only"
for p in containerd ctr containerd-shim-runc-v2; do
  command -v "$p" >/dev/null 2>&1 || skip "$p is not installed (apt-get install containerd)"
done

NS=covetest
SOCK=$T/containerd.sock
IMAGE=docker.io/cove/busybox:test
HANDLER_TOML=$COVE_TESTS_DIR/../shims/containerd/config.toml

# ------------------------------------------------------------ the config

# The handler as a user merges it: its tables appended to the default
# config (its `version = 2` is the default's already), BinaryName and Root
# pointed at this test. (Not through `imports`: containerd 1.6 replaces a
# plugin's whole section with the imported one, dropping the default
# `runc` handler; the config dump check below would catch that.)
[ -f "$HANDLER_TOML" ] || die "missing $HANDLER_TOML"
containerd config default >"$T/default.toml" || die "containerd config default failed"
{
  sed -e "s|^root = .*|root = \"$T/root\"|" -e "s|^state = .*|state = \"$T/state\"|" \
    -e "/^\\[grpc\\]/,/^\\[/ s|^  address = .*|  address = \"$SOCK\"|" \
    -e "/^  \\[plugins.\"io.containerd.internal.v1.opt\"\\]/,/^  \\[/ s|^    path = .*|    path = \"$T/opt\"|" \
    "$T/default.toml"
  sed -n '/^\[/,$p' "$HANDLER_TOML" |
    sed -e "s|^\\(\\s*BinaryName = \\).*|\\1\"$COVE\"|" -e "s|^\\(\\s*Root = \\).*|\\1\"$T/cove\"|"
} >"$T/config.toml"
# exactly the private paths changed, nothing else of the defaults
capture diff "$T/default.toml" <(head -n "$(wc -l <"$T/default.toml")" "$T/config.toml")
assert_eq 4 "$(grep -c '^>' <<<"$OUT")" "the daemon's config = the defaults but 4 private paths ($OUT)"

capture containerd --config "$T/config.toml" config dump
assert_eq 0 "$RC" "containerd parses the merged config (stderr: $ERR)"
DUMP=$OUT
# handler_opt NAME KEY: a key of [...runtimes.NAME.options] in the dump
handler_opt() {
  awk -v t="[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.$1.options]" -v k="$2" '
    $0 ~ /^ *\[/ { in_t = ($1 == t) } in_t && $1 == k { sub(/^[^=]*= */, ""); gsub(/"/, ""); print }' <<<"$DUMP"
}
handler_key() {
  awk -v t="[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.$1]" -v k="$2" '
    $0 ~ /^ *\[/ { in_t = ($1 == t) } in_t && $1 == k { sub(/^[^=]*= */, ""); gsub(/"/, ""); print }' <<<"$DUMP"
}
assert_eq io.containerd.runc.v2 "$(handler_key cove runtime_type)" "handler cove: runtime_type (the runc shim)"
assert_eq io.containerd.runc.v2 "$(handler_key runc runtime_type)" "the default runc handler is still there"
COVE_BIN=$(handler_opt cove BinaryName)
CROOT=$(handler_opt cove Root)
assert_eq "$COVE" "$COVE_BIN" "handler cove: BinaryName"
assert_eq "$T/cove" "$CROOT" "handler cove: Root"
assert_eq false "$(handler_opt cove SystemdCgroup)" "handler cove: cgroupfs driver"
[ -n "$COVE_BIN" ] && [ -n "$CROOT" ] || die "no usable cove handler in the config"
STATE=$CROOT/$NS # the shim appends the namespace to Root
RROOT=$T/runc

# Root: every container's cgroup below this test's own (see the top and
# cg_parent); what runc and cove leave of it is removed at exit.
cg_parent "cove-ctrd-$$"

# ------------------------------------------------------------ the daemon

shimsock() { # ID: the shim's socket, as containerd 1.6 names it
  local h
  h=$(printf '%s' "$SOCK/$NS/$1" | sha256sum | cut -d' ' -f1)
  echo "/run/containerd/s/$h"
}

_containerd_cleanup() {
  local s
  ctrd_stop
  # anything containerd mounted (snapshots, bundle rootfs) under $T is
  # reported by check_leftovers and unmounted by _finish
  for s in $(sort -u "$T/ids" 2>/dev/null); do
    s=$(shimsock "$s")
    [ -e "$s" ] || continue
    echo "LEFTOVER: shim socket $s"
    FAILS=$((FAILS + 1))
    rm -f "$s"
  done
  cg_parent_cleanup
}
trap '_rc=$?; _containerd_cleanup; (exit $_rc); _finish' EXIT

ctrd_start

# $T/bin/c ARGS: ctr on our socket and namespace. $T/bin/crun [RUN OPTIONS]
# -- ID CMD...: ctr run of our image with cove's handler options;
# $T/bin/rrun the same with the shim's default runc.
# (scripts, not functions: capture runs them under timeout)
mkdir -p "$T/fifo"
# --cpu-shares 0: ctr puts linux.resources.cpu.shares = 1024 in every
# config unless told otherwise; a cove without cgroups must refuse that.
CPU_SHARES=(--cpu-shares 0)
[ "$HAS_CGROUPS" = 1 ] && CPU_SHARES=()
mkrun() { # NAME RUNTIME-OPTIONS...
  local name=$1
  shift
  {
    echo '#!/bin/bash'
    echo 'opts=(); while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done; shift'
    echo 'id=$1; shift'
    printf 'echo "$id" >>%q\n' "$T/ids"
    printf 'exec %q run' "$T/bin/c"
    printf ' %q' "$@" --fifo-dir "$T/fifo"
    [ ${#CPU_SHARES[@]} -gt 0 ] && printf ' %q' "${CPU_SHARES[@]}"
    printf ' --cgroup %q/"$id" "${opts[@]}" %q "$id" "$@"\n' "$CGP" "$IMAGE"
  } >"$T/bin/$name"
  chmod 0755 "$T/bin/$name"
}
mkrun crun --runc-binary "$COVE_BIN" --runc-root "$CROOT"
mkrun rrun --runc-root "$RROOT"
export PATH=$T/bin:$PATH

log "containerd $(containerd --version | awk '{print $3}'), exec=$(has_cmd exec && echo yes || echo no)," \
  "ps=$(has_cmd ps && echo yes || echo no), pause=$(has_cmd pause && echo yes || echo no), cgroups=$HAS_CGROUPS"

# ---------------------------------------------------------- the image

mkimage "$ROOTFS" "$T/busybox-oci.tar" "$IMAGE" || die "could not build the OCI image tarball"

assert_ok c images import "$T/busybox-oci.tar"
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
# the shim's socket is where the leftover check at exit looks for it
assert_eq yes "$([ -S "$(shimsock d1)" ] && echo yes)" "d1's shim socket $(shimsock d1)"
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
  capture crun --rm --memory-limit 67108864 -- m0 true
  assert_ne 0 "$RC" "--memory-limit without cgroup support is refused"
  assert_contains "$ERR" "linux.resources" "the refusal names the field"
else
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

# ------------------------------------------------ side by side with runc
# The same ctr commands under cove (the handler's BinaryName) and under the
# shim's default runc; each result is checked against what it must be, and
# cove's must equal runc's.

# task_pid ID, task_status ID: from ctr task ls
task_pid() { c task ls | awk -v id="$1" '$1 == id {print $2}'; }
task_status() { c task ls | awk -v id="$1" '$1 == id {print $3}'; }
wait_stopped() {
  for _ in $(seq 100); do
    [ "$(task_status "$1")" = STOPPED ] && return 0
    sleep 0.1
  done
  return 1
}

if ! command -v runc >/dev/null 2>&1; then
  subskip "ctr with runc side by side: runc is not installed"
else
  declare -A R
  HOSTNET=$(readlink /proc/self/ns/net)
  for rt in cove runc; do
    r=crun
    [ $rt = runc ] && r=rrun

    # run --rm, exit code; ctr's default network: a new netns with only lo
    capture $r --rm -- "$rt-r" sh -c 'readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; exit 3'
    R[$rt.run]="rc=$RC $(tail -n +2 <<<"$OUT" | tr '\n' ' ')"
    assert_eq 3 "$RC" "$rt: ctr run --rm sh -c 'exit 3' (stderr: $ERR)"
    assert_eq lo "$(tail -n +2 <<<"$OUT")" "$rt: ctr's default network namespace has only lo"
    assert_ne "$HOSTNET" "$(head -n 1 <<<"$OUT")" "$rt: not the host's network namespace"

    # run -d: running, in its cgroup below ours
    capture $r -d -- "$rt-d" sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done'
    R[$rt.rund]="rc=$RC"
    assert_eq 0 "$RC" "$rt: ctr run -d (stderr: $ERR)"
    dpid=$(task_pid "$rt-d")
    [ -n "$dpid" ] && note_pid "$dpid"
    assert_eq yes "$([ -S "$(shimsock "$rt-d")" ] && echo yes)" "$rt: the shim's socket"
    mcg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' "/proc/$dpid/cgroup" 2>/dev/null)
    R[$rt.cgroup]=${mcg/%$rt-d/ID}
    assert_eq "$CGP/$rt-d" "$mcg" "$rt: the container's memory cgroup (ctr run --cgroup)"

    # exec: exit code, same pid namespace
    capture c task exec --exec-id e1 --fifo-dir "$T/fifo" "$rt-d" sh -c 'cat /proc/1/cmdline | tr "\0" " "; exit 4'
    R[$rt.exec]="rc=$RC $OUT"
    assert_eq 4 "$RC" "$rt: ctr task exec exit status (stderr: $ERR)"
    assert_contains "$OUT" "while :" "$rt: exec sees the container's pid 1"

    # ps: the init's host pid (and a sleep or not, by chance)
    capture c task ps "$rt-d"
    R[$rt.ps]="rc=$RC init=$(awk -v p="$dpid" '$1 == p {print "listed"}' <<<"$OUT")"
    assert_eq 0 "$RC" "$rt: ctr task ps (stderr: $ERR)"
    assert_match "$OUT" $'\n'"$dpid " "$rt: ctr task ps lists the init ($dpid)"

    # metrics: the shim reads the cgroup itself (by the init's pid): the
    # metric names and whether it works must match
    capture c task metrics "$rt-d"
    R[$rt.metrics]="rc=$RC $(awk '$1 ~ /^[a-z]+\./ {print $1}' <<<"$OUT" | sort | tr '\n' ' ')"
    assert_eq 0 "$RC" "$rt: ctr task metrics (stderr: $ERR)"
    assert_match "$OUT" $'\nmemory.usage_in_bytes +[1-9][0-9]*' "$rt: ctr task metrics: the memory usage"

    # pause / resume: the status containerd reports
    capture c task pause "$rt-d"
    R[$rt.pause]="rc=$RC $(task_status "$rt-d")"
    assert_eq "rc=0 PAUSED" "${R[$rt.pause]}" "$rt: ctr task pause (stderr: $ERR)"
    capture c task resume "$rt-d"
    R[$rt.resume]="rc=$RC $(task_status "$rt-d")"
    assert_eq "rc=0 RUNNING" "${R[$rt.resume]}" "$rt: ctr task resume (stderr: $ERR)"

    # kill (SIGTERM, trapped: exit 7), wait for STOPPED, the exit code
    capture c task kill "$rt-d"
    R[$rt.kill]="rc=$RC"
    assert_eq 0 "$RC" "$rt: ctr task kill (stderr: $ERR)"
    wait_stopped "$rt-d" || fail "$rt: $rt-d not STOPPED after ctr task kill"
    capture c task delete "$rt-d"
    R[$rt.kill]+=" $(grep -o 'exit code [0-9]*' <<<"$ERR")"
    assert_eq "rc=0 exit code 7" "${R[$rt.kill]}" "$rt: kill, wait, delete: the exit code (stderr: $ERR)"
    [ -n "$dpid" ] && { gone "$dpid" 5 || fail "$rt: container process $dpid alive after kill"; }
    assert_ok c containers delete "$rt-d"

    # --memory-limit, read from the host side
    capture $r -d --memory-limit 67108864 -- "$rt-m" sleep 1000
    R[$rt.memory]="rc=$RC"
    assert_eq 0 "$RC" "$rt: ctr run -d --memory-limit (stderr: $ERR)"
    mpid=$(task_pid "$rt-m")
    if [ -n "$mpid" ] && [ -e "/proc/$mpid/cgroup" ]; then
      note_pid "$mpid"
      f=$(cgfile "$mpid" memory memory.limit_in_bytes memory.max)
      R[$rt.memory]+=" $(cat "$f" 2>/dev/null)"
      assert_eq 67108864 "$(cat "$f" 2>/dev/null)" "$rt: --memory-limit in the container's cgroup ($f)"
    fi
    capture c task delete --force "$rt-m"
    assert_eq 0 "$RC" "$rt: ctr task delete --force (stderr: $ERR)"
    assert_ok c containers delete "$rt-m"

    # a bad command: the shim reports the runtime's error from its
    # --log-format json log; it must say what is wrong
    capture $r --rm -- "$rt-bad" /nonexistent
    R[$rt.bad]="rc=$RC"
    assert_eq 1 "$RC" "$rt: ctr run of /nonexistent fails"
    assert_match "$ERR" '/nonexistent.*([Nn]o such file|not found)' "$rt: the error names the path and why"
    log "$rt: ctr run /nonexistent: $ERR"
    capture c containers ls -q
    assert_not_contains "$OUT" "$rt-bad" "$rt: a failed ctr run --rm leaves no container"
  done
  for k in run rund cgroup exec ps metrics pause resume kill memory bad; do
    [ -n "${R[runc.$k]+x}" ] || continue
    assert_eq "${R[runc.$k]}" "${R[cove.$k]}" "ctr $k: cove's result = runc's"
    log "side by side $k: cove '${R[cove.$k]}' runc '${R[runc.$k]}'"
  done
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
assert_eq "" "$(grep -F "$T" /proc/self/mountinfo)" "no snapshot or bundle rootfs mount left"
capture c snapshots ls
assert_eq "" "$(awk 'NR > 1 && $NF != "Committed"' <<<"$OUT")" "no container snapshot left (only the image's)"
capture runc --root "$RROOT/$NS" list -q
assert_eq "" "$OUT" "runc has no containers left in the shim's root"
left=
for s in $(sort -u "$T/ids"); do
  [ -e "$(shimsock "$s")" ] && left+=" $s"
done
assert_eq "" "$left" "no shim socket left in /run/containerd/s (of the containers)"
left=
for m in $(findmnt -n -t cgroup,cgroup2 -o TARGET); do
  [ -d "$m$CGP" ] && left+=$(find "$m$CGP" -mindepth 1 -type d)
done
assert_eq "" "$left" "no container cgroup left below $CGP"
