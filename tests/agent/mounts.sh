#!/usr/bin/env bash
# Workspace, blocked patterns, symlinks, per-group state, extra mounts
# through the allowlist, and a source swapped between check and mount.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

# Every built-in blocked pattern, as a file at the top, as a directory
# deeper down, and inside a longer name.
patterns=(.ssh .gnupg .gpg .aws .azure .gcloud .kube .docker credentials .env .netrc .npmrc .pypirc id_rsa id_ed25519 private_key .secret)
for p in "${patterns[@]}"; do
  echo "SECRET-$p" >"$WS/$p"
  mkdir -p "$WS/deep/er/d$p"
  echo "SECRET-dir-$p" >"$WS/deep/er/d$p/file"
done
echo "SECRET-env-local" >"$WS/.env.local"
# a symlink into a blocked entry and one to an unlisted host path
mkdir -p "$T/hostsecret"
echo "SECRET-host" >"$T/hostsecret/key"
ln -s .env "$WS/link-to-env"
ln -s "$T/hostsecret/key" "$WS/link-to-host"
ln -s ../../../../../../.. "$WS/link-up"

arun --policy "$UNL" --workspace "$WS" -- sh -c '
  for f in /workspace/* /workspace/.[!.]* /workspace/deep/er/*/file /workspace/link-to-env /workspace/link-to-host; do
    cat "$f" 2>/dev/null
  done
  ls /workspace/link-up/ 2>&1 | tr "\n" " "'
assert_eq 0 "$RC" "exit status (stderr: $ERR)"
assert_contains "$OUT" "readme" "the workspace is there"
assert_not_contains "$OUT" "SECRET" "no blocked file, blocked dir or symlink target readable"
assert_eq "$(( ${#patterns[@]} * 2 + 1 ))" "$(rec .denials.masked_paths)" "masked entries"
audit=$(audit_of_last)
assert_contains "$audit" '"event":"mask","path":"/workspace/.ssh"' "audit: mask lines"
assert_contains "$audit" '"path":"/workspace/deep/er/d.aws","reason":"blocked pattern \".aws\""' "audit: nested mask"

# read-only workspace (default), writable when the policy says so
arun --policy "$UNL" --workspace "$WS" -- sh -c 'echo x > /workspace/new && echo WROTE'
assert_not_contains "$OUT" "WROTE" "default workspace is read-only"
assert_contains "$ERR" "Read-only file system"
[ -e "$WS/new" ] && fail "file created in a read-only workspace"
rw=$(policy rw '{"allow_unlimited": true, "workspace": {"writable": true}}')
arun --policy "$rw" --workspace "$WS" -- sh -c 'echo x > /workspace/new && echo WROTE; echo y > /workspace/.env'
assert_contains "$OUT" "WROTE" "writable workspace"
assert_eq "x" "$(cat "$WS/new" 2>/dev/null)" "write reached the host workspace"
assert_eq "SECRET-.env" "$(cat "$WS/.env")" "masked file stays untouched in a writable workspace"

# outside the workspace: host OS dirs read-only, /etc/shadow masked
arun --policy "$UNL" --workspace "$WS" -- sh -c 'touch /etc/x 2>&1; touch /usr/x 2>&1; wc -c < /etc/shadow; ls /root 2>&1 | head -1'
assert_contains "$OUT" "'/etc/x': Read-only file system"
assert_contains "$OUT" "'/usr/x': Read-only file system"
assert_match "$OUT" $'\n0\n' "/etc/shadow reads empty"
assert_contains "$OUT" "No such file" "/root is not there"

# unix sockets in the workspace are masked (they reach host services)
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$WS/agent.sock"
arun --policy "$UNL" --workspace "$WS" -- sh -c 'test -S /workspace/agent.sock && echo SOCKET || echo masked'
assert_contains "$OUT" "masked" "unix socket masked"
rm -f "$WS/agent.sock"

# per-group state: A's memory persists, B never sees it
arun --policy "$UNL" --workspace "$WS" --group A -- sh -c 'echo remember-A > /group/note; ls /group'
assert_eq 0 "$RC" "group A write ($ERR)"
arun --policy "$UNL" --workspace "$WS" --group B -- sh -c 'ls -a /group; cat /group/note 2>&1; ls / | tr "\n" " "'
assert_not_contains "$OUT" "remember-A" "group B cannot see A's state"
arun --policy "$UNL" --workspace "$WS" --group A -- cat /group/note
assert_eq "remember-A" "$OUT" "group A's state persists"
assert_eq "remember-A" "$(cat "$XDG_DATA_HOME/cove/groups/A/note")" "stored under XDG_DATA_HOME"

