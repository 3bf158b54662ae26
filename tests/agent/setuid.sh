#!/usr/bin/env bash
# No setuid/setgid file (nor file capability) the agent makes on a
# host-backed writable mount (writable workspace, /group) survives on the
# host, however it is made: chmod family, open/mkdir/mknod with a mode,
# copies that keep modes, archive extraction. Ordinary modes still work.
# Root-only host files stay unreadable, and /group's host directory cannot
# be opened up to other users by a chmod inside the sandbox.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

command -v python3 >/dev/null || skip "python3 missing"
# a tar with a setuid and a setgid entry, built on the host
python3 - "$WS/suid.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name, mode in (("tar-suid", 0o4755), ("tar-sgid", 0o2755)):
        data = b"#!/bin/sh\necho hi\n"
        i = tarfile.TarInfo(name); i.mode = mode; i.size = len(data)
        t.addfile(i, io.BytesIO(data))
PY
suid_src=$(find /usr/bin /bin -maxdepth 1 -perm -4000 -type f 2>/dev/null | head -n1)

rw=$(policy rw '{"allow_unlimited": true, "workspace": {"writable": true}}')
arun --policy "$rw" --workspace "$WS" -- sh -c '
  cd /workspace
  cp /bin/sh a && chmod 4755 a; echo "chmod4755 $?"
  cp /bin/sh b && chmod g+s b; echo "chmodgs $?"
  cp /bin/sh c && chmod u+s,g+s c; echo "chmodugs $?"
  install -m 4755 /bin/sh d; echo "install $?"
  [ -n "'"$suid_src"'" ] && cp -p "'"$suid_src"'" e; echo "cp-p $?"
  mkdir -m 2755 f; echo "mkdir $?"
  tar xpf suid.tar; echo "tar $?"
  python3 - <<"PY"
import os, struct
def t(name, f):
    try:
        f(); print(name, "OK")
    except OSError as e:
        print(name, os.strerror(e.errno))
t("open4755", lambda: os.close(os.open("g", os.O_CREAT | os.O_WRONLY, 0o4755)))
t("openat2755", lambda: os.close(os.open("h", os.O_CREAT | os.O_WRONLY, 0o2755, dir_fd=os.open(".", os.O_RDONLY))))
t("tmpfile4755", lambda: os.close(os.open(".", os.O_TMPFILE | os.O_WRONLY, 0o4755)))
t("mkdir2755", lambda: os.mkdir("i", 0o2755))
t("mknod4755", lambda: os.mknod("j", 0o104755))
t("fchmod6755", lambda: (open("k", "w").close(), os.chmod(os.open("k", os.O_RDONLY), 0o6755)))
t("setcap", lambda: (open("l", "w").close(), os.setxattr("l", "security.capability", struct.pack("<IIIII", 0x02000001, 1 << 21, 0, 0, 0))))
# what must keep working
t("chmod755", lambda: os.chmod("a", 0o755))
t("open644", lambda: os.close(os.open("m", os.O_CREAT | os.O_WRONLY, 0o644)))
t("mkdir755", lambda: os.mkdir("n", 0o755))
t("tmpfile600", lambda: os.close(os.open(".", os.O_TMPFILE | os.O_WRONLY, 0o600)))
t("group4755", lambda: (open("/group/x", "w").close(), os.chmod("/group/x", 0o4755)))
t("groupchmod", lambda: os.chmod("/group", 0o755))
PY
  for f in /proc/kpageflags /proc/kpagecount /proc/slabinfo /proc/vmallocinfo /proc/kcore; do
    [ "$(head -c16 $f 2>/dev/null | wc -c)" -gt 0 ] && echo "READ $f"
  done
  true'
assert_eq 0 "$RC" "exit status (stderr: $ERR)"
for w in chmod4755 chmodgs chmodugs install mkdir; do
  assert_not_contains "$OUT" "$w 0" "$w with setuid/setgid bits refused"
done
for w in open4755 openat2755 tmpfile4755 mkdir2755 mknod4755 fchmod6755 setcap group4755; do
  assert_contains "$OUT" "$w Operation not permitted" "$w refused with EPERM"
done
for w in chmod755 open644 mkdir755 tmpfile600; do
  assert_contains "$OUT" "$w OK" "$w still works"
done
assert_not_contains "$OUT" "READ /proc" "root-only /proc files unreadable"
suid=$(find "$WS" "$XDG_DATA_HOME/cove/groups" -perm /6000 2>/dev/null)
assert_eq "" "$suid" "no setuid/setgid file or directory on the host"
caps=$(python3 -c '
import os, sys
n = 0
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        try:
            os.getxattr(os.path.join(d, f), "security.capability", follow_symlinks=False); n += 1
        except OSError:
            pass
print(n)' "$WS")
assert_eq 0 "$caps" "no file capabilities on the host"
assert_eq 0 "$(( 0$(stat -c %a "$XDG_DATA_HOME/cove/groups") & 077 ))" \
  "the groups directory stays private (chmod of /group cannot open it up)"
assert_contains "$OUT" "cp-p " "cp -p ran"

# a groups directory other users can enter is tightened before a run
chmod 755 "$XDG_DATA_HOME/cove/groups"
arun --policy "$UNL" --workspace "$WS" -- true
assert_eq 0 "$RC" "run with a loose groups dir (stderr: $ERR)"
assert_eq 700 "$(stat -c %a "$XDG_DATA_HOME/cove/groups")" "groups directory tightened to 0700"

