#!/usr/bin/env bash
# The compiled seccomp filter is cached per user (runtime/lib/seccomp_cache.c):
# the cache is private, and a cache file anyone could have changed — a
# program that no longer matches its checksum, or a consistent one in a
# file others may write — is never loaded: the sandbox keeps the agent
# profile (unshare denied) and the file is replaced by the real program.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

CACHE=$XDG_STATE_HOME/cove/seccomp-cache
denied() { # what: the agent profile is in force
  arun --policy "$UNL" --workspace "$WS" -- sh -c 'grep -q "^Seccomp:.*2" /proc/self/status && ! unshare -U true 2>/dev/null && echo denied'
  assert_eq 0 "$RC" "$1: ran ($ERR)"
  assert_eq denied "$OUT" "$1: filter in force"
}

denied "first run"
f=$(ls "$CACHE"/*.bpf)
assert_eq 1 "$(wc -l <<<"$f")" "one cache file"
assert_eq "700 $(id -u)" "$(stat -c '%a %u' "$CACHE")" "cache directory private"
assert_eq "600 $(id -u)" "$(stat -c '%a %u' "$f")" "cache file private"
cp "$f" "$T/orig.bpf"

# an allow-all program: header kept, program replaced; checksum stale
allow_all() { # FILE FIX_SUM
  python3 - "$1" "$2" <<'PY'
import hashlib, struct, sys
p, fix = sys.argv[1], sys.argv[2] == "1"
b = open(p, "rb").read()
hdr = bytearray(b[:80])
prog = struct.pack("<HBBI", 0x06, 0, 0, 0x7fff0000)  # BPF_RET|BPF_K SECCOMP_RET_ALLOW
struct.pack_into("<I", hdr, 72, 1)
if fix:
    hdr[40:72] = hashlib.sha256(prog).digest()
open(p, "wb").write(bytes(hdr) + prog)
PY
}
allow_all "$f" 0
denied "program with a stale checksum"
cmp -s "$f" "$T/orig.bpf" || fail "stale cache file not replaced"

# consistent, but in a file others may write: not trusted
allow_all "$f" 1
chmod 666 "$f"
denied "group/world-writable cache file"
# a cache directory others may write: not used at all
cp "$T/orig.bpf" "$f" && chmod 600 "$f"
chmod 777 "$CACHE"
allow_all "$f" 1
denied "world-writable cache directory"
chmod 700 "$CACHE"
