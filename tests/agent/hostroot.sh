#!/usr/bin/env bash
# As root the sandbox's root is not the host's root (issue 10, item 2a):
# the sandbox runs as one unprivileged host id, and its host-backed mounts
# are idmapped so the owner of each (the caller, or whoever owns the
# workspace) is the sandbox's root there and its writes land as that owner.
# Everything else on them, and the host's root-only files, stay out of
# reach as they would for an unprivileged host user.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

only_root "the host-root mapping only exists when cove runs as root"
id covetest >/dev/null 2>&1 || skip "user covetest missing"
cu=$(id -u covetest)
cg=$(id -g covetest)

rw=$(policy rw '{"allow_unlimited": true, "workspace": {"writable": true}}')

# the caller's own workspace: the sandbox is not host root, and what it
# writes in the workspace and in /group is the caller's on the host
arun --policy "$rw" --workspace "$WS" -- sh -c '
  awk "\$1 == 0 { print \"map\", \$2 }" /proc/self/uid_map /proc/self/gid_map
  echo w >/workspace/made-here && echo "ws $?"
  echo g >/group/made-here && echo "group $?"
  mkdir /workspace/dir-here && echo "mkdir $?"
  head -c 5 /etc/shadow; echo "shadow-bytes"
  cat /etc/default/cacerts >/dev/null 2>&1; echo "cacerts $?"'
assert_eq 0 "$RC" "run in the caller's workspace ($ERR)"
assert_not_contains "$OUT" "map 0" "sandbox uid/gid 0 is not host 0"
assert_contains "$OUT" "ws 0" "workspace writable"
assert_contains "$OUT" "group 0" "/group writable"
assert_eq "0:0" "$(stat -c %u:%g "$WS/made-here")" "workspace file owned by the caller (root) on the host"
assert_eq "0:0" "$(stat -c %u:%g "$WS/dir-here")" "workspace dir owned by the caller on the host"
assert_eq "0:0" "$(stat -c %u:%g "$XDG_DATA_HOME/cove/groups/default/made-here")" "/group file owned by the caller"
assert_contains "$OUT" "shadow-bytes" "shadow read ran"
assert_not_contains "$OUT" "root:" "/etc/shadow not readable"
if [ -f /etc/default/cacerts ] && [ "$(stat -c %u%a /etc/default/cacerts)" != "0644" ]; then
  assert_contains "$OUT" "cacerts 1" "a root-only host file is unreadable in the sandbox"
fi

# someone else's workspace, run by root: that user is the sandbox's root
# there (writes land as them), host root's private file in it is not
# readable, and root's directory there cannot be written
WS2=$T/ws-other
mkdir -p "$WS2/rootdir"
echo "secret" >"$WS2/root-private"
chmod 600 "$WS2/root-private"
chmod 700 "$WS2/rootdir"
echo "theirs" >"$WS2/theirs"
chmod 600 "$WS2/theirs"
chown "$cu:$cg" "$WS2" "$WS2/theirs"
arun --policy "$rw" --workspace "$WS2" -- sh -c '
  cat /workspace/root-private; echo "private $?"
  cat /workspace/theirs; echo "theirs $?"
  touch /workspace/rootdir/x 2>/dev/null; echo "rootdir $?"
  echo w >/workspace/new && echo "new $?"
  chown 0:0 /workspace/root-private 2>/dev/null; echo "chown $?"
  stat -c "owner %u" /workspace/root-private'
assert_eq 0 "$RC" "run in another user's workspace ($ERR)"
assert_contains "$OUT" "private 1" "host root's 0600 file unreadable in the sandbox"
assert_not_contains "$OUT" "secret" "no byte of it"
assert_contains "$OUT" "theirs 0" "the workspace owner's 0600 file readable"
assert_contains "$OUT" "rootdir 1" "host root's 0700 directory not writable"
assert_contains "$OUT" "new 0" "workspace writable"
assert_contains "$OUT" "chown 1" "host root's file cannot be taken over"
assert_contains "$OUT" "owner 65534" "host root's file is nobody's in the sandbox"
assert_eq "$cu:$cg" "$(stat -c %u:%g "$WS2/new")" "file lands owned by the workspace owner"
assert_eq "0:0" "$(stat -c %u:%g "$WS2/root-private")" "host root's file untouched"

# a source whose filesystem refuses an idmapped mount (sysfs) fails the
# run, naming it; never a fallback to the host's root
arun --policy "$UNL" --workspace /sys/kernel/mm -- true
assert_eq 1 "$RC" "run on a filesystem without idmapped mounts refused"
assert_contains "$ERR" "/sys/kernel/mm" "error names the path"
assert_contains "$ERR" "idmapped mount" "error says why"

# a policy rootfs (an image, owned by root here): its owner is the
# sandbox's root on it, so the runtime can add the mount points it lacks;
# the sandbox is still not host root
cp -a "$ROOTFS" "$T/image"
rmdir "$T/image/workspace" "$T/image/group" 2>/dev/null
img=$(policy img "{\"allow_unlimited\": true, \"rootfs\": \"$T/image\"}")
arun --policy "$img" --workspace "$WS" -- sh -c 'awk "\$1 == 0 { print \"map\", \$2 }" /proc/self/uid_map; cat /workspace/README'
assert_eq 0 "$RC" "run on a policy rootfs ($ERR)"
assert_contains "$OUT" "readme" "workspace mounted in the image"
assert_not_contains "$OUT" "map 0" "sandbox uid 0 is not host 0 on a policy rootfs"
