/* cove exec.
 *
 *   cove exec (us)                 joiner (fork)              process (clone)
 *   state: running, not paused
 *   pidfd of the init, ns fds,
 *   recheck the init is alive
 *   parse config.json + process
 *   console / seccomp listener
 *   fork ───────────────────────►  non-dumpable
 *                                  join the init's cgroups
 *                                  setns(pidfd, all ns) ──►  (CLONE_PARENT: our child,
 *   ◄── child pid ───────────────  exit                       in the container's pid ns)
 *                                                            setsid / pty, rlimits, cwd,
 *                                                            find exe, seccomp, caps, user
 *   ◄── error, or EOF at execve ───────────────────────────  execve
 *   pid file; detach: exit
 *   else forward signals / proxy the pty, wait, exit status
 *
 * Our own process never changes namespace, and nothing in the container
 * can reach cove's binary: the joiner and the process are non-dumpable
 * until execve replaces the image (CVE-2019-5736). */
#include "cove/exec.h"
#include "cove/cgroup.h"

#include "cove/cleanup.h"
#include "cove/fsutil.h"
#include "hooks.h"
#include "cove/json.h"
#include "cove/log.h"
#include "cove/readfile.h"
#include "security.h"
#include "cove/spec.h"
#include "cove/state.h"
#include "terminal.h"
#include "internal.h"
#include "process.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

/* ---- building the process ------------------------------------------- */

struct built {
  struct cove_process base; /* parsed from --process (owned) or config's */
  bool own_base;
  yajl_val tree;
  struct cove_process p;    /* base + command-line overrides */
  void *allocs[8];
  size_t n_allocs;
};

static void *track(struct built *b, void *ptr)
{
  if (ptr && b->n_allocs < sizeof b->allocs / sizeof *b->allocs)
    b->allocs[b->n_allocs++] = ptr;
  return ptr;
}

static void built_free(struct built *b)
{
  for (size_t i = 0; i < b->n_allocs; i++)
    free(b->allocs[i]);
  if (b->own_base)
    cove_process_free(&b->base);
  cove_json_tree_free(b->tree);
}

static int read_process_file(struct built *b, const char *path, cove_err *err)
{
  char what[4096];
  snprintf(what, sizeof what, "--process %s", path);
  _cleanup_free_ char *buf = cove_read_file_at(AT_FDCWD, path, 0, 4 * 1024 * 1024, NULL, what, err);
  if (!buf || !(b->tree = cove_json_tree(buf, strlen(buf), what, err)))
    return -1;
  if (!YAJL_IS_OBJECT(b->tree))
    return cove_error(err, 0, "--process %s: expected a JSON object, got %s", path, cove_json_type_name(b->tree));
  b->own_base = true;
  if (cove_process_parse(b->tree, &b->base, err) < 0)
    return cove_error_prefix(err, "--process %s", path);
  return 0;
}

static int add_caps(struct built *b, struct cove_capset *set, const int *add, size_t n, cove_err *err)
{
  int *v = track(b, calloc(set->n + n + 1, sizeof *v));
  if (!v)
    return cove_error(err, ENOMEM, "--cap");
  if (set->n) /* memcpy from NULL is undefined even for 0 bytes */
    memcpy(v, set->caps, set->n * sizeof *v);
  size_t k = set->n;
  for (size_t i = 0; i < n; i++) {
    bool dup = false;
    for (size_t j = 0; j < k; j++)
      dup |= v[j] == add[i];
    if (!dup)
      v[k++] = add[i];
  }
  set->caps = v;
  set->n = k;
  return 0;
}

/* --env KEY=VALUE: replaces the container's KEY, or is added. */
static int merge_env(struct built *b, struct cove_process *p, const struct cove_exec_opts *o, cove_err *err)
{
  const char **e = track(b, calloc(p->env.n + o->n_env + 1, sizeof *e));
  if (!e)
    return cove_error(err, ENOMEM, "--env");
  if (p->env.n)
    memcpy(e, p->env.v, p->env.n * sizeof *e);
  size_t n = p->env.n;
  for (size_t i = 0; i < o->n_env; i++) {
    const char *kv = o->env[i], *eq = strchr(kv, '=');
    if (!eq || eq == kv)
      return cove_error(err, 0, "--env \"%s\": expected KEY=VALUE", kv);
    size_t kl = (size_t)(eq - kv) + 1;
    size_t j = 0;
    while (j < n && strncmp(e[j], kv, kl) != 0)
      j++;
    e[j] = kv;
    if (j == n)
      n++;
  }
  p->env = (struct cove_strv){e, n};
  return 0;
}

