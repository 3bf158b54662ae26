/* clocks: print CLOCK_MONOTONIC and CLOCK_BOOTTIME seconds. */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>

int main(void)
{
  struct timespec m, b;
  clock_gettime(CLOCK_MONOTONIC, &m);
  clock_gettime(CLOCK_BOOTTIME, &b);
  printf("%lld %lld\n", (long long)m.tv_sec, (long long)b.tv_sec);
  return 0;
}
