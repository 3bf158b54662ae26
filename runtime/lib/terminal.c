#include "terminal.h"
#include "cove/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int cove_console_socket_connect(const char *path, cove_err *err)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof sa.sun_path)
    return cove_error(err, ENAMETOOLONG, "console socket %s", path);
  memcpy(sa.sun_path, path, len + 1);

  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cove_error(err, errno, "console socket %s: socket", path);
  int r;
  do
    r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return cove_error(err, errno, "console socket %s: connect", path);
  return steal_fd(fd);
}

static int send_fd(int sock, int fd, const char *name, cove_err *err)
{
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  /* The payload is the pty's name, as runc sends it: containerd's and
   * conmon's receivers read it (and some reject an empty message). */
  struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);

  ssize_t n;
  do
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return cove_error(err, errno, "console socket: send pty master");
  return 0;
}

int cove_console_setup(int sock, unsigned height, unsigned width, cove_err *err)
{
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return cove_error(err, errno, "open /dev/ptmx");
  return cove_console_setup_master(master, sock, height, width, err);
}

int cove_console_setup_master(int master_fd, int sock, unsigned height, unsigned width, cove_err *err)
{
  _cleanup_close_ int master = master_fd;
  if (unlockpt(master) < 0)
    return cove_error(err, errno, "unlockpt");

  unsigned ptn;
  if (ioctl(master, TIOCGPTN, &ptn) < 0)
    return cove_error(err, errno, "ioctl TIOCGPTN");
  /* Built by hand rather than with ptsname(): glibc's version stat()s the
   * path, a lookup in the container's /dev we want to avoid. */
  char name[32];
  snprintf(name, sizeof name, "/dev/pts/%u", ptn);

  /* TIOCGPTPEER opens the slave through the master's own devpts instance,
   * so a hostile rootfs cannot substitute /dev/pts/N. */
  _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return cove_error(err, errno, "ioctl TIOCGPTPEER");

  if (height && width) {
    struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
      return cove_error(err, errno, "ioctl TIOCSWINSZ");
  }

  if (send_fd(sock, master, name, err) < 0)
    return -1;
  /* Only the receiver may hold the master: were it kept here it would be
   * inherited by the container process, and the receiver would never see
   * EIO/HUP when the container exits. */
  cove_closep(&master);

  if (setsid() < 0 && errno != EPERM)
    return cove_error(err, errno, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return cove_error(err, errno, "ioctl TIOCSCTTY %s", name);

  for (int i = 0; i <= 2; i++) {
    if (slave == i) {
      /* dup2 onto itself would leave the O_CLOEXEC from TIOCGPTPEER set and
       * exec would close the container's stdio. */
      if (fcntl(i, F_SETFD, 0) < 0)
        return cove_error(err, errno, "clear FD_CLOEXEC on fd %d", i);
    } else if (dup2(slave, i) < 0) {
      return cove_error(err, errno, "dup2 %s onto fd %d", name, i);
    }
  }
  if (slave <= 2)
    slave = -1; /* now one of the stdio fds: must survive */
  return 0;
}

int cove_console_recv_fd(int sock, cove_err *err)
{
  char name[256];
  union {
    char buf[CMSG_SPACE(sizeof(int) * 4)];
    struct cmsghdr align;
  } u;
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name - 1};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};

  ssize_t n;
  do
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return cove_error(err, errno, "console socket: receive pty master");

  /* Collect every fd that arrived so none leaks, keep the first. */
  int fd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < nfds; i++) {
      int x;
      memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof x);
      if (fd < 0)
        fd = x;
      else
        close(x);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) {
    cove_closep(&fd);
    return cove_error(err, 0, "console socket: control message truncated");
  }
  if (fd < 0) {
    if (n == 0)
      return cove_error(err, 0, "console socket: peer closed without sending the pty master");
    return cove_error(err, 0, "console socket: message carried no file descriptor");
  }
  return fd;
}

/* ---- foreground proxy ---------------------------------------------------- */

struct proxy_buf {
  char data[16384];
  size_t off, len;
};

