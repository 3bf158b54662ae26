#!/usr/bin/env bash
# Every ctest test of the build tree BUILD carries exactly one of the labels
# fast and slow, so that `ctest -L fast` and `ctest -L slow` split the suite.
#   check-labels.sh BUILD
set -euo pipefail
build=${1:?usage: check-labels.sh BUILD}
command -v jq >/dev/null || { echo "SKIP: jq missing"; exit 77; }
json=$(ctest --test-dir "$build" --show-only=json-v1)
total=$(jq '.tests | length' <<<"$json")
bad=$(jq -r '.tests[]
  | {name, labels: ([.properties[]? | select(.name == "LABELS") | .value[]] )}
  | select(([.labels[] | select(. == "fast" or . == "slow")] | length) != 1)
  | "\(.name): labels \(.labels | join(";"))"' <<<"$json")
if [ -n "$bad" ]; then
  echo "FAIL: tests without exactly one of the labels fast, slow:"
  echo "$bad"
  exit 1
fi
[ "$total" -gt 1 ] || { echo "FAIL: only $total tests listed in $build"; exit 1; }
echo "PASS: all $total tests are labelled fast or slow"
