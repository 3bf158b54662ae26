#!/usr/bin/env bash
# process.*: env, cwd, user, umask, rlimits, capabilities, noNewPrivileges;
# hostname, domainname; loopback in a new network namespace.
. "$(dirname "$0")/../lib/common.sh"

B=$T/bundle
mkbundle "$B"

# --- env: exactly the config's, nothing of the caller's
export COVE_LEAK_CANARY=1
cfg "$B" '.process.env = ["PATH=/bin:/usr/bin", "HOME=/home/test", "TERM=dumb", "COVE_SPACES=a b  c", "COVE_EQ=x=y=z", "COVE_EMPTY="]'
run_in "$B" env
assert_eq 0 "$RC" "env: exit status (stderr: $ERR)"
expected=$(printf '%s\n' "PATH=/bin:/usr/bin" "HOME=/home/test" "TERM=dumb" "COVE_SPACES=a b  c" "COVE_EQ=x=y=z" "COVE_EMPTY=" | sort)
assert_eq "$expected" "$(sort <<<"$OUT")" "container environment"
assert_not_contains "$OUT" COVE_LEAK_CANARY "container environment (caller's variables)"
unset COVE_LEAK_CANARY
# PATH from the config is used to find the program
cfg "$B" '.process.env = ["PATH=/nonexistent:/bin"]'
run_in "$B" sh -c 'echo $PATH'
assert_eq "/nonexistent:/bin" "$OUT" "PATH lookup with config PATH (stderr: $ERR)"

mkbundle "$B"
# --- cwd
cfg "$B" '.process.cwd = "/tmp"'
run_in "$B" pwd
assert_eq /tmp "$OUT" "pwd with process.cwd=/tmp (stderr: $ERR)"
cfg "$B" '.process.cwd = "/mnt/ro"'
run_in "$B" sh -c 'pwd; ls -d .'
assert_eq "/mnt/ro ." "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')" "cwd /mnt/ro (stderr: $ERR)"
cfg "$B" '.process.cwd = "/"'

# --- umask
run_in "$B" sh -c umask
assert_eq 0022 "$OUT" "default umask (stderr: $ERR)"
cfg "$B" '.process.user.umask = 63'   # 0077
run_in "$B" sh -c umask
assert_eq 0077 "$OUT" "umask 0077 from process.user.umask (stderr: $ERR)"
cfg "$B" 'del(.process.user.umask)'

# --- hostname, domainname
cfg "$B" --arg h "host-$TAG" '.hostname = $h | .domainname = "cove.example"'
run_in "$B" sh -c 'hostname; cat /proc/sys/kernel/domainname'
assert_eq 0 "$RC" "hostname: exit status (stderr: $ERR)"
assert_eq "host-$TAG" "$(sed -n 1p <<<"$OUT")" "hostname"
assert_eq cove.example "$(sed -n 2p <<<"$OUT")" "domainname"
assert_ne "host-$TAG" "$(hostname)" "host's hostname after the container set its own"

# --- rlimits
cfg "$B" '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 123, hard: 456}, {type: "RLIMIT_CORE", soft: 0, hard: 0}]'
run_in "$B" sh -c 'ulimit -Sn; ulimit -Hn; ulimit -Sc; grep "Max open files" /proc/self/limits'
assert_eq 0 "$RC" "rlimits: exit status (stderr: $ERR)"
assert_eq 123 "$(sed -n 1p <<<"$OUT")" "soft RLIMIT_NOFILE"
assert_eq 456 "$(sed -n 2p <<<"$OUT")" "hard RLIMIT_NOFILE"
assert_eq 0 "$(sed -n 3p <<<"$OUT")" "soft RLIMIT_CORE"
assert_match "$(sed -n 4p <<<"$OUT")" 'Max open files +123 +456 ' "/proc/self/limits"

# --- capabilities (pid 1 runs as uid 0 in the container)
cfg "$B" '.process.capabilities = {bounding: ["CAP_KILL","CAP_CHOWN"], effective: ["CAP_KILL","CAP_CHOWN"], permitted: ["CAP_KILL","CAP_CHOWN"], inheritable: [], ambient: []}'
run_in "$B" grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status
assert_eq 0 "$RC" "capabilities: exit status (stderr: $ERR)"
capline() { awk -v k="$1:" '$1 == k { print $2 }' <<<"$OUT"; }
assert_eq 0000000000000021 "$(capline CapBnd)" "CapBnd (CAP_CHOWN|CAP_KILL)"
assert_eq 0000000000000021 "$(capline CapEff)" "CapEff"
assert_eq 0000000000000021 "$(capline CapPrm)" "CapPrm"
assert_eq 0000000000000000 "$(capline CapInh)" "CapInh"
assert_eq 0000000000000000 "$(capline CapAmb)" "CapAmb"
assert_eq 1 "$(capline NoNewPrivs)" "NoNewPrivs (default config: noNewPrivileges true)"
cfg "$B" '.process.noNewPrivileges = false | .process.capabilities.ambient = ["CAP_KILL"] | .process.capabilities.inheritable = ["CAP_KILL"]'
run_in "$B" grep -E '^(CapAmb|NoNewPrivs):' /proc/self/status
assert_eq 0 "$(capline NoNewPrivs)" "NoNewPrivs with noNewPrivileges false (stderr: $ERR)"
assert_eq 0000000000000020 "$(capline CapAmb)" "CapAmb with ambient CAP_KILL"
# a dropped capability is really gone: chown needs CAP_CHOWN
cfg "$B" '.process.capabilities = {bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"]}
  | .mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["size=1m"]}]'
