#include "cove/readfile.h"

#include "cove/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* From offset off of a file (pread: the fd's position does not matter and
 * does not move), or the next bytes of a pipe once pread said ESPIPE. */
static ssize_t read_at(int fd, char *buf, size_t n, size_t off, bool *stream)
{
  if (!*stream) {
    ssize_t r = pread(fd, buf, n, (off_t)off);
    if (r >= 0 || errno != ESPIPE)
      return r;
    *stream = true;
  }
  return read(fd, buf, n);
}

char *cove_read_fd(int fd, size_t max, size_t *len, const char *what, cove_err *err)
{
  struct stat st;
  /* a large regular file's size is the first guess; pipes and /proc files
   * (size 0) grow from 4 KiB */
  size_t cap = 4096;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size >= cap && (size_t)st.st_size < max)
    cap = (size_t)st.st_size + 1;
  if (cap > max + 1)
    cap = max + 1;
  _cleanup_free_ char *buf = malloc(cap);
  if (!buf)
    return cove_error(err, ENOMEM, "%s", what), NULL;
  size_t n = 0;
  bool stream = false;
  for (;;) {
    if (n + 1 == cap) {
      if (n == max) {
        char extra;
        ssize_t r = read_at(fd, &extra, 1, n, &stream);
        if (r < 0 && errno == EINTR)
          continue;
        if (r == 0)
          break;
        return cove_error(err, r < 0 ? errno : EFBIG, "%s: larger than %zu bytes", what, max), NULL;
      }
      size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
      char *nb = realloc(buf, ncap);
      if (!nb)
        return cove_error(err, ENOMEM, "%s", what), NULL;
      buf = nb;
      cap = ncap;
    }
    ssize_t r = read_at(fd, buf + n, cap - 1 - n, n, &stream);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return cove_error(err, errno, "read %s", what), NULL;
    if (r == 0)
      break;
    n += (size_t)r;
  }
  buf[n] = 0;
  if (len)
    *len = n;
  return steal_ptr(buf);
}

char *cove_read_file_at(int dirfd, const char *name, int oflags, size_t max, size_t *len, const char *what,
                        cove_err *err)
{
  _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | oflags);
  if (fd < 0)
    return cove_error(err, errno, "%s", what), NULL;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return cove_error(err, errno, "%s", what), NULL;
  if (!S_ISREG(st.st_mode))
    return cove_error(err, 0, "%s: not a regular file", what), NULL;
  return cove_read_fd(fd, max, len, what, err);
}
