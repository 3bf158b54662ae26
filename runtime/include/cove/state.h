/* On-disk container state under the state root (--root):
 *   <root>/<id>/            0700, flock()ed by every command on this id
 *   <root>/<id>/state.json  written atomically (tmp + rename)
 *   <root>/<id>/exec.fifo   exists while the container is `created`
 * The status is never stored as truth: it is derived from whether the
 * recorded pid still runs with the recorded start time (pid reuse safe). */
#pragma once
#include "cove/error.h"
#include "cove/spec.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum cove_status { COVE_CREATING, COVE_CREATED, COVE_RUNNING, COVE_STOPPED, COVE_PAUSED /* cgroup frozen */ };

struct cove_state {
  char id[256];
  char bundle[4096];
  char created[64]; /* RFC 3339 */
  char oci_version[32];
  pid_t pid;
  uint64_t pid_start; /* /proc/PID/stat field 22 */
  bool creating;      /* create has not finished */
  bool rootless;
  char *annotations_json; /* raw JSON object text, or NULL */
  enum cove_status status; /* derived on read */
};

const char *cove_status_name(enum cove_status s);
int cove_state_root(const char *root_opt, char *out, size_t cap, cove_err *err);
int cove_validate_id(const char *id, cove_err *err);
/* Create <root>/<id> exclusively and lock it. Returns the dir fd. */
int cove_state_create(const char *root, const char *id, cove_err *err);
/* Open and lock an existing container dir ("container "x" does not exist"). */
int cove_state_open(const char *root, const char *id, cove_err *err);
int cove_state_write(int dirfd, const struct cove_state *st, cove_err *err);
int cove_state_read(int dirfd, struct cove_state *st, cove_err *err);
/* The fields of state.json text (NUL-terminated); no status derived.
 * cove_state_release() the result. */
int cove_state_parse(struct cove_state *st, const char *text, cove_err *err);
void cove_state_release(struct cove_state *st);
/* Remove the state directory (dirfd stays valid until closed). */
int cove_state_remove(const char *root, const char *id, int dirfd, cove_err *err);
int cove_proc_starttime(pid_t pid, uint64_t *out);
/* Derive status from pid liveness and the fifo. */
enum cove_status cove_state_status(int dirfd, const struct cove_state *st);
/* Print the OCI state JSON (plus "created") to fd. */
int cove_state_print(int fd, const struct cove_state *st, cove_err *err);
