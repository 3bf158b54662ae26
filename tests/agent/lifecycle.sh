#!/usr/bin/env bash
# Timeout, signals to the orchestrator, orchestrator SIGKILL + gc, limits
# fail closed, seccomp denials in the audit log, exit status.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

# exit status and signal pass through
arun --policy "$UNL" --workspace "$WS" -- sh -c 'exit 7'
assert_eq 7 "$RC" "exit code passes through"
assert_eq 7 "$(rec .exit_code)"
assert_eq failed "$(rec .status)"
# PID 1 ignores signals it has no handler for, but abort() ends in a
# forced SIGSEGV/SIGABRT
arun --policy "$UNL" --workspace "$WS" -- python3 -c 'import os; os.abort()'
assert_match "$(rec .signal)" '^SIG(SEGV|ABRT)$' "death by signal reported"
assert_eq null "$(rec .exit_code)"

# timeout kills the whole sandbox, grandchildren included
arun_notimeout --policy "$UNL" --workspace "$WS" --timeout 1s -- sh -c "(sleep $SLEEPN &) ; sleep $SLEEPN"
assert_eq 124 "$RC" "timeout exit status"
assert_eq true "$(rec .timed_out)"
assert_eq timeout "$(rec .status)"
assert_eq SIGKILL "$(rec .signal)"
sleep 0.2
assert_eq "" "$(pgrep -f "sleep $SLEEPN")" "no sandbox process survives the timeout"
assert_contains "$(audit_of_last)" '"event":"limit","kind":"timeout","timeout_ms":1000,"action":"kill sandbox"'
assert_contains "$(audit_of_last)" '"event":"end","status":"timeout"'

# SIGTERM to the orchestrator kills the sandbox and is reported
"$COVE" agent run --policy "$UNL" --workspace "$WS" --json -- sleep "$SLEEPN" >"$T/term.out" 2>&1 &
orch=$!
# the sandbox's own sleep, not the orchestrator whose argv contains it too
for _ in $(seq 200); do pgrep -f "^sleep $SLEEPN" >/dev/null && break; sleep 0.05; done
kill -TERM "$orch"
wait "$orch"
assert_eq 143 "$?" "orchestrator exit status after SIGTERM"
assert_contains "$(cat "$T/term.out")" '"status":"interrupted"'
RUN_IDS+=("$(grep -o '"id":"a[0-9a-f]*"' "$T/term.out" | cut -d'"' -f4)")
sleep 0.2
assert_eq "" "$(pgrep -f "sleep $SLEEPN")" "sandbox gone after SIGTERM"

# orchestrator SIGKILL: the sandbox dies with it (PDEATHSIG on its PID 1),
# gc removes the run directory left behind
"$COVE" agent run --policy "$UNL" --workspace "$WS" -- sleep "$SLEEPN" >/dev/null 2>&1 &
orch=$!
for _ in $(seq 200); do pgrep -f "^sleep $SLEEPN" >/dev/null && break; sleep 0.05; done
before=$(ls "$RUNBASE")
kill -KILL "$orch"
wait "$orch" 2>/dev/null
gone "$(pgrep -f "sleep $SLEEPN" | head -1)" 3 2>/dev/null
assert_eq "" "$(pgrep -f "sleep $SLEEPN")" "sandbox died with its orchestrator"
assert_ne "" "$before" "a run dir existed"
capture "$COVE" agent gc
assert_eq 0 "$RC" "gc ($ERR)"
assert_contains "$OUT" "removed"
for d in $before; do
  [ -e "$RUNBASE/$d" ] && fail "gc left $RUNBASE/$d"
done
capture "$COVE" agent gc
assert_contains "$OUT" "0 leftover runs removed" "second gc finds nothing"

# seccomp denials reach the audit log through the notify listener
arun --policy "$UNL" --workspace "$WS" -- sh -c 'unshare -U true 2>/dev/null; echo rc=$?'
assert_contains "$OUT" "rc=1" "unshare refused with EPERM"
assert_eq 1 "$(rec .denials.seccomp)" "one seccomp denial counted"
assert_contains "$(audit_of_last)" '"event":"seccomp","decision":"deny","syscall":"unshare"'

# limits: with the default policy, either the host enforces them or the
# run is refused (fail closed) with a clear message and an audit line
arun --workspace "$WS" -- true
if [ "$RC" -eq 0 ]; then
  assert_eq true "$(rec .limits_enforced)" "ran, so limits are enforced"
else
  assert_contains "$ERR" "limits cannot be enforced on this host"
  assert_contains "$ERR" "allow_unlimited"
  assert_contains "$(audit_of_last)" '"event":"limits","decision":"refuse"'
fi
arun --policy "$UNL" --workspace "$WS" -- true
if [ "$(rec .limits_enforced)" = false ]; then
  assert_contains "$(audit_of_last)" '"event":"limits","decision":"not_enforced"' "unlimited run says so in the audit log"
fi
# the audit's "start" line says what the record says
start=$(grep -F '"event":"start"' <<<"$(audit_of_last)")
assert_contains "$start" "\"limits_enforced\":$(rec .limits_enforced)" "audit start line: limits_enforced"
