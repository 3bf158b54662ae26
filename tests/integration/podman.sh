#!/usr/bin/env bash
# podman (Debian 12: 4.3) driving the built cove: `podman --runtime $COVE
# run --rootfs $ROOTFS ...`, as root and rootless.
#
# Nothing touches the system's podman or cove state:
#   - storage (vfs), run root, tmpdir, containers.conf and storage.conf are
#     private files under $T (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF);
#   - as root the test runs in a private mount namespace with $T/cstate
#     bound over /run/cove, cove's default state root. podman 4.3 does not
#     hand `--runtime-flag root=...` to its cleanup process (`podman
#     container cleanup`, started by conmon), whose `delete --force` would
#     then look in /run/cove and leave the state behind, so a private
#     /run/cove is the only way to keep the state root ours;
#   - rootless, podman runs cove inside its user namespace with
#     XDG_RUNTIME_DIR=$T/xdg, so cove's state is $T/xdg/cove; the rootless
#     pause process is killed and the storage removed at the end.
#
# podman runs with its default network: as root the CNI bridge (cni-podman0,
# 10.88.0.0/16, local to the machine), rootless slirp4netns; podman creates
# the netns itself and
# hands it over by path with the default sysctl net.ipv4.ping_group_range.
# The same cases then run under runc (`podman --runtime runc`) side by side
# and the results are compared.
#
# Sub-checks that need a cove command other branches provide (exec, pause,
# resume, cgroup limits) run when `cove` has them and print a SKIP line
# otherwise.
if [ "${MODE:-}" = root ] && [ -z "${COVE_PODMAN_PRIVATE_NS:-}" ] && [ "$(id -u)" = 0 ] &&
  command -v podman >/dev/null 2>&1; then
  mkdir -p /run/cove /run/runc
  exec env COVE_PODMAN_PRIVATE_NS=1 unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/integration.sh"

for p in podman conmon; do
  command -v "$p" >/dev/null 2>&1 || skip "$p is not installed (apt-get install podman)"
done

# ------------------------------------------------------------------ setup

if [ "$MODE" = root ]; then
  mkdir -p "$T/cstate"
  chmod 0700 "$T/cstate"
  mount --bind "$T/cstate" /run/cove || die "bind $T/cstate over /run/cove"
  # runc's default state root, private for the side-by-side cases
  mkdir -p "$T/rstate"
  chmod 0700 "$T/rstate"
  mount --bind "$T/rstate" /run/runc || die "bind $T/rstate over /run/runc"
  _watch_mounts >"$T/.mounts0"
  STATE=$T/cstate
else
  mkdir -p "$T/xdg" "$T/home" "$T/config" "$T/data"
  chmod 0700 "$T/xdg"
  export XDG_RUNTIME_DIR=$T/xdg HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_DATA_HOME=$T/data
  STATE=$T/xdg/cove
fi

# containers.conf: the distribution's defaults (what a user of podman gets:
# default_sysctls = net.ipv4.ping_group_range, the default capabilities,
# pids_limit 2048), plus only what registers cove and keeps podman off
# systemd/journald, which this machine does not run. (CONTAINERS_CONF
# replaces every other containers.conf; podman 4.3 has no
# CONTAINERS_CONF_OVERRIDE.)
DISTCONF=/usr/share/containers/containers.conf
[ -r "$DISTCONF" ] || DISTCONF=/dev/null
awk -v cove="$COVE" '
  function engine() { print "cgroup_manager = \"cgroupfs\""; print "events_logger = \"file\""
    print "runtime_supports_json = [\"crun\", \"runc\", \"kata\", \"runsc\", \"krun\", \"cove\"]" }
  function runtimes() { print "cove = [\"" cove "\"]" }
  /^\[engine\]$/ { print; engine(); e = 1; next }
  /^\[engine\.runtimes\]$/ { print; runtimes(); r = 1; next }
  { print }
  END { if (!e) { print "[engine]"; engine() } if (!r) { print "[engine.runtimes]"; runtimes() } }
' "$DISTCONF" >"$T/containers.conf"
cat >"$T/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$T/storage/run"
graphroot = "$T/storage/graph"
EOF
export CONTAINERS_CONF=$T/containers.conf CONTAINERS_STORAGE_CONF=$T/storage.conf

PMBASE=(podman --root "$T/storage/graph" --runroot "$T/storage/run" --tmpdir "$T/ptmp"
  --storage-driver vfs --cgroup-manager cgroupfs --events-backend file)
