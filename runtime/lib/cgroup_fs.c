/* The cgroupfs managers at work on an existing container's cgroups:
 * enter, freeze, signal, list, destroy; and the tables that make them the
 * v2, hybrid and disabled managers (cgroup_internal.h). Setup is in
 * cgroup.c. */
#include "cgroup_internal.h"

#include "cove/cleanup.h"
#include "cove/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  return nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ enter */

static int write_pid(const char *dir, pid_t pid, cove_err *err)
{
  char b[32];
  snprintf(b, sizeof b, "%d", (int)pid);
  return cove_cg_write(dir, "cgroup.procs", b, err);
}

int cove_cg_v2_enter(const struct cove_cgroup *cg, pid_t pid, bool skip_v2, cove_err *err)
{
  if (cg->v2[0] && !skip_v2 && write_pid(cg->v2, pid, err) < 0)
    return cove_error_prefix(err, "place the container in its cgroup");
  return 0;
}

static int hybrid_enter(const struct cove_cgroup *cg, pid_t pid, bool skip_v2, cove_err *err)
{
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (cg->v1[c][0] && write_pid(cg->v1[c], pid, err) < 0)
      return cove_error_prefix(err, "place the container in its %s cgroup", cove_cg_ctrl_name(c));
  return cove_cg_v2_enter(cg, pid, skip_v2, err);
}

int cove_cg_fs_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool update, cove_err *err)
{
  if (cg->v2[0] && cove_cg_v2_apply(cg->v2, r, update, err) < 0)
    return -1;
  /* also where a limit's controller is in neither v2 nor v1 is refused */
  return cove_cg_v1_apply(cg, r, update, err);
}

/* ------------------------------------------------------ freeze, ps */

const char *cove_cg_procs_dir(const struct cove_cgroup *cg)
{
  if (cg->v2[0])
    return cg->v2;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (cg->v1[c][0])
      return cg->v1[c];
  return NULL;
}

int cove_cg_fs_pids(const struct cove_cgroup *cg, pid_t **pids, size_t *n, cove_err *err)
{
  *pids = NULL;
  *n = 0;
  const char *d = cove_cg_procs_dir(cg);
  if (!d)
    return cove_error(err, 0, "the container has no cgroup");
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/cgroup.procs", d);
  _cleanup_fclose_ FILE *f = fopen(p, "re");
  if (!f)
    return cove_error(err, errno, "%s", p);
  size_t cap = 0;
  long v;
  while (fscanf(f, "%ld", &v) == 1) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      pid_t *np = realloc(*pids, cap * sizeof **pids);
      if (!np) {
        free(*pids);
        *pids = NULL;
        return cove_error(err, ENOMEM, "cgroup.procs");
      }
      *pids = np;
    }
    (*pids)[(*n)++] = (pid_t)v;
  }
  return 0;
}

/* The one frozen check (create's record, exec's /proc/PID/cgroup view and
 * the status derivation all come here): 1 when either freezer says so. */
int cove_cg_v2_frozen(const struct cove_cgroup *cg)
{
  char b[64];
  if (cg->v2[0] && cove_cg_read(cg->v2, "cgroup.freeze", b, sizeof b) > 0)
    return b[0] == '1';
  return -1;
}

static int hybrid_frozen(const struct cove_cgroup *cg)
{
  int v2 = cove_cg_v2_frozen(cg);
  if (v2 == 1)
    return 1;
  char b[64];
  const char *fz = cg->v1[COVE_CG_FREEZER];
  if (fz[0] && cove_cg_read(fz, "freezer.state", b, sizeof b) > 0)
    return strncmp(b, "THAWED", 6) != 0;
  return v2;
}

static int v2_freeze(const struct cove_cgroup *cg, bool freeze, cove_err *err)
{
  if (cove_cg_write(cg->v2, "cgroup.freeze", freeze ? "1" : "0", err) < 0)
    return -1;
  /* cgroup.events says when every task has actually stopped */
  for (int i = 0; i < 500; i++) {
    char ev[512];
    if (cove_cg_read(cg->v2, "cgroup.events", ev, sizeof ev) < 0)
      break;
    char *f = strstr(ev, "frozen ");
    if (!f || (f[7] == '1') == freeze)
      return 0;
    sleep_ms(10);
  }
  return cove_error(err, ETIMEDOUT, "%s the cgroup %s", freeze ? "freeze" : "thaw", cg->v2);
}

