#!/usr/bin/env bash
# The systemd cgroup manager on a host where it cannot work (no systemd,
# hybrid cgroups): refused with the reason, nothing left behind. libsystemd
# is loaded only when that manager is used (not linked), and a missing one is
# named. The manager itself runs in the systemd guest (tests/vm/systemd_guest.sh).
. "$(dirname "$0")/../lib/common.sh"

[ "$("$COVE" features | jq -r '.linux.cgroup.systemd')" = true ] || skip "built without the systemd cgroup manager"
[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] &&
  skip "pure cgroup v2 host: the manager works here (tests/vm/systemd_guest.sh)"

# --- not linked: every exec would pay for libsystemd and its libraries
assert_eq "" "$(ldd "$COVE" | grep -E 'libsystemd|libgcrypt|liblz4|libzstd|liblzma')" "libraries linked into cove"

B=$T/bundle
mkbundle "$B"
set_args "$B" true
cfg "$B" '.linux.resources = {pids: {limit: 10}}'

# --- loaded and resolved (the load comes before the host check): the
# refusal is about the host
newid
capture cv --systemd-cgroup run --bundle "$B" "$ID"
assert_cove_error "needs a pure cgroup v2 host"
assert_fail cv state "$ID"

# --- libsystemd missing at run time: named, nothing left behind
lib=$(ldconfig -p | awk '$1 == "libsystemd.so.0" && /x86-64|x86_64/ { print $NF; exit }')
[ -n "$lib" ] || lib=$(ldconfig -p | awk '$1 == "libsystemd.so.0" { print $NF; exit }')
[ -n "$lib" ] || { echo "no libsystemd.so.0 here: the missing-library case is moot"; exit 0; }
uns=(unshare -m)
[ "$MODE" = rootless ] && uns=(unshare -rm)
# shellcheck disable=SC2016 # expanded by the inner shell
hide=(sh -c 'mount --bind /dev/null "$0" && exec "$@"' "$lib")
newid
capture "${uns[@]}" "${hide[@]}" "$COVE" --root "$STATE" --systemd-cgroup run --bundle "$B" "$ID"
assert_cove_error "systemd cgroup manager: cannot load libsystemd.so.0"
assert_fail cv state "$ID"
[ -e "$STATE/$ID" ] && fail "state of $ID left behind in $STATE"
# the other commands never load it
capture "${uns[@]}" "${hide[@]}" "$COVE" --version
assert_eq 0 "$RC" "cove --version without libsystemd (stderr: $ERR)"
capture "${uns[@]}" "${hide[@]}" "$COVE" features
assert_eq 0 "$RC" "cove features without libsystemd (stderr: $ERR)"
assert_eq true "$(jq -r .linux.cgroup.systemd <<<"$OUT")" "features: the manager is built in"
