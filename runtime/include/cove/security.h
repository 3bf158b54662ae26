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

typedef void *cove_seccomp_filter; /* scmp_filter_ctx */
int cove_seccomp_prepare(const struct cove_seccomp *s, cove_seccomp_filter *out, cove_err *err);
/* Loads the filter; if a listener is configured, sends the notify fd to it. */
int cove_seccomp_load(const struct cove_seccomp *s, cove_seccomp_filter f, cove_err *err);
void cove_seccomp_release(cove_seccomp_filter f);