static int no_freezer(cove_err *err)
{
  return cove_error(err, ENOTSUP, "no freezer: the container has no cgroup v2 directory and no v1 freezer cgroup");
}

int cove_cg_v2_freeze(const struct cove_cgroup *cg, bool freeze, cove_err *err)
{
  if (cg->v2[0] && cove_cg_exists(cg->v2, "cgroup.freeze"))
    return v2_freeze(cg, freeze, err);
  return no_freezer(err);
}

static int hybrid_freeze(const struct cove_cgroup *cg, bool freeze, cove_err *err)
{
  if (cg->v2[0] && cove_cg_exists(cg->v2, "cgroup.freeze"))
    return v2_freeze(cg, freeze, err);
  const char *fz = cg->v1[COVE_CG_FREEZER];
  if (!fz[0])
    return no_freezer(err);
  for (int i = 0; i < 500; i++) {
    if (cove_cg_write(fz, "freezer.state", freeze ? "FROZEN" : "THAWED", err) < 0)
      return -1;
    char b[64];
    if (cove_cg_read(fz, "freezer.state", b, sizeof b) > 0 && !strncmp(b, freeze ? "FROZEN" : "THAWED", 6))
      return 0;
    sleep_ms(10);
  }
  return cove_error(err, ETIMEDOUT, "%s %s", freeze ? "freeze" : "thaw", fz);
}

/* ------------------------------------------------------------ signal */

int cove_cg_fs_signal_all(const struct cove_cgroup *cg, int sig, cove_err *err)
{
  if (!cg->active)
    return cove_error(err, 0, "the container has no cgroup");
  if (sig == SIGKILL && cg->v2[0] && cove_cg_exists(cg->v2, "cgroup.kill"))
    return cove_cg_write(cg->v2, "cgroup.kill", "1", err);
  /* Without cgroup.kill a forking process could outrun a pid-by-pid kill:
   * freeze first where we can, signal, thaw. */
  const struct cove_cg_ops *ops = cove_cg_ops_of(cg);
  bool froze = false;
  if (sig == SIGKILL && ops->frozen(cg) == 0) {
    cove_err e;
    froze = ops->freeze(cg, true, &e) == 0;
  }
  pid_t *pids;
  size_t n;
  int r = cove_cg_fs_pids(cg, &pids, &n, err);
  if (r == 0) {
    for (size_t i = 0; i < n; i++) {
      /* pidfd: the pid cannot be reused between reading and signalling
       * while it is still listed in our cgroup */
      int fd = (int)syscall(SYS_pidfd_open, pids[i], 0);
      if (fd >= 0) {
        syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
        close(fd);
      }
    }
    free(pids);
  }
  if (froze || (sig == SIGKILL && ops->frozen(cg) == 1)) {
    cove_err e;
    ops->freeze(cg, false, &e);
  }
  return r;
}

/* ----------------------------------------------------------- destroy */

static bool is_leaf(const struct cove_cgroup *cg, const char *p)
{
  if (!strcmp(cg->v2, p))
    return true;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (!strcmp(cg->v1[c], p))
      return true;
  return false;
}

/* Kill what is left, thaw, remove what cove made (deepest first). Also
 * the failure path of setup, where cg->active is still false. */
int cove_cg_fs_destroy(struct cove_cgroup *cg, cove_err *err)
{
  int ret = 0;
  const char *d = cove_cg_procs_dir(cg);
  if (d) {
    /* during a failed setup the manager is not known yet: hybrid handles
     * whichever directories there are */
    const struct cove_cg_ops *ops = cg->active ? cove_cg_ops_of(cg) : &cove_cg_ops_hybrid;
    cove_err e;
    for (int i = 0; i < 200 && cove_cg_has_procs(d); i++) {
      cove_cg_fs_signal_all(cg, SIGKILL, &e);
      sleep_ms(i < 20 ? 5 : 20);
    }
    if (ops->frozen(cg) == 1)
      ops->freeze(cg, false, &e);
  }
  for (size_t i = cg->n_made; i-- > 0;) {
    bool leaf = is_leaf(cg, cg->made[i]);
    int tries = leaf ? 100 : 1;
    int r;
    /* A killed task leaves its cgroup only once it is fully gone. */
    while ((r = rmdir(cg->made[i])) < 0 && errno == EBUSY && --tries > 0)
      sleep_ms(10);
    if (r < 0 && errno != ENOENT && leaf && ret == 0)
      ret = cove_error(err, errno, "remove cgroup %s", cg->made[i]);
    free(cg->made[i]);
    cg->made[i] = NULL;
  }
  cg->n_made = 0;
  return ret;
}

