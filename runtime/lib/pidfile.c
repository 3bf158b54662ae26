#include "internal.h"

#include "cove/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cove_write_pid_file(const char *path, pid_t pid, cove_err *err)
{
  /* A temporary name in the same directory, renamed over the target: a
   * shim polling for the file never reads a half-written pid. The name is
   * unique per writer so two cove processes cannot interleave. */
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.cove-%d.tmp", path, (int)getpid()) >= (int)sizeof tmp)
    return cove_error(err, ENAMETOOLONG, "--pid-file %s", path);
  _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return cove_error(err, errno, "--pid-file %s", path);
  char b[16];
  int n = snprintf(b, sizeof b, "%d", (int)pid);
  if (write(fd, b, (size_t)n) != n || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return cove_error(err, e, "--pid-file %s", path);
  }
  return 0;
}
