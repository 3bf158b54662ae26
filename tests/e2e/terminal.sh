#!/usr/bin/env bash
# process.terminal with --console-socket (tests/tools/recvtty receives the
# pty master).
. "$(dirname "$0")/../lib/common.sh"

RECVTTY=${COVE_RECVTTY:-}
[ -n "$RECVTTY" ] && [ -x "$RECVTTY" ] || skip "recvtty helper not built (COVE_RECVTTY)"

B=$T/bundle
mkbundle "$B"
cfg "$B" '.process.terminal = true'

# start_recvtty NAME: listens on $T/NAME.sock; output to $T/NAME.tty
start_recvtty() {
  local s=$T/$1.sock
  rm -f "$s"
  "$RECVTTY" --mode single "$s" </dev/null >"$T/$1.tty" 2>"$T/$1.rerr" &
  RECV_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do [ -S "$s" ] && return 0; sleep 0.05; done
  die "recvtty did not create $s: $(cat "$T/$1.rerr")"
}
wait_recvtty() {
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$RECV_PID" 2>/dev/null || { wait "$RECV_PID"; return $?; }
    sleep 0.05
  done
  kill "$RECV_PID" 2>/dev/null
  fail "recvtty did not finish (container side never hung up)"
  wait "$RECV_PID"
}

# --- run --detach with a terminal on a console socket
start_recvtty a
set_args "$B" sh -c 'tty; test -t 0 && echo stdin-is-tty; test -t 1 && echo stdout-is-tty; test -t 2 && echo stderr-is-tty; echo "term=$TERM"; stat -c %t:%T /dev/console 2>&1; exit 3'
newid
capture cv run --detach --console-socket "$T/a.sock" --bundle "$B" "$ID"
assert_eq 0 "$RC" "exit status of run --detach with a terminal (stderr: $ERR)"
wait_recvtty
assert_eq 0 "$?" "recvtty exit status ($(cat "$T/a.rerr"))"
wait_status "$ID" stopped 10
assert_ok cv delete "$ID"
TTY=$(tr -d '\r' <"$T/a.tty")
assert_eq /dev/pts/0 "$(sed -n 1p <<<"$TTY")" "tty inside the container"
assert_contains "$TTY" stdin-is-tty "terminal output"
assert_contains "$TTY" stdout-is-tty "terminal output"
assert_contains "$TTY" stderr-is-tty "terminal output"
assert_match "$TTY" $'(^|\n)88:0($|\n)' "/dev/console is a bind of the pty (major 0x88 = 136)"
assert_eq "" "$OUT" "cove's own stdout with a terminal (output goes to the pty)"
[ -e "$T/a.sock" ] && fail "console socket still exists"

# --- foreground run with a terminal and no console socket: cove makes the
# pty and proxies it to its own terminal (here a pty from python)
set_args "$B" sh -c 'tty; test -t 0 && echo stdin-is-tty; exit 3'
newid
capture timeout 20 python3 -c 'import pty, sys; st = pty.spawn(sys.argv[1:]); sys.exit(st >> 8 if st & 0xff == 0 else 99)' \
  "$COVE" --root "$STATE" run --bundle "$B" "$ID"
assert_eq 3 "$RC" "exit status of a foreground run with a terminal (stderr: $ERR)"
PTYOUT=$(tr -d '\r' <<<"$OUT")
assert_match "$PTYOUT" '(^|'$'\n'')/dev/pts/[0-9]+($|'$'\n'')' "tty inside a foreground terminal container"
assert_contains "$PTYOUT" stdin-is-tty "foreground terminal output"

# --- create / start with a terminal; input goes through
start_recvtty b
set_args "$B" sh -c 'echo ready-$0' "$TAG"
newid
capture cv create --console-socket "$T/b.sock" --bundle "$B" "$ID"
assert_eq 0 "$RC" "create with a terminal (stderr: $ERR)"
assert_status "$ID" created
assert_ok cv start "$ID"
wait_recvtty
wait_status "$ID" stopped 10
assert_ok cv delete "$ID"
assert_contains "$(tr -d '\r' <"$T/b.tty")" "ready-$TAG" "output of a created+started terminal container"

# --- input path: recvtty forwards its stdin to the pty
set_args "$B" sh -c 'echo ready; read line; echo "got:$line"'
mkfifo "$T/in"
s=$T/c.sock
"$RECVTTY" --mode single "$s" <"$T/in" >"$T/c.tty" 2>"$T/c.rerr" &
RECV_PID=$!
exec 7>"$T/in"
for ((i = 0; i < 100; i++)); do [ -S "$s" ] && break; sleep 0.05; done
newid
capture cv run --detach --console-socket "$s" --bundle "$B" "$ID"
assert_eq 0 "$RC" "run --detach with a terminal (stderr: $ERR)"
for ((i = 0; i < 100; i++)); do grep -q ready "$T/c.tty" 2>/dev/null && break; sleep 0.05; done
# (in a subshell ignoring SIGPIPE: if recvtty is gone the write just fails)
( trap '' PIPE; echo "hello-$TAG" >&7 ) 2>/dev/null
exec 7>&-
wait_recvtty
wait_status "$ID" stopped 10
assert_ok cv delete "$ID"
assert_contains "$(tr -d '\r' <"$T/c.tty")" "got:hello-$TAG" "input typed into the terminal"

# --- terminal without a console socket (create) is an error
newid
capture cv create --bundle "$B" "$ID"
assert_cove_error "console-socket"
assert_fail cv state "$ID"
