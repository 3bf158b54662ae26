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
fi
# The caller joins a session keyring of its own (rootless callers usually
# have none: their user-session keyring is per user namespace, so the ids
# above cannot be compared); the container inherits exactly that one with
# --no-new-keyring, and gets a new one without.
newid
capture "$SECROOTFS/bin/keyring" join "cove-test-$ID" "$COVE" --root "$STATE" run --no-new-keyring --bundle "$B" "$ID"
assert_eq 0 "$RC" "keyring join + --no-new-keyring: exit status (stderr: $ERR)"
joined=$(sed -n 1p <<<"$OUT")
assert_match "$joined" '^[0-9]+$' "the caller's joined session keyring id"
assert_eq "$joined" "$(sed -n 2p <<<"$OUT")" "session keyring with --no-new-keyring (the caller's joined one)"
newid
capture "$SECROOTFS/bin/keyring" join "cove-test-$ID" "$COVE" --root "$STATE" run --bundle "$B" "$ID"
assert_eq 0 "$RC" "keyring join, default: exit status (stderr: $ERR)"
joined=$(sed -n 1p <<<"$OUT")
inside=$(sed -n 2p <<<"$OUT")
assert_match "$inside" '^[0-9]+$' "container's session keyring id (caller joined one)"
assert_ne "$joined" "$inside" "container's session keyring (must be new, not the caller's joined one)"
