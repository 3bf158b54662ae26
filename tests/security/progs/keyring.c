/* keyring: print the serial of the session keyring (without creating one).
 * keyring join NAME CMD [ARG...]: join a new session keyring named NAME,
 * print its serial, then exec CMD (which inherits it). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  if (argc >= 4 && argv[1][0] == 'j') {
    long id = syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, argv[2]);
    if (id < 0) {
      printf("errno=%d\n", errno);
      return 1;
    }
    printf("%ld\n", id);
    fflush(stdout);
    execvp(argv[3], argv + 3);
    perror(argv[3]);
    return 127;
  }
  long id = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 0);
  if (id < 0) {
    printf("errno=%d\n", errno);
    return 1;
  }
  printf("%ld\n", id);
  return 0;
}
