/* keyring: print the serial of the session keyring (without creating one). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
  long id = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 0);
  if (id < 0) {
    printf("errno=%d\n", errno);
    return 1;
  }
  printf("%ld\n", id);
  return 0;
}
