#!/usr/bin/env bash
# create → start → stopped → delete, the state document, and the errors for
# every wrong step.
. "$(dirname "$0")/../lib/common.sh"

B=$T/bundle
mkbundle "$B"
cfg "$B" '.annotations = {"org.cove.test": "lifecycle"}'
# long enough that a loaded (ASan, -j) machine still sees it running after start
set_args "$B" sh -c 'sleep 3; true' "lc-$TAG"

# --- create
newid; C=$ID
assert_ok cv create --bundle "$B" "$C"
assert_status "$C" created
CPID=$PID
assert_match "$CPID" '^[1-9][0-9]*$' "pid of created container"
alive "$CPID" || fail "created container's process $CPID does not exist"
cl=$(tr '\0' ' ' <"/proc/$CPID/cmdline" 2>/dev/null)
assert_not_contains "$cl" "lc-$TAG" "cmdline of the created (not yet exec'd) process"
# the state document
st=$OUT
assert_eq "$C" "$(jq -r .id <<<"$st")" "state.id"
assert_match "$(jq -r .ociVersion <<<"$st")" '^1\.[0-9]+\.[0-9]+' "state.ociVersion"
assert_eq "$B" "$(jq -r .bundle <<<"$st")" "state.bundle"
assert_eq "lifecycle" "$(jq -r '.annotations["org.cove.test"]' <<<"$st")" "state.annotations"
assert_match "$(jq -r .created <<<"$st")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' "state.created (RFC3339)"
assert_eq number "$(jq -r '.pid | type' <<<"$st")" "type of state.pid"

# kill of a created container is allowed; but not tested here (it would stop it)
# --- start
assert_ok cv start "$C"
assert_status "$C" running
assert_eq "$CPID" "$PID" "pid after start"
cl=$(tr '\0' ' ' <"/proc/$CPID/cmdline" 2>/dev/null)
assert_contains "$cl" "lc-$TAG" "cmdline after start"

# start twice: not in created state
assert_fail cv start "$C"
assert_cove_error "$C"

# --- process exits → stopped
wait_status "$C" stopped 10
gone "$CPID" || fail "process $CPID of stopped container still exists: $(head -3 "/proc/$CPID/status" 2>/dev/null | tr '\n' ' ')"
assert_eq "$C" "$(jq -r .id <<<"$OUT")" "state.id when stopped"

assert_fail cv start "$C"
assert_cove_error "$C"
assert_fail cv kill "$C" KILL
assert_cove_error "$C"

# --- delete
assert_ok cv delete "$C"
assert_fail cv state "$C"
assert_cove_error "does not exist"
assert_fail cv delete "$C"
assert_cove_error "does not exist"
assert_fail cv start "$C"
assert_cove_error "does not exist"
assert_fail cv kill "$C"
assert_cove_error "does not exist"
[ -e "$STATE/$C" ] && fail "state dir $STATE/$C remains after delete"

# --- delete of a running container needs --force
set_args "$B" "${LONG[@]}"
newid; R=$ID
assert_ok cv create --bundle "$B" "$R"
assert_ok cv start "$R"
assert_status "$R" running
RPID=$PID
assert_fail cv delete "$R"
assert_cove_error "$R"
assert_status "$R" running
alive "$RPID" || fail "delete without --force killed the process"
assert_ok cv delete --force "$R"
assert_fail cv state "$R"
assert_cove_error "does not exist"
gone "$RPID" || fail "process $RPID remains after delete --force"

# --- duplicate id: fails, first one intact
newid; D=$ID
assert_ok cv create --bundle "$B" "$D"
assert_status "$D" created
DPID=$PID
assert_fail cv create --bundle "$B" "$D"
assert_cove_error "already exists"
assert_fail cv run --bundle "$B" "$D"
assert_cove_error "already exists"
assert_status "$D" created
assert_eq "$DPID" "$PID" "pid of the first container after a duplicate create"
alive "$DPID" || fail "first container's process died after duplicate create"
# and it can still be started
assert_ok cv start "$D"
assert_status "$D" running
assert_ok cv kill "$D" KILL
wait_status "$D" stopped 10
assert_ok cv delete "$D"

# --- delete of a created (never started) container
newid; E=$ID
assert_ok cv create --bundle "$B" "$E"
assert_status "$E" created
EPID=$PID
assert_ok cv delete --force "$E"
gone "$EPID" || fail "created container's process $EPID remains after delete --force"

# --- kill signals: by name, SIG-name and number. The container's pid 1
# only dies of a catchable signal if it handles it: trap TERM.
set_args "$B" sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' "term-$TAG"
for sig in TERM SIGTERM 15 ""; do
  newid
  assert_ok cv run --detach --bundle "$B" "$ID"
  assert_status "$ID" running
  sleep 0.2   # let the shell install its trap
  if [ -n "$sig" ]; then
    assert_ok cv kill "$ID" "$sig"
  else
    assert_ok cv kill "$ID"   # default: SIGTERM
  fi
  wait_status "$ID" stopped 10
  assert_ok cv delete "$ID"
done
# a signal the process ignores leaves it running; KILL always works
set_args "$B" sh -c 'trap "" USR1; while :; do sleep 0.1; done' "usr1-$TAG"
newid
assert_ok cv run --detach --bundle "$B" "$ID"
sleep 0.2
assert_ok cv kill "$ID" USR1
sleep 0.3
assert_status "$ID" running
assert_ok cv kill "$ID" 9
wait_status "$ID" stopped 10
assert_ok cv delete "$ID"
# bad signal
set_args "$B" "${LONG[@]}"
newid
assert_ok cv run --detach --bundle "$B" "$ID"
assert_fail cv kill "$ID" SIGNOPE
assert_cove_error "SIGNOPE"
assert_status "$ID" running
# kill --all
assert_ok cv kill --all "$ID" KILL
wait_status "$ID" stopped 10
assert_ok cv delete "$ID"

# --- unknown properties inside objects are ignored (config.md
# "Extensibility": a runtime MAY log them, MUST NOT fail): the container
# runs, `--debug` names each ignored field; an unknown hook kind is a
# warning even without --debug (a misspelt kind is a hook that never runs)
U=$T/unknown
mkbundle "$U"
cfg "$U" '.linux.resources = {bogus: {}, memory: {limits: 1}, pids: {max: 5}}
  | .hooks = {preStart: [], prestart: [{path: "/bin/true", when: "always"}]}
  | .process.futureField = {x: 1}'
set_args "$U" sh -c 'echo ran-unknown'
newid
capture cv --debug run --bundle "$U" "$ID"
assert_eq 0 "$RC" "run with unknown properties (stderr: $ERR)"
assert_eq ran-unknown "$OUT" "output of the container with unknown properties"
for f in linux.resources.bogus linux.resources.memory.limits linux.resources.pids.max \
         'hooks.prestart[0].when' hooks.preStart; do
  assert_contains "$ERR" "$f: unknown property, ignored" "--debug line for $f"
done
newid
capture cv run --bundle "$U" "$ID"
assert_eq 0 "$RC" "run with unknown properties, no --debug (stderr: $ERR)"
assert_not_contains "$ERR" "linux.resources.bogus" "debug line without --debug"
assert_contains "$ERR" "hooks.preStart: unknown property, ignored" "warning for an unknown hook kind"
# the known properties next to them are still validated
cfg "$U" '.linux.resources.pids.limit = -5'
newid
capture cv create --bundle "$U" "$ID"
assert_cove_error "linux.resources.pids.limit"
assert_fail cv state "$ID"
