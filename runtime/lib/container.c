/* create / start / run / state / kill / delete / list.
 *
 * create: parse and check everything, take the id's state dir (exclusive
 * mkdir + flock), clone the init into its namespaces, write its id maps,
 * release it into setup, and wait for READY or an error. Any failure kills
 * the init and removes the state dir, so nothing outlives a failed create:
 * mounts live only in the init's mount namespace and die with it. */
#include "cove/container.h"

#include "cove/cgroup.h"
#include "cove/cleanup.h"
#include "cove/fsutil.h"
#include "cove/hooks.h"
#include "cove/json.h"
#include "cove/log.h"
#include "cove/spec.h"
#include "cove/terminal.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int pidfd_open_(pid_t pid)
{
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_kill(int pidfd, int sig)
{
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Open every namespace path now, in the runtime, and check its type: a
 * mistyped path is a config error, reported before anything exists. */
static int open_ns_paths(const struct cove_spec *s, int fds[COVE_NS_COUNT], cove_err *err)
{
  for (int k = 0; k < COVE_NS_COUNT; k++) {
    fds[k] = -1;
    if (!s->ns[k].path)
      continue;
    fds[k] = open(s->ns[k].path, O_RDONLY | O_CLOEXEC);
    if (fds[k] < 0)
      return cove_error(err, errno, "config.json: linux.namespaces (%s).path: %s", cove_ns_name(k), s->ns[k].path);
    int t = ioctl(fds[k], NS_GET_NSTYPE);
    if (t < 0)
      return cove_error(err, errno == ENOTTY ? 0 : errno, "config.json: linux.namespaces (%s).path: %s is not a namespace",
                        cove_ns_name(k), s->ns[k].path);
    if (t != cove_ns_clone_flag(k)) {
      const char *actual = "another";
      for (int j = 0; j < COVE_NS_COUNT; j++)
        if (cove_ns_clone_flag(j) == t)
          actual = cove_ns_name(j);
      return cove_error(err, 0, "config.json: linux.namespaces (%s).path: %s is a %s namespace, not %s", cove_ns_name(k),
                        s->ns[k].path, actual, cove_ns_name(k));
    }
    /* checked on the fd setns will use: the path cannot change after */
    if (cove_spec_check_sysctl_ns(s, k, fds[k], err) < 0)
      return -1;
  }
  return 0;
}

static void close_ns_fds(int fds[COVE_NS_COUNT])
{
  for (int k = 0; k < COVE_NS_COUNT; k++)
    if (fds[k] >= 0) {
      close(fds[k]);
      fds[k] = -1;
    }
}

static int new_ns_flags(const struct cove_spec *s)
{
  int flags = 0;
  for (int k = 0; k < COVE_NS_COUNT; k++)
    if (s->ns[k].wanted && !s->ns[k].path && k != COVE_NS_TIME) /* time: unshared by the init */
      flags |= cove_ns_clone_flag(k);
  return flags;
}

__attribute__((noreturn)) static void child_enter(struct cove_init_ctx *ctx)
{
  /* The state dir fd carries the id's flock: holding it would block every
   * later `cove state/start/kill` on this container. */
  if (ctx->state_fd >= 0) {
    close(ctx->state_fd);
    ctx->state_fd = -1;
  }
  if (ctx->cgroup_fd >= 0) {
    close(ctx->cgroup_fd);
    ctx->cgroup_fd = -1;
  }
  /* Signals the runtime blocks or ignores must not leak into the
   * container: reset dispositions, restore the caller's mask. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, &ctx->sigmask, NULL);
  cove_init_main(ctx);
}

static pid_t clone3_(uint64_t flags)
{
  /* The kernel refuses an exit signal with CLONE_PARENT: the real parent
   * (our caller) reaps the sibling with __WALL. */
  struct clone_args a = {.flags = flags, .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD};
  return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* Born in its v2 cgroup: never runs a cycle outside its limits. Falls back
 * to a plain clone3 (cgroup.procs is written before SYNC_GO) when the kernel
 * or the cgroup refuses. */
static pid_t clone3_into_cgroup(struct cove_init_ctx *ctx, uint64_t flags)
{
  if (ctx->cgroup_fd >= 0) {
    struct clone_args a = {.flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)ctx->cgroup_fd};
    pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof a);
    if (pid >= 0) {
      if (pid > 0)
        ctx->in_cgroup = true;
      return pid;
    }
    cove_debug("clone3(CLONE_INTO_CGROUP): %s; placing through cgroup.procs", strerror(errno));
  }
  return clone3_(flags);
}

/* Namespaces given by path are joined in a short-lived helper so the
 * runtime itself never changes namespace; it setns()es (user first, so
 * the others are joined with its privileges) and clones the init as our
 * sibling (CLONE_PARENT), reporting the pid. */
static pid_t spawn(struct cove_init_ctx *ctx, int parent_sync, cove_err *err)
{
  const struct cove_spec *s = ctx->spec;
  bool join = false;
  for (int k = 0; k < COVE_NS_COUNT; k++)
    join |= ctx->ns_fds[k] >= 0;
  uint64_t flags = (uint64_t)new_ns_flags(s);
  if (ctx->defer_cgroupns)
    flags &= ~(uint64_t)CLONE_NEWCGROUP;

  if (!join) {
    pid_t pid = clone3_into_cgroup(ctx, flags);
    if (pid < 0)
      return cove_error(err, errno, "clone3 into new namespaces");
    if (pid == 0) {
      close(parent_sync);
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      child_enter(ctx);
    }
    return pid;
  }

  pid_t joiner = fork();
  if (joiner < 0)
    return cove_error(err, errno, "fork");
  if (joiner == 0) {
    close(parent_sync);
    cove_err e = {0};
    static const int order[] = {COVE_NS_USER, COVE_NS_MOUNT, COVE_NS_PID, COVE_NS_NET,
                                COVE_NS_UTS,  COVE_NS_IPC,   COVE_NS_CGROUP, COVE_NS_TIME};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
      int k = order[i];
      if (ctx->ns_fds[k] >= 0 && setns(ctx->ns_fds[k], cove_ns_clone_flag(k)) < 0) {
        cove_error(&e, errno, "join %s namespace %s", cove_ns_name(k), s->ns[k].path);
        cove_sync_send(ctx->sync_fd, SYNC_ERROR, 0, &e);
        _exit(1);
      }
    }
    close_ns_fds(ctx->ns_fds);
    pid_t pid = clone3_(flags | CLONE_PARENT);
    if (pid < 0) {
      cove_error(&e, errno, "clone3 into new namespaces");
      cove_sync_send(ctx->sync_fd, SYNC_ERROR, 0, &e);
      _exit(1);
    }
    if (pid == 0)
      child_enter(ctx); /* parent-death signal is set against the joiner: see below */
    cove_sync_send(ctx->sync_fd, SYNC_CHILD_PID, pid, NULL);
    _exit(0);
  }
  int st;
  while (waitpid(joiner, &st, 0) < 0 && errno == EINTR)
    ;
  struct cove_sync_msg m;
  if (cove_sync_recv(parent_sync, &m, err) < 0)
    return -1;
  if (m.type == SYNC_ERROR) {
    *err = m.err;
    return -1;
  }
  if (m.type != SYNC_CHILD_PID)
    return cove_error(err, EPROTO, "unexpected message from namespace joiner");
  return m.pid;
}

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

