/* pause / resume / update / ps over a container's recorded cgroups. */
#include "cgroup_internal.h"

#include "cove/cleanup.h"
#include "cove/spec.h"
#include "cove/state.h"

#include <errno.h>
#include <stdlib.h>

/* Open, lock and check the container; load its cgroup record. */
static int open_cg(const char *root, const char *id, struct cove_cgroup *cg, enum cove_status *status, cove_err *err)
{
  int dirfd = cove_state_open(root, id, err);
  if (dirfd < 0)
    return -1;
  struct cove_state st;
  if (cove_state_read(dirfd, &st, err) < 0) {
    close(dirfd);
    return -1;
  }
  cove_state_release(&st);
  *status = st.status;
  if (cove_cgroup_load(dirfd, cg, err) < 0) {
    close(dirfd);
    return -1;
  }
  if (!cg->active) {
    close(dirfd);
    return cove_error(err, 0, "container \"%s\" has no cgroup (created rootless without a delegated cgroup, or with "
                              "--cgroup-manager=disabled)", id);
  }
  return dirfd;
}

/* pause: a running or created container's cgroup frozen; resume: a
 * paused one's thawed. */
static int set_frozen(const char *root, const char *id, bool freeze, cove_err *err)
{
  struct cove_cgroup cg;
  enum cove_status s;
  _cleanup_close_ int fd = open_cg(root, id, &cg, &s, err);
  if (fd < 0)
    return -1;
  int r;
  if (freeze && s != COVE_RUNNING && s != COVE_CREATED)
    r = cove_error(err, 0, "container \"%s\" is %s, not running: cannot pause it", id, cove_status_name(s));
  else if (!freeze && s != COVE_PAUSED)
    r = cove_error(err, 0, "container \"%s\" is %s, not paused: cannot resume it", id, cove_status_name(s));
  else
    r = cove_cgroup_freeze(&cg, freeze, err);
  cove_cgroup_release(&cg);
  return r;
}

int cove_container_pause(const char *root, const char *id, cove_err *err)
{
  return set_frozen(root, id, true, err);
}

int cove_container_resume(const char *root, const char *id, cove_err *err)
{
  return set_frozen(root, id, false, err);
}

/* Whether `r`'s device rules are exactly those the container was created
 * with (its bundle's config.json): containerd's CRI plugin sends the whole
 * LinuxResources on every update, devices included, meaning no change. */
static bool devices_unchanged(int state_dirfd, const struct cove_resources *r)
{
  struct cove_state st;
  cove_err e;
  if (cove_state_read(state_dirfd, &st, &e) < 0)
    return false;
  struct cove_spec spec = {0};
  bool same = cove_spec_load(&spec, st.bundle, &e) == 0 && spec.res.n_devices == r->n_devices;
  cove_state_release(&st);
  for (size_t i = 0; same && i < r->n_devices; i++) {
    const struct cove_device_rule *a = &spec.res.devices[i], *b = &r->devices[i];
    same = a->allow == b->allow && a->type == b->type && a->major == b->major && a->minor == b->minor &&
           a->access == b->access;
  }
  cove_spec_free(&spec);
  return same;
}

int cove_container_update(const char *root, const char *id, const struct cove_resources *r, cove_err *err)
{
  struct cove_cgroup cg;
  enum cove_status s;
  _cleanup_close_ int fd = open_cg(root, id, &cg, &s, err);
  if (fd < 0)
    return -1;
  int ret;
  if (s == COVE_STOPPED)
    ret = cove_error(err, 0, "container \"%s\" is stopped: cannot update it", id);
  else if (r->n_devices && !devices_unchanged(fd, r))
    ret = cove_error(err, 0, "linux.resources.devices: device rules cannot be changed by update (they are fixed when "
                             "the container is created)");
  else if (r->has_network)
    ret = cove_error(err, 0, "linux.resources.network: not supported");
  else
    ret = cove_cgroup_apply(&cg, r, true, err); /* systemd: the unit's properties too */
  cove_cgroup_release(&cg);
  return ret;
}

int cove_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, cove_err *err)
{
  struct cove_cgroup cg;
  enum cove_status s;
  _cleanup_close_ int fd = open_cg(root, id, &cg, &s, err);
  if (fd < 0)
    return -1;
  int r = cove_cgroup_pids(&cg, pids, n, err);
  cove_cgroup_release(&cg);
  return r;
}
