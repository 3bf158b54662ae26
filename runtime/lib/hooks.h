/* OCI hooks (config.md "POSIX-platform Hooks").
 *
 * Where each kind runs (runtime.md lifecycle):
 *   prestart, createRuntime  the runtime (cove create), after the init did its
 *                            mounts and before pivot_root; pid = host pid
 *   createContainer          the init, in the container's namespaces, before
 *                            pivot_root (so its path resolves in the runtime's
 *                            filesystem view); pid as seen in the container
 *   startContainer           the init after `start`, after pivot_root, just
 *                            before the uid switch and execve
 *   poststart                the runtime (cove start / run) after execve
 *   poststop                 the runtime (cove delete / run) after the state
 *                            is removed
 * Each hook gets the state JSON on stdin, exactly its own env and args,
 * and is killed (with its process group) when its timeout expires. */
#pragma once
#include "cove/error.h"
#include "cove/spec.h"

#include <sys/types.h>

/* The runtime.md "State" object, malloc'd. annotations_json is a raw JSON
 * object text or NULL; pid <= 0 leaves "pid" out. */
char *cove_hook_state_json(const char *oci_version, const char *id, const char *status, pid_t pid, const char *bundle,
                           const char *annotations_json);
/* The spec's annotations as a JSON object text (malloc'd), NULL if none. */
char *cove_spec_annotations_json(const struct cove_spec *s);
/* Run hooks[0..n) in order; the first failure stops and fills err with a
 * message naming "hooks.<kind>[i]". */
int cove_hooks_run(const struct cove_hook *hooks, size_t n, const char *kind, const char *state_json, cove_err *err);
/* Same, for the kinds whose failure only warns (poststart, poststop):
 * every hook runs, failures are logged. */
void cove_hooks_run_warn(const struct cove_hook *hooks, size_t n, const char *kind, const char *state_json);
