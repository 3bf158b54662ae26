/* Mount option strings → mount(2) flags / mount_setattr(2) attributes.
 * Filesystems are mounted with mount(2) (flags + data string); binds are
 * cloned with open_tree(2) and get their flags through mount_setattr(2),
 * which only ever sets or clears what was asked — so locked flags of a
 * rootless bind (nosuid/nodev inherited from the host) are never touched. */
#include "cove/mount_options.h"

#include <errno.h>
#include <linux/mount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

struct opt {
  const char *name;
  bool clear;           /* the option clears the flag instead of setting it */
  unsigned long flag;   /* MS_* */
  uint64_t attr;        /* MOUNT_ATTR_* counterpart, 0 if none */
};

static const struct opt opts[] = {
  {"async", true, MS_SYNCHRONOUS, 0},
  {"atime", true, MS_NOATIME, MOUNT_ATTR_NOATIME},
  {"defaults", false, 0, 0},
  {"dev", true, MS_NODEV, MOUNT_ATTR_NODEV},
  {"diratime", true, MS_NODIRATIME, MOUNT_ATTR_NODIRATIME},
  {"dirsync", false, MS_DIRSYNC, 0},
  {"exec", true, MS_NOEXEC, MOUNT_ATTR_NOEXEC},
  {"iversion", false, MS_I_VERSION, 0},
  {"lazytime", false, MS_LAZYTIME, 0},
  {"loud", true, MS_SILENT, 0},
  {"mand", false, MS_MANDLOCK, 0},
  {"noatime", false, MS_NOATIME, MOUNT_ATTR_NOATIME},
  {"nodev", false, MS_NODEV, MOUNT_ATTR_NODEV},
  {"nodiratime", false, MS_NODIRATIME, MOUNT_ATTR_NODIRATIME},
  {"noexec", false, MS_NOEXEC, MOUNT_ATTR_NOEXEC},
  {"noiversion", true, MS_I_VERSION, 0},
  {"nolazytime", true, MS_LAZYTIME, 0},
  {"nomand", true, MS_MANDLOCK, 0},
  {"norelatime", true, MS_RELATIME, 0},
  {"nostrictatime", true, MS_STRICTATIME, 0},
  {"nosuid", false, MS_NOSUID, MOUNT_ATTR_NOSUID},
  {"relatime", false, MS_RELATIME, MOUNT_ATTR_RELATIME},
  {"remount", false, MS_REMOUNT, 0},
  {"ro", false, MS_RDONLY, MOUNT_ATTR_RDONLY},
  {"rw", true, MS_RDONLY, MOUNT_ATTR_RDONLY},
  {"silent", false, MS_SILENT, 0},
  {"strictatime", false, MS_STRICTATIME, MOUNT_ATTR_STRICTATIME},
  {"suid", true, MS_NOSUID, MOUNT_ATTR_NOSUID},
  {"sync", false, MS_SYNCHRONOUS, 0},
};

static const struct {
  const char *name;
  unsigned long prop;
} props[] = {
  {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
  {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
  {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
  {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

/* The recursive attribute variants (mount_setattr with AT_RECURSIVE). */
static const struct {
  const char *name;
  bool clear;
  uint64_t attr;
} rattrs[] = {
  {"rro", false, MOUNT_ATTR_RDONLY},       {"rrw", true, MOUNT_ATTR_RDONLY},
  {"rnosuid", false, MOUNT_ATTR_NOSUID},   {"rsuid", true, MOUNT_ATTR_NOSUID},
  {"rnodev", false, MOUNT_ATTR_NODEV},     {"rdev", true, MOUNT_ATTR_NODEV},
  {"rnoexec", false, MOUNT_ATTR_NOEXEC},   {"rexec", true, MOUNT_ATTR_NOEXEC},
  {"rnoatime", false, MOUNT_ATTR_NOATIME}, {"ratime", true, MOUNT_ATTR_NOATIME},
  {"rrelatime", false, MOUNT_ATTR_RELATIME}, {"rnorelatime", true, MOUNT_ATTR_RELATIME},
  {"rstrictatime", false, MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
};

int cove_mount_options_parse(struct cove_mount *m, const char *path, cove_err *err)
{
  size_t data_len = 0;
  for (size_t i = 0; i < m->options.n; i++)
    data_len += strlen(m->options.v[i]) + 1;
  char *data = calloc(1, data_len + 1);
  if (!data)
    return cove_error(err, ENOMEM, "%s.options", path);

  for (size_t i = 0; i < m->options.n; i++) {
    const char *o = m->options.v[i];
    if (strcmp(o, "bind") == 0) {
      m->bind = true;
      continue;
    }
    if (strcmp(o, "rbind") == 0) {
      m->bind = m->recursive = true;
      continue;
    }
    bool done = false;
    for (size_t k = 0; k < sizeof opts / sizeof *opts && !done; k++) {
      if (strcmp(o, opts[k].name))
        continue;
      done = true;
      if (opts[k].clear) {
        m->flags &= ~opts[k].flag;
        m->attr_set &= ~opts[k].attr;
        m->attr_clr |= opts[k].attr;
      } else {
        m->flags |= opts[k].flag;
        m->attr_set |= opts[k].attr;
        m->attr_clr &= ~opts[k].attr;
      }
      /* atime modes are one field in mount_setattr: a new mode must clear the field first */
      if (opts[k].attr & (MOUNT_ATTR_NOATIME | MOUNT_ATTR_RELATIME | MOUNT_ATTR_STRICTATIME))
        m->attr_clr |= MOUNT_ATTR__ATIME;
    }
    for (size_t k = 0; k < sizeof props / sizeof *props && !done; k++)
      if (strcmp(o, props[k].name) == 0) {
        m->propagation = props[k].prop;
        done = true;
      }
    for (size_t k = 0; k < sizeof rattrs / sizeof *rattrs && !done; k++)
      if (strcmp(o, rattrs[k].name) == 0) {
        if (rattrs[k].clear) {
          m->rattr_clr |= rattrs[k].attr;
          m->rattr_set &= ~rattrs[k].attr;
        } else {
          m->rattr_set |= rattrs[k].attr;
          m->rattr_clr &= ~rattrs[k].attr;
        }
        done = true;
      }
    if (done)
      continue;
    /* Anything else belongs to the filesystem (size=, mode=, newinstance...). */
    if (*data)
      strcat(data, ",");
    strcat(data, o);
  }
  if (*data)
    m->data = data;
  else
    free(data);
  return 0;
}
