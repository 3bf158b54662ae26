#!/usr/bin/env bash
# The container's view of its cgroups (a `cgroup` mount in config.json),
# read from inside the way a JVM (or Go, .NET, Node) sizes itself:
# /proc/self/cgroup gives the cgroup path per controller, /proc/self/mountinfo
# the mount of that hierarchy (mount point + root), the limit file is
# <mount point>/<path below root>/memory.limit_in_bytes; and the fixed
# paths /sys/fs/cgroup/memory/memory.limit_in_bytes, /sys/fs/cgroup/cpu/
# cpu.cfs_quota_us that simpler code reads. On v1/hybrid hosts that is a
# tmpfs with each hierarchy's own container cgroup bound read-only (what
# runc gives); the host's other cgroups must not be visible. Compared with
# runc on the same bundle where runc can run it.
# Pure cgroup v2: tests/vm/cgroup_checks.sh.
. "$(dirname "$0")/../lib/common.sh"

[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] &&
  skip "pure cgroup v2 host: covered by tests/vm/cgroup_checks.sh"
grep -q ' - cgroup ' /proc/self/mountinfo || skip "no cgroup v1 hierarchy mounted"

B=$T/bundle
mkbundle "$B"

# What the container prints: the JVM-style lookup, the fixed paths, the
# view's layout, and whether it is writable.
PROBE='
jvm() { # CONTROLLER FILE: as OpenJDK CgroupV1Subsystem finds it
  p=$(awk -F: -v c="$1" "{ n = split(\$2, a, \",\"); for (i = 1; i <= n; i++) if (a[i] == c) print \$3 }" /proc/self/cgroup)
  while read -r _ _ _ root mnt opts rest; do
    fs=${rest#*- }; fs=${fs%% *}; so=${rest##* }
    [ "$fs" = cgroup ] || continue
    case ",$so," in *",$1,"*) ;; *) continue ;; esac
    case "$p" in "$root"*) rel=${p#"$root"} ;; *) continue ;; esac
    [ "$root" = / ] && rel=$p
    cat "$mnt$rel/$2" 2>/dev/null || echo none
    return
  done </proc/self/mountinfo
  echo no-mount
}
echo "jvm.memory=$(jvm memory memory.limit_in_bytes)"
echo "jvm.quota=$(jvm cpu cpu.cfs_quota_us)"
echo "jvm.period=$(jvm cpu cpu.cfs_period_us)"
echo "fixed.memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || echo none)"
echo "fixed.quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || echo none)"
echo "fixed.pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || echo none)"
echo "dirs=$(find /sys/fs/cgroup -mindepth 2 -type d | wc -l)"
echo "entries=$(cd /sys/fs/cgroup && ls | grep -vx unified | tr "\n" " ")"
for d in /sys/fs/cgroup/*/; do d=${d%/}; echo "n.${d##*/}=$(ls "$d" | wc -l)"; done
mkdir /sys/fs/cgroup/x 2>/dev/null && echo tmpfs-writable
echo 1 >/sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null && echo memory-writable
for f in /sys/fs/cgroup/*/cgroup.procs; do grep -qx 1 "$f" && echo "pid1-in=${f%/cgroup.procs}"; done | sort | tr "\n" " "
echo
'
set_args "$B" sh -c "$PROBE"

own() { awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup; }

# probe NAME RUNTIME: run the probe, OUT keeps its output
probe() {
  local rt=$1
  newid
  if [ "$rt" = cove ]; then
    capture cv run --bundle "$B" "$ID"
  else
    capture runc --root "$T/runc" run --bundle "$B" "$ID"
    runc --root "$T/runc" delete -f "$ID" >/dev/null 2>&1
  fi
}
val() { sed -n "s/^$1=//p" <<<"$2"; }
HAVE_RUNC=0
command -v runc >/dev/null 2>&1 && HAVE_RUNC=1

if [ "$MODE" = root ]; then
  mo=$(own memory)
  cp="${mo%/}/cove-view-$TAG"
  # a sibling cgroup of the container's: its name must not show inside
  sib="/sys/fs/cgroup/memory${mo%/}/cove-view-sibling-$TAG"
  mkdir "$sib" || die "mkdir $sib"
  for ns in none cgroup; do
    if [ $ns = none ]; then
      cfg "$B" 'del(.linux.namespaces[] | select(.type == "cgroup"))'
    else
      cfg "$B" '.linux.namespaces |= (map(select(.type != "cgroup")) + [{type: "cgroup"}])'
    fi
    cfg "$B" --arg p "$cp" '.linux.cgroupsPath = $p
      | .linux.resources = {memory: {limit: 67108864}, cpu: {quota: 50000, period: 100000}, pids: {limit: 99}}'
    probe cove
    assert_eq 0 "$RC" "cgroupns=$ns: the probe runs (stderr: $ERR)"
    C=$OUT
    log "cove, cgroupns=$ns: $(tr '\n' ' ' <<<"$C")"
    assert_eq 67108864 "$(val jvm.memory "$C")" "cgroupns=$ns: memory limit found as a JVM finds it"
    assert_eq 50000 "$(val jvm.quota "$C")" "cgroupns=$ns: cfs quota found as a JVM finds it"
    assert_eq 100000 "$(val jvm.period "$C")" "cgroupns=$ns: cfs period found as a JVM finds it"
    assert_eq 67108864 "$(val fixed.memory "$C")" "cgroupns=$ns: /sys/fs/cgroup/memory/memory.limit_in_bytes"
    assert_eq 50000 "$(val fixed.quota "$C")" "cgroupns=$ns: /sys/fs/cgroup/cpu/cpu.cfs_quota_us"
    assert_eq 99 "$(val fixed.pids "$C")" "cgroupns=$ns: /sys/fs/cgroup/pids/pids.max"
    assert_eq 0 "$(val dirs "$C")" "cgroupns=$ns: no cgroup below the container's is visible (no other cgroup)"
    assert_not_contains "$C" "sibling" "cgroupns=$ns: the sibling cgroup is not visible"
    assert_not_contains "$C" "writable" "cgroupns=$ns: the view is read-only"
    assert_contains "$(val entries "$C")" "memory " "cgroupns=$ns: /sys/fs/cgroup/memory"
    assert_match "$C" "pid1-in=[^ ]*/memory( |$)" "cgroupns=$ns: pid 1 is in the memory cgroup the view shows"
    assert_match "$C" "pid1-in=[^ ]*/cpu( |$)" "cgroupns=$ns: pid 1 is in the cpu cgroup the view shows"
    if [ $HAVE_RUNC = 1 ]; then
      probe runc
      if [ "$RC" = 0 ]; then
        log "runc, cgroupns=$ns: $(tr '\n' ' ' <<<"$OUT")"
        for k in jvm.memory jvm.quota jvm.period fixed.memory fixed.quota fixed.pids dirs; do
          assert_eq "$(val "$k" "$OUT")" "$(val "$k" "$C")" "cgroupns=$ns: $k: cove = runc"
        done
        # the same directories (cove adds `unified`, the v2 hierarchy, not listed)
        assert_eq "$(val entries "$OUT")" "$(val entries "$C")" "cgroupns=$ns: /sys/fs/cgroup entries: cove = runc"
      else
        log "runc could not run the bundle (rc $RC: $ERR): no comparison"
      fi
    fi
  done
  rmdir "$sib"
  left=$(find /sys/fs/cgroup -maxdepth 6 -name "cove-view-$TAG" 2>/dev/null)
  assert_eq "" "$left" "no container cgroup left"

  # cgroup2 explicitly on a hybrid host: the container's v2 cgroup only
  if grep -q ' - cgroup2 ' /proc/self/mountinfo; then
    cfg "$B" 'del(.linux.namespaces[] | select(.type == "cgroup"))
      | .mounts |= map(if .type == "cgroup" then .type = "cgroup2" else . end) | .linux.resources = {pids: {limit: 99}}
      | del(.linux.cgroupsPath)'
    set_args "$B" sh -c 'grep " /sys/fs/cgroup " /proc/self/mountinfo; find /sys/fs/cgroup -mindepth 1 -type d | wc -l'
    newid
    capture cv run --bundle "$B" "$ID"
    assert_eq 0 "$RC" "type cgroup2 on a hybrid host (stderr: $ERR)"
    assert_match "$OUT" "/cove-$ID /sys/fs/cgroup [^ ]* .*- cgroup2 " "type cgroup2: a bind of the container's own v2 cgroup"
    assert_eq 0 "$(tail -n 1 <<<"$OUT")" "type cgroup2: nothing below the container's cgroup"
  fi
  exit 0
