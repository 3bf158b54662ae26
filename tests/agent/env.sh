#!/usr/bin/env bash
# Environment: only what the policy lists; secrets are files, never env.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

echo "s3cr3t-token-value" >"$T/token"
chmod 600 "$T/token"
pol=$(policy env "{\"allow_unlimited\": true, \"env\": {\"FOO\": \"bar\"}, \"secrets\": {\"api_token\": \"$T/token\"}}")
export CALLER_SECRET=leak-me AWS_SECRET_ACCESS_KEY=leak-me-too
arun --policy "$pol" --workspace "$WS" -- sh -c 'env; echo ---; tr "\0" "\n" < /proc/1/environ; echo ---; cat /run/secrets/api_token; echo x > /run/secrets/api_token 2>&1 || echo RO'
unset CALLER_SECRET AWS_SECRET_ACCESS_KEY
assert_eq 0 "$RC" "exit status ($ERR)"
assert_contains "$OUT" "FOO=bar" "policy variable set"
assert_not_contains "$OUT" "leak-me" "caller environment not inherited"
assert_contains "$OUT" "HOME=/home/agent"
env_part=${OUT%%---*}
proc1=$(awk '/^---$/{n++; next} n==1' <<<"$OUT")
assert_not_contains "$env_part" "s3cr3t" "secret not in the environment"
assert_not_contains "$proc1" "s3cr3t" "secret not in /proc/1/environ"
assert_contains "$proc1" "FOO=bar" "/proc/1/environ is the agent's"
assert_contains "$OUT" $'---\ns3cr3t-token-value' "secret readable at /run/secrets/NAME"
assert_contains "$OUT" "RO" "secret file read-only"
assert_contains "$(audit_of_last)" '"event":"secret","name":"api_token"' "secret audited"
