#!/usr/bin/env bash
# Audit flood (issue 10, item 9): a loop of denied syscalls does not turn
# into a line per call. The first few of each syscall are logged, the rest
# counted in a seccomp_summary line; the run's audit volume is bounded by
# the budget (AGENT_AUDIT_BUDGET, 1 MiB); the end line is always there.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

calls=20000
arun --policy "$UNL" --workspace "$WS" -- python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
denied = 0
for i in range($calls):
    if libc.syscall(250, 0, 0, 0, 0, 0) < 0 and ctypes.get_errno() == 1: denied += 1
print('denied', denied)"
assert_eq 0 "$RC" "flood run ($ERR)"
assert_contains "$OUT" "denied $calls" "every keyctl denied with EPERM"
assert_eq "$calls" "$(rec .denials.seccomp)" "every denial counted"
audit=$(audit_of_last)
logged=$(grep -c '"event":"seccomp","decision":"deny","syscall":"keyctl"' <<<"$audit")
summary=$(grep '"event":"seccomp_summary"' <<<"$audit" | grep '"syscall":"keyctl"' | tail -n1)
assert_contains "$summary" '"final":true' "a final summary line"
count=$(jq -r .count <<<"$summary" 2>/dev/null)
assert_eq "$calls" "$count" "the summary counts every denial"
assert_eq 10 "$logged" "only the first denials logged one by one"
assert_contains "$audit" '"event":"end"' "end line present"
# bound from the budget, not from timing: the run's lines never exceed
# the budget plus the final lines (a summary per syscall and end)
bytes=$(wc -c <<<"$audit")
assert_eq 1 "$((bytes < 1024 * 1024 + 64 * 1024))" "run's audit lines bounded ($bytes bytes)"
size=$(stat -c %s "$AUDIT_DIR/groups/default.jsonl")
assert_eq 1 "$((size < 1024 * 1024 + 64 * 1024))" "audit file bounded ($size bytes)"
