/* One agent run, start to finish, and `cove agent gc`.
 *
 * Order matters for "nothing left behind": the policy, the allowlist and
 * every host path are checked before the first thing is created; the run
 * directory is created under an flock that lives as long as this process,
 * so gc can tell a crashed run (lock free) from a live one. The sandbox's
 * init carries PDEATHSIG=SIGKILL against us, and it is PID 1 of its pid
 * namespace, so our death (even SIGKILL) takes the whole sandbox down; gc
 * then only has files to remove (and, once cgroups land, the runtime's
 * delete removes the cgroup). */
#include "agent.h"
#include "cove/log.h"

#include "cove/units.h"

#include "cove/cleanup.h"
#include "cove/container.h"
#include "cove/json.h"
#include "cove/seccomp_cache.h"
#include "cove/spec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t agent_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The run base must be ours and private: in /tmp anybody could have
 * planted it. */
static int prepare_runbase(const char *base, cove_err *err)
{
  if (mkdir(base, 0700) < 0 && errno != EEXIST)
    return cove_error(err, errno, "mkdir %s", base);
  struct stat st;
  if (lstat(base, &st) < 0)
    return cove_error(err, errno, "%s", base);
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
    return cove_error(err, 0, "%s: not a private directory owned by uid %u (refusing to use it)", base,
                      (unsigned)geteuid());
  return 0;
}

static int make_run_dir(struct agent_ctx *c, int *lock_fd, cove_err *err)
{
  if (agent_mkdir_p(c->paths.runbase, 0700, err) < 0 || prepare_runbase(c->paths.runbase, err) < 0)
    return -1;
  snprintf(c->rundir, sizeof c->rundir, "%s/%s", c->paths.runbase, c->id);
  /* lock first (gc.c): it is what makes the directory findable by gc */
  if ((*lock_fd = agent_run_lock(c->paths.runbase, c->id, err)) < 0)
    return -1;
  if (mkdir(c->rundir, 0700) < 0)
    return cove_error(err, errno, "mkdir %s", c->rundir);
  char p[4300];
  /* before anything can create a cgroup */
  if (agent_cgroup_record(c->rundir, c->id, err) < 0)
    return -1;
  static const char *const dirs[] = {"bundle", "state", "rootfs", "empty.d", "stage", NULL};
  for (const char *const *d = dirs; *d; d++) {
    snprintf(p, sizeof p, "%s/%s", c->rundir, *d);
    if (mkdir(p, 0700) < 0)
      return cove_error(err, errno, "mkdir %s", p);
  }
  snprintf(p, sizeof p, "%s/empty.d/file", c->rundir);
  /* world-readable: as root the sandbox's id does not own them, and a
   * mask must read as empty, not fail */
  int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0)
    return cove_error(err, errno, "%s", p);
  close(fd);
  c->plan.empty_file_fd = open(p, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  snprintf(p, sizeof p, "%s/empty.d/dir", c->rundir);
  if (mkdir(p, 0555) < 0)
    return cove_error(err, errno, "%s", p);
  c->plan.empty_dir_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (c->plan.empty_file_fd < 0 || c->plan.empty_dir_fd < 0)
    return cove_error(err, errno, "mask sources");
  if (c->pol.rootfs) {
    /* checked and pinned by the plan (mounts.c, plan_rootfs) */
    snprintf(c->rootfs, sizeof c->rootfs, "%s", c->plan.rootfs_origin);
  } else {
    char rootfs[4300];
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", c->rundir);
    /* only the mount point of the sandbox's root skeleton, a tmpfs in
     * its mount namespace (netns.c, skeleton_mount) */
    c->plan.rootfs_fd = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (c->plan.rootfs_fd < 0)
      return cove_error(err, errno, "rootfs %s", rootfs);
    snprintf(c->rootfs, sizeof c->rootfs, "%s", rootfs);
  }
  return 0;
}

/* The sandbox's spec, built and parsed in memory and handed to the
 * runtime as it is (cove_create_opts.spec): no write, re-read and second
 * parse of config.json on the start-up path. */
struct built_spec {
  struct cove_spec spec;
  bool parsed;
  char *json;
  size_t len;
  yajl_val prof; /* the agent profile, kept for a rebuild without limits */
};

static void spec_clear(struct built_spec *b)
{
  if (b->parsed)
    cove_spec_free(&b->spec);
  b->parsed = false;
  free(b->json);
  b->json = NULL;
}

static void spec_drop(struct built_spec *b)
{
  spec_clear(b);
  cove_json_tree_free(b->prof);
  b->prof = NULL;
}

