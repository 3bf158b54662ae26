/* The parsed, validated form of an OCI config.json (runtime-spec v1.3).
 *
 * Parsing and validation happen entirely in the runtime's own process before
 * anything is created, so a bad bundle fails with a message naming the field
 * ("config.json: mounts[3].destination: must be absolute") and leaves
 * nothing behind. Strings point into the yajl tree kept in `tree`; arrays
 * of pointers are heap-allocated and released by cove_spec_free(). */
#pragma once
#include "cove/error.h"
#include "cove/resources.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct yajl_val_s *yajl_val;

struct cove_strv {
  const char **v; /* NULL-terminated */
  size_t n;
};

struct cove_kv {
  const char *key, *value;
};

struct cove_idmap {
  uint32_t container_id, host_id, size;
};

enum cove_ns_kind {
  COVE_NS_USER,
  COVE_NS_MOUNT,
  COVE_NS_PID,
  COVE_NS_NET,
  COVE_NS_UTS,
  COVE_NS_IPC,
  COVE_NS_CGROUP,
  COVE_NS_TIME,
  COVE_NS_COUNT
};

struct cove_ns {
  bool wanted;      /* listed in linux.namespaces */
  const char *path; /* join this one instead of creating */
};

struct cove_mount {
  const char *destination, *source, *type;
  struct cove_strv options;
  /* Derived from options: */
  bool bind, recursive;
  unsigned long flags;      /* MS_* for mount(2) of a filesystem */
  uint64_t attr_set, attr_clr;   /* MOUNT_ATTR_* for the top mount of a bind */
  uint64_t rattr_set, rattr_clr; /* rro, rnosuid...: applied recursively */
  unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC) or 0 */
  char *data;               /* comma-joined filesystem-specific options */
};

struct cove_device {
  const char *path;
  char type; /* 'c', 'u', 'b', 'p' */
  int64_t major, minor;
  bool has_mode, has_uid, has_gid;
  uint32_t mode, uid, gid;
};

struct cove_rlimit {
  int resource; /* RLIMIT_* */
  const char *name;
  uint64_t soft, hard;
};

/* Capability sets as lists of CAP_* numbers; `present` distinguishes an
 * absent set (keep nothing) from an empty one. */
struct cove_capset {
  int *caps;
  size_t n;
};
struct cove_caps {
  bool present;
  struct cove_capset bounding, effective, inheritable, permitted, ambient;
};

struct cove_seccomp_arg {
  unsigned index;
  uint64_t value, value_two;
  const char *op; /* SCMP_CMP_* name as in the spec */
};
struct cove_seccomp_rule {
  struct cove_strv names;
  const char *action;
  bool has_errno_ret;
  uint32_t errno_ret;
  struct cove_seccomp_arg *args;
  size_t n_args;
};
struct cove_seccomp {
  const char *default_action;
  bool has_default_errno_ret;
  uint32_t default_errno_ret;
  struct cove_strv architectures, flags;
  const char *listener_path, *listener_metadata;
  struct cove_seccomp_rule *rules;
  size_t n_rules;
};

struct cove_hook {
  const char *path;
  struct cove_strv args, env;
  int timeout; /* seconds, 0 = none */
};
struct cove_hooks {
  struct cove_hook *prestart, *create_runtime, *create_container, *start_container, *poststart, *poststop;
  size_t n_prestart, n_create_runtime, n_create_container, n_start_container, n_poststart, n_poststop;
};

struct cove_process {
  bool terminal;
  unsigned console_height, console_width;
  const char *cwd;
  struct cove_strv args, env;
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  size_t n_additional_gids;
  bool has_umask;
  mode_t umask;
  struct cove_caps caps;
  struct cove_rlimit *rlimits;
  size_t n_rlimits;
  bool no_new_privileges;
  bool has_oom_score_adj;
  int oom_score_adj;
  const char *apparmor_profile, *selinux_label;
};

struct cove_spec {
  yajl_val tree;
  const char *oci_version;
  const char *root_path; /* absolute (resolved against the bundle) */
  char *root_path_abs;
  bool root_readonly;
  const char *hostname, *domainname;
  struct cove_mount *mounts;
  size_t n_mounts;
  bool has_process;
  struct cove_process process;
  struct cove_hooks hooks;
  struct cove_kv *annotations;
  size_t n_annotations;

  /* linux */
  struct cove_ns ns[COVE_NS_COUNT];
  struct cove_idmap *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
  struct cove_device *devices;
  size_t n_devices;
  const char *cgroups_path;
  const char *mount_label; /* linux.mountLabel */
  yajl_val resources; /* raw linux.resources (or NULL) */
  struct cove_resources res; /* parsed (spec_resources.c) */
  unsigned long rootfs_propagation; /* 0 = default (private for / after pivot) */
  struct cove_strv masked_paths, readonly_paths;
  struct cove_kv *sysctl;
  size_t n_sysctl;
  bool has_seccomp;
  struct cove_seccomp seccomp;
  bool has_personality;
  unsigned long personality;
  bool has_time_offsets;
  int64_t monotonic_secs, boottime_secs;
  uint32_t monotonic_nsecs, boottime_nsecs;
};

/* Parse `json` (len bytes). `bundle` is the absolute bundle path used to
 * resolve a relative root.path. Messages are prefixed "config.json: <field>". */
int cove_spec_parse(struct cove_spec *spec, const char *json, size_t len, const char *bundle, cove_err *err);
/* One "process" object (config.json's, or `exec --process FILE`); the
 * strings point into the caller's tree. Messages name "process.<field>". */
int cove_process_parse(yajl_val process, struct cove_process *out, cove_err *err);
void cove_process_free(struct cove_process *p);
/* The subset of a spec kept with a container's state after create
 * (ociVersion, process, the hooks run later, linux.seccomp). */
int cove_spec_parse_kept(struct cove_spec *spec, const char *json, size_t len, cove_err *err);
/* Read <bundle>/config.json and parse it. */
int cove_spec_load(struct cove_spec *spec, const char *bundle, cove_err *err);
void cove_spec_free(struct cove_spec *spec);

/* Whether the named Linux security module is active on this host. */
bool cove_lsm_enabled(const char *lsm);

/* Name <-> CLONE_NEW* helpers shared by parser, features and setns checks. */
const char *cove_ns_name(enum cove_ns_kind k);
/* Its name under /proc/PID/ns ("mnt", "net", ...). */
const char *cove_ns_proc_name(enum cove_ns_kind k);
int cove_ns_clone_flag(enum cove_ns_kind k);
/* Refuse, naming the key, a linux.sysctl entry of namespace kind k (net,
 * ipc, uts) when fd, the namespace joined by linux.namespaces[].path, is
 * the runtime's own. */
int cove_spec_check_sysctl_ns(const struct cove_spec *s, enum cove_ns_kind k, int fd, cove_err *err);
