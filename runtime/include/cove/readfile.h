/* The one whole-file reader: config.json, --process, --resources, agent
 * policies and profiles. Bounded, so a hostile or mistaken path (a FIFO, a
 * multi-gigabyte file, /dev/zero) cannot make the runtime hang or eat
 * memory. Messages start with `what` ("bundle/config.json", "--process
 * p.json"), so the caller's context stays as it was. */
#pragma once
#include "cove/error.h"

#include <stddef.h>

/* The whole of fd, at most max bytes, into a NUL-terminated malloc'd
 * buffer (*len without the NUL; len may be NULL). A file is read from its
 * start whatever the fd's position (pread); a pipe, to its end. */
char *cove_read_fd(int fd, size_t max, size_t *len, const char *what, cove_err *err);
/* A regular file `name` relative to dirfd (AT_FDCWD for the cwd), opened
 * O_RDONLY|O_CLOEXEC|oflags (O_NOFOLLOW where a link is suspect). */
char *cove_read_file_at(int dirfd, const char *name, int oflags, size_t max, size_t *len, const char *what,
                        cove_err *err);