static int spec_build(struct agent_ctx *c, struct built_spec *b, bool with_limits, cove_err *err)
{
  spec_clear(b);
  if (!b->prof && !(b->prof = agent_profile_load(err)))
    return -1;
  if (!(b->json = agent_bundle_json(c, b->prof, with_limits, &b->len, err)))
    return -1;
  char bundle[4300];
  snprintf(bundle, sizeof bundle, "%s/bundle", c->rundir);
  b->parsed = true;
  if (cove_spec_parse(&b->spec, b->json, b->len, bundle, err) < 0)
    return -1;
  /* the filter compiled here (or taken from the per-user cache), not in
   * the sandbox init on every start */
  if (b->spec.has_seccomp) {
    char cache[4200];
    snprintf(cache, sizeof cache, "%s/seccomp-cache", c->paths.state);
    if (agent_mkdir_p(c->paths.state, 0700, err) < 0 || cove_seccomp_precompile(&b->spec.seccomp, cache, err) < 0)
      return -1;
  }
  return 0;
}

/* Fail closed: the limits go into linux.resources; when the runtime says
 * this host cannot enforce them (COVE_EK_LIMITS), the run is refused
 * unless the policy says allow_unlimited, in which case the spec is built
 * again without them and the audit log says so. Returns 0 to retry. */
static int limits_fallback(struct agent_ctx *c, struct built_spec *b, cove_err *err)
{
  char why[COVE_ERR_MSG_MAX];
  snprintf(why, sizeof why, "%s", err->msg);
  c->limits_enforced = false;
  if (!c->pol.allow_unlimited) {
    agent_audit(&c->audit, "limits", "decision", "refuse", "reason", why, AUDIT_INT("memory", c->pol.memory),
                AUDIT_INT("pids", c->pol.pids), NULL);
    return cove_error(err, 0,
                      "limits cannot be enforced on this host (%s): refusing to run the agent unlimited; set "
                      "\"allow_unlimited\": true in the policy to run without memory/cpu/pids limits",
                      why);
  }
  agent_audit(&c->audit, "limits", "decision", "not_enforced", "reason", why, "note",
              "allow_unlimited: running WITHOUT memory/cpu/pids limits", NULL);
  cove_err_clear(err);
  return spec_build(c, b, false, err);
}

