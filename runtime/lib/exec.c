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
#include "cove/hooks.h"
#include "cove/json.h"
#include "cove/log.h"
#include "cove/security.h"
#include "cove/spec.h"
#include "cove/state.h"
#include "cove/terminal.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* /proc/PID/ns names, in the order a per-namespace join must take them:
 * user first (it grants the rights for the rest), mount last. */
static const struct {
  const char *name;
  int flag;
} ns_order[] = {
  {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},     {"net", CLONE_NEWNET},
  {"pid", CLONE_NEWPID},   {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},   {"mnt", CLONE_NEWNS},
};
#define N_NS (sizeof ns_order / sizeof *ns_order)

struct exec_ctx {
  const struct cove_exec_opts *o;
  struct cove_cgroup cg; /* the container's recorded cgroups (cgroup.h) */
  const struct cove_spec *spec;
  const struct cove_process *p;
  const struct cove_state *st;
  int pidfd;           /* the container's init */
  int ns_fds[N_NS];    /* its namespaces that differ from ours, else -1 */
  int ns_flags;
  int root_fd;         /* the init's root when it shares our mount namespace, else -1 */
  int sync_fd;         /* child end */
  int console_fd;      /* console socket or our pair's far end, -1 */
  int listener_fd;     /* seccomp notify listener, COVE_SECCOMP_NO_LISTENER */
  sigset_t sigmask;    /* the caller's, restored in the process */
};

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
  if (b->tree)
    yajl_tree_free(b->tree);
}

static int read_process_file(struct built *b, const char *path, cove_err *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cove_error(err, errno, "--process %s", path);
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 4 * 1024 * 1024)
    return cove_error(err, errno ? errno : EINVAL, "--process %s: not a regular file of sane size", path);
  _cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
  if (!buf)
    return cove_error(err, ENOMEM, "--process %s", path);
  size_t len = 0;
  while (len < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = 0;
  char ebuf[256] = "";
  b->tree = yajl_tree_parse(buf, ebuf, sizeof ebuf);
  if (!b->tree) {
    ebuf[strcspn(ebuf, "\n")] = 0;
    return cove_error(err, 0, "--process %s: not valid JSON: %s", path, ebuf);
  }
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
  if (o->n_env) {
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
  }
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
  if (o->n_caps) {
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
  }
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

static int switch_user(const struct cove_process *p, bool userns, cove_err *err)
{
  if (setgroups(p->n_additional_gids, p->additional_gids) < 0 &&
      !(errno == EPERM && userns && p->n_additional_gids == 0))
    return cove_error(err, errno, "process.user.additionalGids: setgroups");
  if (setresgid(p->gid, p->gid, p->gid) < 0)
    return cove_error(err, errno, "process.user.gid: setresgid(%u)", p->gid);
  if (setresuid(p->uid, p->uid, p->uid) < 0)
    return cove_error(err, errno, "process.user.uid: setresuid(%u)", p->uid);
  return 0;
}

static int child_setup(struct exec_ctx *x, char *exe, size_t cap, cove_seccomp_filter *filter, cove_err *err)
{
  const struct cove_process *p = x->p;
  if (p->terminal) {
    int m = open_container_ptmx(err);
    if (m < 0 || cove_console_setup_master(m, x->console_fd, p->console_height, p->console_width, err) < 0)
      return cove_error_prefix(err, "terminal");
    close(x->console_fd);
    x->console_fd = -1;
  } else if (setsid() < 0) {
    /* no controlling terminal to TIOCSTI into (CVE-2017-5226) */
    return cove_error(err, errno, "setsid");
  }
  if (cove_rlimits_apply(p, err) < 0)
    return -1;
  {
    /* Inside the root, no magic links: a planted /proc/self/fd/N cwd must
     * not lead to a host directory (CVE-2024-21626). */
    _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int d = root < 0 ? -1 : cove_open_in_root(root, p->cwd, O_PATH | O_DIRECTORY, err);
    if (d < 0)
      return cove_error_prefix(err, "process.cwd");
    if (fchdir(d) < 0)
      return cove_error(err, errno, "process.cwd: %s", p->cwd);
  }
  if (cove_find_executable(p, exe, cap, err) < 0)
    return -1;
  if (x->spec->has_seccomp && cove_seccomp_prepare(&x->spec->seccomp, filter, err) < 0)
    return cove_error_prefix(err, "linux.seccomp");
  unsigned first = 3 + (unsigned)x->o->preserve_fds;
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return cove_error(err, errno, "close_range");
  for (int fd = 3; fd < (int)first; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
      return cove_error(err, errno, "--preserve-fds: fd %d", fd);
  }
  return 0;
}

static int load_filter(struct exec_ctx *x, cove_seccomp_filter f, cove_err *err)
{
  _cleanup_free_ char *state = cove_hook_state_json(x->st->oci_version, x->st->id, "running", x->st->pid,
                                                    x->st->bundle, x->st->annotations_json);
  int l = x->listener_fd;
  x->listener_fd = COVE_SECCOMP_NO_LISTENER;
  return cove_seccomp_load_notify(&x->spec->seccomp, f, l, state ? state : "{}", err);
}

__attribute__((noreturn)) static void exec_child(struct exec_ctx *x)
{
  cove_err err = {0};
  char exe[4096];
  cove_seccomp_filter filter = NULL;
  const struct cove_process *p = x->p;
  bool userns = x->ns_flags & CLONE_NEWUSER;

  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, &x->sigmask, NULL);
  if (!x->o->detach)
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  if (child_setup(x, exe, sizeof exe, &filter, &err) < 0)
    goto fail;
  if (p->has_umask)
    umask(p->umask);
  bool seccomp_early = filter && !p->no_new_privileges;
  if (seccomp_early && load_filter(x, filter, &err) < 0)
    goto fail;
  if (cove_caps_apply_bounding(&p->caps, &err) < 0 || switch_user(p, userns, &err) < 0 ||
      cove_caps_apply(&p->caps, &err) < 0)
    goto fail;
  if (cove_process_apply_lsm_nnp(p, &err) < 0)
    goto fail;
  if (!x->o->detach)
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* the uid change cleared it */
  if (filter && !seccomp_early && load_filter(x, filter, &err) < 0)
    goto fail;
  execve(exe, (char *const *)p->args.v, (char *const *)p->env.v);
  cove_error(&err, errno, "exec %s", exe);
fail:
  cove_sync_send(x->sync_fd, SYNC_ERROR, 0, &err);
  _exit(err.code == ENOENT ? 127 : 126);
}

