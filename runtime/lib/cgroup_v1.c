/* linux.resources → cgroup v1 files, for the limits whose controller the
 * container's v2 cgroup lacks (hybrid hosts: memory, cpu, pids, cpuset,
 * blkio live in v1 hierarchies). A limit with neither is an error. */
#include "cgroup_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define F(field) "linux.resources." field


/* The v1 directory for a group, NULL when v2 handles it; error when none. */
static int dir_for(const struct cove_cgroup *cg, const char *v2ctrl, enum cove_cg_ctrl c, const char *field,
                   const char **out, cove_err *err)
{
  *out = NULL;
  if (cg->v2[0] && cove_cg_v2_has(cg->v2, v2ctrl))
    return 0;
  if (!cg->v1[c][0])
    return cove_cg_cannot(err, F("%s") ": the container's cgroup has no %s controller (neither v2 nor v1)", field, v2ctrl);
  *out = cg->v1[c];
  return 0;
}

static int v1_memory(const char *d, const struct cove_resources *r, cove_err *err)
{
  bool memsw = cove_cg_exists(d, "memory.memsw.limit_in_bytes");
  if ((r->mem_swappiness.set &&
       cove_cg_put(d, "memory.swappiness", "memory.swappiness", NULL, err, "%" PRIu64, r->mem_swappiness.v) < 0) ||
      (r->mem_reservation.set && cove_cg_put(d, "memory.soft_limit_in_bytes", "memory.reservation", NULL, err,
                                             "%" PRId64, r->mem_reservation.v) < 0))
    return -1;
  if (r->mem_swap.set && !memsw)
    return cove_cg_cannot(err, F("memory.swap") ": this kernel has no swap accounting (memory.memsw.limit_in_bytes "
                                               "missing)");
  /* memsw must stay >= limit at every step: raise memsw first when it
   * grows, lower the limit first when it shrinks. Try one order, then the
   * other. */
  if (r->mem_limit.set || r->mem_swap.set) {
    char lb[64] = "", sb[64] = "";
    if (r->mem_limit.set)
      snprintf(lb, sizeof lb, "%" PRId64, r->mem_limit.v);
    if (r->mem_swap.set)
      snprintf(sb, sizeof sb, "%" PRId64, r->mem_swap.v);
    else if (r->mem_limit.set && memsw && r->mem_limit.v == -1)
      snprintf(sb, sizeof sb, "-1"); /* unlimited memory: memsw must not stay below */
    else if (r->mem_limit.set && memsw) {
      /* a container that was given no swap (memsw == limit) keeps none */
      char cl[64], cs[64];
      if (cove_cg_read(d, "memory.limit_in_bytes", cl, sizeof cl) > 0 &&
          cove_cg_read(d, "memory.memsw.limit_in_bytes", cs, sizeof cs) > 0 && !strcmp(cl, cs))
        snprintf(sb, sizeof sb, "%s", lb);
    }
    cove_err e1;
    bool ok = true;
    if (sb[0] && cove_cg_write(d, "memory.memsw.limit_in_bytes", sb, &e1) < 0)
      ok = false;
    if (lb[0] && cove_cg_put(d, "memory.limit_in_bytes", "memory.limit", NULL, err, "%s", lb) < 0)
      return -1;
    if (!ok && sb[0] && cove_cg_put(d, "memory.memsw.limit_in_bytes", "memory.swap", NULL, err, "%s", sb) < 0)
      return -1;
  }
  if ((r->mem_kernel_tcp.set &&
       cove_cg_put(d, "memory.kmem.tcp.limit_in_bytes", "memory.kernelTCP",
                   "this kernel has no memory.kmem.tcp.limit_in_bytes", err, "%" PRId64, r->mem_kernel_tcp.v) < 0) ||
      (r->mem_disable_oom_killer_set && cove_cg_put(d, "memory.oom_control", "memory.disableOOMKiller", NULL, err,
                                                    "%d", r->mem_disable_oom_killer ? 1 : 0) < 0))
    return -1;
  return 0;
}

