#!/usr/bin/env bash
# linux.seccomp.listenerPath: the seccomp agent receives the notify fd and
# the container process state over SCM_RIGHTS, and that state is valid JSON
# with the bundle path, annotations and metadata exactly as given, even
# when they hold '"', '\' and non-ASCII characters. Once the agent closes
# the fd, a notified syscall fails with ENOSYS.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"
LISTENER=$(cd "$(dirname "$0")/../tools" && pwd)/seccomp_listener.py
command -v python3 >/dev/null || skip "python3 missing"

B="$T/bun\"dle\\x-é"
secbundle "$B"
SOCK=$T/agent.sock
META='meta "q" \ é'
ANN='a "b" \c é'
cfg "$B" --arg l "$SOCK" --arg m "$META" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
  listenerPath: $l, listenerMetadata: $m, syscalls: [{names: ["getcwd"], action: "SCMP_ACT_NOTIFY"}]}'
cfg "$B" --arg a "$ANN" '.annotations = {"org.cove.test/quote\"d": $a}'

python3 "$LISTENER" "$SOCK" "$T/state.json" "$CMD_TIMEOUT" 2>"$T/listener.err" &
lpid=$!
for _ in $(seq 200); do [ -S "$SOCK" ] && break; kill -0 "$lpid" 2>/dev/null || break; sleep 0.05; done
[ -S "$SOCK" ] || die "the listener did not create $SOCK: $(cat "$T/listener.err")"

run_in "$B" syscall_probe getcwd
wait "$lpid"
lrc=$?
assert_eq 0 "$lrc" "listener: one notify fd and a state that parses (listener: $(cat "$T/listener.err"))"
assert_eq 0 "$RC" "cove run: exit status (stderr: $ERR)"
# the agent closed the notify fd: the notified syscall fails with ENOSYS
assert_eq "getcwd errno=38" "$OUT" "getcwd under SCMP_ACT_NOTIFY once the agent has closed the fd"

S=$T/state.json
jq -e . "$S" >/dev/null 2>&1 && pass || fail "the process state is not valid JSON: $(cat -v "$S")"
assert_eq '["seccompFd"]' "$(jq -c .fds "$S")" "fds"
assert_eq "$META" "$(jq -r .metadata "$S")" "metadata (listenerMetadata)"
assert_eq "$B" "$(jq -r .state.bundle "$S")" "state.bundle"
assert_eq "$ID" "$(jq -r .state.id "$S")" "state.id"
assert_eq running "$(jq -r .state.status "$S")" "state.status"
assert_eq "$(jq -r .ociVersion "$B/config.json")" "$(jq -r .state.ociVersion "$S")" "state.ociVersion"
assert_eq "$ANN" "$(jq -r '.state.annotations["org.cove.test/quote\"d"]' "$S")" "state.annotations"
assert_eq "$(jq .pid "$S")" "$(jq .state.pid "$S")" "pid and state.pid"
assert_match "$(jq .pid "$S")" '^[1-9][0-9]*$' "pid"
