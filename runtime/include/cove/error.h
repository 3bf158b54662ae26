/* The one error convention of cove.
 *
 * A fallible function returns an int: >= 0 on success, -1 on failure, and on
 * failure it has filled the caller's `cove_err`. The struct lives on the
 * caller's stack (no allocation), so it works in a freshly cloned child and
 * can be shipped verbatim over the sync socket to the parent.
 *
 * Messages are built innermost-first and callers add context on the way out:
 *   return cove_error(err, errno, "open %s", path);
 *   ...
 *   if (x < 0) return cove_error_prefix(err, "mounts[%zu]", i);
 * giving "mounts[2]: open /x: No such file or directory".
 */
#pragma once
#include <stddef.h>

#define COVE_ERR_MSG_MAX 2048

typedef struct cove_err {
  int code; /* errno of the root cause, 0 when not a syscall failure */
  char msg[COVE_ERR_MSG_MAX];
} cove_err;

/* Set err; if errnum != 0 the strerror text is appended. Returns -1. */
int cove_error(cove_err *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepend "context: " to the current message. Returns -1. */
int cove_error_prefix(cove_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cove_err_clear(cove_err *err);
