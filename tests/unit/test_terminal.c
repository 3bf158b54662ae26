/* Console protocol end to end on the host's /dev/ptmx: a forked "container"
 * runs cove_console_setup() over a socketpair, the parent receives the
 * master with cove_console_recv_fd() and then either reads it directly or
 * through cove_console_proxy() with stdin/stdout redirected to files. */
#include "terminal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define CHECK(c, ...)                                                                              \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                         \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* pty fds above stdio: must be 0 (master sent away, slave's original
 * closed). The test harness may pass unrelated fds, so only ptys count. */
static int count_fds(void)
{
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    char p[300], l[256];
    if (atoi(e->d_name) <= 2)
      continue;
    snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
    ssize_t k = readlink(p, l, sizeof l - 1);
    if (k > 0) {
      l[k] = 0;
      if (strncmp(l, "/dev/pt", 7) == 0)
        n++;
    }
  }
  closedir(d);
  return n;
}

/* The "container": sets up the console, then reports on its stdio. */
static void child(int sock, int echo)
{
  cove_err err = {0};
  if (cove_console_setup(sock, 24, 80, &err) < 0) {
    dprintf(2, "child: %s\n", err.msg);
    _exit(10);
  }
  close(sock);
  struct winsize ws;
  ioctl(0, TIOCGWINSZ, &ws);
  printf("tty=%d,%d,%d sid=%d pgrp=%d ws=%ux%u fds=%d\n", isatty(0), isatty(1), isatty(2),
         getsid(0) == getpid(), tcgetpgrp(0) == getpid(), ws.ws_row, ws.ws_col, count_fds());
  if (echo) {
    char line[128];
    if (fgets(line, sizeof line, stdin))
      printf("got:%s", line);
  }
  fflush(stdout);
  _exit(0);
}

static pid_t spawn(int *parent_sock, int echo)
{
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    close(sv[0]);
    child(sv[1], echo);
  }
  close(sv[1]);
  *parent_sock = sv[0];
  return pid;
}

static void test_direct(void)
{
  int sock;
  pid_t pid = spawn(&sock, 0);
  cove_err err = {0};
  int m = cove_console_recv_fd(sock, &err);
  CHECK(m >= 0, "recv: %s", err.msg);
  close(sock);
  CHECK(fcntl(m, F_GETFD) & FD_CLOEXEC, "received fd lacks FD_CLOEXEC");
  char buf[4096];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(m, buf + len, sizeof buf - 1 - len);
    if (n <= 0)
      break; /* EIO once the child's slave fds are gone */
    len += (size_t)n;
  }
  buf[len] = 0;
  int st;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  
  CHECK(strstr(buf, "tty=1,1,1 sid=1 pgrp=1 ws=24x80 fds=0"), "unexpected child output: %s", buf);
  close(m);
  fprintf(stderr, "ok direct: %s", buf);
}

static void test_proxy(void)
{
  char in[] = "/tmp/cove-term-in-XXXXXX", out[] = "/tmp/cove-term-out-XXXXXX";
  int fi = mkstemp(in), fo = mkstemp(out);
  CHECK(fi >= 0 && fo >= 0, "mkstemp");
  CHECK(write(fi, "ping\n", 5) == 5, "write");
  lseek(fi, 0, SEEK_SET);

  pid_t proxy = fork();
  if (proxy == 0) {
    dup2(fi, 0);
    dup2(fo, 1);
    int sock;
    pid_t pid = spawn(&sock, 1);
    cove_err err = {0};
    int m = cove_console_recv_fd(sock, &err);
    if (m < 0 || cove_console_proxy(m, &err) < 0) {
      dprintf(2, "proxy: %s\n", err.msg);
      _exit(1);
    }
    int st;
    waitpid(pid, &st, 0);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 99);
  }
  int st;
  waitpid(proxy, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "proxy status %#x", st);
  char buf[4096];
  ssize_t n = pread(fo, buf, sizeof buf - 1, 0);
  CHECK(n > 0, "no proxy output");
  buf[n] = 0;
  CHECK(strstr(buf, "tty=1,1,1") && strstr(buf, "got:ping"), "proxy output: %s", buf);
  unlink(in);
  unlink(out);
  fprintf(stderr, "ok proxy: %s", buf);
}

/* `test_terminal tty`: driven by test_terminal_tty.py from an outer pty,
 * so the proxy sees a real terminal (raw mode, SIGWINCH). The container
 * answers "size" with its window size and exits on "quit". */
static void interactive(void)
{
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    cove_err err = {0};
    if (cove_console_setup(sv[1], 24, 80, &err) < 0)
      _exit(10);
    close(sv[1]);
    char line[64];
    printf("READY\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
      struct winsize ws;
      ioctl(0, TIOCGWINSZ, &ws);
      if (strncmp(line, "size", 4) == 0)
        printf("SIZE=%ux%u\n", ws.ws_row, ws.ws_col);
      else if (strncmp(line, "quit", 4) == 0)
        break;
      fflush(stdout);
    }
    printf("BYE\n");
    _exit(0);
  }
  close(sv[1]);
  cove_err err = {0};
  int m = cove_console_recv_fd(sv[0], &err);
  CHECK(m >= 0, "recv: %s", err.msg);
  CHECK(cove_console_proxy(m, &err) == 0, "proxy: %s", err.msg);
  struct termios t;
  tcgetattr(0, &t);
  /* After return the user's terminal must be back in cooked mode. */
  dprintf(2, "RESTORED=%d\n", (t.c_lflag & ICANON) && (t.c_lflag & ECHO) ? 1 : 0);
  int st;
  waitpid(pid, &st, 0);
  exit(WIFEXITED(st) ? WEXITSTATUS(st) : 99);
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "tty") == 0)
    interactive();
  if (argc > 2 && strcmp(argv[1], "client") == 0) {
    /* `test_terminal client SOCKET`: a "container" for recvtty tests. */
    cove_err err = {0};
    int sock = cove_console_socket_connect(argv[2], &err);
    CHECK(sock >= 0, "%s", err.msg);
    CHECK(cove_console_setup(sock, 0, 0, &err) == 0, "%s", err.msg);
    close(sock);
    printf("hello via %s\n", ttyname(0));
    return 0;
  }
  test_direct();
  test_proxy();
  return 0;
}
