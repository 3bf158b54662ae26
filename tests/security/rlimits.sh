#!/usr/bin/env bash
# process.rlimits read back from /proc/self/limits; an unknown type and a
# hard limit above the caller's are refused clearly, leaving nothing.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

B=$T/bundle
secbundle "$B"

limit_line() { grep "^$1 " <<<"$OUT" | sed 's/  */ /g'; }

# --- NOFILE 1024/1024 (the default spec) and CORE --------------------------
cfg "$B" '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 1024, hard: 1024}, {type: "RLIMIT_CORE", soft: 0, hard: 4096}]'
run_in "$B" cat /proc/self/limits
assert_eq 0 "$RC" "rlimits: exit status (stderr: $ERR)"
assert_eq "Max open files 1024 1024 files " "$(limit_line 'Max open files')" "RLIMIT_NOFILE in /proc/self/limits"
assert_eq "Max core file size 0 4096 bytes " "$(limit_line 'Max core file size')" "RLIMIT_CORE in /proc/self/limits"
# what is not configured is inherited unchanged (RLIMIT_STACK soft)
host_stack=$(grep '^Max stack size' /proc/self/limits | sed 's/  */ /g')
assert_eq "$host_stack" "$(limit_line 'Max stack size')" "RLIMIT_STACK (not configured: inherited)"

# unlimited is expressed as 2^64-1
# (jq would print 2^64-1 as a rounded float: write the literal with sed)
cfg "$B" '.process.rlimits = [{type: "RLIMIT_CORE", soft: "@MAX@", hard: "@MAX@"}]'
set_args "$B" cat /proc/self/limits
sed -i 's/"@MAX@"/18446744073709551615/g' "$B/config.json"
newid
capture cv run --bundle "$B" "$ID"
if [ "$(ulimit -Hc)" = unlimited ]; then
  assert_eq 0 "$RC" "RLIMIT_CORE unlimited: exit status (stderr: $ERR)"
  assert_eq "Max core file size unlimited unlimited bytes " "$(limit_line 'Max core file size')" "RLIMIT_CORE unlimited"
fi

# --- unknown type -------------------------------------------------------------
cfg "$B" '.process.rlimits = [{type: "RLIMIT_BOGUS", soft: 1, hard: 1}]'
newid
capture cv run --bundle "$B" "$ID"
assert_cove_error 'process.rlimits[0].type'
assert_contains "$ERR" RLIMIT_BOGUS "error names the bad type"

# --- soft above hard ------------------------------------------------------------
cfg "$B" '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 2048, hard: 1024}]'
newid
capture cv run --bundle "$B" "$ID"
assert_cove_error 'process.rlimits[0]'

# --- hard limit above the caller's (no CAP_SYS_RESOURCE to raise it) -------------
host_hard=$(ulimit -Hn)
cap_res=$(( (16#$(awk '/^CapEff/{print $2}' /proc/self/status) >> 24) & 1 ))
if [ "$cap_res" = 1 ]; then
  big=$(( $(cat /proc/sys/fs/nr_open) + 1 ))   # even CAP_SYS_RESOURCE cannot
else
  big=$(( host_hard + 1000 ))
fi
log "host nofile hard $host_hard, CAP_SYS_RESOURCE=$cap_res, asking for $big"
cfg "$B" --argjson n "$big" '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 1024, hard: $n}]'
set_args "$B" true
newid
capture cv create --bundle "$B" "$ID"
assert_cove_error 'RLIMIT_NOFILE'
assert_contains "$ERR" 'process.rlimits' "error names the field"
assert_match "$ERR" 'Operation not permitted|not permitted|above' "error says why"
capture cv state "$ID"
assert_ne 0 "$RC" "state of a container whose create failed"
