#!/usr/bin/env bash
# `cove agent` honours the global options: --root holds its run
# directories (and the container state in them), --log/--log-format get
# its error messages; usage errors exit 1 and start nothing.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../agent/lib-agent.sh"

AROOT=$T/agent-root
mkdir -p "$AROOT" "$WS"
chmod 700 "$AROOT"

# --- --root: the run directory and the container state live under it
RW=$(policy rw '{"allow_unlimited": true, "workspace": {"writable": true}}')
"$COVE" --root "$AROOT" agent run --policy "$RW" --workspace "$WS" -- \
  sh -c 'touch /workspace/started; while [ ! -e /workspace/go ]; do sleep 0.05; done' \
  </dev/null >"$T/run.out" 2>"$T/run.err" &
APID=$!
for ((i = 0; i < 400; i++)); do
  [ -e "$WS/started" ] && break
  alive "$APID" || break
  sleep 0.05
done
[ -e "$WS/started" ] || fail "the agent's command never ran: $(cat "$T/run.err")"
state=$(find "$AROOT" -mindepth 3 -maxdepth 3 -path '*/state/*' -type d)
assert_ne "" "$state" "container state under --root $AROOT"
assert_eq "" "$(ls -A "$RUNBASE" 2>/dev/null)" "nothing in the default run base $RUNBASE"
touch "$WS/go"
wait "$APID"
assert_eq 0 "$?" "agent run under --root (stderr: $(cat "$T/run.err"))"
# .gc-stamp: when gc last swept this run base (docs/agent.md), not a run
assert_eq "" "$(ls -A "$AROOT" | grep -vx '.gc-stamp')" "run directory under --root removed after the run"

# --- --log --log-format json: the agent's error is a JSON log line
capture "$COVE" --log "$T/agent.log" --log-format json agent run --policy "$T/nonexistent.json" -- true
assert_eq 1 "$RC" "agent run with a missing policy"
line=$(grep -F nonexistent.json "$T/agent.log" 2>/dev/null | head -n1)
assert_ne "" "$line" "agent error in --log $T/agent.log ($(cat "$T/agent.log" 2>/dev/null))"
assert_eq error "$(jq -r .level <<<"$line" 2>&1)" "log line level"
assert_contains "$(jq -r .msg <<<"$line" 2>&1)" "agent: " "log line msg"
assert_contains "$ERR" "nonexistent.json" "the error is still shown on stderr"

# --- usage errors: exit 2 (the agent's 1 means "no sandbox"), a message
# naming the option
capture "$COVE" --log "$T/usage.log" agent run --bogus -- true
assert_eq 2 "$RC" "agent run --bogus"
assert_contains "$(cat "$T/usage.log")" "unknown option --bogus" "usage error in --log"
capture "$COVE" agent batch
assert_eq 2 "$RC" "agent batch without a task file"
capture "$COVE" agent run --help
assert_eq 0 "$RC" "agent run --help"
assert_contains "$OUT" "Usage: cove agent" "agent run --help on stdout"
