#!/usr/bin/env bash
# The command line: --version, --help, spec, features, list, errors, --log.
. "$(dirname "$0")/../lib/common.sh"

# --- version / help
capture "$COVE" --version
assert_eq 0 "$RC" "--version exit status"
assert_match "$OUT" '[0-9]+\.[0-9]+\.[0-9]+' "--version output"
assert_contains "$OUT" "cove" "--version output"
assert_match "$OUT" 'spec:? *1\.[0-9]+\.[0-9]+' "--version names the runtime-spec version"
capture "$COVE" --help
assert_eq 0 "$RC" "--help exit status"
for c in create start state kill delete run list spec features; do
  assert_contains "$OUT" "$c" "--help lists commands"
done

# --- spec
S=$T/spec
mkdir -p "$S"
assert_ok "$COVE" spec --bundle "$S"
jq empty "$S/config.json" 2>/dev/null || fail "spec wrote invalid JSON"
assert_match "$(jq -r .ociVersion "$S/config.json")" '^1\.' "spec ociVersion"
assert_eq '["sh"]' "$(jq -c .process.args "$S/config.json")" "spec process.args"
assert_eq rootfs "$(jq -r .root.path "$S/config.json")" "spec root.path"
assert_eq false "$(jq '[.linux.namespaces[].type] | index("user") != null' "$S/config.json")" "spec: no user namespace"
# it refuses to overwrite
assert_fail "$COVE" spec --bundle "$S"
assert_cove_error "config.json"
rm -f "$S/config.json"
assert_ok "$COVE" spec --rootless --bundle "$S"
jq empty "$S/config.json" 2>/dev/null || fail "spec --rootless wrote invalid JSON"
assert_eq true "$(jq '[.linux.namespaces[].type] | index("user") != null' "$S/config.json")" "spec --rootless: user namespace"
assert_eq "0 $UID_NOW 1" "$(jq -r '.linux.uidMappings[0] | "\(.containerID) \(.hostID) \(.size)"' "$S/config.json")" "spec --rootless: uid mapping"
assert_eq "0 $GID_NOW 1" "$(jq -r '.linux.gidMappings[0] | "\(.containerID) \(.hostID) \(.size)"' "$S/config.json")" "spec --rootless: gid mapping"
# default bundle: the current directory
rm -f "$S/config.json"
(cd "$S" && "$COVE" spec) || fail "spec in the current directory"
[ -f "$S/config.json" ] || fail "spec without --bundle did not write ./config.json"
assert_fail "$COVE" spec --bundle "$T/nonexistent"
assert_cove_error "$T/nonexistent"

# --- features
capture "$COVE" features
assert_eq 0 "$RC" "features exit status"
jq empty <<<"$OUT" 2>/dev/null || fail "features: invalid JSON: $OUT"
assert_match "$(jq -r .ociVersionMin <<<"$OUT")" '^1\.' "features.ociVersionMin"
assert_match "$(jq -r .ociVersionMax <<<"$OUT")" '^1\.3\.' "features.ociVersionMax"
assert_eq true "$(jq '.linux.namespaces | index("user") != null' <<<"$OUT")" "features.linux.namespaces has user"
assert_eq true "$(jq '.mountOptions | index("rbind") != null' <<<"$OUT")" "features.mountOptions has rbind"

# --- list
B=$T/bundle
mkbundle "$B"
set_args "$B" "${LONG[@]}"
capture cv list -q
assert_eq 0 "$RC" "list on an empty root (stderr: $ERR)"
assert_eq "" "$OUT" "list -q on an empty root"
capture cv list --format json
assert_eq 0 "$RC" "list --format json on an empty root"
assert_match "$OUT" '^(\[\]|null)$' "list --format json on an empty root"
newid; C1=$ID
assert_ok cv create --bundle "$B" "$C1"
newid; C2=$ID
assert_ok cv run --detach --bundle "$B" "$C2"
capture cv list -q
assert_eq "$(printf '%s\n' "$C1" "$C2" | sort)" "$(sort <<<"$OUT")" "list -q"
capture cv list
assert_eq 0 "$RC" "list (table)"
assert_match "$(head -1 <<<"$OUT")" '^ID +PID +STATUS +BUNDLE +CREATED' "list table header"
assert_eq 1 "$(grep -cE "^$C1 +[0-9]+ +created +$B " <<<"$OUT")" "list row of the created container: $OUT"
assert_eq 1 "$(grep -cE "^$C2 +[1-9][0-9]* +running +$B " <<<"$OUT")" "list row of the running container: $OUT"
capture cv list --format json
assert_eq created "$(jq -r --arg i "$C1" '.[] | select(.id == $i) | .status' <<<"$OUT")" "list json: status of $C1"
assert_eq running "$(jq -r --arg i "$C2" '.[] | select(.id == $i) | .status' <<<"$OUT")" "list json: status of $C2"
assert_eq "$B" "$(jq -r --arg i "$C2" '.[] | select(.id == $i) | .bundle' <<<"$OUT")" "list json: bundle"
assert_ok cv delete --force "$C1"
assert_ok cv delete --force "$C2"
capture cv list -q
assert_eq "" "$OUT" "list -q after deleting everything"
capture cv list --format yaml
assert_cove_error "yaml"

# --- errors
capture "$COVE" --root "$STATE" frobnicate
assert_cove_error "frobnicate"
capture "$COVE" --root "$STATE" state
assert_ne 0 "$RC" "state without an id"
assert_contains "$ERR" "cove: " "state without an id"
capture "$COVE" --root "$STATE" --no-such-flag list
assert_cove_error "no-such-flag"
capture "$COVE" --root "$STATE" create --no-such-flag x
assert_cove_error "no-such-flag"
capture "$COVE" --root "$STATE" state does-not-exist
assert_cove_error "does not exist"
assert_eq "" "$OUT" "stdout of a failed command"
capture "$COVE" --root "$STATE" kill "$TAG"nope
assert_cove_error "does not exist"

# --- --log / --log-format json
L=$T/log.json
capture "$COVE" --root "$STATE" --log "$L" --log-format json state "${TAG}missing"
assert_cove_error "does not exist"
[ -s "$L" ] || fail "--log $L: nothing written on an error"
if [ -s "$L" ]; then
  while IFS= read -r line; do
    jq -e 'type == "object" and has("level") and has("msg") and has("time")' <<<"$line" >/dev/null 2>&1 ||
      fail "--log-format json: not a {level,msg,time} object: $line"
  done <"$L"
  assert_eq error "$(jq -rs 'map(select(.msg | test("does not exist"))) | .[0].level' "$L")" "level of the logged error"
  assert_match "$(jq -rs '.[-1].time' "$L")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "time of a log entry (RFC3339)"
fi
L2=$T/log.txt
capture "$COVE" --root "$STATE" --log "$L2" --log-format text state "${TAG}missing"
assert_contains "$(cat "$L2" 2>/dev/null)" "does not exist" "--log-format text"
capture "$COVE" --root "$STATE" --log-format xml list
assert_cove_error "xml"
# --debug adds debug lines but doesn't change results
capture "$COVE" --root "$STATE" --debug list -q
assert_eq 0 "$RC" "--debug list -q (stderr: $ERR)"
assert_eq "" "$OUT" "--debug list -q stdout"