static void gen_id(char *out, size_t cap)
{
  unsigned char b[8];
  if (getrandom(b, sizeof b, 0) != sizeof b) {
    uint64_t t = (uint64_t)agent_now_ns() ^ (uint64_t)getpid();
    memcpy(b, &t, 8);
  }
  snprintf(out, cap, "a%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
}

static int pidfd_kill(int pidfd, int sig)
{
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Signals that arrive before the sandbox exists are remembered here (the
 * handler is reset to SIG_DFL in the sandbox init, and the signal mask is
 * left alone so the agent does not inherit blocked signals); once the
 * runtime has blocked everything they queue for the signalfd instead. */
static volatile sig_atomic_t early_signal;
static void on_early_signal(int sig)
{
  early_signal = sig;
}
static void catch_early_signals(void)
{
  struct sigaction sa = {.sa_handler = on_early_signal, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < 4; i++)
    sigaction(sigs[i], &sa, NULL);
}

static void interrupt(struct agent_ctx *c, int pidfd, int s)
{
  if (!c->interrupted)
    agent_audit(&c->audit, "interrupt", "signal", sigabbrev_np(s), "action", "kill sandbox", NULL);
  c->interrupted = true;
  c->interrupt_signal = s;
  if (pidfd >= 0)
    pidfd_kill(pidfd, SIGKILL);
}

/* Serve the sandbox until its init exits. */
static void event_loop(struct agent_ctx *c, struct cove_container_handle *h, struct agent_proxy *px, int sfd)
{
  enum { MAXP = 604 };
  struct pollfd pfd[MAXP];
  int64_t deadline = c->start_ns + (int64_t)c->pol.timeout_ms * 1000000;
  bool killed = false;
  if (early_signal) {
    interrupt(c, h->pidfd, early_signal);
    killed = true;
  }
  for (;;) {
    size_t n = 0;
    pfd[n++] = (struct pollfd){.fd = h->pidfd, .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    size_t nb = n;
    size_t nn = c->notify.listen_fd >= 0 ? agent_notify_pollfds(&c->notify, pfd + n) : 0;
    n += nn;
    size_t ib = n;
    size_t ni = agent_stdio_pollfds(&c->io, pfd + n);
    n += ni;
    size_t pb = n;
    size_t np = px ? agent_proxy_pollfds(px, pfd + n, MAXP - n) : 0;
    n += np;
    int64_t left = deadline - agent_now_ns();
    int tmo = killed ? 1000 : left <= 0 ? 0 : left / 1000000 > 60000 ? 60000 : (int)(left / 1000000) + 1;
    int r = poll(pfd, n, tmo);
    if (r < 0 && errno != EINTR)
      break;
    if (r > 0 && (pfd[0].revents & (POLLIN | POLLHUP)))
      break;
    if (r > 0 && (pfd[1].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        int s = (int)si.ssi_signo;
        if (s == SIGINT || s == SIGTERM || s == SIGHUP || s == SIGQUIT) {
          interrupt(c, h->pidfd, s);
          killed = true;
        }
      }
    }
    if (r > 0 && nn)
      agent_notify_dispatch(&c->notify, pfd + nb, nn);
    if (r > 0 && ni)
      agent_stdio_dispatch(&c->io, pfd + ib);
    if (r > 0 && np)
      agent_proxy_dispatch(px, pfd + pb, np);
    if (!killed && agent_now_ns() >= deadline) {
      c->timed_out = true;
      agent_audit(&c->audit, "limit", "kind", "timeout", AUDIT_INT("timeout_ms", c->pol.timeout_ms), "action",
                  "kill sandbox", NULL);
      /* SIGKILL to PID 1 of the sandbox's pid namespace: the kernel kills
       * every process in it */
      pidfd_kill(h->pidfd, SIGKILL);
      killed = true;
    }
  }
  /* denials that raced with the exit still count */
  if (c->notify.notify_fd >= 0) {
    struct pollfd q[3];
    size_t k = agent_notify_pollfds(&c->notify, q);
    while (poll(q, k, 0) > 0 && (q[2].revents & POLLIN)) {
      agent_notify_dispatch(&c->notify, q, k);
      k = agent_notify_pollfds(&c->notify, q);
      if (c->notify.notify_fd < 0)
        break;
    }
  }
}

/* The orchestrator lives as long as its sandbox, one per sandbox: what
 * start-up touched and no longer needs (freed heap: the parsed profile
 * and spec trees; stack pages below the event loop's frame: the walk's
 * and the runtime's path buffers) goes back to the kernel, roughly
 * halving its resident memory. Pages are faulted in again, zeroed, if
 * ever needed. */
static void shed_setup_memory(void)
{
  malloc_trim(0);
  long page = sysconf(_SC_PAGESIZE);
  char here;
  uintptr_t sp = (uintptr_t)&here & ~(uintptr_t)(page - 1);
  /* the event loop, its callees and signal handlers stay well inside
   * this margin below the current frame */
  uintptr_t keep = sp - 64 * 1024;
  FILE *f = fopen("/proc/self/maps", "re");
  if (!f)
    return;
  char line[512];
  uintptr_t lo = 0, hi = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, "[stack]")) {
      unsigned long a, b;
      if (sscanf(line, "%lx-%lx", &a, &b) == 2)
        lo = a, hi = b;
      break;
    }
  fclose(f);
  if (lo && keep > lo && keep < hi)
    madvise((void *)lo, keep - lo, MADV_DONTNEED);
}

static int run_sandbox(struct agent_ctx *c, struct built_spec *b, cove_err *err)
{
  char bundle[4300], state[4300];
  snprintf(bundle, sizeof bundle, "%s/bundle", c->rundir);
  snprintf(state, sizeof state, "%s/state", c->rundir);
  struct cove_create_opts co = {.root = state, .id = c->id, .bundle = bundle, .spec = &b->spec};
  struct cove_container_handle h = {.dirfd = -1, .pid = -1, .pidfd = -1, .sync_fd = -1};

  /* The sandbox gets pipes as its stdio (stdio.c), installed as our 0/1/2
   * only while the runtime clones its init. */
  int saved[3] = {-1, -1, -1};
  if (agent_stdio_open(&c->io, c->out[0].fd >= 0 ? c->out[0].fd : STDOUT_FILENO,
                       c->out[1].fd >= 0 ? c->out[1].fd : STDERR_FILENO, err) < 0)
    return -1;
  if (agent_stdio_install(&c->io, saved, err) < 0)
    goto restore_fail;

  c->start_ns = agent_now_ns();
  int r = cove_container_prepare(&co, &h, err);
  if (r < 0 && err->kind == COVE_EK_LIMITS && c->limits_enforced) {
    /* the parser accepted the limits but this host cannot apply them */
    if (limits_fallback(c, b, err) < 0)
      goto restore_fail;
    co.spec = &b->spec;
    r = cove_container_prepare(&co, &h, err);
  }
  /* after the fallback: limits_enforced is then what the sandbox got */
  if (r == 0)
    agent_audit(&c->audit, "start", "workspace", c->workspace, "network",
                c->pol.net == AGENT_NET_NONE ? "none" : c->pol.net == AGENT_NET_HOST ? "host" : "proxy",
                AUDIT_BOOL("limits_enforced", c->limits_enforced), AUDIT_INT("memory", c->pol.memory),
                AUDIT_INT("pids", c->pol.pids), "disk", c->disk_state, AUDIT_INT("timeout_ms", c->pol.timeout_ms), NULL);
  agent_stdio_restore(&c->io, saved);
  if (r < 0) {
    /* the init resolves the command before start: not found is known here */
    if (err->code == ENOENT && !strncmp(err->msg, "exec", 4))
      c->exec_status = 127;
    return -1;
  }
  /* for inspection only: nothing reads it back */
  cove_err e3 = {0};
  if (agent_bundle_save(c, b->json, b->len, &e3) < 0)
    cove_warn("agent: %s", e3.msg);

  sigset_t ss;
  sigemptyset(&ss);
  sigaddset(&ss, SIGINT);
  sigaddset(&ss, SIGTERM);
  sigaddset(&ss, SIGHUP);
  sigaddset(&ss, SIGQUIT);
  int sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
  struct agent_proxy *px = NULL;
  if (c->pol.net == AGENT_NET_PROXY)
    px = agent_proxy_new(c->netns.listen_fd, &c->pol, c->creds, &c->audit);
  if (sfd < 0 || (c->pol.net == AGENT_NET_PROXY && !px)) {
    cove_error(err, errno, "signalfd/proxy");
    r = -1;
  } else {
    r = cove_container_release(&h, err);
    if (r == 0) {
      spec_drop(b); /* the runtime is done with it */
      shed_setup_memory();
      event_loop(c, &h, px, sfd);
    }
    else /* the init reported why it could not exec */
      c->exec_status = err->code == ENOENT ? 127 : 126;
    agent_stdio_drain(&c->io);
    cove_err e2 = {0};
    if (cove_container_reap(&h, &c->wstatus, &e2) == 0) {
      c->end_ns = agent_now_ns();
      if (WIFEXITED(c->wstatus)) {
        c->exited = true;
        c->exit_code = WEXITSTATUS(c->wstatus);
      } else if (WIFSIGNALED(c->wstatus)) {
        c->term_signal = WTERMSIG(c->wstatus);
      }
    }
  }
  agent_stats_collect(c, &c->stats);
  cove_container_destroy(state, c->id, &h);
  if (sfd >= 0)
    close(sfd);
  agent_proxy_free(px, &c->proxy_allowed, &c->proxy_denied);
  return r;

restore_fail:
  agent_stdio_restore(&c->io, saved);
  return -1;
}

/* The idmapping for a source as root (agent_netns_req.idmap): its owner
 * uid:gid seen as the sandbox's root; one user namespace per owner. -3 on
 * error. */
struct owners {
  uid_t uid[8];
  gid_t gid[8];
  int fd[8];
  size_t n;
};
static int idmap_for(int fd, const char *origin, struct owners *ow, cove_err *err)
{
  struct stat st;
  if (fstat(fd, &st) < 0)
    return cove_error(err, errno, "%s", origin), -3;
  if (st.st_uid == 0 && st.st_gid == 0)
    return AGENT_IDMAP_SANDBOX; /* the sandbox's own user namespace maps exactly that */
  size_t k = 0;
  while (k < ow->n && (ow->uid[k] != st.st_uid || ow->gid[k] != st.st_gid))
    k++;
  if (k < ow->n)
    return ow->fd[k];
  if (k == sizeof ow->fd / sizeof *ow->fd)
    return cove_error(err, E2BIG, "%s: too many different owners among the mounts", origin), -3;
  if ((ow->fd[k] = agent_idmap_userns(st.st_uid, st.st_gid, AGENT_HOST_ID, err)) < 0)
    return -3;
  ow->uid[k] = st.st_uid;
  ow->gid[k] = st.st_gid;
  ow->n++;
  return ow->fd[k];
}

/* The sandbox's namespaces, with every bind source re-opened inside its
 * mount namespace and verified to be the checked object (netns.c). */
static int make_namespaces(struct agent_ctx *c, cove_err *err)
{
  static const char *paths[AGENT_NETNS_MAX_SOURCES], *walk[AGENT_NETNS_MAX_SOURCES];
  static int checked[AGENT_NETNS_MAX_SOURCES], reopened[AGENT_NETNS_MAX_SOURCES], idmap[AGENT_NETNS_MAX_SOURCES];
  static size_t idx[AGENT_NETNS_MAX_SOURCES];
  struct owners ow = {.n = 0};
  char ef[4300], ed[4300], stage[4300];
  bool root = geteuid() == 0;
  size_t n = 0;
  int rc = -1;
  for (size_t i = 0; i < c->plan.n; i++) {
    const struct agent_mount *m = &c->plan.m[i];
    if (m->kind != AM_BIND)
      continue;
    if (n + 3 >= AGENT_NETNS_MAX_SOURCES) {
      cove_error(err, E2BIG, "too many mounts");
      goto out;
    }
    paths[n] = m->origin;
    walk[n] = m->walk ? m->destination : NULL;
    checked[n] = m->fd;
    idmap[n] = AGENT_IDMAP_NONE;
    /* As root every host-backed mount but the read-only OS directories is
     * idmapped: its owner (the caller, or whoever owns the workspace) is
     * the sandbox's root there, so the sandbox's writes land as that owner
     * and everything else in it is nobody's to the sandbox. */
    if (root && !m->recursive && (idmap[n] = idmap_for(m->fd, m->origin, &ow, err)) == -3)
      goto out;
    idx[n++] = i;
  }
  snprintf(ef, sizeof ef, "%s/empty.d/file", c->rundir);
  snprintf(ed, sizeof ed, "%s/empty.d/dir", c->rundir);
  snprintf(stage, sizeof stage, "%s/stage", c->rundir);
  /* after the plan's binds: the root, the empty file and dir. The root is
   * handed over as an fd too: as root the sandbox's id cannot traverse
   * our private run directory. A policy
   * rootfs is walked and masked like the workspace (dest "": its entries
   * are the sandbox's absolute paths); the skeleton is ours, not walked */
  walk[n] = c->pol.rootfs ? "" : NULL;
  idmap[n] = AGENT_IDMAP_NONE;
  /* a policy rootfs is an image: its owner is the sandbox's root, as in a
   * container (it is read-only; the runtime may add mount points) */
  if (root && c->pol.rootfs && (idmap[n] = idmap_for(c->plan.rootfs_fd, c->rootfs, &ow, err)) == -3)
    goto out;
  paths[n] = c->rootfs;
  checked[n++] = c->plan.rootfs_fd;
  walk[n] = NULL;
  idmap[n] = AGENT_IDMAP_NONE;
  paths[n] = ef;
  checked[n++] = c->plan.empty_file_fd;
  walk[n] = NULL;
  idmap[n] = AGENT_IDMAP_NONE;
  paths[n] = ed;
  checked[n++] = c->plan.empty_dir_fd;
  struct agent_netns_req q = {.new_net = c->pol.net != AGENT_NET_HOST, .listener = c->pol.net == AGENT_NET_PROXY,
                              .host_root = root, .idmap = idmap, .paths = paths, .checked = checked,
                              .n_sources = n, .walk_roots = walk, .ctx = c, .stage_dir = stage,
                              .skeleton = !c->pol.rootfs};
  if (agent_netns_create(&c->netns, &q, reopened, err) < 0) {
    agent_audit(&c->audit, "refused", "reason", err->msg, NULL);
    goto out;
  }
  c->plan.n_masks = q.masks;
  for (size_t k = 0; k + 3 < n; k++) {
    close(c->plan.m[idx[k]].fd);
    c->plan.m[idx[k]].fd = reopened[k];
  }
  close(c->plan.rootfs_fd);
  close(c->plan.empty_file_fd);
  close(c->plan.empty_dir_fd);
  c->plan.rootfs_fd = reopened[n - 3];
  c->plan.empty_file_fd = reopened[n - 2];
  c->plan.empty_dir_fd = reopened[n - 1];
  rc = 0;
out:
  for (size_t k = 0; k < ow.n; k++)
    close(ow.fd[k]);
  return rc;
}

static bool group_trusted(const struct agent_allowlist *al, const char *g)
{
  for (size_t i = 0; i < al->n_trusted; i++)
    if (!strcmp(al->trusted_groups[i], g))
      return true;
  return false;
}

static int add_input_guard(struct agent_ctx *c, const char *path, const char *what, cove_err *err)
{
  struct stat st;
  /* a pipe (`batch <(...)`) was read once and cannot be rewritten */
  if (!path || (stat(path, &st) == 0 && !S_ISREG(st.st_mode)))
    return 0;
  char canon[4096];
  int fd = agent_in_open(path, what, canon, err);
  if (fd < 0)
    return -1;
  if (agent_guard_input(&c->guards[c->n_guards], fd, canon, what, err) < 0) {
    close(fd);
    return -1;
  }
  c->n_guards++;
  return 0;
}

/* Outputs must be invisible to the sandbox, inputs and secret sources
 * beyond its reach for writing (files.c). */
static int guard_files(struct agent_ctx *c, cove_err *err)
{
  static const char *const what[3] = {"--stdout", "--stderr", "--result"};
  for (int i = 0; i < 3 && c->n_guards < sizeof c->guards / sizeof *c->guards; i++)
    if (c->out[i].dirfd >= 0) {
      struct agent_guard *g = &c->guards[c->n_guards++];
      memset(g, 0, sizeof *g);
      g->what = what[i];
      g->output = true;
      g->fd = -1;
      g->dirfd = fcntl(c->out[i].dirfd, F_DUPFD_CLOEXEC, 3);
      snprintf(g->path, sizeof g->path, "%s", c->out[i].path);
    }
  if (agent_guard_check(c, c->guards, c->n_guards, err) < 0)
    return -1;
  for (size_t k = 0; k < c->o->n_batch_inputs; k++) {
    char canon[4096];
    struct agent_guard g;
    int fd = agent_in_open(c->o->batch_inputs[k], "policy of another task", canon, err);
    if (fd < 0 || agent_guard_input(&g, fd, canon, "policy of another task", err) < 0) {
      if (fd >= 0)
        close(fd);
      return -1;
    }
    int r = agent_guard_check(c, &g, 1, err);
    close(g.dirfd);
    close(fd);
    if (r < 0)
      return -1;
  }
  for (size_t k = 0; k < c->plan.n; k++) {
    const struct agent_mount *m = &c->plan.m[k];
    if (m->kind != AM_BIND || strncmp(m->destination, "/run/secrets/", 13) || !m->origin)
      continue;
    struct agent_guard g;
    if (agent_guard_input(&g, -1, m->origin, "secret source", err) < 0)
      return -1;
    g.fd = m->fd;
    int r = agent_guard_check(c, &g, 1, err);
    close(g.dirfd);
    if (r < 0)
      return -1;
  }
  return 0;
}

/* The record goes to --result FILE, --result-fd N, or (--json) stdout,
 * where it always starts a line of its own: whatever the agent printed
 * last, the orchestrator's record is the last line. */
static void write_result(struct agent_ctx *c)
{
  const struct agent_run_opts *o = c->o;
  FILE *f = NULL;
  bool own = true;
  if (c->out[2].fd >= 0) {
    f = fdopen(c->out[2].fd, "w");
    if (f)
      c->out[2].fd = -1;
  } else if (o->has_result_fd) {
    int fd = fcntl(o->result_fd, F_DUPFD_CLOEXEC, 3);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f && fd >= 0)
      close(fd);
  } else if (o->json && !o->result_path) {
    f = stdout;
    own = false;
    if (c->out[0].fd < 0 && !c->io.out_at_line_start)
      fputc('\n', f);
  }
  if (!f)
    return;
  agent_result_write(f, c);
  if (own)
    fclose(f);
}

