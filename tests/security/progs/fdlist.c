/* fdlist: print this process's open fds (except the one used to list
 * them), one "N -> target" a line. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    perror("opendir /proc/self/fd");
    return 1;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    int fd = atoi(e->d_name);
    if (fd == dirfd(d))
      continue;
    char p[64], t[4096];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, t, sizeof t - 1);
    t[n < 0 ? 0 : n] = 0;
    printf("%d -> %s\n", fd, t);
  }
  return 0;
}
