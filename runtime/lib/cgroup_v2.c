/* linux.resources → cgroup v2 files. A group of limits is written here when
 * the container's v2 cgroup has its controller; every write that fails, or
 * a limit v2 cannot express, is an error naming the field. */
#include "cgroup_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


bool cove_cg_v2_has(const char *dir, const char *ctrl)
{
  char b[512];
  if (!dir || !dir[0] || cove_cg_read(dir, "cgroup.controllers", b, sizeof b) < 0)
    return false;
  size_t l = strlen(ctrl);
  for (char *p = strtok(b, " \n"); p; p = strtok(NULL, " \n"))
    if (strlen(p) == l && !strcmp(p, ctrl))
      return true;
  return false;
}

#define F(field) "linux.resources." field


static void lim(char *b, size_t cap, int64_t v)
{
  if (v < 0)
    snprintf(b, cap, "max");
  else
    snprintf(b, cap, "%" PRId64, v);
}

uint64_t cove_cg_cpu_weight(uint64_t s)
{
  return 1 + ((s - 2) * 9999) / 262142;
}

uint64_t cove_cg_io_weight(uint64_t w)
{
  return 1 + ((w - 10) * 9999) / 990;
}

static bool swap_active(void)
{
  char b[256];
  int n = cove_cg_read("/proc", "swaps", b, sizeof b);
  return n > 0 && strchr(b, '\n') && strchr(b, '\n')[1] != 0;
}

static int v2_memory(const char *d, const struct cove_resources *r, bool update, cove_err *err)
{
  char b[64];
  if (r->mem_disable_oom_killer_set && r->mem_disable_oom_killer)
    return cove_cg_cannot(err, F("memory.disableOOMKiller") ": cgroup v2 cannot disable the OOM killer "
                                                           "(memory.oom.group only chooses what it kills)");
  if (r->mem_swappiness.set)
    return cove_cg_cannot(err, F("memory.swappiness") ": cgroup v2 has no per-cgroup swappiness");
  if (r->mem_kernel_tcp.set)
    return cove_cg_cannot(err, F("memory.kernelTCP") ": cgroup v2 has no separate TCP buffer limit (it is charged to "
                                                    "memory.max)");
  if (r->mem_limit.set) {
    lim(b, sizeof b, r->mem_limit.v);
    if (cove_cg_put(d, "memory.max", "memory.limit", NULL, err, "%s", b) < 0)
      return -1;
  }
  if (r->mem_reservation.set) {
    lim(b, sizeof b, r->mem_reservation.v);
    if (cove_cg_put(d, "memory.low", "memory.reservation", NULL, err, "%s", b) < 0)
      return -1;
  }
  if (r->mem_swap.set) {
    /* OCI swap is memory+swap; v2 limits swap alone: write swap - limit */
    if (r->mem_swap.v == -1) {
      snprintf(b, sizeof b, "max");
    } else {
      int64_t limit = -1;
      if (r->mem_limit.set)
        limit = r->mem_limit.v;
      else if (update) {
        char cur[64];
        if (cove_cg_read(d, "memory.max", cur, sizeof cur) > 0 && strncmp(cur, "max", 3))
          limit = strtoll(cur, NULL, 10);
      }
      if (limit < 0)
        return cove_cg_invalid(err, F("memory.swap") ": needs a memory.limit (swap is the limit of memory plus swap)");
      if (r->mem_swap.v < limit)
        return cove_cg_invalid(err, F("memory.swap") ": %" PRId64 " is less than memory.limit %" PRId64, r->mem_swap.v,
                          limit);
      snprintf(b, sizeof b, "%" PRId64, r->mem_swap.v - limit);
    }
    if (!cove_cg_exists(d, "memory.swap.max")) {
      if (!strcmp(b, "max") || (!strcmp(b, "0") && !swap_active()))
        return 0; /* nothing to limit: no swap accounting, no swap */
      return cove_cg_cannot(err, F("memory.swap") ": this kernel has no swap accounting (memory.swap.max missing)");
    }
    if (cove_cg_put(d, "memory.swap.max", "memory.swap", NULL, err, "%s", b) < 0)
      return -1;
  }
  return 0;
}

