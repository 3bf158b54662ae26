/* The container's view of its cgroups: a `cgroup` (or `cgroup2`) entry in
 * config.json mounts, at its destination,
 *   - on v1/hybrid hosts ("cgroup"): a tmpfs with one directory per v1
 *     hierarchy the host mounts (named like its mount point: memory,
 *     cpu,cpuacct, systemd...), each a bind of the container's OWN cgroup
 *     in that hierarchy, symlinks for co-mounted controllers (cpu ->
 *     cpu,cpuacct) and `unified` for the v2 hierarchy if one is mounted
 *     (what runc gives; JVM, Go, .NET and Node find their limits there);
 *   - on pure v2 (or for "cgroup2"): a bind of the container's own v2
 *     cgroup, never the host's tree;
 *   - with a cgroup namespace: fresh cgroup mounts instead of binds; the
 *     namespace's root is the container's cgroup already.
 * Sources are the host's hierarchies as this process (already placed in
 * its cgroups) sees them in /proc/self/mountinfo and /proc/self/cgroup,
 * opened once as O_PATH fds and cloned with open_tree; every target is
 * made by us inside the fresh tmpfs or resolved inside the rootfs. */
#include "internal.h"

#include "cove/cleanup.h"
#include "cove/fsutil.h"
#include "cove/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define MAX_HIER 16

struct hier {
  char name[NAME_MAX + 1]; /* directory name in the view: the mount point's basename */
  char mnt[PATH_MAX];      /* mount point */
  char root[PATH_MAX];     /* the mount's root inside the hierarchy */
  char ctrls[256];         /* "cpu,cpuacct", "name=systemd"; "" for v2 */
  bool v2;
};

static const char *const v1_ctrls[] = {"cpu",  "cpuacct", "cpuset",  "memory", "devices", "freezer", "net_cls",
                                       "net_prio", "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc", NULL};

static void unescape(char *s)
{
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = 0;
}

/* The controllers of a v1 mount from its super options, comma-joined. */
static void ctrls_of(const char *opts, char *out, size_t cap)
{
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", opts);
  out[0] = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    bool keep = !strncmp(t, "name=", 5);
    for (const char *const *c = v1_ctrls; *c && !keep; c++)
      keep = !strcmp(t, *c);
    if (keep) {
      size_t l = strlen(out);
      snprintf(out + l, cap - l, "%s%s", l ? "," : "", t);
    }
  }
}

/* Same set of comma-separated words (the kernel's order is not relied on). */
static bool same_set(const char *a, const char *b)
{
  size_t na = 0, nb = 0;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", a);
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    na++;
    size_t l = strlen(t);
    const char *p = b;
    bool found = false;
    while ((p = strstr(p, t))) {
      if ((p == b || p[-1] == ',') && (p[l] == 0 || p[l] == ',')) {
        found = true;
        break;
      }
      p += l;
    }
    if (!found)
      return false;
  }
  for (const char *p = b; *p; p++)
    nb += *p == ',';
  return *b && na == nb + 1;
}

/* The host's cgroup hierarchies (first mount of each), not those inside
 * the container's rootfs. */
static int read_hiers(const char *rootfs, struct hier *h, size_t *n, cove_err *err)
{
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return cove_error(err, errno, "open /proc/self/mountinfo");
  *n = 0;
  char line[4096];
  size_t rl = strlen(rootfs);
  while (fgets(line, sizeof line, f) && *n < MAX_HIER) {
    char root[PATH_MAX], mnt[PATH_MAX], fstype[64], sopts[1024];
    char *dash = strstr(line, " - ");
    if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
        sscanf(dash + 3, "%63s %*s %1023s", fstype, sopts) != 2)
      continue;
    bool v2 = !strcmp(fstype, "cgroup2");
    if (!v2 && strcmp(fstype, "cgroup") != 0)
      continue;
    unescape(root);
    unescape(mnt);
    if (!strncmp(mnt, rootfs, rl) && (mnt[rl] == '/' || mnt[rl] == 0))
      continue;
    struct hier c = {.v2 = v2};
    if (!v2)
      ctrls_of(sopts, c.ctrls, sizeof c.ctrls);
    bool dup = false;
    for (size_t i = 0; i < *n; i++)
      dup |= h[i].v2 == v2 && (v2 || !strcmp(h[i].ctrls, c.ctrls));
    if (dup || (!v2 && !c.ctrls[0]))
      continue;
    const char *base = strrchr(mnt, '/');
    base = base && base[1] ? base + 1 : (v2 ? "unified" : c.ctrls);
    snprintf(c.name, sizeof c.name, "%s", v2 ? "unified" : base);
    snprintf(c.mnt, sizeof c.mnt, "%s", mnt);
    snprintf(c.root, sizeof c.root, "%s", root);
    h[(*n)++] = c;
  }
  return 0;
}

