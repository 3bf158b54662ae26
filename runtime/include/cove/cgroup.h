/* The container's cgroups (docs/cgroups.md).
 *
 * One container = one cgroup v2 directory when the host has a writable v2
 * hierarchy, plus, on hybrid hosts, one directory in each v1 hierarchy
 * whose controller v2 lacks. Every requested limit is enforced or the
 * create is refused before the init exists; nothing is ever dropped.
 *
 * The directories cove made are recorded in the state directory (file
 * "cgroup") so later commands (pause, update, kill --all, delete, stats)
 * find them; delete and every failed create remove them again. */
#pragma once
#include "cove/error.h"
#include "cove/resources.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cove_spec;

/* v1 controllers cove can use on hybrid/v1 hosts. */
enum cove_cg_ctrl {
  COVE_CG_MEMORY,
  COVE_CG_CPU,
  COVE_CG_CPUACCT,
  COVE_CG_CPUSET,
  COVE_CG_PIDS,
  COVE_CG_BLKIO,
  COVE_CG_FREEZER,
  COVE_CG_HUGETLB,
  COVE_CG_DEVICES,
  COVE_CG_V1_COUNT
};
const char *cove_cg_ctrl_name(enum cove_cg_ctrl c);

#define COVE_CG_MAX_MADE 64

struct cove_cg_ops;

/* The systemd manager's unit (docs/cgroups.md, "The systemd manager"). */
struct cove_sd_scope {
  char unit[256];  /* "prefix-name.scope"; "" = not systemd-managed */
  char slice[256]; /* "machine.slice" */
  bool user;       /* the caller's user manager (rootless), not the system one */
};

struct cove_cgroup {
  /* The manager (runtime/lib/cgroup_internal.h, docs/cgroups.md): v2,
   * hybrid, systemd, disabled. NULL = derived from the directories. */
  const struct cove_cg_ops *ops;
  bool active;                        /* the container has cgroups at all */
  char v2[4096];                      /* its v2 directory ("" = none) */
  char v1[COVE_CG_V1_COUNT][4096];    /* its v1 directory per controller */
  /* Directories this container created, parents first: removed deepest
   * first on destroy. A pre-existing (empty) cgroupsPath is joined, not
   * created, and survives the container. */
  char *made[COVE_CG_MAX_MADE];
  size_t n_made;
  struct cove_sd_scope sd; /* the systemd manager's unit, else empty */
  void *late; /* a late-setup manager's pending request (create only) */
};

/* cgroupfs picks the v2 or the hybrid manager from the host; it and
 * systemd take the systemd manager for a cgroupsPath "slice:prefix:name",
 * systemd also for any other (--systemd-cgroup). */
enum cove_cg_manager { COVE_CG_MANAGER_CGROUPFS = 0, COVE_CG_MANAGER_DISABLED, COVE_CG_MANAGER_SYSTEMD };

/* Whether this build has the systemd manager (built with sd-bus). */
bool cove_systemd_supported(void);

/* Pick the manager, resolve linux.cgroupsPath, check that every limit in
 * spec->res can be enforced here, create the directories, write the
 * limits and record them in the state directory. On failure nothing is
 * left behind. With COVE_CG_MANAGER_DISABLED, or rootless with nothing
 * writable and no limits asked, cg->active is false. A manager that makes
 * the cgroup around the init (systemd) is only decided and recorded here;
 * cove_cgroup_enter does the rest. */
int cove_cgroup_setup(struct cove_cgroup *cg, const struct cove_spec *spec, const char *id,
                      enum cove_cg_manager mgr, int state_dirfd, cove_err *err);
/* An O_PATH fd of the v2 directory for clone3(CLONE_INTO_CGROUP), or -1. */
int cove_cgroup_v2_fd(const struct cove_cgroup *cg);
/* Move pid into every directory (skip_v2: clone3 already put it there).
 * A late-setup manager creates the cgroup here, around the init's pid,
 * and records it again. */
int cove_cgroup_enter(struct cove_cgroup *cg, pid_t pid, bool skip_v2, cove_err *err);
/* Kill what is left (cgroup.kill or SIGKILL per pid), thaw, wait until
 * empty and remove the directories cove made (systemd: stop the unit).
 * Frees cg->made. */
int cove_cgroup_destroy(struct cove_cgroup *cg, cove_err *err);
void cove_cgroup_release(struct cove_cgroup *cg);

/* Persist in / load from the container's state directory. load returns 0
 * with cg->active false when the container has no cgroup. */
int cove_cgroup_save(int state_dirfd, const struct cove_cgroup *cg, cove_err *err);
int cove_cgroup_load(int state_dirfd, struct cove_cgroup *cg, cove_err *err);
/* Remove the record (delete, after destroy). */
void cove_cgroup_forget(int state_dirfd);

/* Apply (or, for update, change) limits on existing directories. */
int cove_cgroup_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool update, cove_err *err);
int cove_cgroup_freeze(const struct cove_cgroup *cg, bool freeze, cove_err *err);
/* 1 frozen (v2 cgroup.freeze or the v1 freezer), 0 not, -1 unknown. */
int cove_cgroup_frozen(const struct cove_cgroup *cg);
/* Signal every process in the cgroup (SIGKILL through cgroup.kill). */
int cove_cgroup_signal_all(const struct cove_cgroup *cg, int sig, cove_err *err);
/* Host pids of every process in the cgroup (malloc'ed array). */
int cove_cgroup_pids(const struct cove_cgroup *cg, pid_t **pids, size_t *n, cove_err *err);

/* Resource usage of a container. Fields whose controller is not there
 * have their has_* flag false. Units: bytes, microseconds, counts. */
struct cove_container_stats {
  bool has_memory;
  uint64_t mem_usage;     /* memory.current / memory.usage_in_bytes */
  uint64_t mem_peak;      /* memory.peak / memory.max_usage_in_bytes (0 if the kernel lacks it) */
  uint64_t mem_limit;     /* UINT64_MAX = unlimited */
  uint64_t mem_failcnt;   /* v1 memory.failcnt; v2 memory.events "max" */
  uint64_t mem_oom;       /* memory.events "oom" (v1: under_oom transitions are not counted: 0) */
  uint64_t mem_oom_kill;  /* processes killed by the OOM killer in this cgroup */
  uint64_t swap_usage;    /* memory.swap.current (v1: memsw - usage), 0 without swap accounting */
  bool has_cpu;
  uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
  uint64_t cpu_nr_periods, cpu_nr_throttled, cpu_throttled_usec;
  bool has_pids;
  uint64_t pids_current, pids_limit; /* pids_limit 0 = unlimited */
};

/* Stats of container `id` under state root `root`: what the orchestrator
 * reads to report oom_killed (mem_oom_kill > 0), peak memory and CPU time.
 * Fails when the container does not exist or has no cgroup. */
int cove_container_stats(const char *root, const char *id, struct cove_container_stats *st, cove_err *err);
int cove_cgroup_stats(const struct cove_cgroup *cg, struct cove_container_stats *st, cove_err *err);

/* Container-level operations over the state directory (container_cgroup.c). */
int cove_container_pause(const char *root, const char *id, cove_err *err);
int cove_container_resume(const char *root, const char *id, cove_err *err);
int cove_container_update(const char *root, const char *id, const struct cove_resources *r, cove_err *err);
int cove_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, cove_err *err);
