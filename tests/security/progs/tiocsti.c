/* tiocsti: try to push a character into the input queue of the terminal
 * on fd 0 and of /dev/tty with TIOCSTI (CVE-2017-5226). Prints
 * "stdin ok|errno=N" and "devtty ok|errno=N|open-errno=N". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void push(const char *what, int fd)
{
  const char *s = "echo INJECTED-BY-CONTAINER\n";
  int ok = 1;
  for (const char *c = s; *c; c++)
    if (ioctl(fd, TIOCSTI, c) < 0) {
      printf("%s errno=%d\n", what, errno);
      ok = 0;
      break;
    }
  if (ok)
    printf("%s ok\n", what);
}

int main(void)
{
  push("stdin", 0);
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
  if (fd < 0)
    printf("devtty open-errno=%d\n", errno);
  else
    push("devtty", fd);
  printf("sid=%d pgid=%d tcpgrp=%d\n", (int)getsid(0), (int)getpgrp(), (int)tcgetpgrp(0));
  fflush(stdout);
  return 0;
}