static int write_id_maps(pid_t pid, const struct cove_spec *s, cove_err *err)
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

static void now_rfc3339(char *out, size_t cap)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char b[32];
  strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, cap, "%s.%09ldZ", b, ts.tv_nsec);
}

/* Everything create and run share. On success *pid_out is the init, held
 * before exec; dirfd stays locked. */
struct created {
  int dirfd;
  pid_t pid;
  int pidfd;
  int sync_fd;     /* parent end, run mode */
  int console_fd;  /* run mode with a terminal and no console socket */
  bool late_hooks; /* poststart or poststop: `run` must re-read the spec */
};

static void kill_and_reap(pid_t pid, int pidfd)
{
  if (pidfd >= 0)
    pidfd_kill(pidfd, SIGKILL);
  else if (pid > 0)
    kill(pid, SIGKILL);
  if (pid > 0)
    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
      ;
}

static int do_create(const struct cove_create_opts *o, enum cove_start_mode mode, struct created *out, cove_err *err)
{
  char bundle[PATH_MAX];
  if (!realpath(o->bundle ? o->bundle : ".", bundle))
    return cove_error(err, errno, "--bundle %s", o->bundle ? o->bundle : ".");
  if (cove_validate_id(o->id, err) < 0)
    return -1;
  struct cove_spec spec;
  int ret = -1;
  if (cove_spec_load(&spec, bundle, err) < 0) {
    cove_spec_free(&spec);
    return -1;
  }

  struct cove_init_ctx ctx = {
    .spec = &spec,
    .id = o->id,
    .userns = spec.ns[COVE_NS_USER].wanted,
    .host_root = geteuid() == 0 && !spec.ns[COVE_NS_USER].wanted,
    .outer_userns = cove_in_partial_userns(),
    .no_pivot = o->no_pivot,
    .no_new_keyring = o->no_new_keyring,
    .preserve_fds = o->preserve_fds,
    .start_mode = mode,
    .sync_fd = -1,
    .fifo_fd = -1,
    .start_fd = -1,
    .console_fd = -1,
    .state_fd = -1,
    .bundle = bundle,
    .listener_fd = -2,
    .cgroup_fd = -1,
  };
  struct cove_cgroup cg = {0};
  for (int k = 0; k < COVE_NS_COUNT; k++)
    ctx.ns_fds[k] = -1;
  int socks[2] = {-1, -1};
  int console_pair[2] = {-1, -1};
  int dirfd = -1;
  pid_t pid = -1;
  int pidfd = -1;
  _cleanup_free_ char *annotations = NULL;
  sigset_t all;

  if (!spec.has_process) {
    cove_error(err, 0, "config.json: process: missing (nothing to run)");
    goto out;
  }
  if (open_ns_paths(&spec, ctx.ns_fds, err) < 0)
    goto out;
  if (spec.process.terminal) {
    if (o->console_socket) {
      if ((ctx.console_fd = cove_console_socket_connect(o->console_socket, err)) < 0)
        goto out;
    } else if (mode == COVE_START_SYNC) {
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console_pair) < 0) {
        cove_error(err, errno, "socketpair");
        goto out;
      }
      ctx.console_fd = console_pair[1];
    } else {
      cove_error(err, 0, "config.json: process.terminal is true but no --console-socket was given (needed when cove does not stay in the foreground)");
      goto out;
    }
  }
  if (o->preserve_fds < 0 || o->preserve_fds > 4096) {
    cove_error(err, 0, "--preserve-fds %d: out of range", o->preserve_fds);
    goto out;
  }

  if ((dirfd = cove_state_create(o->root, o->id, err)) < 0)
    goto out;
  ctx.state_fd = dirfd;
  if (cove_state_keep_spec(dirfd, &spec, err) < 0)
    goto fail;
  if (mode == COVE_START_FIFO) {
    if (mkfifoat(dirfd, "exec.fifo", 0600) < 0) {
      cove_error(err, errno, "mkfifo exec.fifo");
      goto fail;
    }
    /* O_RDWR never blocks on a fifo; the init later blocks in read()
     * until `cove start` writes a byte. */
    if ((ctx.fifo_fd = openat(dirfd, "exec.fifo", O_RDWR | O_CLOEXEC)) < 0) {
      cove_error(err, errno, "open exec.fifo");
      goto fail;
    }
    /* hooks: the init reports a failure after `start` here (see start) */
    if (mkfifoat(dirfd, "start.fifo", 0600) < 0 ||
        (ctx.start_fd = openat(dirfd, "start.fifo", O_RDWR | O_CLOEXEC)) < 0) {
      cove_error(err, errno, "start.fifo");
      goto fail;
    }
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) < 0) {
    cove_error(err, errno, "socketpair");
    goto fail;
  }
  ctx.sync_fd = socks[1];

  /* cgroups: created, limited and recorded before the init exists */
  if (cove_cgroup_setup(&cg, &spec, o->id, (enum cove_cg_manager)o->cgroup_manager, err) < 0 ||
      cove_cgroup_save(dirfd, &cg, err) < 0)
    goto fail;
  if (cg.active) {
    ctx.cgroup_fd = cove_cgroup_v2_fd(&cg);
    ctx.defer_cgroupns = spec.ns[COVE_NS_CGROUP].wanted && !spec.ns[COVE_NS_CGROUP].path;
  }

  struct cove_state st = {0};
  snprintf(st.id, sizeof st.id, "%s", o->id);
  snprintf(st.bundle, sizeof st.bundle, "%s", bundle);
  snprintf(st.oci_version, sizeof st.oci_version, "%s", spec.oci_version);
  now_rfc3339(st.created, sizeof st.created);
  st.creating = true;
  st.rootless = geteuid() != 0;
  annotations = cove_spec_annotations_json(&spec);
  st.annotations_json = annotations;

  /* The runtime blocks all signals while it has a half-made container;
   * `run` keeps them blocked and forwards them through a signalfd. */
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &ctx.sigmask);

  pid = spawn(&ctx, socks[0], err);
  if (pid < 0) {
    pid = -1;
    goto fail;
  }
  pidfd = pidfd_open_(pid);
  close(socks[1]);
  socks[1] = -1;
  if (ctx.fifo_fd >= 0) {
    close(ctx.fifo_fd);
    ctx.fifo_fd = -1;
  }
  if (ctx.start_fd >= 0) {
    close(ctx.start_fd);
    ctx.start_fd = -1;
  }
  if (console_pair[1] >= 0) {
    close(console_pair[1]);
    console_pair[1] = -1;
  } else if (ctx.console_fd >= 0) {
    close(ctx.console_fd);
    ctx.console_fd = -1;
  }
  close_ns_fds(ctx.ns_fds);
  if (ctx.cgroup_fd >= 0) {
    close(ctx.cgroup_fd);
    ctx.cgroup_fd = -1;
  }
  if (cove_cgroup_enter(&cg, pid, ctx.in_cgroup, err) < 0)
    goto fail;

  st.pid = pid;
  if (cove_proc_starttime(pid, &st.pid_start) < 0 || cove_state_write(dirfd, &st, err) < 0) {
    if (!err->msg[0])
      cove_error(err, errno, "container init vanished");
    goto fail;
  }
  if (spec.ns[COVE_NS_USER].wanted && !spec.ns[COVE_NS_USER].path && write_id_maps(pid, &spec, err) < 0)
    goto fail;
  if (cove_sync_send(socks[0], SYNC_GO, pid, NULL) < 0) {
    cove_error(err, errno, "release container init");
    goto fail;
  }
  struct cove_sync_msg m;
  for (;;) {
    if (cove_sync_recv(socks[0], &m, err) < 0)
      goto fail;
    if (m.type != SYNC_HOOKS)
      break;
    /* The init has made its mounts and waits before pivot_root: the
     * runtime-namespace hooks run now (runtime.md create steps 3-4). */
    _cleanup_free_ char *hstate = cove_hook_state_json(spec.oci_version, o->id, "creating", pid, bundle, annotations);
    if (cove_hooks_run(spec.hooks.prestart, spec.hooks.n_prestart, "prestart", hstate, err) < 0 ||
        cove_hooks_run(spec.hooks.create_runtime, spec.hooks.n_create_runtime, "createRuntime", hstate, err) < 0)
      goto fail;
    if (cove_sync_send(socks[0], SYNC_HOOKS_DONE, 0, NULL) < 0) {
      cove_error(err, errno, "resume container init after hooks");
      goto fail;
    }
  }
  if (m.type == SYNC_ERROR) {
    *err = m.err;
    goto fail;
  }
  if (m.type != SYNC_READY) {
    cove_error(err, EPROTO, "unexpected message from container init");
    goto fail;
  }
  st.creating = false;
  if (cove_state_write(dirfd, &st, err) < 0)
    goto fail;
  if (o->pid_file && cove_write_pid_file(o->pid_file, pid, err) < 0)
    goto fail;

  out->dirfd = dirfd;
  out->pid = pid;
  out->pidfd = pidfd;
  out->sync_fd = socks[0];
  out->console_fd = console_pair[0];
  out->late_hooks = spec.hooks.n_poststart || spec.hooks.n_poststop;
  cove_cgroup_release(&cg);
  cove_spec_free(&spec);
  return 0;

