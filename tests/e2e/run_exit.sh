#!/usr/bin/env bash
# `cove run` returns the container's exit status (128+N for signal N);
# --detach, --pid-file.
. "$(dirname "$0")/../lib/common.sh"

B=$T/bundle
mkbundle "$B"

run_in "$B" true
assert_eq 0 "$RC" "exit status of true"
assert_eq "" "$ERR" "stderr of run true"
run_in "$B" false
assert_eq 1 "$RC" "exit status of false"
run_in "$B" sh -c 'exit 42'
assert_eq 42 "$RC" "exit status of exit 42"
run_in "$B" sh -c 'exit 255'
assert_eq 255 "$RC" "exit status of exit 255"
# killed by a signal: 128+N. (The container's pid 1 can't SIGKILL itself
# inside its pid namespace, so kill it from outside while `run` waits.)
set_args "$B" "${LONG[@]}"
newid; K=$ID
timeout 20 "$COVE" --root "$STATE" run --bundle "$B" "$K" </dev/null >"$T/k.out" 2>"$T/k.err" &
runpid=$!
wait_status "$K" running 10
assert_ok cv kill "$K" KILL
wait "$runpid"
assert_eq 137 "$?" "exit status of run when the container is SIGKILLed: $(cat "$T/k.err")"
capture cv state "$K"
assert_cove_error "does not exist"
# a process that is not pid 1 kills itself: no pid namespace needed for
# that, so use a child shell whose status sh propagates with exec
run_in "$B" sh -c 'sh -c "kill -9 \$\$"; exit $?'
assert_eq 137 "$RC" "exit status propagated from a SIGKILLed child (sanity)"
# stdout and stderr of the container reach the caller's, separately
run_in "$B" sh -c 'echo out-$0; echo err-$0 >&2' "$TAG"
assert_eq 0 "$RC" "exit status"
assert_eq "out-$TAG" "$OUT" "container stdout"
assert_eq "err-$TAG" "$ERR" "container stderr"
# stdin is passed through (terminal false)
printf 'line1\nline2\n' >"$T/input"
set_args "$B" sh -c 'wc -l'
newid
CAPTURE_STDIN=$T/input capture cv run --bundle "$B" "$ID"
assert_eq 0 "$RC" "exit status of wc"
assert_eq 2 "$(tr -d ' ' <<<"$OUT")" "lines read from stdin"
# a nonexistent executable is an error, not a silent 0
run_in "$B" /nonexistent-binary
assert_ne 0 "$RC" "exit status running a missing binary"
assert_contains "$ERR" "nonexistent-binary" "stderr running a missing binary"
# every `run` removed its container
capture cv list -q
assert_eq "" "$OUT" "list -q after several runs"

# --- detach + pid file
set_args "$B" "${LONG[@]}"
newid
assert_ok cv run --detach --pid-file "$T/pidfile" --bundle "$B" "$ID"
assert_status "$ID" running
RPID=$PID
[ -f "$T/pidfile" ] || fail "--pid-file $T/pidfile not written"
assert_eq "$RPID" "$(cat "$T/pidfile" 2>/dev/null)" "pid file contents vs state.pid"
cl=$([ -n "$RPID" ] && tr "\0" " " <"/proc/$RPID/cmdline" 2>/dev/null)
assert_eq "sleep $SLEEPN " "$cl" "cmdline of the detached container's pid"
assert_ok cv kill "$ID" KILL
wait_status "$ID" stopped 10
assert_ok cv delete "$ID"
assert_fail cv state "$ID"

# --- create --pid-file, relative bundle path
newid
( cd "$T" && capture cv create --bundle bundle --pid-file pf "$ID"
  [ "$RC" -eq 0 ] || echo "FAIL: create with relative paths: $ERR" ) | tee "$T/.sub"
grep -q '^FAIL' "$T/.sub" && fail "create with a relative --bundle/--pid-file"
assert_status "$ID" created
assert_eq "$B" "$(jq -r .bundle <<<"$OUT")" "state.bundle is absolute"
assert_eq "$PID" "$(cat "$T/pf" 2>/dev/null)" "pid file of create (relative path)"
assert_ok cv delete --force "$ID"

# --- run with the bundle defaulting to the current directory
set_args "$B" sh -c 'echo cwd-bundle'
newid
( cd "$B" && timeout 20 "$COVE" --root "$STATE" run "$ID" </dev/null >"$T/o" 2>"$T/e"; echo $? >"$T/rc" )
assert_eq 0 "$(cat "$T/rc")" "run without --bundle in the bundle dir: $(cat "$T/e")"
assert_eq cwd-bundle "$(cat "$T/o")" "output of run without --bundle"
