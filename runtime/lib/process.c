/* The process's last steps before execve, and the caller's wait for it.
 * The order of cove_proc_exec() is the security argument: see
 * cove/security.h and docs/security.md. */
#include "process.h"

#include "cove/cleanup.h"
#include "cove/fsutil.h"
#include "terminal.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void cove_proc_reset_signals(const sigset_t *mask)
{
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, mask, NULL);
}

/* Inside the root, no magic links: a planted /proc/self/fd/N cwd must not
 * lead to a host directory whose fd leaked to us (CVE-2024-21626). */
static int enter_cwd(const struct cove_proc *pr, cove_err *err)
{
  const char *cwd = pr->p->cwd;
  _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return cove_error(err, errno, "process.cwd: open /");
  _cleanup_close_ int d = pr->create_cwd ? cove_mkpath_in_root(root, cwd, false, 0755, err)
                                         : cove_open_in_root(root, cwd, O_PATH | O_DIRECTORY, err);
  if (d < 0)
    return cove_error_prefix(err, "process.cwd");
  if (fchdir(d) < 0)
    return cove_error(err, errno, "process.cwd: %s", cwd);
  return 0;
}

int cove_proc_prepare(struct cove_proc *pr, cove_err *err)
{
  if (cove_rlimits_apply(pr->p, err) < 0 || enter_cwd(pr, err) < 0 ||
      cove_find_executable(pr->p, pr->exe, sizeof pr->exe, err) < 0)
    return -1;
  if (pr->seccomp && cove_seccomp_prepare(pr->seccomp, &pr->filter, err) < 0)
    return cove_error_prefix(err, "linux.seccomp");
  /* Everything not explicitly passed is closed at execve, including fds
   * the caller of cove leaked to us. */
  unsigned first = 3 + (unsigned)pr->preserve_fds;
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return cove_error(err, errno, "close_range");
  for (int fd = 3; fd < (int)first; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
      return cove_error(err, errno, "--preserve-fds: fd %d", fd);
  }
  return 0;
}

static int switch_user(const struct cove_proc *pr, cove_err *err)
{
  const struct cove_process *p = pr->p;
  /* Drop the runtime caller's supplementary groups; in a user namespace
   * with setgroups denied (rootless single-id map) they are already
   * invisible and the call is refused. */
  if (setgroups(p->n_additional_gids, p->additional_gids) < 0 &&
      !(errno == EPERM && pr->userns && p->n_additional_gids == 0))
    return cove_error(err, errno, "process.user.additionalGids: setgroups%s",
                      pr->userns ? " (needs a multi-id gid mapping through newgidmap)" : "");
  if (setresgid(p->gid, p->gid, p->gid) < 0)
    return cove_error(err, errno, "process.user.gid: setresgid(%u)", p->gid);
  if (setresuid(p->uid, p->uid, p->uid) < 0)
    return cove_error(err, errno, "process.user.uid: setresuid(%u)", p->uid);
  return 0;
}

int cove_proc_exec(struct cove_proc *pr, cove_err *err)
{
  const struct cove_process *p = pr->p;
  if (p->has_umask)
    umask(p->umask);
  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the
   * capability drop below may take away: load it first (as runc does), at
   * the cost of the filter also seeing our last few setup calls. */
  bool early = pr->filter && !p->no_new_privileges;
  if (early && pr->load_filter(pr->data, pr->filter, err) < 0)
    return -1;
  if (cove_caps_apply_bounding(&p->caps, err) < 0 || switch_user(pr, err) < 0 || cove_caps_apply(&p->caps, err) < 0 ||
      cove_process_apply_lsm_nnp(p, err) < 0)
    return -1;
  if (pr->pdeathsig)
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* the uid change cleared it */
  if (pr->filter && !early && pr->load_filter(pr->data, pr->filter, err) < 0)
    return -1;
  execve(pr->exe, (char *const *)p->args.v, (char *const *)p->env.v);
  return cove_error(err, errno, "exec %s", pr->exe);
}

int cove_exit_status(int wstatus)
{
  if (WIFEXITED(wstatus))
    return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus))
    return 128 + WTERMSIG(wstatus);
  return 255;
}

static void forward_signals(int pidfd)
{
  sigset_t all;
  sigfillset(&all);
  _cleanup_close_ int sfd = signalfd(-1, &all, SFD_CLOEXEC);
  struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
  for (;;) {
    int n = poll(p, sfd >= 0 ? 2 : 1, -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || (p[0].revents & (POLLIN | POLLHUP)))
      return;
    struct signalfd_siginfo si;
    if ((p[1].revents & POLLIN) && read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGCHLD &&
        si.ssi_signo != SIGWINCH && si.ssi_signo != SIGURG)
      syscall(SYS_pidfd_send_signal, pidfd, (int)si.ssi_signo, NULL, 0);
  }
}

int cove_proc_wait(pid_t pid, int pidfd, int console, const sigset_t *old, int *status, cove_err *err)
{
  if (console >= 0) {
    _cleanup_close_ int master = cove_console_recv_fd(console, err);
    if (master < 0)
      return -1;
    sigprocmask(SIG_SETMASK, old, NULL);
    if (cove_console_proxy(master, err) < 0)
      return -1;
  } else {
    forward_signals(pidfd);
  }
  int wst;
  while (waitpid(pid, &wst, __WALL) < 0)
    if (errno != EINTR)
      return cove_error(err, errno, "wait for the container process");
  *status = cove_exit_status(wst);
  return 0;
}