/* ---- joining ---------------------------------------------------------- */

/* A container without a mount namespace (spec.c) is only chrooted into its
 * rootfs: setns() gives no root then, so the process chroots to the init's
 * own, held by fd from before anything of the container is joined. */
static int open_shared_root(struct exec_ctx *x, cove_err *err)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/root", (int)x->st->pid);
  x->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (x->root_fd < 0)
    return cove_error(err, errno, "open %s", path);
  return 0;
}

static int enter_shared_root(const struct exec_ctx *x, cove_err *err)
{
  if (x->root_fd < 0)
    return 0;
  if (fchdir(x->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
    return cove_error(err, errno, "chroot into the container's root (it has no mount namespace)");
  return 0;
}

static int open_ns(struct exec_ctx *x, cove_err *err)
{
  x->ns_flags = 0;
  for (size_t i = 0; i < N_NS; i++) {
    x->ns_fds[i] = -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)x->st->pid, ns_order[i].name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT)
        continue; /* namespace type not in this kernel */
      return cove_error(err, errno, "open %s", path);
    }
    char self[64];
    snprintf(self, sizeof self, "/proc/self/ns/%s", ns_order[i].name);
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      close(fd); /* shared with us: nothing to join */
      if (ns_order[i].flag == CLONE_NEWNS && open_shared_root(x, err) < 0)
        return -1;
      continue;
    }
    x->ns_fds[i] = fd;
    x->ns_flags |= ns_order[i].flag;
  }
  /* the fds were opened by pid: make sure it still was our init */
  struct pollfd pf = {.fd = x->pidfd, .events = POLLIN};
  if (poll(&pf, 1, 0) != 0)
    return cove_error(err, ESRCH, "container \"%s\": container not running (its init exited)", x->st->id);
  return 0;
}

static void close_ns(struct exec_ctx *x)
{
  cove_closep(&x->root_fd);
  for (size_t i = 0; i < N_NS; i++)
    cove_closep(&x->ns_fds[i]);
}

static int join_ns(struct exec_ctx *x, cove_err *err)
{
  if (!x->ns_flags)
    return 0;
  /* One call joins them all, user namespace first, atomically (≥ 5.8). */
  if (setns(x->pidfd, x->ns_flags) == 0)
    return 0;
  if (errno != EINVAL)
    return cove_error(err, errno, "join the container's namespaces");
  for (size_t i = 0; i < N_NS; i++)
    if (x->ns_fds[i] >= 0 && setns(x->ns_fds[i], ns_order[i].flag) < 0)
      return cove_error(err, errno, "join the container's %s namespace", ns_order[i].name);
  return 0;
}

