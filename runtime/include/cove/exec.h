/* `cove exec`: run a new process inside a running container.
 *
 * The new process joins every namespace of the container's init (one
 * setns() on the init's pidfd), its cgroups, and gets the security of the
 * process JSON (`--process FILE`, or the container's own process with the
 * command-line overrides) plus the container's seccomp filter. It never
 * runs cove's binary inside the container: a short-lived helper joins the
 * namespaces and clones the process as our child; both stay non-dumpable
 * until execve (CVE-2019-5736). */
#pragma once
#include "cove/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cove_exec_opts {
  const char *root, *id;
  const char *process_file;       /* --process FILE (JSON process object) */
  char *const *args;              /* inline command when no process file */
  size_t n_args;
  bool tty, detach, no_new_privs;
  const char *console_socket, *pid_file, *cwd;
  char *const *env; /* KEY=VALUE, override the process env by key */
  size_t n_env;
  bool has_user, has_gid;
  uid_t uid;
  gid_t gid;
  const gid_t *additional_gids;
  size_t n_additional_gids;
  char *const *caps; /* CAP_* added to bounding, effective and permitted */
  size_t n_caps;
  int preserve_fds;
  const char *process_label, *apparmor;
};

/* Foreground: *status gets the exit status (128+signal when killed); our
 * signals are forwarded, a terminal is proxied. Detached: returns once the
 * process runs (pid file written). */
int cove_container_exec(const struct cove_exec_opts *o, int *status, cove_err *err);

/* exec_cgroup.c — kept apart so the cgroup layer can replace it:
 * 1 when the process's cgroup is frozen (v2 cgroup.freeze, v1 freezer),
 * 0 when not or when that cannot be told. */
int cove_container_is_paused(pid_t pid);
/* Move the calling process into every cgroup of `pid` (each hierarchy
 * listed in /proc/PID/cgroup). Best effort: a hierarchy we may not write
 * is skipped with a debug log. */
void cove_cgroup_join_of(pid_t pid);
