#!/usr/bin/env bash
# limits.disk: a disk budget is enforced or the run is refused (fail
# closed), never silently unlimited. No quota mechanism is wired up yet
# (see shims/agent/disk.c), so today every budget is refused.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

# refused, the message names the field; nothing is created
disk=$(policy disk '{"workspace": {"writable": true}, "limits": {"disk": "1G"}}')
arun --policy "$disk" --workspace "$WS" -- sh -c 'echo RAN'
assert_eq 1 "$RC" "disk budget that cannot be enforced refuses the run"
assert_not_contains "$OUT" "RAN" "refused run never started"
assert_contains "$ERR" "limits.disk cannot be enforced" "error names the field"
assert_contains "$ERR" "/workspace" "error names the unbounded mounts"
assert_contains "$(audit_of_last)" '"event":"limits","decision":"refuse","kind":"disk"' "audit: disk refusal"
assert_eq "" "$(ls -A "$RUNBASE" 2>/dev/null | grep -v '^\.' || true)" "no run directory left"
assert_eq "" "$(ls -A "$XDG_DATA_HOME/cove/groups" 2>/dev/null || true)" "no group directory created"
# with allow_unlimited the run goes ahead and the record and audit say so
diskun=$(policy diskun '{"allow_unlimited": true, "limits": {"disk": "1G"}}')
arun --policy "$diskun" --workspace "$WS" -- true
assert_eq 0 "$RC" "allow_unlimited runs without the disk budget (stderr: $ERR)"
assert_eq "not_enforced" "$(rec .disk)" "record: disk not enforced"
assert_eq 1073741824 "$(rec .disk_limit_bytes)" "record: the asked budget"
assert_contains "$(audit_of_last)" '"decision":"not_enforced","kind":"disk"' "audit: disk not enforced"
arun --policy "$UNL" --workspace "$WS" -- true
assert_eq "none" "$(rec .disk)" "record: no budget asked"
bad=$(policy baddisk '{"limits": {"disk": "lots"}}')
arun --policy "$bad" --workspace "$WS" -- true
assert_contains "$ERR" 'limits.disk: "lots"' "bad disk value names the field"
