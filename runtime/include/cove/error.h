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

/* What kind of failure this is, set where it arises, so callers decide
 * (fall back, retry, refuse) on the kind and never on the message text. */
enum cove_err_kind {
  COVE_EK_GENERIC = 0,
  COVE_EK_INVALID_CONFIG, /* the input is wrong; retrying cannot help */
  COVE_EK_LIMITS,         /* resource limits cannot be enforced on this host */
  COVE_EK_NOT_FOUND,      /* no such container / file / cgroup */
  COVE_EK_EXISTS,         /* the container id or cgroupsPath is taken */
  COVE_EK_BUSY,           /* wrong state for the operation (running, paused) */
};

typedef struct cove_err {
  int code; /* errno of the root cause, 0 when not a syscall failure */
  enum cove_err_kind kind;
  char msg[COVE_ERR_MSG_MAX];
} cove_err;

/* Set err; if errnum != 0 the strerror text is appended. Returns -1. */
int cove_error(cove_err *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, and classify the failure (cove_error resets the kind to generic). */
int cove_error_kind(cove_err *err, enum cove_err_kind kind, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Classify an error already set (e.g. after a callee failed). Returns -1. */
int cove_err_set_kind(cove_err *err, enum cove_err_kind kind);
/* Prepend "context: " to the current message. Returns -1. */
int cove_error_prefix(cove_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cove_err_clear(cove_err *err);
