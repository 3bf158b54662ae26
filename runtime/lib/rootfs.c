/* The container's filesystem view, built inside its mount namespace by
 * carrying out the plan made before clone (mount_plan.h):
 *   1. make "/" a slave so nothing we do propagates back to the host;
 *   2. bind the rootfs onto itself and hold it as an fd;
 *   3. the plan's mounts, in order, onto targets resolved inside that fd
 *      (openat2 RESOLVE_IN_ROOT), binds cloned as detached trees; then its
 *      devices and /dev links;
 *   4. pivot_root into it and detach the old root.
 * The console, readonly/masked paths and root.readonly come after
 * pivot_root, when "/" is the container's and no host path is reachable by
 * name. */
#include "internal.h"
#include "mount_plan.h"

#include "cove/cleanup.h"
#include "cove/fsutil.h"
#include "cove/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <stdint.h>
#include <unistd.h>

static bool is_type(const struct cove_mount *m, const char *t)
{
  return m->type && strcmp(m->type, t) == 0;
}

/* After EPERM: only the restrictions, without clearing anything (a locked
 * flag) and without the atime field (a mode cannot be set without clearing
 * the field first: EINVAL). */
static int setattr_locked_retry(int tree, unsigned af, struct mount_attr *a)
{
  if (a->attr_clr & MOUNT_ATTR__ATIME)
    cove_debug("atime mode not changed: locked by the host mount");
  a->attr_clr = 0;
  a->attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
  return cove_mount_setattr(tree, "", af, a);
}

/* Clone `src_fd`'s tree (or the host path) detached, set its attributes,
 * and attach it at target_fd. The source is opened once; no string path is
 * looked up again between check and mount. */
