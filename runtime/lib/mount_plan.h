/* Plan, then act (bubblewrap's split): before the init is cloned, the spec
 * and cove's own defaults (default devices, /dev links, the console,
 * readonly and masked paths, root.readonly) become one ordered list of
 * operations; rootfs.c only carries the list out, inside the container's
 * mount namespace. Every decision that does not need the new namespace is
 * taken here, where it can be read and tested as data. */
#pragma once
#include "cove/error.h"
#include "cove/spec.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum cove_mop_kind {
  COVE_MOP_MOUNT,      /* spec mount `mount` at its destination */
  COVE_MOP_DEVICE,     /* a device node (mknod, or bind of the host's node) */
  COVE_MOP_DEV_LINKS,  /* /dev/fd, stdin, stdout, stderr, core; ptmx -> pts/ptmx */
  COVE_MOP_CONSOLE,    /* the terminal bound onto /dev/console (after pivot) */
  COVE_MOP_READONLY,   /* path made read-only, recursively (after pivot) */
  COVE_MOP_MASK,       /* path hidden under an empty tmpfs or /dev/null */
  COVE_MOP_ROOT_READONLY,
  COVE_MOP_ROOT_PROPAGATION,
};

/* When an operation runs: before pivot_root (paths resolved inside the
 * rootfs fd), when the terminal exists, or last, when "/" is the
 * container's and before its sysctls are written... see init.c. */
enum cove_mop_phase { COVE_MOP_BEFORE_PIVOT, COVE_MOP_AT_CONSOLE, COVE_MOP_FINAL };

struct cove_mop {
  enum cove_mop_kind kind;
  enum cove_mop_phase phase;
  const char *path;               /* destination, device path, readonly or masked path */
  size_t index;                   /* in the spec's array; SIZE_MAX for cove's defaults */
  const struct cove_mount *mount; /* COVE_MOP_MOUNT */
  bool host_fallback_ok;          /* MOUNT: a refused fresh sysfs/mqueue/cgroup may bind the host's */
  /* COVE_MOP_DEVICE */
  char dev_type; /* 'c', 'b', 'p' */
  unsigned major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  bool bind_host; /* in a user namespace mknod is refused: bind the host's node */
  unsigned long propagation; /* COVE_MOP_ROOT_PROPAGATION */
};

struct cove_mount_plan {
  struct cove_mop *ops;
  size_t n, cap;
};

/* userns: the init runs in a user namespace (new or joined); outer_userns:
 * the runtime itself does; console: the init gets a terminal. */
int cove_mount_plan_build(struct cove_mount_plan *plan, const struct cove_spec *s, bool userns, bool outer_userns,
                          bool console, cove_err *err);
void cove_mount_plan_free(struct cove_mount_plan *plan);
/* Prefix err with the field an operation came from ("mounts[3] (/proc)",
 * "linux.devices[0]", "default device", "linux.maskedPaths[1]", ...). */
int cove_mop_error_prefix(const struct cove_mop *op, cove_err *err);