run_in "$B" sh -c 'touch /tmp/f && chmod 000 /tmp/f && echo x >/tmp/f'
assert_ne 0 "$RC" "writing a mode-000 file without CAP_DAC_OVERRIDE"
assert_contains "$ERR" "Permission denied" "stderr of a write to a mode-000 file without CAP_DAC_OVERRIDE"
if [ "$MODE" = root ]; then
  run_in "$B" sh -c 'touch /tmp/f && chown 1:1 /tmp/f'
  assert_ne 0 "$RC" "chown without CAP_CHOWN"
  assert_contains "$ERR" "Operation not permitted" "stderr of chown without CAP_CHOWN"
fi
# and with it, the same write works (the check above can fail)
cfg "$B" '.process.capabilities = {bounding: ["CAP_DAC_OVERRIDE"], effective: ["CAP_DAC_OVERRIDE"], permitted: ["CAP_DAC_OVERRIDE"]}'
run_in "$B" sh -c 'touch /tmp/f && chmod 000 /tmp/f && echo x >/tmp/f && echo wrote'
assert_eq wrote "$OUT" "write to a mode-000 file with CAP_DAC_OVERRIDE (stderr: $ERR)"

# --- loopback is up in a new network namespace
mkbundle "$B"
cfg "$B" '.linux.namespaces |= (map(select(.type != "network")) + [{type: "network"}])'
run_in "$B" ifconfig lo
assert_eq 0 "$RC" "ifconfig lo: exit status (stderr: $ERR)"
assert_contains "$OUT" "UP" "ifconfig lo flags"
assert_contains "$OUT" "127.0.0.1" "ifconfig lo address"
run_in "$B" sh -c 'ls /sys/class/net 2>/dev/null; ifconfig -a | grep -c "Link encap"'
[ "$MODE" = root ] && assert_eq 1 "$(tail -1 <<<"$OUT")" "number of interfaces in a new netns"

# --- user, groups
mkbundle "$B"
cfg "$B" '.process.user = {uid: 1000, gid: 1000, additionalGids: [1001]}'
probe='id -u; id -g; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
set_args "$B" sh -c "$probe"
check_user() {
  assert_eq 0 "$RC" "$1: exit status (stderr: $ERR)"
  assert_eq 1000 "$(sed -n 1p <<<"$OUT")" "$1: id -u"
  assert_eq 1000 "$(sed -n 2p <<<"$OUT")" "$1: id -g"
  assert_eq "1000 1000 1000 1000" "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' <<<"$OUT")" "$1: real/effective/saved/fs uid"
  assert_eq "1000 1000 1000 1000" "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' <<<"$OUT")" "$1: real/effective/saved/fs gid"
  groups=" $(awk '$1 == "Groups:" { $1 = ""; print }' <<<"$OUT") "
  assert_contains "$groups" " 1001 " "$1: supplementary groups"
  assert_not_contains "$groups" " 0 " "$1: supplementary groups (root's must be dropped)"
}
if [ "$MODE" = root ]; then
  newid
  capture cv run --bundle "$B" "$ID"
  check_user "user 1000"
else
  # only our own uid is mapped (to 0): 1000 does not exist in the container
  newid
  capture cv run --bundle "$B" "$ID"
  assert_ne 0 "$RC" "rootless run as unmapped uid 1000 must fail"
  # the first step that needs the missing ids fails: setgroups for
  # additionalGids (a userns with a single-id gid map denies setgroups)
  assert_cove_error "process.user.additionalGids: setgroups"
  # with a subordinate range from /etc/subuid (newuidmap), it works
  me=$(id -un)
  su=$(awk -F: -v u="$me" '$1 == u { print $2; exit }' /etc/subuid 2>/dev/null)
  sg=$(awk -F: -v u="$me" '$1 == u { print $2; exit }' /etc/subgid 2>/dev/null)
  if [ -n "$su" ] && [ -n "$sg" ] && command -v newuidmap >/dev/null; then
    cfg "$B" --argjson u "$UID_NOW" --argjson g "$GID_NOW" --argjson su "$su" --argjson sg "$sg" '
      .linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: $su, size: 65536}]
      | .linux.gidMappings = [{containerID: 0, hostID: $g, size: 1}, {containerID: 1, hostID: $sg, size: 65536}]'
    newid
    capture cv run --bundle "$B" "$ID"
    check_user "user 1000 with subuid mappings"
    run_in "$B" cat /proc/self/uid_map
    assert_eq "0 $UID_NOW 1|1 $su 65536" "$(awk '{$1=$1; print}' <<<"$OUT" | paste -sd'|')" "uid_map with subuid range"
  else
    log "no /etc/subuid range for $me or no newuidmap: subordinate mapping not tested"
  fi
fi