/* --cap CAP_X: added to the bounding, effective and permitted sets. */
static int add_cap_names(struct built *b, struct cove_process *p, const struct cove_exec_opts *o, cove_err *err)
{
  int *add = track(b, calloc(o->n_caps, sizeof *add));
  if (!add)
    return cove_error(err, ENOMEM, "--cap");
  for (size_t i = 0; i < o->n_caps; i++) {
    cap_value_t c;
    if (strncmp(o->caps[i], "CAP_", 4) != 0 || cap_from_name(o->caps[i], &c) < 0)
      return cove_error(err, 0, "--cap \"%s\": unknown capability", o->caps[i]);
    add[i] = c;
  }
  /* Not inheritable or ambient: a non-root process must not carry them
   * across its own execs (CVE-2022-29162). */
  p->caps.present = true;
  if (add_caps(b, &p->caps.bounding, add, o->n_caps, err) < 0 ||
      add_caps(b, &p->caps.effective, add, o->n_caps, err) < 0 ||
      add_caps(b, &p->caps.permitted, add, o->n_caps, err) < 0)
    return -1;
  return 0;
}

static int build_process(struct built *b, const struct cove_exec_opts *o, const struct cove_spec *spec, cove_err *err)
{
  if (o->process_file) {
    if (o->n_args)
      return cove_error(err, 0, "exec: give either --process FILE or a command, not both");
    if (read_process_file(b, o->process_file, err) < 0)
      return -1;
  } else {
    if (!o->n_args)
      return cove_error(err, 0, "exec: a command (or --process FILE) is required");
    if (!spec->has_process)
      return cove_error(err, 0, "config.json: process: missing");
    b->base = spec->process; /* borrowed: the container's defaults */
  }
  b->p = b->base;
  struct cove_process *p = &b->p;
  if (!o->process_file) {
    const char **a = track(b, calloc(o->n_args + 1, sizeof *a));
    if (!a)
      return cove_error(err, ENOMEM, "exec");
    for (size_t i = 0; i < o->n_args; i++)
      a[i] = o->args[i];
    p->args = (struct cove_strv){a, o->n_args};
    if (!*a[0])
      return cove_error(err, 0, "exec: the command must not be empty");
  }
  if (o->n_env && merge_env(b, p, o, err) < 0)
    return -1;
  if (o->tty)
    p->terminal = true;
  if (o->cwd) {
    if (o->cwd[0] != '/')
      return cove_error(err, 0, "--cwd \"%s\": must be an absolute path", o->cwd);
    p->cwd = o->cwd;
  }
  if (!p->cwd)
    p->cwd = "/";
  if (o->has_user) {
    p->uid = o->uid;
    if (o->has_gid)
      p->gid = o->gid;
  }
  if (o->n_additional_gids) {
    gid_t *g = track(b, calloc(p->n_additional_gids + o->n_additional_gids, sizeof *g));
    if (!g)
      return cove_error(err, ENOMEM, "--additional-gids");
    if (p->n_additional_gids)
      memcpy(g, p->additional_gids, p->n_additional_gids * sizeof *g);
    memcpy(g + p->n_additional_gids, o->additional_gids, o->n_additional_gids * sizeof *g);
    p->additional_gids = g;
    p->n_additional_gids += o->n_additional_gids;
  }
  if (o->n_caps && add_cap_names(b, p, o, err) < 0)
    return -1;
  if (o->no_new_privs)
    p->no_new_privileges = true;
  if (o->apparmor)
    p->apparmor_profile = o->apparmor;
  if (o->process_label)
    p->selinux_label = o->process_label;
  if (p->apparmor_profile && *p->apparmor_profile && !cove_lsm_enabled("apparmor"))
    return cove_error(err, 0, "process.apparmorProfile: AppArmor is not enabled on this host");
  if (p->selinux_label && *p->selinux_label && !cove_lsm_enabled("selinux"))
    return cove_error(err, 0, "process.selinuxLabel: SELinux is not enabled on this host");
  return 0;
}

