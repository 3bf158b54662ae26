/* The container lifecycle (runtime.md): the library entry points the
 * `cove` CLI and the agent orchestrator share. */
#pragma once
#include "cove/error.h"
#include "cove/state.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

struct cove_spec;
struct cove_create_opts {
  const char *root;   /* resolved state root */
  const char *id;
  const char *bundle; /* NULL = cwd */
  const char *pid_file;
  const char *console_socket;
  bool no_pivot, no_new_keyring;
  int preserve_fds;
  int cgroup_manager; /* enum cove_cg_manager (cgroup.h): 0 = cgroupfs */
  bool systemd_cgroup; /* --systemd-cgroup: a systemd scope (COVE_CG_MANAGER_SYSTEMD) */
  /* A spec the caller parsed (the agent orchestrator): used instead of
   * reading bundle/config.json, borrowed (the caller frees it). */
  const struct cove_spec *spec;
};

int cove_container_create(const struct cove_create_opts *o, cove_err *err);
int cove_container_start(const char *root, const char *id, cove_err *err);
/* create + start + wait. *status gets the exit code (128+sig if killed).
 * With detach, returns once the process runs. Signals delivered to the
 * caller are forwarded to the container's init. */
int cove_container_run(const struct cove_create_opts *o, bool detach, int *status, cove_err *err);
int cove_container_state(const char *root, const char *id, struct cove_state *st, cove_err *err);
int cove_container_kill(const char *root, const char *id, int sig, bool all, cove_err *err);
int cove_container_delete(const char *root, const char *id, bool force, cove_err *err);
/* Calls cb for every container under root (state read without locking
 * order guarantees). */
int cove_container_list(const char *root, int (*cb)(const struct cove_state *st, void *data), void *data, cove_err *err);

/* A container held by its creator for its whole life (the agent
 * orchestrator): prepare = create in foreground-run mode, the init held
 * before exec, pidfd open, PDEATHSIG tied to the caller; release = exec the
 * process; reap = waitpid (raw wait status); destroy = SIGKILL (the pid
 * namespace dies with its init), reap, remove the state directory, restore
 * the signal mask prepare() found (prepare returns with all signals
 * blocked: the caller waits through a signalfd). */
struct cove_container_handle {
  int dirfd;
  pid_t pid;
  int pidfd;
  int sync_fd;
  sigset_t saved_mask;
};
int cove_container_prepare(const struct cove_create_opts *o, struct cove_container_handle *h, cove_err *err);
int cove_container_release(struct cove_container_handle *h, cove_err *err);
int cove_container_reap(struct cove_container_handle *h, int *wstatus, cove_err *err);
void cove_container_destroy(const char *root, const char *id, struct cove_container_handle *h);