static pid_t clone_parent(void)
{
  struct clone_args a = {.flags = CLONE_PARENT};
  return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

__attribute__((noreturn)) static void joiner(struct exec_ctx *x)
{
  cove_err err = {0};
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    cove_error(&err, errno, "prctl(PR_SET_DUMPABLE)");
    goto fail;
  }
  /* A cgroup cove made holds the limits: joining it must not fail
   * quietly, or the exec'd process would run unlimited. */
  if (x->cg.active) {
    if (cove_cgroup_enter(&x->cg, getpid(), false, &err) < 0)
      goto fail;
  } else {
    cove_cgroup_join_of(x->st->pid);
  }
  if (join_ns(x, &err) < 0 || enter_shared_root(x, &err) < 0)
    goto fail;
  close_ns(x);
  pid_t pid = clone_parent();
  if (pid < 0) {
    cove_error(&err, errno, "clone into the container");
    goto fail;
  }
  if (pid == 0)
    exec_child(x);
  cove_sync_send(x->sync_fd, SYNC_CHILD_PID, pid, NULL);
  _exit(0);
fail:
  cove_sync_send(x->sync_fd, SYNC_ERROR, 0, &err);
  _exit(1);
}

/* ---- the caller's side ------------------------------------------------ */

static int exit_status(int st)
{
  if (WIFEXITED(st))
    return WEXITSTATUS(st);
  if (WIFSIGNALED(st))
    return 128 + WTERMSIG(st);
  return 255;
}

static int wait_foreground(pid_t pid, int pidfd, int console, const sigset_t *old, int *status, cove_err *err)
{
  if (console >= 0) {
    _cleanup_close_ int master = cove_console_recv_fd(console, err);
    if (master < 0)
      return -1;
    sigprocmask(SIG_SETMASK, old, NULL);
    if (cove_console_proxy(master, err) < 0)
      return -1;
  } else {
    sigset_t all;
    sigfillset(&all);
    _cleanup_close_ int sfd = signalfd(-1, &all, SFD_CLOEXEC);
    struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    for (;;) {
      int n = poll(p, sfd >= 0 ? 2 : 1, -1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || (p[0].revents & (POLLIN | POLLHUP)))
        break;
      struct signalfd_siginfo si;
      if ((p[1].revents & POLLIN) && read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGCHLD &&
          si.ssi_signo != SIGWINCH && si.ssi_signo != SIGURG)
        syscall(SYS_pidfd_send_signal, pidfd, (int)si.ssi_signo, NULL, 0);
    }
  }
  int wst;
  while (waitpid(pid, &wst, __WALL) < 0)
    if (errno != EINTR)
      return cove_error(err, errno, "wait for the exec'd process");
  *status = exit_status(wst);
  return 0;
}

