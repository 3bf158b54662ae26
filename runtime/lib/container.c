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
#include "cove/json.h"
#include "cove/log.h"
#include "cove/spec.h"
#include "cove/timestamp.h"
#include "hooks.h"
#include "internal.h"
#include "terminal.h"
#include "userns.h"
#include "mount_plan.h"
#include "process.h"
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Open every namespace path now, in the runtime, and check its type: a
 * mistyped path is a config error, reported before anything exists. */
static int open_ns_paths(const struct cove_spec *s, struct cove_spawn *sp, cove_err *err)
{
  for (int k = 0; k < COVE_NS_COUNT; k++) {
    if (!s->ns[k].path)
      continue;
    sp->ns_paths[k] = s->ns[k].path;
    int fd = sp->ns_fds[k] = open(s->ns[k].path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return cove_error(err, errno, "config.json: linux.namespaces (%s).path: %s", cove_ns_name(k), s->ns[k].path);
    int t = ioctl(fd, NS_GET_NSTYPE);
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
    if (cove_spec_check_sysctl_ns(s, k, fd, err) < 0)
      return -1;
  }
  return 0;
}

/* ---- create: phases over one context ---------------------------------
 * Everything a create holds lives in `struct create`, and create_release()
 * gives all of it back: after a failure it also kills the init, removes
 * its cgroups and state (nothing outlives a failed create: mounts live
 * only in the init's mount namespace and die with it). After a success
 * the caller owns the context (run, prepare) or releases it at once. */
struct create {
  const struct cove_create_opts *o;
  char bundle[PATH_MAX];
  struct cove_spec spec;
  struct cove_init_ctx init; /* what the init gets (internal.h) */
  struct cove_mount_plan plan;
  struct cove_spawn sp;
  struct cove_cgroup cg;
  struct cove_state st;
  char *annotations; /* the spec's, as JSON text */
  int dirfd;         /* the id's state dir, locked */
  int socks[2];      /* sync socket: ours, the init's */
  int console[2];    /* foreground run with a terminal: ours, the init's */
  pid_t pid;
  int pidfd;
  bool blocked;       /* signals blocked; the caller's mask is init.sigmask */
  bool spec_borrowed; /* o->spec: the caller's (the orchestrator), not freed here */
};

static void create_init(struct create *c, const struct cove_create_opts *o, enum cove_start_mode mode)
{
  *c = (struct create){.o = o, .dirfd = -1, .socks = {-1, -1}, .console = {-1, -1}, .pid = -1, .pidfd = -1};
  c->init = (struct cove_init_ctx){.spec = &c->spec, .plan = &c->plan, .id = o->id, .bundle = c->bundle, .no_pivot = o->no_pivot,
                                   .no_new_keyring = o->no_new_keyring, .preserve_fds = o->preserve_fds,
                                   .start_mode = mode, .sync_fd = -1, .fifo_fd = -1, .start_fd = -1,
                                   .console_fd = -1, .listener_fd = -2};
  cove_spawn_init(&c->sp);
}

/* What only the init needed: closed in the runtime once it is spawned. */
static void close_child_fds(struct create *c)
{
  cove_closep(&c->socks[1]);
  cove_closep(&c->init.fifo_fd);
  cove_closep(&c->init.start_fd);
  if (c->console[1] >= 0)
    c->init.console_fd = -1; /* the pair's end, closed below */
  cove_closep(&c->console[1]);
  cove_closep(&c->init.console_fd);
  cove_spawn_close_ns(&c->sp);
  cove_closep(&c->sp.cgroup_fd);
}

/* poststart (the container running as pid) or poststop (stopped): run
 * after the fact, so a failure only warns (docs/hooks.md). */
static void run_after_hooks(const struct cove_hooks *h, const char *oci_version, const char *id, pid_t pid,
                            const char *bundle, const char *annotations, bool poststop)
{
  if (poststop ? !h->n_poststop : !h->n_poststart)
    return;
  _cleanup_free_ char *hs = cove_hook_state_json(oci_version, id, poststop ? "stopped" : "running",
                                                 poststop ? 0 : pid, bundle, annotations);
  if (poststop)
    cove_hooks_run_warn(h->poststop, h->n_poststop, "poststop", hs);
  else
    cove_hooks_run_warn(h->poststart, h->n_poststart, "poststart", hs);
}

static void run_late_hooks(const struct create *c, bool poststop)
{
  run_after_hooks(&c->spec.hooks, c->spec.oci_version, c->o->id, c->pid, c->bundle, c->annotations, poststop);
}

static void create_release(struct create *c, bool failed)
{
  if (failed) {
    cove_kill_and_reap(c->pid, c->pidfd);
    cove_err e2;
    cove_cgroup_destroy(&c->cg, &e2);
    if (c->dirfd >= 0)
      cove_state_remove(c->o->root, c->o->id, c->dirfd, &e2);
    /* runtime.md: a failed create continues at "destroy", then poststop */
    if (c->pid > 0)
      run_late_hooks(c, true);
    if (c->blocked)
      sigprocmask(SIG_SETMASK, &c->init.sigmask, NULL);
  }
  close_child_fds(c);
  cove_closep(&c->socks[0]);
  cove_closep(&c->console[0]);
  cove_closep(&c->pidfd);
  cove_closep(&c->dirfd);
  cove_cgroup_release(&c->cg);
  cove_mount_plan_free(&c->plan);
  if (!c->spec_borrowed)
    cove_spec_free(&c->spec);
  free(c->annotations);
  c->annotations = NULL;
}

/* Parse and check everything before anything exists. */
static int load_config(struct create *c, cove_err *err)
{
  const struct cove_create_opts *o = c->o;
  if (!realpath(o->bundle ? o->bundle : ".", c->bundle))
    return cove_error(err, errno, "--bundle %s", o->bundle ? o->bundle : ".");
  if (cove_validate_id(o->id, err) < 0)
    return -1;
  if (o->spec) {
    c->spec = *o->spec; /* parsed and checked by the caller: no second parse */
    c->spec_borrowed = true;
  } else if (cove_spec_load(&c->spec, c->bundle, err) < 0) {
    return -1;
  }
  const struct cove_spec *s = &c->spec;
  if (!s->has_process)
    return cove_error(err, 0, "config.json: process: missing (nothing to run)");
  if (o->preserve_fds < 0 || o->preserve_fds > 4096)
    return cove_error(err, 0, "--preserve-fds %d: out of range", o->preserve_fds);
  c->init.userns = s->ns[COVE_NS_USER].wanted;
  c->init.host_root = geteuid() == 0 && !s->ns[COVE_NS_USER].wanted;
  c->init.outer_userns = cove_in_partial_userns();
  for (int k = 0; k < COVE_NS_COUNT; k++)
    if (s->ns[k].wanted && !s->ns[k].path && k != COVE_NS_TIME) /* time: unshared by the init */
      c->sp.new_ns |= (uint64_t)cove_ns_clone_flag(k);
  return 0;
}

/* The namespace paths and the terminal, opened by the runtime. */
static int open_inputs(struct create *c, cove_err *err)
{
  if (open_ns_paths(&c->spec, &c->sp, err) < 0)
    return -1;
  if (!c->spec.process.terminal)
    return 0;
  if (c->o->console_socket)
    return (c->init.console_fd = cove_console_socket_connect(c->o->console_socket, err)) < 0 ? -1 : 0;
  if (c->init.start_mode != COVE_START_SYNC)
    return cove_error(err, 0, "config.json: process.terminal is true but no --console-socket was given (needed when cove does not stay in the foreground)");
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->console) < 0)
    return cove_error(err, errno, "socketpair");
  c->init.console_fd = c->console[1];
  return 0;
}