/* This process's cgroup in hierarchy h, from /proc/self/cgroup. */
static int own_cgroup(const struct hier *h, char *out, size_t cap)
{
  _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f)
    return -1;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c1 = *c2 = 0;
    bool match = h->v2 ? (!strcmp(line, "0") && c1[1] == 0) : same_set(h->ctrls, c1 + 1);
    if (match) {
      snprintf(out, cap, "%s", c2 + 1);
      return 0;
    }
  }
  return -1;
}

/* The host directory of this process's cgroup in h, opened O_PATH: the
 * mount point plus the cgroup's path below the mount's root. */
static int open_own(const struct hier *h, cove_err *err)
{
  char own[PATH_MAX], src[PATH_MAX * 2];
  if (own_cgroup(h, own, sizeof own) < 0)
    return cove_error(err, ENOENT, "no %s line in /proc/self/cgroup", h->v2 ? "cgroup v2" : h->ctrls);
  size_t rl = strlen(h->root);
  if (!strcmp(h->root, "/"))
    rl = 0;
  if (strncmp(own, h->root, rl) != 0 || (own[rl] != '/' && own[rl] != 0))
    return cove_error(err, ENOENT, "cgroup %s (%s) is not below the root %s of the mount at %s", own,
                      h->v2 ? "v2" : h->ctrls, h->root, h->mnt);
  /* the root cgroup holds every other cgroup: never shown */
  if (!strcmp(own, "/"))
    return cove_error(err, EPERM, "the process is in the root cgroup of %s (%s): not shown",
                      h->v2 ? "v2" : h->ctrls, h->mnt);
  snprintf(src, sizeof src, "%s%s", h->mnt, own + rl);
  int fd = open(src, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cove_error(err, errno, "open %s", src);
  struct statfs sf;
  if (fstatfs(fd, &sf) < 0 || (sf.f_type != CGROUP_SUPER_MAGIC && sf.f_type != CGROUP2_SUPER_MAGIC)) {
    close(fd);
    return cove_error(err, EXDEV, "%s is not a cgroup directory", src);
  }
  return fd;
}

static uint64_t view_attrs(const struct cove_mount *m)
{
  uint64_t a = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | (m->attr_set & MOUNT_ATTR_RDONLY);
  if (m->flags & MS_RDONLY)
    a |= MOUNT_ATTR_RDONLY;
  return a;
}

/* Clone src_fd (not recursively: the container gets its cgroup, nothing
 * mounted below it) and attach it at target_fd with the view's flags. */
static int bind_fd(int src_fd, const struct cove_mount *m, int target_fd, cove_err *err)
{
  _cleanup_close_ int tree = cove_open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0)
    return cove_error(err, errno, "clone the cgroup directory");
  struct mount_attr a = {.attr_set = view_attrs(m)};
  if (cove_mount_setattr(tree, "", AT_EMPTY_PATH, &a) < 0)
    return cove_error(err, errno, "set mount attributes");
  if (cove_move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return cove_error(err, errno, "attach the cgroup directory");
  return 0;
}

/* A fresh cgroup filesystem at target_fd (inside a cgroup namespace, its
 * root is the namespace's). */
static int fresh_at(const char *type, const char *data, const struct cove_mount *m, int target_fd)
{
  char tp[32];
  cove_fd_path(tp, target_fd);
  unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | (m->flags & MS_RDONLY) |
                     ((m->attr_set & MOUNT_ATTR_RDONLY) ? MS_RDONLY : 0);
  return mount(type, tp, type, fl, data);
}

/* One directory of the v1 view, created in the tmpfs (ours: no symlink
 * can be there), filled with the hierarchy. */
static int view_entry(const struct cove_init_ctx *ctx, int dir_fd, const struct hier *h, const struct cove_mount *m,
                      cove_err *err)
{
  if (mkdirat(dir_fd, h->name, 0755) < 0 && errno != EEXIST)
    return cove_error(err, errno, "mkdir %s", h->name);
  _cleanup_close_ int t = openat(dir_fd, h->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (t < 0)
    return cove_error(err, errno, "open %s", h->name);
  /* a named hierarchy (name=systemd) cove does not place containers in:
   * the caller's cgroup there is none of the container's business */
  if (!strncmp(h->ctrls, "name=", 5)) {
    cove_debug("cgroup view: %s left empty (no container cgroup there)", h->name);
    return 0;
  }
  if (ctx->spec->ns[COVE_NS_CGROUP].wanted) {
    /* mountinfo shows the host's mount root relative to the namespace's
     * root: "/" means the namespace's root is the hierarchy's (the
     * container got no cgroup of its own there, e.g. rootless), and a
     * fresh mount would show the host's whole tree */
    if (!strcmp(h->root, "/")) {
      cove_debug("cgroup view: %s left empty (no container cgroup of its own there)", h->name);
      return 0;
    }
    char data[300];
    snprintf(data, sizeof data, "%s", h->ctrls);
    if (fresh_at(h->v2 ? "cgroup2" : "cgroup", h->v2 ? NULL : data, m, t) == 0)
      return 0;
    /* refused (a user namespace that may not mount it): left empty rather
     * than showing more than the container's own cgroup */
    cove_debug("cgroup view: %s not mountable in the cgroup namespace: %s", h->name, strerror(errno));
    return 0;
  }
  _cleanup_close_ int src = open_own(h, err);
  if (src < 0) {
    cove_debug("cgroup view: %s left empty: %s", h->name, err->msg);
    return 0;
  }
  return bind_fd(src, m, t, err) < 0 ? cove_error_prefix(err, "%s", h->name) : 0;
}

static int view_v1(const struct cove_init_ctx *ctx, int root_fd, const struct cove_mount *m, int target,
                   const struct hier *h, size_t n, cove_err *err)
{
  char tp[32];
  cove_fd_path(tp, target);
  if (mount("tmpfs", tp, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
    return cove_error(err, errno, "mount tmpfs");
  /* `target` is the directory under the new tmpfs: reach the tmpfs */
  _cleanup_close_ int top = cove_mkpath_in_root(root_fd, m->destination, false, 0755, err);
  if (top < 0)
    return -1;
  cove_fd_path(tp, top);
  _cleanup_close_ int dir = open(tp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dir < 0)
    return cove_error(err, errno, "open the cgroup tmpfs");
  struct statfs sf;
  if (fstatfs(dir, &sf) < 0 || sf.f_type != TMPFS_MAGIC)
    return cove_error(err, EXDEV, "the cgroup tmpfs is not at %s", m->destination);
  for (size_t i = 0; i < n; i++)
    if (view_entry(ctx, dir, &h[i], m, err) < 0)
      return -1;
  /* co-mounted controllers answer by each name, as on the host */
  for (size_t i = 0; i < n; i++) {
    if (h[i].v2 || !strchr(h[i].name, ','))
      continue;
    char names[NAME_MAX + 1];
    snprintf(names, sizeof names, "%s", h[i].name);
    char *save = NULL;
    for (char *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save))
      if (symlinkat(h[i].name, dir, t) < 0 && errno != EEXIST)
        return cove_error(err, errno, "symlink %s -> %s", t, h[i].name);
  }
  if (view_attrs(m) & MOUNT_ATTR_RDONLY) {
    struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
    if (cove_mount_setattr(top, "", AT_EMPTY_PATH, &a) < 0)
      return cove_error(err, errno, "make the cgroup tmpfs read-only");
  }
  return 0;
}

int cove_mount_cgroup(const struct cove_init_ctx *ctx, int root_fd, const struct cove_mount *m, int target,
                      cove_err *err)
{
  struct hier h[MAX_HIER];
  size_t n = 0;
  if (read_hiers(ctx->spec->root_path_abs, h, &n, err) < 0)
    return -1;
  bool v1 = false;
  const struct hier *v2 = NULL;
  for (size_t i = 0; i < n; i++) {
    /* a named hierarchy alone (name=systemd beside pure v2) makes no v1 host */
    v1 |= !h[i].v2 && strncmp(h[i].ctrls, "name=", 5) != 0;
    if (h[i].v2)
      v2 = &h[i];
  }
  if (v1 && strcmp(m->type, "cgroup2") != 0)
    return view_v1(ctx, root_fd, m, target, h, n, err);
  if (!v2)
    return cove_error(err, ENOENT, "type %s: no cgroup2 hierarchy is mounted on this host", m->type);
  if (ctx->spec->ns[COVE_NS_CGROUP].wanted) {
    if (fresh_at("cgroup2", NULL, m, target) == 0)
      return 0;
    /* inside a cgroup namespace the own cgroup has no host name to bind */
    return cove_error(err, errno, "mount cgroup2 in the cgroup namespace");
  }
  _cleanup_close_ int src = open_own(v2, err);
  if (src < 0)
    return -1;
  return bind_fd(src, m, target, err);
}
