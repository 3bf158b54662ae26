#!/usr/bin/env bash
# A time namespace with linux.timeOffsets: CLOCK_MONOTONIC and
# CLOCK_BOOTTIME (and /proc/uptime) are shifted inside, not on the host.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

B=$T/bundle
secbundle "$B"
MONO=864000     # 10 days
BOOT=1728000    # 20 days
cfg "$B" --argjson m $MONO --argjson b $BOOT '.linux.namespaces += [{type: "time"}]
  | .linux.timeOffsets = {monotonic: {secs: $m, nanosecs: 0}, boottime: {secs: $b, nanosecs: 0}}'

read -r h_mono h_boot < <("$SECROOTFS/bin/clocks")
h_up=$(cut -d. -f1 /proc/uptime)
run_in "$B" sh -c 'clocks; cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time'
assert_eq 0 "$RC" "time namespace: exit status (stderr: $ERR)"
read -r c_mono c_boot <<<"$(sed -n 1p <<<"$OUT")"
c_up=$(sed -n 2p <<<"$OUT")
c_ns=$(sed -n 3p <<<"$OUT")
d_mono=$(( c_mono - h_mono )); d_boot=$(( c_boot - h_boot )); d_up=$(( c_up - h_up ))
log "monotonic +$d_mono boottime +$d_boot uptime +$d_up"
assert_match "$d_mono" '^[0-9]+$' "monotonic difference"
[ "$d_mono" -ge $MONO ] && [ "$d_mono" -le $((MONO + 10)) ] && pass || fail "CLOCK_MONOTONIC offset: expected ~$MONO, got $d_mono"
[ "$d_boot" -ge $BOOT ] && [ "$d_boot" -le $((BOOT + 10)) ] && pass || fail "CLOCK_BOOTTIME offset: expected ~$BOOT, got $d_boot"
[ "$d_up" -ge $BOOT ] && [ "$d_up" -le $((BOOT + 10)) ] && pass || fail "/proc/uptime offset (boottime): expected ~$BOOT, got $d_up"
assert_ne "$(readlink /proc/self/ns/time)" "$c_ns" "container's time namespace differs from the host's"
read -r h2_mono _ < <("$SECROOTFS/bin/clocks")
[ $((h2_mono - h_mono)) -lt 60 ] && pass || fail "host CLOCK_MONOTONIC jumped"

# without offsets: a new time namespace, clocks unshifted
cfg "$B" 'del(.linux.timeOffsets)'
read -r h_mono _ < <("$SECROOTFS/bin/clocks")
run_in "$B" clocks
assert_eq 0 "$RC" "time namespace without offsets: exit status (stderr: $ERR)"
read -r c_mono _ <<<"$OUT"
[ $(( c_mono - h_mono )) -ge 0 ] && [ $(( c_mono - h_mono )) -le 10 ] && pass || fail "monotonic without offsets shifted by $(( c_mono - h_mono ))"

# offsets without a time namespace are refused
cfg "$B" '.linux.namespaces |= map(select(.type != "time")) | .linux.timeOffsets = {monotonic: {secs: 5}}'
newid
capture cv run --bundle "$B" "$ID"
assert_cove_error 'timeOffsets'