/* Plan, then act: every mount, device and path operation the init will
 * carry out, decided here from the spec and cove's defaults. */
static int plan_mounts(struct create *c, cove_err *err)
{
  bool console = c->spec.process.terminal && c->init.console_fd >= 0;
  return cove_mount_plan_build(&c->plan, &c->spec, c->init.userns, c->init.outer_userns, console, err);
}

/* The id's state dir (exclusive mkdir + flock), what later commands need
 * of the spec, the fifos `start` uses, the sync socket. */
static int take_state(struct create *c, cove_err *err)
{
  if ((c->dirfd = cove_state_create(c->o->root, c->o->id, err)) < 0 || cove_state_keep_spec(c->dirfd, &c->spec, err) < 0)
    return -1;
  if (c->init.start_mode == COVE_START_FIFO) {
    /* O_RDWR never blocks on a fifo; the init later blocks in read()
     * until `cove start` writes a byte. */
    if (mkfifoat(c->dirfd, "exec.fifo", 0600) < 0 ||
        (c->init.fifo_fd = openat(c->dirfd, "exec.fifo", O_RDWR | O_CLOEXEC)) < 0)
      return cove_error(err, errno, "exec.fifo");
    /* hooks: the init reports a failure after `start` here (see start) */
    if (mkfifoat(c->dirfd, "start.fifo", 0600) < 0 ||
        (c->init.start_fd = openat(c->dirfd, "start.fifo", O_RDWR | O_CLOEXEC)) < 0)
      return cove_error(err, errno, "start.fifo");
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->socks) < 0)
    return cove_error(err, errno, "socketpair");
  c->init.sync_fd = c->socks[1];
  return 0;
}

