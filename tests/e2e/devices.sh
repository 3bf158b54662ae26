#!/usr/bin/env bash
# linux.resources.devices is enforced (docs/cgroups.md "Devices"): a root
# container with CAP_MKNOD can make any device node, but opening one the
# rules (plus the default list: null, zero, full, random, urandom, tty,
# console, ptmx, pts) do not allow fails with EPERM, from inside. Checked
# through the v1 devices controller and, on its own, through the
# BPF_CGROUP_DEVICE program on the v2 cgroup. Rootless: the user namespace
# already forbids it; configs with device rules still run.
. "$(dirname "$0")/../lib/common.sh"

# /dev/fuse (10:229): opening it needs no capability, so only the device
# rules can stop it (unlike /dev/kmsg or /dev/mem, which check caps too)
[ -c /dev/fuse ] || skip "no /dev/fuse on this host to probe with"

B=$T/bundle
mkbundle "$B"
cfg "$B" '.process.capabilities.bounding += ["CAP_MKNOD"]
  | .process.capabilities.effective += ["CAP_MKNOD"]
  | .process.capabilities.permitted += ["CAP_MKNOD"]'

# probe NAME TYPE MAJ MIN REDIR: mknod /dev/NAME then open it with REDIR
# ("<", ">", "<>"); prints "open ok" or the shell's error.
probe() {
  echo "mknod /dev/$1 $2 $3 $4 || exit 3; (exec 3$5/dev/$1) 2>&1 && echo open ok; true"
}
denied() { # WHAT: the last run opened nothing and said EPERM
  assert_eq 0 "$RC" "$1: exit status (stderr: $ERR)"
  assert_not_contains "$OUT" "open ok" "$1: opened"
  assert_contains "$OUT" "Operation not permitted" "$1: EPERM"
}
allowed() {
  assert_eq 0 "$RC" "$1: exit status (stderr: $ERR)"
  assert_contains "$OUT" "open ok" "$1: open"
}

if [ "$MODE" = rootless ]; then
  # rules cannot be enforced with a cgroup here, and need not be: mknod of
  # a real device is refused by the kernel in a user namespace
  cfg "$B" '.linux.resources.devices = [{allow: false, access: "rwm"}, {allow: true, type: "c", major: 1, minor: 3, access: "rw"}]'
  run_in "$B" sh -c "$(probe xfuse c 10 229 '<'); echo x >/dev/null && echo null ok"
  assert_eq 3 "$RC" "rootless: mknod of a real device (out: $OUT, err: $ERR)"
  run_in "$B" sh -c 'echo x >/dev/null && head -c1 /dev/zero | wc -c'
  assert_eq 0 "$RC" "rootless: config with device rules runs (stderr: $ERR)"
  assert_eq 1 "$OUT" "rootless: /dev/zero"
  exit 0
fi

# --- the reported hole: deny everything, then mknod + open the host's device
cfg "$B" '.linux.resources.devices = [{allow: false, access: "rwm"}]'
run_in "$B" sh -c "$(probe xfuse c 10 229 '<>')"
denied "deny all: c 10:229 (fuse)"
# the default devices keep working under a deny-all list
run_in "$B" sh -c 'echo x >/dev/null && echo x >/dev/zero && head -c4 /dev/urandom >/dev/full 2>/dev/null;
  head -c1 /dev/zero | wc -c; head -c1 /dev/random | wc -c; head -c1 /dev/urandom | wc -c; echo ok'
assert_eq 0 "$RC" "default devices (stderr: $ERR)"
assert_eq "1 1 1 ok" "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')" "default devices readable"

# --- an allowed device opens; access bits count; the last matching rule wins
cfg "$B" '.linux.resources.devices = [{allow: false, access: "rwm"},
  {allow: true, type: "c", major: 10, minor: 229, access: "r"}]'
