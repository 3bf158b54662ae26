/* process.capabilities, applied in the container's init.
 *
 * An absent "capabilities" object means the process keeps nothing, the
 * bounding set included: a uid-0 process regains every capability left in
 * its bounding set at execve(), so leaving the bounding set alone would
 * hand the container full root (runc treats a nil set the same way).
 *
 * Capabilities the linked libcap can name but the running kernel does not
 * have are logged and skipped, as the spec asks runtimes not to fail over
 * capabilities that cannot be granted. */
#include "cove/log.h"
#include "security.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

static const struct cove_capset empty_set;

/* libcap spells names in lower case; messages use the config's CAP_FOO. */
static char *cap_name(int c)
{
  char *n = cap_to_name((cap_value_t)c);
  if (n)
    for (char *q = n; *q; q++)
      if (*q >= 'a' && *q <= 'z')
        *q = (char)(*q - 'a' + 'A');
  return n;
}

static void warn_unsupported(const char *set, int c)
{
  char *n = cap_name(c);
  cove_warn("process.capabilities.%s: %s is not supported by the running kernel, skipping", set, n ? n : "?");
  cap_free(n);
}

static bool set_has(const struct cove_capset *s, int c)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->caps[i] == c)
      return true;
  return false;
}

static void warn_not_granted(const char *set, int c, const char *why)
{
  char *n = cap_name(c);
  cove_warn("process.capabilities.%s: %s cannot be granted (%s), skipping", set, n ? n : "?", why);
  cap_free(n);
}

int cove_caps_apply_bounding(const struct cove_caps *caps, cove_err *err)
{
  const struct cove_capset *keep = caps->present ? &caps->bounding : &empty_set;
  int max = (int)cap_max_bits();
  for (size_t i = 0; i < keep->n; i++) {
    int c = keep->caps[i];
    if (c >= max)
      warn_unsupported("bounding", c);
    else if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 0)
      warn_not_granted("bounding", c, "not in the runtime's bounding set");
  }

  for (int c = 0; c < max; c++) {
    if (set_has(keep, c))
      continue;
    int in = prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0);
    if (in == 0 || (in < 0 && errno == EINVAL))
      continue;
    if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0) {
      int e = errno;
      char *n = cap_name(c);
      cove_error(err, e, "process.capabilities.bounding: drop %s%s", n ? n : "?",
                 e == EPERM ? " (needs CAP_SETPCAP)" : "");
      cap_free(n);
      return -1;
    }
  }
  /* The setresuid() that follows would otherwise clear the permitted set
   * of a process changing from uid 0 to a non-zero uid. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return cove_error(err, errno, "prctl(PR_SET_KEEPCAPS, 1)");
  return 0;
}

static bool cap_has(cap_t c, cap_flag_t flag, int v)
{
  cap_flag_value_t x = CAP_CLEAR;
  return cap_get_flag(c, (cap_value_t)v, flag, &x) == 0 && x == CAP_SET;
}

/* Which of a requested set the kernel will accept from this process.
 * capset() fails as a whole on one bad bit; the spec wants a warning for
 * what cannot be granted (say, a runtime without CAP_SYS_RESOURCE) and the
 * rest applied. */
enum grant_rule { GRANT_PERMITTED, GRANT_EFFECTIVE, GRANT_INHERITABLE };

static int fill(cap_t want, cap_t cur, cap_flag_t flag, enum grant_rule rule, const struct cove_capset *s,
                const struct cove_capset *prm, const char *name, int max, cove_err *err)
{
  for (size_t i = 0; i < s->n; i++) {
    int v = s->caps[i];
    if (v >= max) {
      warn_unsupported(name, v);
      continue;
    }
    switch (rule) {
    case GRANT_PERMITTED:
      if (!cap_has(cur, CAP_PERMITTED, v)) {
        warn_not_granted(name, v, "the runtime does not hold it");
        continue;
      }
      break;
    case GRANT_EFFECTIVE:
      if (!set_has(prm, v)) {
        warn_not_granted(name, v, "not in the permitted set");
        continue;
      }
      if (!cap_has(cur, CAP_PERMITTED, v)) {
        warn_not_granted(name, v, "the runtime does not hold it");
        continue;
      }
      break;
    case GRANT_INHERITABLE:
      if (!cap_has(cur, CAP_INHERITABLE, v) && prctl(PR_CAPBSET_READ, (unsigned long)v, 0, 0, 0) != 1) {
        warn_not_granted(name, v, "not in the bounding set");
        continue;
      }
      break;
    }
    cap_value_t cv = (cap_value_t)v;
    if (cap_set_flag(want, flag, 1, &cv, CAP_SET) < 0)
      return cove_error(err, errno, "process.capabilities.%s: cap_set_flag", name);
  }
  return 0;
}

int cove_caps_apply(const struct cove_caps *caps, cove_err *err)
{
  const struct cove_capset *eff = &empty_set, *prm = &empty_set, *inh = &empty_set, *amb = &empty_set;
  if (caps->present) {
    eff = &caps->effective;
    prm = &caps->permitted;
    inh = &caps->inheritable;
    amb = &caps->ambient;
  }
  int max = (int)cap_max_bits();

  cap_t cur = cap_get_proc();
  if (!cur)
    return cove_error(err, errno, "cap_get_proc");
  cap_t c = cap_init();
  if (!c) {
    cap_free(cur);
    return cove_error(err, errno, "cap_init");
  }
  int r = 0;
  if (fill(c, cur, CAP_PERMITTED, GRANT_PERMITTED, prm, prm, "permitted", max, err) < 0 ||
      fill(c, cur, CAP_EFFECTIVE, GRANT_EFFECTIVE, eff, prm, "effective", max, err) < 0 ||
      fill(c, cur, CAP_INHERITABLE, GRANT_INHERITABLE, inh, prm, "inheritable", max, err) < 0)
    r = -1;
  cap_free(cur);
  if (r < 0) {
    cap_free(c);
    return -1;
  }
  if (cap_set_proc(c) < 0) {
    int e = errno;
    cap_free(c);
    return cove_error(err, e, "process.capabilities: cannot set effective/permitted/inheritable");
  }
  cap_free(c);

  /* Ambient caps left over from the runtime must not leak in. */
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return cove_error(err, errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  for (size_t i = 0; i < amb->n; i++) {
    int v = amb->caps[i];
    if (v >= max) {
      warn_unsupported("ambient", v);
      continue;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)v, 0, 0) == 0)
      continue;
    int e = errno;
    char *n = cap_name(v);
    /* The kernel only allows ambient caps that are both permitted and
     * inheritable; a config asking otherwise gets less, not a failure. */
    if (e == EPERM && !(set_has(prm, v) && set_has(inh, v))) {
      cove_warn("process.capabilities.ambient: %s is not in both permitted and inheritable, skipping", n ? n : "?");
      cap_free(n);
      continue;
    }
    cove_error(err, e, "process.capabilities.ambient: raise %s", n ? n : "?");
    cap_free(n);
    return -1;
  }

  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return cove_error(err, errno, "prctl(PR_SET_KEEPCAPS, 0)");
  return 0;
}
