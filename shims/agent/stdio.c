/* The sandbox's stdio: three pipes relayed by the orchestrator.
 *
 * The agent never gets the caller's own file descriptions: with
 * `cove agent run ... >> agents.log` a shared fd 1 would let it reopen
 * /proc/self/fd/1 read-write and read or rewrite the whole log (and a
 * shared terminal would give it the caller's tty). Each of its fds 0/1/2
 * is a pipe; we copy stdin in and stdout/stderr out, so all it can reach
 * is its own pipe. stdin is relayed whatever it is (file, pipe, terminal):
 * piping a prompt into an agent is ordinary use. Knowing every byte that
 * went to stdout also lets the result record start on a fresh line. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

void agent_stdio_init(struct agent_stdio *s)
{
  memset(s, 0, sizeof *s);
  s->in_src = s->in_w = s->out_r = s->err_r = s->out_dst = s->err_dst = -1;
  for (int i = 0; i < 3; i++)
    s->child[i] = -1;
  s->out_at_line_start = true;
}

int agent_stdio_open(struct agent_stdio *s, int out_dst, int err_dst, cove_err *err)
{
  int p[3][2];
  for (int i = 0; i < 3; i++)
    if (pipe2(p[i], O_CLOEXEC) < 0) {
      for (int k = 0; k < i; k++)
        close(p[k][0]), close(p[k][1]);
      return cove_error(err, errno, "stdio pipes");
    }
  s->child[0] = p[0][0];
  s->in_w = p[0][1];
  s->out_r = p[1][0];
  s->child[1] = p[1][1];
  s->err_r = p[2][0];
  s->child[2] = p[2][1];
  fcntl(s->in_w, F_SETFL, O_NONBLOCK);
  fcntl(s->out_r, F_SETFL, O_NONBLOCK);
  fcntl(s->err_r, F_SETFL, O_NONBLOCK);
  s->in_src = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  if (s->in_src < 0) /* no stdin at all: the agent reads EOF */
    s->in_eof = true;
  s->out_dst = out_dst;
  s->err_dst = err_dst;
  return 0;
}

/* The sandbox's ends become our 0/1/2 just while the runtime clones the
 * init (it inherits them); our own are kept in saved[]. */
int agent_stdio_install(struct agent_stdio *s, int saved[3], cove_err *err)
{
  for (int i = 0; i < 3; i++) {
    saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
    if (dup2(s->child[i], i) < 0)
      return cove_error(err, errno, "dup2 stdio");
  }
  return 0;
}

void agent_stdio_restore(struct agent_stdio *s, int saved[3])
{
  for (int i = 0; i < 3; i++) {
    if (saved[i] >= 0) {
      dup2(saved[i], i);
      close(saved[i]);
    } else {
      close(i);
    }
    saved[i] = -1;
    /* only the sandbox may hold the write ends, so EOF means it is gone */
    if (s->child[i] >= 0)
      close(s->child[i]);
    s->child[i] = -1;
  }
}

/* Blocking copy to the caller's fd, which may be non-blocking. */
static void write_all(int fd, const char *b, size_t n)
{
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      poll(&p, 1, 1000);
      continue;
    }
    if (w <= 0)
      return; /* the caller closed it: drop the rest (SIGPIPE is ignored) */
    b += w;
    n -= (size_t)w;
  }
}

/* Returns false at EOF. */
static bool pump(struct agent_stdio *s, int *src, int dst, bool is_stdout)
{
  char buf[16384];
  ssize_t n = read(*src, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0) {
    close(*src);
    *src = -1;
    return false;
  }
  if (dst >= 0)
    write_all(dst, buf, (size_t)n);
  if (is_stdout)
    s->out_at_line_start = buf[n - 1] == '\n';
  return true;
}

static void close_in(struct agent_stdio *s)
{
  if (s->in_w >= 0)
    close(s->in_w);
  s->in_w = -1;
}

size_t agent_stdio_pollfds(struct agent_stdio *s, struct pollfd *pfd)
{
  size_t n = 0;
  s->idx_in_src = s->idx_in_w = s->idx_out = s->idx_err = -1;
  if (s->in_w >= 0 && s->in_len == 0 && s->in_eof)
    close_in(s);
  if (s->in_w >= 0 && s->in_len == 0 && !s->in_eof && s->in_src >= 0) {
    s->idx_in_src = (int)n;
    pfd[n++] = (struct pollfd){.fd = s->in_src, .events = POLLIN};
  }
  if (s->in_w >= 0 && s->in_len > 0) {
    s->idx_in_w = (int)n;
    pfd[n++] = (struct pollfd){.fd = s->in_w, .events = POLLOUT};
  }
  if (s->out_r >= 0) {
    s->idx_out = (int)n;
    pfd[n++] = (struct pollfd){.fd = s->out_r, .events = POLLIN};
  }
  if (s->err_r >= 0) {
    s->idx_err = (int)n;
    pfd[n++] = (struct pollfd){.fd = s->err_r, .events = POLLIN};
  }
  return n;
}

void agent_stdio_dispatch(struct agent_stdio *s, const struct pollfd *pfd)
{
  if (s->idx_in_src >= 0 && pfd[s->idx_in_src].revents) {
    ssize_t n = read(s->in_src, s->in_buf, sizeof s->in_buf);
    if (n > 0) {
      s->in_len = (size_t)n;
      s->in_off = 0;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      s->in_eof = true;
    }
  }
  if (s->idx_in_w >= 0 && pfd[s->idx_in_w].revents) {
    ssize_t w = write(s->in_w, s->in_buf + s->in_off, s->in_len);
    if (w > 0) {
      s->in_off += (size_t)w;
      s->in_len -= (size_t)w;
    } else if (w < 0 && errno != EINTR && errno != EAGAIN) {
      /* the agent closed its stdin: stop reading ours */
      s->in_len = 0;
      s->in_eof = true;
      close_in(s);
    }
  }
  if (s->idx_out >= 0 && pfd[s->idx_out].revents)
    pump(s, &s->out_r, s->out_dst, true);
  if (s->idx_err >= 0 && pfd[s->idx_err].revents)
    pump(s, &s->err_r, s->err_dst, false);
}

/* After the sandbox's PID 1 is gone the kernel kills the rest of it; the
 * pipes reach EOF when the last of those processes has exited. */
void agent_stdio_drain(struct agent_stdio *s)
{
  close_in(s);
  while (s->out_r >= 0 || s->err_r >= 0) {
    struct pollfd p[2];
    size_t n = 0;
    int io = -1, ie = -1;
    if (s->out_r >= 0)
      io = (int)n, p[n++] = (struct pollfd){.fd = s->out_r, .events = POLLIN};
    if (s->err_r >= 0)
      ie = (int)n, p[n++] = (struct pollfd){.fd = s->err_r, .events = POLLIN};
    int r = poll(p, n, 5000);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break; /* a writer that never exits cannot hold us forever */
    if (io >= 0 && p[io].revents)
      pump(s, &s->out_r, s->out_dst, true);
    if (ie >= 0 && p[ie].revents)
      pump(s, &s->err_r, s->err_dst, false);
  }
}

void agent_stdio_close(struct agent_stdio *s)
{
  int *fds[] = {&s->in_src, &s->in_w, &s->out_r, &s->err_r, &s->child[0], &s->child[1], &s->child[2]};
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    if (*fds[i] >= 0) {
      close(*fds[i]);
      *fds[i] = -1;
    }
}
