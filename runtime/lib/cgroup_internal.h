/* Private to runtime/lib/cgroup*.c and exec_cgroup.c: the host's cgroup
 * hierarchies, the routing of limits onto them (a pure function, unit
 * tested in tests/unit/test_cgroup_route.c) and the manager interface
 * (docs/cgroups.md, "Managers"). */
#pragma once
#include "cove/cgroup.h"

#include <limits.h>

/* ------------------------------------------------------------ file I/O */

int cove_cg_write(const char *dir, const char *file, const char *val, cove_err *err);
int cove_cg_read(const char *dir, const char *file, char *buf, size_t cap);
bool cove_cg_exists(const char *dir, const char *file);
/* Does the directory hold any process (its cgroup.procs is not empty)? */
bool cove_cg_has_procs(const char *dir);
/* Is `w` an element of the list `list` (separated by space, comma, newline)? */
bool cove_cg_word_in(const char *list, const char *w);
/* A limit this host cannot enforce: kind COVE_EK_LIMITS, so callers (the
 * orchestrator's allow_unlimited fallback) decide without reading text. */
#define cove_cg_cannot(err, ...) cove_error_kind((err), COVE_EK_LIMITS, 0, __VA_ARGS__)
/* A limit contradicting another (kind COVE_EK_INVALID_CONFIG). */
#define cove_cg_invalid(err, ...) cove_error_kind((err), COVE_EK_INVALID_CONFIG, 0, __VA_ARGS__)
/* One limit into dir/file, formatted; errors name "linux.resources.FIELD".
 * With `missing` set, a file the kernel lacks is a limit this host cannot
 * enforce ("linux.resources.FIELD: MISSING"). */
