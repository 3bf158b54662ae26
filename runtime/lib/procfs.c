/* The runtime's own way into /proc, for the writes it makes with its
 * privileges inside the container: sysctls, oom_score_adj, time namespace
 * offsets, LSM labels.
 *
 * After pivot_root "/proc" is the container's. The image, a
 * createContainer hook or a process sharing one of its mounts can have put
 * a symlink or another mount anywhere under it, and a write that follows
 * one lands in another proc file: runc's CVE-2025-52881 wrote a sysctl
 * value into /proc/sys/kernel/core_pattern that way. So the writes go
 * from the root of a procfs, resolved beneath it with no symlink, magic
 * link or mount crossing (a planted symlink or mount makes the write fail,
 * never land elsewhere). That root is the container's /proc if it is one
 * (the root inode of a procfs superblock), else an instance of our own,
 * mounted nowhere (fsopen, fsmount) and so out of the container's reach;
 * either way it must be our own pid namespace's ("self" names us), so
 * "<pid>/..." can never be another process. */
#include "procfs.h"

#include "cove/cleanup.h"
#include "cove/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static int proc_root = -1;

static int private_instance(void)
{
  _cleanup_close_ int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
  if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  return (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

static bool names_us(int fd)
{
  char self[32], want[32];
  ssize_t n = readlinkat(fd, "self", self, sizeof self - 1);
  if (n <= 0)
    return false;
  self[n] = 0;
  snprintf(want, sizeof want, "%d", (int)getpid());
  return strcmp(self, want) == 0;
}

/* A procfs root of our own pid namespace, or -1. */
static int checked(int fd)
{
  struct statfs sf;
  struct stat st;
  /* 1 is PROC_ROOT_INO: the root of a procfs, not a directory inside one */
  if (fd < 0 || fstatfs(fd, &sf) < 0 || fstat(fd, &st) < 0 || sf.f_type != PROC_SUPER_MAGIC || st.st_ino != 1 ||
      !names_us(fd)) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

int cove_procfs_root(cove_err *err)
{
  if (proc_root >= 0)
    return proc_root;
  /* The container's own /proc when it checks out (no new superblock per
   * start); else an instance of our own. */
  int fd = checked(open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd < 0)
    fd = checked(private_instance());
  if (fd < 0)
    return cove_error(err, EXDEV, "no procfs of the container's pid namespace to write to: /proc is not one "
                                  "(replaced?) and a new one cannot be mounted here");
  proc_root = fd;
  return proc_root;
}

int cove_procfs_open(const char *rel, int flags, cove_err *err)
{
  int root = cove_procfs_root(err);
  if (root < 0)
    return -1;
  char path[512];
  if (!strncmp(rel, "self/", 5) || !strcmp(rel, "self"))
    snprintf(path, sizeof path, "%d%s", (int)getpid(), rel + 4);
  else
    snprintf(path, sizeof path, "%s", rel);
  struct open_how how = {
    .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  int fd;
  do
    fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0)
    return cove_error(err, errno, "/proc/%s", rel);
  return fd;
}

int cove_procfs_write(const char *rel, const char *data, cove_err *err)
{
  _cleanup_close_ int fd = cove_procfs_open(rel, O_WRONLY, err);
  if (fd < 0)
    return -1;
  char what[600];
  snprintf(what, sizeof what, "/proc/%s", rel);
  return cove_write_once(fd, data, strlen(data), what, err);
}

void cove_procfs_release(void)
{
  cove_closep(&proc_root);
}
