#!/usr/bin/env bash
# The agent profile (`cove spec --agent`, policy/agent-seccomp.json) in a
# real container, root and rootless: every explicitly denied call must fail
# with EPERM (clone3 with ENOSYS), and ordinary work (fork, exec, pipes,
# files, AF_INET/AF_UNIX/netlink sockets, epoll, futex) must keep working.
#
#   test_agent_profile.sh COVE [MODE]      MODE = root | rootless | both (default)
#
# Self-contained: builds a static probe (gcc -static) and a one-binary
# busybox rootfs in a temporary directory. Exit 77 when it cannot run here.
set -euo pipefail
COVE=${1:-${COVE:-}}
MODE=${2:-${MODE:-both}}
[ -n "$COVE" ] && [ -x "$COVE" ] || { echo "usage: $0 COVE [root|rootless|both]" >&2; exit 2; }
COVE=$(readlink -f "$COVE")
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
USER_RL=${COVE_TEST_USER:-covetest}

command -v gcc >/dev/null || { echo "SKIP: gcc missing"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq missing"; exit 77; }
bb=$(command -v busybox || true)
[ -n "$bb" ] && ! readelf -d "$bb" 2>/dev/null | grep -q NEEDED || { echo "SKIP: static busybox missing"; exit 77; }

T=$(mktemp -d /tmp/cove-agent-test.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
FAILS=0

cat >"$T/probe.c" <<'PROBE'
/* Probe for the agent seccomp profile: each line "name errno-or-OK". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <unistd.h>

static void report(const char *name, long r)
{
  printf("%s %s\n", name, r < 0 ? strerrorname_np(errno) : "OK");
  fflush(stdout);
}
#define CHECK(name, expr) do { errno = 0; long _r = (long)(expr); report(name, _r); } while (0)

static void probe_clone(const char *name, unsigned long flags)
{
  errno = 0;
  long r = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
  if (r == 0)
    _exit(0);
  report(name, r);
  if (r > 0)
    waitpid((pid_t)r, NULL, 0);
}

int main(void)
{
  union bpf_attr attr; memset(&attr, 0, sizeof attr);
  /* ---- must be denied ---- */
  CHECK("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
  CHECK("keyctl", syscall(SYS_keyctl, 0 /*KEYCTL_GET_KEYRING_ID*/, -3 /*session*/, 0));
  CHECK("add_key", syscall(SYS_add_key, "user", "cove-probe", "x", 1, -3));
  CHECK("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
  CHECK("umount2", umount2("/proc", MNT_DETACH));
  CHECK("pivot_root", syscall(SYS_pivot_root, "/", "/"));
  CHECK("setns", setns(0, 0) );
  CHECK("ptrace", ptrace(PTRACE_TRACEME, 0, 0, 0));
  CHECK("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  CHECK("userfaultfd", syscall(SYS_userfaultfd, 0));
  CHECK("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
  CHECK("init_module", syscall(SYS_init_module, NULL, 0, ""));
  CHECK("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
  CHECK("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
  CHECK("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/", 0));
  {
    char c = 'x';
    int fd = open("/dev/tty", O_RDWR);
    if (fd < 0) fd = 0;
    CHECK("ioctl_TIOCSTI", ioctl(fd, TIOCSTI, &c));
    /* upper 32 bits set: the kernel truncates cmd to unsigned int */
    CHECK("ioctl_TIOCSTI_hi", syscall(SYS_ioctl, fd, 0x100000000UL | TIOCSTI, &c));
    char sub = 12; /* TIOCL_GETKMSGREDIRECT */
    CHECK("ioctl_TIOCLINUX", ioctl(fd, TIOCLINUX, &sub));
  }
  CHECK("socket_AF_PACKET", socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
  CHECK("socket_AF_PACKET_DGRAM", socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL)));
  CHECK("socket_INET_RAW", socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
  probe_clone("clone_NEWUSER", CLONE_NEWUSER);
  probe_clone("clone_NEWNS", CLONE_NEWNS);
  probe_clone("clone_NEWNET", CLONE_NEWNET);
  {
    char buf[88] = {0};
    errno = 0; long r = syscall(SYS_clone3, buf, sizeof buf);
    printf("clone3 %s\n", r < 0 ? strerrorname_np(errno) : "OK"); /* expect ENOSYS */
    if (r == 0) _exit(0);
    if (r > 0) waitpid((pid_t)r, NULL, __WALL);
  }
  CHECK("process_vm_readv", syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0));
  CHECK("personality_ADDR_NO_RANDOMIZE", syscall(SYS_personality, 0x0040000));
  CHECK("syslog", syscall(SYS_syslog, 10 /*SIZE_BUFFER*/, NULL, 0));
  CHECK("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0));

  /* ---- must work ---- */
  CHECK("ALLOW_personality_query", syscall(SYS_personality, 0xffffffff));
  {
    int p[2];
    CHECK("ALLOW_pipe", pipe(p));
    pid_t pid = fork();
    if (pid == 0) {
      write(p[1], "y", 1);
      execl("/bin/true", "true", (char *)NULL);
      _exit(127);
    }
    report("ALLOW_fork", pid);
    int st = 0;
    CHECK("ALLOW_wait", waitpid(pid, &st, 0));
    char c;
    CHECK("ALLOW_pipe_read", read(p[0], &c, 1) == 1 ? 0 : -1);
    printf("ALLOW_exec %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "OK" : "FAILED");
  }
  {
    int fd = open("/dev/shm/cove-probe-file", O_CREAT | O_RDWR | O_TRUNC, 0600);
    report("ALLOW_open", fd);
    CHECK("ALLOW_write", write(fd, "hello", 5) == 5 ? 0 : -1);
    CHECK("ALLOW_unlink", unlink("/dev/shm/cove-probe-file"));
    close(fd);
  }
  {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    report("ALLOW_socket_INET_STREAM", s);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK("ALLOW_bind", bind(s, (struct sockaddr *)&sa, sizeof sa));
    CHECK("ALLOW_listen", listen(s, 1));
    close(s);
    s = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0); report("ALLOW_socket_INET6_DGRAM", s); close(s);
    s = socket(AF_UNIX, SOCK_SEQPACKET, 0); report("ALLOW_socket_UNIX", s); close(s);
    s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0); report("ALLOW_socket_NETLINK_ROUTE", s); close(s);
    int sv[2]; CHECK("ALLOW_socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  }
  {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    report("ALLOW_epoll", ep);
    struct winsize ws;
    int r = ioctl(0, TIOCGWINSZ, &ws);
    printf("ALLOW_ioctl_TIOCGWINSZ %s\n", r == 0 || errno == ENOTTY ? "OK" : strerrorname_np(errno));
    int v = 0;
    CHECK("ALLOW_futex", syscall(SYS_futex, &v, 1 /*FUTEX_WAKE*/, 1, NULL, NULL, 0));
  }
  {
    pid_t pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0) _exit(0);
    report("ALLOW_clone_plain", pid);
    if (pid > 0) waitpid(pid, NULL, 0);
  }
  /* last: on an unfiltered host these change the probe's own namespaces */
  CHECK("unshare_user", unshare(CLONE_NEWUSER));
  CHECK("unshare_net", unshare(CLONE_NEWNET));
  return 0;
}
PROBE
if ! gcc -static -O1 -w -o "$T/probe" "$T/probe.c" 2>"$T/cc.log"; then
  cat "$T/cc.log"; echo "SKIP: cannot build a static probe (glibc static libs?)"; exit 77
fi

mkrootfs() { # DIR
  mkdir -p "$1/bin" "$1/proc" "$1/sys" "$1/dev" "$1/tmp"
  cp "$bb" "$1/bin/busybox"
  for a in sh true echo cat; do ln -sf busybox "$1/bin/$a"; done
  cp "$T/probe" "$1/bin/cove-probe"
}

# The agent config for the bundle in $1 ($2 = --rootless or empty). Uses
# `cove spec --agent`; until the CLI has the flag, the same document is
# assembled with jq from `cove spec` and the policy file (and said so).
mkconfig() { # BUNDLE [--rootless]
  local b=$1 rl=${2:-}
  if (cd "$b" && "$COVE" spec --agent $rl) 2>"$b/spec.err"; then
    echo "# config from: cove spec --agent $rl"
  else
    echo "# NOTE: 'cove spec --agent' unavailable ($(head -1 "$b/spec.err")); assembling with jq"
    rm -f "$b/config.json"
    (cd "$b" && "$COVE" spec $rl)
    local caps='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_FSETID","CAP_KILL","CAP_SETGID","CAP_SETUID","CAP_NET_BIND_SERVICE"]'
    jq --slurpfile p "$SRC_DIR/policy/agent-seccomp.json" --argjson c "$caps" \
      '.linux.seccomp=$p[0] | .process.noNewPrivileges=true |
       .process.capabilities={"bounding":$c,"effective":$c,"permitted":$c}' "$b/config.json" >"$b/c.tmp"
    mv "$b/c.tmp" "$b/config.json"
  fi
  jq '.process.terminal=false | .process.args=["/bin/cove-probe"]' "$b/config.json" >"$b/c.tmp"
  mv "$b/c.tmp" "$b/config.json"
}

# name → expected result of the probe
expected() {
  cat <<'EXP'
bpf EPERM
keyctl EPERM
add_key EPERM
mount EPERM
umount2 EPERM
pivot_root EPERM
setns EPERM
ptrace EPERM
perf_event_open EPERM
userfaultfd EPERM
io_uring_setup EPERM
init_module EPERM
kexec_load EPERM
fsopen EPERM
open_tree EPERM
ioctl_TIOCSTI EPERM
ioctl_TIOCSTI_hi EPERM
ioctl_TIOCLINUX EPERM
socket_AF_PACKET EPERM
socket_AF_PACKET_DGRAM EPERM
socket_INET_RAW EPERM
clone_NEWUSER EPERM
clone_NEWNS EPERM
clone_NEWNET EPERM
clone3 ENOSYS
process_vm_readv EPERM
personality_ADDR_NO_RANDOMIZE EPERM
syslog EPERM
name_to_handle_at EPERM
ALLOW_personality_query OK
ALLOW_pipe OK
ALLOW_fork OK
ALLOW_wait OK
ALLOW_pipe_read OK
ALLOW_exec OK
ALLOW_open OK
ALLOW_write OK
ALLOW_unlink OK
ALLOW_socket_INET_STREAM OK
ALLOW_bind OK
ALLOW_listen OK
ALLOW_socket_INET6_DGRAM OK
ALLOW_socket_UNIX OK
ALLOW_socket_NETLINK_ROUTE OK
ALLOW_socketpair OK
ALLOW_epoll OK
ALLOW_ioctl_TIOCGWINSZ OK
ALLOW_futex OK
ALLOW_clone_plain OK
unshare_user EPERM
unshare_net EPERM
EXP
}

# Runs one mode; as the unprivileged user for rootless.
run_mode() { # root|rootless
  local mode=$1
  local dir=$T/$mode as=() rl=""
  mkdir -p "$dir/bundle" "$dir/state"
  mkrootfs "$dir/bundle/rootfs"
  if [ "$mode" = rootless ]; then
    rl=--rootless
    if [ "$(id -u)" -eq 0 ]; then
      id "$USER_RL" >/dev/null 2>&1 || { echo "SKIP rootless: no user $USER_RL"; return 0; }
      chown -R "$USER_RL:" "$dir"
      as=(setpriv --reuid="$USER_RL" --regid="$USER_RL" --init-groups env -i PATH="$PATH" HOME="$dir" XDG_RUNTIME_DIR="$dir/state")
    fi
  elif [ "$(id -u)" -ne 0 ]; then
    echo "SKIP root: not root"; return 0
  fi
  "${as[@]}" bash -c "$(declare -f mkconfig); COVE=$(printf %q "$COVE"); SRC_DIR=$(printf %q "$SRC_DIR"); mkconfig $(printf %q "$dir/bundle") $rl" \
    || { echo "FAIL [$mode]: building the config"; FAILS=$((FAILS + 1)); return 0; }

  # 1. an ordinary shell command works under the profile
  local out
  jq '.process.args=["sh","-c","echo ok"]' "$dir/bundle/config.json" >"$dir/sh.json"
  cp "$dir/bundle/config.json" "$dir/probe.json"
  cp "$dir/sh.json" "$dir/bundle/config.json"
  out=$("${as[@]}" "$COVE" --root "$dir/state" run --bundle "$dir/bundle" agent-sh-$$ 2>&1) || true
  if [ "$out" = ok ]; then echo "ok   [$mode] sh -c 'echo ok'"; else
    echo "FAIL [$mode] sh -c 'echo ok' printed: $out"; FAILS=$((FAILS + 1)); fi

  # 2. the probe
  cp "$dir/probe.json" "$dir/bundle/config.json"
  [ "$mode" = rootless ] && [ "$(id -u)" -eq 0 ] && chown "$USER_RL:" "$dir/bundle/config.json"
  "${as[@]}" "$COVE" --root "$dir/state" run --bundle "$dir/bundle" agent-probe-$$ >"$dir/probe.out" 2>"$dir/probe.err" || true
  local name want got
  while read -r name want; do
    got=$(awk -v n="$name" '$1 == n { print $2; exit }' "$dir/probe.out")
    if [ "$got" = "$want" ]; then
      printf 'ok   [%s] %-32s %s\n' "$mode" "$name" "$got"
    else
      printf 'FAIL [%s] %-32s want %s got %s\n' "$mode" "$name" "$want" "${got:-<missing>}"
      FAILS=$((FAILS + 1))
    fi
  done < <(expected)
  if [ -s "$dir/probe.err" ]; then echo "# [$mode] cove stderr:"; sed 's/^/#   /' "$dir/probe.err"; fi
}

case $MODE in
  root) run_mode root ;;
  rootless) run_mode rootless ;;
  both) run_mode root; run_mode rootless ;;
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac

if [ "$FAILS" -ne 0 ]; then
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "all checks passed"
