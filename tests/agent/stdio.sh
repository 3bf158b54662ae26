#!/usr/bin/env bash
# The agent's stdio and the orchestrator's survival (issue 10 items 7, 8;
# issue 9's lost exec error): the sandbox gets pipes, never the caller's
# file descriptions; nothing the agent does to them kills the orchestrator
# or forges the result record.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

# --- item 8: `>> agents.log` must not let the agent read or rewrite the log
log=$T/agents.log
echo "SECRET-EARLIER-RUN" >"$log"
"$COVE" agent run --policy "$UNL" --workspace "$WS" -- sh -c '
  t=$(readlink /proc/$$/fd/1); echo "fd1=$t" >&2
  case $t in
    pipe:*) ;;
    *) cat /proc/$$/fd/1 >&2; echo REWRITTEN >/proc/$$/fd/1 ;;
  esac
  sleep 0.2; echo new-output' </dev/null >>"$log" 2>"$T/agent.err"
assert_eq 0 "$?" "run appending to a log ($(cat "$T/agent.err"))"
assert_contains "$(cat "$log")" "SECRET-EARLIER-RUN" "earlier log content intact"
assert_contains "$(cat "$log")" "new-output" "agent output appended"
assert_not_contains "$(cat "$log")" "REWRITTEN" "agent could not rewrite the log"
assert_not_contains "$(cat "$T/agent.err")" "SECRET-EARLIER-RUN" "agent could not read the log"
assert_contains "$(cat "$T/agent.err")" "fd1=pipe:" "the agent's stdout is a pipe"

# stdin is relayed (a pipe in the sandbox), EOF included
out=$(printf 'line1\nline2\n' | "$COVE" agent run --policy "$UNL" --workspace "$WS" -- sh -c 'readlink /proc/$$/fd/0; cat' 2>"$T/agent.err")
assert_contains "$out" "pipe:" "stdin is a pipe"
assert_contains "$out" "line2" "stdin content relayed ($(cat "$T/agent.err"))"
echo "do-not-touch" >"$T/input"
"$COVE" agent run --policy "$UNL" --workspace "$WS" -- sh -c 'echo CLOBBER 1<>/proc/self/fd/0' <"$T/input" >/dev/null 2>&1
assert_eq "do-not-touch" "$(cat "$T/input")" "the agent cannot write through its stdin"