int cove_cg_put(const char *dir, const char *file, const char *field, const char *missing, cove_err *err,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Does the v2 directory offer controller `ctrl` (its cgroup.controllers)? */
bool cove_cg_v2_has(const char *dir, const char *ctrl);

/* ------------------------------------------------------ host discovery */

/* One cgroup mount of /proc/self/mountinfo. */
struct cove_cg_mount {
  bool v2;
  char root[1024]; /* the mount's root inside its hierarchy */
  char mnt[1024];  /* mount point, unescaped */
  char opts[1024]; /* super options: the v1 controllers */
};
struct cove_cg_mounts {
  size_t n;
  struct cove_cg_mount *v;
};
/* Parse mountinfo text (pure: only its cgroup mounts are kept). */
int cove_cg_mounts_parse(const char *mountinfo, struct cove_cg_mounts *m, cove_err *err);
/* /proc/self/mountinfo, parsed: the one reader of the mount table. */
int cove_cg_mounts_read(struct cove_cg_mounts *m, cove_err *err);
void cove_cg_mounts_free(struct cove_cg_mounts *m);
/* Directory of cgroup `path` of hierarchy `ctrls` (a /proc/PID/cgroup
 * controller list: "" = v2, "cpu,cpuacct", "name=systemd") in this mount
 * namespace, honouring a mount whose root is not the hierarchy's root.
 * -1 when no such hierarchy is mounted here. */
int cove_cg_mount_dir(const struct cove_cg_mounts *m, const char *ctrls, const char *path, char *out, size_t cap);
/* Calls cb(ctrls, path, d) for every line of /proc/PID/cgroup text. */
int cove_cg_each_line(const char *proc_cgroup, int (*cb)(const char *ctrls, const char *path, void *d), void *d);
/* /proc/PID/cgroup (pid 0: self) as a malloc'ed string, NULL on error. */
char *cove_cg_proc_cgroup(pid_t pid, cove_err *err);

struct cove_cg_hier {
  char mnt[PATH_MAX]; /* mount point */
  char own[PATH_MAX]; /* the caller's cgroup in it ("/...") */
};
/* The hierarchies cove can place a container under. */
struct cove_cg_host {
  bool has_v2;
  struct cove_cg_hier v2;
  bool has_v1[COVE_CG_V1_COUNT];
  struct cove_cg_hier v1[COVE_CG_V1_COUNT];
  /* cgroup.controllers of a v2 directory into buf, -1 if unreadable: the
   * one host read routing needs (the unit tests answer it themselves). */
  int (*controllers)(const char *dir, char *buf, size_t cap);
};
/* Pure: hierarchies from the parsed mounts and /proc/self/cgroup text. */
void cove_cg_host_from(struct cove_cg_host *h, const struct cove_cg_mounts *m, const char *self_cgroup);
/* This process's host: mountinfo and /proc/self/cgroup read once. */
int cove_cg_host_discover(struct cove_cg_host *h, cove_err *err);

/* ------------------------------------------------------------- routing */

/* Groups of limits, each routed to its v2 controller or its v1 hierarchy. */
enum cove_cg_group { COVE_CG_R_MEMORY, COVE_CG_R_CPU, COVE_CG_R_CPUSET, COVE_CG_R_PIDS,
                     COVE_CG_R_BLKIO, COVE_CG_R_HUGETLB, COVE_CG_R_RDMA, COVE_CG_R_COUNT };
enum cove_cg_dest { COVE_CG_NOWHERE = 0, COVE_CG_TO_V1 = 1, COVE_CG_TO_V2 = 2 };
const char *cove_cg_group_field(enum cove_cg_group g); /* "memory", "cpu.cpus/mems", ... */
const char *cove_cg_group_v2(enum cove_cg_group g);    /* its v2 controller */

/* Where a container's cgroups go. Built by cove_cg_plan from the host, the
 * resources and linux.cgroupsPath; setup only carries it out. */
struct cove_cg_plan {
  bool absolute;     /* cgroupsPath began with "/": from each hierarchy's root */
  char rel[PATH_MAX];
  bool v2;           /* a v2 directory is tried (cgroup v2 is mounted) */
  char v2base[PATH_MAX], v2leaf[PATH_MAX];
  char avail[512];   /* controllers v2 offers at v2base */
  char why_v2[600];  /* for messages: what v2 offers where */
  bool want_v2;      /* a limit (or unified key) needs the v2 directory */
  enum cove_cg_dest to[COVE_CG_R_COUNT];
  /* v1: every mounted controller cove knows gets a directory (stats,
   * freezer); it is required only when v1_field names a limit routed there */
  bool v1[COVE_CG_V1_COUNT];
  char v1base[COVE_CG_V1_COUNT][PATH_MAX], v1leaf[COVE_CG_V1_COUNT][PATH_MAX];
  const char *v1_field[COVE_CG_V1_COUNT];
};
/* Pure (but for h->controllers). Fails with COVE_EK_LIMITS when a limit has
 * no hierarchy here, COVE_EK_INVALID_CONFIG for a bad cgroupsPath. */
int cove_cg_plan(const struct cove_cg_host *h, const struct cove_resources *r, const char *cgroups_path, const char *id,
                 struct cove_cg_plan *p, cove_err *err);
/* Hierarchy `v1` (-1 = v2) of the plan could not be made (`why`): 0 = go
 * on without it, -1 = fail (err set; kind LIMITS when rootless lacks a
 * writable cgroup for a limit, EXISTS when cgroupsPath is taken). */
int cove_cg_unusable(const struct cove_cg_plan *p, int v1, const cove_err *why, bool rootless, cove_err *err);
/* No hierarchy was usable at all: 0 = run without a cgroup (no limits were
 * asked), -1 = COVE_EK_LIMITS. */
int cove_cg_none_usable(bool limits, bool rootless, cove_err *err);

/* ------------------------------------------------------------ managers */

/* What a manager's setup gets (pointers into the spec, valid during create). */
struct cove_cg_request {
  const struct cove_resources *res;
  const char *cgroups_path; /* NULL: the default place ("cove-<id>") */
  const char *id;
  bool rootless;
  pid_t init_pid;  /* 0 before the init exists (see late_setup) */
  int state_dirfd; /* where the record goes (late setup records again) */
};

/* A cgroup manager, crun's libcrun_cgroup_manager in spirit. Every entry
 * takes the container's struct cove_cgroup; the record in the state
 * directory names the manager so later commands use the same one. */
struct cove_cg_ops {
  const char *name; /* recorded as "manager <name>" */
  /* setup runs before the init exists and may place nothing yet (the init
   * is cloned into cove_cgroup_v2_fd). A manager that needs the init's pid
   * to create its cgroup (systemd: StartTransientUnit PIDs=[pid]) sets
   * late_setup: create's cove_cgroup_setup only remembers the request and
   * cove_cgroup_enter calls setup with init_pid set, while the init still
   * waits for its go-ahead, so no user code runs before the limits. */
  bool late_setup;
  int (*setup)(struct cove_cgroup *cg, const struct cove_cg_request *req, cove_err *err);
  int (*enter)(const struct cove_cgroup *cg, pid_t pid, bool skip_v2, cove_err *err);
  int (*apply)(const struct cove_cgroup *cg, const struct cove_resources *r, bool update, cove_err *err);
  int (*freeze)(const struct cove_cgroup *cg, bool freeze, cove_err *err);
  int (*frozen)(const struct cove_cgroup *cg); /* 1, 0, -1 unknown */
  int (*signal_all)(const struct cove_cgroup *cg, int sig, cove_err *err);
  int (*pids)(const struct cove_cgroup *cg, pid_t **pids, size_t *n, cove_err *err);
  int (*stats)(const struct cove_cgroup *cg, struct cove_container_stats *st, cove_err *err);
  int (*destroy)(struct cove_cgroup *cg, cove_err *err);
};
extern const struct cove_cg_ops cove_cg_ops_v2, cove_cg_ops_hybrid, cove_cg_ops_systemd, cove_cg_ops_disabled;

/* cgroupfs building blocks a manager reuses (systemd: the v2 manager on
 * the scope's directory, all limits written into it, the scope's
 * leftovers destroyed before StopUnit). */
int cove_cg_v2_enter(const struct cove_cgroup *cg, pid_t pid, bool skip_v2, cove_err *err);
int cove_cg_v2_freeze(const struct cove_cgroup *cg, bool freeze, cove_err *err);
int cove_cg_v2_frozen(const struct cove_cgroup *cg);
int cove_cg_fs_setup(struct cove_cgroup *cg, const struct cove_cg_request *req, cove_err *err);
int cove_cg_fs_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool update, cove_err *err);
int cove_cg_fs_signal_all(const struct cove_cgroup *cg, int sig, cove_err *err);
int cove_cg_fs_pids(const struct cove_cgroup *cg, pid_t **pids, size_t *n, cove_err *err);
int cove_cg_fs_stats(const struct cove_cgroup *cg, struct cove_container_stats *st, cove_err *err);
int cove_cg_fs_destroy(struct cove_cgroup *cg, cove_err *err);
/* The directory whose cgroup.procs lists the container's processes. */
const char *cove_cg_procs_dir(const struct cove_cgroup *cg);
/* The manager of a cgroup: recorded, else v2/hybrid/disabled by its dirs. */
const struct cove_cg_ops *cove_cg_ops_of(const struct cove_cgroup *cg);

