#!/usr/bin/env bash
# The container cannot see, signal or ptrace the `cove run` process or
# anything else outside; `kill -9 -1` inside kills only container processes.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

[ -x "$SECROOTFS/bin/ptrace_probe" ] || die "security rootfs $SECROOTFS lacks the ptrace_probe probe (target security_progs)"
B=$T/bundle
secbundle "$B"
cfg "$B" '.process.capabilities = {bounding: ["CAP_KILL","CAP_SYS_PTRACE"], effective: ["CAP_KILL","CAP_SYS_PTRACE"], permitted: ["CAP_KILL","CAP_SYS_PTRACE"]}'
# a host process the container must not be able to reach
sleep "$SLEEPN" & victim=$!
set_args "$B" sh -c "ls /proc | grep -c '^[0-9]'; ptrace_probe $$ $victim; (sleep $SLEEPN &); sleep 0.2; kill -9 -1; echo after-kill"
newid
capture cv run --bundle "$B" "$ID"
log "rc=$RC out=$OUT err=$ERR"
assert_ne 124 "$RC" "cove run returned after kill -9 -1 inside"
alive "$victim" && pass || fail "host process $victim killed by the container"
kill "$victim" 2>/dev/null; wait "$victim" 2>/dev/null
# host pids do not exist in the container's pid namespace: ESRCH (3) for
# both; a missing or failing probe prints no such line
for p in $$ "$victim"; do
  assert_eq "$p ptrace errno=3 kill errno=3" "$(grep "^$p " <<<"$OUT")" "ptrace and kill(0) of host pid $p from inside"
done
n=$(sed -n 1p <<<"$OUT")
[ "${n:-99}" -le 3 ] && pass || fail "container sees $n pids in /proc (expected only its own)"
# kill -1 spares the sender (the container's pid 1): it goes on and cove
# run reports its status
assert_contains "$OUT" after-kill "pid 1 survives its own kill -9 -1"
assert_eq 0 "$RC" "cove run status after kill -9 -1 inside"