static void release_all(struct agent_ctx *c)
{
  agent_audit_close(&c->audit);
  agent_creds_free(c->creds);
  c->creds = NULL;
  agent_plan_free(&c->plan);
  agent_allowlist_free(&c->al);
  agent_policy_free(&c->pol);
  agent_stdio_close(&c->io);
  for (int i = 0; i < 3; i++)
    agent_out_close(&c->out[i]);
  for (size_t i = 0; i < c->n_guards; i++) {
    if (c->guards[i].fd >= 0)
      close(c->guards[i].fd);
    if (c->guards[i].dirfd >= 0)
      close(c->guards[i].dirfd);
  }
  c->n_guards = 0;
}

/* A fresh context: every fd "not open", the early signals caught. */
static void run_ctx_init(struct agent_ctx *c, const struct agent_run_opts *o)
{
  c->o = o;
  c->audit.global_fd = c->audit.group_fd = -1;
  c->plan.empty_file_fd = c->plan.empty_dir_fd = c->plan.rootfs_fd = -1;
  c->netns.userns_fd = c->netns.mntns_fd = c->netns.netns_fd = c->netns.listen_fd = -1;
  c->notify.listen_fd = c->notify.conn_fd = c->notify.notify_fd = c->notify.sock_path_fd = -1;
  c->notify.audit = &c->audit;
  c->stats.memory_peak = c->stats.cpu_usec = c->stats.pids_peak = -1;
  early_signal = 0;
  catch_early_signals();
  /* The agent controls the far end of every socket and pipe we write
   * (proxy, stdio): a write to a closed one must be an error, not our
   * death. The sandbox init resets dispositions before exec. */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN); /* an output file over RLIMIT_FSIZE: EFBIG, not death */
  /* Job control must not stop the orchestrator: Ctrl-Z (SIGTSTP), or a
   * background run touching the terminal (SIGTTIN, SIGTTOU), would stop
   * cove and not the sandbox (its own session), which would go on
   * unsupervised past its timeout; blocked while we serve the sandbox, a
   * stop signal stayed pending and stopped us on the way out instead.
   * Ignored, they are discarded; a background read of the terminal gets
   * EIO (the agent's stdin ends). */
  signal(SIGTSTP, SIG_IGN);
  signal(SIGTTIN, SIG_IGN);
  signal(SIGTTOU, SIG_IGN);
  agent_stdio_init(&c->io);
  for (int i = 0; i < 3; i++)
    c->out[i].fd = c->out[i].dirfd = -1;
  for (size_t i = 0; i < sizeof c->guards / sizeof *c->guards; i++)
    c->guards[i].fd = c->guards[i].dirfd = -1;
  gen_id(c->id, sizeof c->id);
  snprintf(c->group, sizeof c->group, "%s", o->group ? o->group : "default");
}

