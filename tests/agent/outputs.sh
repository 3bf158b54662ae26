#!/usr/bin/env bash
# Files the orchestrator writes (issue 10 item 1): a task must not be able
# to point the orchestrator's outputs at a host file (planted symlinks in
# an output directory it can see), and outputs never overwrite anything.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

rw=$(policy rw '{"allow_unlimited": true, "workspace": {"writable": true}}')
victim=$T/victim
echo "precious" >"$victim"

# batch with the output directory inside the tasks' writable workspace: the
# first task plants t2.stdout -> victim, the second one's output would
# overwrite it. Every task must be refused instead.
cat >"$T/plant.jsonl" <<J
{"name": "t1", "command": "ln -s $victim /workspace/out/t2.stdout; ln -s $victim /workspace/out/t2.result.json; ln -s $victim /workspace/out/t2.stderr", "policy": "$rw", "workspace": "$WS"}
{"name": "t2", "command": "echo OVERWRITTEN", "policy": "$rw", "workspace": "$WS"}
J
capture "$COVE" agent batch "$T/plant.jsonl" --output "$WS/out"
assert_eq "precious" "$(cat "$victim")" "host file not overwritten through a planted symlink"
assert_eq 1 "$RC" "batch fails"
assert_contains "$(cat "$WS/out/t1.stderr" 2>/dev/null)" "which the sandbox sees at /workspace" "refused: output dir visible ($ERR)"
for id in $(jq -r '.id // empty' <<<"$OUT"); do RUN_IDS+=("$id"); done

# the default output directory is not the current directory (usually the
# workspace): a task planting ./cove-batch-out/... reaches nothing
rm -rf "$WS/out"
cat >"$T/plant2.jsonl" <<J
{"name": "t1", "command": "mkdir -p /workspace/cove-batch-out; ln -s $victim /workspace/cove-batch-out/t2.stdout", "policy": "$rw"}
{"name": "t2", "command": "echo OVERWRITTEN", "policy": "$rw"}
J
(cd "$WS" && "$COVE" agent batch "$T/plant2.jsonl" >"$T/b2.out" 2>"$T/b2.err")
assert_eq 0 "$?" "default output batch ($(cat "$T/b2.err"))"
assert_eq "precious" "$(cat "$victim")" "default output dir is outside the workspace"
assert_contains "$(cat "$T/b2.err")" "task outputs in $XDG_STATE_HOME/cove/batch/"
outdir=$(sed -n 's/^cove: agent batch: task outputs in //p' "$T/b2.err")
assert_eq "OVERWRITTEN" "$(cat "$outdir/t2.stdout")" "output in the default directory"
for id in $(jq -r '.id // empty' <"$T/b2.out"); do RUN_IDS+=("$id"); done
rm -rf "$WS/cove-batch-out"

# the JUnit report is never written through a link either
mkdir -p "$T/jdir"
ln -s "$victim" "$T/jdir/report.xml"
ln -s "$victim" "$T/jdir/report.xml.tmp"
echo "{\"name\": \"t1\", \"command\": \"echo hi\", \"policy\": \"$UNL\", \"workspace\": \"$WS\"}" >"$T/one.jsonl"
capture "$COVE" agent batch "$T/one.jsonl" --output "$T/o3" --junit "$T/jdir/report.xml"
assert_eq "precious" "$(cat "$victim")" "JUnit not written through a symlink"
assert_ne 0 "$RC" "existing JUnit path refused"
assert_contains "$ERR" "report.xml: already exists"
assert_eq "" "$(ls "$T/o3" 2>/dev/null)" "refused before any task ran"
for id in $(jq -r '.id // empty' <<<"$OUT"); do RUN_IDS+=("$id"); done

# run --stdout: a link planted by one run in the writable workspace is not
# followed by the next run
arun --policy "$rw" --workspace "$WS" -- ln -s "$victim" /workspace/agent.log
arun --policy "$rw" --workspace "$WS" --stdout "$WS/agent.log" -- echo OVERWRITTEN
assert_eq "precious" "$(cat "$victim")" "--stdout not followed through a symlink"
assert_eq 1 "$RC"
assert_contains "$ERR" "agent.log: already exists"
rm -f "$WS/agent.log"
# ... and a new file inside a mount the sandbox sees is refused too
arun --policy "$UNL" --workspace "$WS" --stdout "$WS/new.log" -- echo hi
assert_eq 1 "$RC" "--stdout inside the workspace refused"
assert_contains "$ERR" "which the sandbox sees at /workspace"
assert_eq "" "$(ls "$WS/new.log" 2>/dev/null)" "nothing created"
# a fresh file elsewhere works, an existing one is refused
arun --policy "$UNL" --workspace "$WS" --stdout "$T/fresh.log" -- echo hi
assert_eq 0 "$RC" "--stdout to a new file ($ERR)"
assert_eq hi "$(cat "$T/fresh.log")"
arun --policy "$UNL" --workspace "$WS" --stdout "$T/fresh.log" -- echo again
assert_eq 1 "$RC" "existing --stdout refused"
assert_contains "$ERR" "fresh.log: already exists"
assert_eq hi "$(cat "$T/fresh.log")"
