/* The systemd cgroup manager (docs/cgroups.md, "The systemd manager").
 *
 * With --systemd-cgroup, or a linux.cgroupsPath "slice:prefix:name", the
 * container's cgroup is a transient scope "prefix-name.scope" in "slice"
 * that systemd creates over D-Bus (StartTransientUnit, Delegate=yes, the
 * init as its only PID) and removes on delete (StopUnit): systemd knows the
 * container, `systemctl status` shows it, and a container started from a
 * service does not outlive it by hiding in a cgroup systemd does not own.
 * The limits systemd has properties for are set as unit properties; all of
 * them are also written into the scope's cgroup by the cgroupfs code, so
 * nothing systemd lacks is dropped.
 *
 * Built with libsystemd's sd-bus (CMake option COVE_SYSTEMD); without it a
 * systemd cgroupsPath or --systemd-cgroup is refused. */
#pragma once
#include "cove/cgroup.h"
#include "cove/error.h"

#include <stdbool.h>
#include <sys/types.h>

struct cove_spec;

struct cove_sd_scope {
  char unit[256];  /* "prefix-name.scope"; "" = not systemd-managed */
  char slice[256]; /* "machine.slice" */
  bool user;       /* the caller's user manager (rootless), not the system one */
};

/* Whether this build has the systemd manager. */
bool cove_systemd_supported(void);

/* Decide the manager for a create: 1 (sd filled) when the systemd manager
 * is asked for (flag, or a cgroupsPath in the systemd form), 0 when not,
 * -1 with a clear error when it is asked for and cannot work here (build
 * without sd-bus, no pure cgroup v2, malformed path, a limit no cgroup v2
 * has). */
int cove_systemd_plan(struct cove_sd_scope *sd, const struct cove_spec *spec, const char *id, bool flag,
                      cove_err *err);

/* After the init exists and before it runs anything: start the scope with
 * it, wait for systemd's job, fill cg (its v2 directory), write every
 * limit into it and record the unit in the state directory. */
int cove_systemd_scope_start(const struct cove_sd_scope *sd, struct cove_cgroup *cg, pid_t pid,
                             const struct cove_spec *spec, int state_dirfd, cove_err *err);

/* Stop the unit (and wait for it to be gone); a unit that is already gone
 * is not an error. */
int cove_systemd_scope_stop(const struct cove_sd_scope *sd, cove_err *err);
/* update: set the new limits as the recorded unit's properties (after they
 * were written into its cgroup); 0 when the container has no unit. */
int cove_systemd_update(int state_dirfd, const struct cove_resources *res, cove_err *err);
/* delete: stop the unit recorded in the state directory, if any. */
int cove_systemd_teardown(int state_dirfd, cove_err *err);

/* Rootless on a pure cgroup v2 host, when the caller may not make cgroups
 * where it is (a login session's scope): ask the user's systemd for a
 * transient scope with Delegate=yes holding this process, and move into a
 * leaf of it ("caller"), as podman does; the containers then go beside it.
 * 1 = moved, 0 = no user systemd to ask (nothing done), -1 = error
 * (COVE_EK_LIMITS). */
int cove_systemd_delegate(cove_err *err);