/* The policy, the command line and the outputs read and checked; the
 * audit log opened. Failures here are not audited (no log yet). */
static int load_inputs(struct agent_ctx *c, cove_err *err)
{
  const struct agent_run_opts *o = c->o;
  agent_policy_defaults(&c->pol);
  if (agent_paths_init(&c->paths, err) < 0 || agent_validate_group(c->group, err) < 0)
    return -1;
  if (o->policy_file && agent_policy_load(&c->pol, o->policy_file, &c->guards[c->n_guards++], err) < 0)
    return -1;
  if (add_input_guard(c, o->policy_origin, "policy", err) < 0 || add_input_guard(c, o->tasks_file, "tasks file", err) < 0)
    return -1;
  if (o->policy_text && agent_policy_parse(&c->pol, o->policy_text, "policy", err) < 0)
    return -1;
  if (o->timeout && (cove_parse_duration_ms(o->timeout, &c->pol.timeout_ms) < 0 || !c->pol.timeout_ms))
    return cove_error(err, 0, "--timeout \"%s\": expected a duration like 30m, 90s, 500ms", o->timeout);
  if (!o->argv || !o->argv[0])
    return cove_error(err, 0, "no command given (cove agent run [options] -- COMMAND [ARG...])");
  if ((o->stdout_path && agent_out_prepare(&c->out[0], o->stdout_path, "--stdout", err) < 0) ||
      (o->stderr_path && agent_out_prepare(&c->out[1], o->stderr_path, "--stderr", err) < 0) ||
      (o->result_path && agent_out_prepare(&c->out[2], o->result_path, "--result", err) < 0))
    return -1;
  if (agent_audit_open(&c->audit, &c->paths, c->group, c->id, err) < 0)
    return -1;
  c->audit.echo = o->echo_audit;
  return 0;
}