fail:
  kill_and_reap(pid, pidfd);
  {
    cove_err e2;
    cove_cgroup_destroy(&cg, &e2);
  }
  if (pidfd >= 0)
    close(pidfd);
  if (dirfd >= 0) {
    cove_err e2;
    cove_state_remove(o->root, o->id, dirfd, &e2);
    close(dirfd);
  }
  /* runtime.md: a failed create continues at "destroy", then poststop */
  if (pid > 0 && spec.hooks.n_poststop) {
    _cleanup_free_ char *hstate = cove_hook_state_json(spec.oci_version, o->id, "stopped", 0, bundle, annotations);
    cove_hooks_run_warn(spec.hooks.poststop, spec.hooks.n_poststop, "poststop", hstate);
  }
  sigprocmask(SIG_SETMASK, &ctx.sigmask, NULL);
out:
  for (int i = 0; i < 2; i++) {
    if (socks[i] >= 0)
      close(socks[i]);
    if (console_pair[i] >= 0)
      close(console_pair[i]);
  }
  if (o->console_socket && ctx.console_fd >= 0)
    close(ctx.console_fd);
  if (ctx.fifo_fd >= 0)
    close(ctx.fifo_fd);
  if (ctx.start_fd >= 0)
    close(ctx.start_fd);
  close_ns_fds(ctx.ns_fds);
  if (ctx.cgroup_fd >= 0)
    close(ctx.cgroup_fd);
  cove_cgroup_release(&cg);
  cove_spec_free(&spec);
  return ret;
}

