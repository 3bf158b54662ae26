/* process.rlimits, applied in the container's init before it drops
 * privileges: lowering is always allowed, but raising a hard limit needs
 * CAP_SYS_RESOURCE in the initial user namespace, which a rootless runtime
 * never has, so the EPERM case gets a message the user can act on. */
#include "security.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static void fmt_limit(char *buf, size_t n, uint64_t v)
{
  if (v == (uint64_t)RLIM_INFINITY)
    snprintf(buf, n, "unlimited");
  else
    snprintf(buf, n, "%" PRIu64, v);
}

static int read_nr_open(uint64_t *out)
{
  FILE *f = fopen("/proc/sys/fs/nr_open", "re");
  if (!f)
    return -1;
  int r = fscanf(f, "%" SCNu64, out) == 1 ? 0 : -1;
  fclose(f);
  return r;
}

int cove_rlimits_apply(const struct cove_process *p, cove_err *err)
{
  for (size_t i = 0; i < p->n_rlimits; i++) {
    const struct cove_rlimit *rl = &p->rlimits[i];
    struct rlimit want = {.rlim_cur = (rlim_t)rl->soft, .rlim_max = (rlim_t)rl->hard}, cur;
    if (prlimit(0, (__rlimit_resource_t)rl->resource, &want, &cur) == 0)
      continue;
    int e = errno;
    char soft[32], hard[32], curhard[32];
    fmt_limit(soft, sizeof soft, rl->soft);
    fmt_limit(hard, sizeof hard, rl->hard);
    if (e == EPERM && getrlimit((__rlimit_resource_t)rl->resource, &cur) == 0) {
      fmt_limit(curhard, sizeof curhard, (uint64_t)cur.rlim_max);
      if ((uint64_t)cur.rlim_max < rl->hard) {
        cove_error(err, 0,
                   "process.rlimits[%zu]: cannot raise %s hard limit above %s without CAP_SYS_RESOURCE in the "
                   "initial user namespace (requested soft %s, hard %s)",
                   i, rl->name, curhard, soft, hard);
        err->code = EPERM;
        return -1;
      }
      uint64_t nr_open;
      if (rl->resource == RLIMIT_NOFILE && read_nr_open(&nr_open) == 0 && rl->hard > nr_open)
        return cove_error(err, 0, "process.rlimits[%zu]: %s hard limit %s is above fs.nr_open (%" PRIu64 ")", i,
                          rl->name, hard, nr_open);
    }
    return cove_error(err, e, "process.rlimits[%zu]: setrlimit %s (soft %s, hard %s)", i, rl->name, soft, hard);
  }
  return 0;
}