/* The allowlist, the disk budget, the mount plan, the files to guard and
 * the credentials: all checked before anything exists (the caller audits
 * a refusal). Then the outputs may be created. */
static int check_run(struct agent_ctx *c, cove_err *err)
{
  char al[4300];
  snprintf(al, sizeof al, "%s/mount-allowlist.json", c->paths.config);
  if (agent_allowlist_load(&c->al, al, &c->guards[c->n_guards], err) < 0)
    return -1;
  if (c->guards[c->n_guards].what)
    c->n_guards++;
  c->trusted = group_trusted(&c->al, c->group);
  agent_gc_maybe(&c->paths);
  if (agent_disk_check(c, err) < 0 || agent_plan_build(c, err) < 0 || guard_files(c, err) < 0 ||
      agent_creds_load(c, err) < 0)
    return -1;
  for (int i = 0; i < 3; i++)
    if (c->out[i].dirfd >= 0 && agent_out_create(&c->out[i], err) < 0)
      return -1;
  return 0;
}

static void audit_network(struct agent_ctx *c)
{
  if (c->pol.net == AGENT_NET_PROXY)
    agent_audit(&c->audit, "network", "mode", "proxy", "listen", "127.0.0.1 inside the sandbox",
                AUDIT_INT("port", c->netns.port), NULL);
  else if (c->pol.net == AGENT_NET_HOST)
    agent_audit(&c->audit, "network", "mode", "host", "note", "sandbox shares the host network (policy asked)", NULL);
  else
    agent_audit(&c->audit, "network", "mode", "none", NULL);
}