fi

# ---- rootless: no writable cgroup here, the container stays in this
# user's cgroups; the view shows those of them that are not a hierarchy's
# root, read-only, and never the host's tree
cfg "$B" 'del(.linux.namespaces[] | select(.type == "cgroup")) | del(.linux.resources)'
probe cove
assert_eq 0 "$RC" "rootless: the probe runs (stderr: $ERR)"
C=$OUT
log "cove rootless: $(tr '\n' ' ' <<<"$C")"
assert_not_contains "$C" "writable" "rootless: the view is read-only"
for c in memory cpu pids; do
  [ "$(own "$c")" = / ] && assert_eq 0 "$(val "n.$c" "$C")" "rootless: nothing of the host's $c tree shows (this user is in its root)"
done
# with a cgroup namespace: its root is this user's cgroup; where that is a
# hierarchy's root, a fresh mount would show the host's tree: left empty
cfg "$B" '.linux.namespaces += [{type: "cgroup"}]'
probe cove
assert_eq 0 "$RC" "rootless, cgroup namespace: the probe runs (stderr: $ERR)"
log "cove rootless, cgroup namespace: $(tr '\n' ' ' <<<"$OUT")"
for c in memory cpu pids; do
  [ "$(own "$c")" = / ] && assert_eq 0 "$(val "n.$c" "$OUT")" "rootless, cgroup namespace: nothing of the host's $c tree shows"
done
cfg "$B" 'del(.linux.namespaces[] | select(.type == "cgroup"))'
exp=$(cat "/sys/fs/cgroup/memory$(own memory)/memory.limit_in_bytes" 2>/dev/null)
[ "$(own memory)" != / ] && assert_eq "$exp" "$(val jvm.memory "$C")" "rootless: the memory limit of this user's cgroup, as a JVM finds it"
if [ $HAVE_RUNC = 1 ]; then
  probe runc
  if [ "$RC" = 0 ]; then
    log "runc rootless: $(tr '\n' ' ' <<<"$OUT")"
    assert_eq "$(val jvm.memory "$OUT")" "$(val jvm.memory "$C")" "rootless: jvm.memory: cove = runc"
    assert_eq "$(val fixed.memory "$OUT")" "$(val fixed.memory "$C")" "rootless: fixed.memory: cove = runc"
  else
    log "runc could not run the bundle rootless (rc $RC: $ERR): no comparison"
  fi
fi
