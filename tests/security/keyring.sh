#!/usr/bin/env bash
# Session keyring: a new one unless --no-new-keyring.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

B=$T/bundle
secbundle "$B"
host=$("$SECROOTFS/bin/keyring")
assert_match "$host" '^[0-9]+$' "caller's session keyring id"
run_in "$B" keyring
assert_eq 0 "$RC" "keyring: exit status (stderr: $ERR)"
assert_match "$OUT" '^[0-9]+$' "container's session keyring id"
assert_ne "$host" "$OUT" "container's session keyring (must be new)"
set_args "$B" keyring
newid
capture cv run --no-new-keyring --bundle "$B" "$ID"
assert_eq 0 "$RC" "keyring --no-new-keyring: exit status (stderr: $ERR)"
if [ "$MODE" = root ]; then
  assert_eq "$host" "$OUT" "session keyring with --no-new-keyring (the caller's)"
else
  # the caller has no session keyring of its own here; its user-session
  # keyring is per user namespace, so the ids cannot be compared
  log "rootless --no-new-keyring: caller $host, container $OUT"
fi
