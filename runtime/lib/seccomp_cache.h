/* The compiled-filter cache between seccomp.c and seccomp_cache.c. */
#pragma once
#include "cove/seccomp_cache.h"
#include "security.h"
#include "cove/spec.h"

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

/* The program cove_seccomp_precompile() found or built, inherited by the
 * init through fork; cove_seccomp_prepare() uses it when the key of the
 * profile it is given matches. */
struct cove_seccomp_primed {
  bool set;
  uint8_t key[32];
  struct sock_filter *prog;
  uint32_t n_insns;
  unsigned flags; /* SECCOMP_FILTER_FLAG_* from linux.seccomp.flags */
  /* The profile it was primed for, unchanged since (a parse into or a
   * free of that struct forgets it): the init, a copy of this memory,
   * finds its profile at the same address and need not hash it again. */
  const struct cove_seccomp *src;
  bool notify; /* cove_seccomp_uses_notify(src) */
};
extern struct cove_seccomp_primed cove_seccomp_primed_filter;

void cove_sha256(const void *data, size_t len, uint8_t out[32]);
void cove_seccomp_key(const struct cove_seccomp *s, uint8_t key[32]);
/* s is about to change or go away: it no longer matches the primed
 * program by address */
void cove_seccomp_forget(const struct cove_seccomp *s);
/* libseccomp build of the filter (what cove_seccomp_prepare did alone) */
int cove_seccomp_compile(const struct cove_seccomp *s, cove_seccomp_filter *out, cove_err *err);
/* linux.seccomp.flags as seccomp(2) flags; false for one the raw path
 * cannot load */
bool cove_seccomp_raw_flags(const struct cove_seccomp *s, unsigned *flags);
