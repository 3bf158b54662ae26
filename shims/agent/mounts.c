/* Mount planning: every host path the sandbox will see is resolved ONCE
 * here, opened O_PATH without following symlinks, checked, and from then
 * on exists only as an fd this process holds. The config hands the runtime
 * "/proc/self/fd/N"; the sandbox init is a clone of this process (same fd
 * table until its close_range), so it mounts exactly the checked object
 * even if the path is swapped for a symlink in between.
 *
 * Blocked names inside a mounted tree (workspace, extra mounts) are found
 * by walking it with openat(O_NOFOLLOW) and masked by binding an empty
 * read-only file or directory over them. Unix sockets are masked too: a
 * socket inode reaches its host server whatever namespace connects. */
#include "agent.h"

#include "cove/cleanup.h"
#include "cove/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *const builtin_blocked[] = {
  ".ssh", ".gnupg", ".gpg", ".aws", ".azure", ".gcloud", ".kube", ".docker", "credentials", ".env",
  ".netrc", ".npmrc", ".pypirc", "id_rsa", "id_ed25519", "private_key", ".secret", NULL,
};

/* Credential files of the host's /etc (default root filesystem). */
static const char *const etc_masked[] = {
  "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers", "/etc/sudoers.d",
  "/etc/ssh", "/etc/ssl/private", "/etc/security/opasswd", "/etc/krb5.keytab", "/etc/subuid", "/etc/subgid",
  "/etc/.pwd.lock", NULL,
};
static const char *const proc_masked[] = {
  "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/sched_debug",
  "/proc/scsi",
  /* root-only on the host (0400): unreadable by DAC already (the
   * sandbox's root is never the host's), masked as well so they do not
   * depend on the identity mapping */
  "/proc/kpagecount", "/proc/kpageflags", "/proc/kpagecgroup", "/proc/slabinfo", "/proc/vmallocinfo", NULL,
};

void agent_fd_source(char out[static 32], int fd)
{
  snprintf(out, 32, "/proc/self/fd/%d", fd);
}

static bool name_blocked(const char *name, const struct agent_allowlist *al, const char **which)
{
  for (const char *const *b = builtin_blocked; *b; b++)
    if (strcasestr(name, *b)) {
      *which = *b;
      return true;
    }
  for (size_t i = 0; al && i < al->n_blocked; i++)
    if (strcasestr(name, al->blocked[i])) {
      *which = al->blocked[i];
      return true;
    }
  return false;
}

int agent_blocked_component(const char *path, const struct agent_allowlist *al, const char **which)
{
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  char *save = NULL;
  for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save))
    if (name_blocked(c, al, which))
      return 1;
  return 0;
}

void agent_test_pause(const char *where)
{
  /* Lets a test swap a source for a symlink between check and mount:
   * COVE_AGENT_TEST_PAUSE=FILE creates FILE and waits until it is gone. */
  const char *f = getenv("COVE_AGENT_TEST_PAUSE");
  if (!f || !*f)
    return;
  int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) {
    dprintf(fd, "%s\n", where);
    close(fd);
  }
  for (int i = 0; i < 600 && access(f, F_OK) == 0; i++)
    nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
}

static int plan_add(struct agent_plan *p, enum agent_mount_kind k, const char *dest, int fd, bool writable,
                    const char *origin)
{
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 32;
    struct agent_mount *m = realloc(p->m, nc * sizeof *m);
    if (!m)
      return -1;
    p->m = m;
    p->cap = nc;
  }
  struct agent_mount *m = &p->m[p->n];
  memset(m, 0, sizeof *m);
  m->kind = k;
  m->fd = fd;
  m->writable = writable;
  m->destination = strdup(dest);
  m->origin = origin ? strdup(origin) : NULL;
  if (!m->destination || (origin && !m->origin))
    return -1;
  p->n++;
  return 0;
}