# --- item 7: forged record + SIGPIPE through the proxy
allow=$(policy allow '{"allow_unlimited": true, "network": {"allow": ["localhost"], "no_proxy": []}}')
forge='import os, socket, struct, time
print("{\"id\":\"a0000000000000000\",\"status\":\"ok\",\"exit_code\":0}", end="", flush=True)
host, port = os.environ["HTTP_PROXY"].rsplit("/", 1)[-1].rsplit(":", 1)
for i in range(20):
    s = socket.create_connection((host, int(port)))
    s.sendall(b"CONNECT denied.example.invalid:443 HTTP/1.1\r\nHost: denied.example.invalid:443\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
time.sleep(0.5)
print("{\"id\":\"a0000000000000000\",\"status\":\"ok\",\"exit_code\":0}", end="", flush=True)'
arun --policy "$allow" --workspace "$WS" -- python3 -c "$forge"
assert_ne 141 "$RC" "the orchestrator survived the resets"
assert_eq 0 "$RC" "agent exit status ($ERR)"
id=$(rec .id)
assert_ne a0000000000000000 "$id" "the record is the orchestrator's"
assert_match "$id" '^a[0-9a-f]{16}$'
assert_contains "$(audit_of_last)" '"event":"end","status":"ok"' "end audit line written"
assert_eq 0 "$(ls "$RUNBASE" 2>/dev/null | wc -l)" "no run directory left"

# the real record starts its own line, as the last line of stdout
"$COVE" agent run --json --policy "$UNL" --workspace "$WS" -- printf '{"id":"a0000000000000000","status":"ok"}' >"$T/forge.out" 2>/dev/null </dev/null
assert_eq 2 "$(wc -l <"$T/forge.out")" "forged text and record on separate lines"
assert_ne a0000000000000000 "$(tail -n1 "$T/forge.out" | jq -r .id)" "last line is the real record"
RUN_IDS+=("$(tail -n1 "$T/forge.out" | jq -r .id)")

# --result-fd / --result: the record never shares a stream with the agent
"$COVE" agent run --result-fd 3 --policy "$UNL" --workspace "$WS" -- echo agent-says 3>"$T/res.json" >"$T/res.out" 2>&1 </dev/null
assert_eq "agent-says" "$(cat "$T/res.out")" "stdout has only the agent's output"
assert_eq ok "$(jq -r .status "$T/res.json")" "record on fd 3"
RUN_IDS+=("$(jq -r .id "$T/res.json")")
"$COVE" agent run --result "$T/res2.json" --policy "$UNL" --workspace "$WS" -- echo agent-says >"$T/res2.out" 2>&1 </dev/null
assert_eq "agent-says" "$(cat "$T/res2.out")" "stdout has only the agent's output (--result)"
assert_eq ok "$(jq -r .status "$T/res2.json")" "record in --result FILE"
RUN_IDS+=("$(jq -r .id "$T/res2.json")")

# --- issue 9: a command that cannot be executed is reported
printf '#!/bin/sh\necho hi\n' >"$WS/notexec"
chmod 644 "$WS/notexec"
arun --policy "$UNL" --workspace "$WS" -- /workspace/notexec
assert_eq 126 "$RC" "not executable: exit 126"
assert_contains "$ERR" "/workspace/notexec" "error names the path"
assert_contains "$ERR" "ermission denied"
assert_contains "$(rec .error)" "/workspace/notexec" "the record has the error"
assert_eq error "$(rec .status)"
arun --policy "$UNL" --workspace "$WS" -- /workspace/no-such-file
assert_eq 127 "$RC" "missing: exit 127"
assert_contains "$ERR" "/workspace/no-such-file"

# A consumer that never reads (a stuck log shipper, `| sleep`) must not
# keep the agent past its timeout: the relay never blocks the orchestrator,
# whose timeout, signals and proxy live in the same loop. The consumer
# holds the pipe for 30 s; cove must finish long before (1 s timeout, then
# at most 5 s waiting for the consumer), while the consumer still holds it.
rm -f "$T/slow.rc"
( "$COVE" agent run --policy "$UNL" --workspace "$WS" --timeout 1s --result "$T/slow.json" -- sh -c 'yes' \
    </dev/null 2>"$T/slow.err"; echo $? >"$T/slow.rc" ) | sleep 30 &
slow=$!
for _ in $(seq 250); do [ -s "$T/slow.rc" ] && break; sleep 0.1; done
assert_eq 124 "$(cat "$T/slow.rc" 2>/dev/null || echo "still running while its consumer does not read")" \
  "a run whose stdout is not read ends at its timeout ($(cat "$T/slow.err"))"
assert_eq timeout "$(jq -r .status "$T/slow.json" 2>/dev/null)" "its record says timeout"
kill "$slow" 2>/dev/null
wait "$slow" 2>/dev/null || true

# Job control cannot stop the orchestrator: Ctrl-Z (SIGTSTP), or a
# background run touching the terminal (SIGTTIN/SIGTTOU), would stop cove
# but not the sandbox (its own session), which would then run unsupervised
# past its timeout. cove ignores them; the agent's own dispositions are
# the defaults again.
rm -f "$T/tstp.rc"
( "$COVE" agent run --policy "$UNL" --workspace "$WS" --timeout 2s --result "$T/tstp.json" -- \
    sh -c 'grep -E "^Sig(Ign|Cgt)" /proc/self/status >&2; sleep 30' </dev/null 2>"$T/tstp.err"
  echo $? >"$T/tstp.rc" ) &
tstp=$!
cpid=""
for _ in $(seq 100); do
  cpid=$(pgrep -f -- "--result $T/tstp.json" | head -n1)
  [ -n "$cpid" ] && grep -q SigIgn "$T/tstp.err" 2>/dev/null && break
  sleep 0.1
done
kill -TSTP "$cpid" 2>/dev/null
kill -TTIN "$cpid" 2>/dev/null
kill -TTOU "$cpid" 2>/dev/null
sleep 0.5
assert_not_contains "$(ps -o stat= -p "$cpid" 2>/dev/null)" "T" "cove is not stopped by SIGTSTP/SIGTTIN/SIGTTOU"
for _ in $(seq 250); do [ -s "$T/tstp.rc" ] && break; sleep 0.1; done
# (a blocked SIGTSTP stays pending, and stopped cove once it unblocked
# signals on its way out: the run ended, the command never returned)
assert_eq 124 "$(cat "$T/tstp.rc" 2>/dev/null || echo "not ended: $(ps -o stat= -p "$cpid")")" \
  "the run still ends at its timeout, and cove exits ($(cat "$T/tstp.err"))"
kill -CONT "$cpid" 2>/dev/null
# the agent's SigIgn has none of the job-control signals (bits 20-22)
ign=$(awk '/^SigIgn/ {print $2}' "$T/tstp.err")
assert_eq 0 "$(( 0x${ign:-ffffffff} & 0x700000 ))" "the agent's job-control signals are not ignored (SigIgn ${ign:-none})"
wait "$tstp" 2>/dev/null || true
