/* recvtty: the receiving end of --console-socket, for tests (like runc's).
 *
 *   recvtty [--mode single|null] [--print-name] SOCKET_PATH
 *
 * Accepts one connection, takes the pty master sent with SCM_RIGHTS, then
 * "single" copies master->stdout and stdin->master, "null" discards the
 * output; both exit 0 when the container side hangs up. Stdout carries
 * only the container's output. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what)
{
  fprintf(stderr, "recvtty: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int recv_master(int conn, char *name, size_t namelen)
{
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = {.iov_base = name, .iov_len = namelen - 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0)
    die("recvmsg");
  name[n] = 0;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
    fprintf(stderr, "recvtty: no file descriptor received\n");
    exit(1);
  }
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static void write_all(int fd, const char *p, size_t len)
{
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return; /* reader gone: drop, keep draining the master */
    p += w;
    len -= (size_t)w;
  }
}

int main(int argc, char **argv)
{
  const char *mode = "single", *path = NULL;
  int print_name = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
      mode = argv[++i];
    else if (strncmp(argv[i], "--mode=", 7) == 0)
      mode = argv[i] + 7;
    else if (strcmp(argv[i], "--print-name") == 0)
      print_name = 1;
    else if (!path && argv[i][0] != '-')
      path = argv[i];
    else
      path = NULL, i = argc;
  }
  int null_mode = strcmp(mode, "null") == 0;
  if (!path || (!null_mode && strcmp(mode, "single") != 0)) {
    fprintf(stderr, "usage: recvtty [--mode single|null] [--print-name] SOCKET_PATH\n");
    return 2;
  }

  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    fprintf(stderr, "recvtty: socket path too long\n");
    return 2;
  }
  strcpy(sa.sun_path, path);
  int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls < 0)
    die("socket");
  unlink(path);
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0)
    die("bind");
  if (listen(ls, 1) < 0)
    die("listen");
  int conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    die("accept");
  close(ls);
  unlink(path);

  char name[256];
  int master = recv_master(conn, name, sizeof name);
  close(conn);
  if (print_name)
    fprintf(stderr, "%s\n", name);

  char buf[8192];
  int stdin_open = !null_mode;
  for (;;) {
    struct pollfd p[2] = {{.fd = master, .events = POLLIN}, {.fd = stdin_open ? 0 : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      die("poll");
    }
    if (p[1].revents) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0)
        stdin_open = 0;
      else
        write_all(master, buf, (size_t)n);
    }
    if (p[0].revents) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break; /* EIO: every slave fd is closed, the container is gone */
      if (!null_mode)
        write_all(1, buf, (size_t)n);
    }
  }
  close(master);
  return 0;
}
