/* linux.resources (runtime-spec config-linux.md), parsed and range-checked.
 *
 * Every limit is optional: `set` tells a field that was given from one that
 * was not, so the cgroup layer writes exactly what was asked (and refuses
 * what it cannot enforce) and `update` changes only the named limits.
 * Strings borrow from the yajl tree the struct was parsed from. */
#pragma once
#include "cove/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct yajl_val_s *yajl_val;

struct cove_opt_i64 {
  bool set;
  int64_t v;
};
struct cove_opt_u64 {
  bool set;
  uint64_t v;
};

/* One entry of weightDevice / throttle*Device: rate (bytes or ops per
 * second) for throttles, weight (and leafWeight) for weightDevice. */
struct cove_blkio_dev {
  int64_t major, minor;
  struct cove_opt_u64 weight, leaf_weight;
  uint64_t rate;
};
struct cove_blkio_devs {
  struct cove_blkio_dev *v;
  size_t n;
};

struct cove_hugepage_limit {
  const char *page_size; /* "2MB", "1GB" */
  uint64_t limit;
};

struct cove_rdma_limit {
  const char *device;
  struct cove_opt_u64 hca_handles, hca_objects;
};

struct cove_unified_kv {
  const char *key, *value;
};

/* One linux.resources.devices rule. type 'a' (all), 'b' or 'c'; major and
 * minor -1 = any; access a mask of COVE_DEV_ACC_*. */
enum { COVE_DEV_ACC_MKNOD = 1, COVE_DEV_ACC_READ = 2, COVE_DEV_ACC_WRITE = 4, COVE_DEV_ACC_ALL = 7 };
struct cove_device_rule {
  bool allow;
  char type;
  int64_t major, minor;
  unsigned access;
};

struct cove_resources {
  bool present; /* linux.resources given at all */
  struct cove_device_rule *devices;
  size_t n_devices;
  /* memory: -1 = unlimited */
  struct cove_opt_i64 mem_limit, mem_reservation, mem_swap, mem_kernel, mem_kernel_tcp;
  struct cove_opt_u64 mem_swappiness;
  bool mem_disable_oom_killer_set, mem_disable_oom_killer;
  /* cpu */
  struct cove_opt_u64 cpu_shares, cpu_period, cpu_burst, cpu_rt_period;
  struct cove_opt_i64 cpu_quota, cpu_rt_runtime, cpu_idle;
  const char *cpu_cpus, *cpu_mems;
  /* pids: -1 (or 0, runc's convention) = unlimited */
  struct cove_opt_i64 pids_limit;
  /* blockIO */
  struct cove_opt_u64 blkio_weight, blkio_leaf_weight;
  struct cove_blkio_devs blkio_weight_dev, blkio_read_bps, blkio_write_bps, blkio_read_iops, blkio_write_iops;
  struct cove_hugepage_limit *hugepages;
  size_t n_hugepages;
  struct cove_rdma_limit *rdma;
  size_t n_rdma;
  struct cove_unified_kv *unified;
  size_t n_unified;
  bool has_network; /* classID / priorities: refused by the cgroup layer */
};

/* Parse a LinuxResources object `obj` whose field path is `path`
 * ("linux.resources" for config.json, "resources" for `update`). Unknown
 * keys, wrong types and absurd values fail with the field named. */
int cove_resources_parse(yajl_val obj, const char *path, struct cove_resources *r, cove_err *err);
void cove_resources_free(struct cove_resources *r);
/* Whether anything besides device rules was asked for (a limit that needs a
 * cgroup to be enforced). */
bool cove_resources_has_limits(const struct cove_resources *r);
/* linux.cgroupsPath: a clean path ("/a/b" or "a/b"), no "..", "." or empty
 * components, or runc's systemd form "slice:prefix:name". */
int cove_cgroups_path_check(const char *path, cove_err *err);