/* The run directory (locked), the namespaces, the notify listener and
 * the spec: what finish_run removes again on every path. */
static int prepare_sandbox(struct agent_ctx *c, int *lock_fd, struct built_spec *spec, cove_err *err)
{
  if (make_run_dir(c, lock_fd, err) < 0 || (c->creds && agent_plan_ca_bundle(c, err) < 0))
    return -1;
  if (make_namespaces(c, err) < 0)
    return -1;
  audit_network(c);
  if (c->pol.seccomp_notify) {
    snprintf(c->notify_sock, sizeof c->notify_sock, "%s/seccomp.sock", c->rundir);
    if (agent_notify_listen(&c->notify, c->notify_sock, err) < 0)
      return -1;
  }
  c->limits_enforced = true;
  if (spec_build(c, spec, true, err) < 0)
    return -1;
  if (early_signal) {
    interrupt(c, -1, early_signal);
    return cove_error(err, 0, "interrupted by SIG%s before the sandbox started", sigabbrev_np(early_signal));
  }
  return 0;
}

static void audit_end(struct agent_ctx *c)
{
  if (c->start_ns && c->end_ns < c->start_ns)
    c->end_ns = agent_now_ns(); /* the sandbox never ran to its end */
  const char *sig = !c->exited && c->term_signal ? sigabbrev_np(c->term_signal) : NULL;
  /* the final lines are written even past the audit budget */
  c->audit.final = true;
  agent_notify_summary(&c->notify, true);
  agent_audit(&c->audit, "end", "status",
              c->error[0] ? "error" : c->timed_out ? "timeout" : c->interrupted ? "interrupted"
              : c->exited && !c->exit_code ? "ok" : "failed",
              AUDIT_INT_IF(c->exited, "exit_code", c->exit_code), "signal", sig,
              AUDIT_INT_IF(c->start_ns, "duration_ms", (c->end_ns - c->start_ns) / 1000000),
              AUDIT_INT("seccomp_denials", c->notify.denials), "error", c->error[0] ? c->error : NULL, NULL);
}

