#!/usr/bin/env bash
# Bad input: every case in cases.txt must make `cove create` fail with a
# "cove: ..." message naming the offending field, and leave nothing behind
# (no container state, process, mount or file). Cases that fail while the
# config is parsed are tests/unit/test_spec_bad.c (see cases.txt's header).
#   COVE_BAD_ONLY=regex   run only the cases whose name matches
. "$(dirname "$0")/../lib/common.sh"

CASES=${COVE_BAD_CASES:-$(dirname "$0")/cases.txt}
ONLY=${COVE_BAD_ONLY:-}
NCASES=0
NFAILED=0

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; s=${s%"${s##*[![:space:]]}"}; printf '%s' "$s"; }

# The good bundle every jq case starts from.
GOOD=$T/good
mkbundle "$GOOD"
set_args "$GOOD" "${LONG[@]}"

# ------------------------------------------------------------ special cases
# Each runs the failing command itself (via capture) and may set CASE_ID.

case_bundle_nonexistent() {
  capture cv create --bundle /nonexistent-cove-bundle "$CASE_ID"
}

case_console_socket_missing() {
  cfg "$CB" '.process.terminal = true'
  capture cv create --console-socket "$T/nonexistent-cove.sock" --bundle "$CB" "$CASE_ID"
}

case_terminal_no_socket() {
  cfg "$CB" '.process.terminal = true'
  capture cv create --bundle "$CB" "$CASE_ID"
}

case_bad_id() {
  CASE_ID=$1
  capture cv create --bundle "$CB" "$CASE_ID"
  # nothing may appear outside the state root
  for p in "$T/x" "$STATE/a" "$STATE/.." "$T/state/a/b"; do
    case $p in "$STATE/..") continue ;; esac
    [ -e "$p" ] && case_fail "bad id $1 created $p"
  done
}
case_bad_id_empty() { CASE_ID=""; capture cv create --bundle "$CB" ""; }
case_bad_id_long() {
  CASE_ID=$(printf 'a%.0s' $(seq 300))
  capture cv create --bundle "$CB" "$CASE_ID"
}

case_duplicate_id() {
  local first
  capture cv create --bundle "$CB" "$CASE_ID"
  if [ "$RC" -ne 0 ]; then
    case_fail "first create failed: $ERR"
    return
  fi
  cstate "$CASE_ID"; first=$PID
  capture cv create --bundle "$CB" "$CASE_ID"
  local o=$OUT e=$ERR r=$RC
  cstate "$CASE_ID"
  [ "$STATUS" = created ] || case_fail "first container is '$STATUS' after a duplicate create, not created"
  [ "$PID" = "$first" ] || case_fail "first container's pid changed ($first -> $PID)"
  alive "$first" || case_fail "first container's process died"
  cv delete --force "$CASE_ID" >/dev/null 2>&1 || case_fail "delete --force of the first container failed"
  OUT=$o ERR=$e RC=$r
}

# A mount destination that is a symlink out of the rootfs must stay inside
# it: nothing may be created or mounted at the host path. (Failing is fine
# and expected; following the link inside the rootfs, like runc, is too.)
case_symlink_escape() {
  local R=$T/evilroot host=/tmp/cove-host-${TAG}escape
  watch_path "$host"
  watch_path "$host-rel"
  mkdir -p "$R/bin" "$R/proc" "$R/dev" "$R/sys" "$R/tmp" "$R/etc"
  cp "$ROOTFS/bin/busybox" "$R/bin/busybox"
  ln -s busybox "$R/bin/sh"; ln -s busybox "$R/bin/true"
  ln -s "$host" "$R/evil"
  ln -s "../../../../../../../..$host-rel" "$R/evil-rel"
  chmod -R o+rX "$R"; chmod 0777 "$R" "$R/tmp"
  local d failed=0 errs=""
  for d in /evil /evil-rel; do
    jq --arg r "$R" --arg d "$d" '.root = {path: $r, readonly: false}
      | .process.args = ["true"]
      | .mounts += [{destination: $d, type: "tmpfs", source: "tmpfs", options: ["size=64k"]}]' \
      "$GOOD/config.json" >"$CB/config.json"
    capture cv run --bundle "$CB" "$CASE_ID"
    if [ -e "$host" ] || [ -L "$host" ] || [ -e "$host-rel" ]; then
      case_fail "mount destination $d (symlink out of the rootfs) created $(ls -d "$host" "$host-rel" 2>/dev/null) on the host"
    fi
    if grep -q -e "$host" /proc/self/mountinfo; then
      case_fail "mount destination $d (symlink out of the rootfs) mounted on the host at $host"
    fi
    if [ "$RC" -eq 0 ]; then
      log "$CASE_NAME: $d: cove followed the symlink inside the rootfs (accepted)"
    else
      failed=1
      errs+="$ERR"$'\n'
    fi
  done
  # report as a failure naming /evil either way (contained is fine too)
  RC=1
  if [ "$failed" = 1 ]; then ERR=$errs; else ERR="cove: /evil (contained in the rootfs)"; fi
}

