# shellcheck shell=bash
# shellcheck disable=SC2034,SC2016
# Harness for cove end-to-end tests. Source it first thing:
#
#   . "$(dirname "$0")/../lib/common.sh"
#
# Environment in: COVE (binary), ROOTFS (shared busybox rootfs), MODE
# (root|rootless). Every test gets:
#   T        a private temp dir (removed at exit)
#   STATE    $T/state, passed as --root to every cove call (cv ...)
#   TAG      "t-<pid>-", prefix of every container id (newid)
#   SLEEPN   a number unique to this test: long-running containers run
#            "sleep $SLEEPN" so leftovers can be found (see LONG)
# Assertions do not stop the test; they count failures and the test fails
# at exit. At exit check_leftovers looks for leaked state, mounts and
# processes, fails the test if it finds any and cleans them up.

set -uo pipefail
export LC_ALL=C

: "${COVE:?COVE must point at the cove binary}"
: "${ROOTFS:?ROOTFS must point at the test rootfs}"
: "${MODE:=root}"
case $MODE in root|rootless) ;; *) echo "FAIL: bad MODE=$MODE"; exit 1 ;; esac

TESTNAME=$(basename "$0" .sh)
TESTLIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTSRC=$(dirname "$TESTLIB")
FAILS=0
NCHECKS=0
_IDN=0
# ids, cgroup names and watched paths carry the tag; pids wrap (pid_max is
# 32768 here), so a random part keeps a leftover of an interrupted run
# from being taken for this test's
TAG="t-$$-$(printf %04x "$RANDOM")-"
SLEEPN=$((1000000 + $$))
LONG=(sleep "$SLEEPN")
UID_NOW=$(id -u)
GID_NOW=$(id -g)