/* Kill what is left in the container's cgroups and remove them. */
static int cgroup_teardown(int dirfd, cove_err *err)
{
  struct cove_cgroup cg;
  if (cove_cgroup_load(dirfd, &cg, err) < 0)
    return -1;
  int r = cove_cgroup_destroy(&cg, err);
  cove_cgroup_forget(dirfd);
  return r;
}

int cove_container_create(const struct cove_create_opts *o, cove_err *err)
{
  struct created c;
  sigset_t old;
  sigprocmask(SIG_BLOCK, NULL, &old);
  if (do_create(o, COVE_START_FIFO, &c, err) < 0)
    return -1;
  close(c.sync_fd);
  close(c.pidfd);
  close(c.dirfd);
  return 0;
}

/* Wait for the init's verdict after release: EOF on start.fifo means the
 * init exec'd (the fd is close-on-exec) or died; a cove_err means a
 * startContainer hook or the final setup failed. */
static int wait_start_verdict(int fd, cove_err *err)
{
  cove_err e;
  size_t got = 0;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      return cove_error(err, errno, "wait for the container process");
    }
    ssize_t n = read(fd, (char *)&e + got, sizeof e - got);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n <= 0)
      return 0;
    got += (size_t)n;
    if (got == sizeof e) {
      e.msg[sizeof e.msg - 1] = 0;
      *err = e;
      return -1;
    }
  }
}

