#include "cove/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void mnl_closep(struct mnl_socket **nl)
{
  if (*nl) {
    int saved = errno;
    mnl_socket_close(*nl);
    errno = saved;
  }
}
#define _cleanup_mnl_ __attribute__((cleanup(mnl_closep)))

int cove_net_loopback_up(cove_err *err)
{
  /* Fixed-size: the request and the kernel's ack (an nlmsgerr that echoes
   * our request header, plus at most an extended-ack string) are both far
   * below this, and a stack buffer keeps the start path allocation-free. */
  char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));

  _cleanup_mnl_ struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!nl)
    return cove_error(err, errno, "netlink: open NETLINK_ROUTE socket");

  /* Not bound: the kernel autobinds on the first send and addresses its
   * reply to us, which saves the bind+getsockname round of mnl_socket_bind.
   * The sequence number still ties the ack to this request. */
  unsigned seq = (unsigned)time(NULL);

  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  /* Index 0 plus IFLA_IFNAME lets the kernel resolve "lo" itself in the
   * target namespace: no if_nametoindex() (which costs a second socket and
   * an ioctl) and no assumption that lo is ifindex 1 in a joined netns. */
  ifi->ifi_index = 0;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "lo");

  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
    return cove_error(err, errno, "netlink: send RTM_NEWLINK for lo");

  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return cove_error(err, errno, "netlink: receive ack for lo");
    }
    if (n == 0)
      return cove_error(err, 0, "netlink: kernel closed the socket without acking lo up");
    /* portid 0: accept the kernel's reply without comparing port ids (we
     * never learned ours); NLMSG_ERROR with error==0 is the ack -> STOP. */
    int r = mnl_cb_run(buf, (size_t)n, seq, 0, NULL, NULL);
    if (r < 0)
      return cove_error(err, errno, "netlink: set lo up");
    if (r == MNL_CB_STOP)
      return 0;
    /* MNL_CB_OK: a message that is not our ack (cannot normally happen for
     * a plain request); keep reading. */
  }
}
