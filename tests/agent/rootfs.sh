#!/usr/bin/env bash
# A policy "rootfs" (issue 10 item 6) gets the workspace's checks:
# canonicalised and pinned by fd (a swap between check and mount fails the
# run), refused when it is or contains cove's own directories or has a
# blocked component, blocked names inside it masked.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

img=$T/img
cp -a "$ROOTFS" "$img"
mkdir -p "$img/root/.ssh"
echo "IMG-KEY" >"$img/root/.ssh/id_rsa"
echo "root:HASH:1::::::" >"$img/etc/shadow"
pol=$(policy img "{\"allow_unlimited\": true, \"rootfs\": \"$img\"}")

arun --policy "$pol" --workspace "$WS" -- sh -c 'cat /root/.ssh/id_rsa /etc/shadow; echo end; cat /workspace/README'
assert_eq 0 "$RC" "image rootfs runs ($ERR)"
assert_contains "$OUT" "readme" "workspace mounted"
assert_not_contains "$OUT" "IMG-KEY" "blocked name inside the rootfs masked"
assert_not_contains "$OUT" "HASH" "/etc/shadow of the rootfs masked"
assert_contains "$(audit_of_last)" '"event":"mask","path":"/root/.ssh"'

# the rootfs gets the workspace's walk rules too (the walk of the staged
# tree in the namespace helper): names matched ignoring case, FIFOs masked
mkdir -p "$img/srv"
echo "UPPER-KEY" >"$img/srv/ID_RSA"
mkfifo "$img/srv/pipe"
arun --policy "$pol" --workspace "$WS" -- sh -c 'cat /srv/ID_RSA; test -p /srv/pipe && echo FIFO-SHOWN; echo end'
assert_eq 0 "$RC" "image rootfs with a FIFO runs ($ERR)"
assert_contains "$OUT" "end"
assert_not_contains "$OUT" "UPPER-KEY" "blocked name in another case masked in the rootfs"
assert_not_contains "$OUT" "FIFO-SHOWN" "FIFO in the rootfs masked"
assert_contains "$(audit_of_last)" '"event":"mask","path":"/srv/pipe"'
rm -rf "$img/srv"

# outputs inside the rootfs would be visible to the agent
arun --policy "$pol" --workspace "$WS" --stdout "$img/out.log" -- echo hi
assert_eq 1 "$RC" "--stdout inside the rootfs refused"
assert_contains "$ERR" "inside the rootfs"

# a symlink to a directory holding cove's own state (audit log, groups)
mkdir -p "$img/xdgstate"
ln -s "$img" "$T/imglink"
XDG_STATE_HOME=$img/xdgstate arun --policy "$(policy lnk "{\"allow_unlimited\": true, \"rootfs\": \"$T/imglink\"}")" \
  --workspace "$WS" -- sh -c 'cat /xdgstate/cove/audit/global.jsonl'
assert_eq 1 "$RC" "rootfs containing cove's own directory refused"
assert_contains "$ERR" "cove's own directory"
assert_not_contains "$OUT" '"event"' "audit log never shown"
rm -rf "$img/xdgstate"

# blocked component in the resolved path
ln -s "$img" "$T/.secret-img"
mkdir -p "$T/plain" && ln -s "$T/.secret-img" "$T/plain/root"
arun --policy "$(policy blk "{\"allow_unlimited\": true, \"rootfs\": \"$T/plain/root\"}")" --workspace "$WS" -- true
assert_eq 0 "$RC" "a symlink's own name does not matter, the resolved path does ($ERR)"
mv "$img" "$T/.secret-img2" && rm -f "$T/.secret-img" && ln -s "$T/.secret-img2" "$img"
arun --policy "$pol" --workspace "$WS" -- true
assert_eq 1 "$RC" "rootfs resolving to a blocked name refused"
assert_contains "$ERR" "blocked pattern"
rm -f "$img" && mv "$T/.secret-img2" "$img"

# pinned: swapped for another tree between check and mount
cp -a "$ROOTFS" "$T/other"
echo "OTHER-TREE" >"$T/other/marker"
export COVE_AGENT_TEST_PAUSE=$T/pause
( "$COVE" agent run --policy "$pol" --workspace "$WS" -- cat /marker >"$T/swap.out" 2>"$T/swap.err"; echo $? >"$T/swap.rc" ) &
for _ in $(seq 200); do [ -e "$T/pause" ] && break; sleep 0.05; done
[ -e "$T/pause" ] || fail "orchestrator never reached the check/mount pause"
mv "$img" "$img.real"
ln -s "$T/other" "$img"
rm -f "$T/pause"
wait
unset COVE_AGENT_TEST_PAUSE
assert_not_contains "$(cat "$T/swap.out")" "OTHER-TREE" "swapped rootfs never used"
assert_ne 0 "$(cat "$T/swap.rc")" "run with a swapped rootfs fails"
assert_contains "$(cat "$T/swap.err")" "changed between check and mount"
