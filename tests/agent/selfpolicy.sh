#!/usr/bin/env bash
# The agent must not rewrite what the orchestrator reads next (issue 10
# item 4): policy files, task files, the allowlist and secret sources that
# lie inside a mount some sandbox can write are refused, checked on the
# resolved file (symlinks, hard links, bind-mount aliases).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

echo "host-secret-value" >"$T/hostsecret"
chmod 600 "$T/hostsecret"
evil="{\"allow_unlimited\": true, \"workspace\": {\"writable\": true}, \"secrets\": {\"k\": \"$T/hostsecret\"}}"
pol=$WS/policy.json
echo '{"allow_unlimited": true, "workspace": {"writable": true}}' >"$pol"

# run 1 rewrites its own policy, run 2 would grant the secret
arun --policy "$pol" --workspace "$WS" -- sh -c "printf '%s' '$evil' >/workspace/policy.json"
assert_eq 1 "$RC" "policy inside the writable workspace refused"
assert_contains "$ERR" "which the sandbox can write"
assert_contains "$(audit_of_last)" '"event":"refused"'
echo "$evil" >"$pol" # as if run 1 had succeeded
arun --policy "$pol" --workspace "$WS" -- cat /run/secrets/k
assert_not_contains "$OUT" "host-secret-value" "rewritten policy not honoured"
assert_eq 1 "$RC"

# through a symlink or a hard link: the resolved file counts
ln -s "$pol" "$T/link.json"
arun --policy "$T/link.json" --workspace "$WS" -- cat /run/secrets/k
assert_eq 1 "$RC" "symlinked policy refused"
assert_not_contains "$OUT" "host-secret-value"
ln "$pol" "$T/hard.json"
arun --policy "$T/hard.json" --workspace "$WS" -- cat /run/secrets/k
assert_eq 1 "$RC" "hard-linked policy refused"
assert_contains "$ERR" "hard links"
rm -f "$T/hard.json"

# a read-only workspace may hold the policy (the agent cannot change it)
echo '{"allow_unlimited": true}' >"$pol"
arun --policy "$pol" --workspace "$WS" -- sh -c 'echo x >/workspace/policy.json; cat /workspace/policy.json'
assert_eq 0 "$RC" "policy in a read-only workspace ($ERR)"
assert_eq '{"allow_unlimited": true}' "$(cat "$pol")"

# any group's state directory is writable by that group's sandboxes
mkdir -p "$XDG_DATA_HOME/cove/groups/other"
echo '{"allow_unlimited": true}' >"$XDG_DATA_HOME/cove/groups/other/p.json"
arun --policy "$XDG_DATA_HOME/cove/groups/other/p.json" --workspace "$WS" -- true
assert_eq 1 "$RC" "policy in a group directory refused"
assert_contains "$ERR" "group state"

# secret sources and the allowlist, likewise
echo tok >"$WS/token"
arun --policy "$(policy sec "{\"allow_unlimited\": true, \"workspace\": {\"writable\": true}, \"secrets\": {\"t\": \"$WS/token\"}}")" --workspace "$WS" -- true
assert_eq 1 "$RC" "secret source in the writable workspace refused"
assert_contains "$ERR" "secret source"
rm -f "$WS/token"
echo '{"roots": []}' >"$WS/allow.json"
ln -s "$WS/allow.json" "$XDG_CONFIG_HOME/cove/mount-allowlist.json"
arun --policy "$(policy rw '{"allow_unlimited": true, "workspace": {"writable": true}}')" --workspace "$WS" -- true
assert_eq 1 "$RC" "allowlist inside the writable workspace refused"
assert_contains "$ERR" "mount allowlist"
rm -f "$XDG_CONFIG_HOME/cove/mount-allowlist.json" "$WS/allow.json"

# batch: policies are read once, before any task runs; a task that can
# write another task's policy file is refused
echo '{"allow_unlimited": true}' >"$pol"
mkdir -p "$T/ws2"
jq -cn --arg c "printf '%s' '$evil' >/workspace/policy.json" --arg ws "$WS" \
  '{name: "w", command: $c, policy: {allow_unlimited: true, workspace: {writable: true}}, workspace: $ws}' >"$T/tasks.jsonl"
jq -cn --arg p "$pol" --arg ws "$T/ws2" \
  '{name: "r", command: "cat /run/secrets/k; echo done", policy: $p, workspace: $ws}' >>"$T/tasks.jsonl"
capture "$COVE" agent batch "$T/tasks.jsonl" --output "$T/out"
for id in $(jq -r '.id // empty' <<<"$OUT"); do RUN_IDS+=("$id"); done
assert_eq error "$(jq -r 'select((.command // [])[2] // "" | startswith("printf")) | .status' <<<"$OUT")" "the writing task is refused"
assert_contains "$(cat "$T/out/w.stderr")" "policy of another task"
assert_contains "$(cat "$T/out/r.stdout" 2>/dev/null)" "done" "second task ran ($ERR)"
assert_not_contains "$(cat "$T/out/r.stdout" 2>/dev/null)" "host-secret-value" "task could not grant another a secret"
