#!/usr/bin/env bash
# shellcheck disable=SC2016
# runc's command-line contract, side by side: every case of the table below
# runs against runc (Debian's 1.1.5) and against cove on identical bundles,
# each tool with its own --root. Compared: success vs failure (the exact
# code where clients rely on it), the effect (the container's status
# afterwards, as the tool itself reports it) and, in a second part, the
# JSON shape (keys and value types) of state, list, ps, events --stats and
# features. Where cove deliberately differs, the case asserts cove's
# behaviour as documented in docs/runc-differences.md.
. "$(dirname "$0")/../lib/common.sh"
only_root "runc's side needs root here (no delegated cgroup for rootless runc)"
RUNC=$(command -v runc) || skip "runc is not installed (scripts/setup.sh installs it)"

RS=$T/runc-state
NCASES=0

# tool TOOL ARGS...: runc or cove with its own state root.
tool() {
  local t=$1; shift
  if [ "$t" = runc ]; then "$RUNC" --root "$RS" "$@"; else "$COVE" --root "$STATE" "$@"; fi
}

# One bundle per tool (same config.json but for cgroupsPath, which is
# relative: both runtimes put the container's cgroups under the test's own
# cgroup; one container at a time per tool, so one path per tool). The
# process args are switched by copying prepared config files (jq is slow).
for t in runc cove; do
  mkbundle "$T/b-$t"
  cfg "$T/b-$t" --arg p "$TAG$t" '.linux.cgroupsPath = $p'
  cp "$T/b-$t/config.json" "$T/b-$t/config.true"
  set_args "$T/b-$t" "${LONG[@]}"
  cp "$T/b-$t/config.json" "$T/b-$t/config.long"
done

# bundle TOOL ARGS...: the tool's bundle runs ARGS.
bundle() {
  local t=$1; shift
  if [ "$*" = "${LONG[*]}" ]; then
    cp "$T/b-$t/config.long" "$T/b-$t/config.json"
  elif [ "$*" = true ]; then
    cp "$T/b-$t/config.true" "$T/b-$t/config.json"
  else
    cp "$T/b-$t/config.true" "$T/b-$t/config.json"
    set_args "$T/b-$t" "$@"
  fi
}

# status TOOL ID: the container's status as the tool reports it, or
# "absent".
status() {
  local s
  s=$(tool "$1" state "$2" 2>/dev/null | sed -n 's/^ *"status": *"\([a-z]*\)".*/\1/p')
  echo "${s:-absent}"
}

wait_for() { # TOOL ID STATUS
  local i
  for ((i = 0; i < 200; i++)); do
    [ "$(status "$1" "$2")" = "$3" ] && return 0
    sleep 0.02
  done
  fail "$1: container $2 never reached '$3' (is '$(status "$1" "$2")')"
  return 1
}

# setup TOOL ID KIND: bring container ID into state KIND.
setup() {
  local t=$1 id=$2
  case $3 in
    none) return 0 ;;
    created | running | paused)
      bundle "$t" "${LONG[@]}"
      tool "$t" create --bundle "$T/b-$t" "$id" >/dev/null 2>"$T/setup.err" ||
        { fail "$t: setup create $id: $(cat "$T/setup.err")"; return 1; }
      ;;
    stopped)
      bundle "$t" true
      tool "$t" create --bundle "$T/b-$t" "$id" >/dev/null 2>"$T/setup.err" ||
        { fail "$t: setup create $id: $(cat "$T/setup.err")"; return 1; }
      tool "$t" start "$id" 2>>"$T/setup.err" || fail "$t: setup start $id"
      wait_for "$t" "$id" stopped
      return 0
      ;;
    *) die "unknown setup $3" ;;
  esac
  [ "$3" = created ] && return 0
  tool "$t" start "$id" 2>"$T/setup.err" || fail "$t: setup start $id: $(cat "$T/setup.err")"
  wait_for "$t" "$id" running
  if [ "$3" = paused ]; then
    tool "$t" pause "$id" 2>"$T/setup.err" || fail "$t: setup pause $id: $(cat "$T/setup.err")"
  fi
}

