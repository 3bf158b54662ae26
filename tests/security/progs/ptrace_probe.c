/* ptrace_probe PID...: try PTRACE_ATTACH and kill(0) on each pid; print
 * "PID ptrace ok|errno=N kill ok|errno=N". Detaches on success. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    pid_t p = (pid_t)atoi(argv[i]);
    printf("%d ptrace ", (int)p);
    if (ptrace(PTRACE_ATTACH, p, 0, 0) == 0) {
      waitpid(p, NULL, __WALL);
      ptrace(PTRACE_DETACH, p, 0, 0);
      printf("ok");
    } else
      printf("errno=%d", errno);
    printf(" kill ");
    if (kill(p, 0) == 0)
      printf("ok\n");
    else
      printf("errno=%d\n", errno);
  }
  return 0;
}
