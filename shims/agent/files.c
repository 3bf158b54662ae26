/* Every file the orchestrator itself reads or writes on the host.
 *
 * Outputs (--stdout/--stderr/--result, batch outputs, the JUnit report)
 * are created relative to a directory fd, never through a symlink, and
 * exclusively: an existing file is refused, so a planted symlink or hard
 * link can never make the caller's privileges write somewhere else.
 * Inputs (policy, tasks file, allowlist) are read from the canonical path
 * opened without symlinks.
 *
 * Then, once the sandbox's mounts are known, agent_guard_check() refuses
 * an output directory that any mount of the sandbox shows (the agent could
 * plant links there, or read other tasks' outputs) and an input that any
 * writable mount shows (the agent would rewrite its own policy for the
 * next run). "Shows" is decided by device + inode ancestry of the resolved
 * file against the mount sources, not by comparing path strings. */
#include "agent.h"

#include "cove/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int openat2_(int dfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
  struct open_how how = {.flags = (uint64_t)flags, .mode = mode, .resolve = resolve};
  return (int)syscall(SYS_openat2, dfd, path, &how, sizeof how);
}

int agent_dir_open(const char *dir, const char *what, char canon[PATH_MAX], cove_err *err)
{
  if (!realpath(dir, canon))
    return cove_error(err, errno, "%s: directory %s", what, dir);
  int fd = openat2_(AT_FDCWD, canon, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0)
    return cove_error(err, errno, "%s: directory %s", what, canon);
  return fd;
}

