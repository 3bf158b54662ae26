/* Running OCI hooks: fork, give the hook the state on stdin through a
 * memfd (no pipe that could block us or raise SIGPIPE), capture its output
 * for the error message, enforce the timeout on a pidfd. The hook runs in
 * its own process group so a timeout kill also takes the children a shell
 * hook left behind. */
#include "hooks.h"

#include "cove/cleanup.h"
#include "cove/json.h"
#include "cove/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noreturn)) static void hook_child(const struct cove_hook *h, int in, int out)
{
  /* The runtime blocks every signal while it holds a half-made container;
   * the hook must start with a clean slate. */
  sigset_t none;
  sigemptyset(&none);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  setpgid(0, 0);
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
    _exit(127);
  /* Nothing of the runtime's (state dir lock, sync socket, exec.fifo) may
   * reach the hook. */
  syscall(SYS_close_range, 3U, ~0U, 0U);
  static const char *const empty[] = {NULL};
  const char *argv0[] = {h->path, NULL};
  const char *const *argv = h->args.n ? h->args.v : argv0;
  execve(h->path, (char *const *)argv, (char *const *)(h->env.n ? h->env.v : empty));
  dprintf(2, "exec %s: %s", h->path, strerror(errno));
  _exit(127);
}

/* The last bytes the hook wrote, for the error message. */
static void output_tail(int fd, char *buf, size_t cap)
{
  buf[0] = 0;
  off_t end = lseek(fd, 0, SEEK_END);
  if (end <= 0)
    return;
  off_t start = end > (off_t)cap - 1 ? end - (off_t)cap + 1 : 0;
  ssize_t n = pread(fd, buf, cap - 1, start);
  if (n <= 0)
    return;
  buf[n] = 0;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    buf[--n] = 0;
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\n')
      buf[i] = ' ';
}

static int run_one(const struct cove_hook *h, const char *what, const char *state, cove_err *err)
{
  _cleanup_close_ int in = memfd_create("cove-hook-state", MFD_CLOEXEC);
  _cleanup_close_ int out = memfd_create("cove-hook-output", MFD_CLOEXEC);
  if (in < 0 || out < 0)
    return cove_error(err, errno, "%s: memfd_create", what);
  size_t len = strlen(state);
  if (write(in, state, len) != (ssize_t)len || lseek(in, 0, SEEK_SET) < 0)
    return cove_error(err, errno, "%s: write state", what);

  pid_t pid = fork();
  if (pid < 0)
    return cove_error(err, errno, "%s: fork", what);
  if (pid == 0)
    hook_child(h, in, out);
  /* Also here: the group must exist before a timeout could signal it. */
  setpgid(pid, pid);
  _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  bool timed_out = false;
  if (h->timeout > 0 && pidfd >= 0) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    do
      r = poll(&p, 1, h->timeout * 1000);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
      timed_out = true;
      kill(-pid, SIGKILL);
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    }
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return cove_error(err, errno, "%s: wait", what);
  char tail[512];
  output_tail(out, tail, sizeof tail);
  if (timed_out) {
    cove_error(err, 0, "%s (%s): killed after its timeout of %d s%s%s", what, h->path, h->timeout,
               tail[0] ? "; output: " : "", tail);
    err->code = ETIMEDOUT;
    return -1;
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    if (tail[0])
      cove_debug("%s (%s): %s", what, h->path, tail);
    return 0;
  }
  if (WIFSIGNALED(st))
    return cove_error(err, 0, "%s (%s): killed by signal %d%s%s", what, h->path, WTERMSIG(st),
                      tail[0] ? "; output: " : "", tail);
  return cove_error(err, 0, "%s (%s): exited with status %d%s%s", what, h->path, WEXITSTATUS(st),
                    tail[0] ? "; output: " : "", tail);
}

int cove_hooks_run(const struct cove_hook *hooks, size_t n, const char *kind, const char *state_json, cove_err *err)
{
  if (n && !state_json)
    return cove_error(err, ENOMEM, "hooks.%s: state", kind);
  for (size_t i = 0; i < n; i++) {
    char what[64];
    snprintf(what, sizeof what, "hooks.%s[%zu]", kind, i);
    if (run_one(&hooks[i], what, state_json, err) < 0)
      return -1;
  }
  return 0;
}

void cove_hooks_run_warn(const struct cove_hook *hooks, size_t n, const char *kind, const char *state_json)
{
  for (size_t i = 0; i < n; i++) {
    char what[64];
    snprintf(what, sizeof what, "hooks.%s[%zu]", kind, i);
    cove_err e = {0};
    if (!state_json)
      cove_warn("%s: cannot build the state for the hook", what);
    else if (run_one(&hooks[i], what, state_json, &e) < 0)
      cove_warn("%s", e.msg);
  }
}