/* Close-on-exec fds are closed in the middle of execve, before the new
 * image's argv is in place: wait (briefly) until /proc/PID/cmdline shows
 * it, so what runs after start (poststart hooks, the caller) sees the user
 * process and not a half-exec'd one. */
static void wait_exec_done(pid_t pid)
{
  char path[64], c;
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
  for (int i = 0; i < 2000; i++) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint64_t t;
    if (fd < 0 || read(fd, &c, 1) != 0 || cove_proc_starttime(pid, &t) < 0)
      return; /* argv visible, or the process is gone */
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

/* The spec create kept with the state, for the hooks run after create;
 * NULL (logged) when it cannot be read. */
static struct cove_spec *load_kept_spec(int dirfd, const struct cove_state *st, const char *why)
{
  struct cove_spec *s = calloc(1, sizeof *s);
  cove_err e = {0};
  if (!s)
    return NULL;
  if (cove_state_load_spec(dirfd, st, s, &e) < 0) {
    cove_warn("%s: %s", why, e.msg);
    cove_spec_free(s);
    free(s);
    return NULL;
  }
  return s;
}

static void free_kept_spec(struct cove_spec *s)
{
  if (s) {
    cove_spec_free(s);
    free(s);
  }
}

int cove_container_start(const char *root, const char *id, cove_err *err)
{
  _cleanup_close_ int dirfd = cove_state_open(root, id, err);
  if (dirfd < 0)
    return -1;
  struct cove_state st;
  if (cove_state_read(dirfd, &st, err) < 0)
    return -1;
  _cleanup_free_ char *annotations = st.annotations_json;
  st.annotations_json = NULL;
  if (st.status != COVE_CREATED)
    return cove_error(err, 0, "container \"%s\" is %s, not created: cannot start it", id, cove_status_name(st.status));
  /* Opened before the release so the init cannot exec (and close its end)
   * before we listen. Absent for containers created by an older cove. */
  _cleanup_close_ int verdict = openat(dirfd, "start.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  _cleanup_close_ int fifo = openat(dirfd, "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fifo < 0) {
    if (errno == ENXIO)
      return cove_error(err, 0, "container \"%s\" is not running (its init is gone)", id);
    return cove_error(err, errno, "open exec.fifo");
  }
  if (write(fifo, "s", 1) != 1)
    return cove_error(err, errno, "start container");
  if (unlinkat(dirfd, "exec.fifo", 0) < 0)
    return cove_error(err, errno, "remove exec.fifo");
  if (verdict >= 0) {
    int r = wait_start_verdict(verdict, err);
    unlinkat(dirfd, "start.fifo", 0);
    if (r < 0)
      return cove_error_prefix(err, "start container \"%s\"", id);
    wait_exec_done(st.pid);
  }
  /* runtime.md step 9: after the user process started, before start
   * returns; a failure only warns (see docs/hooks.md). */
  struct cove_spec *spec = load_kept_spec(dirfd, &st, "poststart hooks");
  if (spec && spec->hooks.n_poststart) {
    _cleanup_free_ char *hs = cove_hook_state_json(st.oci_version, id, "running", st.pid, st.bundle, annotations);
    cove_hooks_run_warn(spec->hooks.poststart, spec->hooks.n_poststart, "poststart", hs);
  }
  free_kept_spec(spec);
  return 0;
}

static int exit_code(int status)
{
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 255;
}

int cove_container_run(const struct cove_create_opts *o, bool detach, int *status, cove_err *err)
{
  struct created c;
  sigset_t old;
  sigprocmask(SIG_BLOCK, NULL, &old);
  if (do_create(o, detach ? COVE_START_SYNC_DETACHED : COVE_START_SYNC, &c, err) < 0)
    return -1;
  /* The state dir must not stay locked while the container runs: `state`
   * and `kill` from other processes take the same lock. */
  flock(c.dirfd, LOCK_UN);
  int ret = -1;
  struct cove_state hst = {0};
  struct cove_spec *hspec = NULL;
  /* Only the hooks need the state and the spec again: keep them off the
   * hot path of a plain `run`. */
  if (c.late_hooks && cove_state_read(c.dirfd, &hst, err) < 0)
    goto out;
  if (cove_sync_send(c.sync_fd, SYNC_START, 0, NULL) < 0) {
    cove_error(err, errno, "start container");
    goto out;
  }
  /* The init answers with an error (startContainer hook, exec) or with
   * EOF when execve closes its end. */
  {
    struct cove_sync_msg m;
    ssize_t n;
    do
      n = recv(c.sync_fd, &m, sizeof m, 0);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof m && m.type == SYNC_ERROR) {
      m.err.msg[sizeof m.err.msg - 1] = 0;
      *err = m.err;
      goto out;
    }
  }
  close(c.sync_fd);
  c.sync_fd = -1;
  /* A foreground caller cannot look at the process before it exits. */
  if (detach || c.late_hooks)
    wait_exec_done(c.pid);
  hspec = c.late_hooks ? load_kept_spec(c.dirfd, &hst, "poststart hooks") : NULL;
  if (hspec && hspec->hooks.n_poststart) {
    _cleanup_free_ char *hs = cove_hook_state_json(hst.oci_version, o->id, "running", c.pid, hst.bundle, hst.annotations_json);
    cove_hooks_run_warn(hspec->hooks.poststart, hspec->hooks.n_poststart, "poststart", hs);
  }
  if (detach) {
    *status = 0;
    ret = 0;
    goto out_keep;
  }

  if (c.console_fd >= 0) {
    int master = cove_console_recv_fd(c.console_fd, err);
    if (master < 0)
      goto out;
    sigprocmask(SIG_SETMASK, &old, NULL);
    cove_console_proxy(master, err);
    close(master);
  } else {
    sigset_t fwd;
    sigfillset(&fwd);
    _cleanup_close_ int sfd = signalfd(-1, &fwd, SFD_CLOEXEC);
    struct pollfd p[2] = {{.fd = c.pidfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    for (;;) {
      int n = poll(p, sfd >= 0 ? 2 : 1, -1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || (p[0].revents & (POLLIN | POLLHUP)))
        break;
      struct signalfd_siginfo si;
      if ((p[1].revents & POLLIN) && read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH && si.ssi_signo != SIGURG)
          pidfd_kill(c.pidfd, (int)si.ssi_signo);
      }
    }
  }
  int wst;
  while (waitpid(c.pid, &wst, __WALL) < 0) {
    if (errno != EINTR) {
      cove_error(err, errno, "wait for container");
      goto out;
    }
  }
  *status = exit_code(wst);
  ret = 0;
out:
  /* A foreground run owns its container: delete it whatever happened. */
  kill_and_reap(c.pid, c.pidfd);
  flock(c.dirfd, LOCK_EX);
  {
    cove_err e2;
    cgroup_teardown(c.dirfd, &e2);
    cove_state_remove(o->root, o->id, c.dirfd, &e2);
  }
  if (hspec && hspec->hooks.n_poststop) {
    _cleanup_free_ char *hs = cove_hook_state_json(hst.oci_version, o->id, "stopped", 0, hst.bundle, hst.annotations_json);
    cove_hooks_run_warn(hspec->hooks.poststop, hspec->hooks.n_poststop, "poststop", hs);
  }
out_keep:
  free_kept_spec(hspec);
  cove_state_release(&hst);
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (c.sync_fd >= 0)
    close(c.sync_fd);
  if (c.console_fd >= 0)
    close(c.console_fd);
  close(c.pidfd);
  close(c.dirfd);
  return ret;
}

int cove_container_state(const char *root, const char *id, struct cove_state *st, cove_err *err)
{
  _cleanup_close_ int dirfd = cove_state_open(root, id, err);
  if (dirfd < 0)
    return -1;
  return cove_state_read(dirfd, st, err);
}

/* Every process whose pid namespace is the init's: with a private pid
 * namespace that is the whole container. */
static int signal_all(const struct cove_state *st, int sig, cove_err *err)
{
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/ns/pid", (int)st->pid);
  struct stat ns;
  if (stat(p, &ns) < 0)
    return cove_error(err, errno, "container pid namespace");
  struct stat self;
  if (stat("/proc/self/ns/pid", &self) == 0 && self.st_ino == ns.st_ino)
    return kill(st->pid, sig) < 0 ? cove_error(err, errno, "kill") : 0;
  _cleanup_closedir_ DIR *d = opendir("/proc");
  if (!d)
    return cove_error(err, errno, "/proc");
  struct dirent *e;
  while ((e = readdir(d))) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0)
      continue;
    snprintf(p, sizeof p, "/proc/%ld/ns/pid", pid);
    struct stat s;
    if (stat(p, &s) == 0 && s.st_ino == ns.st_ino && s.st_dev == ns.st_dev)
      kill((pid_t)pid, sig);
  }
  return 0;
}