/* ---- the process, inside the container ------------------------------ */

struct exec_ctx {
  const struct cove_exec_opts *o;
  struct cove_state st;
  struct cove_cgroup cg; /* the container's recorded cgroups (cgroup.h) */
  struct cove_spec spec; /* what create kept: seccomp, process defaults */
  struct built b;
  const struct cove_process *p;
  int dirfd;       /* the id's lock, held until the process runs */
  int pidfd;       /* the container's init */
  int root_fd;     /* the init's root when it shares our mount namespace, else -1 */
  int socks[2];    /* sync: ours, the children's */
  int pair[2];     /* terminal of a foreground exec without console socket */
  int console_fd;  /* the process's console socket (or pair end), -1 */
  int listener_fd; /* seccomp notify listener, COVE_SECCOMP_NO_LISTENER */
  struct cove_spawn sp;
  pid_t pid;       /* the exec'd process while it is ours to kill */
  int ppidfd;
  bool userns;     /* the process joins a user namespace */
  sigset_t old;    /* the caller's mask, restored in the process and at the end */
  bool blocked;
};

/* The pty comes from the container's own devpts, opened without following
 * anything out of its root, and must really be a ptmx: the container is
 * live and could have replaced /dev/ptmx. */
static int open_container_ptmx(cove_err *err)
{
  _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return cove_error(err, errno, "open /");
  _cleanup_close_ int m = cove_open_in_root(root, "/dev/ptmx", O_RDWR | O_NOCTTY, err);
  if (m < 0)
    return -1;
  struct stat st;
  if (fstat(m, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2)
    return cove_error(err, 0, "/dev/ptmx in the container is not the pty multiplexer");
  return steal_fd(m);
}

static int load_filter(void *data, cove_seccomp_filter f, cove_err *err)
{
  struct exec_ctx *x = data;
  _cleanup_free_ char *state = cove_hook_state_json(x->st.oci_version, x->st.id, "running", x->st.pid, x->st.bundle,
                                                    x->st.annotations_json);
  int l = x->listener_fd;
  x->listener_fd = COVE_SECCOMP_NO_LISTENER;
  return cove_seccomp_load_notify(&x->spec.seccomp, f, l, x->st.pid, state ? state : "{}", err);
}

__attribute__((noreturn)) static void exec_child(void *data)
{
  struct exec_ctx *x = data;
  cove_err err = {0};
  struct cove_proc pr = {.p = x->p, .seccomp = x->spec.has_seccomp ? &x->spec.seccomp : NULL,
                         .userns = x->userns, .pdeathsig = !x->o->detach,
                         .preserve_fds = x->o->preserve_fds, .load_filter = load_filter, .data = x};
  cove_proc_reset_signals(&x->old);
  if (pr.pdeathsig)
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (x->p->terminal) {
    int m = open_container_ptmx(&err);
    if (m < 0 || cove_console_setup_master(m, x->console_fd, x->p->console_height, x->p->console_width, &err) < 0) {
      cove_error_prefix(&err, "terminal");
      goto fail;
    }
    cove_closep(&x->console_fd);
  } else if (setsid() < 0) {
    /* no controlling terminal to TIOCSTI into (CVE-2017-5226) */
    cove_error(&err, errno, "setsid");
    goto fail;
  }
  if (cove_proc_prepare(&pr, &err) == 0)
    cove_proc_exec(&pr, &err);
fail:
  cove_sync_send(x->socks[1], SYNC_ERROR, 0, &err);
  _exit(err.code == ENOENT ? 127 : 126);
}

/* ---- joining ---------------------------------------------------------- */

/* In the joiner: nothing in the container may trace it or reach cove's
 * binary through it (CVE-2019-5736), and a cgroup cove made holds the
 * limits: joining it must not fail quietly, or the process would run
 * unlimited. */
static int before_join(void *data, cove_err *err)
{
  struct exec_ctx *x = data;
  cove_closep(&x->dirfd); /* the id's lock */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return cove_error(err, errno, "prctl(PR_SET_DUMPABLE)");
  if (x->cg.active)
    return cove_cgroup_enter(&x->cg, getpid(), false, err);
  cove_cgroup_join_of(x->st.pid);
  return 0;
}

/* A container without a mount namespace (spec.c) is only chrooted into its
 * rootfs: setns() gives no root then, so the process chroots to the init's
 * own, held by fd from before anything of the container is joined. */
static int after_join(void *data, cove_err *err)
{
  struct exec_ctx *x = data;
  if (x->root_fd < 0)
    return 0;
  if (fchdir(x->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
    return cove_error(err, errno, "chroot into the container's root (it has no mount namespace)");
  cove_closep(&x->root_fd);
  return 0;
}

/* The init's namespaces that differ from ours. */
static int open_ns(struct exec_ctx *x, cove_err *err)
{
  for (int k = 0; k < COVE_NS_COUNT; k++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)x->st.pid, cove_ns_proc_name(k));
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT)
        continue; /* namespace type not in this kernel */
      return cove_error(err, errno, "open %s", path);
    }
    char self[64];
    snprintf(self, sizeof self, "/proc/self/ns/%s", cove_ns_proc_name(k));
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      if (k != COVE_NS_MOUNT)
        continue; /* shared with us: nothing to join */
      snprintf(path, sizeof path, "/proc/%d/root", (int)x->st.pid);
      if ((x->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return cove_error(err, errno, "open %s", path);
      continue;
    }
    x->sp.ns_fds[k] = steal_fd(fd);
    x->userns |= k == COVE_NS_USER;
  }
  /* the fds were opened by pid: make sure it still was our init */
  struct pollfd pf = {.fd = x->pidfd, .events = POLLIN};
  if (poll(&pf, 1, 0) != 0)
    return cove_error(err, ESRCH, "container \"%s\": container not running (its init exited)", x->st.id);
  return 0;
}