static void copy_winsize(int tty, int master)
{
  struct winsize ws;
  if (tty >= 0 && ioctl(tty, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    (void)ioctl(master, TIOCSWINSZ, &ws);
}

/* Blocking write of everything; the caller's stdout is not ours to make
 * non-blocking (the file description is shared with the user's shell). */
static int write_all(int fd, const char *p, size_t len)
{
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static int proxy_loop(int master, int sfd, int tty, cove_err *err)
{
  struct proxy_buf in = {.len = 0}; /* stdin -> master, pending */
  char out[16384];
  bool stdin_open = true, stdout_ok = true, master_writable = true;

  for (;;) {
    struct pollfd p[3] = {
        {.fd = master, .events = POLLIN},
        {.fd = (stdin_open && in.len == 0) ? STDIN_FILENO : -1, .events = POLLIN},
        {.fd = sfd, .events = POLLIN},
    };
    if (in.len && master_writable)
      p[0].events |= POLLOUT;
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      return cove_error(err, errno, "terminal proxy: poll");
    }

    if (p[2].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo == SIGWINCH)
          copy_winsize(tty, master);
    }

    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(STDIN_FILENO, in.data, sizeof in.data);
      if (r > 0) {
        in.off = 0;
        in.len = (size_t)r;
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        stdin_open = false;
      }
    }

    if (in.len && master_writable && (p[0].revents & POLLOUT || p[1].revents)) {
      ssize_t w = write(master, in.data + in.off, in.len);
      if (w > 0) {
        in.off += (size_t)w;
        in.len -= (size_t)w;
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        /* The slave side is gone; input has nowhere to go. Output may
         * still be pending, so keep draining below. */
        master_writable = false;
        in.len = 0;
      }
    }

    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      /* Drain: after the last slave close the kernel still returns any
       * buffered output before EIO, and we must not lose the container's
       * final words. */
      for (;;) {
        ssize_t r = read(master, out, sizeof out);
        if (r > 0) {
          if (stdout_ok && write_all(STDOUT_FILENO, out, (size_t)r) < 0)
            stdout_ok = false; /* keep reading so the container never blocks */
          continue;
        }
        if (r < 0 && errno == EINTR)
          continue;
        if (r < 0 && errno == EAGAIN) {
          if (p[0].revents & (POLLHUP | POLLERR))
            return 0;
          break;
        }
        return 0; /* EOF or EIO: the container closed its end */
      }
    }
  }
}

int cove_console_proxy(int master, cove_err *err)
{
  int tty = -1;
  for (int i = 0; i <= 2 && tty < 0; i++)
    if (isatty(i))
      tty = i;

  /* Our reads and writes on the master must never block: a container that
   * is not reading its input while we wait to hand it more would otherwise
   * stop us draining its output, and both sides would hang. */
  int fl = fcntl(master, F_GETFL);
  if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0)
    return cove_error(err, errno, "terminal proxy: set master non-blocking");

  /* SIGWINCH through a signalfd instead of a handler, so nothing is left
   * installed after we return. SIGPIPE is taken the same way so a closed
   * stdout turns into EPIPE instead of killing the runtime while the
   * container still runs. */
  sigset_t mask, oldmask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGWINCH);
  sigaddset(&mask, SIGPIPE);
  int e = pthread_sigmask(SIG_BLOCK, &mask, &oldmask);
  if (e != 0)
    return cove_error(err, e, "terminal proxy: block SIGWINCH");
  _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    e = errno;
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    return cove_error(err, e, "terminal proxy: signalfd");
  }

  struct termios saved;
  bool raw = false;
  if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
    struct termios t = saved;
    cfmakeraw(&t);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0) {
      e = errno;
      pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
      return cove_error(err, e, "terminal proxy: set raw mode");
    }
    raw = true;
  }

  copy_winsize(tty, master);
  int r = proxy_loop(master, sfd, tty, err);

  if (raw)
    (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  /* Consume what arrived while blocked so unblocking does not deliver a
   * stray SIGPIPE with its default (fatal) action. */
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
    ;
  pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
  return r < 0 ? -1 : 0;
}