int agent_out_prepare(struct agent_out *o, const char *path, const char *what, cove_err *err)
{
  o->dirfd = o->fd = -1;
  o->what = what;
  size_t n = strlen(path);
  if (!n || path[n - 1] == '/')
    return cove_error(err, 0, "%s %s: not a file name", what, path);
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if (!strcmp(base, ".") || !strcmp(base, "..") || strlen(base) >= sizeof o->base)
    return cove_error(err, 0, "%s %s: not a file name", what, path);
  char dir[PATH_MAX];
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else if (slash == path)
    snprintf(dir, sizeof dir, "/");
  else
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  snprintf(o->base, sizeof o->base, "%s", base);
  o->dirfd = agent_dir_open(dir, what, o->dir, err);
  if (o->dirfd < 0)
    return -1;
  snprintf(o->path, sizeof o->path, "%s%s%s", o->dir, strcmp(o->dir, "/") ? "/" : "", o->base);
  struct stat st;
  if (fstatat(o->dirfd, o->base, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return cove_error(err, EEXIST, "%s %s: already exists; refusing to overwrite it (remove it or name a new file)",
                      what, o->path);
  return 0;
}

int agent_out_create(struct agent_out *o, cove_err *err)
{
  o->fd = openat2_(o->dirfd, o->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644,
                   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (o->fd < 0) {
    if (errno == EEXIST)
      return cove_error(err, EEXIST, "%s %s: already exists; refusing to overwrite it (remove it or name a new file)",
                        o->what, o->path);
    return cove_error(err, errno, "%s %s", o->what, o->path);
  }
  return 0;
}

void agent_out_close(struct agent_out *o)
{
  if (o->fd >= 0)
    close(o->fd);
  if (o->dirfd >= 0)
    close(o->dirfd);
  o->fd = o->dirfd = -1;
}

int agent_in_open(const char *path, const char *what, char canon[PATH_MAX], cove_err *err)
{
  if (!realpath(path, canon))
    return cove_error(err, errno, "%s %s", what, path);
  int fd = openat2_(AT_FDCWD, canon, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0)
    return cove_error(err, errno, "%s %s (resolved to %s)", what, path, canon);
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return cove_error(err, 0, "%s %s: not a regular file", what, canon);
  }
  /* another name of the same inode could lie in a sandbox's workspace */
  if (st.st_nlink > 1) {
    close(fd);
    return cove_error(err, 0, "%s %s: has %ju hard links; refusing a file that may be writable under another name",
                      what, canon, (uintmax_t)st.st_nlink);
  }
  return fd;
}

/* The (dev, ino) of fd's object and of every directory above it. */
struct ancestry {
  dev_t dev[512];
  ino_t ino[512];
  size_t n;
};

/* dirfd: a directory; walks ".." up to / (across mounts, in our own
 * mount namespace: a bind mount's source directory has the same inode). */
static int ancestry_of(int dirfd, struct ancestry *a)
{
  a->n = 0;
  struct stat st;
  if (fstat(dirfd, &st) < 0)
    return -1;
  a->dev[a->n] = st.st_dev;
  a->ino[a->n++] = st.st_ino;
  int cur = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  while (cur >= 0 && a->n < 512) {
    int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    close(cur);
    cur = up;
    if (up < 0 || fstat(up, &st) < 0)
      break;
    if (st.st_dev == a->dev[a->n - 1] && st.st_ino == a->ino[a->n - 1])
      break; /* reached / */
    a->dev[a->n] = st.st_dev;
    a->ino[a->n++] = st.st_ino;
  }
  if (cur >= 0)
    close(cur);
  return cur < 0 && a->n < 2 ? -1 : 0;
}

int agent_guard_input(struct agent_guard *g, int fd, const char *canon, const char *what, cove_err *err)
{
  memset(g, 0, sizeof *g);
  g->what = what;
  g->fd = fd;
  snprintf(g->path, sizeof g->path, "%s", canon);
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", canon);
  char *sl = strrchr(dir, '/');
  if (!sl)
    return cove_error(err, 0, "%s %s: not an absolute path", what, canon);
  if (sl == dir)
    sl[1] = 0;
  else
    *sl = 0;
  g->dirfd = openat2_(AT_FDCWD, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (g->dirfd < 0)
    return cove_error(err, errno, "%s %s", what, dir);
  return 0;
}

static bool in_ancestry(const struct ancestry *a, const struct stat *st)
{
  for (size_t i = 0; i < a->n; i++)
    if (a->dev[i] == st->st_dev && a->ino[i] == st->st_ino)
      return true;
  return false;
}

int agent_guard_check(struct agent_ctx *c, const struct agent_guard *g, size_t n, cove_err *err)
{
  /* Writable places every sandbox may have besides this one's mounts: all
   * groups' state directories. */
  char groups[PATH_MAX];
  snprintf(groups, sizeof groups, "%s/groups", c->paths.data);
  _cleanup_close_ int groups_fd = open(groups, O_PATH | O_DIRECTORY | O_CLOEXEC);
  for (size_t i = 0; i < n; i++) {
    struct ancestry a;
    if (g[i].dirfd < 0)
      continue;
    if (ancestry_of(g[i].dirfd, &a) < 0)
      return cove_error(err, errno, "%s %s: cannot check where it lies", g[i].what, g[i].path);
    struct stat self;
    if (g[i].fd >= 0 && fstat(g[i].fd, &self) == 0 && a.n < 512) {
      a.dev[a.n] = self.st_dev;
      a.ino[a.n++] = self.st_ino;
    }
    struct stat st;
    if (groups_fd >= 0 && fstat(groups_fd, &st) == 0 && in_ancestry(&a, &st))
      return cove_error(err, 0, "%s %s: lies inside the agents' group state (%s), which sandboxes can write", g[i].what,
                        g[i].path, groups);
    if (g[i].output && c->plan.rootfs_fd >= 0 && fstat(c->plan.rootfs_fd, &st) == 0 && in_ancestry(&a, &st))
      return cove_error(err, 0, "%s %s: lies inside the rootfs %s, which the sandbox sees; choose a directory no "
                                "sandbox can see",
                        g[i].what, g[i].path, c->plan.rootfs_origin);
    for (size_t k = 0; k < c->plan.n; k++) {
      const struct agent_mount *m = &c->plan.m[k];
      if (m->kind != AM_BIND || m->fd < 0)
        continue;
      if (!g[i].output && !m->writable)
        continue;
      if (fstat(m->fd, &st) < 0 || !in_ancestry(&a, &st))
        continue;
      agent_audit(&c->audit, "refused", "reason", g[i].output ? "output visible in the sandbox" : "input writable by the sandbox",
                  "path", g[i].path, "mount", m->origin, "destination", m->destination, NULL);
      if (g[i].output)
        return cove_error(err, 0, "%s %s: lies inside %s, which the sandbox sees at %s; choose a directory no "
                                  "sandbox can see",
                          g[i].what, g[i].path, m->origin, m->destination);
      return cove_error(err, 0, "%s %s: lies inside %s, which the sandbox can write (at %s); the agent could "
                                "rewrite it for the next run",
                        g[i].what, g[i].path, m->origin, m->destination);
    }
  }
  return 0;
}
