/* The one whole-file reader: config.json, --process, --resources, agent
 * policies and profiles. Bounded, so a hostile or mistaken path (a FIFO, a
 * multi-gigabyte file, /dev/zero) cannot make the runtime hang or eat
 * memory. Messages start with `what` ("bundle/config.json", "--process
 * p.json"), so the caller's context stays as it was. */
#pragma once
#include "cove/error.h"

#include <stddef.h>

/* Everything readable from fd, at most max bytes, into a NUL-terminated
 * malloc'd buffer (*len without the NUL; len may be NULL). For pipes too. */
char *cove_read_fd(int fd, size_t max, size_t *len, const char *what, cove_err *err);
/* A regular file `name` relative to dirfd (AT_FDCWD for the cwd), opened
 * O_RDONLY|O_CLOEXEC|oflags (O_NOFOLLOW where a link is suspect). */
char *cove_read_file_at(int dirfd, const char *name, int oflags, size_t max, size_t *len, const char *what,
                        cove_err *err);
