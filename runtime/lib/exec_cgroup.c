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

struct of_pid {
  const struct cove_cg_mounts *m;
  struct cove_cgroup *cg;
};

static int collect_cb(const char *ctrls, const char *path, void *d)
{
  struct of_pid *o = d;
  char dir[4096];
  if (cove_cg_mount_dir(o->m, ctrls, path, dir, sizeof dir) < 0)
    return 0;
  if (!*ctrls) {
    snprintf(o->cg->v2, sizeof o->cg->v2, "%s", dir);
    return 0;
  }
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (cove_cg_word_in(ctrls, cove_cg_ctrl_name(c)))
      snprintf(o->cg->v1[c], sizeof o->cg->v1[c], "%s", dir);
  return 0;
}

int cove_container_is_paused(pid_t pid)
{
  cove_err e;
  _cleanup_free_ char *text = cove_cg_proc_cgroup(pid, &e);
  struct cove_cg_mounts m;
  if (!text || cove_cg_mounts_read(&m, &e) < 0)
    return 0;
  /* a view of the init's cgroups, not a record: nothing is owned */
  struct cove_cgroup cg = {.ops = &cove_cg_ops_hybrid, .active = true};
  cove_cg_each_line(text, collect_cb, &(struct of_pid){&m, &cg});
  cove_cg_mounts_free(&m);
  return cove_cgroup_frozen(&cg) == 1;
}

struct join {
  const struct cove_cg_mounts *m;
  char me[32];
};

/* Every hierarchy the init is in, cove's or not (name=systemd, net_cls). */
static int join_cb(const char *ctrls, const char *path, void *d)
{
  const struct join *j = d;
  char dir[4096];
  if (cove_cg_mount_dir(j->m, ctrls, path, dir, sizeof dir) < 0) {
    cove_debug("exec: cgroup %s:%s not mounted here, not joined", ctrls, path);
    return 0;
  }
  cove_err e;
  if (cove_cg_write(dir, "cgroup.procs", j->me, &e) < 0)
    cove_debug("exec: join cgroup %s/cgroup.procs: %s", dir, e.msg);
  return 0;
}

void cove_cgroup_join_of(pid_t pid)
{
  cove_err e;
  _cleanup_free_ char *text = cove_cg_proc_cgroup(pid, &e);
  struct cove_cg_mounts m;
  if (!text || cove_cg_mounts_read(&m, &e) < 0)
    return;
  struct join j = {.m = &m};
  snprintf(j.me, sizeof j.me, "%d", (int)getpid());
  cove_cg_each_line(text, join_cb, &j);
  cove_cg_mounts_free(&m);
}
