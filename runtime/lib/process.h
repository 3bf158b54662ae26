/* One process, from the container's view: set up and exec'd the same way
 * for the container's init (init.c) and for `cove exec` (exec.c), and
 * waited for the same way by `run` and `exec` in the foreground. */
#pragma once
#include "cove/error.h"
#include "security.h"
#include "cove/spec.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

struct cove_proc {
  const struct cove_process *p;
  const struct cove_seccomp *seccomp; /* NULL: no filter */
  bool userns;         /* in a user namespace: setgroups may be denied */
  bool create_cwd;     /* a missing cwd is created (the init, as runc does) */
  bool pdeathsig;      /* SIGKILL with the caller: re-armed after the uid change */
  int preserve_fds;    /* fds 3..3+n-1 survive execve */
  /* Loads the prepared filter: the caller knows the listener and the state
   * the seccomp agent gets. */
  int (*load_filter)(void *data, cove_seccomp_filter f, cove_err *err);
  void *data;
  /* filled by cove_proc_prepare() */
  char exe[4096];
  cove_seccomp_filter filter;
};

/* In a freshly spawned child: the caller's signal mask back, every
 * disposition the runtime set reset, so nothing leaks into the container. */
void cove_proc_reset_signals(const sigset_t *mask);
/* rlimits, the cwd resolved inside the root without magic links, the
 * executable found with the process's own PATH, the seccomp filter built,
 * every fd past the preserved ones close-on-exec. */
int cove_proc_prepare(struct cove_proc *pr, cove_err *err);
/* The final sequence: umask, seccomp (early without no_new_privs), the
 * bounding set, the user, the capabilities, LSM label and no_new_privs,
 * seccomp (late), execve. Returns only on failure, with err filled. */
int cove_proc_exec(struct cove_proc *pr, cove_err *err);

/* The caller's side: 128+N for a process killed by signal N. */
int cove_exit_status(int wstatus);
/* Until the process exits: proxy its terminal (console: our end of the
 * pair its pty master comes over, -1 if none; the caller's mask `old` is
 * restored for the proxy) or forward every signal the caller gets to it.
 * Then reap it into *status (cove_exit_status). */
int cove_proc_wait(pid_t pid, int pidfd, int console, const sigset_t *old, int *status, cove_err *err);
