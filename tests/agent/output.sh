#!/usr/bin/env bash
# Bytes the agent controls in structured output (issue 10, item 10): every
# JSON line stays valid UTF-8 JSON and the JUnit report valid XML, whatever
# the agent prints or sends to the proxy.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

# invalid UTF-8, NUL and control characters, "]]>" and XML specials at the
# start (the whole output file); then a long multibyte run, so the report's
# tail (its last 8 KiB) starts inside a character; the specials again, and
# a short line of them at the end, which must be in that tail; the output
# ends inside a character
cat >"$WS/noise.py" <<'PY'
import sys
o = sys.stdout.buffer
o.write(b"bad:\xff\xfe\xc3(\xed\xa0\x80\xf8\x88\x80\x80\x80 nul:\x00 ctl:\x01\x08\x0b\x1b[31m ]]> <&\"' \xef\xbf\xbe\n")
o.write("é€😀".encode() * 3001)
o.write(b"\nbad:\xff\xfe\xc3(\xed\xa0\x80\xf8\x88\x80\x80\x80 nul:\x00 ctl:\x01\x08\x0b\x1b[31m ]]> <&\"' \xef\xbf\xbe\n")
o.write(b"\nend:\xff ]]> <&\"' \x01\n")
o.write(b"\xe2\x82")  # ends inside a character
sys.stderr.buffer.write(b"err:\xc0\xaf\x7f\x9f\n")
PY
tasks=$T/tasks.jsonl
echo "{\"name\": \"noisy\", \"command\": [\"python3\", \"/workspace/noise.py\"], \"policy\": {\"allow_unlimited\": true}, \"workspace\": \"$WS\"}" >"$tasks"
echo "{\"name\": \"n\\u00e9\\u00ff]]>\", \"command\": \"printf '\\\\377\\\\376x'\", \"policy\": {\"allow_unlimited\": true}, \"workspace\": \"$WS\"}" >>"$tasks"
capture "$COVE" agent batch "$tasks" --parallel 1 --junit "$T/junit.xml" --output "$T/out"
for id in $(jq -r .id <<<"$OUT" 2>/dev/null); do RUN_IDS+=("$id"); done
assert_eq 0 "$RC" "batch ran ($ERR)"
cat >"$T/check.py" <<'PY'
import json, sys, xml.etree.ElementTree as ET
bad = 0
for path in sys.argv[2:]:
    for n, line in enumerate(open(path, "rb").read().split(b"\n")):
        if not line.strip(): continue
        try: json.loads(line.decode("utf-8", "strict"))
        except Exception as e: print(f"{path}:{n+1}: invalid JSON line: {e}"); bad += 1
root = ET.parse(sys.argv[1]).getroot()
out = "".join(e.text or "" for e in root.iter("system-out"))
if "\ufffd" not in out: print("no replacement character in system-out"); bad += 1
if "]]>" not in out or "<&" not in out: print("escaped specials lost"); bad += 1
if "é€😀" not in out: print("multibyte output lost"); bad += 1
sys.exit(1 if bad else 0)
PY
printf '%s\n' "$OUT" >"$T/records.jsonl"
capture python3 "$T/check.py" "$T/junit.xml" "$T/records.jsonl" "$AUDIT_DIR/global.jsonl"
assert_eq 0 "$RC" "JUnit is valid XML and every JSON line parses: $OUT $ERR"

# the proxy's audit line with a Host and method the agent chose
allow=$(policy allow '{"allow_unlimited": true, "network": {"allow": ["localhost"], "no_proxy": []}}')
arun --policy "$allow" --workspace "$WS" -- python3 -c '
import os, socket
port = int(os.environ["HTTP_PROXY"].rsplit(":", 1)[1])
for req in (b"G\xffT http://h\xc3\xa9\xff\xfe.test/ HTTP/1.1\r\nHost: x\r\n\r\n", b"CONNECT \xe2\x82:443 HTTP/1.1\r\n\r\n"):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(req)
    try: s.recv(100)
    except OSError: pass
    s.close()'
assert_eq 0 "$RC" "proxy run ($ERR)"
# (a file, not a heredoc: capture gives the command /dev/null as stdin)
cat >"$T/lines.py" <<'PY'
import json, sys
bad = 0
for p in sys.argv[1:]:
    for line in open(p, "rb"):
        try: json.loads(line.decode("utf-8", "strict"))
        except Exception as e: print(p, e, line[:200]); bad += 1
sys.exit(bad != 0)
PY
capture python3 "$T/lines.py" "$AUDIT_DIR/global.jsonl" "$AUDIT_DIR/groups/default.jsonl"
assert_eq 0 "$RC" "audit lines with agent-chosen proxy fields are valid JSON: $OUT"
assert_contains "$(audit_of_last)" '"event":"proxy","host":"hé��.test"' "proxy request audited, invalid bytes replaced"

# Names the agent chose reach cove's own messages on the caller's terminal:
# here a tree a previous run left in its workspace, too deep to check, is
# named in the error. Control characters (C0, DEL, C1 such as CSI U+009B)
# and bytes that are not UTF-8 are shown as \xNN, never raw: a title, a
# colour or an OSC 52 clipboard write must not reach the terminal.
p=$T/nest
for _ in $(seq 258); do p="$p/"$'\e]0\a\e[m\xc2\x9b\xff\x7f'é; done
mkdir -p "$p"
capture "$COVE" agent run --policy "$UNL" --workspace "$T/nest" -- true
assert_ne 0 "$RC" "a tree too deep to check refuses the run"
assert_contains "$ERR" 'too deep to check' "the error names the reason"
assert_contains "$ERR" '/\x1b]0\x07\x1b[m\xc2\x9b\xff\x7fé/' "the agent's control bytes are shown escaped, its UTF-8 as is"
printf '%s' "$ERR" >"$T/err.txt"
capture python3 -c '
import re, sys
b = open(sys.argv[1], "rb").read()
raw = re.findall(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", b)
try: b.decode("utf-8", "strict")
except UnicodeDecodeError as e: raw.append(str(e).encode())
print(raw[:5]); sys.exit(1 if raw else 0)' "$T/err.txt"
assert_eq 0 "$RC" "no raw control or non-UTF-8 byte in cove's stderr: $OUT"
rm -rf "$T/nest"