# -------------------------------------------------------------- the runner

case_fail() {
  CASE_OK=0
  fail "[$CASE_NAME] $*"
}

run_case() { # name kind arg expected
  CASE_NAME=$1
  local kind=$2 arg=$3 expected=$4
  CASE_OK=1
  CB=$T/cases/$CASE_NAME
  mkdir -p "$CB"
  cp "$GOOD/config.json" "$CB/config.json"
  chmod -R o+rX "$CB"
  newid; CASE_ID=$ID
  case $kind in
    jq)
      if ! jq --argjson uid "$UID_NOW" --argjson gid "$GID_NOW" "$arg" "$GOOD/config.json" >"$CB/config.json" 2>"$T/jq.err"; then
        case_fail "bad jq filter in cases.txt: $(cat "$T/jq.err")"
        return
      fi
      capture cv create --bundle "$CB" "$CASE_ID"
      ;;
    raw)
      printf '%b' "$arg" >"$CB/config.json"
      capture cv create --bundle "$CB" "$CASE_ID"
      ;;
    special)
      local fn args
      read -r fn args <<<"$arg"
      # shellcheck disable=SC2086
      "$fn" $args
      ;;
    *)
      case_fail "unknown kind '$kind' in cases.txt"
      return
      ;;
  esac

  NCHECKS=$((NCHECKS + 1))
  local case_err=$ERR
  if [ "$RC" -eq 0 ]; then
    case_fail "cove accepted it (exit 0); stdout: $(_show "$OUT")"
  else
    local e lower_err
    lower_err=${ERR,,}
    [[ "$ERR" == *"cove: "* ]] || case_fail "stderr has no 'cove: ' message: $(_show "$ERR")"
    while IFS= read -r e; do
      e=$(trim "$e")
      [ -n "$e" ] || continue
      [[ "$lower_err" == *"${e,,}"* ]] || case_fail "stderr lacks '$e': $(_show "$ERR")"
    done < <(sed 's/ && /\n/g' <<<"$expected")
  fi
  # nothing left: no state for the id, an empty state root
  if [ -n "$CASE_ID" ] && [ "${#CASE_ID}" -lt 250 ] && [[ "$CASE_ID" != */* ]] && [[ "$CASE_ID" != . && "$CASE_ID" != .. ]]; then
    capture cv state "$CASE_ID"
    if [ "$RC" -eq 0 ]; then
      case_fail "container $CASE_ID exists after the failed create: $OUT"
      cv delete --force "$CASE_ID" >/dev/null 2>&1
    fi
  fi
  if [ -d "$STATE" ] && [ -n "$(ls -A "$STATE" 2>/dev/null)" ]; then
    case_fail "state root not empty after the case: $(ls -A "$STATE" | tr '\n' ' ')"
    local d
    for d in "$STATE"/*; do cv delete --force "$(basename "$d")" >/dev/null 2>&1; done
    rm -rf --one-file-system "${STATE:?}"/* 2>/dev/null
  fi
  local left
  left=$(pgrep -f -- "sleep $SLEEPN")
  if [ -n "$left" ]; then
    case_fail "container process left running: $left"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null
  fi
  if [ "$CASE_OK" = 1 ]; then
    printf 'ok   %-26s %s\n' "$CASE_NAME" "$(head -1 <<<"$case_err" | cut -c1-160)"
  else
    NFAILED=$((NFAILED + 1))
  fi
}

while IFS= read -r line; do
  case $line in ''|'#'*) continue ;; esac
  # split on " @@ "
  rest=$line; fields=()
  while [[ "$rest" == *" @@ "* ]]; do
    fields+=("$(trim "${rest%% @@ *}")")
    rest=${rest#* @@ }
  done
  fields+=("$(trim "$rest")")
  if [ "${#fields[@]}" -lt 4 ]; then
    fail "malformed line in cases.txt: $line"
    continue
  fi
  name=${fields[0]} kind=${fields[1]} arg=${fields[2]} expected=${fields[3]} modes=${fields[4]:-both}
  [ -n "$ONLY" ] && ! [[ "$name" =~ $ONLY ]] && continue
  case $modes in both|"$MODE") ;; *) continue ;; esac
  NCASES=$((NCASES + 1))
  run_case "$name" "$kind" "$arg" "$expected"
done <"$CASES"

log "$NCASES cases, $NFAILED failed"
[ "$NCASES" -ge 16 ] || [ -n "$ONLY" ] || fail "only $NCASES cases ran (expected at least 16)"
