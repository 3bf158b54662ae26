#!/usr/bin/env bash
# Batch mode: 20 tasks, 4 at once, JSON lines and a valid JUnit report.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

tasks=$T/tasks.jsonl
: >"$tasks"
for i in $(seq 1 20); do
  if [ "$i" -eq 7 ]; then
    echo "{\"name\": \"t$i\", \"group\": \"ci\", \"command\": \"echo failing; exit 3\", \"policy\": {\"allow_unlimited\": true}, \"workspace\": \"$WS\"}" >>"$tasks"
  elif [ "$i" -eq 9 ]; then
    echo "{\"name\": \"t$i\", \"command\": [\"sleep\", \"$SLEEPN\"], \"policy\": \"$UNL\", \"timeout\": \"1s\", \"workspace\": \"$WS\"}" >>"$tasks"
  else
    echo "{\"name\": \"t$i\", \"group\": \"ci\", \"command\": [\"sh\", \"-c\", \"echo out-$i; echo err-$i >&2; cat /workspace/README\"], \"policy\": {\"allow_unlimited\": true}, \"workspace\": \"$WS\"}" >>"$tasks"
  fi
done
capture "$COVE" agent batch "$tasks" --parallel 4 --junit "$T/junit.xml" --output "$T/out"
assert_eq 1 "$RC" "batch exits non-zero when a task failed ($ERR)"
assert_eq 20 "$(grep -c '^{' <<<"$OUT")" "one JSON line per task"
for id in $(jq -r .id <<<"$OUT"); do RUN_IDS+=("$id"); done
assert_eq 18 "$(jq -r 'select(.status=="ok") | .id' <<<"$OUT" | wc -l)" "18 tasks ok: $(jq -c 'select(.status!="ok")' <<<"$OUT")"
assert_eq 3 "$(jq -r 'select(.exit_code==3) | .exit_code' <<<"$OUT")" "failing task's exit code"
assert_eq true "$(jq -r 'select(.timed_out) | .timed_out' <<<"$OUT")" "timed-out task"
assert_eq "out-5" "$(head -1 "$T/out/t5.stdout")" "task stdout captured"
cat >"$T/check.py" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root.find("testsuite")
cases = suite.findall("testcase")
print("tests", suite.get("tests"), "cases", len(cases), "failures", suite.get("failures"), "errors", suite.get("errors"))
for c in cases:
    if c.find("failure") is not None:
        print("failed", c.get("name"), c.find("failure").get("type"))
print("out5", [c.find("system-out").text for c in cases if c.get("name") == "t5"][0].split()[0])
PY
capture python3 "$T/check.py" "$T/junit.xml"
assert_eq 0 "$RC" "JUnit parses ($ERR)"
assert_contains "$OUT" "tests 20 cases 20 failures 2 errors 0"
assert_contains "$OUT" "failed t7 failed"
assert_contains "$OUT" "failed t9 timeout"
assert_contains "$OUT" "out5 out-5"
sleep 0.2
assert_eq "" "$(pgrep -f "sleep $SLEEPN")" "timed-out task's sandbox gone"

# a malformed task file is refused before anything runs
echo '{"name": "x", "command": 5}' >"$T/bad.jsonl"
capture "$COVE" agent batch "$T/bad.jsonl"
assert_ne 0 "$RC"
assert_contains "$ERR" "line 1: command"
