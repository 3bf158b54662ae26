#!/usr/bin/env bash
# Bad policies and arguments: refused before anything is created, with the
# field named; no run dir, no group dir, no sandbox.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

mkdir -p "$T/src/.ssh" "$T/src/ok"
bad() { # FIELD_SUBSTRING POLICY_JSON [extra args]
  local want=$1 json=$2; shift 2
  local p
  p=$(policy bad "$json")
  local before
  before=$(ls "$RUNBASE" 2>/dev/null | sort)
  capture "$COVE" agent run --group badgroup --policy "$p" --workspace "$WS" "$@" -- true
  assert_eq 1 "$RC" "refused: $json"
  assert_contains "$ERR" "cove: agent: " "error message"
  assert_contains "$ERR" "$want" "message names the field for $json"
  assert_eq "$before" "$(ls "$RUNBASE" 2>/dev/null | sort)" "no run dir created for $json"
  [ -e "$XDG_DATA_HOME/cove/groups/badgroup" ] && fail "group dir created for a refused policy: $json"
}
echo '{"roots": [{"path": "'"$T/src"'", "writable": true}]}' >"$XDG_CONFIG_HOME/cove/mount-allowlist.json"

bad 'not valid JSON' '{"network": '
bad 'expected a JSON object' '[1]'
bad 'netwrok: unknown field' '{"netwrok": "none"}'
bad 'network: "wifi"' '{"network": "wifi"}'
bad 'network.allow: missing' '{"network": {}}'
bad 'network.allow[0]: "exa mple.com"' '{"network": {"allow": ["exa mple.com"]}}'
bad 'workspace.writable: expected boolean' '{"workspace": {"writable": "yes"}}'
bad 'workspace.rw: unknown field' '{"workspace": {"rw": true}}'
bad 'limits.memory' '{"limits": {"memory": "lots"}}'
bad 'limits.memory: below 4 MiB' '{"limits": {"memory": 1000}}'
bad 'limits.cpus' '{"limits": {"cpus": -1}}'
bad 'limits.pids' '{"limits": {"pids": 0}}'
bad 'limits.timeout' '{"limits": {"timeout": "soon"}}'
bad 'limits.swap: unknown field' '{"limits": {"swap": 1}}'
bad 'allow_unlimited: expected boolean' '{"allow_unlimited": "true"}'
bad 'rootfs: "rootfs" must be an absolute path' '{"rootfs": "rootfs"}'
bad 'env.1X: invalid name' '{"env": {"1X": "y"}}'
bad 'env.HTTP_PROXY: set by the orchestrator' '{"env": {"HTTP_PROXY": "x"}}'
bad 'env.A: expected string' '{"env": {"A": 1}}'
bad 'secrets.tok: "tok.txt" must be an absolute path' '{"secrets": {"tok": "tok.txt"}}'
bad 'secrets.tok' '{"secrets": {"tok": "/nonexistent/x"}}'
bad 'mounts[0].source: "rel" must be an absolute path' '{"mounts": [{"source": "rel", "destination": "/d"}]}'
bad 'mounts[0].destination: "d" must be an absolute path' '{"mounts": [{"source": "/tmp", "destination": "d"}]}'
bad 'mounts[0].destination: "/x/../etc" must not contain ".."' '{"mounts": [{"source": "/tmp", "destination": "/x/../etc"}]}'
bad 'mounts[0].destination: "/workspace/x" overlaps /workspace' '{"mounts": [{"source": "/tmp", "destination": "/workspace/x"}]}'
bad 'mounts[0].destination: "/etc" overlaps /etc' '{"mounts": [{"source": "/tmp", "destination": "/etc"}]}'
bad 'mounts[1].destination: "/data/sub" overlaps mounts[0].destination "/data"' \
  '{"mounts": [{"source": "'"$T/src/ok"'", "destination": "/data"}, {"source": "'"$T/src/ok"'", "destination": "/data/sub"}]}'
bad 'mounts[0].source: '"$T"'/src/.ssh matches the blocked pattern ".ssh"' \
  '{"mounts": [{"source": "'"$T/src/.ssh"'", "destination": "/data"}]}'
bad 'mounts[0].source' '{"mounts": [{"source": "'"$T/src/missing"'", "destination": "/data"}]}'
bad 'mounts[0].mode: unknown field' '{"mounts": [{"source": "/tmp", "destination": "/d", "mode": "rw"}]}'

# arguments
for g in "../x" ".hidden" "a/b" ""; do
  capture "$COVE" agent run --group "$g" --policy "$UNL" --workspace "$WS" -- true
  assert_eq 1 "$RC" "group '$g' refused"
  assert_contains "$ERR" "--group"
done
capture "$COVE" agent run --policy "$UNL" --workspace "$WS" --timeout forever -- true
assert_contains "$ERR" '--timeout "forever"'
capture "$COVE" agent run --policy "$UNL" --workspace "$T/src/.ssh" -- true
assert_contains "$ERR" 'matches the blocked pattern ".ssh"' "blocked workspace refused"
capture "$COVE" agent run --policy "$UNL" --workspace / -- true
assert_contains "$ERR" "--workspace /: refusing"
mkdir -p "$XDG_DATA_HOME/cove"
capture "$COVE" agent run --policy "$UNL" --workspace "$T/xdg" -- true
assert_contains "$ERR" "cove's own directory" "workspace containing cove's state refused"
capture "$COVE" agent run --policy "$T/nonexistent.json" -- true
assert_contains "$ERR" "--policy"
capture "$COVE" agent run --policy "$UNL"
assert_eq 2 "$RC" "no command: usage error"
capture "$COVE" agent run --bogus -- true
assert_eq 2 "$RC" "unknown option: usage error"
echo '{"roots": [{"path": "relative"}]}' >"$XDG_CONFIG_HOME/cove/mount-allowlist.json"
capture "$COVE" agent run --policy "$UNL" --workspace "$WS" -- true
assert_contains "$ERR" 'mount allowlist' "bad allowlist refused"
assert_contains "$ERR" 'roots[0].path'
