#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int cove_sync_send(int fd, int type, int pid, const cove_err *e)
{
  struct cove_sync_msg m = {.type = type, .pid = pid};
  if (e)
    m.err = *e;
  ssize_t n;
  do
    n = send(fd, &m, sizeof m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof m ? 0 : -1;
}

int cove_sync_recv(int fd, struct cove_sync_msg *m, cove_err *err)
{
  ssize_t n;
  do
    n = recv(fd, m, sizeof *m, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return cove_error(err, errno, "sync with container init");
  if (n == 0)
    return cove_error(err, 0, "container init exited during setup");
  if (n != (ssize_t)sizeof *m)
    return cove_error(err, EPROTO, "sync with container init: short message");
  m->err.msg[sizeof m->err.msg - 1] = 0;
  return 0;
}

int cove_sync_recv_verdict(int fd, cove_err *err)
{
  struct cove_sync_msg m;
  ssize_t n;
  do
    n = recv(fd, &m, sizeof m, 0);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof m && m.type == SYNC_ERROR) {
    m.err.msg[sizeof m.err.msg - 1] = 0;
    *err = m.err;
    return -1;
  }
  return 0;
}
