/* Seccomp denials, observed without host root: the explicit EPERM rules
 * of the agent profile become SCMP_ACT_NOTIFY (bundle.c), the runtime
 * hands us the notify fd over linux.seccomp.listenerPath, and we answer
 * every notification with EPERM — the agent sees exactly what ERRNO mode
 * gives — after writing an audit line (syscall name, pid). */
#include "agent.h"

#include "cove/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int agent_notify_listen(struct agent_notify *n, const char *sock_path, cove_err *err)
{
  n->conn_fd = n->notify_fd = -1;
  n->denials = 0;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(sock_path) >= sizeof sa.sun_path)
    return cove_error(err, ENAMETOOLONG, "seccomp listener socket %s", sock_path);
  strcpy(sa.sun_path, sock_path);
  n->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (n->listen_fd < 0)
    return cove_error(err, errno, "seccomp listener socket");
  if (bind(n->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(n->listen_fd, 1) < 0)
    return cove_error(err, errno, "seccomp listener socket %s", sock_path);
  /* The sandbox's init connects through an fd of the socket file (as root
   * its id cannot traverse the run directory), as an id that does not own
   * it: connect needs write permission. Only fd holders reach it. */
  n->sock_path_fd = open(sock_path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (n->sock_path_fd < 0 || chmod(sock_path, 0666) < 0)
    return cove_error(err, errno, "seccomp listener socket %s", sock_path);
  return 0;
}

size_t agent_notify_pollfds(struct agent_notify *n, struct pollfd *pfd)
{
  pfd[0] = (struct pollfd){.fd = n->listen_fd, .events = POLLIN};
  pfd[1] = (struct pollfd){.fd = n->conn_fd, .events = POLLIN};
  pfd[2] = (struct pollfd){.fd = n->notify_fd, .events = POLLIN};
  return 3;
}

static void recv_notify_fd(struct agent_notify *n)
{
  char buf[8192];
  union {
    char b[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
  ssize_t r = recvmsg(n->conn_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  for (struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && n->notify_fd < 0)
      memcpy(&n->notify_fd, CMSG_DATA(c), sizeof(int));
  if (r <= 0 || n->notify_fd >= 0) {
    /* the state message is informational; the fd is what we wanted */
    close(n->conn_fd);
    n->conn_fd = -1;
  }
}

static void handle_one(struct agent_notify *n)
{
  struct seccomp_notif req;
  memset(&req, 0, sizeof req);
  if (ioctl(n->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
    if (errno != EINTR && errno != ENOENT) {
      close(n->notify_fd);
      n->notify_fd = -1;
    }
    return;
  }
  struct seccomp_notif_resp resp = {.id = req.id, .error = -EPERM, .val = 0, .flags = 0};
  ioctl(n->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  n->denials++;
  struct agent_denial_count *k = NULL;
  for (size_t i = 0; i < n->nkinds && !k; i++)
    if (n->kinds[i].arch == req.data.arch && n->kinds[i].nr == req.data.nr)
      k = &n->kinds[i];
  if (!k && n->nkinds < AGENT_DENIAL_KINDS) {
    k = &n->kinds[n->nkinds++];
    *k = (struct agent_denial_count){.arch = req.data.arch, .nr = req.data.nr};
  }
  /* the explicit denials are a few dozen syscalls, so the table does not
   * fill; if it did, the rest would still be counted in `denials` */
  if (k && ++k->count <= AGENT_DENIAL_LOG_FIRST) {
    k->reported = k->count;
    char *name = seccomp_syscall_resolve_num_arch(req.data.arch, req.data.nr);
    char a0[32];
    snprintf(a0, sizeof a0, "0x%llx", (unsigned long long)req.data.args[0]);
    agent_audit(n->audit, "seccomp", "decision", "deny", "syscall", name ? name : "?", AUDIT_INT("nr", req.data.nr),
                "arg0", a0, AUDIT_INT("pid", req.pid), "errno", "EPERM", NULL);
    free(name);
  }
  int64_t now = agent_now_ns();
  if (!n->last_summary_ns)
    n->last_summary_ns = now;
  if (now - n->last_summary_ns >= (int64_t)AGENT_DENIAL_SUMMARY_S * 1000000000)
    agent_notify_summary(n, false);
}

void agent_notify_summary(struct agent_notify *n, bool final)
{
  n->last_summary_ns = agent_now_ns();
  for (size_t i = 0; i < n->nkinds; i++) {
    struct agent_denial_count *k = &n->kinds[i];
    if (k->count == k->reported)
      continue;
    char *name = seccomp_syscall_resolve_num_arch(k->arch, k->nr);
    agent_audit(n->audit, "seccomp_summary", "decision", "deny", "syscall", name ? name : "?", AUDIT_INT("nr", k->nr),
                AUDIT_INT("count", k->count),
                AUDIT_INT("logged", k->count < AGENT_DENIAL_LOG_FIRST ? k->count : AGENT_DENIAL_LOG_FIRST),
                AUDIT_BOOL("final", final), NULL);
    free(name);
    k->reported = k->count;
  }
}

void agent_notify_dispatch(struct agent_notify *n, const struct pollfd *pfd, size_t cnt)
{
  if (cnt < 3)
    return;
  if (pfd[0].revents & POLLIN) {
    int fd = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      if (n->conn_fd >= 0 || n->notify_fd >= 0)
        close(fd); /* one sandbox, one filter */
      else
        n->conn_fd = fd;
    }
  }
  if (pfd[1].fd >= 0 && pfd[1].revents)
    recv_notify_fd(n);
  if (pfd[2].fd >= 0 && pfd[2].revents) {
    if (pfd[2].revents & POLLIN)
      handle_one(n);
    else if (pfd[2].revents & (POLLHUP | POLLERR | POLLNVAL)) {
      close(n->notify_fd);
      n->notify_fd = -1;
    }
  }
}

void agent_notify_close(struct agent_notify *n)
{
  if (n->listen_fd >= 0)
    close(n->listen_fd);
  if (n->conn_fd >= 0)
    close(n->conn_fd);
  if (n->notify_fd >= 0)
    close(n->notify_fd);
  if (n->sock_path_fd >= 0)
    close(n->sock_path_fd);
  n->listen_fd = n->conn_fd = n->notify_fd = n->sock_path_fd = -1;
}
