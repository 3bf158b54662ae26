/* Brings lo up with cove_net_loopback_up() in the calling process's netns
 * and checks IFF_UP via /sys/class/net/lo/flags-free ioctl (sysfs shows the
 * mounting netns, not ours). Run inside `unshare -n` / `unshare -rn`. */
#include "cove/netlink.h"

#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int lo_flags(void)
{
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  int r = ioctl(s, SIOCGIFFLAGS, &ifr);
  close(s);
  return r < 0 ? -1 : ifr.ifr_flags;
}

int main(void)
{
  int before = lo_flags();
  cove_err err = {0};
  if (cove_net_loopback_up(&err) < 0) {
    fprintf(stderr, "FAIL: %s (code %d)\n", err.msg, err.code);
    return 1;
  }
  int after = lo_flags();
  if (after < 0 || !(after & IFF_UP)) {
    fprintf(stderr, "FAIL: lo not up after call (flags %#x)\n", after);
    return 1;
  }
  /* Idempotent: a second call on an up interface must also succeed. */
  if (cove_net_loopback_up(&err) < 0) {
    fprintf(stderr, "FAIL second call: %s\n", err.msg);
    return 1;
  }
  fprintf(stderr, "ok: lo flags %#x -> %#x\n", before, after);
  return 0;
}
