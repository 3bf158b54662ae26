/* Process security: parsing and applying capabilities, rlimits,
 * no_new_privs and seccomp. Parsing runs in the runtime before anything is
 * created; applying runs in the container's init as the very last steps
 * before execve, in this order (see container init):
 *
 *   cove_rlimits_apply()        while still privileged enough to lower limits
 *   cove_seccomp_prepare()      builds the filter (libseccomp allocates; do it
 *                               before dropping privileges, after pivot_root)
 *   cove_caps_apply_bounding()  drop from the bounding set, keep caps over setuid
 *   <setgroups / setresgid / setresuid>
 *   cove_caps_apply()           effective, permitted, inheritable, ambient
 *   no_new_privs
 *   cove_seccomp_load()         last syscall-filter step before execve
 */
#pragma once
#include "cove/error.h"
#include "cove/spec.h"

#include <yajl/yajl_tree.h>

/* process: the "process" object; path: "process". Fills caps/rlimits,
 * noNewPrivileges, oomScoreAdj, apparmorProfile, selinuxLabel. */
int cove_spec_parse_process_security(yajl_val process, const char *path, struct cove_process *out, cove_err *err);
/* linux: the "linux" object; path "linux". Fills spec->seccomp/has_seccomp. */
int cove_spec_parse_seccomp(yajl_val linux_obj, const char *path, struct cove_spec *spec, cove_err *err);
void cove_process_security_free(struct cove_process *p);
void cove_seccomp_free(struct cove_seccomp *s);

int cove_rlimits_apply(const struct cove_process *p, cove_err *err);
int cove_caps_apply_bounding(const struct cove_caps *caps, cove_err *err);
int cove_caps_apply(const struct cove_caps *caps, cove_err *err);
/* AppArmor profile / SELinux label for the next execve, then no_new_privs. */
int cove_process_apply_lsm_nnp(const struct cove_process *p, cove_err *err);

typedef void *cove_seccomp_filter; /* scmp_filter_ctx */
int cove_seccomp_prepare(const struct cove_seccomp *s, cove_seccomp_filter *out, cove_err *err);
/* Loads the filter. A filter using SCMP_ACT_NOTIFY needs cove_seccomp_load_notify(). */
int cove_seccomp_load(const struct cove_seccomp *s, cove_seccomp_filter f, cove_err *err);
void cove_seccomp_release(cove_seccomp_filter f);
/* cove_seccomp_precompile(): cove/seccomp_cache.h (public: the orchestrator calls it) */

/* SCMP_ACT_NOTIFY support. listenerPath is a host path, so the init must
 * connect before pivot_root and load with cove_seccomp_load_notify() (plain
 * cove_seccomp_load() refuses a filter that uses SCMP_ACT_NOTIFY). */
#include <stdbool.h>
#define COVE_SECCOMP_NO_LISTENER (-2)
bool cove_seccomp_uses_notify(const struct cove_seccomp *s);
/* A connected AF_UNIX stream fd (O_CLOEXEC), COVE_SECCOMP_NO_LISTENER when
 * the filter does not use SCMP_ACT_NOTIFY, or -1 with err filled. */
int cove_seccomp_listener_connect(const struct cove_seccomp *s, cove_err *err);
/* Loads the filter; when it uses SCMP_ACT_NOTIFY, sends the container
 * process state {ociVersion, fds:["seccompFd"], pid, metadata, state} with
 * the notify fd (SCM_RIGHTS) over listener_fd. state_json is the runtime
 * state object (runtime.md "State", cove_hook_state_json), inserted as it
 * is; pid is the one reported to the agent (getpid() when <= 0). Takes ownership of listener_fd (closed in all cases); with
 * COVE_SECCOMP_NO_LISTENER it is just cove_seccomp_load(). */
int cove_seccomp_load_notify(const struct cove_seccomp *s, cove_seccomp_filter f, int listener_fd, pid_t pid,
                             const char *state_json, cove_err *err);