/* After the sandbox: its staged trees are held by these fds, and while a
 * tree is held the mounts under it stay attached to their mount points
 * in the run directory (umount_tree keeps a pinned subtree connected), so
 * every rmdir there would detach a mount and wait for an RCU grace period
 * (~3 ms each under load). Dropped first, the trees go in one go. */
void agent_plan_close_fds(struct agent_plan *p)
{
  for (size_t i = 0; i < p->n; i++)
    if (p->m[i].fd >= 0) {
      close(p->m[i].fd);
      p->m[i].fd = -1;
    }
  int *f[] = {&p->empty_file_fd, &p->empty_dir_fd, &p->rootfs_fd};
  for (size_t i = 0; i < 3; i++)
    if (*f[i] >= 0) {
      close(*f[i]);
      *f[i] = -1;
    }
}

void agent_plan_free(struct agent_plan *p)
{
  agent_plan_close_fds(p);
  for (size_t i = 0; i < p->n; i++) {
    free(p->m[i].destination);
    free(p->m[i].link);
    free(p->m[i].origin);
  }
  free(p->m);
  free(p->rootfs_origin);
  memset(p, 0, sizeof *p);
  p->empty_file_fd = p->empty_dir_fd = p->rootfs_fd = -1;
}

/* Canonical path → O_PATH fd, refusing any symlink on the way: the path
 * was canonicalised a moment ago, so a symlink now means someone swapped
 * it; fail rather than guess. */
static int open_canonical(const char *in, const char *what, char canon[PATH_MAX], int extra_flags, cove_err *err)
{
  if (!realpath(in, canon))
    return cove_error(err, errno, "%s %s", what, in);
  struct open_how how = {.flags = (uint64_t)(O_PATH | O_CLOEXEC | O_NOFOLLOW | extra_flags),
                         .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, AT_FDCWD, canon, &how, sizeof how);
  if (fd < 0)
    return cove_error(err, errno, "%s %s (resolved to %s)", what, in, canon);
  return fd;
}

static bool path_within(const char *inner, const char *outer)
{
  size_t n = strlen(outer);
  if (n == 1)
    return true;
  return strncmp(inner, outer, n) == 0 && (inner[n] == '/' || inner[n] == 0);
}

/* cove's own directories must never be visible to a sandbox: other groups'
 * state, the audit log, the allowlist, run dirs. */
static int check_not_cove_dir(struct agent_ctx *c, const char *canon, const char *what, cove_err *err)
{
  const char *const own[] = {c->paths.data, c->paths.config, c->paths.state, c->paths.runbase};
  for (size_t i = 0; i < 4; i++) {
    char r[PATH_MAX];
    const char *o = realpath(own[i], r) ? r : own[i];
    if (path_within(o, canon) || path_within(canon, o))
      return cove_error(err, 0, "%s %s: contains or is inside cove's own directory %s", what, canon, o);
  }
  return 0;
}

/* The mask walk runs inside the sandbox's own mount namespace (netns.c):
 * rootless in the namespace helper, with the sandbox root's rights (so a
 * mode-000 directory of the caller's is walked, as the sandbox could read
 * it); as root in the orchestrator itself, still host root, which can
 * list at least what the sandbox's unprivileged id can (the source is
 * idmapped first, so the walk sees the sandbox's ownership): the source is cloned NON-recursively (exactly the tree the sandbox's
 * bind will show: the underlying directories of mount points included,
 * btrfs subvolumes included), attached at a private staging directory, and
 * walked by fd. Every entry to hide is opened O_PATH|O_NOFOLLOW relative to
 * its parent's fd, checked to be the inode the name check saw, and the
 * empty file/directory is mounted on THAT fd (open_tree + move_mount): no
 * path is ever resolved again. A mount sits on a dentry, so a concurrent
 * run renaming a masked entry or its parents later moves the mask along.
 * The staged tree, masks included, is what the runtime binds (rbind).
 *
 * A concurrent writer could still move an unchecked entry into a directory
 * already listed while the walk runs. So a second pass re-walks the staged
 * tree and compares every directory's inode, mtime and ctime with the first
 * pass (any entry moved in or out changes them; the kernel's multigrain
 * timestamps make such a change visible even within one clock tick) and
 * checks nothing to hide is left unmasked. On a difference the masking pass
 * runs again (masked entries are mount points then and are skipped), at
 * most WALK_ROUNDS times, then the run fails. */
