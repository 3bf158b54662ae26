#!/usr/bin/env bash
# Path and name rules (issue 10, item 15): mount destinations compared
# after normalisation, and no file leases on files shared with the host.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

mkdir -p "$T/data/ok"
echo data >"$T/data/ok/f"
cat >"$XDG_CONFIG_HOME/cove/mount-allowlist.json" <<JSON
{"roots": [{"path": "$T/data", "writable": false}]}
JSON
# spellings of reserved destinations that a plain string compare misses
for d in //etc /./etc /etc/. //usr//lib /workspace/./x ///proc; do
  p=$(policy dest "{\"allow_unlimited\": true, \"mounts\": [{\"source\": \"$T/data/ok\", \"destination\": \"$d\"}]}")
  arun --policy "$p" --workspace "$WS" -- true
  assert_ne 0 "$RC" "destination $d refused"
  assert_contains "$ERR" "which the sandbox reserves" "destination $d: reason"
done
# two spellings of one place overlap
p=$(policy dup "{\"allow_unlimited\": true, \"mounts\": [{\"source\": \"$T/data/ok\", \"destination\": \"/data\"}, {\"source\": \"$T/data/ok\", \"destination\": \"//data/.\"}]}")
arun --policy "$p" --workspace "$WS" -- true
assert_ne 0 "$RC" "//data/. overlaps /data"
assert_contains "$ERR" "mounts[1].destination"
# a normal destination still works, and is used in its normal form
p=$(policy ok "{\"allow_unlimited\": true, \"mounts\": [{\"source\": \"$T/data/ok\", \"destination\": \"//data/./sub/\"}]}")
arun --policy "$p" --workspace "$WS" -- cat /data/sub/f
assert_eq 0 "$RC" "normalised destination mounts ($ERR)"
assert_eq "data" "$OUT"

# F_SETLEASE on a workspace file would let the agent block host processes
# opening it; denied (EPERM), other fcntl commands still work
echo shared >"$WS/shared"
arun --policy "$UNL" --workspace "$WS" -- python3 -c '
import fcntl, os
fd = os.open("/workspace/shared", os.O_RDONLY)
print("getfl", fcntl.fcntl(fd, fcntl.F_GETFL) >= 0)
try:
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK); print("LEASE-TAKEN")
except OSError as e:
    print("lease", e.errno)
# the kernel reads cmd as 32 bits: high bits must not slip past the rule
import ctypes, platform
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall({"x86_64": 72, "aarch64": 25}[platform.machine()], fd, ctypes.c_ulong(0x100000400), ctypes.c_ulong(fcntl.F_RDLCK))
print("hilease", r, ctypes.get_errno())'
assert_eq 0 "$RC" "probe ran ($ERR)"
assert_contains "$OUT" "getfl True" "other fcntl commands allowed"
assert_contains "$OUT" "lease 1" "F_SETLEASE denied with EPERM"
assert_not_contains "$OUT" "LEASE-TAKEN"
assert_contains "$OUT" "hilease -1 1" "F_SETLEASE with high bits in cmd (truncated by the kernel) denied too"