static int run_exit_status(const struct agent_ctx *c)
{
  if (c->exec_status)
    return c->exec_status; /* as a shell: 126 not executable, 127 not found */
  if (c->error[0])
    return 1;
  if (c->timed_out)
    return 124;
  if (c->interrupted)
    return 128 + c->interrupt_signal;
  return c->exited ? c->exit_code : 128 + c->term_signal;
}

/* The one release path: what the run made removed (the lock last: until
 * then gc can find whatever is left), the end audited when the sandbox
 * ran, the result written, everything freed. */
static int finish_run(struct agent_ctx *c, int lock_fd, bool ran, struct built_spec *spec, const cove_err *err,
                      int *exit_status)
{
  if (err->msg[0])
    snprintf(c->error, sizeof c->error, "%s", err->msg);
  agent_notify_close(&c->notify);
  agent_netns_close(&c->netns);
  agent_plan_close_fds(&c->plan);
  if (c->rundir[0] && lock_fd >= 0 && agent_run_clean(c->rundir, c->id) == 0)
    agent_run_unlock(c->paths.runbase, c->id, lock_fd);
  else if (lock_fd >= 0)
    close(lock_fd);
  if (ran)
    audit_end(c);
  *exit_status = run_exit_status(c);
  write_result(c);
  if (c->error[0])
    cove_log(COVE_LOG_ERROR, "agent: %s", c->error); /* honours --log, --log-format */
  spec_drop(spec);
  release_all(c);
  return c->error[0] ? -1 : 0;
}

int agent_run(const struct agent_run_opts *o, int *exit_status)
{
  static struct agent_ctx ctx; /* large; one run per process */
  static bool used;
  struct agent_ctx *c = &ctx;
  /* zero already on the first run (static storage): clearing it would
   * fault in ~30 pages that the run mostly never touches */
  if (used)
    memset(c, 0, sizeof *c);
  used = true;
  run_ctx_init(c, o);
  cove_err err = {0};
  int lock_fd = -1;
  bool ran = false;
  struct built_spec spec = {.parsed = false};
  if (load_inputs(c, &err) == 0) {
    if (check_run(c, &err) < 0) {
      agent_audit(&c->audit, "refused", "reason", err.msg, NULL);
    } else {
      agent_test_pause("after-check");
      /* From here on things exist and must be removed on every path. */
      if (prepare_sandbox(c, &lock_fd, &spec, &err) == 0) {
        ran = true;
        run_sandbox(c, &spec, &err);
      }
    }
  }
  return finish_run(c, lock_fd, ran, &spec, &err, exit_status);
}
