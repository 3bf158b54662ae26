/* Public: the compiled seccomp filter cache (runtime/lib/seccomp_cache.c).
 * The orchestrator compiles (or loads) its profile once per start, before
 * the sandbox exists, instead of libseccomp compiling it in the init. */
#pragma once
#include "cove/error.h"

struct cove_seccomp;

/* In the parent, before the init is cloned: the program for `s` from
 * cache_dir (a directory only the caller can write; NULL = no cache) or
 * compiled and stored there. A later cove_seccomp_prepare() of the same
 * profile, in this process or a fork of it, uses it instead of compiling. */
int cove_seccomp_precompile(const struct cove_seccomp *s, const char *cache_dir, cove_err *err);
