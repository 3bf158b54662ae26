/* limits.disk: a budget for what the sandbox may add to host-backed
 * writable mounts (the writable workspace, /group, writable extra
 * mounts). Fail closed like the cgroup limits: a budget that cannot be
 * enforced refuses the run unless allow_unlimited, and then the audit log
 * and the result record say it was not enforced.
 *
 * The only mechanism that bounds writes landing on an existing host
 * directory (not a private copy) is a filesystem quota: ext4/xfs project
 * quotas with the tree tagged by project id (FS_IOC_FSSETXATTR, which the
 * sandbox cannot undo from its user namespace) and a limit set with
 * quotactl_fd. That needs host root and a filesystem mounted with prjquota;
 * it is not wired up yet, so today every budget is "cannot be enforced". A
 * size-limited tmpfs or loop image would bound the space but not be the
 * host directory the caller asked for. */
#include "agent.h"

#include <stdio.h>
#include <string.h>

int agent_disk_check(struct agent_ctx *c, cove_err *err)
{
  if (!c->pol.disk) {
    c->disk_state = "none";
    return 0;
  }
  /* checked before anything is created, so from the policy: what may be
   * mounted read-write */
  char where[1024] = "/group";
  if (c->pol.workspace_writable)
    snprintf(where + strlen(where), sizeof where - strlen(where), ", /workspace");
  for (size_t i = 0; i < c->pol.n_mounts; i++)
    if (c->pol.mounts[i].writable)
      snprintf(where + strlen(where), sizeof where - strlen(where), ", %s", c->pol.mounts[i].destination);
  char why[1400];
  snprintf(why, sizeof why,
           "no disk quota mechanism for host-backed writable mounts (%s): project quotas are not supported yet",
           where);
  if (!c->pol.allow_unlimited) {
    agent_audit(&c->audit, "limits", "decision", "refuse", "kind", "disk", "reason", why,
                AUDIT_INT("disk", c->pol.disk), NULL);
    return cove_error(err, 0,
                      "limits.disk cannot be enforced on this host (%s): refusing to run the agent with unbounded "
                      "disk writes; remove limits.disk or set \"allow_unlimited\": true",
                      why);
  }
  agent_audit(&c->audit, "limits", "decision", "not_enforced", "kind", "disk", "reason", why, "note",
              "allow_unlimited: running WITHOUT a disk budget", AUDIT_INT("disk", c->pol.disk), NULL);
  c->disk_state = "not_enforced";
  return 0;
}