#define WALK_ROUNDS 4
struct dirstamp {
  uint64_t ino;
  struct statx_timestamp mtime, ctime;
};
struct walk {
  struct agent_ctx *c;
  const char *dest_root;
  const char *label; /* the whole tree, in messages */
  uint64_t mnt_id;
  size_t entries;
  int empty_file, empty_dir;
  unsigned masks;
  bool verify, changed;
  struct dirstamp *dirs;
  size_t n_dirs, cap_dirs, pos;
  cove_err *err;
};

static int statx_fd(int dfd, const char *name, int flags, struct statx *sx)
{
  return (int)syscall(SYS_statx, dfd, name, flags | AT_STATX_SYNC_AS_STAT,
                      STATX_TYPE | STATX_INO | STATX_MNT_ID | STATX_MTIME | STATX_CTIME, sx);
}

static bool ts_eq(struct statx_timestamp a, struct statx_timestamp b)
{
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* First pass: remember the directory; verify pass: compare, in the same
 * order. */
static int stamp_dir(struct walk *w, const struct statx *sx)
{
  struct dirstamp s = {.ino = sx->stx_ino, .mtime = sx->stx_mtime, .ctime = sx->stx_ctime};
  if (w->verify) {
    const struct dirstamp *o = w->pos < w->n_dirs ? &w->dirs[w->pos] : NULL;
    w->pos++;
    if (!o || o->ino != s.ino || !ts_eq(o->mtime, s.mtime) || !ts_eq(o->ctime, s.ctime))
      w->changed = true;
    return 0;
  }
  if (w->n_dirs == w->cap_dirs) {
    size_t nc = w->cap_dirs ? w->cap_dirs * 2 : 256;
    struct dirstamp *d = realloc(w->dirs, nc * sizeof *d);
    if (!d)
      return cove_error(w->err, ENOMEM, "walk");
    w->dirs = d;
    w->cap_dirs = nc;
  }
  w->dirs[w->n_dirs++] = s;
  return 0;
}

static int mask_at(struct walk *w, int dfd, const char *name, const char *rel, const struct statx *seen,
                   const char *why)
{
  if (w->verify) { /* something to hide that the masking pass did not see */
    w->changed = true;
    return 0;
  }
  char dest[PATH_MAX];
  snprintf(dest, sizeof dest, "%s/%s", w->dest_root, rel);
  _cleanup_close_ int target = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct statx now;
  if (target < 0 || statx_fd(target, "", AT_EMPTY_PATH, &now) < 0)
    return cove_error(w->err, errno, "%s changed while it was being checked", dest);
  if (now.stx_ino != seen->stx_ino || now.stx_dev_major != seen->stx_dev_major ||
      now.stx_dev_minor != seen->stx_dev_minor || now.stx_mnt_id != w->mnt_id ||
      ((now.stx_mode ^ seen->stx_mode) & S_IFMT))
    return cove_error(w->err, 0, "%s changed while it was being checked (moved or replaced)", dest);
  bool dir = S_ISDIR(now.stx_mode);
  _cleanup_close_ int m = cove_open_tree(dir ? w->empty_dir : w->empty_file, "",
                                         OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
  if (m < 0 || cove_mount_setattr(m, "", AT_EMPTY_PATH, &a) < 0 ||
      cove_move_mount(m, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return cove_error(w->err, errno, "mask %s", dest);
  w->masks++;
  agent_audit(&w->c->audit, "mask", "path", dest, "reason", why, NULL);
  return 0;
}

/* Entries that are neither regular files, directories nor symlinks reach
 * something on the host whatever namespace opens them: a unix socket its
 * server, a FIFO its reader/writer (host IPC even from a read-only mount),
 * a device node its driver (nodev already, hidden anyway). */
static const char *special_reason(mode_t mode)
{
  switch (mode & S_IFMT) {
  case S_IFSOCK: return "unix socket (would reach a host service)";
  case S_IFIFO: return "FIFO (would reach a host process)";
  case S_IFCHR:
  case S_IFBLK: return "device node";
  default: return NULL;
  }
}

static int walk_dir(struct walk *w, int dfd, char *rel, size_t rlen, int depth)
{
  if (depth > 256)
    return cove_error(w->err, ELOOP, "nested more than 256 levels deep, too deep to check: %s/%s", w->dest_root, rel);
  struct statx before;
  if (statx_fd(dfd, "", AT_EMPTY_PATH, &before) < 0) {
    close(dfd);
    return cove_error(w->err, errno, "stat %s/%s", w->dest_root, rel);
  }
  _cleanup_closedir_ DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return cove_error(w->err, errno, "read %s/%s", w->dest_root, rel);
  }
  if (stamp_dir(w, &before) < 0)
    return -1;
  struct dirent *e;
  while ((errno = 0, e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    if (++w->entries > 2000000)
      return cove_error(w->err, E2BIG, "%s: more than 2 million entries, too large to check for blocked names",
                        w->label);
    size_t nl = strlen(e->d_name);
    if (rlen + nl + 2 >= PATH_MAX)
      return cove_error(w->err, ENAMETOOLONG, "a path too long to check: %s/%s", w->dest_root, rel);
    size_t save = rlen;
    if (rlen)
      rel[rlen++] = '/';
    memcpy(rel + rlen, e->d_name, nl + 1);
    rlen += nl;
    struct statx sx;
    if (statx_fd(dirfd(d), e->d_name, AT_SYMLINK_NOFOLLOW, &sx) < 0) {
      if (errno != ENOENT)
        return cove_error(w->err, errno, "stat %s/%s", w->dest_root, rel);
    } else {
      const char *which, *special = special_reason(sx.stx_mode);
      if (sx.stx_mnt_id != w->mnt_id) {
        /* Nothing is mounted in the fresh non-recursive clone but our
         * own masks (the staging mount namespace is private). */
      } else if (S_ISLNK(sx.stx_mode)) {
        /* Resolved inside the sandbox, where unlisted host paths do not
         * exist and blocked ones are masked: nothing to do here. */
      } else if (name_blocked(e->d_name, &w->c->al, &which)) {
        char why[160];
        snprintf(why, sizeof why, "blocked pattern \"%s\"", which);
        if (mask_at(w, dirfd(d), e->d_name, rel, &sx, why) < 0)
          return -1;
      } else if (special) {
        if (mask_at(w, dirfd(d), e->d_name, rel, &sx, special) < 0)
          return -1;
      } else if (S_ISDIR(sx.stx_mode)) {
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = 1; /* 1: cannot be listed */
        if (sub < 0 && errno == ENOENT) {
          r = 0; /* gone */
        } else if (sub < 0 && errno != EACCES && errno != EPERM) {
          return cove_error(w->err, errno, "%s/%s changed while it was being checked", w->dest_root, rel);
        } else if (sub >= 0) {
          struct statx ss;
          if (statx_fd(sub, "", AT_EMPTY_PATH, &ss) < 0 || ss.stx_ino != sx.stx_ino || ss.stx_mnt_id != w->mnt_id) {
            close(sub);
            return cove_error(w->err, 0, "%s/%s changed while it was being checked", w->dest_root, rel);
          }
          if ((r = walk_dir(w, sub, rel, rlen, depth + 1)) < 0)
            return -1;
        }
        /* Fail closed: what we cannot list we cannot check, so the sandbox
         * gets it empty (it could open names in it that we cannot see,
         * e.g. in a root-owned 0711 directory). */
        if (r == 1 && mask_at(w, dirfd(d), e->d_name, rel, &sx, "directory cannot be listed") < 0)
          return -1;
      }
    }
    rlen = save;
    rel[rlen] = 0;
  }
  if (errno == EACCES || errno == EPERM)
    return 1; /* unlistable: the caller masks it whole */
  if (errno)
    return cove_error(w->err, errno, "read %s/%s", w->dest_root, rel);
  struct statx after; /* changed while being listed */
  if (statx_fd(dirfd(d), "", AT_EMPTY_PATH, &after) < 0 || !ts_eq(after.stx_mtime, before.stx_mtime) ||
      !ts_eq(after.stx_ctime, before.stx_ctime))
    w->changed = true;
  return 0;
}

/* Masking pass + verify pass until the tree held still for both. */
static int walk_rounds(struct walk *w, int tree)
{
  for (int round = 0; round < WALK_ROUNDS; round++) {
    bool changed = false;
    for (int pass = 0; pass < 2; pass++) {
      w->verify = pass == 1;
      w->changed = false;
      w->pos = 0;
      w->entries = 0;
      if (!w->verify)
        w->n_dirs = 0;
      int dfd = openat(tree, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        return cove_error(w->err, errno, "%s: cannot be listed, so it cannot be checked for blocked names",
                          w->label);
      char rel[PATH_MAX] = "";
      int r = walk_dir(w, dfd, rel, 0, 0);
      if (r == 1)
        return cove_error(w->err, EACCES, "%s: cannot be listed, so it cannot be checked for blocked names",
                          w->label);
      if (r < 0)
        return -1;
      changed |= w->changed || (w->verify && w->pos != w->n_dirs);
    }
    if (!changed)
      return 0;
  }
  return cove_error(w->err, 0, "%s kept changing while it was being checked for blocked names (%d attempts)",
                    w->label, WALK_ROUNDS);
}

int agent_mask_stage(struct agent_ctx *c, const char *dest_root, int src, int empty_file, int empty_dir,
                     int idmap_userns, const char *stage, unsigned *masks, cove_err *err)
{
  /* dest_root "" is the policy rootfs: its entries are absolute paths */
  const char *label = *dest_root ? dest_root : "rootfs";
  struct statx sx;
  if (statx_fd(src, "", AT_EMPTY_PATH, &sx) < 0)
    return cove_error(err, errno, "stat %s", label);
  if (!S_ISDIR(sx.stx_mode))
    return -2; /* nothing to walk: use the source as it is */
  if (mkdir(stage, 0700) < 0)
    return cove_error(err, errno, "mkdir %s", stage);
  _cleanup_close_ int at = open(stage, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int tree = cove_open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree >= 0 && agent_idmap_tree(tree, idmap_userns, label, err) < 0) {
    close(tree);
    return -1;
  }
  if (at < 0 || tree < 0 || cove_move_mount(tree, "", at, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    if (errno == EINVAL && tree < 0)
      cove_error(err, 0, "%s: the source has mounts below it; they are not shown in the sandbox, and the kernel "
                 "refuses to expose what they cover", label);
    else
      cove_error(err, errno, "stage %s for checking", label);
    if (tree >= 0)
      close(tree);
    return -1;
  }
  struct walk w = {.c = c, .dest_root = dest_root, .label = label, .empty_file = empty_file, .empty_dir = empty_dir,
                   .err = err};
  if (statx_fd(tree, "", AT_EMPTY_PATH, &sx) < 0) {
    cove_error(err, errno, "stat %s", label);
    close(tree);
    return -1;
  }
  w.mnt_id = sx.stx_mnt_id;
  int r = walk_rounds(&w, tree);
  free(w.dirs);
  if (r < 0) {
    close(tree);
    return -1;
  }
  *masks += w.masks;
  return tree;
}

static int host_rootfs(struct agent_ctx *c, cove_err *err)
{
  static const char *const dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", NULL};
  for (const char *const *d = dirs; *d; d++) {
    struct stat st;
    if (lstat(*d, &st) < 0)
      continue;
    if (S_ISLNK(st.st_mode)) {
      char t[PATH_MAX];
      ssize_t n = readlink(*d, t, sizeof t - 1);
      if (n < 0)
        return cove_error(err, errno, "readlink %s", *d);
      t[n] = 0;
      if (plan_add(&c->plan, AM_SYMLINK, *d, -1, false, *d) < 0 || !(c->plan.m[c->plan.n - 1].link = strdup(t)))
        return cove_error(err, ENOMEM, "plan");
      continue;
    }
    if (!S_ISDIR(st.st_mode))
      continue;
    int fd = open(*d, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return cove_error(err, errno, "open %s", *d);
    if (plan_add(&c->plan, AM_BIND, *d, fd, false, *d) < 0)
      return cove_error(err, ENOMEM, "plan");
    c->plan.m[c->plan.n - 1].recursive = true;
  }
  for (const char *const *m = etc_masked; *m; m++)
    c->plan.masked_paths[c->plan.n_masked_paths++] = (char *)*m;
  return 0;
}

/* A host directory that becomes a whole tree of the sandbox (workspace,
 * policy rootfs): canonical, pinned by fd, not /, no blocked component,
 * not containing or inside cove's own directories. */
static int open_tree(struct agent_ctx *c, const char *in, const char *what, const char *dest, char canon[PATH_MAX],
                     cove_err *err)
{
  int fd = open_canonical(in, what, canon, O_DIRECTORY, err);
  if (fd < 0)
    return -1;
  const char *which;
  if (!strcmp(canon, "/")) {
    close(fd);
    agent_audit(&c->audit, "mount", "decision", "deny", "source", canon, "destination", dest, "reason",
                "the whole host filesystem", NULL);
    return cove_error(err, 0, "%s /: refusing to expose the whole host filesystem", what);
  }
  if (agent_blocked_component(canon, &c->al, &which)) {
    close(fd);
    agent_audit(&c->audit, "mount", "decision", "deny", "source", canon, "destination", dest, "reason",
                "blocked pattern", "pattern", which, NULL);
    return cove_error(err, 0, "%s %s: path matches the blocked pattern \"%s\"", what, canon, which);
  }
  if (check_not_cove_dir(c, canon, what, err) < 0) {
    close(fd);
    agent_audit(&c->audit, "mount", "decision", "deny", "source", canon, "destination", dest, "reason", err->msg,
                NULL);
    return -1;
  }
  return fd;
}

/* The policy's rootfs: checked like the workspace, its /etc credential
 * files masked; netns.c walks it for blocked names and special files like
 * every other tree (agent_mask_stage) and mounts the staged tree. */
static int plan_rootfs(struct agent_ctx *c, cove_err *err)
{
  char canon[PATH_MAX];
  int fd = open_tree(c, c->pol.rootfs, "rootfs", "/", canon, err);
  if (fd < 0)
    return -1;
  c->plan.rootfs_fd = fd;
  if (!(c->plan.rootfs_origin = strdup(canon)))
    return cove_error(err, ENOMEM, "plan");
  agent_audit(&c->audit, "mount", "decision", "allow", "source", canon, "destination", "/", "mode", "ro", NULL);
  for (const char *const *m = etc_masked; *m; m++)
    c->plan.masked_paths[c->plan.n_masked_paths++] = (char *)*m;
  return 0;
}

static int plan_workspace(struct agent_ctx *c, cove_err *err)
{
  char canon[PATH_MAX];
  int fd = open_tree(c, c->o->workspace ? c->o->workspace : ".", "--workspace", "/workspace", canon, err);
  if (fd < 0)
    return -1;
  snprintf(c->workspace, sizeof c->workspace, "%s", canon);
  if (plan_add(&c->plan, AM_BIND, "/workspace", fd, c->pol.workspace_writable, canon) < 0)
    return cove_error(err, ENOMEM, "plan");
  c->plan.m[c->plan.n - 1].walk = true;
  agent_audit(&c->audit, "mount", "decision", "allow", "source", canon, "destination", "/workspace", "mode",
              c->pol.workspace_writable ? "rw" : "ro", NULL);
  return 0;
}

/* The group directory is the sandbox's own (it may chmod it to 0755 or
 * leave setuid-free but world-readable files in it): what keeps other
 * local users out is its parent, which must be private to the caller. */
static int private_groups_dir(struct agent_ctx *c, cove_err *err)
{
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/groups", c->paths.data);
  if (agent_mkdir_p(dir, 0700, err) < 0)
    return cove_error_prefix(err, "group state");
  _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return cove_error(err, errno, "group state %s", dir);
  if (st.st_uid != geteuid())
    return cove_error(err, 0, "group state %s: owned by uid %u, not by the caller (refusing to use it)", dir,
                      (unsigned)st.st_uid);
  if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 07700 & ~(mode_t)06000) < 0)
    return cove_error(err, errno, "group state %s: make it private (0700)", dir);
  return 0;
}

static int plan_group(struct agent_ctx *c, cove_err *err)
{
  char dir[PATH_MAX];
  if (private_groups_dir(c, err) < 0)
    return -1;
  snprintf(dir, sizeof dir, "%s/groups/%s", c->paths.data, c->group);
  if (agent_mkdir_p(dir, 0700, err) < 0)
    return cove_error_prefix(err, "group state");
  char canon[PATH_MAX];
  int fd = open_canonical(dir, "group state", canon, O_DIRECTORY, err);
  if (fd < 0)
    return -1;
  if (plan_add(&c->plan, AM_BIND, "/group", fd, true, canon) < 0)
    return cove_error(err, ENOMEM, "plan");
  agent_audit(&c->audit, "mount", "decision", "allow", "source", canon, "destination", "/group", "mode", "rw", NULL);
  return 0;
}

static int plan_extra(struct agent_ctx *c, size_t i, cove_err *err)
{
  const struct agent_mount_req *r = &c->pol.mounts[i];
  char canon[PATH_MAX];
  const char *which;
  char field[64];
  snprintf(field, sizeof field, "mounts[%zu].source", i);
  if (!c->al.present) {
    agent_audit(&c->audit, "mount", "decision", "deny", "source", r->source, "destination", r->destination, "reason",
                "no mount allowlist", NULL);
    return cove_error(err, 0, "%s: %s: extra mounts need a mount allowlist (%s/mount-allowlist.json)", field,
                      r->source, c->paths.config);
  }
  int fd = open_canonical(r->source, field, canon, 0, err);
  if (fd < 0)
    return -1;
  _cleanup_close_ int hold = fd;
  if (agent_blocked_component(canon, &c->al, &which)) {
    agent_audit(&c->audit, "mount", "decision", "deny", "source", canon, "destination", r->destination, "reason",
                "blocked pattern", "pattern", which, NULL);
    return cove_error(err, 0, "%s: %s matches the blocked pattern \"%s\"", field, canon, which);
  }
  if (check_not_cove_dir(c, canon, field, err) < 0) {
    agent_audit(&c->audit, "mount", "decision", "deny", "source", canon, "destination", r->destination, "reason",
                err->msg, NULL);
    return -1;
  }
  const struct agent_mount_req *root = NULL;
  for (size_t j = 0; j < c->al.n_roots; j++) {
    char rc[PATH_MAX];
    if (realpath(c->al.roots[j].source, rc) && path_within(canon, rc))
      root = &c->al.roots[j];
  }
  if (!root) {
    agent_audit(&c->audit, "mount", "decision", "deny", "source", canon, "destination", r->destination, "reason",
                "not under an allowed root", NULL);
    return cove_error(err, 0, "%s: %s is not under any root of the mount allowlist", field, canon);
  }
  bool rw = r->writable;
  const char *why = NULL;
  if (rw && !root->writable)
    rw = false, why = "allowlist root is read-only";
  if (rw && !c->trusted && c->al.untrusted_read_only)
    rw = false, why = "untrusted group forced read-only";
  if (plan_add(&c->plan, AM_BIND, r->destination, steal_fd(hold), rw, canon) < 0)
    return cove_error(err, ENOMEM, "plan");
  c->plan.m[c->plan.n - 1].walk = true;
  agent_audit(&c->audit, "mount", "decision", "allow", "source", canon, "destination", r->destination, "mode",
              rw ? "rw" : "ro", "note", why, NULL);
  return 0;
}

static int plan_secret(struct agent_ctx *c, size_t i, cove_err *err)
{
  const struct agent_kv *s = &c->pol.secrets[i];
  char canon[PATH_MAX], field[200], dest[300];
  snprintf(field, sizeof field, "secrets.%s", s->key);
  int fd = open_canonical(s->value, field, canon, 0, err);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return cove_error(err, 0, "%s: %s is not a regular file", field, canon);
  }
  snprintf(dest, sizeof dest, "/run/secrets/%s", s->key);
  if (plan_add(&c->plan, AM_BIND, dest, fd, false, canon) < 0)
    return cove_error(err, ENOMEM, "plan");
  agent_audit(&c->audit, "secret", "name", s->key, "source", canon, "destination", dest, NULL);
  return 0;
}

int agent_plan_ca_bundle(struct agent_ctx *c, cove_err *err)
{
  char path[4300];
  snprintf(path, sizeof path, "%s/ca-bundle.crt", c->rundir);
  /* the host's bundle, if it has one, so other hosts stay verifiable */
  cove_err e2 = {0};
  _cleanup_free_ char *sys = agent_read_small_file(AGENT_CA_BUNDLE, 16 << 20, &e2);
  const char *ca = agent_tls_ca_pem(c->creds->tls);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
  if (fd < 0)
    return cove_error(err, errno, "%s", path);
  size_t sl = sys ? strlen(sys) : 0;
  if ((sl && (write(fd, sys, sl) != (ssize_t)sl || (sys[sl - 1] != '\n' && write(fd, "\n", 1) != 1))) ||
      write(fd, ca, strlen(ca)) != (ssize_t)strlen(ca))
    return cove_error(err, errno, "write %s", path);
  int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (pfd < 0)
    return cove_error(err, errno, "%s", path);
  if (plan_add(&c->plan, AM_BIND, AGENT_CA_BUNDLE, pfd, false, path) < 0) {
    close(pfd);
    return cove_error(err, ENOMEM, "plan");
  }
  agent_audit(&c->audit, "mount", "decision", "allow", "source", "run CA + system CA bundle", "destination",
              AGENT_CA_BUNDLE, "mode", "ro", NULL);
  return 0;
}

int agent_plan_build(struct agent_ctx *c, cove_err *err)
{
  struct agent_plan *p = &c->plan;
  p->empty_file_fd = p->empty_dir_fd = p->rootfs_fd = -1;
  if (c->pol.rootfs ? plan_rootfs(c, err) < 0 : host_rootfs(c, err) < 0)
    return -1;
  if (plan_add(p, AM_PROC, "/proc", -1, false, NULL) < 0 || plan_add(p, AM_TMPFS, "/dev", -1, true, NULL) < 0 ||
      plan_add(p, AM_DEVPTS, "/dev/pts", -1, true, NULL) < 0 || plan_add(p, AM_TMPFS, "/dev/shm", -1, true, NULL) < 0 ||
      plan_add(p, AM_TMPFS, "/tmp", -1, true, NULL) < 0 || plan_add(p, AM_TMPFS, "/home/agent", -1, true, NULL) < 0 ||
      plan_add(p, AM_TMPFS, "/run", -1, true, NULL) < 0)
    return cove_error(err, ENOMEM, "plan");
  for (const char *const *m = proc_masked; *m; m++)
    p->masked_paths[p->n_masked_paths++] = (char *)*m;
  if (plan_workspace(c, err) < 0)
    return -1;
  for (size_t i = 0; i < c->pol.n_mounts; i++)
    if (plan_extra(c, i, err) < 0)
      return -1;
  for (size_t i = 0; i < c->pol.n_secrets; i++)
    if (plan_secret(c, i, err) < 0)
      return -1;
  /* last: the only step that creates something (the group's directory) */
  return plan_group(c, err);
}