/* cgroups: created, limited and recorded before the init exists; a
 * systemd scope only once it does (PIDs=[init], in cove_cgroup_enter). */
static int setup_cgroups(struct create *c, cove_err *err)
{
  const struct cove_spec *s = &c->spec;
  enum cove_cg_manager mgr = c->o->cgroup_manager == COVE_CG_MANAGER_DISABLED ? COVE_CG_MANAGER_DISABLED
                             : c->o->systemd_cgroup ? COVE_CG_MANAGER_SYSTEMD
                                                    : (enum cove_cg_manager)c->o->cgroup_manager;
  if (cove_cgroup_setup(&c->cg, s, c->o->id, mgr, c->dirfd, err) < 0)
    return -1;
  if (c->cg.active) {
    c->sp.cgroup_fd = cove_cgroup_v2_fd(&c->cg);
    c->init.defer_cgroupns = s->ns[COVE_NS_CGROUP].wanted && !s->ns[COVE_NS_CGROUP].path;
  }
  if (c->init.defer_cgroupns)
    c->sp.new_ns &= ~(uint64_t)cove_ns_clone_flag(COVE_NS_CGROUP);
  return 0;
}

__attribute__((noreturn)) static void init_child(void *data)
{
  struct create *c = data;
  /* The state dir fd carries the id's flock: holding it would block every
   * later `cove state/start/kill` on this container. */
  cove_closep(&c->dirfd);
  cove_closep(&c->sp.cgroup_fd);
  /* Signals the runtime blocks or ignores must not leak into the container. */
  cove_proc_reset_signals(&c->init.sigmask);
  cove_init_main(&c->init);
}

