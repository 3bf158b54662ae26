#!/usr/bin/env bash
# process.capabilities and process.noNewPrivileges, read back from
# /proc/self/status inside the container; an unknown capability name is
# refused with the field's path.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

B=$T/bundle
secbundle "$B"
STATUS_RE='^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):'

# caps_hex NAME...: the /proc/PID/status hex of a set of capabilities
declare -A CAPNUM=([CAP_CHOWN]=0 [CAP_DAC_OVERRIDE]=1 [CAP_FOWNER]=3 [CAP_KILL]=5 [CAP_SETGID]=6 [CAP_SETUID]=7
  [CAP_SETPCAP]=8 [CAP_NET_BIND_SERVICE]=10 [CAP_NET_RAW]=13 [CAP_SYS_CHROOT]=18 [CAP_SYS_PTRACE]=19
  [CAP_SYS_ADMIN]=21 [CAP_AUDIT_WRITE]=29 [CAP_SETFCAP]=31)
caps_hex() {
  local v=0 c
  for c in "$@"; do v=$((v | (1 << ${CAPNUM[$c]}))); done
  printf '%016x' "$v"
}
to_json() { printf '%s\n' "$@" | jq -R . | jq -sc 'map(select(. != ""))'; }

# --- 1. all five sets equal (what every engine sends) --------------------
set1=(CAP_CHOWN CAP_KILL CAP_NET_BIND_SERVICE CAP_AUDIT_WRITE CAP_SYS_CHROOT)
j=$(to_json "${set1[@]}")
cfg "$B" --argjson s "$j" '.process.capabilities = {bounding: $s, effective: $s, permitted: $s, inheritable: [], ambient: []}
  | .process.noNewPrivileges = true'
run_in "$B" grep -E "$STATUS_RE" /proc/self/status
assert_eq 0 "$RC" "equal sets: exit status (stderr: $ERR)"
h=$(caps_hex "${set1[@]}")
assert_eq "$h" "$(capline CapBnd)" "CapBnd"
assert_eq "$h" "$(capline CapEff)" "CapEff"
assert_eq "$h" "$(capline CapPrm)" "CapPrm"
assert_eq 0000000000000000 "$(capline CapInh)" "CapInh"
assert_eq 0000000000000000 "$(capline CapAmb)" "CapAmb"
assert_eq 1 "$(capline NoNewPrivs)" "NoNewPrivs with noNewPrivileges true"
assert_eq 0 "$(capline Seccomp)" "Seccomp without linux.seccomp"

# --- 2. distinct sets, with ambient ---------------------------------------
bnd=(CAP_CHOWN CAP_KILL CAP_NET_BIND_SERVICE CAP_AUDIT_WRITE CAP_SETUID CAP_SETGID)
prm=(CAP_KILL CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID)
inh=(CAP_KILL CAP_NET_BIND_SERVICE)
amb=(CAP_KILL)
cfg "$B" --argjson b "$(to_json "${bnd[@]}")" --argjson p "$(to_json "${prm[@]}")" \
  --argjson i "$(to_json "${inh[@]}")" --argjson a "$(to_json "${amb[@]}")" \
  '.process.capabilities = {bounding: $b, effective: $p, permitted: $p, inheritable: $i, ambient: $a}
   | .process.noNewPrivileges = false'
run_in "$B" grep -E "$STATUS_RE" /proc/self/status
assert_eq 0 "$RC" "distinct sets: exit status (stderr: $ERR)"
assert_eq "$(caps_hex "${bnd[@]}")" "$(capline CapBnd)" "CapBnd (distinct sets)"
assert_eq "$(caps_hex "${inh[@]}")" "$(capline CapInh)" "CapInh (distinct sets)"
assert_eq "$(caps_hex "${amb[@]}")" "$(capline CapAmb)" "CapAmb (distinct sets)"
assert_eq 0 "$(capline NoNewPrivs)" "NoNewPrivs with noNewPrivileges false"
# uid 0 regains its permitted set from the bounding set at execve (kernel
# rule for root without SECBIT_NOROOT): permitted is bounding here; what
# must hold is that nothing outside the bounding set appears.
p=$((16#$(capline CapPrm))); b=$((16#$(capline CapBnd))); e=$((16#$(capline CapEff)))
assert_eq 0 $((p & ~b)) "CapPrm outside CapBnd (prm=$(capline CapPrm) bnd=$(capline CapBnd))"
assert_eq 0 $((e & ~b)) "CapEff outside CapBnd"

# --- 3. distinct sets for a non-root user: exact values --------------------
if [ "$MODE" = root ]; then
  cfg "$B" '.process.user = {uid: 1000, gid: 1000}'
  run_in "$B" grep -E "$STATUS_RE" /proc/self/status
  assert_eq 0 "$RC" "uid 1000, distinct sets: exit status (stderr: $ERR)"
  assert_eq "$(caps_hex "${bnd[@]}")" "$(capline CapBnd)" "uid 1000: CapBnd"
  assert_eq "$(caps_hex "${inh[@]}")" "$(capline CapInh)" "uid 1000: CapInh"
  assert_eq "$(caps_hex "${amb[@]}")" "$(capline CapAmb)" "uid 1000: CapAmb"
  # a non-root process keeps only its ambient set across execve
  assert_eq "$(caps_hex "${amb[@]}")" "$(capline CapPrm)" "uid 1000: CapPrm (= ambient after execve)"
  assert_eq "$(caps_hex "${amb[@]}")" "$(capline CapEff)" "uid 1000: CapEff (= ambient after execve)"
  cfg "$B" '.process.user = {uid: 0, gid: 0}'
fi

# --- 4. no capabilities object: every set empty --------------------------
cfg "$B" 'del(.process.capabilities)'
run_in "$B" grep -E "$STATUS_RE" /proc/self/status
assert_eq 0 "$RC" "no capabilities: exit status (stderr: $ERR)"
for k in CapBnd CapEff CapPrm CapInh CapAmb; do
  assert_eq 0000000000000000 "$(capline $k)" "$k without process.capabilities"
done

# --- 5. a dropped capability is really gone -------------------------------
cfg "$B" '.process.capabilities = {bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"]}'
run_in "$B" sh -c 'mount -t tmpfs none /mnt 2>&1; echo rc=$?'
assert_contains "$OUT" "rc=1" "mount without CAP_SYS_ADMIN must fail"

# --- 6. unknown capability names ------------------------------------------
cfg "$B" '.process.capabilities = {bounding: ["CAP_KILL", "CAP_NOT_A_CAP"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"]}'
newid
capture cv run --bundle "$B" "$ID"
assert_cove_error 'process.capabilities.bounding[1]'
assert_contains "$ERR" CAP_NOT_A_CAP "error names the bad capability"
cfg "$B" '.process.capabilities = {bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"], ambient: ["KILL_ME"]}'
newid
capture cv run --bundle "$B" "$ID"
assert_cove_error 'process.capabilities.ambient[0]'
