#!/usr/bin/env bash
# process.oomScoreAdj, linux.personality, process.user.umask and the LSM
# fields (apparmorProfile, selinuxLabel: refused where the LSM is off).
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

B=$T/bundle
secbundle "$B"
cfg "$B" '.mounts += [{destination: "/mnt/tmpfs", type: "tmpfs", source: "tmpfs", options: ["size=1m", "mode=1777"]}]'

# --- oomScoreAdj --------------------------------------------------------------
host_adj=$(cat /proc/self/oom_score_adj)
up=$(( host_adj < 500 ? 500 : host_adj ))
cfg "$B" --argjson a "$up" '.process.oomScoreAdj = $a'
run_in "$B" cat /proc/self/oom_score_adj
assert_eq 0 "$RC" "oomScoreAdj $up: exit status (stderr: $ERR)"
assert_eq "$up" "$OUT" "oom_score_adj raised to $up"
cfg "$B" '.process.oomScoreAdj = -500'
# lowering needs CAP_SYS_RESOURCE in the initial user namespace
cap_res=$(( (16#$(awk '/^CapEff/{print $2}' /proc/self/status) >> 24) & 1 ))
if [ "$MODE" = root ] && [ "$cap_res" = 1 ]; then
  run_in "$B" cat /proc/self/oom_score_adj
  assert_eq 0 "$RC" "oomScoreAdj -500 as root: exit status (stderr: $ERR)"
  assert_eq -500 "$OUT" "oom_score_adj lowered to -500 as root"
else
  set_args "$B" cat /proc/self/oom_score_adj
  newid
  capture cv create --bundle "$B" "$ID"
  assert_cove_error process.oomScoreAdj
  cstate "$ID"
  assert_ne 0 "$RC" "state after a failed create (oomScoreAdj)"
fi
assert_eq "$host_adj" "$(cat /proc/self/oom_score_adj)" "caller's oom_score_adj unchanged"
cfg "$B" 'del(.process.oomScoreAdj)'
run_in "$B" cat /proc/self/oom_score_adj
assert_eq "$host_adj" "$OUT" "oom_score_adj without process.oomScoreAdj (inherited)"

# --- personality ------------------------------------------------------------------
cfg "$B" '.linux.personality = {domain: "LINUX32"}'
run_in "$B" sh -c 'uname -m; cat /proc/self/personality'
assert_eq 0 "$RC" "LINUX32: exit status (stderr: $ERR)"
assert_eq "i686" "$(sed -n 1p <<<"$OUT")" "uname -m under LINUX32"
assert_eq "00000008" "$(sed -n 2p <<<"$OUT")" "/proc/self/personality under LINUX32"
cfg "$B" '.linux.personality = {domain: "LINUX"}'
run_in "$B" uname -m
assert_eq "$(uname -m)" "$OUT" "uname -m under LINUX (stderr: $ERR)"
cfg "$B" '.linux.personality = {domain: "LINUX64"}'
newid
capture cv run --bundle "$B" "$ID"
assert_cove_error linux.personality.domain
cfg "$B" 'del(.linux.personality)'

# --- umask -------------------------------------------------------------------------
cfg "$B" '.process.user.umask = 23'   # 0027
run_in "$B" sh -c 'umask; touch /mnt/tmpfs/f; mkdir /mnt/tmpfs/d; stat -c %a /mnt/tmpfs/f /mnt/tmpfs/d'
assert_eq 0 "$RC" "umask 0027: exit status (stderr: $ERR)"
assert_eq "0027 640 750" "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')" "umask 0027: umask, file and dir modes"
cfg "$B" 'del(.process.user.umask)'

# --- AppArmor / SELinux --------------------------------------------------------------
if [ ! -e /sys/kernel/security/apparmor ]; then
  cfg "$B" '.process.apparmorProfile = "cove-test-profile"'
  newid
  capture cv run --bundle "$B" "$ID"
  assert_cove_error 'process.apparmorProfile'
  assert_contains "$ERR" "not enabled on this host" "apparmor error"
  cfg "$B" 'del(.process.apparmorProfile)'
else
  log "AppArmor enabled here: its refusal is not checked"
fi
if [ ! -e /sys/fs/selinux/enforce ]; then
  cfg "$B" '.process.selinuxLabel = "system_u:system_r:container_t:s0"'
  newid
  capture cv run --bundle "$B" "$ID"
  assert_cove_error 'process.selinuxLabel'
  assert_contains "$ERR" "not enabled on this host" "selinux error"
  cfg "$B" 'del(.process.selinuxLabel)'
fi
# an empty label means "none" and is accepted
cfg "$B" '.process.apparmorProfile = "" | .process.selinuxLabel = ""'
run_in "$B" true
assert_eq 0 "$RC" "empty apparmorProfile/selinuxLabel accepted (stderr: $ERR)"