/* Clone the init into its namespaces and cgroup; record it in the state. */
static int spawn_init(struct create *c, cove_err *err)
{
  struct cove_state *st = &c->st;
  snprintf(st->id, sizeof st->id, "%s", c->o->id);
  snprintf(st->bundle, sizeof st->bundle, "%s", c->bundle);
  snprintf(st->oci_version, sizeof st->oci_version, "%s", c->spec.oci_version);
  cove_rfc3339_now(st->created, sizeof st->created, 9);
  st->creating = true;
  st->rootless = geteuid() != 0;
  st->annotations_json = c->annotations = cove_spec_annotations_json(&c->spec);

  /* The runtime blocks all signals while it has a half-made container;
   * `run` keeps them blocked and forwards them through a signalfd. */
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &c->init.sigmask);
  c->blocked = true;
  c->sp.sync_fd = c->socks[1];
  c->sp.parent_fd = c->socks[0];
  c->sp.pdeathsig = true;
  c->sp.child = init_child;
  c->sp.data = c;
  c->pid = cove_spawn(&c->sp, err);
  if (c->pid < 0) {
    c->pid = -1;
    return -1;
  }
  c->pidfd = cove_pidfd_open(c->pid);
  close_child_fds(c);
  if (cove_cgroup_enter(&c->cg, c->pid, c->sp.in_cgroup, err) < 0)
    return -1;
  st->pid = c->pid;
  if (cove_proc_starttime(c->pid, &st->pid_start) < 0)
    return cove_error(err, errno, "container init vanished");
  return cove_state_write(c->dirfd, st, err);
}

/* Id maps written, the init released into its setup; prestart and
 * createRuntime hooks run when it asks, between its mounts and pivot_root
 * (runtime.md create steps 3-4); then READY or its error. */
static int release_init(struct create *c, cove_err *err)
{
  const struct cove_spec *s = &c->spec;
  if (s->ns[COVE_NS_USER].wanted && !s->ns[COVE_NS_USER].path && cove_spawn_write_id_maps(c->pid, s, err) < 0)
    return -1;
  if (cove_sync_send(c->socks[0], SYNC_GO, c->pid, NULL) < 0)
    return cove_error(err, errno, "release container init");
  struct cove_sync_msg m;
  for (;;) {
    if (cove_sync_recv(c->socks[0], &m, err) < 0)
      return -1;
    if (m.type != SYNC_HOOKS)
      break;
    _cleanup_free_ char *hs = cove_hook_state_json(s->oci_version, c->o->id, "creating", c->pid, c->bundle, c->annotations);
    if (cove_hooks_run(s->hooks.prestart, s->hooks.n_prestart, "prestart", hs, err) < 0 ||
        cove_hooks_run(s->hooks.create_runtime, s->hooks.n_create_runtime, "createRuntime", hs, err) < 0)
      return -1;
    if (cove_sync_send(c->socks[0], SYNC_HOOKS_DONE, 0, NULL) < 0)
      return cove_error(err, errno, "resume container init after hooks");
  }
  if (m.type == SYNC_ERROR) {
    *err = m.err;
    return -1;
  }
  if (m.type != SYNC_READY)
    return cove_error(err, EPROTO, "unexpected message from container init");
  c->st.creating = false;
  if (cove_state_write(c->dirfd, &c->st, err) < 0)
    return -1;
  return c->o->pid_file ? cove_write_pid_file(c->o->pid_file, c->pid, err) : 0;
}

/* create: the init held before exec (READY), its state written; the dir
 * stays locked. On failure everything is released. */
static int do_create(const struct cove_create_opts *o, enum cove_start_mode mode, struct create *c, cove_err *err)
{
  create_init(c, o, mode);
  if (load_config(c, err) < 0 || open_inputs(c, err) < 0 || plan_mounts(c, err) < 0 || take_state(c, err) < 0 || setup_cgroups(c, err) < 0 ||
      spawn_init(c, err) < 0 || release_init(c, err) < 0) {
    create_release(c, true);
    return -1;
  }
  return 0;
}

/* Kill what is left in the container's cgroups and remove them. */
static int cgroup_teardown(int dirfd, cove_err *err)
{
  struct cove_cgroup cg;
  if (cove_cgroup_load(dirfd, &cg, err) < 0)
    return -1;
  int r = cove_cgroup_destroy(&cg, err);
  /* kept after a failure: the next delete tries again (a cgroup still
   * busy, a systemd unit that did not stop) */
  if (r == 0)
    cove_cgroup_forget(dirfd);
  return r;
}

