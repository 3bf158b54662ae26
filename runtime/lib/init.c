/* The container's first process, from clone to execve.
 *
 * It runs cove's code inside the new namespaces, so until execve it is
 * treated as exposed: it is made non-dumpable as soon as the parent has
 * written its id maps (no ptrace, no /proc/PID/exe or /proc/PID/fd for
 * anything else in the container — CVE-2019-5736), every inherited fd is
 * marked close-on-exec (CVE-2024-21626), and it never re-opens the cove
 * binary. The seccomp filter is loaded last so cove's own setup is not
 * constrained by it. */
#include "internal.h"
#include "cove/jsongen.h"
#include "process.h"

#include "cove/cleanup.h"
#include "cove/fsutil.h"
#include "hooks.h"
#include "cove/log.h"
#include "procfs.h"
#include "cove/netlink.h"
#include "security.h"
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *env_lookup(const struct cove_strv *env, const char *key)
{
  size_t kl = strlen(key);
  for (size_t i = 0; i < env->n; i++)
    if (strncmp(env->v[i], key, kl) == 0 && env->v[i][kl] == '=')
      return env->v[i] + kl + 1;
  return NULL;
}

/* PATH search with the container's PATH, not the caller's: execvpe would
 * consult our own (host) environment. */
int cove_find_executable(const struct cove_process *p, char *out, size_t cap, cove_err *err)
{
  const char *a0 = p->args.v[0];
  struct stat st;
  if (strchr(a0, '/')) {
    if (stat(a0, &st) < 0)
      return cove_error(err, errno, "exec: \"%s\"", a0);
    if (S_ISDIR(st.st_mode))
      return cove_error(err, EACCES, "exec: \"%s\": is a directory", a0);
    snprintf(out, cap, "%s", a0);
    return 0;
  }
  const char *path = env_lookup(&p->env, "PATH");
  if (!path)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  const char *s = path;
  while (*s) {
    const char *e = strchrnul(s, ':');
    int n = (int)(e - s);
    snprintf(out, cap, "%.*s%s%s", n, s, n ? "/" : "", a0);
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
      return 0;
    s = *e ? e + 1 : e;
  }
  return cove_error(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", a0);
}

static int write_proc_self(const char *name, const char *data, cove_err *err)
{
  char rel[64];
  snprintf(rel, sizeof rel, "self/%s", name);
  if (cove_procfs_write(rel, data, err) == 0)
    return 0;
  /* A non-dumpable task's /proc files belong to the host's root, which a
   * rootless user namespace cannot map: become dumpable for this one write.
   * Nothing else runs in our namespaces yet that could use the window. */
  if (err->code != EACCES || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
    return -1;
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
    return -1;
  int r = cove_procfs_write(rel, data, err);
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return cove_error(err, errno, "prctl(PR_SET_DUMPABLE)");
  return r;
}

static int setup_time_ns(const struct cove_spec *s, cove_err *err)
{
  if (!s->ns[COVE_NS_TIME].wanted || s->ns[COVE_NS_TIME].path)
    return 0;
  if (unshare(cove_ns_clone_flag(COVE_NS_TIME)) < 0)
    return cove_error(err, errno, "unshare time namespace");
  if (s->has_time_offsets) {
    char buf[128];
    snprintf(buf, sizeof buf, "monotonic %lld %u\nboottime %lld %u\n", (long long)s->monotonic_secs,
             s->monotonic_nsecs, (long long)s->boottime_secs, s->boottime_nsecs);
    if (write_proc_self("timens_offsets", buf, err) < 0)
      return cove_error_prefix(err, "linux.timeOffsets");
  }
  return 0;
}

static int apply_sysctl(const struct cove_spec *s, cove_err *err)
{
  for (size_t i = 0; i < s->n_sysctl; i++) {
    char rel[512];
    snprintf(rel, sizeof rel, "sys/%s", s->sysctl[i].key);
    for (char *c = rel + 4; *c; c++)
      if (*c == '.')
        *c = '/';
    if (cove_procfs_write(rel, s->sysctl[i].value, err) < 0)
      return cove_error_prefix(err, "linux.sysctl.%s", s->sysctl[i].key);
  }
  return 0;
}

static int wait_for_start(struct cove_init_ctx *ctx, cove_err *err)
{
  if (ctx->start_mode != COVE_START_FIFO) {
    struct cove_sync_msg m;
    if (cove_sync_recv(ctx->sync_fd, &m, err) < 0)
      return -1;
    if (m.type != SYNC_START)
      return cove_error(err, EPROTO, "unexpected sync message %d", m.type);
    return 0;
  }
  char c;
  ssize_t n;
  do
    n = read(ctx->fifo_fd, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    return cove_error(err, errno, "wait for start");
  return 0;
}

static int setup(struct cove_init_ctx *ctx, struct cove_proc *pr, cove_err *err)
{
  const struct cove_spec *s = ctx->spec;
  const struct cove_process *p = &s->process;

  /* Without a new user namespace nobody needs to write our /proc files:
   * close the ptrace and /proc window at once (joined pid namespaces may
   * already hold hostile processes). With one, the parent must still
   * write uid_map, which a non-dumpable task's /proc refuses rootless. */
  if (!(ctx->userns && !s->ns[COVE_NS_USER].path) && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return cove_error(err, errno, "prctl(PR_SET_DUMPABLE)");
  /* Wait until the parent knows our pid and has written our id maps. */
  struct cove_sync_msg m;
  if (cove_sync_recv(ctx->sync_fd, &m, err) < 0)
    return -1;
  if (m.type != SYNC_GO)
    return cove_error(err, EPROTO, "unexpected sync message %d", m.type);
  ctx->host_pid = m.pid;
  /* From here on nothing in the container may inspect or trace us. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return cove_error(err, errno, "prctl(PR_SET_DUMPABLE)");
  if (ctx->userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
    return cove_error(err, errno, "become root in the user namespace (is container id 0 mapped?)");

  if (!ctx->no_new_keyring && syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0)
    cove_debug("new session keyring: %s", strerror(errno));

  /* The runtime has placed us in our cgroups by now: a cgroup namespace
   * made here has them as its root. */
  if (ctx->defer_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
    return cove_error(err, errno, "unshare cgroup namespace");
  if (setup_time_ns(s, err) < 0)
    return -1;
  if (s->ns[COVE_NS_UTS].wanted) {
    if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
      return cove_error(err, errno, "hostname");
    if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
      return cove_error(err, errno, "domainname");
  }
  if (s->ns[COVE_NS_NET].wanted && !s->ns[COVE_NS_NET].path && cove_net_loopback_up(err) < 0)
    return cove_error_prefix(err, "network namespace");

  /* The listener socket is a host path: connect while it is reachable. */
  if (s->has_seccomp && (ctx->listener_fd = cove_seccomp_listener_connect(&s->seccomp, err)) == -1)
    return cove_error_prefix(err, "linux.seccomp.listenerPath");
  if (cove_rootfs_setup(ctx, err) < 0)
    return -1;
  /* The runtime's /proc writes get their own procfs now, while the
   * container's /proc is still whole: a user namespace may mount a new one
   * only while an existing one is fully visible, and the masks come next. */
  if ((s->n_sysctl || p->has_oom_score_adj || (p->apparmor_profile && *p->apparmor_profile) ||
       (p->selinux_label && *p->selinux_label)) &&
      cove_procfs_root(err) < 0)
    return -1;
  /* The terminal is set up before the root can turn read-only, because
   * /dev/console may have to be created. */
  if (p->terminal && ctx->console_fd >= 0) {
    if (cove_console_setup(ctx->console_fd, p->console_height, p->console_width, err) < 0)
      return cove_error_prefix(err, "process.terminal");
    close(ctx->console_fd);
    ctx->console_fd = -1;
    if (cove_rootfs_bind_console(ctx, err) < 0)
      return -1;
  }
  if (apply_sysctl(s, err) < 0)
    return -1;
  if (cove_rootfs_finalize(ctx, err) < 0)
    return -1;

  /* A new session even without a terminal (the console setup made one):
   * the container must not be able to TIOCSTI into the caller's terminal. */
  if (!p->terminal && setsid() < 0)
    return cove_error(err, errno, "setsid");

  if (s->has_personality && personality(s->personality) < 0)
    return cove_error(err, errno, "linux.personality");
  if (p->has_oom_score_adj) {
    char buf[16];
    snprintf(buf, sizeof buf, "%d", p->oom_score_adj);
    if (write_proc_self("oom_score_adj", buf, err) < 0)
      return cove_error_prefix(err, "process.oomScoreAdj");
  }
  /* The cwd is created when missing, as runc does. */
  return cove_proc_prepare(pr, err);
}

/* Called between the mounts and pivot_root (rootfs.c). prestart and
 * createRuntime run in the runtime namespace, so the parent runs them while
 * we wait; createContainer runs here, in the container's namespaces, with
 * the host's tree still reachable (its path resolves in the runtime's
 * filesystem view, as config.md asks). */
int cove_init_before_pivot(const struct cove_init_ctx *ctx, cove_err *err)
{
  const struct cove_hooks *h = &ctx->spec->hooks;
  if (h->n_prestart || h->n_create_runtime) {
    if (cove_sync_send(ctx->sync_fd, SYNC_HOOKS, 0, NULL) < 0)
      return cove_error(err, errno, "ask the runtime to run createRuntime hooks");
    struct cove_sync_msg m;
    if (cove_sync_recv(ctx->sync_fd, &m, err) < 0)
      return -1;
    if (m.type != SYNC_HOOKS_DONE)
      return cove_error(err, EPROTO, "unexpected sync message %d", m.type);
  }
  if (!h->n_create_container)
    return 0;
  _cleanup_free_ char *ann = cove_spec_annotations_json(ctx->spec);
  _cleanup_free_ char *state =
    cove_hook_state_json(ctx->spec->oci_version, ctx->id, "creating", getpid(), ctx->bundle, ann);
  return cove_hooks_run(h->create_container, h->n_create_container, "createContainer", state, err);
}

static int run_start_container_hooks(const struct cove_init_ctx *ctx, cove_err *err)
{
  const struct cove_hooks *h = &ctx->spec->hooks;
  if (!h->n_start_container)
    return 0;
  _cleanup_free_ char *ann = cove_spec_annotations_json(ctx->spec);
  _cleanup_free_ char *state =
    cove_hook_state_json(ctx->spec->oci_version, ctx->id, "created", getpid(), ctx->bundle, ann);
  return cove_hooks_run(h->start_container, h->n_start_container, "startContainer", state, err);
}

/* The container state for the seccomp agent (runtime.md "State"). The
 * bundle path and the annotations are arbitrary strings, so it goes through
 * the JSON generator, never string formatting. */
/* The agent behind listenerPath gets the container's state, as hooks do. */
static int load_filter(void *data, cove_seccomp_filter filter, cove_err *err)
{
  struct cove_init_ctx *ctx = data;
  _cleanup_free_ char *ann = NULL, *state = NULL;
  if (cove_seccomp_uses_notify(&ctx->spec->seccomp)) {
    ann = cove_spec_annotations_json(ctx->spec);
    state = cove_hook_state_json(ctx->spec->oci_version, ctx->id, "running", ctx->host_pid, ctx->bundle, ann);
    if (!state)
      return cove_error(err, ENOMEM, "linux.seccomp.listenerPath: container state");
  }
  return cove_seccomp_load_notify(&ctx->spec->seccomp, filter, ctx->listener_fd, ctx->host_pid, state, err);
}

void cove_init_main(struct cove_init_ctx *ctx)
{
  cove_err err = {0};
  const struct cove_spec *s = ctx->spec;
  struct cove_proc pr = {.p = &s->process, .seccomp = s->has_seccomp ? &s->seccomp : NULL, .userns = ctx->userns,
                         .create_cwd = true, .pdeathsig = ctx->start_mode == COVE_START_SYNC,
                         .preserve_fds = ctx->preserve_fds, .load_filter = load_filter, .data = ctx};

  if (setup(ctx, &pr, &err) < 0)
    goto fail;
  /* `create` and `run --detach` exit soon after READY and we must outlive
   * them: drop the parent-death signal before READY, or the runtime's exit
   * could beat the prctl. A foreground `run` keeps it. */
  if (ctx->start_mode != COVE_START_SYNC)
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (cove_sync_send(ctx->sync_fd, SYNC_READY, 0, NULL) < 0)
    _exit(1);
  if (wait_for_start(ctx, &err) < 0)
    goto fail;
  if (run_start_container_hooks(ctx, &err) == 0)
    cove_proc_exec(&pr, &err);
  /* After start the runtime (run) waits on the sync socket, `cove start`
   * on start.fifo, for either this error or the close-on-exec EOF. */
  if (ctx->start_mode != COVE_START_FIFO)
    cove_sync_send(ctx->sync_fd, SYNC_ERROR, 0, &err);
  else if (ctx->start_fd < 0 || write(ctx->start_fd, &err, sizeof err) != (ssize_t)sizeof err) {
    char text[4 * sizeof err.msg];
    cove_text_escape(text, sizeof text, err.msg);
    dprintf(STDERR_FILENO, "cove: %s\n", text);
  }
  _exit(err.code == ENOENT ? 127 : 126);
fail:
  cove_sync_send(ctx->sync_fd, SYNC_ERROR, 0, &err);
  _exit(1);
}