int cove_container_kill(const char *root, const char *id, int sig, bool all, cove_err *err)
{
  _cleanup_close_ int dirfd = cove_state_open(root, id, err);
  if (dirfd < 0)
    return -1;
  struct cove_state st;
  if (cove_state_read(dirfd, &st, err) < 0)
    return -1;
  cove_state_release(&st);
  /* pidfd first, then re-check identity: the signal cannot hit a reused pid */
  _cleanup_close_ int pidfd = st.pid > 0 ? pidfd_open_(st.pid) : -1;
  if (pidfd < 0 || cove_state_status(dirfd, &st) == COVE_STOPPED)
    return cove_error(err, ESRCH, "container \"%s\" is not running", id);
  if (all) {
    struct cove_cgroup cg;
    if (cove_cgroup_load(dirfd, &cg, err) < 0)
      return -1;
    int r = cg.active ? cove_cgroup_signal_all(&cg, sig, err) : signal_all(&st, sig, err);
    cove_cgroup_release(&cg);
    if (r < 0)
      return -1;
  }
  if (pidfd_kill(pidfd, sig) < 0 && !(all && errno == ESRCH))
    return cove_error(err, errno, "kill container \"%s\"", id);
  return 0;
}

static int wait_pidfd(int pidfd, int timeout_ms)
{
  struct pollfd p = {.fd = pidfd, .events = POLLIN};
  int r;
  do
    r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r;
}

