#include "mount_plan.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct cove_mop *add(struct cove_mount_plan *p, enum cove_mop_kind kind, enum cove_mop_phase phase,
                            const char *path, size_t index, cove_err *err)
{
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 32;
    struct cove_mop *ops = realloc(p->ops, cap * sizeof *ops);
    if (!ops)
      return cove_error(err, ENOMEM, "mount plan"), NULL;
    p->ops = ops;
    p->cap = cap;
  }
  struct cove_mop *op = &p->ops[p->n++];
  *op = (struct cove_mop){.kind = kind, .phase = phase, .path = path, .index = index};
  return op;
}

static const struct {
  const char *path;
  unsigned major, minor;
} default_devs[] = {
  {"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7}, {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9},
  {"/dev/tty", 5, 0},
};

static bool dev_is_mounted(const struct cove_spec *s)
{
  for (size_t i = 0; i < s->n_mounts; i++)
    if (strcmp(s->mounts[i].destination, "/dev") == 0)
      return true;
  return false;
}

static bool device_overridden(const struct cove_spec *s, const char *path)
{
  for (size_t j = 0; j < s->n_devices; j++)
    if (strcmp(s->devices[j].path, path) == 0)
      return true;
  return false;
}

/* The default devices (unless the config names the same path), the
 * config's devices, then the /dev links: only with a /dev of our own. */
static int plan_dev(struct cove_mount_plan *p, const struct cove_spec *s, bool bind_host, cove_err *err)
{
  struct cove_mop *op;
  for (size_t i = 0; i < sizeof default_devs / sizeof *default_devs; i++) {
    if (device_overridden(s, default_devs[i].path))
      continue;
    if (!(op = add(p, COVE_MOP_DEVICE, COVE_MOP_BEFORE_PIVOT, default_devs[i].path, SIZE_MAX, err)))
      return -1;
    op->dev_type = 'c';
    op->major = default_devs[i].major;
    op->minor = default_devs[i].minor;
    op->mode = 0666;
    op->bind_host = bind_host;
  }
  for (size_t j = 0; j < s->n_devices; j++) {
    const struct cove_device *d = &s->devices[j];
    if (!(op = add(p, COVE_MOP_DEVICE, COVE_MOP_BEFORE_PIVOT, d->path, j, err)))
      return -1;
    op->dev_type = d->type;
    op->major = (unsigned)d->major;
    op->minor = (unsigned)d->minor;
    op->mode = d->has_mode ? (d->mode & 07777) : 0666;
    op->uid = d->has_uid ? d->uid : 0;
    op->gid = d->has_gid ? d->gid : 0;
    op->bind_host = bind_host;
  }
  return add(p, COVE_MOP_DEV_LINKS, COVE_MOP_BEFORE_PIVOT, "/dev", SIZE_MAX, err) ? 0 : -1;
}

int cove_mount_plan_build(struct cove_mount_plan *p, const struct cove_spec *s, bool userns, bool outer_userns,
                          bool console, cove_err *err)
{
  *p = (struct cove_mount_plan){0};
  /* No mount namespace: the host's mount table is never touched (spec.c
   * refused every config that would need a mount). */
  if (!s->ns[COVE_NS_MOUNT].wanted)
    return 0;
  struct cove_mop *op;
  for (size_t i = 0; i < s->n_mounts; i++) {
    if (!(op = add(p, COVE_MOP_MOUNT, COVE_MOP_BEFORE_PIVOT, s->mounts[i].destination, i, err)))
      return -1;
    op->mount = &s->mounts[i];
    op->host_fallback_ok = userns || outer_userns;
  }
  if ((dev_is_mounted(s) || s->n_devices) && plan_dev(p, s, userns || outer_userns, err) < 0)
    return -1;
  /* The terminal is bound before the root can turn read-only, because
   * /dev/console may have to be created. */
  if (console && !add(p, COVE_MOP_CONSOLE, COVE_MOP_AT_CONSOLE, "/dev/console", SIZE_MAX, err))
    return -1;
  for (size_t i = 0; i < s->readonly_paths.n; i++)
    if (!add(p, COVE_MOP_READONLY, COVE_MOP_FINAL, s->readonly_paths.v[i], i, err))
      return -1;
  for (size_t i = 0; i < s->masked_paths.n; i++)
    if (!add(p, COVE_MOP_MASK, COVE_MOP_FINAL, s->masked_paths.v[i], i, err))
      return -1;
  if (s->root_readonly && !add(p, COVE_MOP_ROOT_READONLY, COVE_MOP_FINAL, "/", SIZE_MAX, err))
    return -1;
  if (s->rootfs_propagation) {
    if (!(op = add(p, COVE_MOP_ROOT_PROPAGATION, COVE_MOP_FINAL, "/", SIZE_MAX, err)))
      return -1;
    op->propagation = s->rootfs_propagation;
  }
  return 0;
}

void cove_mount_plan_free(struct cove_mount_plan *p)
{
  free(p->ops);
  *p = (struct cove_mount_plan){0};
}

int cove_mop_error_prefix(const struct cove_mop *op, cove_err *err)
{
  switch (op->kind) {
  case COVE_MOP_MOUNT:
    return cove_error_prefix(err, "mounts[%zu] (%s)", op->index, op->path);
  case COVE_MOP_DEVICE:
    return op->index == SIZE_MAX ? cove_error_prefix(err, "default device")
                                 : cove_error_prefix(err, "linux.devices[%zu]", op->index);
  case COVE_MOP_CONSOLE:
    return cove_error_prefix(err, "process.terminal");
  case COVE_MOP_READONLY:
    return cove_error_prefix(err, "linux.readonlyPaths[%zu]", op->index);
  case COVE_MOP_MASK:
    return cove_error_prefix(err, "linux.maskedPaths[%zu]", op->index);
  default:
    return -1; /* their messages name the field already */
  }
}