run_in "$B" sh -c "$(probe xfuse c 10 229 '<')"
allowed "allow c 10:229 r: read"
run_in "$B" sh -c "$(probe xfuse c 10 229 '>')"
denied "allow c 10:229 r: write"
cfg "$B" '.linux.resources.devices = [{allow: false, access: "rwm"},
  {allow: true, type: "c", major: 10, minor: 229, access: "rwm"}, {allow: false, type: "c", major: 10, minor: 229, access: "w"}]'
run_in "$B" sh -c "$(probe xfuse c 10 229 '<')"
allowed "allow rwm then deny w: read"
run_in "$B" sh -c "$(probe xfuse c 10 229 '<>')"
denied "allow rwm then deny w: read+write"
cfg "$B" '.linux.resources.devices = [{allow: false, access: "rwm"}, {allow: true, type: "c", major: 1, minor: 3, access: "rwm"}]'
run_in "$B" sh -c "$(probe mynull c 1 3 '>') ; echo hi >/dev/mynull && echo write ok"
allowed "allow c 1:3 rwm"
assert_contains "$OUT" "write ok" "write to /dev/mynull"
# --- no rules at all: the default list only, as runc
cfg "$B" 'del(.linux.resources)'
run_in "$B" sh -c "$(probe xfuse c 10 229 '<')"
denied "no rules: c 10:229"
cove_out=$OUT
run_in "$B" sh -c 'echo x >/dev/null && head -c1 /dev/zero | wc -c'
assert_eq 0 "$RC" "no rules: /dev/null (stderr: $ERR)"
if command -v runc >/dev/null; then
  set_args "$B" sh -c "$(probe xfuse c 10 229 '<')"
  capture runc --root "$T/runc" run --bundle "$B" "${TAG}runc"
  if [ "$RC" -eq 0 ]; then
    assert_eq "$OUT" "$cove_out" "no rules: cove and runc agree"
  else
    log "runc could not run the bundle here (rc $RC: $ERR): no comparison"
  fi
  runc --root "$T/runc" delete -f "${TAG}runc" >/dev/null 2>&1
fi

# --- where it is enforced: v1 devices list, and the v2 BPF program alone
cfg "$B" '.linux.resources.devices = [{allow: false, access: "rwm"}, {allow: true, type: "c", major: 10, minor: 229, access: "r"}]'
set_args "$B" "${LONG[@]}"
newid
assert_ok cv create --bundle "$B" "$ID"
v1=$(awk '$1 == "devices" { print $2 }' "$STATE/$ID/cgroup")
v2=$(awk '$1 == "v2" { print $2 }' "$STATE/$ID/cgroup")
if [ -n "$v1" ]; then
  list=$(cat "$v1/devices.list")
  assert_contains "$list" "c 10:229 r" "v1 devices.list"
  assert_contains "$list" "c 1:3 rwm" "v1 devices.list: default /dev/null"
  assert_not_contains "$list" "a *:* rwm" "v1 devices.list: not allow-all"
fi
if [ -n "$v2" ]; then
  # a host shell joins only the v2 cgroup (its v1 devices cgroup allows
  # everything): the BPF program alone must refuse it
  capture sh -c "echo \$\$ >'$v2/cgroup.procs' || exit 9; (exec 3</dev/fuse) 2>&1 && echo open ok; (exec 3</dev/null) && echo null ok"
  assert_eq 0 "$RC" "v2 probe (stderr: $ERR)"
  assert_contains "$OUT" "open ok" "v2 BPF program: /dev/fuse for reading (allowed)"
  assert_contains "$OUT" "null ok" "v2 BPF program: /dev/null"
  capture sh -c "echo \$\$ >'$v2/cgroup.procs' || exit 9; (exec 3>/dev/fuse) 2>&1 && echo open ok; true"
  assert_contains "$OUT" "Operation not permitted" "v2 BPF program: /dev/fuse for writing"
fi
[ -n "$v1$v2" ] || fail "no cgroup recorded for $ID"
# update of device rules: refused, naming the field
echo '{"devices": [{"allow": true, "access": "rwm"}]}' >"$T/res.json"
assert_fail cv update --resources "$T/res.json" "$ID"
assert_cove_error "devices"
assert_ok cv delete --force "$ID"