T=$(mktemp -d "${TMPDIR:-/tmp}/cove-$TESTNAME-$MODE.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
chmod 0755 "$T"
STATE=$T/state
: > "$T/pids"

# ---------------------------------------------------------------- logging

log() { printf '# %s\n' "$*"; }

fail() {
  FAILS=$((FAILS + 1))
  printf 'FAIL: %s\n' "$*"
  local i
  for ((i = 1; i < ${#FUNCNAME[@]} - 1; i++)); do
    printf '      at %s:%s (%s)\n' "$(basename "${BASH_SOURCE[i]}")" "${BASH_LINENO[i - 1]}" "${FUNCNAME[i]}"
  done
}

pass() { NCHECKS=$((NCHECKS + 1)); }

# Stop the test now (it fails).
die() { fail "$*"; exit 1; }

# Stop the test now, reported as skipped (unless something else failed).
skip() { printf 'SKIP: %s\n' "$*"; _SKIP=1; exit 77; }
_SKIP=0

only_root() { [ "$MODE" = root ] || skip "${1:-only meaningful in root mode}"; }
only_rootless() { [ "$MODE" = rootless ] || skip "${1:-only meaningful in rootless mode}"; }

# ------------------------------------------------------------- assertions

assert_eq() { # EXPECTED ACTUAL [WHAT]
  NCHECKS=$((NCHECKS + 1))
  if [ "$1" != "$2" ]; then
    fail "${3:-value}: expected '$1', got '$2'"
    return 1
  fi
}

assert_ne() { # UNEXPECTED ACTUAL [WHAT]
  NCHECKS=$((NCHECKS + 1))
  if [ "$1" = "$2" ]; then
    fail "${3:-value}: expected something other than '$1'"
    return 1
  fi
}

assert_contains() { # HAYSTACK NEEDLE [WHAT]
  NCHECKS=$((NCHECKS + 1))
  if [[ "$1" != *"$2"* ]]; then
    fail "${3:-output}: expected to contain '$2', got: $(_show "$1")"
    return 1
  fi
}

assert_not_contains() { # HAYSTACK NEEDLE [WHAT]
  NCHECKS=$((NCHECKS + 1))
  if [[ "$1" == *"$2"* ]]; then
    fail "${3:-output}: expected not to contain '$2', got: $(_show "$1")"
    return 1
  fi
}

assert_match() { # STRING ERE [WHAT]
  NCHECKS=$((NCHECKS + 1))
  if ! [[ "$1" =~ $2 ]]; then
    fail "${3:-output}: expected to match /$2/, got: $(_show "$1")"
    return 1
  fi
}

# assert_ok CMD...: CMD must exit 0 (output captured in OUT/ERR/RC).
assert_ok() {
  NCHECKS=$((NCHECKS + 1))
  capture "$@"
  if [ "$RC" -ne 0 ]; then
    fail "expected success: $* -> exit $RC; stdout: $(_show "$OUT"); stderr: $(_show "$ERR")"
    return 1
  fi
}

# assert_fail CMD...: CMD must exit non-zero (output in OUT/ERR/RC).
assert_fail() {
  NCHECKS=$((NCHECKS + 1))
  capture "$@"
  if [ "$RC" -eq 0 ]; then
    fail "expected failure: $* -> exit 0; stdout: $(_show "$OUT"); stderr: $(_show "$ERR")"
    return 1
  fi
  if [ -n "${_TIMED_OUT:-}" ]; then
    fail "expected failure, but it timed out: $*"
    return 1
  fi
}

# assert_cove_error SUBSTRING: the last capture failed with a cove error
# message ("cove: ...") that contains SUBSTRING.
assert_cove_error() {
  NCHECKS=$((NCHECKS + 1))
  if [ "$RC" -eq 0 ]; then
    fail "expected an error containing '$1', but exit status was 0; stdout: $(_show "$OUT")"
    return 1
  fi
  if [[ "$ERR" != *"cove: "* ]]; then
    fail "stderr has no 'cove: ' error message: $(_show "$ERR")"
    return 1
  fi
  assert_contains "$ERR" "$1" "stderr"
}

_show() { # quote a value for a message, shortened
  local s=$1
  if [ ${#s} -gt 1500 ]; then s="${s:0:1500}...(${#s} bytes)"; fi
  printf '%q' "$s"
}

# ----------------------------------------------------------- running cove

# capture CMD...: run CMD (with a timeout, stdin /dev/null) and set OUT, ERR
# and RC. Output goes through files, not pipes: a detached container keeps
# its stdio open.
CMD_TIMEOUT=${COVE_CMD_TIMEOUT:-20}
_CAPN=0
capture() {
  _TIMED_OUT=
  # fresh files every time: a container started by an earlier call may
  # still hold (and write to) the previous ones
  _CAPN=$((_CAPN + 1))
  local o="$T/.cap$_CAPN.out" e="$T/.cap$_CAPN.err"
  local cmd=("$@")
  [ "$1" = cv ] && cmd=("$COVE" --root "$STATE" "${@:2}")
  timeout -k 3 "$CMD_TIMEOUT" "${cmd[@]}" <"${CAPTURE_STDIN:-/dev/null}" >"$o" 2>"$e"
  RC=$?
  if [ "$RC" -eq 124 ]; then
    _TIMED_OUT=1
    fail "timed out after ${CMD_TIMEOUT}s: $*"
  fi
  OUT=$(cat "$o")
  ERR=$(cat "$e")
  _note_pids "$o"
  rm -f "$o" "$e"
  return 0
}

# cv ARGS...: cove with this test's state root.
cv() { "$COVE" --root "$STATE" "$@"; }

# newid: a fresh container id (prints it and sets ID).
newid() {
  _IDN=$((_IDN + 1))
  ID="${TAG}${_IDN}"
}

# Remember the pid of every container we see, to look for it at exit.
_note_pids() {
  local p c=
  read -r -n1 c <"$1" 2>/dev/null
  case $c in '{'|'[') ;; *) return 0 ;; esac
  for p in $(jq -r '.. | objects | select(has("pid") and has("status")) | .pid' "$1" 2>/dev/null); do
    [ "$p" -gt 0 ] 2>/dev/null || continue
    echo "$p $(_starttime "$p")" >>"$T/pids"
  done
}
note_pid() { echo "$1 $(_starttime "$1")" >>"$T/pids"; }
_starttime() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }

# cstate ID: `cove state ID` → OUT; sets STATUS and PID ("" on failure).
cstate() {
  capture cv state "$1"
  STATUS=$(jq -r '.status // empty' <<<"$OUT" 2>/dev/null)
  PID=$(jq -r '.pid // empty' <<<"$OUT" 2>/dev/null)
}

assert_status() { # ID EXPECTED
  cstate "$1"
  NCHECKS=$((NCHECKS + 1))
  if [ "$RC" -ne 0 ]; then
    fail "state $1 failed (exit $RC): $(_show "$ERR")"
    return 1
  fi
  assert_eq "$2" "$STATUS" "status of $1"
}

# wait_status ID STATUS [SECONDS]: poll until the container has STATUS.
wait_status() {
  local end=$(( $(date +%s%N) / 1000000 + ${3:-10} * 1000 ))
  while :; do
    cstate "$1"
    [ "$STATUS" = "$2" ] && return 0
    [ $(( $(date +%s%N) / 1000000 )) -lt "$end" ] || break
    sleep 0.05
  done
  fail "container $1 did not reach status '$2' (last: '$STATUS', $(_show "$ERR"))"
  return 1
}

# ---------------------------------------------------------------- bundles

# mkbundle DIR [rootless|root]: DIR/config.json from `cove spec` (with
# --rootless in rootless mode unless overridden), root.path = $ROOTFS
# read-only, terminal off, args ["true"].
mkbundle() {
  local dir=$1 kind=${2:-$MODE}
  mkdir -p "$dir"
  local flags=()
  [ "$kind" = rootless ] && flags=(--rootless)
  rm -f "$dir/config.json"
  if ! "$COVE" spec "${flags[@]}" --bundle "$dir" >"$T/.spec.out" 2>&1; then
    die "cove spec ${flags[*]} --bundle $dir failed: $(cat "$T/.spec.out")"
  fi
  [ -s "$dir/config.json" ] || die "cove spec did not write $dir/config.json"
  jq empty "$dir/config.json" 2>/dev/null || die "cove spec wrote invalid JSON"
  cfg "$dir" --arg r "$ROOTFS" '.root = {path: $r, readonly: true}
    | .process.terminal = false | .process.args = ["true"]'
  chmod -R o+rX "$dir"
}

# cfg DIR [jq options] FILTER: edit DIR/config.json in place.
cfg() {
  local dir=$1; shift
  jq "$@" "$dir/config.json" </dev/null >"$dir/config.json.new" || die "jq failed on $dir/config.json: $*"
  mv "$dir/config.json.new" "$dir/config.json"
}

# set_args DIR CMD...: process.args = CMD...
set_args() {
  local dir=$1; shift
  local a x
  a='[]'
  for x in "$@"; do
    a=$(jq -c --arg x "$x" '. + [$x]' <<<"$a") || die "set_args: jq failed"
  done
  cfg "$dir" --argjson a "$a" '.process.args = $a'
}

# run_in BUNDLE CMD...: `cove run` CMD in BUNDLE under a fresh id;
# sets OUT/ERR/RC (and ID).
run_in() {
  local b=$1; shift
  set_args "$b" "$@"
  newid
  capture cv run --bundle "$b" "$ID"
}

# new_cgparent NAME: sets CGPARENT, an absolute cgroupsPath (cove honours
# them from the hierarchy's root) inside this test's own cgroup in every
# hierarchy: NAME under the deepest path /proc/self/cgroup lists. It
# records which of its ancestors exist already; cleanup_cgparent removes
# the rest (what the test's containers or their managers made), deepest
# first.
new_cgparent() {
  local own
  own=$(awk -F: '{ print length($3) " " $3 }' /proc/self/cgroup | sort -n | tail -1 | cut -d' ' -f2-)
  CGPARENT="${own%/}/$1"
  local d
  _cgparent_dirs | while read -r d; do [ -d "$d" ] && echo "$d"; done >"$T/.cgpre"
}
_cgparent_dirs() { # every hierarchy's directory for each ancestor of CGPARENT
  local m p rest c
  for m in /sys/fs/cgroup /sys/fs/cgroup/*; do
    [ -e "$m/cgroup.procs" ] || continue
    p=$m
    rest=${CGPARENT#/}
    while [ -n "$rest" ]; do
      c=${rest%%/*}
      p=$p/$c
      [ "$rest" = "$c" ] && rest= || rest=${rest#*/}
      echo "$p"
    done
  done
}
cleanup_cgparent() {
  [ -n "${CGPARENT:-}" ] || return 0
  local d
  for d in /sys/fs/cgroup"$CGPARENT" /sys/fs/cgroup/*"$CGPARENT"; do
    [ -d "$d" ] && find "$d" -depth -mindepth 1 -type d -exec rmdir {} \; 2>/dev/null
  done
  _cgparent_dirs | sort -r | while read -r d; do
    [ -d "$d" ] && ! grep -qxF "$d" "$T/.cgpre" && rmdir "$d" 2>/dev/null
  done
  return 0
}

# alive PID: the process exists and is not a zombie (the host's init reaps
# orphans lazily, so a zombie is as good as gone)
alive() {
  local st
  st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  case $st in Z|X|"") return 1 ;; esac
  return 0
}

# gone PID [SECONDS]: wait until PID is not alive; false if it still is.
gone() {
  local i n=$(( ${2:-2} * 20 ))
  for ((i = 0; i < n; i++)); do
    alive "$1" || return 0
    sleep 0.05
  done
  return 1
}

# ------------------------------------------------------------- leftovers

_snapshot_mounts() { # the mount tables we watch
  cat /proc/self/mountinfo 2>/dev/null
  cat /proc/1/mountinfo 2>/dev/null
}
_watch_mounts() {
  _snapshot_mounts | grep -F -e "$T" -e "$TAG" -e "$ROOTFS" | sort
}
_watch_mounts >"$T/.mounts0"
_HOST_MNTNS=$(readlink /proc/self/ns/mnt)

# Extra paths outside $T a test wants checked (e.g. a host dir that must not
# be created): add them with watch_path PATH; check_leftovers fails if one
# exists at exit, and removes it.
_WATCH_PATHS=()
watch_path() { _WATCH_PATHS+=("$1"); }

_leftover_pids() {
  local p line pid st
  {
    pgrep -f -- "sleep $SLEEPN" || true
    pgrep -f -- "$TAG" || true
    while read -r pid st; do
      [ -n "$pid" ] || continue
      [ -d "/proc/$pid" ] || continue
      [ "$(_starttime "$pid")" = "$st" ] && echo "$pid"
    done <"$T/pids"
    # processes whose root or cwd is inside the test dir
    find /proc/[0-9]*/root /proc/[0-9]*/cwd -maxdepth 0 -lname "$T*" 2>/dev/null | cut -d/ -f3
  } | sort -un | grep -vx -e "$$" -e "${BASHPID:-$$}" |
    while read -r pid; do
      # zombies are not leftovers (the host's init reaps them lazily)
      st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null) || continue
      case $st in Z|X|"") ;; *) echo "$pid" ;; esac
    done
}

