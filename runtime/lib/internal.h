/* Shared between the lifecycle (container.c), the init (init.c) and the
 * rootfs code: everything the container's first process needs to know. */
#pragma once
#include "cove/error.h"
#include "cove/spec.h"
#include "cove/state.h"

#include <stdbool.h>
#include <signal.h>
#include <sys/types.h>

enum cove_start_mode {
  COVE_START_FIFO, /* create: block on exec.fifo until `cove start` */
  COVE_START_SYNC, /* run: the runtime releases us over the sync socket */
  COVE_START_SYNC_DETACHED, /* run --detach: as SYNC, but the runtime exits */
};

struct cove_mount_plan;

struct cove_init_ctx {
  const struct cove_spec *spec;
  const struct cove_mount_plan *plan; /* made before clone (mount_plan.h) */
  const char *id;
  const char *bundle;
  pid_t host_pid;   /* our pid as the runtime sees it (sent with SYNC_GO) */
  int listener_fd;  /* seccomp notify listener, connected before pivot_root */
  bool userns;        /* we are in a user namespace (new or joined) */
  bool host_root;     /* the runtime runs as real root in the initial userns */
  bool outer_userns;  /* the runtime itself already runs in a partial userns:
                         mknod and fresh sysfs/cgroup mounts are refused */
  bool no_pivot, no_new_keyring;
  int preserve_fds;
  enum cove_start_mode start_mode;
  int sync_fd;    /* child end of the sync socketpair */
  int fifo_fd;    /* exec.fifo (O_RDWR), FIFO mode only */
  int start_fd;   /* start.fifo (O_RDWR), FIFO mode only: a failure after
                     `start` is written here; execve closes it (= success) */
  int console_fd; /* connected console socket, -1 if none */
  sigset_t sigmask; /* the caller's mask, restored before exec */
  bool defer_cgroupns; /* unshare the cgroup ns after GO, once placed */
};

/* Sync protocol: fixed-size messages over a SOCK_SEQPACKET pair. */
enum cove_sync_type {
  SYNC_GO = 1,        /* parent → init: pid known, id maps written */
  SYNC_CHILD_PID,     /* joiner → parent: the init's pid */
  SYNC_READY,         /* init → parent: setup done, waiting to exec */
  SYNC_START,         /* parent → init (run mode): exec now */
  SYNC_ERROR,         /* init → parent: setup failed, err follows */
  SYNC_HOOKS,         /* init → parent: mounts done, run prestart/createRuntime */
  SYNC_HOOKS_DONE,    /* parent → init: they succeeded */
  SYNC_CHILD_PID_PLACED, /* joiner → parent: the init's pid, cloned into cgroup_fd */
};
struct cove_sync_msg {
  int type;
  int pid;
  cove_err err;
};
int cove_sync_send(int fd, int type, int pid, const cove_err *e);
/* Receive one message; EOF is reported as an error ("init exited"). */
int cove_sync_recv(int fd, struct cove_sync_msg *m, cove_err *err);
/* The verdict of a process told to exec (SYNC_START, or a spawned exec):
 * an error before execve, else EOF when execve closed its end. */
int cove_sync_recv_verdict(int fd, cove_err *err);

/* The init: never returns. */
__attribute__((noreturn)) void cove_init_main(struct cove_init_ctx *ctx);

/* init.c: createRuntime/prestart (in the parent) and createContainer
 * hooks, called by the rootfs code after the mounts, before pivot_root. */
int cove_init_before_pivot(const struct cove_init_ctx *ctx, cove_err *err);
/* PATH search with the process's own PATH (not the caller's). */
int cove_find_executable(const struct cove_process *p, char *out, size_t cap, cove_err *err);
/* pidfile.c: write "<pid>" to path atomically (temporary + rename). */
int cove_write_pid_file(const char *path, pid_t pid, cove_err *err);

/* state.c: what later commands (exec, start, delete) need from the spec,
 * kept in the state dir at create so they never re-read the bundle. */
int cove_state_keep_spec(int dirfd, const struct cove_spec *s, cove_err *err);
/* cove_spec_free() the result (also on failure). */
int cove_state_load_spec(int dirfd, const struct cove_state *st, struct cove_spec *s, cove_err *err);

/* rootfs.c: carry out ctx->plan (mount_plan.h) */
int cove_rootfs_setup(const struct cove_init_ctx *ctx, cove_err *err);
int cove_rootfs_finalize(const struct cove_init_ctx *ctx, cove_err *err);
/* cgroup_mount.c: a `cgroup`/`cgroup2` mount = the container's own cgroups
 * (v1: a tmpfs of per-hierarchy binds), at target (resolved in root_fd). */
int cove_mount_cgroup(const struct cove_init_ctx *ctx, int root_fd, const struct cove_mount *m, int target,
                      cove_err *err);
/* After pivot_root: the container's terminal (our stdin) also answers at
 * /dev/console, when the plan says so. */
int cove_rootfs_bind_console(const struct cove_init_ctx *ctx, cove_err *err);