static int v2_cpu(const char *d, const struct cove_resources *r, cove_err *err)
{
  char b[128];
  if ((r->cpu_rt_runtime.set && r->cpu_rt_runtime.v != 0) || (r->cpu_rt_period.set && r->cpu_rt_period.v != 0))
    return cove_cg_cannot(err, F("cpu.realtimeRuntime") ": cgroup v2 has no realtime limits");
  if (r->cpu_shares.set) {
    snprintf(b, sizeof b, "%" PRIu64, cove_cg_cpu_weight(r->cpu_shares.v));
    if (cove_cg_put(d, "cpu.weight", "cpu.shares", NULL, err, "%s", b) < 0)
      return -1;
  }
  if (r->cpu_quota.set || r->cpu_period.set) {
    /* keep the half not given (update --cpu-period alone keeps the quota) */
    char cur[128] = "max 100000", q[32] = "max";
    uint64_t period = 100000;
    if (cove_cg_read(d, "cpu.max", cur, sizeof cur) > 0) {
      sscanf(cur, "%31s %" SCNu64, q, &period);
    }
    if (r->cpu_quota.set)
      lim(q, sizeof q, r->cpu_quota.v);
    if (r->cpu_period.set)
      period = r->cpu_period.v;
    snprintf(b, sizeof b, "%s %" PRIu64, q, period);
    if (cove_cg_put(d, "cpu.max", r->cpu_quota.set ? "cpu.quota" : "cpu.period", NULL, err, "%s", b) < 0)
      return -1;
  }
  if ((r->cpu_burst.set && cove_cg_put(d, "cpu.max.burst", "cpu.burst", "this kernel has no cpu.max.burst", err,
                                       "%" PRIu64, r->cpu_burst.v) < 0) ||
      (r->cpu_idle.set &&
       cove_cg_put(d, "cpu.idle", "cpu.idle", "this kernel has no cpu.idle", err, "%d", r->cpu_idle.v ? 1 : 0) < 0))
    return -1;
  return 0;
}

static int io_devs(const char *d, const struct cove_blkio_devs *v, const char *key, const char *field, cove_err *err)
{
  for (size_t i = 0; i < v->n; i++) {
    char b[128];
    snprintf(b, sizeof b, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, v->v[i].major, v->v[i].minor, key, v->v[i].rate);
    if (cove_cg_write(d, "io.max", b, err) < 0)
      return cove_error_prefix(err, F("blockIO.%s[%zu]"), field, i);
  }
  return 0;
}

static int v2_io(const char *d, const struct cove_resources *r, cove_err *err)
{
  char b[128];
  if (r->blkio_leaf_weight.set)
    return cove_cg_cannot(err, F("blockIO.leafWeight") ": cgroup v2 has no leaf weight");
  bool io_w = cove_cg_exists(d, "io.weight"), bfq = cove_cg_exists(d, "io.bfq.weight");
  if (r->blkio_weight.set) {
    if (!io_w && !bfq)
      return cove_cg_cannot(err, F("blockIO.weight") ": no io.weight or io.bfq.weight here (no weight-based I/O "
                                                    "scheduler)");
    if (io_w)
      snprintf(b, sizeof b, "default %" PRIu64, cove_cg_io_weight(r->blkio_weight.v));
    else
      snprintf(b, sizeof b, "%" PRIu64, r->blkio_weight.v);
    if (cove_cg_put(d, io_w ? "io.weight" : "io.bfq.weight", "blockIO.weight", NULL, err, "%s", b) < 0)
      return -1;
  }
  for (size_t i = 0; i < r->blkio_weight_dev.n; i++) {
    const struct cove_blkio_dev *e = &r->blkio_weight_dev.v[i];
    if (e->leaf_weight.set)
      return cove_cg_cannot(err, F("blockIO.weightDevice[%zu].leafWeight") ": cgroup v2 has no leaf weight", i);
    if (!io_w && !bfq)
      return cove_cg_cannot(err, F("blockIO.weightDevice[%zu]") ": no io.weight or io.bfq.weight here", i);
    snprintf(b, sizeof b, "%" PRId64 ":%" PRId64 " %" PRIu64, e->major, e->minor,
             io_w ? cove_cg_io_weight(e->weight.v) : e->weight.v);
    if (cove_cg_write(d, io_w ? "io.weight" : "io.bfq.weight", b, err) < 0)
      return cove_error_prefix(err, F("blockIO.weightDevice[%zu]"), i);
  }
  if (io_devs(d, &r->blkio_read_bps, "rbps", "throttleReadBpsDevice", err) < 0 ||
      io_devs(d, &r->blkio_write_bps, "wbps", "throttleWriteBpsDevice", err) < 0 ||
      io_devs(d, &r->blkio_read_iops, "riops", "throttleReadIOPSDevice", err) < 0 ||
      io_devs(d, &r->blkio_write_iops, "wiops", "throttleWriteIOPSDevice", err) < 0)
    return -1;
  return 0;
}

