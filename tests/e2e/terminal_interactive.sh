#!/usr/bin/env bash
# A foreground `run` / `exec -t` with a terminal, driven like a user at a
# keyboard (tests/tools/ptydrive.py on a pty of a known size): type a
# command, read its output, the exit status comes back; consoleSize is
# honoured on a console socket.
. "$(dirname "$0")/../lib/common.sh"
DRIVE=$TESTSRC/tools/ptydrive.py

B=$T/bundle
mkbundle "$B"
cfg "$B" '.process.terminal = true | .process.env = ["PATH=/bin:/usr/bin", "PS1=cove-prompt> ", "TERM=xterm"]'
set_args "$B" sh

# --- run: interactive shell, window size from the caller's terminal
newid
capture python3 "$DRIVE" 33 77 'cove-prompt> ' 'stty size; echo "answer-$((6*7))"; exit 4\n' -- \
  "$COVE" --root "$STATE" run --bundle "$B" "$ID"
OUTC=$(tr -d '\r' <<<"$OUT")
assert_eq 4 "$RC" "exit status typed into an interactive run (out: $OUTC)"
assert_match "$OUTC" '(^|'$'\n'')33 77($|'$'\n'')' "stty size inside = the caller's terminal size"
assert_match "$OUTC" '(^|'$'\n'')answer-42($|'$'\n'')' "command typed and evaluated inside"
assert_fail cv state "$ID"

# --- exec -t into a running container, interactively
set_args "$B" "${LONG[@]}"
cfg "$B" '.process.terminal = false'
newid; C=$ID
assert_ok cv run --detach --bundle "$B" "$C"
capture python3 "$DRIVE" 21 61 'cove-prompt> ' 'stty size; echo "pid1=$(cat /proc/1/comm)"; exit 6\n' -- \
  "$COVE" --root "$STATE" exec -t --env "PS1=cove-prompt> " "$C" sh
OUTC=$(tr -d '\r' <<<"$OUT")
assert_eq 6 "$RC" "exit status of an interactive exec -t (out: $OUTC)"
assert_match "$OUTC" '(^|'$'\n'')21 61($|'$'\n'')' "stty size inside exec -t"
assert_match "$OUTC" '(^|'$'\n'')pid1=sleep($|'$'\n'')' "exec -t runs inside the container"
assert_ok cv delete --force "$C"

# --- consoleSize on a console socket (no caller terminal to copy from)
RECVTTY=${COVE_RECVTTY:-}
[ -n "$RECVTTY" ] && [ -x "$RECVTTY" ] || skip "recvtty helper not built (COVE_RECVTTY)"
cfg "$B" '.process.terminal = true | .process.consoleSize = {height: 25, width: 91}'
set_args "$B" stty size
"$RECVTTY" --mode single "$T/s.sock" </dev/null >"$T/s.out" 2>"$T/s.err" &
RP=$!
for ((i = 0; i < 100; i++)); do [ -S "$T/s.sock" ] && break; sleep 0.05; done
newid
capture cv run --detach --console-socket "$T/s.sock" --bundle "$B" "$ID"
assert_eq 0 "$RC" "run --detach with consoleSize (stderr: $ERR)"
for ((i = 0; i < 100; i++)); do kill -0 "$RP" 2>/dev/null || break; sleep 0.05; done
kill "$RP" 2>/dev/null; wait "$RP" 2>/dev/null
wait_status "$ID" stopped 10
assert_ok cv delete "$ID"
assert_eq "25 91" "$(tr -d '\r' <"$T/s.out")" "stty size with consoleSize 25x91"