int cove_container_exec(const struct cove_exec_opts *o, int *status, cove_err *err)
{
  int ret = -1;
  struct cove_spec spec = {0};
  struct built b = {0};
  struct cove_state st = {0};
  struct exec_ctx x = {.o = o, .pidfd = -1, .root_fd = -1, .sync_fd = -1, .console_fd = -1,
                       .listener_fd = COVE_SECCOMP_NO_LISTENER};
  for (size_t i = 0; i < N_NS; i++)
    x.ns_fds[i] = -1;
  int socks[2] = {-1, -1}, pair[2] = {-1, -1};
  pid_t pid = -1;
  _cleanup_close_ int ppidfd = -1;
  sigset_t all, old;
  bool blocked = false;

  if (o->preserve_fds < 0 || o->preserve_fds > 4096)
    return cove_error(err, 0, "--preserve-fds %d: out of range", o->preserve_fds);
  _cleanup_close_ int dirfd = cove_state_open(o->root, o->id, err);
  if (dirfd < 0)
    return -1;
  if (cove_state_read(dirfd, &st, err) < 0)
    return -1;
  x.st = &st;
  if (cove_cgroup_load(dirfd, &x.cg, err) < 0)
    goto out;
  if (st.status != COVE_RUNNING && st.status != COVE_CREATED) {
    cove_error(err, 0, "cannot exec in container \"%s\": container not running (it is %s)", o->id,
               cove_status_name(st.status));
    goto out;
  }
  x.pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
  if (x.pidfd < 0 || cove_state_status(dirfd, &st) == COVE_STOPPED) {
    cove_error(err, 0, "cannot exec in container \"%s\": container not running", o->id);
    goto out;
  }
  if (cove_container_is_paused(st.pid)) {
    cove_error(err, 0, "cannot exec in container \"%s\": it is paused (resume it first)", o->id);
    goto out;
  }
  /* runc's rule: the container's seccomp filter applies to exec too */
  if (cove_state_load_spec(dirfd, &st, &spec, err) < 0)
    goto out;
  x.spec = &spec;
  if (build_process(&b, o, &spec, err) < 0)
    goto out;
  x.p = &b.p;
  if (x.p->terminal) {
    if (o->console_socket) {
      if ((x.console_fd = cove_console_socket_connect(o->console_socket, err)) < 0)
        goto out;
    } else if (!o->detach) {
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        cove_error(err, errno, "socketpair");
        goto out;
      }
      x.console_fd = pair[1];
    } else {
      cove_error(err, 0, "exec: a terminal was asked for but no --console-socket was given (needed with --detach)");
      goto out;
    }
  } else if (o->console_socket) {
    cove_error(err, 0, "exec: --console-socket needs a terminal (--tty or process.terminal)");
    goto out;
  }
  if (spec.has_seccomp && (x.listener_fd = cove_seccomp_listener_connect(&spec.seccomp, err)) == -1) {
    cove_error_prefix(err, "linux.seccomp.listenerPath");
    goto out;
  }
  if (open_ns(&x, err) < 0)
    goto out;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) < 0) {
    cove_error(err, errno, "socketpair");
    goto out;
  }
  x.sync_fd = socks[1];

  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  blocked = true;
  x.sigmask = old;
  pid_t j = fork();
  if (j < 0) {
    cove_error(err, errno, "fork");
    goto out;
  }
  if (j == 0) {
    close(socks[0]);
    close(dirfd); /* the id's lock */
    joiner(&x);
  }
  cove_closep(&socks[1]);
  x.sync_fd = -1;
  cove_closep(&pair[1]);
  if (o->console_socket)
    cove_closep(&x.console_fd);
  x.console_fd = -1;
  if (x.listener_fd >= 0)
    cove_closep(&x.listener_fd);
  close_ns(&x);
  while (waitpid(j, NULL, 0) < 0 && errno == EINTR)
    ;
  struct cove_sync_msg m;
  if (cove_sync_recv(socks[0], &m, err) < 0)
    goto out;
  if (m.type == SYNC_ERROR) {
    *err = m.err;
    goto out;
  }
  if (m.type != SYNC_CHILD_PID) {
    cove_error(err, EPROTO, "unexpected message from the namespace joiner");
    goto out;
  }
  pid = m.pid;
  ppidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  /* An error before execve, or EOF when execve closed the socket. */
  ssize_t n;
  do
    n = recv(socks[0], &m, sizeof m, 0);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof m && m.type == SYNC_ERROR) {
    m.err.msg[sizeof m.err.msg - 1] = 0;
    *err = m.err;
    goto out;
  }
  cove_closep(&dirfd); /* unlock: the process runs now */
  if (o->pid_file && cove_write_pid_file(o->pid_file, pid, err) < 0)
    goto out;
  if (o->detach) {
    *status = 0;
    pid = -1; /* not ours to reap: the caller (a shim) is the subreaper */
    ret = 0;
    goto out;
  }
  if (wait_foreground(pid, ppidfd, pair[0], &old, status, err) < 0)
    goto out;
  pid = -1;
  ret = 0;
out:
  if (pid > 0) {
    if (ppidfd >= 0)
      syscall(SYS_pidfd_send_signal, ppidfd, SIGKILL, NULL, 0);
    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
      ;
  }
  if (blocked)
    sigprocmask(SIG_SETMASK, &old, NULL);
  for (int i = 0; i < 2; i++) {
    cove_closep(&socks[i]);
    cove_closep(&pair[i]);
  }
  if (o->console_socket)
    cove_closep(&x.console_fd);
  if (x.listener_fd >= 0)
    close(x.listener_fd);
  close_ns(&x);
  cove_closep(&x.pidfd);
  built_free(&b);
  cove_spec_free(&spec);
  cove_cgroup_release(&x.cg);
  cove_state_release(&st);
  return ret;
}
