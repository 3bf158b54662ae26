#!/usr/bin/env bash
# OCI hooks: order, namespace (pid seen), stdin state, env, failures and
# their cleanup, timeout kill, poststart/poststop failures only warn.
. "$(dirname "$0")/../lib/common.sh"

HL=$T/hl
mkdir -p "$HL"; chmod 0777 "$HL"
# Every hook appends "<name> <status from stdin> <pid from stdin> <id> <HOOKVAR> [leak]"
cat >"$HL/hook.sh" <<'SH'
state=$(cat)
st=$(printf '%s' "$state" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
pid=$(printf '%s' "$state" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
id=$(printf '%s' "$state" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
extra=
if [ "$1" = poststart ]; then extra=$(tr '\0' ' ' </proc/$pid/cmdline | cut -d' ' -f1); fi
echo "$1 $st ${pid:--} $id ${HOOKVAR:-novar}${COVE_LEAK_CANARY:+ LEAK} $extra" >>"$LOG"
SH
chmod 0755 "$HL/hook.sh"
export COVE_LEAK_CANARY=1

B=$T/bundle
mkbundle "$B"
cfg "$B" --arg hl "$HL" '.mounts += [{destination: "/hl", type: "bind", source: $hl, options: ["rbind", "rw"]}]'
# host-side hooks: host sh, log at the host path; startContainer resolves
# in the container: busybox sh, log at /hl
hooks() { # kinds to install
  local h='{}' k
  for k in "$@"; do
    if [ "$k" = startContainer ]; then
      h=$(jq -c --arg k "$k" '.[$k] = [{path: "/bin/sh", args: ["sh", "/hl/hook.sh", $k], env: ["PATH=/bin", "LOG=/hl/log", "HOOKVAR=v-\($k)"]}]' <<<"$h")
    else
      h=$(jq -c --arg k "$k" --arg hl "$HL" '.[$k] = [{path: "/bin/sh", args: ["sh", "\($hl)/hook.sh", $k], env: ["PATH=/usr/bin:/bin", "LOG=\($hl)/log", "HOOKVAR=v-\($k)"], timeout: 10}]' <<<"$h")
    fi
  done
  cfg "$B" --argjson h "$h" '.hooks = $h'
}
ALL=(prestart createRuntime createContainer startContainer poststart poststop)

# --- create / start / delete: order, status and pid on stdin, env
hooks "${ALL[@]}"
set_args "$B" "${LONG[@]}"
: >"$HL/log"
newid
capture cv create --bundle "$B" "$ID"
assert_eq 0 "$RC" "create with hooks (stderr: $ERR)"
cstate "$ID"; INIT=$PID
assert_eq "prestart creating $INIT $ID v-prestart
createRuntime creating $INIT $ID v-createRuntime
createContainer creating 1 $ID v-createContainer" "$(sed 's/ *$//' "$HL/log")" "hooks run by create (poststart must not run yet)"
capture cv start "$ID"
assert_eq 0 "$RC" "start with hooks (stderr: $ERR)"
assert_eq "startContainer created 1 $ID v-startContainer
poststart running $INIT $ID v-poststart sleep" "$(sed -n '4,$p' "$HL/log" | sed 's/ *$//')" "hooks run by start (poststart sees the user process, not cove)"
assert_status "$ID" running
capture cv delete --force "$ID"
assert_eq 0 "$RC" "delete with hooks (stderr: $ERR)"
assert_eq "poststop stopped - $ID v-poststop" "$(sed -n '6,$p' "$HL/log" | sed 's/ *$//')" "poststop at delete"
assert_eq 6 "$(wc -l <"$HL/log")" "number of hook runs"

# --- run (foreground) runs them all, in order
: >"$HL/log"
set_args "$B" sh -c 'exit 0'
newid
capture cv run --bundle "$B" "$ID"
assert_eq 0 "$RC" "run with hooks (stderr: $ERR)"
assert_eq "prestart createRuntime createContainer startContainer poststart poststop" \
  "$(awk '{print $1}' "$HL/log" | tr '\n' ' ' | sed 's/ $//')" "hook order in run"

# --- a failing create-time hook fails create and leaves nothing (poststop still runs)
set_args "$B" "${LONG[@]}"
for k in prestart createRuntime createContainer; do
  hooks poststop
  cfg "$B" --arg k "$k" '.hooks[$k] = [{path: "/bin/sh", args: ["sh", "-c", "echo boom-$0 >&2; exit 3", $k]}]'
  : >"$HL/log"
  newid
  capture cv create --bundle "$B" "$ID"
  assert_cove_error "hooks.$k[0]"
  assert_contains "$ERR" "boom-$k" "hook output in the error"
  assert_contains "$ERR" "status 3" "hook exit status in the error"
  assert_fail cv state "$ID"
  assert_eq "poststop" "$(awk '{print $1}' "$HL/log")" "poststop after a failed $k"
done

# --- a failing startContainer fails start; the container is stopped
hooks poststart
cfg "$B" '.hooks.startContainer = [{path: "/bin/sh", args: ["sh", "-c", "echo nope >&2; exit 4"]}]'
: >"$HL/log"
newid
assert_ok cv create --bundle "$B" "$ID"
capture cv start "$ID"
assert_cove_error "hooks.startContainer[0]"
assert_contains "$ERR" "nope" "startContainer output in the error"
wait_status "$ID" stopped 10
assert_eq "" "$(cat "$HL/log")" "poststart after a failed startContainer"
assert_ok cv delete "$ID"

# --- timeout: the hook (and what it started) is killed, create fails
hooks
cfg "$B" --arg s "$SLEEPN" '.hooks.prestart = [{path: "/bin/sh", args: ["sh", "-c", "sleep \($s); true"], timeout: 1}]'
newid
capture cv create --bundle "$B" "$ID"
assert_cove_error "timeout of 1 s"
assert_fail cv state "$ID"
assert_eq "" "$(pgrep -f "sleep $SLEEPN")" "processes of the timed-out hook"

# --- poststart / poststop failures only warn
hooks
cfg "$B" '.hooks.poststart = [{path: "/bin/false"}] | .hooks.poststop = [{path: "/bin/false"}]'
newid
assert_ok cv create --bundle "$B" "$ID"
capture cv start "$ID"
assert_eq 0 "$RC" "start with a failing poststart hook (stderr: $ERR)"
assert_contains "$ERR" "hooks.poststart[0]" "warning for the failing poststart hook"
assert_status "$ID" running
capture cv delete --force "$ID"
assert_eq 0 "$RC" "delete with a failing poststop hook (stderr: $ERR)"
assert_contains "$ERR" "hooks.poststop[0]" "warning for the failing poststop hook"
assert_fail cv state "$ID"

# --- what create read stays with the container: the bundle removed (or
# edited) after create changes nothing for start, exec and delete
G=$T/gone
mkbundle "$G"
set_args "$G" "${LONG[@]}"
cfg "$G" --arg hl "$HL" '.mounts += [{destination: "/hl", type: "bind", source: $hl, options: ["rbind", "rw"]}]
  | .hooks = {poststart: [{path: "/bin/sh", args: ["sh", "\($hl)/hook.sh", "poststart"], env: ["PATH=/usr/bin:/bin", "LOG=\($hl)/log", "HOOKVAR=kept"]}],
              poststop: [{path: "/bin/sh", args: ["sh", "\($hl)/hook.sh", "poststop"], env: ["PATH=/usr/bin:/bin", "LOG=\($hl)/log", "HOOKVAR=kept"]}]}
  | .process.env += ["KEPT=yes"]'
: >"$HL/log"
newid
assert_ok cv create --bundle "$G" "$ID"
rm -rf "$G"
capture cv start "$ID"
assert_eq 0 "$RC" "start after the bundle was removed (stderr: $ERR)"
assert_eq "" "$ERR" "start after the bundle was removed: no warning"
capture cv exec "$ID" sh -c 'echo $KEPT'
assert_eq 0 "$RC" "exec after the bundle was removed (stderr: $ERR)"
assert_eq "yes" "$OUT" "exec gets the process defaults create read"
capture cv delete --force "$ID"
assert_eq 0 "$RC" "delete after the bundle was removed (stderr: $ERR)"
assert_eq "" "$ERR" "delete after the bundle was removed: no warning"
assert_eq "poststart running kept
poststop stopped kept" "$(awk '{print $1, $2, $5}' "$HL/log")" "poststart and poststop hooks from what create kept"

# --- bad hook entries are refused by name
for c in '.hooks.prestart = [{path: "relative/hook"}]@hooks.prestart[0].path' \
         '.hooks.poststop = [{path: "/bin/true", timeout: 0}]@hooks.poststop[0].timeout' \
         '.hooks.createRuntime = [{args: ["x"]}]@hooks.createRuntime[0].path: missing' \
         '.hooks.startContainer = [{path: "/bin/true", env: ["NOEQUALS"]}]@hooks.startContainer[0].env[0]' \
         '.hooks.poststart = {}@hooks.poststart: expected array'; do
  hooks
  cfg "$B" "${c%@*}"
  newid
  capture cv create --bundle "$B" "$ID"
  assert_cove_error "${c#*@}"
  assert_fail cv state "$ID"
done