int cove_container_delete(const char *root, const char *id, bool force, cove_err *err)
{
  _cleanup_close_ int dirfd = cove_state_open(root, id, err);
  if (dirfd < 0)
    return -1;
  struct cove_state st;
  if (cove_state_read(dirfd, &st, err) < 0) {
    /* A create that crashed before writing any state: nothing runs. */
    if (err->code == ENOENT) {
      cove_err e2;
      cgroup_teardown(dirfd, &e2);
      return cove_state_remove(root, id, dirfd, err);
    }
    return -1;
  }
  _cleanup_free_ char *annotations = st.annotations_json;
  st.annotations_json = NULL;
  if (st.status != COVE_STOPPED) {
    if (!force)
      return cove_error(err, 0, "cannot delete container \"%s\" that is %s: stop it first or use --force", id,
                        cove_status_name(st.status));
    _cleanup_close_ int pidfd = pidfd_open_(st.pid);
    if (pidfd >= 0 && cove_state_status(dirfd, &st) != COVE_STOPPED) {
      struct cove_cgroup cg;
      if (cove_cgroup_load(dirfd, &cg, err) == 0 && cg.active)
        cove_cgroup_signal_all(&cg, SIGKILL, err);
      else
        signal_all(&st, SIGKILL, err);
      cove_cgroup_release(&cg);
      pidfd_kill(pidfd, SIGKILL);
      if (wait_pidfd(pidfd, 10000) <= 0)
        return cove_error(err, ETIMEDOUT, "container \"%s\" did not die after SIGKILL", id);
    }
  }
  if (cgroup_teardown(dirfd, err) < 0)
    return -1;
  struct cove_spec *spec = load_kept_spec(dirfd, &st, "poststop hooks");
  if (cove_state_remove(root, id, dirfd, err) < 0) {
    free_kept_spec(spec);
    return -1;
  }
  /* runtime.md step 13: after the container is deleted, before delete
   * returns; failures only warn. */
  if (spec && spec->hooks.n_poststop) {
    _cleanup_free_ char *hs = cove_hook_state_json(st.oci_version, id, "stopped", 0, st.bundle, annotations);
    cove_hooks_run_warn(spec->hooks.poststop, spec->hooks.n_poststop, "poststop", hs);
  }
  free_kept_spec(spec);
  return 0;
}