check_leftovers() {
  local bad=0 d p pids m

  # (a) container state
  if [ -d "$STATE" ]; then
    local left
    left=$(find "$STATE" -mindepth 1 -maxdepth 1 2>/dev/null)
    if [ -n "$left" ]; then
      echo "LEFTOVER: state root $STATE not empty: $(ls -A "$STATE" | tr '\n' ' ')"
      bad=1
      for d in "$STATE"/*; do
        [ -d "$d" ] && cv delete --force "$(basename "$d")" >/dev/null 2>&1
      done
    fi
  fi

  # (c) processes
  pids=$(_leftover_pids)
  if [ -n "$pids" ]; then
    echo "LEFTOVER: processes:"
    for p in $pids; do
      printf '  %s: %s\n' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    done
    bad=1
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.2
  fi

  # (b) mounts
  _watch_mounts >"$T/.mounts1"
  m=$(comm -13 "$T/.mounts0" "$T/.mounts1")
  if [ -n "$m" ]; then
    echo "LEFTOVER: mounts:"
    printf '  %s\n' "$m"
    bad=1
    local mp
    for mp in $(awk '{print $5}' <<<"$m" | sort -r); do
      umount -l "$mp" 2>/dev/null
    done
  fi

  # cgroups named after our containers (root mode only creates them)
  if [ -d /sys/fs/cgroup ]; then
    local cg
    cg=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "*$TAG*" 2>/dev/null)
    if [ -n "$cg" ]; then
      echo "LEFTOVER: cgroups:"
      printf '  %s\n' "$cg"
      bad=1
      # deepest first; only ours (name contains the tag)
      sort -r <<<"$cg" | while read -r d; do rmdir "$d" 2>/dev/null; done
    fi
  fi

  # watched paths
  for p in "${_WATCH_PATHS[@]}"; do
    if [ -e "$p" ] || [ -L "$p" ]; then
      echo "LEFTOVER: $p exists"
      bad=1
      rm -rf --one-file-system "$p" 2>/dev/null
    fi
  done

  # (a') the state root may remain, but only empty
  if [ -d "$STATE" ] && [ -n "$(ls -A "$STATE" 2>/dev/null)" ]; then
    echo "LEFTOVER: state root still not empty after delete --force"
    bad=1
  fi
  return $bad
}

_finish() {
  local rc=$?
  trap - EXIT
  set +e
  if ! check_leftovers; then
    FAILS=$((FAILS + 1))
    echo "FAIL: leftovers after the test (see above)"
  fi
  if [ "$FAILS" -gt 0 ]; then
    rc=1
  elif [ "$_SKIP" = 1 ]; then
    rc=77
  fi
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$FAILS" -eq 0 ]; then
    echo "FAIL: test script exited with status $rc"
  fi
  # never follow a mount point out of $T
  grep -F "$T" /proc/self/mountinfo 2>/dev/null | awk '{print $5}' | sort -r |
    while read -r mp; do umount -l "$mp" 2>/dev/null; done
  if [ -n "${COVE_KEEP_TMP:-}" ]; then
    echo "# kept $T"
  else
    rm -rf --one-file-system "$T" 2>/dev/null || chmod -R u+rwX "$T" 2>/dev/null
    rm -rf --one-file-system "$T" 2>/dev/null
  fi
  case $rc in
    0) echo "PASS: $TESTNAME ($MODE), $NCHECKS checks" ;;
    77) echo "SKIPPED: $TESTNAME ($MODE)" ;;
    *) echo "FAILED: $TESTNAME ($MODE), $FAILS failure(s) in $NCHECKS checks" ;;
  esac
  exit "$rc"
}
trap _finish EXIT
trap 'exit 130' INT TERM HUP

# Print the environment a test runs with (helps reading failures).
log "$TESTNAME mode=$MODE uid=$UID_NOW T=$T cove=$COVE rootfs=$ROOTFS"
[ -x "$COVE" ] || die "cove binary $COVE is not executable"
[ -x "$ROOTFS/bin/busybox" ] || die "rootfs $ROOTFS has no bin/busybox"

# cgfile PID CONTROLLER V1FILE V2FILE: the path of a limit file of PID's
# cgroup, seen from the host (v1 hierarchy of CONTROLLER, else the v2 one,
# at /sys/fs/cgroup or /sys/fs/cgroup/unified on hybrid hosts)
cgfile() {
  local n ctrls path f
  while IFS=: read -r n ctrls path; do
    if [[ ",$ctrls," == *",$2,"* ]] && [ -e "/sys/fs/cgroup/$2$path/$3" ]; then
      echo "/sys/fs/cgroup/$2$path/$3"; return
    fi
    if [ -z "$ctrls" ]; then
      for f in "/sys/fs/cgroup$path/$4" "/sys/fs/cgroup/unified$path/$4"; do
        [ -e "$f" ] && { echo "$f"; return; }
      done
    fi
  done <"/proc/$1/cgroup"
}