/* runc's (and systemd's) mappings: cpu.shares [2, 262144] and blkio
 * weight [10, 1000] onto the v2 weight [1, 10000], linear. */
uint64_t cove_cg_cpu_weight(uint64_t shares);
uint64_t cove_cg_io_weight(uint64_t blkio_weight);
/* Apply limits onto existing directories (cgroup_v2.c, cgroup_v1.c). */
int cove_cg_v2_apply(const char *dir, const struct cove_resources *r, bool update, cove_err *err);
int cove_cg_v1_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool update, cove_err *err);
/* linux.resources.devices (+ the default list): v1 devices controller and
 * a BPF_CGROUP_DEVICE program on the v2 directory (cgroup_devices.c). */
/* v1 cpuset: fill every empty cpuset.cpus/cpuset.mems from `base` (whose
 * own are set) down to `leaf`, top-down from the parent, as runc does:
 * directories made by plain mkdir (kubelet's pod cgroups, cove's own)
 * start empty and no process can join them. `leaf` is below `base`. */
int cove_cg_v1_cpuset_fill(const char *base, const char *leaf, cove_err *err);
int cove_cg_devices_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool rootless, cove_err *err);

/* ------------------------------------------------------------- systemd */

/* The systemd manager (cgroup_systemd.c, docs/cgroups.md): with
 * --systemd-cgroup, or a linux.cgroupsPath "slice:prefix:name", the
 * container's cgroup is a transient scope systemd creates over D-Bus
 * (StartTransientUnit, Delegate=yes, the init as its only PID) and removes
 * on delete (StopUnit). Built with libsystemd's sd-bus headers (CMake
 * option COVE_SYSTEMD) and dlopened on first use; without it a systemd
 * cgroupsPath or --systemd-cgroup is refused.
 *
 * Whether a create uses it: 1 (sd filled) when it is asked for (flag, or
 * a cgroupsPath in the systemd form), 0 when not, -1 with a clear error
 * when it is asked for and cannot work here (build without sd-bus, no pure
 * cgroup v2, malformed path, a limit no cgroup v2 has). */
int cove_systemd_plan(struct cove_sd_scope *sd, const struct cove_spec *spec, const char *id, bool flag,
                      cove_err *err);
/* A unit name read back from a record: only ever a scope's. */
bool cove_systemd_unit_ok(const char *unit);
/* Rootless on a pure cgroup v2 host, when the caller may not make cgroups
 * where it is (a login session's scope): ask the user's systemd for a
 * transient scope with Delegate=yes holding this process, and move into a
 * leaf of it ("caller"), as podman does; the containers then go beside it.
 * 1 = moved, 0 = no user systemd to ask (nothing done), -1 = error
 * (COVE_EK_LIMITS). */
int cove_systemd_delegate(cove_err *err);