int cove_container_list(const char *root, int (*cb)(const struct cove_state *st, void *data), void *data, cove_err *err)
{
  _cleanup_closedir_ DIR *d = opendir(root);
  if (!d) {
    if (errno == ENOENT)
      return 0;
    return cove_error(err, errno, "state root %s", root);
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    _cleanup_close_ int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      continue;
    struct cove_state st;
    cove_err e2;
    if (cove_state_read(fd, &st, &e2) < 0)
      continue;
    int r = cb(&st, data);
    cove_state_release(&st);
    if (r < 0)
      return r;
  }
  return 0;
}

/* ---- Held containers: the agent orchestrator's entry points ----------
 * `run` split in steps so a caller that owns the whole lifetime (the agent
 * orchestrator) can do its own waiting: it gets the init's pidfd while the
 * init is held before exec, releases it, reaps it, and destroys it. */

int cove_container_prepare(const struct cove_create_opts *o, struct cove_container_handle *h, cove_err *err)
{
  struct created c;
  sigprocmask(SIG_BLOCK, NULL, &h->saved_mask);
  if (do_create(o, COVE_START_SYNC, &c, err) < 0)
    return -1;
  flock(c.dirfd, LOCK_UN);
  if (c.console_fd >= 0)
    close(c.console_fd);
  h->dirfd = c.dirfd;
  h->pid = c.pid;
  h->pidfd = c.pidfd;
  h->sync_fd = c.sync_fd;
  return 0;
}

/* Like run: the init answers SYNC_START with an error (startContainer
 * hook, exec) or with EOF when execve closes its end. */
int cove_container_release(struct cove_container_handle *h, cove_err *err)
{
  int r = cove_sync_send(h->sync_fd, SYNC_START, 0, NULL);
  if (r < 0) {
    cove_error(err, errno, "start container");
  } else {
    struct cove_sync_msg m;
    ssize_t n;
    do
      n = recv(h->sync_fd, &m, sizeof m, 0);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof m && m.type == SYNC_ERROR) {
      m.err.msg[sizeof m.err.msg - 1] = 0;
      *err = m.err;
      r = -1;
    }
  }
  close(h->sync_fd);
  h->sync_fd = -1;
  return r;
}

int cove_container_reap(struct cove_container_handle *h, int *wstatus, cove_err *err)
{
  if (h->pid <= 0)
    return cove_error(err, ECHILD, "container already reaped");
  while (waitpid(h->pid, wstatus, __WALL) < 0)
    if (errno != EINTR)
      return cove_error(err, errno, "wait for container");
  h->pid = -1;
  return 0;
}

void cove_container_destroy(const char *root, const char *id, struct cove_container_handle *h)
{
  if (h->pid > 0)
    kill_and_reap(h->pid, h->pidfd);
  h->pid = -1;
  if (h->sync_fd >= 0)
    close(h->sync_fd);
  h->sync_fd = -1;
  if (h->dirfd >= 0) {
    cove_err e2;
    flock(h->dirfd, LOCK_EX);
    cgroup_teardown(h->dirfd, &e2);
    cove_state_remove(root, id, h->dirfd, &e2);
    close(h->dirfd);
  }
  h->dirfd = -1;
  if (h->pidfd >= 0)
    close(h->pidfd);
  h->pidfd = -1;
  sigprocmask(SIG_SETMASK, &h->saved_mask, NULL);
}