# teardown TOOL ID: the container is gone afterwards, whatever happened.
teardown() { # TOOL ID [STATUS]
  [ "${3:-}" = absent ] && return 0
  [ "${3:-paused}" = paused ] && tool "$1" resume "$2" >/dev/null 2>&1
  tool "$1" delete --force "$2" >/dev/null 2>&1
  [ "$(status "$1" "$2")" = absent ] || fail "$1: container $2 survived delete --force"
}

# Placeholders in a case's arguments: @ID@ the container, @B@ the tool's
# bundle, @T@ the test dir, @P@ a pid file path for this tool.
expand() { # TOOL ID WORD -> EXPANDED
  local w=$3
  w=${w//@ID@/$2}
  w=${w//@B@/$T/b-$1}
  w=${w//@P@/$T/$1.pid}
  w=${w//@T@/$T}
  w=${w//@TOOL@/$1}
  printf '%s' "$w"
}

# dcase SETUP EXPECT CMD...: one differential case.
#   SETUP   none|created|running|stopped|paused (container @ID@ before CMD)
#   EXPECT  same      success/failure and the effect equal runc's
#           exact     same, and the exit code equal runc's
#           cove=RC/STATUS   a documented difference: cove must exit RC
#                     (0 or "fail") and leave the container STATUS
#   CMD     a command line with placeholders; BUNDLE_ARGS=(...) set before
#           the call makes the setup's container run those args instead
# Environment knobs: CASE_STDIN (a file for stdin), CASE_ARGS (process
# args of the created bundle for "none" setups that create a container).
_CN=0
CASE_ARGS=()
dcase() {
  local setup=$1 expect=$2; shift 2
  _CN=$((_CN + 1))
  NCASES=$((NCASES + 1))
  local id="${TAG}c$_CN" t w rc_runc rc_cove st_runc st_cove
  local desc="case $_CN [$setup] $*"
  for t in runc cove; do
    rm -f "$T/$t.pid"
    setup "$t" "$id" "$setup" || continue
    if [ "$setup" = none ]; then
      if [ ${#CASE_ARGS[@]} -gt 0 ]; then bundle "$t" "${CASE_ARGS[@]}"; else bundle "$t" "${LONG[@]}"; fi
    fi
    local argv=()
    for w in "$@"; do argv+=("$(expand "$t" "$id" "$w")"); done
    timeout -k 3 20 bash -c '"$@"' _ tool_"$t" "${argv[@]}" <"${CASE_STDIN:-/dev/null}" >"$T/$t.out" 2>"$T/$t.err"
    local rc=$?
    [ "$rc" -eq 124 ] && fail "$desc: $t timed out"
    local st
    st=$(status "$t" "$id")
    # a SIGKILL is asynchronous: let the status settle
    if [ "$rc" -eq 0 ] && [ "$st" = running ] && [[ " ${argv[*]} " == *" kill "* ]] && [[ " ${argv[*]} " =~ \ (KILL|SIGKILL|9)\  ]]; then
      wait_for "$t" "$id" stopped
      st=$(status "$t" "$id")
    fi
    # a check hook sees the outcome before the teardown
    if [ -n "${CASE_CHECK:-}" ]; then "$CASE_CHECK" "$t" "$id" "$rc" "$st"; fi
    teardown "$t" "$id" "$st"
    if [ "$t" = runc ]; then rc_runc=$rc st_runc=$st; else rc_cove=$rc st_cove=$st; fi
  done
  NCHECKS=$((NCHECKS + 1))
  local ok_runc=ok ok_cove=ok
  [ "$rc_runc" -ne 0 ] && ok_runc=fail
  [ "$rc_cove" -ne 0 ] && ok_cove=fail
  case $expect in
    same | exact)
      if [ "$ok_runc" != "$ok_cove" ] || [ "$st_runc" != "$st_cove" ] ||
        { [ "$expect" = exact ] && [ "$rc_runc" != "$rc_cove" ]; }; then
        fail "$desc: runc exit $rc_runc -> $st_runc, cove exit $rc_cove -> $st_cove" \
          "(runc: $(_show "$(head -c 300 "$T/runc.err")"); cove: $(_show "$(head -c 300 "$T/cove.err")"))"
      fi
      ;;
    cove=*)
      local want=${expect#cove=} want_rc want_st
      want_rc=${want%%/*} want_st=${want#*/}
      local got=$rc_cove
      [ "$want_rc" = fail ] && [ "$rc_cove" -ne 0 ] && got=fail
      if [ "$got" != "$want_rc" ] || [ "$st_cove" != "$want_st" ]; then
        fail "$desc: documented cove behaviour is exit $want_rc -> $want_st, got exit $rc_cove -> $st_cove" \
          "(cove: $(_show "$(head -c 300 "$T/cove.err")"))"
      fi
      log "difference kept ($desc): runc exit $rc_runc -> $st_runc, cove exit $rc_cove -> $st_cove"
      ;;
    *) die "bad expectation $expect" ;;
  esac
  CASE_ARGS=()
  # an error is reported, never silent
  if [ "$ok_cove" = fail ] && [ "$rc_cove" -lt 2 ] && ! grep -q "cove: " "$T/cove.err"; then
    fail "$desc: cove failed without a 'cove: ' message: $(_show "$(cat "$T/cove.err")")"
  fi
  return 0
}
tool_runc() { tool runc "$@"; }
tool_cove() { tool cove "$@"; }
export -f tool tool_runc tool_cove
export RUNC COVE RS STATE

# ===================================================== the command table

# --- global options, help
dcase none same --version
dcase none same -v
dcase none same --help
dcase none same -h
dcase none same
dcase none same bogus-command @ID@
dcase none same --bogus-global list
dcase none same --log @T@/@TOOL@.log --log-format json list
dcase none same --log-format=json list
dcase none same --debug list
dcase none same --systemd-cgroup=false list
dcase none same --rootless false list
for c in create run start state kill delete list ps exec pause resume update events spec features; do
  dcase none same "$c" --help
  dcase none same "$c" -h
done
# --- unknown options: an error naming them, nothing changes
for c in start state kill delete pause resume ps events exec update; do
  dcase running same "$c" --bogus @ID@
done
dcase none same create --bogus --bundle @B@ @ID@
dcase none same run --bogus --bundle @B@ @ID@
dcase none same list --bogus
dcase none same spec --bogus
dcase none same features --bogus
# --- missing ID, unknown ID, extra arguments
for c in create run start state kill delete pause resume ps events exec update; do
  dcase none same "$c"
done
for c in start state kill pause resume ps events; do
  dcase none same "$c" "${TAG}nonexistent"
done
dcase none same exec "${TAG}nonexistent" true
dcase none same update --pids-limit 10 "${TAG}nonexistent"
dcase none same delete "${TAG}nonexistent"
dcase none same delete --force "${TAG}nonexistent"
dcase none same features extra
dcase none same list extra
for c in start state delete pause resume events; do
  dcase running same "$c" @ID@ extra
done
dcase none same create --bundle @B@ @ID@ extra
dcase running same kill @ID@ KILL extra

# --- create (containerd's shim, podman/conmon, CRI-O)
dcase none same create --bundle @B@ @ID@
dcase none same create -b @B@ @ID@
dcase none same create --bundle=@B@ @ID@
dcase none same create -bundle @B@ @ID@
dcase none same create -b=@B@ @ID@
dcase none same create --bundle @B@ --pid-file @P@ @ID@
dcase none same create --bundle @B@ --pid-file=@P@ @ID@
dcase none same create -bundle @B@ -pid-file @P@ @ID@
dcase none same create --bundle @B@ --no-pivot @ID@
dcase none same create --bundle @B@ --no-new-keyring @ID@
dcase none same create --bundle @B@ --preserve-fds 0 @ID@
dcase none same create --bundle @T@/nonexistent @ID@
dcase none same create --bundle
dcase created same create --bundle @B@ @ID@
dcase none same create --no-pivot --bundle @B@ --pid-file @P@ @ID@
# options after the ID (urfave/cli moves them before the arguments)
dcase none same create @ID@ --bundle @B@
dcase none same create @ID@ -b @B@
dcase none same create --bundle @B@ --preserve-fds x @ID@
# run --detach stays (no subreaper needed), run --keep is ignored
dcase none same run -d --bundle @B@ @ID@
dcase none same run --detach --bundle @B@ @ID@
dcase none same run --detach --bundle @B@ --pid-file @P@ @ID@
# --- run: the exit code is the container's
CASE_ARGS=(sh -c 'exit 3'); dcase none exact run --bundle @B@ @ID@
CASE_ARGS=(sh -c 'exit 0'); dcase none exact run --bundle @B@ @ID@
CASE_ARGS=(sh -c 'exit 255'); dcase none exact run --bundle @B@ @ID@
CASE_ARGS=(sh -c 'exit 130'); dcase none exact run --bundle @B@ @ID@
CASE_ARGS=(/nonexistent-binary); dcase none same run --bundle @B@ @ID@
CASE_ARGS=(true); dcase none exact run -b @B@ @ID@
CASE_ARGS=(true); dcase none exact run --no-subreaper --bundle @B@ @ID@
# --keep: runc keeps the stopped container, cove deletes it (documented)
CASE_ARGS=(true); dcase none cove=0/absent run --keep --bundle @B@ @ID@

# --- start
dcase created same start @ID@
dcase running same start @ID@
dcase stopped same start @ID@
dcase paused same start @ID@

# --- state
for s in created running stopped paused; do
  dcase "$s" same state @ID@
done

# --- kill
dcase running same kill @ID@
dcase running same kill @ID@ KILL
dcase running same kill @ID@ SIGKILL
dcase running same kill @ID@ 9
dcase running same kill @ID@ TERM
dcase running same kill @ID@ sigterm
dcase running same kill --all @ID@ KILL
dcase running same kill -a @ID@ KILL
dcase running same kill -all @ID@ KILL
dcase running same kill --all=true @ID@ KILL
dcase running same kill @ID@ NOSUCHSIG
dcase running same kill @ID@ 0
dcase running same kill -f @ID@
dcase running same kill -q @ID@
dcase created same kill @ID@ KILL
dcase paused same kill @ID@ KILL
dcase paused same kill --all @ID@ KILL
dcase stopped same kill @ID@ KILL
dcase stopped same kill --all @ID@ KILL
dcase running same kill @ID@ KILL --all

# --- delete
dcase stopped same delete @ID@
dcase running same delete @ID@
dcase running same delete --force @ID@
dcase running same delete -f @ID@
dcase running same delete -force @ID@
dcase running same delete --force=true @ID@
dcase running same delete -a @ID@
dcase paused same delete @ID@
dcase paused same delete --force @ID@
dcase stopped same delete --force @ID@
dcase created cove=fail/created delete @ID@
dcase created same delete --force @ID@
dcase running same delete @ID@ --force

# --- pause / resume
dcase running same pause @ID@
dcase paused same resume @ID@
dcase paused same pause @ID@
dcase running same resume @ID@
dcase stopped same pause @ID@
dcase stopped same resume @ID@
dcase created same pause @ID@

# --- ps
dcase running same ps @ID@
dcase running same ps --format json @ID@
dcase running same ps -f json @ID@
dcase running same ps --format=json @ID@
dcase running same ps -format json @ID@
dcase running same ps --format table @ID@
dcase running same ps --format yaml @ID@
dcase running same ps @ID@ -o pid
dcase running cove=0/running ps @ID@ -- -o pid
dcase stopped same ps --format json @ID@

# --- events
dcase running same events --stats @ID@
dcase running same events -stats @ID@
dcase running same events --stats=true @ID@
dcase stopped same events --stats @ID@
dcase running same events --interval bogus --stats @ID@

# --- update (containerd: update --resources -; podman: limits as flags)
printf '%s\n' '{"pids":{"limit":50},"memory":{"limit":67108864}}' >"$T/res.json"
CASE_STDIN=$T/res.json dcase running same update --resources - @ID@
CASE_STDIN=$T/res.json dcase running same update -r - @ID@
dcase running same update --resources @T@/res.json @ID@
dcase running same update --resources=@T@/res.json @ID@
dcase running same update --memory 64m @ID@
dcase running same update -m 64m @ID@
dcase running same update --memory=67108864 @ID@
dcase running same update --pids-limit 40 @ID@
dcase running same update --cpu-share 512 @ID@
dcase running cove=0/running update --cpu-shares 512 @ID@
dcase running same update --cpu-quota 50000 --cpu-period 100000 @ID@
dcase running same update --memory lots @ID@
dcase running same update --resources @T@/nonexistent.json @ID@
printf 'not json' >"$T/bad.json"
dcase running same update --resources @T@/bad.json @ID@
dcase stopped same update --pids-limit 40 @ID@
dcase running cove=fail/running update @ID@
dcase running cove=fail/running update --kernel-memory 1m @ID@

# --- exec (containerd: --process FILE --detach --pid-file; podman/conmon
# and CRI-O the same, plus --console-socket/--tty)
jq '.process | .args = ["true"] | .terminal = false' "$T/b-cove/config.json" >"$T/proc-true.json"
jq '.process | .args = ["sh", "-c", "exit 5"] | .terminal = false' "$T/b-cove/config.json" >"$T/proc-5.json"
jq '.process | .args = ["sleep", "'"$SLEEPN"'"] | .terminal = false' "$T/b-cove/config.json" >"$T/proc-long.json"
dcase running exact exec --process @T@/proc-true.json @ID@
dcase running exact exec --process @T@/proc-5.json @ID@
dcase running exact exec -p @T@/proc-5.json @ID@
dcase running exact exec --process=@T@/proc-5.json @ID@
dcase running exact exec -process @T@/proc-5.json @ID@
dcase running same exec --process @T@/proc-long.json --detach --pid-file @P@ @ID@
dcase running same exec -d --pid-file=@P@ --process @T@/proc-long.json @ID@
dcase running same exec --detach @ID@ "${LONG[@]}"
dcase running exact exec @ID@ sh -c 'exit 7'
dcase running cove=7/running exec @ID@ -- sh -c 'exit 7'
dcase running exact exec -e FOO=bar -e BAR=baz @ID@ sh -c 'test "$FOO$BAR" = barbaz'
dcase running exact exec --env FOO=bar --env=BAR=baz @ID@ sh -c 'test "$FOO$BAR" = barbaz'
dcase running exact exec --cwd /tmp @ID@ sh -c 'test "$PWD" = /tmp'
dcase running exact exec -u 1000:1000 @ID@ sh -c 'test "$(id -u):$(id -g)" = 1000:1000'
dcase running exact exec --user=1000 @ID@ sh -c 'test "$(id -u)" = 1000'
dcase running exact exec --no-new-privs @ID@ true
dcase running exact exec --preserve-fds 0 @ID@ true
dcase running same exec @ID@
dcase running same exec @ID@ /nonexistent-binary
dcase running same exec --process @T@/nonexistent.json @ID@
dcase stopped same exec @ID@ true
dcase created same exec @ID@ true
dcase paused same exec @ID@ true

# --- list
dcase running same list
dcase running same list -q
dcase running same list --quiet
dcase running same list --format json
dcase running same list -f json
dcase running same list --format=json
dcase running same list -format json
dcase running same list --format table
dcase none same list --format yaml

# --- spec
mkdir -p "$T/spec-runc" "$T/spec-cove"
CASE_CHECK=rm_spec
rm_spec() { rm -f "$T/spec-$1/config.json"; }
dcase none same spec --bundle @T@/spec-@TOOL@
dcase none same spec -b @T@/nonexistent/dir
CASE_CHECK=
for t in runc cove; do rm -rf "$T/spec-$t"; mkdir "$T/spec-$t"; done
# shellcheck disable=SC2016
dcase none same spec --rootless --bundle @T@/spec-runc-rootless-missing

# --- the pid files: the same pid the state reports
pidfile_check() { # TOOL ID RC STATUS
  local want
  want=$(tool "$1" state "$2" 2>/dev/null | jq -r .pid)
  [ "$(cat "$T/$1.pid" 2>/dev/null)" = "$want" ] ||
    fail "$1: --pid-file has '$(cat "$T/$1.pid" 2>/dev/null)', state says pid $want"
}
CASE_CHECK=pidfile_check dcase none same create --bundle @B@ --pid-file @P@ @ID@
CASE_CHECK=pidfile_check dcase none same run -d --bundle @B@ --pid-file @P@ @ID@
CASE_CHECK=

# --- console socket (podman/conmon, CRI-O): a pty master sent to a socket
if [ -n "${COVE_RECVTTY:-}" ] && [ -x "$COVE_RECVTTY" ]; then
  recv() { # TOOL: start a receiver at $T/TOOL.sock
    rm -f "$T/$1.sock"
    "$COVE_RECVTTY" --mode null "$T/$1.sock" </dev/null >/dev/null 2>&1 &
    echo $! >"$T/$1.recv"
    local i
    for ((i = 0; i < 100; i++)); do [ -S "$T/$1.sock" ] && return 0; sleep 0.02; done
    fail "recvtty did not create $T/$1.sock"
  }
  for t in runc cove; do
    cp "$T/b-$t/config.long" "$T/b-$t/config.notty"
    jq '.process.terminal = true' "$T/b-$t/config.notty" >"$T/b-$t/config.long"
  done
  tty_case() {
    local t
    for t in runc cove; do recv "$t"; done
    dcase none same "$@"
    for t in runc cove; do
      kill "$(cat "$T/$t.recv")" 2>/dev/null
      wait "$(cat "$T/$t.recv")" 2>/dev/null
    done
  }
  tty_case create --bundle @B@ --console-socket @T@/@TOOL@.sock @ID@
  for t in runc cove; do mv "$T/b-$t/config.notty" "$T/b-$t/config.long"; done
else
  log "COVE_RECVTTY not set: console-socket cases skipped"
fi

# ================================================ JSON shapes, side by side
# shape: every scalar's path (array indices collapsed) and JSON type.
shape() {
  jq -r '[paths(scalars) as $p | ($p | map(if type == "number" then "[]" else . end) | join(".")) + ":" + (getpath($p) | type)] | unique | .[]' 2>/dev/null
}
for t in runc cove; do
  setup "$t" "${TAG}json" running
  tool "$t" state "${TAG}json" >"$T/$t.state.json"
  tool "$t" list --format json >"$T/$t.list.json"
  tool "$t" ps --format json "${TAG}json" >"$T/$t.ps.json"
  tool "$t" events --stats "${TAG}json" >"$T/$t.events.json"
  tool "$t" features >"$T/$t.features.json"
done
# compare_shape DOC MISSING_OK EXTRA_OK: the keys (and their JSON types)
# of cove's document against runc's. Keys runc writes that cove lacks must
# match MISSING_OK, keys only cove writes must match EXTRA_OK (both
# documented in docs/runc-differences.md); the types of the keys both
# write must agree.
compare_shape() {
  local doc=$1 missing_ok=$2 extra_ok=$3 extra missing types
  NCASES=$((NCASES + 1))
  NCHECKS=$((NCHECKS + 1))
  jq empty "$T/cove.$doc.json" 2>/dev/null || { fail "$doc: cove wrote invalid JSON: $(_show "$(cat "$T/cove.$doc.json")")"; return; }
  shape <"$T/runc.$doc.json" >"$T/runc.$doc.shape"
  shape <"$T/cove.$doc.json" >"$T/cove.$doc.shape"
  extra=$(comm -13 "$T/runc.$doc.shape" "$T/cove.$doc.shape" | grep -Ev "$extra_ok")
  missing=$(comm -23 "$T/runc.$doc.shape" "$T/cove.$doc.shape" | grep -Ev "$missing_ok")
  # a key both write, with different types
  types=$(cat "$T/runc.$doc.shape" "$T/cove.$doc.shape" | sort -u | cut -d: -f1 | uniq -d)
  [ -z "$extra" ] || fail "$doc: cove has keys runc does not (undocumented): $(_show "$extra")"
  [ -z "$missing" ] || fail "$doc: runc has keys cove lacks (undocumented): $(_show "$missing")"
  [ -z "$types" ] || fail "$doc: keys with a different JSON type: $(_show "$types")"
}
NONE='^$'
compare_shape state '^(rootfs|owner):' "$NONE"
compare_shape list '^\[\]\.rootfs:' "$NONE"
compare_shape ps "$NONE" "$NONE"
# events: cove reports the cpu, memory and pids groups clients read; runc
# omits zero throttling counters and an unlimited pids limit, and its
# memory "raw" is memory.stat (no OOM counters on cgroup v1)
compare_shape events '^data\.(cpu\.usage\.percpu(_kernel|_user)?|cpuset|memory\.(cache|swap\.(limit|max|failcnt)|kernel|kernelTCP|raw\.[a-z_]+)|hugetlb|blkio|intel_rdt|network_interfaces)' \
  '^data\.(cpu\.throttling\.(periods|throttledPeriods|throttledTime)|memory\.raw\.oom(_kill)?|pids\.limit):number$'
# features: cove's document is runtime-spec 1.3's, runc's 1.0.2's
compare_shape features '.' '^(annotations\.io\.github\.cove\.[a-z.]+:string|linux\.cgroup\.rdma:boolean|linux\.seccomp\.(knownFlags|supportedFlags)\.\[\]:string)$'
for k in '.status' '.pid' '.bundle' '.id'; do
  NCHECKS=$((NCHECKS + 1))
  [ "$(jq -r "$k|type" "$T/cove.state.json")" = "$(jq -r "$k|type" "$T/runc.state.json")" ] || fail "state $k type differs"
done
# pid in state/list/ps are the same process for each tool
for t in runc cove; do
  NCHECKS=$((NCHECKS + 1))
  p=$(jq .pid "$T/$t.state.json")
  [ "$(jq ".[0].pid" "$T/$t.list.json")" = "$p" ] || fail "$t: list pid differs from state pid"
  jq -e --argjson p "$p" 'index($p) != null' "$T/$t.ps.json" >/dev/null || fail "$t: ps --format json lacks the init pid $p"
  teardown "$t" "${TAG}json"
done

# list --format json escapes what it writes: a bundle path with a quote
Q="$T/b\"quote\\back"
mkdir -p "$Q"
cp "$T/b-cove/config.json" "$Q/config.json"
set_args "$Q" "${LONG[@]}"
cfg "$Q" --arg p "${TAG}cove-quote" '.linux.cgroupsPath = $p'
for t in runc cove; do
  NCASES=$((NCASES + 1))
  tool "$t" create --bundle "$Q" "${TAG}q" </dev/null >/dev/null 2>"$T/q.err"
  assert_eq 0 "$?" "$t: create with a quote in the bundle path ($(cat "$T/q.err"))"
  assert_eq "$Q" "$(tool "$t" list --format json | jq -r '.[0].bundle' 2>&1)" "$t: list --format json bundle with a quote"
  assert_eq "$Q" "$(tool "$t" state "${TAG}q" | jq -r '.bundle' 2>&1)" "$t: state bundle with a quote"
  teardown "$t" "${TAG}q"
done

# --- cleanliness of runc's side (cove's is checked by check_leftovers)
NCHECKS=$((NCHECKS + 1))
left=$(ls -A "$RS" 2>/dev/null)
[ -z "$left" ] || fail "runc state left: $left"
log "$NCASES differential cases"
