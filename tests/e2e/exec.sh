#!/usr/bin/env bash
# cove exec: namespaces, exit status, detach + pid file, terminals, env/cwd/
# user, capabilities from --process, refusals, fds, seccomp, paused.
. "$(dirname "$0")/../lib/common.sh"

B=$T/bundle
mkbundle "$B"
set_args "$B" "${LONG[@]}"
newid; C=$ID
capture cv run --detach --bundle "$B" "$C"
assert_eq 0 "$RC" "run --detach (stderr: $ERR)"
cstate "$C"; INIT=$PID
note_pid "$INIT"

# --- the same namespaces as the init
for ns in pid mnt net uts ipc user cgroup; do
  host=$(readlink "/proc/$INIT/ns/$ns")
  capture cv exec "$C" readlink "/proc/self/ns/$ns"
  assert_eq 0 "$RC" "exec readlink $ns (stderr: $ERR)"
  assert_eq "$host" "$OUT" "$ns namespace of an exec'd process"
done
assert_ne "$(readlink /proc/self/ns/pid)" "$(readlink /proc/$INIT/ns/pid)" "container has its own pid namespace"
# pid 1 in there is the init, and the exec'd process is not pid 1
capture cv exec "$C" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $$'
assert_eq "sleep $SLEEPN " "$(sed -n 1p <<<"$OUT")" "pid 1 seen from exec"
assert_ne 1 "$(sed -n 2p <<<"$OUT")" "pid of the exec'd shell"

# --- exit status, including death by signal
capture cv exec "$C" sh -c 'exit 42'
assert_eq 42 "$RC" "exec exit status"
capture cv exec "$C" sh -c 'kill -TERM $$'
assert_eq 143 "$RC" "exec killed by SIGTERM: 128+15"
capture cv exec "$C" /no/such/binary
assert_cove_error "no/such/binary"

# --- env (exactly the container's + --env), cwd, user
export COVE_LEAK_CANARY=1
capture cv exec --env FOO=bar --env PATH=/bin:/usr/bin --cwd /tmp "$C" sh -c 'env; echo "cwd=$(pwd)"'
assert_eq 0 "$RC" "exec --env --cwd (stderr: $ERR)"
assert_contains "$OUT" "FOO=bar" "exec environment"
assert_contains "$OUT" "PATH=/bin:/usr/bin" "exec --env overrides the config's PATH"
assert_eq 1 "$(grep -c '^PATH=' <<<"$OUT")" "one PATH in the environment"
assert_not_contains "$OUT" COVE_LEAK_CANARY "caller's environment leaking into exec"
assert_contains "$OUT" "cwd=/tmp" "exec --cwd"
unset COVE_LEAK_CANARY
capture cv exec --cwd /no/such/dir "$C" true
assert_cove_error "process.cwd"
if [ "$MODE" = root ]; then
  capture cv exec --user 1000:1001 --additional-gids 1002 "$C" sh -c 'id -u; id -g; id -G'
  assert_eq 0 "$RC" "exec --user (stderr: $ERR)"
  assert_eq "1000 1001 1001 1002" "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')" "uid, gid, groups with --user 1000:1001 -g 1002"
fi
capture cv exec -u 0 "$C" id -u
assert_eq 0 "$OUT" "exec -u 0 (stderr: $ERR)"

