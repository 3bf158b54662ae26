#!/usr/bin/env bash
# Red-team findings on the mask walk (issue 10, items 3, 5, 12, 15):
# masks pinned by fd against a concurrent renamer, what the walk cannot
# read is hidden whole, mount points and their underlying directories,
# FIFOs and device nodes, blocked names in any case.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"
rw=$(policy rw '{"allow_unlimited": true, "workspace": {"writable": true}}')

# --- item 15: blocked names match case-insensitively
for n in .ENV ID_RSA Credentials.json .Ssh; do echo "SECRET-$n" >"$WS/$n"; done
arun --policy "$UNL" --workspace "$WS" -- sh -c 'cat /workspace/.ENV /workspace/ID_RSA /workspace/Credentials.json /workspace/.Ssh 2>&1'
assert_eq 0 "$RC" "run ($ERR)"
assert_not_contains "$OUT" "SECRET" "upper/mixed-case blocked names are masked"
rm -f "$WS/.ENV" "$WS/ID_RSA" "$WS/Credentials.json" "$WS/.Ssh"

# --- item 12: a FIFO in a read-only workspace is host IPC
mkfifo "$WS/pipe"
arun --policy "$UNL" --workspace "$WS" -- sh -c 'if [ -p /workspace/pipe ]; then echo FIFO-VISIBLE; else echo masked; fi'
assert_contains "$OUT" "masked" "FIFO masked"
assert_contains "$(audit_of_last)" '"path":"/workspace/pipe","reason":"FIFO' "FIFO mask audited"
rm -f "$WS/pipe"
if [ "$MODE" = root ]; then
  mknod "$WS/null-dev" c 1 3
  arun --policy "$UNL" --workspace "$WS" -- sh -c '[ -c /workspace/null-dev ] && echo DEVICE-VISIBLE || echo masked'
  assert_contains "$OUT" "masked" "device node masked"
  rm -f "$WS/null-dev"
fi

# --- item 5: a directory the caller cannot list is still readable by the
# sandbox's root (rootless: CAP_DAC_OVERRIDE over the caller's files)
mkdir -p "$WS/locked/inner"
echo SECRET-locked >"$WS/locked/.env"
echo plain >"$WS/locked/inner/f"
chmod 000 "$WS/locked"
arun --policy "$UNL" --workspace "$WS" -- sh -c 'cat /workspace/locked/.env 2>&1; ls -a /workspace/locked 2>&1 | tr "\n" " "'
chmod 755 "$WS/locked"
assert_eq 0 "$RC" "run with a mode-000 directory ($ERR)"
assert_not_contains "$OUT" "SECRET-locked" "blocked name inside a mode-000 directory is masked"
rm -rf "$WS/locked"

if [ "$MODE" = root ]; then
  # a directory the sandbox's root may traverse but not list (owner not
  # mapped into the sandbox): hidden whole
  mkdir -p "$WS/x711"
  echo SECRET-711 >"$WS/x711/.env"
  chown -R nobody "$WS/x711"
  chmod 711 "$WS/x711"
  arun --policy "$UNL" --workspace "$WS" -- sh -c 'cat /workspace/x711/.env 2>&1; true'
  assert_eq 0 "$RC" "run ($ERR)"
  assert_not_contains "$OUT" "SECRET-711" "0711 directory: .env not readable by name"
  assert_contains "$(audit_of_last)" '"path":"/workspace/x711","reason":"directory cannot be listed"' "unlistable dir masked whole"
  rm -rf "$WS/x711"

  # a non-recursive bind would show what lies UNDER a mount point, which
  # the old walk never looked at (it crossed into the mounted filesystem);
  # the kernel refuses to clone such a tree in the sandbox's namespace, so
  # the run must fail closed and say why
  mkdir -p "$WS/mnt"
  echo SECRET-under >"$WS/mnt/.env"
  mount -t tmpfs tmpfs "$WS/mnt"
  arun --policy "$UNL" --workspace "$WS" -- sh -c 'cat /workspace/mnt/.env 2>&1; true'
  umount "$WS/mnt"
  assert_not_contains "$OUT" "SECRET-under" "blocked name under a mount point is never readable"
  assert_ne 0 "$RC" "workspace with a mount below it is refused"
  assert_contains "$ERR" "mounts below it" "refusal says why"
  rm -rf "$WS/mnt"
fi

# --- item 3: a concurrent run renames a walked directory and plants a
# symlink in its place. Deterministic: stop the orchestrator after its
# checks, swap, let it continue.
mkdir -p "$WS/sub"
echo SECRET-sub >"$WS/sub/.env"
export COVE_AGENT_TEST_PAUSE=$T/pause
( "$COVE" agent run --policy "$rw" --workspace "$WS" -- sh -c 'cat /workspace/sub2/.env /workspace/sub/.env 2>&1' \
    >"$T/race.out" 2>"$T/race.err"; echo $? >"$T/race.rc" ) &
for _ in $(seq 200); do [ -e "$T/pause" ] && break; sleep 0.05; done
[ -e "$T/pause" ] || fail "orchestrator never reached the check/mount pause"
mv "$WS/sub" "$WS/sub2"
ln -s /tmp "$WS/sub"
rm -f "$T/pause"
wait
unset COVE_AGENT_TEST_PAUSE
assert_not_contains "$(cat "$T/race.out")" "SECRET-sub" "renamed directory's .env stays masked"
rm -f "$WS/sub"
mv "$WS/sub2" "$WS/sub"

# The same with a real racing renamer: masks are mounted on the walked
# entries themselves, so no interleaving can unmask the file. 10 runs
# against a loop flipping sub <-> sub2 and planting sub -> /tmp.
(
  while [ ! -e "$T/stop" ]; do
    mv "$WS/sub" "$WS/sub2" 2>/dev/null
    ln -s /tmp "$WS/sub" 2>/dev/null
    rm -f "$WS/sub"
    mv "$WS/sub2" "$WS/sub" 2>/dev/null
  done
) &
racer=$!
leaks=0
for _ in $(seq 10); do
  arun --policy "$rw" --workspace "$WS" -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do cat /workspace/sub2/.env /workspace/sub/.env 2>/dev/null; done; true'
  case $OUT in *SECRET-sub*) leaks=$((leaks + 1)) ;; esac
  [ "$RC" -eq 0 ] || assert_contains "$ERR" "changed" "a run that fails says the tree changed"
done
touch "$T/stop"
wait "$racer"
assert_eq 0 "$leaks" "runs that read the masked file during the race"
