#!/usr/bin/env bash
# CVE-2017-5226: with a controlling terminal on the caller (script -qc), a
# container without process.terminal cannot TIOCSTI into it.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

command -v script >/dev/null || skip "script(1) (util-linux) not installed"
B=$T/bundle
secbundle "$B"
set_args "$B" tiocsti
newid
# script gives cove a controlling terminal; the shell after cove reads what
# is left in the terminal's input: an injected line would run there.
script -qec "$COVE --root $STATE run --bundle $B $ID; echo cove-rc=\$?; read -t 1 line; echo \"read=[\$line]\"" /dev/null >"$T/tty.out" 2>&1 </dev/null
out=$(tr -d '\r' <"$T/tty.out")
log "$out"
assert_contains "$out" "cove-rc=0" "container ran"
assert_match "$out" 'stdin errno=[0-9]+' "TIOCSTI on stdin fails"
assert_match "$out" 'devtty (open-)?errno=[0-9]+' "TIOCSTI on /dev/tty fails"
assert_not_contains "$out" "stdin ok" "TIOCSTI on stdin"
assert_not_contains "$out" "devtty ok" "TIOCSTI on /dev/tty"
assert_not_contains "$out" "read=[echo INJECTED" "input injected into the outer terminal"
