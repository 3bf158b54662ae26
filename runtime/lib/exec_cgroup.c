/* The cgroup side of exec when the container has no record of its own
 * cgroups (created without one): the init's cgroups, read from
 * /proc/PID/cgroup and found through the one mount-table parser
 * (cgroup_host.c); paused means the one frozen check (cgroup_fs.c). */
#include "cgroup_internal.h"

#include "cove/cleanup.h"
#include "cove/exec.h"
#include "cove/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct each {
  const struct cove_cg_mounts *m;
  void (*cb)(const char *ctrls, const char *path, const char *dir, void *d);
  void *d;
};

static int each_cb(const char *ctrls, const char *path, void *d)
{
  const struct each *x = d;
  char dir[4096];
  bool here = cove_cg_mount_dir(x->m, ctrls, path, dir, sizeof dir) == 0;
  x->cb(ctrls, path, here ? dir : NULL, x->d);
  return 0;
}

/* cb with every cgroup of pid, cove's or not (name=systemd, net_cls), and
 * its directory here (NULL: that hierarchy is not mounted here); ctrls is
 * "" for v2. */
static void each_cgroup_of(pid_t pid, void (*cb)(const char *ctrls, const char *path, const char *dir, void *d),
                           void *d)
{
  cove_err e;
  _cleanup_free_ char *text = cove_cg_proc_cgroup(pid, &e);
  struct cove_cg_mounts m;
  if (!text || cove_cg_mounts_read(&m, &e) < 0)
    return;
  cove_cg_each_line(text, each_cb, &(struct each){&m, cb, d});
  cove_cg_mounts_free(&m);
}

static void collect_cb(const char *ctrls, const char *path, const char *dir, void *d)
{
  (void)path;
  struct cove_cgroup *cg = d;
  if (!dir)
    return;
  if (!*ctrls)
    snprintf(cg->v2, sizeof cg->v2, "%s", dir);
  for (int c = 0; *ctrls && c < COVE_CG_V1_COUNT; c++)
    if (cove_cg_word_in(ctrls, cove_cg_ctrl_name(c)))
      snprintf(cg->v1[c], sizeof cg->v1[c], "%s", dir);
}

int cove_container_is_paused(pid_t pid)
{
  /* a view of the init's cgroups, not a record: nothing is owned */
  struct cove_cgroup cg = {.ops = &cove_cg_ops_hybrid, .active = true};
  each_cgroup_of(pid, collect_cb, &cg);
  return cove_cgroup_frozen(&cg) == 1;
}

static void join_cb(const char *ctrls, const char *path, const char *dir, void *d)
{
  cove_err e;
  if (!dir)
    cove_debug("exec: cgroup %s:%s not mounted here, not joined", ctrls, path);
  else if (cove_cg_write(dir, "cgroup.procs", d, &e) < 0)
    cove_debug("exec: join cgroup %s/cgroup.procs: %s", dir, e.msg);
}

void cove_cgroup_join_of(pid_t pid)
{
  char me[32];
  snprintf(me, sizeof me, "%d", (int)getpid());
  each_cgroup_of(pid, join_cb, me);
}
