/* Resource usage from the container's cgroups (v2 files first, v1 for the
 * controllers that live there on hybrid hosts). */
#include "cgroup_internal.h"

#include "cove/cleanup.h"
#include "cove/state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static bool read_u64(const char *dir, const char *file, uint64_t *out)
{
  char b[64];
  if (!dir[0] || cove_cg_read(dir, file, b, sizeof b) <= 0)
    return false;
  if (!strncmp(b, "max", 3)) {
    *out = UINT64_MAX;
    return true;
  }
  char *end;
  errno = 0;
  long long v = strtoll(b, &end, 10);
  if (errno || end == b)
    return false;
  /* v1 reports "unlimited" as a huge page-rounded number; -1 elsewhere */
  *out = v < 0 ? UINT64_MAX : (uint64_t)v;
  return true;
}

/* "key value" lines (memory.events, cpu.stat, memory.oom_control). */
static bool read_kv(const char *dir, const char *file, const char *key, uint64_t *out)
{
  char b[4096];
  if (!dir[0] || cove_cg_read(dir, file, b, sizeof b) <= 0)
    return false;
  size_t l = strlen(key);
  for (char *line = strtok(b, "\n"); line; line = strtok(NULL, "\n"))
    if (!strncmp(line, key, l) && line[l] == ' ') {
      *out = strtoull(line + l + 1, NULL, 10);
      return true;
    }
  return false;
}

int cove_cg_fs_stats(const struct cove_cgroup *cg, struct cove_container_stats *st, cove_err *err)
{
  memset(st, 0, sizeof *st);
  if (!cg->active)
    return cove_error(err, 0, "the container has no cgroup (no stats)");
  const char *v2 = cg->v2;
  if (v2[0] && cove_cg_v2_has(v2, "memory")) {
    st->has_memory = read_u64(v2, "memory.current", &st->mem_usage);
    read_u64(v2, "memory.peak", &st->mem_peak);
    read_u64(v2, "memory.max", &st->mem_limit);
    read_kv(v2, "memory.events", "max", &st->mem_failcnt);
    read_kv(v2, "memory.events", "oom", &st->mem_oom);
    read_kv(v2, "memory.events", "oom_kill", &st->mem_oom_kill);
    read_u64(v2, "memory.swap.current", &st->swap_usage);
  } else if (cg->v1[COVE_CG_MEMORY][0]) {
    const char *d = cg->v1[COVE_CG_MEMORY];
    st->has_memory = read_u64(d, "memory.usage_in_bytes", &st->mem_usage);
    read_u64(d, "memory.max_usage_in_bytes", &st->mem_peak);
    read_u64(d, "memory.limit_in_bytes", &st->mem_limit);
    if (st->mem_limit >= (UINT64_MAX >> 2) || st->mem_limit >= 0x7ffffffffffff000ULL)
      st->mem_limit = UINT64_MAX;
    read_u64(d, "memory.failcnt", &st->mem_failcnt);
    read_kv(d, "memory.oom_control", "oom_kill", &st->mem_oom_kill);
    uint64_t memsw;
    if (read_u64(d, "memory.memsw.usage_in_bytes", &memsw) && memsw >= st->mem_usage)
      st->swap_usage = memsw - st->mem_usage;
  }
  /* cpu.stat's usage is core in v2 (no controller needed) */
  if (v2[0] && read_kv(v2, "cpu.stat", "usage_usec", &st->cpu_usage_usec) && !cg->v1[COVE_CG_CPUACCT][0]) {
    st->has_cpu = true;
    read_kv(v2, "cpu.stat", "user_usec", &st->cpu_user_usec);
    read_kv(v2, "cpu.stat", "system_usec", &st->cpu_system_usec);
    read_kv(v2, "cpu.stat", "nr_periods", &st->cpu_nr_periods);
    read_kv(v2, "cpu.stat", "nr_throttled", &st->cpu_nr_throttled);
    read_kv(v2, "cpu.stat", "throttled_usec", &st->cpu_throttled_usec);
  } else if (cg->v1[COVE_CG_CPUACCT][0]) {
    /* On hybrid hosts the v2 cpu.stat counts only what ran while in the
     * unified tree, which is all of it; cpuacct is the v1 truth. */
    const char *d = cg->v1[COVE_CG_CPUACCT];
    uint64_t ns;
    if (read_u64(d, "cpuacct.usage", &ns)) {
      st->has_cpu = true;
      st->cpu_usage_usec = ns / 1000;
      uint64_t u, s;
      if (read_u64(d, "cpuacct.usage_user", &u))
        st->cpu_user_usec = u / 1000;
      if (read_u64(d, "cpuacct.usage_sys", &s))
        st->cpu_system_usec = s / 1000;
    }
    if (cg->v1[COVE_CG_CPU][0]) {
      read_kv(cg->v1[COVE_CG_CPU], "cpu.stat", "nr_periods", &st->cpu_nr_periods);
      read_kv(cg->v1[COVE_CG_CPU], "cpu.stat", "nr_throttled", &st->cpu_nr_throttled);
      uint64_t tns;
      if (read_kv(cg->v1[COVE_CG_CPU], "cpu.stat", "throttled_time", &tns))
        st->cpu_throttled_usec = tns / 1000;
    }
  }
  const char *pd = v2[0] && cove_cg_v2_has(v2, "pids") ? v2 : cg->v1[COVE_CG_PIDS];
  if (pd[0] && read_u64(pd, "pids.current", &st->pids_current)) {
    st->has_pids = true;
    read_u64(pd, "pids.max", &st->pids_limit);
    if (st->pids_limit == UINT64_MAX)
      st->pids_limit = 0;
  }
  return 0;
}

int cove_container_stats(const char *root, const char *id, struct cove_container_stats *st, cove_err *err)
{
  _cleanup_close_ int dirfd = cove_state_open(root, id, err);
  if (dirfd < 0)
    return -1;
  struct cove_cgroup cg;
  if (cove_cgroup_load(dirfd, &cg, err) < 0)
    return -1;
  int r = cove_cgroup_stats(&cg, st, err);
  cove_cgroup_release(&cg);
  if (r < 0)
    return cove_error_prefix(err, "container \"%s\"", id);
  return 0;
}
