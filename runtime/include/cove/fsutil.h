/* Path handling inside a root directory the container controls.
 *
 * Every lookup under the rootfs goes through openat2(RESOLVE_IN_ROOT): "..",
 * absolute symlinks and symlink chains are all clamped to the root, so a
 * hostile image that plants /proc -> /etc or /a/b -> ../../../host cannot
 * make the runtime mount or create anything outside it (CVE-2021-30465,
 * bubblewrap GHSA-pxhw-h44j-8pfx). Mount targets are then used as O_PATH
 * fds, never re-resolved as strings. */
#pragma once
#include "cove/error.h"

#include <stdbool.h>
#include <sys/types.h>

/* Open `path` (relative to root_fd, clamped inside it) with O_PATH. */
int cove_open_in_root(int root_fd, const char *path, int flags, cove_err *err);
/* The same, but no symlink is followed anywhere on the way (ELOOP). */
int cove_open_in_root_nofollow(int root_fd, const char *path, int flags, cove_err *err);
/* Resolve `path` inside root_fd, creating missing components: directories
 * for every parent; the last one as a directory, or as an empty regular
 * file when `file` is true. Returns an O_PATH fd of the final entry. */
int cove_mkpath_in_root(int root_fd, const char *path, bool file, mode_t mode, cove_err *err);
/* "/proc/self/fd/N" for mount(2) on an already-resolved fd. */
void cove_fd_path(char buf[static 32], int fd);
int cove_write_file_at(int dirfd, const char *name, const char *data, size_t len, cove_err *err);
/* One write(2) of all of data: for files that take a value in one write
 * (cgroup, /proc); a short write is an error naming `what`. */
int cove_write_once(int fd, const char *data, size_t len, const char *what, cove_err *err);

/* Thin wrappers for the new mount API (glibc 2.36 lacks some). */
int cove_open_tree(int dfd, const char *path, unsigned flags);
int cove_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags);
struct mount_attr;
int cove_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr);