PM=("${PMBASE[@]}" --runtime "$COVE")
RUNOPTS=()
if [ "$MODE" = rootless ]; then
  # Rootless podman's default network is slirp4netns (setup.sh installs
  # it); it opens /dev/net/tun inside the user's namespaces, which this
  # machine allows: rootless runs with the default network too.
  :
else
  # root lacks CAP_SYS_RESOURCE here and podman asks for RLIMIT_NOFILE and
  # RLIMIT_NPROC above the hard limits (see shims/README.md); runc fails
  # the same way without them
  RUNOPTS+=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
fi
# Root: podman (cgroupfs manager) puts conmon in <parent>/conmon and the
# container in <parent>/libpod-<id>, with the parent /libpod_parent taken
# from the root of every v1 hierarchy: outside this test's own cgroup,
# which this shared host forbids (runc and cove both honour the absolute path). So root
# runs get a parent below this test's memory cgroup, which must be below
# (or equal to) its cgroup in every other hierarchy too; whatever podman
# and runc leave of it (they remove only the leaves) is removed at exit.
CGP=
CGDIRS=()
if [ "$MODE" = root ]; then
  cg_parent "cove-podman-$$"
  RUNOPTS+=(--cgroup-parent "$CGP")
fi
_cgp_cleanup() { # conmon's cgroup beside the containers', then cg_parent's
  local d
  for d in "${CGDIRS[@]}"; do [ -d "$d/conmon" ] && rmdir "$d/conmon" 2>/dev/null; done
  cg_parent_cleanup
}
# $T/bin/pm ARGS: podman with the private configuration above.
# $T/bin/prun [RUN OPTIONS] -- CMD...: podman run --rootfs $ROOTFS CMD.
# (scripts, not functions: capture runs them under timeout)
mkdir -p "$T/bin"
{
  echo '#!/bin/bash'
  printf 'exec'; printf ' %q' "${PM[@]}"; echo ' "$@"'
} >"$T/bin/pm"
{
  echo '#!/bin/bash'
  echo 'opts=(); while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done; shift'
  printf 'exec %q run' "$T/bin/pm"
  [ ${#RUNOPTS[@]} -eq 0 ] || printf ' %q' "${RUNOPTS[@]}"
  printf ' "${opts[@]}" --rootfs %q "$@"\n' "$ROOTFS"
} >"$T/bin/prun"
chmod 0755 "$T/bin/pm" "$T/bin/prun"
export PATH=$T/bin:$PATH


_podman_cleanup() {
  local id
  for id in $(pm ps -aq 2>/dev/null); do
    echo "LEFTOVER: podman container $id: $(pm inspect -f '{{.Name}} {{.State.Status}} {{.Config.Cmd}}' "$id" 2>&1)"
    FAILS=$((FAILS + 1))
    pm rm -f -t 0 "$id" >/dev/null 2>&1
  done
  if [ "$MODE" = rootless ]; then
    # vfs layers belong to sub-ids: remove them from inside the namespace
    pm unshare rm -rf "$T/storage" >/dev/null 2>&1
    # podman's rootless pause process (holds the user namespace) and
    # anything else started with our XDG_RUNTIME_DIR
    local pp
    for pp in $(pgrep -u "$(id -u)" 2>/dev/null); do
      [ "$pp" = $$ ] && continue
      tr '\0' '\n' <"/proc/$pp/environ" 2>/dev/null | grep -qxF "XDG_RUNTIME_DIR=$T/xdg" || continue
      [ "$(cat "/proc/$pp/comm" 2>/dev/null)" = podman ] || echo "LEFTOVER: process $pp: $(tr '\0' ' ' <"/proc/$pp/cmdline" 2>/dev/null)"
      kill -KILL "$pp" 2>/dev/null
    done
  fi
  # conmon is named after the bundle, which lives under $T
  local p
  for p in $(pgrep -f -- "$T/storage" 2>/dev/null); do
    alive "$p" || continue
    echo "LEFTOVER: process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    FAILS=$((FAILS + 1))
    kill -KILL "$p" 2>/dev/null
  done
  # root: the bind over /run/cove dies with this mount namespace
  [ "$MODE" = root ] && umount /run/cove 2>/dev/null
  return 0
}
trap '_rc=$?; _podman_cleanup; _cgp_cleanup; (exit $_rc); _finish' EXIT

log "podman $(podman --version | awk '{print $3}'), exec=$(has_cmd exec && echo yes || echo no)," \
  "pause=$(has_cmd pause && echo yes || echo no), cgroups=$HAS_CGROUPS"


# ---------------------------------------------------------- foreground run

capture prun --rm -- echo hello-from-cove
assert_eq 0 "$RC" "podman run echo (stderr: $ERR)"
assert_eq "hello-from-cove" "$OUT" "podman run echo: output"

# The container is really one: its own pid namespace and hostname.
capture prun --rm --hostname covebox -- sh -c 'echo "$$ $(hostname)"'
assert_eq 0 "$RC" "run sh (stderr: $ERR)"
assert_eq "1 covebox" "$OUT" "pid 1 in its own pid namespace, hostname set"

# Exit status propagation.
capture prun --rm -- sh -c 'exit 3'
assert_eq 3 "$RC" "exit status of sh -c 'exit 3' (stderr: $ERR)"

# podman's default network: root, the CNI bridge (eth0 with an address in
# 10.88.0.0/16); rootless, slirp4netns (tap0). Both in a netns podman made.
capture prun --rm -- sh -c 'ip -o -4 addr; readlink /proc/self/ns/net'
assert_eq 0 "$RC" "run with podman's default network (stderr: $ERR)"
assert_not_contains "$OUT" "$(readlink /proc/self/ns/net)" "the container is not in the host's netns"
if [ "$MODE" = root ]; then
  assert_match "$OUT" 'eth0 +inet 10\.88\.[0-9]+\.[0-9]+/16' "eth0 on podman's bridge"
else
  assert_match "$OUT" 'tap0 +inet ' "tap0 of slirp4netns"
fi

# podman maps the runtime's error text to 127 (not found) and 126 (cannot
# execute): cove's messages must say so in the words podman looks for.
capture prun --rm -- /no/such/binary
assert_eq 127 "$RC" "missing executable (stderr: $ERR)"
assert_contains "${ERR,,}" "no such file or directory" "podman's message for a missing executable"
capture prun --rm -- /etc/passwd
assert_eq 126 "$RC" "non-executable file (stderr: $ERR)"

# stdin passthrough (-i): conmon hands cove a pipe.
CAPTURE_STDIN=/dev/stdin capture prun --rm -i -- sh -c 'read x; echo "got:$x"' <<<"line1"
assert_eq "got:line1" "$OUT" "stdin reaches the container with -i (stderr: $ERR)"

# Root lacks CAP_SYS_RESOURCE here: without --ulimit podman asks for more
# than the hard limit and cove must refuse clearly, naming the rlimit.
if [ "$MODE" = root ] && [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 1048576 ] &&
  [ $(( 0x$(awk '/^CapEff/ {print $2}' /proc/self/status) >> 24 & 1 )) = 0 ]; then
  capture pm run --rm --cgroup-parent "$CGP" --rootfs "$ROOTFS" true
  assert_ne 0 "$RC" "podman run without --ulimit on a host without CAP_SYS_RESOURCE"
  assert_contains "$ERR" "RLIMIT_NOFILE" "the error names the rlimit"
fi
if [ "$MODE" = root ]; then
  capture prun --rm -- sh -c 'ulimit -n; ulimit -u'
  assert_eq "1024
1024" "$OUT" "--ulimit nofile/nproc inside (stderr: $ERR)"
fi

# ------------------------------------------------------------- terminal -t

capture prun --rm -t -- sh -c 'tty; test -t 1 && echo out-is-tty; exit 5'
assert_eq 5 "$RC" "run -t exit status (stderr: $ERR)"
assert_contains "$OUT" "/dev/pts/" "run -t: the process has a pty"
assert_contains "$OUT" "out-is-tty" "run -t: stdout is the terminal"
assert_contains "$OUT" $'\r' "run -t: output went through a tty (CRLF)"

# Interactive: -it under script(1), input typed on the outer terminal.
if command -v script >/dev/null 2>&1; then
  printf -v cmdline '%q ' "${PM[@]}" run "${RUNOPTS[@]}" --rm -it --rootfs "$ROOTFS" sh -c 'read -r x; echo "typed:$x"'
  capture bash -c "{ sleep 1; printf 'abc\\r'; sleep 2; } | script -qec $(printf %q "$cmdline") /dev/null"
  assert_contains "$OUT" "typed:abc" "run -it: keystrokes reach the container (stderr: $ERR)"
fi

# ------------------------------------------------ detached, exec, stop, kill

capture prun -d --name c1 -- sh -c 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done'
assert_eq 0 "$RC" "run -d (stderr: $ERR)"
CID=$OUT
capture pm inspect -f '{{.State.Status}} {{.State.Pid}}' c1
assert_match "$OUT" '^running [0-9]+$' "podman inspect after run -d"
CPID=${OUT#* }
[ -n "$CPID" ] && note_pid "$CPID"
if [ -n "$CPID" ] && [ -e "/proc/$CPID" ]; then
  assert_ne "$(readlink /proc/self/ns/pid)" "$(readlink "/proc/$CPID/ns/pid")" "the container's pid namespace"
fi
# cove itself knows the container under podman's id
capture cv state "$CID"
assert_eq 0 "$RC" "cove state of podman's container (stderr: $ERR)"
assert_eq running "$(jq -r .status <<<"$OUT" 2>/dev/null)" "cove state status"
assert_eq "$CPID" "$(jq -r .pid <<<"$OUT" 2>/dev/null)" "cove state pid = podman's pid"

if has_cmd exec; then
  capture pm exec c1 sh -c 'echo "exec:$(hostname):$$"'
  assert_eq 0 "$RC" "podman exec (stderr: $ERR)"
  assert_match "$OUT" '^exec:[0-9a-f]{12}:[0-9]+$' "podman exec output"
  capture pm exec c1 sh -c 'exit 4'
  assert_eq 4 "$RC" "podman exec exit status"
  capture pm exec -t c1 tty
  assert_contains "$OUT" "/dev/pts/" "podman exec -t has a pty (stderr: $ERR)"
  # the exec'd process is in the container's pid namespace
  capture pm exec c1 sh -c 'cat /proc/1/cmdline | tr "\0" " "'
  assert_contains "$OUT" "while :" "exec sees the container's pid 1"
else
  subskip "podman exec: this cove has no exec command"
fi

if [ "$MODE" = rootless ] && [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
  subskip "podman pause/unpause: rootless podman refuses them on a cgroup v1 host"
elif has_cmd pause && has_cmd resume; then
  capture pm pause c1
  assert_eq 0 "$RC" "podman pause (stderr: $ERR)"
  capture pm inspect -f '{{.State.Status}}' c1
  assert_eq paused "$OUT" "podman status after pause"
  capture cv state "$CID"
  assert_eq paused "$(jq -r .status <<<"$OUT" 2>/dev/null)" "cove state after pause"
  if has_cmd exec; then
    capture pm exec c1 true
    assert_ne 0 "$RC" "exec into a paused container is refused"
  fi
  capture pm unpause c1
  assert_eq 0 "$RC" "podman unpause (stderr: $ERR)"
  capture pm inspect -f '{{.State.Status}}' c1
  assert_eq running "$OUT" "podman status after unpause"
else
  subskip "podman pause/unpause: this cove has no pause/resume commands"
fi

# stop: SIGTERM, which the container traps and exits 0 on
capture pm stop -t 10 c1
assert_eq 0 "$RC" "podman stop (stderr: $ERR)"
capture pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' c1
assert_eq "exited 0" "$OUT" "state after stop (SIGTERM trapped, exit 0)"
capture pm logs c1
assert_contains "$OUT" "ready" "podman logs: container output"
assert_contains "$OUT" "got-term" "podman logs: SIGTERM reached the process"
[ -n "$CPID" ] && { gone "$CPID" 5 || fail "container process $CPID still alive after stop"; }
capture pm rm c1
assert_eq 0 "$RC" "podman rm (stderr: $ERR)"
capture cv state "$CID"
assert_ne 0 "$RC" "cove state after podman rm: the container is gone"

# kill: SIGKILL to a process that ignores nothing; wait reports 137
capture prun -d --name c2 -- sleep 1000
assert_eq 0 "$RC" "run -d sleep (stderr: $ERR)"
capture pm inspect -f '{{.State.Pid}}' c2
CPID=$OUT
[ -n "$CPID" ] && note_pid "$CPID"
capture pm kill c2
assert_eq 0 "$RC" "podman kill (stderr: $ERR)"
capture pm wait c2
assert_eq 137 "$OUT" "podman wait after kill"
capture pm kill --signal TERM c2
assert_ne 0 "$RC" "podman kill on an exited container fails"
capture pm rm c2
assert_eq 0 "$RC" "podman rm after kill (stderr: $ERR)"

# rm -f of a running container (kill + delete --force)
capture prun -d --name c3 -- sleep 1000
capture pm rm -f -t 0 c3
assert_eq 0 "$RC" "podman rm -f of a running container (stderr: $ERR)"

# ------------------------------------------------------- cgroup limits

if [ "$MODE" = rootless ]; then
  subskip "--memory/--pids-limit: rootless podman on this cgroup v1 host ignores limits"
elif [ "$HAS_CGROUPS" != 1 ]; then
  subskip "--memory/--pids-limit: this cove's features report no cgroup support"
  # ... and a limit must then be refused, never dropped
  capture prun --rm --pids-limit 50 -- true
  assert_ne 0 "$RC" "--pids-limit without cgroup support is refused"
  assert_contains "$ERR" "linux.resources.pids" "the refusal names the field"
else
  capture prun -d --name c4 --memory 64m --pids-limit 50 -- sleep 1000
  assert_eq 0 "$RC" "run -d --memory --pids-limit (stderr: $ERR)"
  capture pm inspect -f '{{.State.Pid}}' c4
  CPID=$OUT
  if [ -n "$CPID" ] && [ -e "/proc/$CPID/cgroup" ]; then
    note_pid "$CPID"
    f=$(cgfile "$CPID" memory memory.limit_in_bytes memory.max)
    assert_ne "" "$f" "memory limit file of the container's cgroup"
    [ -n "$f" ] && assert_eq 67108864 "$(cat "$f")" "memory limit ($f)"
    f=$(cgfile "$CPID" pids pids.max pids.max)
    assert_ne "" "$f" "pids limit file of the container's cgroup"
    [ -n "$f" ] && assert_eq 50 "$(cat "$f")" "pids limit ($f)"
  fi
  if has_cmd update; then
    capture pm update --memory 128m c4 2>/dev/null
    if [ "$RC" -eq 0 ] && [ -n "${f:-}" ]; then
      f=$(cgfile "$CPID" memory memory.limit_in_bytes memory.max)
      assert_eq 134217728 "$(cat "$f")" "memory limit after podman update"
    fi
  fi
  capture pm rm -f -t 0 c4
  assert_eq 0 "$RC" "podman rm -f c4 (stderr: $ERR)"
fi

# ------------------------------------------------ side by side with runc
# The same podman commands, default network, under cove and under runc
# (Debian's, `podman --runtime runc`); each result is checked against what
# it must be and cove's must equal runc's.

if [ "$MODE" = rootless ]; then
  subskip "podman --runtime runc side by side: root only (rootless podman on this cgroup v1 host drops limits and refuses pause)"
elif ! command -v runc >/dev/null 2>&1; then
  subskip "podman --runtime runc side by side: runc is not installed"
else
  printf '#!/bin/bash\nexec' >"$T/bin/pmr"
  printf ' %q' "${PMBASE[@]}" --runtime runc >>"$T/bin/pmr"
  echo ' "$@"' >>"$T/bin/pmr"
  chmod 0755 "$T/bin/pmr"
  declare -A R
  for rt in cove runc; do
    p=pm
    [ $rt = runc ] && p=pmr
    RO=("${RUNOPTS[@]}")

    # run, exit code, the default network from inside: eth0 on podman's
    # bridge subnet and the default sysctl set in the netns podman made
    capture $p run --rm "${RO[@]}" --rootfs "$ROOTFS" sh -c \
      'ip -o -4 addr show eth0 | awk "{print \$4}"; cat /proc/sys/net/ipv4/ping_group_range; exit 3'
    R[$rt.run]="rc=$RC $(sed 's/\.[0-9]*\.[0-9]*\//.X.X\//' <<<"$OUT" | tr '\t\n' '  ')"
    assert_eq 3 "$RC" "$rt: podman run sh -c 'exit 3' (stderr: $ERR)"
    assert_match "$OUT" $'^10\\.88\\.[0-9]+\\.[0-9]+/16\n0\t0$' "$rt: eth0 on podman's bridge, ping_group_range from the default config"

    # -d, exec, pause/unpause, stop
    capture $p run -d "${RO[@]}" --name "$rt-d" --rootfs "$ROOTFS" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
    R[$rt.rund]="rc=$RC"
    assert_eq 0 "$RC" "$rt: podman run -d (stderr: $ERR)"
    DCID=$OUT
    capture $p inspect -f '{{.State.Pid}} {{.NetworkSettings.SandboxKey}} {{.NetworkSettings.IPAddress}}' "$rt-d"
    read -r dpid sandbox ip <<<"$OUT"
    [ -n "$dpid" ] && note_pid "$dpid"
    assert_match "$sandbox" '^/run/netns/' "$rt: podman's netns (SandboxKey)"
    [ -n "$dpid" ] && [ -e "/proc/$dpid" ] && assert_eq "$(stat -L -c %i "$sandbox" 2>/dev/null)" \
      "$(stat -L -c %i "/proc/$dpid/ns/net")" "$rt: the container is in podman's netns"
    # the host reaches the container over podman's bridge (local only)
    capture "$ROOTFS/bin/busybox" ping -c 1 -W 5 "$ip"
    R[$rt.ping]="rc=$RC"
    assert_eq 0 "$RC" "$rt: ping $ip from the host over cni-podman0 ($OUT $ERR)"
    capture $p exec "$rt-d" sh -c 'echo "exec:$(cat /proc/1/cmdline | tr "\0" " ")"; exit 4'
    R[$rt.exec]="rc=$RC $OUT"
    assert_eq 4 "$RC" "$rt: podman exec exit status (stderr: $ERR)"
    assert_contains "$OUT" "exec:sh -c trap" "$rt: exec sees pid 1"
    capture $p pause "$rt-d"
    R[$rt.pause]="rc=$RC"
    capture $p inspect -f '{{.State.Status}}' "$rt-d"
    R[$rt.pause]+=" $OUT"
    assert_eq paused "$OUT" "$rt: status after podman pause (stderr: $ERR)"
    capture $p unpause "$rt-d"
    capture $p inspect -f '{{.State.Status}}' "$rt-d"
    R[$rt.unpause]="rc=$RC $OUT"
    assert_eq running "$OUT" "$rt: status after podman unpause"
    capture $p stop -t 10 "$rt-d"
    capture $p inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$rt-d"
    R[$rt.stop]="$OUT"
    assert_eq "exited 0" "$OUT" "$rt: podman stop (SIGTERM trapped, exit 0)"
    capture $p rm "$rt-d"
    assert_eq 0 "$RC" "$rt: podman rm (stderr: $ERR)"
    # podman tore the network down: netns, IP lease and NAT rules gone
    assert_eq "" "$(ls "$sandbox" 2>/dev/null)" "$rt: podman's netns removed"
    assert_eq "" "$(ls "/var/lib/cni/networks/podman/$ip" 2>/dev/null)" "$rt: IP lease released"
    assert_eq "" "$(iptables-save 2>/dev/null | grep -F "$DCID")" "$rt: no iptables rule of the container left"

    # --memory, read from the host side: the limit file of the container's
    # memory cgroup, found through /proc/PID/cgroup. (Not from inside: on
    # this hybrid host cove mounts only the cgroup2 hierarchy, which lacks
    # memory, at /sys/fs/cgroup, where runc mounts the v1 hierarchies.)
    if [ -n "$CGP" ]; then
      capture $p run -d "${RO[@]}" --name "$rt-m" --memory 64m --rootfs "$ROOTFS" sleep 1000
      R[$rt.memory]="rc=$RC"
      assert_eq 0 "$RC" "$rt: podman run -d --memory 64m (stderr: $ERR)"
      capture $p inspect -f '{{.State.Pid}}' "$rt-m"
      mpid=$OUT
      if [ -n "$mpid" ] && [ -e "/proc/$mpid/cgroup" ]; then
        note_pid "$mpid"
        f=$(cgfile "$mpid" memory memory.limit_in_bytes memory.max)
        R[$rt.memory]+=" $(cat "$f" 2>/dev/null)"
        assert_eq 67108864 "$(cat "$f" 2>/dev/null)" "$rt: --memory 64m in the container's cgroup ($f)"
      fi
      capture $p rm -f -t 0 "$rt-m"
      assert_eq 0 "$RC" "$rt: podman rm -f (stderr: $ERR)"
    fi
  done
  for k in run rund ping exec pause unpause stop memory; do
    [ -n "${R[runc.$k]+x}" ] || continue
    assert_eq "${R[runc.$k]}" "${R[cove.$k]}" "podman $k: cove's result = runc's"
    log "side by side $k: cove '${R[cove.$k]}' runc '${R[runc.$k]}'"
  done
fi

# ---------------------------------------------------------------- the end

capture pm ps -aq
assert_eq "" "$OUT" "podman has no containers left"
capture cv list -q
assert_eq "" "$OUT" "cove has no containers left in its state root"