/* ---- the caller's side ------------------------------------------------ */

static void exec_release(struct exec_ctx *x)
{
  if (x->pid > 0) {
    if (x->ppidfd >= 0)
      cove_pidfd_kill(x->ppidfd, SIGKILL);
    while (waitpid(x->pid, NULL, __WALL) < 0 && errno == EINTR)
      ;
  }
  if (x->blocked)
    sigprocmask(SIG_SETMASK, &x->old, NULL);
  for (int i = 0; i < 2; i++) {
    cove_closep(&x->socks[i]);
    cove_closep(&x->pair[i]);
  }
  cove_closep(&x->console_fd);
  if (x->listener_fd >= 0)
    close(x->listener_fd);
  cove_spawn_close_ns(&x->sp);
  cove_closep(&x->root_fd);
  cove_closep(&x->pidfd);
  cove_closep(&x->ppidfd);
  cove_closep(&x->dirfd);
  built_free(&x->b);
  cove_spec_free(&x->spec);
  cove_cgroup_release(&x->cg);
  cove_state_release(&x->st);
}

/* The container must be running (or created), not paused, and still the
 * init the state names. */
static int check_target(struct exec_ctx *x, cove_err *err)
{
  const struct cove_exec_opts *o = x->o;
  if (o->preserve_fds < 0 || o->preserve_fds > 4096)
    return cove_error(err, 0, "--preserve-fds %d: out of range", o->preserve_fds);
  if ((x->dirfd = cove_state_open(o->root, o->id, err)) < 0 || cove_state_read(x->dirfd, &x->st, err) < 0 ||
      cove_cgroup_load(x->dirfd, &x->cg, err) < 0)
    return -1;
  if (x->st.status != COVE_RUNNING && x->st.status != COVE_CREATED)
    return cove_error(err, 0, "cannot exec in container \"%s\": container not running (it is %s)", o->id,
                      cove_status_name(x->st.status));
  x->pidfd = cove_pidfd_open(x->st.pid);
  if (x->pidfd < 0 || cove_state_status(x->dirfd, &x->st) == COVE_STOPPED)
    return cove_error(err, 0, "cannot exec in container \"%s\": container not running", o->id);
  if (cove_container_is_paused(x->st.pid))
    return cove_error(err, 0, "cannot exec in container \"%s\": it is paused (resume it first)", o->id);
  return 0;
}

