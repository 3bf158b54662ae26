/* Mount option strings → mount(2) flags / mount_setattr(2) attributes.
 * Filesystems are mounted with mount(2) (flags + data string); binds are
 * cloned with open_tree(2) and get their flags through mount_setattr(2),
 * which only ever sets or clears what was asked — so locked flags of a
 * rootless bind (nosuid/nodev inherited from the host) are never touched. */
#include "mount_options.h"

#include <errno.h>
#include <linux/mount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

/* The one table: the parser and `cove features` both read it, so the
 * advertised list cannot drift from what is accepted. In the order
 * `cove features` lists them. */
enum opt_kind {
  OPT_FLAG,  /* mount(2) flag, with its mount_setattr(2) counterpart (0 if none) */
  OPT_PROP,  /* propagation (flag holds MS_PRIVATE … | MS_REC) */
  OPT_RATTR, /* recursive attribute: mount_setattr(AT_RECURSIVE) */
  OPT_BIND,
  OPT_RBIND,
};

struct opt {
  const char *name;
  enum opt_kind kind;
  bool clear;         /* the option clears the flag instead of setting it */
  unsigned long flag; /* MS_* */
  uint64_t attr;      /* MOUNT_ATTR_* */
};

static const struct opt opts[] = {
  {"async", OPT_FLAG, true, MS_SYNCHRONOUS, 0},
  {"atime", OPT_FLAG, true, MS_NOATIME, MOUNT_ATTR_NOATIME},
  {"bind", OPT_BIND, false, 0, 0},
  {"defaults", OPT_FLAG, false, 0, 0},
  {"dev", OPT_FLAG, true, MS_NODEV, MOUNT_ATTR_NODEV},
  {"diratime", OPT_FLAG, true, MS_NODIRATIME, MOUNT_ATTR_NODIRATIME},
  {"dirsync", OPT_FLAG, false, MS_DIRSYNC, 0},
  {"exec", OPT_FLAG, true, MS_NOEXEC, MOUNT_ATTR_NOEXEC},
  {"iversion", OPT_FLAG, false, MS_I_VERSION, 0},
  {"lazytime", OPT_FLAG, false, MS_LAZYTIME, 0},
  {"loud", OPT_FLAG, true, MS_SILENT, 0},
  {"mand", OPT_FLAG, false, MS_MANDLOCK, 0},
  {"noatime", OPT_FLAG, false, MS_NOATIME, MOUNT_ATTR_NOATIME},
  {"nodev", OPT_FLAG, false, MS_NODEV, MOUNT_ATTR_NODEV},
  {"nodiratime", OPT_FLAG, false, MS_NODIRATIME, MOUNT_ATTR_NODIRATIME},
  {"noexec", OPT_FLAG, false, MS_NOEXEC, MOUNT_ATTR_NOEXEC},
  {"noiversion", OPT_FLAG, true, MS_I_VERSION, 0},
  {"nolazytime", OPT_FLAG, true, MS_LAZYTIME, 0},
  {"nomand", OPT_FLAG, true, MS_MANDLOCK, 0},
  {"norelatime", OPT_FLAG, true, MS_RELATIME, 0},
  {"nostrictatime", OPT_FLAG, true, MS_STRICTATIME, 0},
  {"nosuid", OPT_FLAG, false, MS_NOSUID, MOUNT_ATTR_NOSUID},
  {"private", OPT_PROP, false, MS_PRIVATE, 0},
  {"rbind", OPT_RBIND, false, 0, 0},
  {"relatime", OPT_FLAG, false, MS_RELATIME, MOUNT_ATTR_RELATIME},
  {"remount", OPT_FLAG, false, MS_REMOUNT, 0},
  {"ro", OPT_FLAG, false, MS_RDONLY, MOUNT_ATTR_RDONLY},
  {"rprivate", OPT_PROP, false, MS_PRIVATE | MS_REC, 0},
  {"rshared", OPT_PROP, false, MS_SHARED | MS_REC, 0},
  {"rslave", OPT_PROP, false, MS_SLAVE | MS_REC, 0},
  {"runbindable", OPT_PROP, false, MS_UNBINDABLE | MS_REC, 0},
  {"rw", OPT_FLAG, true, MS_RDONLY, MOUNT_ATTR_RDONLY},
  {"shared", OPT_PROP, false, MS_SHARED, 0},
  {"silent", OPT_FLAG, false, MS_SILENT, 0},
  {"slave", OPT_PROP, false, MS_SLAVE, 0},
  {"strictatime", OPT_FLAG, false, MS_STRICTATIME, MOUNT_ATTR_STRICTATIME},
  {"suid", OPT_FLAG, true, MS_NOSUID, MOUNT_ATTR_NOSUID},
  {"sync", OPT_FLAG, false, MS_SYNCHRONOUS, 0},
  {"unbindable", OPT_PROP, false, MS_UNBINDABLE, 0},
  {"rro", OPT_RATTR, false, 0, MOUNT_ATTR_RDONLY},
  {"rrw", OPT_RATTR, true, 0, MOUNT_ATTR_RDONLY},
  {"rnosuid", OPT_RATTR, false, 0, MOUNT_ATTR_NOSUID},
  {"rsuid", OPT_RATTR, true, 0, MOUNT_ATTR_NOSUID},
  {"rnodev", OPT_RATTR, false, 0, MOUNT_ATTR_NODEV},
  {"rdev", OPT_RATTR, true, 0, MOUNT_ATTR_NODEV},
  {"rnoexec", OPT_RATTR, false, 0, MOUNT_ATTR_NOEXEC},
  {"rexec", OPT_RATTR, true, 0, MOUNT_ATTR_NOEXEC},
  {"rnoatime", OPT_RATTR, false, 0, MOUNT_ATTR_NOATIME},
  {"ratime", OPT_RATTR, true, 0, MOUNT_ATTR_NOATIME},
  {"rrelatime", OPT_RATTR, false, 0, MOUNT_ATTR_RELATIME},
  {"rnorelatime", OPT_RATTR, true, 0, MOUNT_ATTR_RELATIME},
  {"rstrictatime", OPT_RATTR, false, 0, MOUNT_ATTR_STRICTATIME},
  {"rnostrictatime", OPT_RATTR, true, 0, MOUNT_ATTR_STRICTATIME},
};

