/* The sandbox's stdio: three pipes relayed by the orchestrator.
 *
 * The agent never gets the caller's own file descriptions: with
 * `cove agent run ... >> agents.log` a shared fd 1 would let it reopen
 * /proc/self/fd/1 read-write and read or rewrite the whole log (and a
 * shared terminal would give it the caller's tty). Each of its fds 0/1/2
 * is a pipe; we copy stdin in and stdout/stderr out, so all it can reach
 * is its own pipe. stdin is relayed whatever it is (file, pipe, terminal):
 * piping a prompt into an agent is ordinary use. Knowing every byte that
 * went to stdout also lets the result record start on a fresh line.
 *
 * Output is relayed without ever blocking the orchestrator: the caller's
 * stdout may be a pipe to a consumer that reads slowly or not at all, and
 * a blocking write there would stop the event loop, so the run's timeout,
 * the caller's signals and the proxy with it (an agent printing without
 * end would outlive its timeout). While the caller's end has not taken
 * what was read, the sandbox's pipe is not read: the agent's writes
 * block, never ours. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void agent_stdio_init(struct agent_stdio *s)
{
  memset(s, 0, sizeof *s);
  s->in_src = s->in_w = -1;
  s->out.src = s->out.dst = s->out.own = -1;
  s->err.src = s->err.dst = s->err.own = -1;
  s->out.line_start = s->err.line_start = true;
  for (int i = 0; i < 3; i++)
    s->child[i] = -1;
  s->out_at_line_start = true;
}

/* O_NONBLOCK on the caller's own description would change it for every
 * process sharing it (the caller's shell, the consumer), so a pipe, FIFO
 * or terminal gets a description of our own through /proc/self/fd; a
 * socket is sent to with MSG_DONTWAIT; a regular file does not block.
 * If the reopen fails, writes to a pipe stay within PIPE_BUF after
 * POLLOUT, which does not block either. */
static void relay_open(struct agent_relay *r, int src, int dst)
{
  struct stat st;
  r->src = src;
  r->dst = dst;
  r->own = -1;
  if (dst < 0 || fstat(dst, &st) < 0)
    return;
  if (S_ISSOCK(st.st_mode)) {
    r->sock = true;
  } else if (S_ISFIFO(st.st_mode) || isatty(dst)) {
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", dst);
    r->own = open(p, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  }
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
  s->child[1] = p[1][1];
  s->child[2] = p[2][1];
  relay_open(&s->out, p[1][0], out_dst);
  relay_open(&s->err, p[2][0], err_dst);
  fcntl(s->in_w, F_SETFL, O_NONBLOCK);
  fcntl(s->out.src, F_SETFL, O_NONBLOCK);
  fcntl(s->err.src, F_SETFL, O_NONBLOCK);
  s->in_src = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  if (s->in_src < 0) /* no stdin at all: the agent reads EOF */
    s->in_eof = true;
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

/* What was read goes out as far as the caller's end takes it now. An end
 * that fails for good (the reader went away: SIGPIPE is ignored) drops
 * this and all later output. */
static void relay_flush(struct agent_relay *r)
{
  while (r->len) {
    ssize_t w;
    if (r->sock)
      w = send(r->dst, r->buf + r->off, r->len, MSG_DONTWAIT | MSG_NOSIGNAL);
    else if (r->own >= 0)
      w = write(r->own, r->buf + r->off, r->len);
    else
      w = write(r->dst, r->buf + r->off, r->len > PIPE_BUF ? PIPE_BUF : r->len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return;
    if (w <= 0) {
      r->len = 0;
      r->dst = -1;
      return;
    }
    r->off += (size_t)w;
    r->len -= (size_t)w;
    r->line_start = r->buf[r->off - 1] == '\n';
  }
}

/* Read once from the sandbox's pipe; returns false at EOF. */
static bool relay_read(struct agent_relay *r)
{
  ssize_t n = read(r->src, r->buf, sizeof r->buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0) {
    close(r->src);
    r->src = -1;
    return false;
  }
  if (r->dst >= 0) {
    r->off = 0;
    r->len = (size_t)n;
    relay_flush(r);
  }
  return true;
}

/* Poll the sandbox's pipe for input, or, while output is pending, the
 * caller's end for room. */
static void relay_pollfd(struct agent_relay *r, struct pollfd *pfd, size_t *n)
{
  r->idx = -1;
  if (r->len) {
    r->idx = (int)*n;
    pfd[(*n)++] = (struct pollfd){.fd = r->own >= 0 ? r->own : r->dst, .events = POLLOUT};
  } else if (r->src >= 0) {
    r->idx = (int)*n;
    pfd[(*n)++] = (struct pollfd){.fd = r->src, .events = POLLIN};
  }
}

static void relay_dispatch(struct agent_stdio *s, struct agent_relay *r, const struct pollfd *pfd)
{
  if (r->idx < 0 || !pfd[r->idx].revents)
    return;
  if (r->len)
    relay_flush(r);
  else
    relay_read(r);
  s->out_at_line_start = s->out.line_start;
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
  s->idx_in_src = s->idx_in_w = -1;
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
  relay_pollfd(&s->out, pfd, &n);
  relay_pollfd(&s->err, pfd, &n);
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
  relay_dispatch(s, &s->out, pfd);
  relay_dispatch(s, &s->err, pfd);
}

/* After the sandbox's PID 1 is gone the kernel kills the rest of it; the
 * pipes reach EOF when the last of those processes has exited. Five
 * seconds without progress end the wait: a writer that never exits, or a
 * caller's end that never takes more, cannot hold us forever. */
void agent_stdio_drain(struct agent_stdio *s)
{
  close_in(s);
  for (;;) {
    struct pollfd p[2];
    size_t n = 0;
    relay_pollfd(&s->out, p, &n);
    relay_pollfd(&s->err, p, &n);
    if (!n)
      break;
    int r = poll(p, n, 5000);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    relay_dispatch(s, &s->out, p);
    relay_dispatch(s, &s->err, p);
  }
}

void agent_stdio_close(struct agent_stdio *s)
{
  int *fds[] = {&s->in_src, &s->in_w, &s->out.src, &s->err.src, &s->out.own, &s->err.own,
                &s->child[0], &s->child[1], &s->child[2]};
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    if (*fds[i] >= 0) {
      close(*fds[i]);
      *fds[i] = -1;
    }
}