static int setup_console(struct exec_ctx *x, cove_err *err)
{
  const struct cove_exec_opts *o = x->o;
  if (!x->p->terminal) {
    if (o->console_socket)
      return cove_error(err, 0, "exec: --console-socket needs a terminal (--tty or process.terminal)");
    return 0;
  }
  if (o->console_socket)
    return (x->console_fd = cove_console_socket_connect(o->console_socket, err)) < 0 ? -1 : 0;
  if (o->detach)
    return cove_error(err, 0, "exec: a terminal was asked for but no --console-socket was given (needed with --detach)");
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, x->pair) < 0)
    return cove_error(err, errno, "socketpair");
  x->console_fd = steal_fd(x->pair[1]);
  return 0;
}

/* runc's rule: the container's seccomp filter applies to exec too. */
static int prepare(struct exec_ctx *x, cove_err *err)
{
  if (cove_state_load_spec(x->dirfd, &x->st, &x->spec, err) < 0 || build_process(&x->b, x->o, &x->spec, err) < 0)
    return -1;
  x->p = &x->b.p;
  if (setup_console(x, err) < 0)
    return -1;
  if (x->spec.has_seccomp && (x->listener_fd = cove_seccomp_listener_connect(&x->spec.seccomp, err)) == -1)
    return cove_error_prefix(err, "linux.seccomp.listenerPath");
  return open_ns(x, err);
}

static int spawn_process(struct exec_ctx *x, cove_err *err)
{
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x->socks) < 0)
    return cove_error(err, errno, "socketpair");
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &x->old);
  x->blocked = true;
  x->sp.join_pidfd = x->pidfd;
  x->sp.sync_fd = x->socks[1];
  x->sp.parent_fd = x->socks[0];
  x->sp.before_join = before_join;
  x->sp.after_join = after_join;
  x->sp.child = exec_child;
  x->sp.data = x;
  x->pid = cove_spawn(&x->sp, err);
  /* what only the children needed */
  cove_closep(&x->socks[1]);
  cove_closep(&x->console_fd);
  if (x->listener_fd >= 0)
    cove_closep(&x->listener_fd);
  cove_spawn_close_ns(&x->sp);
  cove_closep(&x->root_fd);
  if (x->pid < 0)
    return -1;
  x->ppidfd = cove_pidfd_open(x->pid);
  /* An error before execve, or EOF when execve closed the socket. */
  return cove_sync_recv_verdict(x->socks[0], err);
}

int cove_container_exec(const struct cove_exec_opts *o, int *status, cove_err *err)
{
  struct exec_ctx x = {.o = o, .dirfd = -1, .pidfd = -1, .root_fd = -1, .socks = {-1, -1}, .pair = {-1, -1},
                       .console_fd = -1, .listener_fd = COVE_SECCOMP_NO_LISTENER, .pid = -1, .ppidfd = -1};
  cove_spawn_init(&x.sp);
  int ret = -1;
  if (check_target(&x, err) < 0 || prepare(&x, err) < 0 || spawn_process(&x, err) < 0)
    goto out;
  cove_closep(&x.dirfd); /* unlock: the process runs now */
  if (o->pid_file && cove_write_pid_file(o->pid_file, x.pid, err) < 0)
    goto out;
  if (o->detach) {
    *status = 0;
    x.pid = -1; /* not ours to reap: the caller (a shim) is the subreaper */
    ret = 0;
  } else if (cove_proc_wait(x.pid, x.ppidfd, x.pair[0], &x.old, status, err) == 0) {
    x.pid = -1;
    ret = 0;
  }
out:
  exec_release(&x);
  return ret;
}