const char *cove_mount_option_name(size_t i)
{
  return i < sizeof opts / sizeof *opts ? opts[i].name : NULL;
}

static const struct opt *find_opt(const char *name)
{
  for (size_t k = 0; k < sizeof opts / sizeof *opts; k++)
    if (strcmp(name, opts[k].name) == 0)
      return &opts[k];
  return NULL;
}

/* mount_setattr(2) keeps the atime mode in one field (MOUNT_ATTR__ATIME)
 * whose "relatime" value is 0: a mode is set by clearing the whole field
 * and setting exactly one value, never by or-ing bits (two modes, or a
 * mode without the field cleared, is EINVAL; "relatime" or-ed in does
 * nothing). The last atime option wins, as with mount(8). */
static bool is_atime_opt(const struct opt *o)
{
  return strstr(o->name, "atime") && !strstr(o->name, "diratime");
}

static void set_atime(uint64_t *set, uint64_t *clr, const struct opt *o)
{
  uint64_t mode = *set & MOUNT_ATTR__ATIME;
  if (!o->clear)
    mode = o->attr; /* noatime, relatime (0), strictatime */
  else if (mode == o->attr)
    mode = MOUNT_ATTR_RELATIME; /* atime / nostrictatime: back to the default; norelatime: no-op */
  *set = (*set & ~(uint64_t)MOUNT_ATTR__ATIME) | mode;
  *clr |= MOUNT_ATTR__ATIME;
}

static void apply_flag(struct cove_mount *m, const struct opt *o)
{
  if (o->clear)
    m->flags &= ~o->flag;
  else
    m->flags |= o->flag;
  if (is_atime_opt(o)) {
    set_atime(&m->attr_set, &m->attr_clr, o);
  } else if (o->clear) {
    m->attr_set &= ~o->attr;
    m->attr_clr |= o->attr;
  } else {
    m->attr_set |= o->attr;
    m->attr_clr &= ~o->attr;
  }
}

static void apply_rattr(struct cove_mount *m, const struct opt *o)
{
  if (is_atime_opt(o)) {
    set_atime(&m->rattr_set, &m->rattr_clr, o);
  } else if (o->clear) {
    m->rattr_clr |= o->attr;
    m->rattr_set &= ~o->attr;
  } else {
    m->rattr_set |= o->attr;
    m->rattr_clr &= ~o->attr;
  }
}

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
    const struct opt *k = find_opt(o);
    if (k) {
      switch (k->kind) {
      case OPT_BIND: m->bind = true; break;
      case OPT_RBIND: m->bind = m->recursive = true; break;
      case OPT_FLAG: apply_flag(m, k); break;
      case OPT_PROP: m->propagation = k->flag; break;
      case OPT_RATTR: apply_rattr(m, k); break;
      }
      continue;
    }
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