# --- capabilities and noNewPrivileges from a --process file
jq -n --arg s "$SLEEPN" '{args: ["grep", "-E", "^(CapEff|CapBnd|CapPrm|NoNewPrivs):", "/proc/self/status"], cwd: "/", env: ["PATH=/bin"],
  user: {uid: 0, gid: 0}, noNewPrivileges: true,
  capabilities: {bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"]}}' >"$T/proc.json"
chmod o+r "$T/proc.json"
capture cv exec --process "$T/proc.json" "$C"
assert_eq 0 "$RC" "exec --process (stderr: $ERR)"
assert_match "$OUT" 'CapEff:[[:space:]]+0000000000000020' "CapEff with only CAP_KILL"
assert_match "$OUT" 'CapBnd:[[:space:]]+0000000000000020' "CapBnd with only CAP_KILL"
assert_match "$OUT" 'NoNewPrivs:[[:space:]]+1' "noNewPrivileges from the process file"
# --cap adds to the config's (empty in this test config? no: cove spec's defaults)
capture cv exec --cap CAP_SYS_PTRACE "$C" grep CapEff /proc/self/status
eff=$(awk '{print $2}' <<<"$OUT")
assert_ne 0 "$(( 0x$eff & (1 << 19) ))" "CAP_SYS_PTRACE (19) in CapEff with --cap CAP_SYS_PTRACE (got $eff)"
capture cv exec --cap CAP_BOGUS "$C" true
assert_cove_error 'CAP_BOGUS'
echo '{"args": []' >"$T/bad.json"; chmod o+r "$T/bad.json"
capture cv exec --process "$T/bad.json" "$C"
assert_cove_error "not valid JSON"

# --- no host fds; --preserve-fds passes exactly the asked ones
echo "secret-$TAG" >"$T/fd3"
capture bash -c 'exec 3<"$1" 7<"$1"; shift; exec "$@"' _ "$T/fd3" "$COVE" --root "$STATE" exec "$C" ls /proc/self/fd
assert_eq "0 1 2 3" "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')" "fds of an exec'd ls (3 is its own dir fd)"
capture bash -c 'exec 3<"$1" 7<"$1"; shift; exec "$@"' _ "$T/fd3" "$COVE" --root "$STATE" exec --preserve-fds 1 "$C" sh -c 'cat <&3; ls /proc/self/fd | tr "\n" " "'
assert_eq "secret-$TAG" "$(sed -n 1p <<<"$OUT")" "content read from a preserved fd (stderr: $ERR)"
assert_not_contains "$(sed -n 2p <<<"$OUT")" "7" "fd 7 beyond --preserve-fds"

# --- detach + pid file (written atomically: no temporary left)
capture cv exec --detach --pid-file "$T/exec.pid" "$C" "${LONG[@]}"
assert_eq 0 "$RC" "exec --detach (stderr: $ERR)"
XP=$(cat "$T/exec.pid" 2>/dev/null)
assert_match "$XP" '^[0-9]+$' "pid file content"
note_pid "$XP"
alive "$XP" || fail "detached exec'd process $XP is not running"
assert_eq "$(readlink /proc/$INIT/ns/pid)" "$(readlink /proc/$XP/ns/pid)" "pid namespace of the detached process"
assert_eq "" "$(ls "$T" | grep -F 'exec.pid.' )" "temporary pid files left"
assert_eq "0" "$(awk '/^Seccomp:/ {print $2}' /proc/$XP/status)" "no seccomp filter without linux.seccomp"

# --- terminal: foreground through cove's own proxy, and a console socket
capture timeout 20 python3 -c 'import pty, sys; st = pty.spawn(sys.argv[1:]); sys.exit(st >> 8 if st & 0xff == 0 else 99)' \
  "$COVE" --root "$STATE" exec -t "$C" sh -c 'tty; test -t 0 && echo stdin-is-tty; exit 5'
assert_eq 5 "$RC" "exit status of exec -t in the foreground"
assert_match "$(tr -d '\r' <<<"$OUT")" '(^|'$'\n'')/dev/pts/[0-9]+($|'$'\n'')' "tty of exec -t"
assert_contains "$OUT" stdin-is-tty "exec -t output"
capture cv exec -t --detach "$C" true
assert_cove_error "console-socket"
RECVTTY=${COVE_RECVTTY:-}
if [ -n "$RECVTTY" ] && [ -x "$RECVTTY" ]; then
  "$RECVTTY" --mode single "$T/tty.sock" </dev/null >"$T/tty.out" 2>"$T/tty.err" &
  RP=$!
  for ((i = 0; i < 100; i++)); do [ -S "$T/tty.sock" ] && break; sleep 0.05; done
  capture cv exec --tty --console-socket "$T/tty.sock" --detach --pid-file "$T/tty.pid" "$C" sh -c 'tty; echo done-$0' "$TAG"
  assert_eq 0 "$RC" "exec --tty --console-socket --detach (stderr: $ERR)"
  for ((i = 0; i < 100; i++)); do kill -0 "$RP" 2>/dev/null || break; sleep 0.05; done
  kill "$RP" 2>/dev/null; wait "$RP" 2>/dev/null
  TTY=$(tr -d '\r' <"$T/tty.out")
  assert_match "$TTY" '^/dev/pts/[0-9]+' "tty of exec over a console socket"
  assert_contains "$TTY" "done-$TAG" "output over the console socket"
  capture cv exec --console-socket "$T/tty.sock" "$C" true
  assert_cove_error "needs a terminal"
fi

# --- paused (frozen) containers are refused: root only, v1 freezer here
if [ "$MODE" = root ] && [ -f /sys/fs/cgroup/freezer/freezer.state ] 2>/dev/null || [ "$MODE" = root ] && [ -d /sys/fs/cgroup/freezer ]; then
  FRZ=/sys/fs/cgroup/freezer/$TAG-frz
  ORIG=$(awk -F: '$2 == "freezer" {print $3}' /proc/$INIT/cgroup)
  if mkdir "$FRZ" 2>/dev/null; then
    for p in $(cat /sys/fs/cgroup/freezer$ORIG/cgroup.procs); do
      [ "$(readlink /proc/$p/ns/pid)" = "$(readlink /proc/$INIT/ns/pid)" ] && echo "$p" >"$FRZ/cgroup.procs"
    done
    echo FROZEN >"$FRZ/freezer.state"
    capture cv exec "$C" true
    assert_cove_error "paused"
    echo THAWED >"$FRZ/freezer.state"
    for p in $(cat "$FRZ/cgroup.procs"); do echo "$p" >"/sys/fs/cgroup/freezer$ORIG/cgroup.procs"; done
    rmdir "$FRZ"
    assert_ok cv exec "$C" true
  fi
fi

# --- seccomp from the container's config applies to exec too
assert_ok cv delete --force "$C"
cfg "$B" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  syscalls: [{names: ["getcwd"], action: "SCMP_ACT_ERRNO", errnoRet: 38}]}'
newid; C=$ID
capture cv run --detach --bundle "$B" "$C"
assert_eq 0 "$RC" "run --detach with seccomp (stderr: $ERR)"
capture cv exec "$C" grep -E '^Seccomp(_filters)?:' /proc/self/status
assert_match "$OUT" 'Seccomp:[[:space:]]+2' "seccomp mode of an exec'd process"
assert_match "$OUT" 'Seccomp_filters:[[:space:]]+1' "one filter on an exec'd process"
capture cv exec --cwd /tmp "$C" sh -c 'cd /tmp && /bin/pwd -P'
assert_ne 0 "$RC" "getcwd under an ERRNO rule fails in exec (out: $OUT)"
assert_ok cv delete --force "$C"

# --- refusals: stopped, missing
set_args "$B" true
newid; C=$ID
assert_ok cv create --bundle "$B" "$C"
assert_ok cv start "$C"
wait_status "$C" stopped 10
capture cv exec "$C" true
assert_cove_error "container not running"
assert_ok cv delete "$C"
capture cv exec "$C" true
assert_cove_error "does not exist"
capture cv exec
assert_cove_error "container ID is required"