int cove_container_create(const struct cove_create_opts *o, cove_err *err)
{
  struct create c;
  if (do_create(o, COVE_START_FIFO, &c, err) < 0)
    return -1;
  create_release(&c, false);
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
  if (spec)
    run_after_hooks(&spec->hooks, st.oci_version, id, st.pid, st.bundle, annotations, false);
  free_kept_spec(spec);
  return 0;
}

/* Tell the held init to exec: it answers with an error (startContainer
 * hook, exec) or with EOF when execve closes its end. */
static int start_held(int *sync_fd, cove_err *err)
{
  int r = cove_sync_send(*sync_fd, SYNC_START, 0, NULL) < 0 ? cove_error(err, errno, "start container")
                                                             : cove_sync_recv_verdict(*sync_fd, err);
  cove_closep(sync_fd);
  return r;
}

int cove_container_run(const struct cove_create_opts *o, bool detach, int *status, cove_err *err)
{
  struct create c;
  if (do_create(o, detach ? COVE_START_SYNC_DETACHED : COVE_START_SYNC, &c, err) < 0)
    return -1;
  /* The state dir must not stay locked while the container runs: `state`
   * and `kill` from other processes take the same lock. */
  flock(c.dirfd, LOCK_UN);
  bool late_hooks = c.spec.hooks.n_poststart || c.spec.hooks.n_poststop;
  int ret = start_held(&c.socks[0], err);
  if (ret == 0) {
    /* A foreground caller cannot look at the process before it exits. */
    if (detach || late_hooks)
      wait_exec_done(c.pid);
    run_late_hooks(&c, false);
    if (detach) {
      *status = 0;
      sigprocmask(SIG_SETMASK, &c.init.sigmask, NULL);
      create_release(&c, false);
      return 0;
    }
    ret = cove_proc_wait(c.pid, c.pidfd, c.console[0], &c.init.sigmask, status, err);
  }
  /* A foreground run owns its container: delete it whatever happened. */
  cove_kill_and_reap(c.pid, c.pidfd);
  flock(c.dirfd, LOCK_EX);
  cove_err e2;
  cgroup_teardown(c.dirfd, &e2);
  cove_state_remove(o->root, o->id, c.dirfd, &e2);
  run_late_hooks(&c, true);
  sigprocmask(SIG_SETMASK, &c.init.sigmask, NULL);
  create_release(&c, false);
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
  _cleanup_close_ int pidfd = st.pid > 0 ? cove_pidfd_open(st.pid) : -1;
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
  if (cove_pidfd_kill(pidfd, sig) < 0 && !(all && errno == ESRCH))
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
    _cleanup_close_ int pidfd = cove_pidfd_open(st.pid);
    if (pidfd >= 0 && cove_state_status(dirfd, &st) != COVE_STOPPED) {
      struct cove_cgroup cg;
      if (cove_cgroup_load(dirfd, &cg, err) == 0 && cg.active)
        cove_cgroup_signal_all(&cg, SIGKILL, err);
      else
        signal_all(&st, SIGKILL, err);
      cove_cgroup_release(&cg);
      cove_pidfd_kill(pidfd, SIGKILL);
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
  if (spec)
    run_after_hooks(&spec->hooks, st.oci_version, id, 0, st.bundle, annotations, true);
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
  struct create c;
  sigprocmask(SIG_BLOCK, NULL, &h->saved_mask);
  if (do_create(o, COVE_START_SYNC, &c, err) < 0)
    return -1;
  flock(c.dirfd, LOCK_UN);
  h->dirfd = steal_fd(c.dirfd);
  h->pid = c.pid;
  h->pidfd = steal_fd(c.pidfd);
  h->sync_fd = steal_fd(c.socks[0]);
  create_release(&c, false);
  return 0;
}

/* Like run: the init answers SYNC_START with an error (startContainer
 * hook, exec) or with EOF when execve closes its end. */
int cove_container_release(struct cove_container_handle *h, cove_err *err)
{
  return start_held(&h->sync_fd, err);
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
    cove_kill_and_reap(h->pid, h->pidfd);
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