/* ------------------------------------------------------------ tables */

/* A pure v2 host: one directory per container. */
const struct cove_cg_ops cove_cg_ops_v2 = {
  .name = "v2",
  .setup = cove_cg_fs_setup,
  .enter = cove_cg_v2_enter,
  .apply = cove_cg_fs_apply,
  .freeze = cove_cg_v2_freeze,
  .frozen = cove_cg_v2_frozen,
  .signal_all = cove_cg_fs_signal_all,
  .pids = cove_cg_fs_pids,
  .stats = cove_cg_fs_stats,
  .destroy = cove_cg_fs_destroy,
};

/* Hybrid or pure v1: a directory in every v1 hierarchy cove knows, plus
 * the v2 one where v2 is mounted; limits go where cove_cg_plan routed. */
const struct cove_cg_ops cove_cg_ops_hybrid = {
  .name = "hybrid",
  .setup = cove_cg_fs_setup,
  .enter = hybrid_enter,
  .apply = cove_cg_fs_apply,
  .freeze = hybrid_freeze,
  .frozen = hybrid_frozen,
  .signal_all = cove_cg_fs_signal_all,
  .pids = cove_cg_fs_pids,
  .stats = cove_cg_fs_stats,
  .destroy = cove_cg_fs_destroy,
};

/* --------------------------------------------------------- disabled */

/* --cgroup-manager=disabled, or rootless with nothing writable and no
 * limits asked: no cgroup; every limit-related request is refused. */
static int off_setup(struct cove_cgroup *cg, const struct cove_cg_request *req, cove_err *err)
{
  (void)err;
  cg->active = false;
  if (cove_resources_has_limits(req->res) || req->res->n_devices)
    cove_log(COVE_LOG_WARN, "linux.resources: limits NOT enforced: --cgroup-manager=disabled");
  return 0;
}

static int off_enter(const struct cove_cgroup *cg, pid_t pid, bool skip_v2, cove_err *err)
{
  (void)cg, (void)pid, (void)skip_v2, (void)err;
  return 0;
}

static int off_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool update, cove_err *err)
{
  (void)cg, (void)update;
  if (!cove_resources_has_limits(r))
    return 0;
  return cove_error_kind(err, COVE_EK_LIMITS, 0, "the container has no cgroup (created without one)");
}

static int off_freeze(const struct cove_cgroup *cg, bool freeze, cove_err *err)
{
  (void)cg, (void)freeze;
  return no_freezer(err);
}

static int off_frozen(const struct cove_cgroup *cg)
{
  (void)cg;
  return -1;
}

static int off_stats(const struct cove_cgroup *cg, struct cove_container_stats *st, cove_err *err)
{
  (void)cg;
  memset(st, 0, sizeof *st);
  return cove_error(err, 0, "the container has no cgroup (no stats)");
}

const struct cove_cg_ops cove_cg_ops_disabled = {
  .name = "disabled",
  .setup = off_setup,
  .enter = off_enter,
  .apply = off_apply,
  .freeze = off_freeze,
  .frozen = off_frozen,
  .signal_all = cove_cg_fs_signal_all, /* "the container has no cgroup" */
  .pids = cove_cg_fs_pids,             /* the same */
  .stats = off_stats,
  .destroy = cove_cg_fs_destroy,       /* nothing was made: a no-op */
};

const struct cove_cg_ops *cove_cg_ops_of(const struct cove_cgroup *cg)
{
  if (cg->ops)
    return cg->ops;
  if (!cg->active)
    return &cove_cg_ops_disabled;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (cg->v1[c][0])
      return &cove_cg_ops_hybrid;
  return &cove_cg_ops_v2;
}
