/* syscall_probe NAME...: call each named syscall once and print
 * "NAME ok" or "NAME errno=N". Used to check seccomp rules. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    char buf[4096];
    long r;
    errno = 0;
    if (strcmp(argv[i], "getcwd") == 0)
      r = syscall(SYS_getcwd, buf, sizeof buf);
    else if (strcmp(argv[i], "getpid") == 0)
      r = syscall(SYS_getpid);
    else if (strcmp(argv[i], "chdir") == 0)
      r = syscall(SYS_chdir, "/");
    else if (strcmp(argv[i], "uname") == 0) {
      struct utsname u;
      r = syscall(SYS_uname, &u);
    } else if (strcmp(argv[i], "mkdirat") == 0)
      r = syscall(SYS_mkdirat, -100, "/tmp/.probe", 0755);
    else {
      printf("%s unknown\n", argv[i]);
      return 2;
    }
    if (r < 0)
      printf("%s errno=%d\n", argv[i], errno);
    else
      printf("%s ok\n", argv[i]);
  }
  return 0;
}
