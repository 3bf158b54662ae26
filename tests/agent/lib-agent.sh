# shellcheck shell=bash
# Helpers for the agent orchestrator tests. Source after common.sh:
#   . "$(dirname "$0")/../lib/common.sh"; . "$(dirname "$0")/lib-agent.sh"
# Every test gets private XDG directories under $T (group state, audit log,
# allowlist), so runs never see each other's state.
export XDG_DATA_HOME=$T/xdg/data XDG_CONFIG_HOME=$T/xdg/config XDG_STATE_HOME=$T/xdg/state
mkdir -p "$XDG_CONFIG_HOME/cove"
# a private run base too, so "nothing created" checks see only our runs
export XDG_RUNTIME_DIR=$T/xdg/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
RUNBASE=$XDG_RUNTIME_DIR/cove-agent
AUDIT_DIR=$XDG_STATE_HOME/cove/audit
# This host may not enforce cgroup limits yet: tests that are not about
# limits explicitly allow running without them.
UNL=$T/unlimited.json
echo '{"allow_unlimited": true}' >"$UNL"
RUN_IDS=()

# policy NAME JSON: write $T/NAME.json, print its path
policy() { printf '%s\n' "$2" >"$T/$1.json"; echo "$T/$1.json"; }

# arun ARGS... : cove agent run ARGS --json (OUT = agent stdout without the
# record, REC = the result record, RC). Remembers the run id.
arun() {
  capture "$COVE" agent run --json "$@"
  # the record is the last line; the agent's output may not end in \n
  REC=$(grep -o '{"id":"a[0-9a-f]*",.*$' <<<"$OUT" | tail -n1)
  OUT=$(sed 's/{"id":"a[0-9a-f]*",.*$//' <<<"$OUT")
  local id
  id=$(jq -r '.id // empty' <<<"$REC" 2>/dev/null)
  [ -n "$id" ] && RUN_IDS+=("$id")
  return 0
}

# arun_notimeout ARGS...: as arun, without capture's own timeout (whose
# exit status 124 would be taken for the harness timing out; the
# orchestrator uses 124 for its own --timeout, like timeout(1))
arun_notimeout() {
  "$COVE" agent run --json "$@" </dev/null >"$T/.arun.out" 2>"$T/.arun.err"
  RC=$?
  OUT=$(cat "$T/.arun.out")
  ERR=$(cat "$T/.arun.err")
  REC=$(grep -o '{"id":"a[0-9a-f]*",.*$' <<<"$OUT" | tail -n1)
  OUT=$(sed 's/{"id":"a[0-9a-f]*",.*$//' <<<"$OUT")
  local id
  id=$(jq -r '.id // empty' <<<"$REC" 2>/dev/null)
  [ -n "$id" ] && RUN_IDS+=("$id")
  return 0
}

# rec FIELD: a field of the last result record
rec() { jq -r "$1" <<<"$REC"; }

# audit_of_last [GROUP]: the audit lines of the last run
audit_of_last() {
  local id
  id=$(rec .id)
  grep -hF "\"run\":\"$id\"" "$AUDIT_DIR/groups/${1:-default}.jsonl" 2>/dev/null
}

# Leftovers of the agent layer: run dirs of our runs, sandbox processes.
_agent_leftovers() {
  local id bad=0
  for id in "${RUN_IDS[@]}"; do
    if [ -e "$RUNBASE/$id" ]; then
      echo "LEFTOVER: run dir $RUNBASE/$id"
      bad=1
      rm -rf --one-file-system "${RUNBASE:?}/$id"
    fi
  done
  return $bad
}
_agent_finish() {
  local rc=$?
  if ! _agent_leftovers; then FAILS=$((FAILS + 1)); fi
  (exit $rc)
  _finish
}
trap _agent_finish EXIT

WS=$T/ws
mkdir -p "$WS"
echo "readme" >"$WS/README"