# extra mounts only through the allowlist
mkdir -p "$T/data/ok" "$T/data/.kube" "$T/other"
echo data >"$T/data/ok/f"
extra=$(policy extra "{\"allow_unlimited\": true, \"mounts\": [{\"source\": \"$T/data/ok\", \"destination\": \"/data\", \"writable\": true}]}")
arun --policy "$extra" --workspace "$WS" -- cat /data/f
assert_ne 0 "$RC" "extra mount without an allowlist is refused"
assert_contains "$ERR" "mounts[0].source" "message names the field"
cat >"$XDG_CONFIG_HOME/cove/mount-allowlist.json" <<JSON
{"roots": [{"path": "$T/data", "writable": true}], "blocked_patterns": ["forbidden"], "untrusted_read_only": true, "trusted_groups": ["main"]}
JSON
arun --policy "$extra" --workspace "$WS" -- sh -c 'cat /data/f; echo w > /data/w 2>&1 || echo RO'
assert_eq 0 "$RC" "allowed extra mount ($ERR)"
assert_contains "$OUT" "data" "extra mount visible"
assert_contains "$OUT" "RO" "untrusted group forced read-only"
arun --policy "$extra" --workspace "$WS" --group main -- sh -c 'echo w > /data/w && echo RW'
assert_contains "$OUT" "RW" "trusted group gets read-write"
for src in "$T/data/.kube" "$T/other"; do
  p=$(policy bad "{\"allow_unlimited\": true, \"mounts\": [{\"source\": \"$src\", \"destination\": \"/data\"}]}")
  arun --policy "$p" --workspace "$WS" -- true
  assert_ne 0 "$RC" "extra mount $src refused"
  assert_contains "$ERR" "mounts[0].source"
done
assert_contains "$(cat "$AUDIT_DIR/global.jsonl")" '"decision":"deny","source":"'"$T"'/other","destination":"/data","reason":"not under an allowed root"' "refusal audited"

# A source swapped for a symlink between check and mount: the run fails,
# and nothing of the symlink's target is ever visible.
mkdir -p "$T/swapws"
echo "checked" >"$T/swapws/f"
export COVE_AGENT_TEST_PAUSE=$T/pause
( "$COVE" agent run --policy "$UNL" --workspace "$T/swapws" -- cat /workspace/f /workspace/key >"$T/swap.out" 2>"$T/swap.err"; echo $? >"$T/swap.rc" ) &
for _ in $(seq 200); do [ -e "$T/pause" ] && break; sleep 0.05; done
[ -e "$T/pause" ] || fail "orchestrator never reached the check/mount pause"
mv "$T/swapws" "$T/swapws.real"
ln -s "$T/hostsecret" "$T/swapws"
rm -f "$T/pause"
wait
unset COVE_AGENT_TEST_PAUSE
assert_ne 0 "$(cat "$T/swap.rc")" "run with a swapped source fails"
assert_contains "$(cat "$T/swap.err")" "changed between check and mount"
assert_not_contains "$(cat "$T/swap.out")" "SECRET-host" "symlink target never exposed"

# The sandbox's root skeleton is a tmpfs of its own mount namespace (its
# mount points and the /bin-style symlinks are never made on the host's
# disk), read-only for the sandbox.
arun --policy "$UNL" --workspace "$WS" -- sh -c 'awk "\$5 == \"/\" { for (i = 7; i < NF; i++) if (\$i == \"-\") { print \"fstype=\" \$(i + 1); break } }" /proc/self/mountinfo; readlink /bin || echo nolink; mkdir /x 2>&1; true'
assert_eq 0 "$RC" "exit status (stderr: $ERR)"
assert_contains "$OUT" "fstype=tmpfs" "the sandbox root is a tmpfs"
assert_contains "$OUT" "Read-only file system" "the sandbox root is read-only"
if [ -L /bin ]; then assert_contains "$OUT" "$(readlink /bin)" "the host's /bin symlink in the skeleton"; fi