static int v1_cpu(const char *d, const struct cove_resources *r, cove_err *err)
{
  static const char no_rt[] = "this kernel has no realtime group scheduling";
  if ((r->cpu_shares.set && cove_cg_put(d, "cpu.shares", "cpu.shares", NULL, err, "%" PRIu64, r->cpu_shares.v) < 0) ||
      (r->cpu_period.set &&
       cove_cg_put(d, "cpu.cfs_period_us", "cpu.period", NULL, err, "%" PRIu64, r->cpu_period.v) < 0) ||
      (r->cpu_quota.set && cove_cg_put(d, "cpu.cfs_quota_us", "cpu.quota", NULL, err, "%" PRId64, r->cpu_quota.v) < 0) ||
      (r->cpu_burst.set && cove_cg_put(d, "cpu.cfs_burst_us", "cpu.burst", "this kernel has no cpu.cfs_burst_us", err,
                                       "%" PRIu64, r->cpu_burst.v) < 0) ||
      (r->cpu_rt_period.set && r->cpu_rt_period.v &&
       cove_cg_put(d, "cpu.rt_period_us", "cpu.realtimePeriod", no_rt, err, "%" PRIu64, r->cpu_rt_period.v) < 0) ||
      (r->cpu_rt_runtime.set && r->cpu_rt_runtime.v &&
       cove_cg_put(d, "cpu.rt_runtime_us", "cpu.realtimeRuntime", no_rt, err, "%" PRId64, r->cpu_rt_runtime.v) < 0) ||
      (r->cpu_idle.set && cove_cg_put(d, "cpu.idle", "cpu.idle", "this kernel has no cpu.idle in cgroup v1", err, "%d",
                                      r->cpu_idle.v ? 1 : 0) < 0))
    return -1;
  return 0;
}

static int blkio_devs(const char *d, const struct cove_blkio_devs *v, const char *file, const char *field,
                      cove_err *err)
{
  for (size_t i = 0; i < v->n; i++) {
    char b[128];
    snprintf(b, sizeof b, "%" PRId64 ":%" PRId64 " %" PRIu64, v->v[i].major, v->v[i].minor, v->v[i].rate);
    if (cove_cg_write(d, file, b, err) < 0)
      return cove_error_prefix(err, F("blockIO.%s[%zu]"), field, i);
  }
  return 0;
}

