#include "spawn.h"

#include "cove/cleanup.h"
#include "cove/fsutil.h"
#include "cove/log.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

int cove_pidfd_open(pid_t pid)
{
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

int cove_pidfd_kill(int pidfd, int sig)
{
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* pid is our own unreaped child, so even without a pidfd its number cannot
 * have been reused */
void cove_kill_and_reap(pid_t pid, int pidfd)
{
  if (pidfd >= 0)
    cove_pidfd_kill(pidfd, SIGKILL);
  else if (pid > 0)
    kill(pid, SIGKILL);
  if (pid > 0)
    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
      ;
}

void cove_spawn_init(struct cove_spawn *sp)
{
  *sp = (struct cove_spawn){.join_pidfd = -1, .cgroup_fd = -1, .sync_fd = -1, .parent_fd = -1};
  for (int k = 0; k < COVE_NS_COUNT; k++)
    sp->ns_fds[k] = -1;
}

void cove_spawn_close_ns(struct cove_spawn *sp)
{
  for (int k = 0; k < COVE_NS_COUNT; k++)
    cove_closep(&sp->ns_fds[k]);
}

static pid_t clone3_(uint64_t flags, int cgroup_fd)
{
  /* The kernel refuses an exit signal with CLONE_PARENT: the real parent
   * (our caller) reaps the sibling with __WALL. */
  struct clone_args a = {.flags = flags, .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD};
  if (cgroup_fd >= 0) {
    a.flags |= CLONE_INTO_CGROUP;
    a.cgroup = (uint64_t)cgroup_fd;
  }
  return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

/* Born in its v2 cgroup: never runs a cycle outside its limits. Falls back
 * to a plain clone3 (the caller then writes cgroup.procs) when the kernel
 * or the cgroup refuses. */
static pid_t clone_direct(struct cove_spawn *sp)
{
  if (sp->cgroup_fd >= 0) {
    pid_t pid = clone3_(sp->new_ns, sp->cgroup_fd);
    if (pid >= 0) {
      sp->in_cgroup = pid > 0;
      return pid;
    }
    cove_debug("clone3(CLONE_INTO_CGROUP): %s; placing through cgroup.procs", strerror(errno));
  }
  return clone3_(sp->new_ns, -1);
}

/* User first (it grants the rights for the rest), mount last. */
static const int join_order[] = {COVE_NS_USER, COVE_NS_IPC,    COVE_NS_UTS,  COVE_NS_NET,
                                 COVE_NS_PID,  COVE_NS_CGROUP, COVE_NS_TIME, COVE_NS_MOUNT};

static int join_ns(const struct cove_spawn *sp, cove_err *err)
{
  int flags = 0;
  for (int k = 0; k < COVE_NS_COUNT; k++)
    if (sp->ns_fds[k] >= 0)
      flags |= cove_ns_clone_flag(k);
  if (!flags)
    return 0;
  /* One call joins them all, user namespace first, atomically (>= 5.8). */
  if (sp->join_pidfd >= 0) {
    if (setns(sp->join_pidfd, flags) == 0)
      return 0;
    if (errno != EINVAL)
      return cove_error(err, errno, "join the container's namespaces");
  }
  for (size_t i = 0; i < sizeof join_order / sizeof *join_order; i++) {
    int k = join_order[i];
    if (sp->ns_fds[k] < 0 || setns(sp->ns_fds[k], cove_ns_clone_flag(k)) == 0)
      continue;
    if (sp->ns_paths[k])
      return cove_error(err, errno, "join %s namespace %s", cove_ns_name(k), sp->ns_paths[k]);
    return cove_error(err, errno, "join the container's %s namespace", cove_ns_proc_name(k));
  }
  return 0;
}

__attribute__((noreturn)) static void joiner(struct cove_spawn *sp)
{
  cove_err e = {0};
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if ((sp->before_join && sp->before_join(sp->data, &e) < 0) || join_ns(sp, &e) < 0 ||
      (sp->after_join && sp->after_join(sp->data, &e) < 0))
    goto fail;
  /* closed without clearing sp->ns_fds: a vfork()ed joiner shares the
   * parent's memory, and the parent closes its own copies */
  for (int k = 0; k < COVE_NS_COUNT; k++)
    if (sp->ns_fds[k] >= 0)
      close(sp->ns_fds[k]);
  /* Born in its v2 cgroup, as in clone_direct: no migration afterwards
   * (on a hybrid host the v1 hierarchies are still written by the
   * caller). Our credentials are still the caller's kuid, so the
   * permission check is the one the caller's own write would pass. */
  pid_t pid = sp->cgroup_fd >= 0 ? clone3_(sp->new_ns | CLONE_PARENT, sp->cgroup_fd) : -1;
  int placed = pid >= 0 ? SYNC_CHILD_PID_PLACED : SYNC_CHILD_PID;
  if (pid < 0)
    pid = clone3_(sp->new_ns | CLONE_PARENT, -1);
  if (pid < 0) {
    cove_error(&e, errno, "clone into the container");
    goto fail;
  }
  if (pid == 0)
    sp->child(sp->data); /* its parent-death signal is the child's own business */
  cove_sync_send(sp->sync_fd, placed, pid, NULL);
  _exit(0);
fail:
  cove_sync_send(sp->sync_fd, SYNC_ERROR, 0, &e);
  _exit(1);
}

pid_t cove_spawn(struct cove_spawn *sp, cove_err *err)
{
  bool join = sp->before_join || sp->join_pidfd >= 0;
  for (int k = 0; k < COVE_NS_COUNT; k++)
    join |= sp->ns_fds[k] >= 0;
  if (!join) {
    pid_t pid = clone_direct(sp);
    if (pid < 0)
      return cove_error(err, errno, "clone3 into new namespaces");
    if (pid == 0) {
      close(sp->parent_fd);
      if (sp->pdeathsig)
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      sp->child(sp->data);
    }
    return pid;
  }
  /* The joiner only joins, clones the init and exits: without callbacks
   * (cove create; exec's run in the joiner and may write its memory) it
   * borrows our memory and stack (vfork: we are suspended until it exits)
   * instead of a copy of them — no page-table copy, copy-on-write faults
   * and address-space teardown for a process that lives microseconds.
   * It writes nothing of ours but its own stack below this frame; the
   * init it clones gets a copy as before. */
  bool borrow = !sp->before_join && !sp->after_join;
  pid_t j = borrow ? vfork() : fork();
  if (j < 0)
    return cove_error(err, errno, "fork");
  if (j == 0) {
    close(sp->parent_fd);
    joiner(sp);
  }
  while (waitpid(j, NULL, 0) < 0 && errno == EINTR)
    ;
  struct cove_sync_msg m;
  if (cove_sync_recv(sp->parent_fd, &m, err) < 0)
    return -1;
  if (m.type == SYNC_ERROR) {
    *err = m.err;
    return -1;
  }
  if (m.type != SYNC_CHILD_PID && m.type != SYNC_CHILD_PID_PLACED)
    return cove_error(err, EPROTO, "unexpected message from the namespace joiner");
  sp->in_cgroup = m.type == SYNC_CHILD_PID_PLACED;
  if (sp->in_cgroup)
    cove_debug("namespace joiner: init cloned into its cgroup (CLONE_INTO_CGROUP)");
  else if (sp->cgroup_fd >= 0)
    cove_debug("clone3(CLONE_INTO_CGROUP) in the joiner refused; placing through cgroup.procs");
  return m.pid;
}

/* ---- id maps of a new user namespace -------------------------------- */

static int run_helper(char *const argv[], cove_err *err)
{
  pid_t p = fork();
  if (p < 0)
    return cove_error(err, errno, "fork %s", argv[0]);
  if (p == 0) {
    execvp(argv[0], argv);
    _exit(127);
  }
  int st;
  while (waitpid(p, &st, 0) < 0)
    if (errno != EINTR)
      return cove_error(err, errno, "wait %s", argv[0]);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return cove_error(err, 0, "%s failed (exit %d)%s", argv[0], WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                      WIFEXITED(st) && WEXITSTATUS(st) == 127 ? ": not installed (package uidmap)" : "");
  return 0;
}

static int newidmap(const char *tool, pid_t pid, const struct cove_idmap *m, size_t n, cove_err *err)
{
  char *argv[3 + 3 * 340 + 1];
  char buf[3 * 340][12];
  char pidbuf[16];
  if (n > 340)
    return cove_error(err, E2BIG, "too many id mappings");
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
  size_t a = 0;
  argv[a++] = (char *)tool;
  argv[a++] = pidbuf;
  for (size_t i = 0; i < n; i++) {
    snprintf(buf[3 * i], 12, "%u", m[i].container_id);
    snprintf(buf[3 * i + 1], 12, "%u", m[i].host_id);
    snprintf(buf[3 * i + 2], 12, "%u", m[i].size);
    argv[a++] = buf[3 * i];
    argv[a++] = buf[3 * i + 1];
    argv[a++] = buf[3 * i + 2];
  }
  argv[a] = NULL;
  return run_helper(argv, err);
}

static int format_map(const struct cove_idmap *m, size_t n, char *out, size_t cap)
{
  size_t o = 0;
  for (size_t i = 0; i < n && o < cap; i++)
    o += (size_t)snprintf(out + o, cap - o, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
  return o < cap ? (int)o : -1;
}

int cove_spawn_write_id_maps(pid_t pid, const struct cove_spec *s, cove_err *err)
{
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%d", (int)pid);
  _cleanup_close_ int pfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0)
    return cove_error(err, errno, "open %s", dir);
  bool rootless = geteuid() != 0;
  /* An unprivileged user may map exactly itself, directly, after denying
   * setgroups; anything wider needs the setuid helpers and /etc/subuid. */
  bool self_uid = s->n_uid_mappings == 1 && s->uid_mappings[0].size == 1 && s->uid_mappings[0].host_id == geteuid();
  bool self_gid = s->n_gid_mappings == 1 && s->gid_mappings[0].size == 1 && s->gid_mappings[0].host_id == getegid();
  char buf[8192];
  if (!rootless || self_gid) {
    if (rootless && cove_write_file_at(pfd, "setgroups", "deny", 4, err) < 0)
      return cove_error_prefix(err, "user namespace");
    int n = format_map(s->gid_mappings, s->n_gid_mappings, buf, sizeof buf);
    if (n < 0 || cove_write_file_at(pfd, "gid_map", buf, (size_t)n, err) < 0)
      return cove_error_prefix(err, "config.json: linux.gidMappings");
  } else if (newidmap("newgidmap", pid, s->gid_mappings, s->n_gid_mappings, err) < 0) {
    return cove_error_prefix(err, "config.json: linux.gidMappings (mapping ids other than your own needs /etc/subgid)");
  }
  if (!rootless || self_uid) {
    int n = format_map(s->uid_mappings, s->n_uid_mappings, buf, sizeof buf);
    if (n < 0 || cove_write_file_at(pfd, "uid_map", buf, (size_t)n, err) < 0)
      return cove_error_prefix(err, "config.json: linux.uidMappings");
  } else if (newidmap("newuidmap", pid, s->uid_mappings, s->n_uid_mappings, err) < 0) {
    return cove_error_prefix(err, "config.json: linux.uidMappings (mapping ids other than your own needs /etc/subuid)");
  }
  return 0;
}