static int v2_hugetlb(const char *d, const struct cove_resources *r, cove_err *err)
{
  for (size_t i = 0; i < r->n_hugepages; i++) {
    char f[64], b[32];
    snprintf(f, sizeof f, "hugetlb.%s.max", r->hugepages[i].page_size);
    if (!cove_cg_exists(d, f))
      return cove_cg_cannot(err, F("hugepageLimits[%zu].pageSize") ": %s pages are not supported here (no %s)", i,
                        r->hugepages[i].page_size, f);
    snprintf(b, sizeof b, "%" PRIu64, r->hugepages[i].limit);
    if (cove_cg_write(d, f, b, err) < 0)
      return cove_error_prefix(err, F("hugepageLimits[%zu]"), i);
  }
  return 0;
}

static int v2_rdma(const char *d, const struct cove_resources *r, cove_err *err)
{
  for (size_t i = 0; i < r->n_rdma; i++) {
    char b[256], h[32] = "max", o[32] = "max";
    if (r->rdma[i].hca_handles.set)
      snprintf(h, sizeof h, "%" PRIu64, r->rdma[i].hca_handles.v);
    if (r->rdma[i].hca_objects.set)
      snprintf(o, sizeof o, "%" PRIu64, r->rdma[i].hca_objects.v);
    snprintf(b, sizeof b, "%s hca_handle=%s hca_object=%s", r->rdma[i].device, h, o);
    if (cove_cg_write(d, "rdma.max", b, err) < 0)
      return cove_error_prefix(err, F("rdma.%s"), r->rdma[i].device);
  }
  return 0;
}

int cove_cg_v2_apply(const char *d, const struct cove_resources *r, bool update, cove_err *err)
{
  bool mem = r->mem_limit.set || r->mem_reservation.set || r->mem_swap.set || r->mem_swappiness.set ||
             r->mem_kernel_tcp.set || (r->mem_disable_oom_killer_set && r->mem_disable_oom_killer);
  bool cpu = r->cpu_shares.set || r->cpu_period.set || r->cpu_burst.set || r->cpu_rt_period.set || r->cpu_quota.set ||
             r->cpu_rt_runtime.set || r->cpu_idle.set;
  bool io = r->blkio_weight.set || r->blkio_leaf_weight.set || r->blkio_weight_dev.n || r->blkio_read_bps.n ||
            r->blkio_write_bps.n || r->blkio_read_iops.n || r->blkio_write_iops.n;
  if (mem && cove_cg_v2_has(d, "memory") && v2_memory(d, r, update, err) < 0)
    return -1;
  if (cpu && cove_cg_v2_has(d, "cpu") && v2_cpu(d, r, err) < 0)
    return -1;
  if (cove_cg_v2_has(d, "cpuset")) {
    if (r->cpu_cpus && *r->cpu_cpus && cove_cg_put(d, "cpuset.cpus", "cpu.cpus", NULL, err, "%s", r->cpu_cpus) < 0)
      return -1;
    if (r->cpu_mems && *r->cpu_mems && cove_cg_put(d, "cpuset.mems", "cpu.mems", NULL, err, "%s", r->cpu_mems) < 0)
      return -1;
  }
  if (r->pids_limit.set && cove_cg_v2_has(d, "pids")) {
    char b[32];
    lim(b, sizeof b, r->pids_limit.v <= 0 ? -1 : r->pids_limit.v);
    if (cove_cg_put(d, "pids.max", "pids.limit", NULL, err, "%s", b) < 0)
      return -1;
  }
  if (io && cove_cg_v2_has(d, "io") && v2_io(d, r, err) < 0)
    return -1;
  if (r->n_hugepages && cove_cg_v2_has(d, "hugetlb") && v2_hugetlb(d, r, err) < 0)
    return -1;
  if (r->n_rdma) {
    if (!cove_cg_v2_has(d, "rdma"))
      return cove_cg_cannot(err, F("rdma") ": the rdma controller is not available");
    if (v2_rdma(d, r, err) < 0)
      return -1;
  }
  /* unified last: it overrides what the typed fields wrote, as in runc */
  for (size_t i = 0; i < r->n_unified; i++) {
    const char *k = r->unified[i].key;
    if (!cove_cg_exists(d, k))
      return cove_error(err, 0, F("unified.%s") ": no such cgroup file (unknown key, or its controller is not enabled)", k);
    if (cove_cg_write(d, k, r->unified[i].value, err) < 0)
      return cove_error_prefix(err, F("unified.%s"), k);
  }
  return 0;
}