static int v1_blkio(const char *d, const struct cove_resources *r, cove_err *err)
{
  char b[128];
  const char *wf = cove_cg_exists(d, "blkio.weight") ? "blkio.weight"
                   : cove_cg_exists(d, "blkio.bfq.weight") ? "blkio.bfq.weight" : NULL;
  if ((r->blkio_weight.set || r->blkio_weight_dev.n) && !wf)
    return cove_cg_cannot(err, F("blockIO.weight") ": no blkio.weight here (no weight-based I/O scheduler)");
  if (r->blkio_weight.set && cove_cg_put(d, wf, "blockIO.weight", NULL, err, "%" PRIu64, r->blkio_weight.v) < 0)
    return -1;
  if (r->blkio_leaf_weight.set && cove_cg_put(d, "blkio.leaf_weight", "blockIO.leafWeight",
                                               "no blkio.leaf_weight here", err, "%" PRIu64, r->blkio_leaf_weight.v) < 0)
    return -1;
  for (size_t i = 0; i < r->blkio_weight_dev.n; i++) {
    const struct cove_blkio_dev *e = &r->blkio_weight_dev.v[i];
    char wd[64];
    snprintf(wd, sizeof wd, "%s_device", wf);
    if (e->weight.set) {
      snprintf(b, sizeof b, "%" PRId64 ":%" PRId64 " %" PRIu64, e->major, e->minor, e->weight.v);
      if (cove_cg_write(d, wd, b, err) < 0)
        return cove_error_prefix(err, F("blockIO.weightDevice[%zu]"), i);
    }
    if (e->leaf_weight.set) {
      snprintf(b, sizeof b, "%" PRId64 ":%" PRId64 " %" PRIu64, e->major, e->minor, e->leaf_weight.v);
      if (cove_cg_write(d, "blkio.leaf_weight_device", b, err) < 0)
        return cove_error_prefix(err, F("blockIO.weightDevice[%zu].leafWeight"), i);
    }
  }
  if (blkio_devs(d, &r->blkio_read_bps, "blkio.throttle.read_bps_device", "throttleReadBpsDevice", err) < 0 ||
      blkio_devs(d, &r->blkio_write_bps, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice", err) < 0 ||
      blkio_devs(d, &r->blkio_read_iops, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice", err) < 0 ||
      blkio_devs(d, &r->blkio_write_iops, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice", err) < 0)
    return -1;
  return 0;
}

int cove_cg_v1_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool update, cove_err *err)
{
  (void)update;
  const char *d;
  bool mem = r->mem_limit.set || r->mem_reservation.set || r->mem_swap.set || r->mem_swappiness.set ||
             r->mem_kernel_tcp.set || r->mem_disable_oom_killer_set;
  bool cpu = r->cpu_shares.set || r->cpu_period.set || r->cpu_burst.set || r->cpu_rt_period.set || r->cpu_quota.set ||
             r->cpu_rt_runtime.set || r->cpu_idle.set;
  bool io = r->blkio_weight.set || r->blkio_leaf_weight.set || r->blkio_weight_dev.n || r->blkio_read_bps.n ||
            r->blkio_write_bps.n || r->blkio_read_iops.n || r->blkio_write_iops.n;
  /* disableOOMKiller=false alone asks for nothing */
  if (mem && !(r->mem_disable_oom_killer_set && !r->mem_disable_oom_killer && !r->mem_limit.set &&
               !r->mem_reservation.set && !r->mem_swap.set && !r->mem_swappiness.set && !r->mem_kernel_tcp.set)) {
    if (dir_for(cg, "memory", COVE_CG_MEMORY, "memory", &d, err) < 0)
      return -1;
    if (d && v1_memory(d, r, err) < 0)
      return -1;
  }
  if (cpu) {
    if (dir_for(cg, "cpu", COVE_CG_CPU, "cpu", &d, err) < 0)
      return -1;
    if (d && v1_cpu(d, r, err) < 0)
      return -1;
  }
  if ((r->cpu_cpus && *r->cpu_cpus) || (r->cpu_mems && *r->cpu_mems)) {
    if (dir_for(cg, "cpuset", COVE_CG_CPUSET, "cpu.cpus", &d, err) < 0)
      return -1;
    if (d && r->cpu_mems && *r->cpu_mems && cove_cg_put(d, "cpuset.mems", "cpu.mems", NULL, err, "%s", r->cpu_mems) < 0)
      return -1;
    if (d && r->cpu_cpus && *r->cpu_cpus && cove_cg_put(d, "cpuset.cpus", "cpu.cpus", NULL, err, "%s", r->cpu_cpus) < 0)
      return -1;
  }
  if (r->pids_limit.set) {
    if (dir_for(cg, "pids", COVE_CG_PIDS, "pids.limit", &d, err) < 0)
      return -1;
    char b[32];
    if (r->pids_limit.v <= 0)
      snprintf(b, sizeof b, "max");
    else
      snprintf(b, sizeof b, "%" PRId64, r->pids_limit.v);
    if (d && cove_cg_put(d, "pids.max", "pids.limit", NULL, err, "%s", b) < 0)
      return -1;
  }
  if (io) {
    if (dir_for(cg, "io", COVE_CG_BLKIO, "blockIO", &d, err) < 0)
      return -1;
    if (d && v1_blkio(d, r, err) < 0)
      return -1;
  }
  if (r->n_hugepages) {
    if (dir_for(cg, "hugetlb", COVE_CG_HUGETLB, "hugepageLimits", &d, err) < 0)
      return -1;
    for (size_t i = 0; d && i < r->n_hugepages; i++) {
      char f[64], b[32];
      snprintf(f, sizeof f, "hugetlb.%s.limit_in_bytes", r->hugepages[i].page_size);
      snprintf(b, sizeof b, "%" PRIu64, r->hugepages[i].limit);
      if (!cove_cg_exists(d, f))
        return cove_cg_cannot(err, F("hugepageLimits[%zu].pageSize") ": %s pages are not supported here", i,
                          r->hugepages[i].page_size);
      if (cove_cg_write(d, f, b, err) < 0)
        return cove_error_prefix(err, F("hugepageLimits[%zu]"), i);
    }
  }
  if (r->n_unified && !cg->v2[0])
    return cove_cg_cannot(err, F("unified") ": the container has no cgroup v2 directory");
  return 0;
}

/* One cpuset file of `dir`: left alone when set, else the parent's. */
static int cpuset_inherit(const char *parent, const char *dir, const char *file, cove_err *err)
{
  char cur[4096], up[4096];
  if (cove_cg_read(dir, file, cur, sizeof cur) < 0)
    return cove_error(err, errno, "read %s/%s", dir, file);
  cur[strcspn(cur, "\n")] = 0;
  if (cur[0])
    return 0;
  if (cove_cg_read(parent, file, up, sizeof up) < 0)
    return cove_error(err, errno, "read %s/%s", parent, file);
  up[strcspn(up, "\n")] = 0;
  if (!up[0])
    return cove_error(err, ENOSPC, "%s/%s is empty: nothing to inherit", parent, file);
  return cove_cg_write(dir, file, up, err);
}

int cove_cg_v1_cpuset_fill(const char *base, const char *leaf, cove_err *err)
{
  size_t bl = strlen(base);
  if (strncmp(leaf, base, bl) != 0 || (leaf[bl] != '/' && leaf[bl] != 0) || strlen(leaf) >= 4096)
    return cove_error(err, EINVAL, "cpuset: %s is not below %s", leaf, base);
  char parent[4096], dir[4096];
  snprintf(parent, sizeof parent, "%s", base);
  snprintf(dir, sizeof dir, "%s", leaf);
  /* top-down: each level's parent is filled before the level itself (mems
   * first: the kernel checks cpus and mems against the parent's) */
  for (char *s = dir + bl + (leaf[bl] == '/'); *s; ) {
    char *e = strchr(s, '/');
    if (e)
      *e = 0;
    if (cpuset_inherit(parent, dir, "cpuset.mems", err) < 0 || cpuset_inherit(parent, dir, "cpuset.cpus", err) < 0)
      return -1;
    snprintf(parent, sizeof parent, "%s", dir);
    if (!e)
      break;
    *e = '/';
    s = e + 1;
  }
  return 0;
}
