/* Spawning a process into a container's namespaces, the same way for the
 * container's init (create) and for `cove exec`.
 *
 * With nothing to join, one clone3() makes the new namespaces (and, given
 * a v2 cgroup fd, places the child in its cgroup before it runs a cycle).
 * Namespaces to join are joined in a short-lived "joiner" so the runtime
 * itself never changes namespace: it setns()es (user first, so the others
 * are joined with its privileges; mount last) and clones the child as our
 * sibling (CLONE_PARENT), reporting its pid over the sync socket. */
#pragma once
#include "cove/error.h"
#include "cove/spec.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cove_spawn {
  uint64_t new_ns;                    /* CLONE_NEW* flags of the namespaces to make */
  int ns_fds[COVE_NS_COUNT];          /* namespaces to join, -1 = not joined */
  const char *ns_paths[COVE_NS_COUNT]; /* for messages; NULL = "the container's" */
  int join_pidfd;  /* all of its namespaces in one setns() when it can (exec), -1 */
  int cgroup_fd;   /* v2 cgroup to clone3 into, -1 */
  int sync_fd;     /* the children's end of the sync socket */
  int parent_fd;   /* our end: closed in the children */
  bool pdeathsig;  /* a direct child dies with us */
  /* In the joiner, before it joins (exec: non-dumpable, the cgroup). */
  int (*before_join)(void *data, cove_err *err);
  /* In the joiner, after the join (exec: the shared root). */
  int (*after_join)(void *data, cove_err *err);
  __attribute__((noreturn)) void (*child)(void *data);
  void *data;
  bool in_cgroup;  /* out: clone3 placed the child in cgroup_fd */
};

/* ns_fds and paths unset, every fd -1. */
void cove_spawn_init(struct cove_spawn *sp);
/* Returns the child's pid (a sibling when a joiner was used: reap it with
 * __WALL), -1 with err filled. */
pid_t cove_spawn(struct cove_spawn *sp, cove_err *err);
/* Close the namespace fds (the caller's, after the spawn). */
void cove_spawn_close_ns(struct cove_spawn *sp);
/* Write the spec's id maps for a child in a new user namespace: directly
 * when the runtime is root or maps only itself, else through newuidmap and
 * newgidmap (/etc/subuid, /etc/subgid). */
int cove_spawn_write_id_maps(pid_t pid, const struct cove_spec *s, cove_err *err);
/* pidfd_open / pidfd_send_signal */
int cove_pidfd_open(pid_t pid);
int cove_pidfd_kill(int pidfd, int sig);
/* SIGKILL a child of ours (by pidfd when there is one) and reap it: the
 * failure paths of create (exec's release differs: its pid may be a
 * detached process that is not ours to kill) */
void cove_kill_and_reap(pid_t pid, int pidfd);
