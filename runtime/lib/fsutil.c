#include "cove/fsutil.h"

#include "cove/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int cove_open_tree(int dfd, const char *path, unsigned flags)
{
  return (int)syscall(SYS_open_tree, dfd, path, flags);
}

int cove_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags)
{
  return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

int cove_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr)
{
  return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr);
}

void cove_fd_path(char buf[static 32], int fd)
{
  snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

static int openat2_resolve(int root_fd, const char *path, int flags, uint64_t resolve)
{
  struct open_how how = {
    .flags = (uint64_t)(flags | O_CLOEXEC),
    .resolve = resolve,
  };
  while (*path == '/')
    path++;
  if (!*path)
    path = ".";
  int fd;
  do
    fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

static int openat2_in_root(int root_fd, const char *path, int flags)
{
  return openat2_resolve(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int cove_open_in_root_nofollow(int root_fd, const char *path, int flags, cove_err *err)
{
  int fd = openat2_resolve(root_fd, path, flags | O_NOFOLLOW,
                           RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0)
    return cove_error(err, errno, errno == ELOOP ? "%s inside the rootfs: a symlink on the way" : "open %s inside the rootfs",
                      path);
  return fd;
}

int cove_open_in_root(int root_fd, const char *path, int flags, cove_err *err)
{
  int fd = openat2_in_root(root_fd, path, flags);
  if (fd < 0)
    return cove_error(err, errno, "open %s inside the rootfs", path);
  return fd;
}

int cove_mkpath_in_root(int root_fd, const char *path, bool file, mode_t mode, cove_err *err)
{
  int fd = openat2_in_root(root_fd, path, O_PATH);
  if (fd >= 0)
    return fd;
  if (errno != ENOENT)
    return cove_error(err, errno, "resolve %s inside the rootfs", path);

  /* Walk from the root: resolve each prefix afresh inside the root and
   * create only single names relative to an fd we hold. mkdirat/openat
   * with O_EXCL never follow a symlink in the last component, so a link
   * planted at a missing name makes us fail, never write outside. */
  char buf[4096];
  if (strlen(path) >= sizeof buf)
    return cove_error(err, ENAMETOOLONG, "%s", path);
  strcpy(buf, path);
  _cleanup_close_ int cur = openat2_in_root(root_fd, "/", O_PATH | O_DIRECTORY);
  if (cur < 0)
    return cove_error(err, errno, "open rootfs");
  char *save = NULL;
  char *comp = strtok_r(buf, "/", &save);
  size_t prefix_end = 0;
  while (comp) {
    char *next = strtok_r(NULL, "/", &save);
    bool last = next == NULL;
    prefix_end = (size_t)(comp - buf) + strlen(comp);
    char prefix[4096];
    memcpy(prefix, path, prefix_end);
    prefix[prefix_end] = 0;
    int nfd = openat2_in_root(root_fd, prefix, O_PATH);
    if (nfd < 0 && errno == ENOENT) {
      if (last && file) {
        int c = openat(cur, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
        if (c < 0 && errno != EEXIST)
          return cove_error(err, errno, "create %s inside the rootfs", prefix);
        if (c >= 0)
          close(c);
      } else if (mkdirat(cur, comp, last ? mode : 0755) < 0 && errno != EEXIST) {
        return cove_error(err, errno, "mkdir %s inside the rootfs", prefix);
      }
      nfd = openat2_in_root(root_fd, prefix, O_PATH);
    }
    if (nfd < 0)
      return cove_error(err, errno, "resolve %s inside the rootfs", prefix);
    if (!last) {
      struct stat st;
      if (fstat(nfd, &st) < 0 || !S_ISDIR(st.st_mode)) {
        close(nfd);
        return cove_error(err, ENOTDIR, "%s inside the rootfs", prefix);
      }
    }
    close(cur);
    cur = nfd;
    comp = next;
  }
  return steal_fd(cur);
}

int cove_write_file_at(int dirfd, const char *name, const char *data, size_t len, cove_err *err)
{
  _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return cove_error(err, errno, "open %s", name);
  return cove_write_once(fd, data, len, name, err);
}

int cove_write_once(int fd, const char *data, size_t len, const char *what, cove_err *err)
{
  ssize_t n = write(fd, data, len);
  if (n < 0)
    return cove_error(err, errno, "write %s", what);
  if ((size_t)n != len)
    return cove_error(err, EIO, "short write to %s", what);
  return 0;
}
