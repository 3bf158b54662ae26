# shellcheck shell=bash
# What the integration tests (tests/integration: podman, containerd, CRI)
# share: what this cove offers, a cgroup parent the shared host allows, and
# a private containerd daemon. Sourced after common.sh.

# has_cmd CMD: this cove has the command (other branches add commands).
has_cmd() { "$COVE" "$1" --help >/dev/null 2>&1; }
HAS_CGROUPS=0
"$COVE" features 2>/dev/null | jq -e '.linux.cgroup.v1 == true or .linux.cgroup.v2 == true' >/dev/null 2>&1 &&
  HAS_CGROUPS=1
subskip() { printf 'SKIP: %s\n' "$*"; }

# cg_parent NAME: CGP, a cgroup path for the client's containers below this
# test's memory cgroup (its v2 one on a pure v2 host) that is below its
# cgroup in every other hierarchy too: the clients' default parents sit at
# the root of every v1 hierarchy, outside the test's own cgroup, which this
# shared host forbids. CGMNTS: the cgroup mount points; CGDIRS: the
# directories of $CGP and above missing before the test, in creation order
# (cg_parent_cleanup removes them).
cg_parent() {
  local own_mem own m d c comps
  own_mem=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
  [ -n "$own_mem" ] || own_mem=$(awk -F: '$1 == 0 {print $3}' /proc/self/cgroup) # pure v2
  CGP=${own_mem%/}/$1
  while IFS=: read -r _ _ own; do
    [ "$own" = / ] || [[ "$CGP/" == "${own%/}/"* ]] || CGP=
  done </proc/self/cgroup
  [ -n "$CGP" ] || die "no cgroup parent below this test's own cgroup in every hierarchy: $(tr '\n' ' ' </proc/self/cgroup)"
  CGMNTS=$(findmnt -n -t cgroup,cgroup2 -o TARGET)
  CGDIRS=()
  for m in $CGMNTS; do
    d=$m
    IFS=/ read -ra comps <<<"${CGP#/}"
    for c in "${comps[@]}"; do
      d=$d/$c
      [ -e "$d" ] || CGDIRS+=("$d")
    done
  done
}

# What the runtimes left of $CGP and above (they remove only the leaves).
# A parent above $CGP may meanwhile hold another job's cgroups: only our
# own directory left behind is a failure.
cg_parent_cleanup() {
  local i
  for ((i = ${#CGDIRS[@]} - 1; i >= 0; i--)); do
    [ -d "${CGDIRS[i]}" ] || continue
    rmdir "${CGDIRS[i]}" 2>/dev/null || [[ "${CGDIRS[i]}" != *"$CGP"* ]] ||
      { echo "LEFTOVER: cgroup ${CGDIRS[i]}"; FAILS=$((FAILS + 1)); }
  done
  return 0
}

# ctrd_start [CMD...]: containerd --config $T/config.toml on $SOCK, in the
# background (under CMD when given, e.g. unshare), logging to
# $T/containerd.log; CD_PID. Returns once the socket is there.
ctrd_start() {
  "$@" containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
  CD_PID=$!
  for _ in $(seq 100); do
    [ -S "$SOCK" ] && break
    kill -0 "$CD_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -S "$SOCK" ] || die "containerd did not start: $(tail -5 "$T/containerd.log")"
  # ctr on our socket and namespace (a script: capture runs it under timeout)
  mkdir -p "$T/bin"
  printf '#!/bin/bash\nexec ctr -a %q -n %q "$@"\n' "$SOCK" "$NS" >"$T/bin/c"
  chmod 0755 "$T/bin/c"
}

# The shims still running (each a LEFTOVER: they hold the containers),
# then the daemon.
ctrd_stop() {
  local p
  for p in $(pgrep -f -- "-address $SOCK" 2>/dev/null); do
    echo "LEFTOVER: shim $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    FAILS=$((FAILS + 1))
    kill -KILL "$p" 2>/dev/null
  done
  if [ -n "${CD_PID:-}" ]; then
    kill -TERM "$CD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$CD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CD_PID" 2>/dev/null
    wait "$CD_PID" 2>/dev/null
  fi
  return 0
}