static int bind_at(int src_dfd, const char *src, bool recursive, const struct cove_mount *m, int target_fd, cove_err *err)
{
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  if (!*src)
    flags |= AT_EMPTY_PATH;
  _cleanup_close_ int tree = cove_open_tree(src_dfd, src, flags);
  if (tree < 0)
    return cove_error(err, errno, "clone mount of %s", *src ? src : "source");
  if (m && (m->attr_set || m->attr_clr || m->propagation)) {
    struct mount_attr a = {.attr_set = m->attr_set, .attr_clr = m->attr_clr};
    if (m->propagation)
      a.propagation = m->propagation & ~(unsigned long)MS_REC;
    unsigned af = AT_EMPTY_PATH | ((m->propagation & MS_REC) ? AT_RECURSIVE : 0);
    if (cove_mount_setattr(tree, "", af, &a) < 0) {
      /* A flag the host locked (rootless bind of a nosuid or ro host mount)
       * cannot be cleared, nor can a locked atime mode be changed; asking
       * for "rw"/"suid"/an atime mode there is not worth failing for, but
       * setting restrictions must succeed. */
      if (errno != EPERM || setattr_locked_retry(tree, af, &a) < 0)
        return cove_error(err, errno, "set mount attributes");
    }
  }
  if (m && (m->rattr_set || m->rattr_clr)) {
    struct mount_attr a = {.attr_set = m->rattr_set, .attr_clr = m->rattr_clr};
    unsigned af = AT_EMPTY_PATH | AT_RECURSIVE;
    if (cove_mount_setattr(tree, "", af, &a) < 0 && (errno != EPERM || setattr_locked_retry(tree, af, &a) < 0))
      return cove_error(err, errno, "set recursive mount attributes");
  }
  if (cove_move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return cove_error(err, errno, "attach mount");
  return 0;
}

/* Filesystems a rootless container may not be allowed to mount fresh: fall
 * back to a recursive bind of the host's instance (runc does the same for
 * sysfs). The fresh mount is always tried first. */
static const char *host_fallback(const struct cove_mount *m)
{
  if (is_type(m, "sysfs"))
    return "/sys";
  if (is_type(m, "mqueue"))
    return "/dev/mqueue";
  if (is_type(m, "cgroup") || is_type(m, "cgroup2"))
    return "/sys/fs/cgroup";
  return NULL;
}

static int mount_one(const struct cove_init_ctx *ctx, int root_fd, const struct cove_mop *op, cove_err *err)
{
  const struct cove_mount *m = op->mount;
  bool file = false;
  _cleanup_close_ int src_fd = -1;
  if (m->bind) {
    /* The source is a host path chosen by whoever wrote the config; it is
     * resolved once, here, and used as an fd from now on. */
    src_fd = open(m->source, O_PATH | O_CLOEXEC);
    if (src_fd < 0)
      return cove_error(err, errno, "source %s", m->source);
    struct stat st;
    if (fstat(src_fd, &st) < 0)
      return cove_error(err, errno, "source %s", m->source);
    file = !S_ISDIR(st.st_mode);
  }
  _cleanup_close_ int target = cove_mkpath_in_root(root_fd, m->destination, file, file ? 0644 : 0755, err);
  if (target < 0)
    return -1;

  if (m->bind)
    return bind_at(src_fd, "", m->recursive, m, target, err);
  if (is_type(m, "cgroup") || is_type(m, "cgroup2"))
    return cove_mount_cgroup(ctx, root_fd, m, target, err);

  const char *type = m->type;
  char tpath[32];
  cove_fd_path(tpath, target);
  const char *source = m->source && *m->source ? m->source : type;
  unsigned long flags = m->flags & ~(unsigned long)MS_REMOUNT;
  if (mount(source, tpath, type, flags, m->data) == 0) {
    if (!m->propagation)
      return 0;
    /* `target` still names the directory under the new mount, which is no
     * mount root (EINVAL): resolve the destination again to reach it. */
    _cleanup_close_ int top = cove_mkpath_in_root(root_fd, m->destination, false, 0755, err);
    if (top < 0)
      return -1;
    cove_fd_path(tpath, top);
    if (mount(NULL, tpath, NULL, m->propagation, NULL) < 0)
      return cove_error(err, errno, "set propagation");
    return 0;
  }
  int saved = errno;
  const char *fb = host_fallback(m);
  if (fb && (saved == EPERM || saved == EBUSY || saved == EACCES) && op->host_fallback_ok) {
    cove_debug("mounts[%zu]: %s not mountable here (%s), binding host %s", op->index, type, strerror(saved), fb);
    struct cove_mount fbm = *m;
    fbm.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | (m->attr_set & MOUNT_ATTR_RDONLY);
    fbm.attr_clr = 0;
    fbm.rattr_set = (m->flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0;
    fbm.rattr_clr = 0;
    if (m->flags & MS_RDONLY)
      fbm.attr_set |= MOUNT_ATTR_RDONLY;
    return bind_at(AT_FDCWD, fb, true, &fbm, target, err);
  }
  return cove_error(err, saved, "mount %s", type);
}

/* mknod as real root; in a user namespace mknod is refused, so bind the
 * host's node over an empty file instead (what runc and bwrap do). */
static int make_device(int root_fd, const struct cove_mop *op, cove_err *err)
{
  const char *path = op->path;
  char type = op->dev_type;
  unsigned maj = op->major, min = op->minor;
  if (!op->bind_host) {
    _cleanup_close_ int parent = -1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (slash)
      *slash = 0;
    _cleanup_close_ int pfd = cove_mkpath_in_root(root_fd, slash && *dir ? dir : "/", false, 0755, err);
    if (pfd < 0)
      return -1;
    /* O_PATH fds cannot be used as dirfd for mknodat: reopen the dir. */
    char p[32];
    cove_fd_path(p, pfd);
    parent = open(p, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (parent < 0)
      return cove_error(err, errno, "open %s", dir);
    mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
    unlinkat(parent, base, 0);
    if (mknodat(parent, base, fmt | op->mode, makedev(maj, min)) < 0)
      return cove_error(err, errno, "mknod %s", path);
    if (fchownat(parent, base, op->uid, op->gid, AT_SYMLINK_NOFOLLOW) < 0)
      return cove_error(err, errno, "chown %s", path);
    if (fchmodat(parent, base, op->mode, 0) < 0)
      return cove_error(err, errno, "chmod %s", path);
    return 0;
  }
  if (type == 'p')
    return cove_error(err, EPERM, "%s: fifos cannot be created in a user namespace", path);
  /* The host node is found by number (/dev/char/M:m), else at the same
   * path; either way it must really be that device. */
  char sysdev[64];
  snprintf(sysdev, sizeof sysdev, "/dev/%s/%u:%u", type == 'b' ? "block" : "char", maj, min);
  _cleanup_close_ int src = open(sysdev, O_PATH | O_CLOEXEC);
  if (src < 0)
    src = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  struct stat sst;
  if (src < 0 || fstat(src, &sst) < 0 || sst.st_rdev != makedev(maj, min) ||
      (type == 'b' ? !S_ISBLK(sst.st_mode) : !S_ISCHR(sst.st_mode)))
    return cove_error(err, src < 0 ? errno : ENODEV, "%s: no host device %u:%u to bind in a user namespace", path, maj,
                      min);
  _cleanup_close_ int target = cove_mkpath_in_root(root_fd, path, true, 0644, err);
  if (target < 0)
    return -1;
  struct cove_mount m = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC};
  return bind_at(src, "", false, &m, target, err);
}

static int dev_links(int root_fd, cove_err *err)
{
  _cleanup_close_ int devp = cove_mkpath_in_root(root_fd, "/dev", false, 0755, err);
  if (devp < 0)
    return -1;
  char p[32];
  cove_fd_path(p, devp);
  _cleanup_close_ int dev = open(p, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dev < 0)
    return cove_error(err, errno, "open /dev");
  static const char *const links[][2] = {
    {"fd", "/proc/self/fd"},         {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"},   {"core", "/proc/kcore"},
  };
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    if (symlinkat(links[i][1], dev, links[i][0]) < 0 && errno != EEXIST)
      return cove_error(err, errno, "symlink /dev/%s", links[i][0]);
  /* With a private devpts, /dev/ptmx must lead to its own ptmx. */
  struct stat st;
  if (fstatat(dev, "pts/ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (fstatat(dev, "ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
      unlinkat(dev, "ptmx", 0);
    if (symlinkat("pts/ptmx", dev, "ptmx") < 0 && errno != EEXIST)
      return cove_error(err, errno, "symlink /dev/ptmx");
  }
  return 0;
}

/* No mount namespace: the host's mount table is shared and never touched
 * (spec.c refused every config that would need a mount). chroot is all
 * there is; unlike pivot_root it leaves the host's tree reachable to a
 * process that keeps CAP_SYS_CHROOT (docs/security.md). */
static int chroot_shared_ns(const struct cove_init_ctx *ctx, cove_err *err)
{
  const struct cove_spec *s = ctx->spec;
  _cleanup_close_ int root_fd = open(s->root_path_abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return cove_error(err, errno, "open rootfs %s", s->root_path_abs);
  if (cove_init_before_pivot(ctx, err) < 0)
    return -1;
  if (fchdir(root_fd) < 0)
    return cove_error(err, errno, "chdir rootfs");
  if (chroot(".") < 0)
    return cove_error(err, errno, "chroot into the rootfs (no \"mount\" namespace in linux.namespaces)");
  if (chdir("/") < 0)
    return cove_error(err, errno, "chdir /");
  return 0;
}

static int run_phase(const struct cove_init_ctx *ctx, int root_fd, enum cove_mop_phase phase, cove_err *err);

int cove_rootfs_setup(const struct cove_init_ctx *ctx, cove_err *err)
{
  const struct cove_spec *s = ctx->spec;
  if (!s->ns[COVE_NS_MOUNT].wanted)
    return chroot_shared_ns(ctx, err);
  unsigned long prop = MS_SLAVE | MS_REC;
  if (mount(NULL, "/", NULL, prop, NULL) < 0)
    return cove_error(err, errno, "make / a slave mount");
  /* Bound onto itself by fd, and held as the fd of that new mount: the
   * path is looked up once (it may be a /proc/self/fd link the caller
   * holds, when our ids cannot traverse the directories above it). */
  _cleanup_close_ int under = open(s->root_path_abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (under < 0)
    return cove_error(err, errno, "open rootfs %s", s->root_path_abs);
  _cleanup_close_ int root_fd =
    cove_open_tree(under, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (root_fd < 0 || cove_move_mount(root_fd, "", under, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return cove_error(err, errno, "bind rootfs %s", s->root_path_abs);

  if (run_phase(ctx, root_fd, COVE_MOP_BEFORE_PIVOT, err) < 0)
    return -1;

  if (cove_init_before_pivot(ctx, err) < 0)
    return -1;
  if (fchdir(root_fd) < 0)
    return cove_error(err, errno, "chdir rootfs");
  if (ctx->no_pivot) {
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
      return cove_error(err, errno, "move rootfs to /");
    if (chroot(".") < 0)
      return cove_error(err, errno, "chroot");
  } else {
    /* pivot_root(".", ".") stacks the old root under the new one at "/";
     * detaching it leaves no path back to the host's tree. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
      return cove_error(err, errno, "pivot_root");
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
      return cove_error(err, errno, "make old root a slave");
    if (umount2(".", MNT_DETACH) < 0)
      return cove_error(err, errno, "detach old root");
  }
  if (chdir("/") < 0)
    return cove_error(err, errno, "chdir /");
  return 0;
}

/* After pivot_root "/" is the container's root, still resolved without
 * following its symlinks out: a path the config names may be hostile. */
static int open_after_pivot(const char *path, cove_err *err)
{
  _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return cove_error(err, errno, "open /");
  return cove_open_in_root(root, path, O_PATH, err);
}

/* A mask's source is the container's /dev/null, the node the runtime made;
 * by now the container's side may have replaced it (a process sharing the
 * rootfs, a createContainer hook). Followed, a symlink there to
 * /proc/sys/kernel/core_pattern would have us bind that file over the
 * masked path, and a missing node must not mean "no mask" (runc's
 * CVE-2025-31133). So no symlink is followed and the node must be the null
 * device (1:3); the fd checked is the one bound. */
static int open_dev_null(cove_err *err)
{
  _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return cove_error(err, errno, "open /");
  _cleanup_close_ int fd = cove_open_in_root_nofollow(root, "/dev/null", O_PATH, err);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return cove_error(err, errno, "stat /dev/null");
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    return cove_error(err, ENODEV, "/dev/null is not the null device (1:3): the container replaced it");
  int r = fd;
  fd = -1;
  return r;
}

static int mask_path(const char *path, cove_err *err)
{
  _cleanup_close_ int fd = open_after_pivot(path, err);
  if (fd < 0)
    return err->code == ENOENT ? 0 : -1;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return cove_error(err, errno, "stat %s", path);
  if (S_ISDIR(st.st_mode)) {
    /* Readable but empty (like runc): mode 000 would make `ls` of a masked
     * directory fail, which tools treat as an error rather than "nothing".
     * Made and attached by fd: a mount(2) on "/proc/self/fd/N" would be
     * resolved through the container's /proc. */
    _cleanup_close_ int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0555", 0) < 0 ||
        syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
      return cove_error(err, errno, "mask %s: make a tmpfs", path);
    _cleanup_close_ int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                                           MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    if (mnt < 0 || cove_move_mount(mnt, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      return cove_error(err, errno, "mask %s", path);
    return 0;
  }
  _cleanup_close_ int null = open_dev_null(err);
  if (null < 0)
    return cove_error_prefix(err, "mask %s", path);
  /* not nodev: reading the mask must give EOF, like runc, not EACCES */
  struct cove_mount m = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC};
  if (bind_at(null, "", false, &m, fd, err) < 0)
    return cove_error_prefix(err, "mask %s", path);
  return 0;
}

static int readonly_path(const char *path, cove_err *err)
{
  _cleanup_close_ int fd = open_after_pivot(path, err);
  if (fd < 0)
    return err->code == ENOENT ? 0 : -1;
  struct cove_mount m = {.rattr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
  if (bind_at(fd, "", true, &m, fd, err) < 0)
    return cove_error_prefix(err, "make %s read-only", path);
  return 0;
}

static int bind_console(int pty_fd, cove_err *err)
{
  _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return cove_error(err, errno, "open /");
  /* The terminal's bind target: made if missing, then opened again
   * without following a symlink anywhere on the way, and it must be a file
   * or a device node. A symlink planted at /dev/console (by the image, or
   * swapped in by a process sharing the rootfs) would move the terminal
   * onto whatever it names: runc's CVE-2025-52565 was this bind
   * redirected. (The source is the pty the master gave us, TIOCGPTPEER,
   * never a path in the container's /dev/pts.) */
  _cleanup_close_ int made = cove_mkpath_in_root(root, "/dev/console", true, 0600, err);
  if (made < 0)
    return cove_error_prefix(err, "/dev/console");
  _cleanup_close_ int target = cove_open_in_root_nofollow(root, "/dev/console", O_PATH, err);
  struct stat st;
  if (target < 0 || fstat(target, &st) < 0)
    return target < 0 ? -1 : cove_error(err, errno, "stat /dev/console");
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
    return cove_error(err, EINVAL, "/dev/console is neither a file nor a device node");
  if (bind_at(pty_fd, "", false, NULL, target, err) < 0)
    return cove_error_prefix(err, "bind the terminal onto /dev/console");
  return 0;
}

static int run_op(const struct cove_init_ctx *ctx, int root_fd, const struct cove_mop *op, cove_err *err)
{
  switch (op->kind) {
  case COVE_MOP_MOUNT:
    return mount_one(ctx, root_fd, op, err);
  case COVE_MOP_DEVICE:
    return make_device(root_fd, op, err);
  case COVE_MOP_DEV_LINKS:
    return dev_links(root_fd, err);
  case COVE_MOP_CONSOLE:
    return bind_console(STDIN_FILENO, err);
  case COVE_MOP_READONLY:
    return readonly_path(op->path, err);
  case COVE_MOP_MASK:
    return mask_path(op->path, err);
  case COVE_MOP_ROOT_READONLY: {
    struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
    if (cove_mount_setattr(AT_FDCWD, "/", 0, &a) < 0)
      return cove_error(err, errno, "root.readonly: remount / read-only");
    return 0;
  }
  case COVE_MOP_ROOT_PROPAGATION:
    if (mount(NULL, "/", NULL, op->propagation, NULL) < 0)
      return cove_error(err, errno, "linux.rootfsPropagation");
    return 0;
  }
  return cove_error(err, EINVAL, "mount plan: unknown operation %d", (int)op->kind);
}

/* Carry out the plan's operations of one phase, in order. */
static int run_phase(const struct cove_init_ctx *ctx, int root_fd, enum cove_mop_phase phase, cove_err *err)
{
  for (size_t i = 0; i < ctx->plan->n; i++) {
    const struct cove_mop *op = &ctx->plan->ops[i];
    if (op->phase == phase && run_op(ctx, root_fd, op, err) < 0) {
      cove_mop_error_prefix(op, err);
      return -1;
    }
  }
  return 0;
}

int cove_rootfs_bind_console(const struct cove_init_ctx *ctx, cove_err *err)
{
  return run_phase(ctx, -1, COVE_MOP_AT_CONSOLE, err);
}

int cove_rootfs_finalize(const struct cove_init_ctx *ctx, cove_err *err)
{
  return run_phase(ctx, -1, COVE_MOP_FINAL, err);
}
