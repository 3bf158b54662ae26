/* Where a container's cgroups and each group of its limits go: a pure
 * decision over the host's hierarchies (cgroup_host.c), the resources and
 * linux.cgroupsPath, so it can be tested without root on any made-up host
 * (tests/unit/test_cgroup_route.c).
 *
 * Relative (and default) paths are resolved under the caller's own cgroup;
 * on v2 under its parent when the caller is not in the root cgroup,
 * because a cgroup that holds processes cannot give its children
 * controllers (the no-internal-process rule): the container's cgroup
 * becomes a sibling of the caller's. Absolute paths start at each
 * hierarchy's root, as config-linux.md says (and runc does). */
#include "cgroup_internal.h"

#include "cove/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Where each group of limits goes: its v2 controller when the container's
 * v2 cgroup can have it, else its v1 hierarchy. */
struct group {
  const char *field; /* "memory", "cpu", ... for messages */
  const char *v2;    /* v2 controller */
  int v1;            /* enum cove_cg_ctrl, -1 = none */
};
static const struct group groups[COVE_CG_R_COUNT] = {
  [COVE_CG_R_MEMORY] = {"memory", "memory", COVE_CG_MEMORY},
  [COVE_CG_R_CPU] = {"cpu", "cpu", COVE_CG_CPU},
  [COVE_CG_R_CPUSET] = {"cpu.cpus/mems", "cpuset", COVE_CG_CPUSET},
  [COVE_CG_R_PIDS] = {"pids", "pids", COVE_CG_PIDS},
  [COVE_CG_R_BLKIO] = {"blockIO", "io", COVE_CG_BLKIO},
  [COVE_CG_R_HUGETLB] = {"hugepageLimits", "hugetlb", COVE_CG_HUGETLB},
  [COVE_CG_R_RDMA] = {"rdma", "rdma", -1},
};

const char *cove_cg_group_field(enum cove_cg_group g)
{
  return groups[g].field;
}

const char *cove_cg_group_v2(enum cove_cg_group g)
{
  return groups[g].v2;
}

/* What helps a rootless user depends on the host: Delegate= means
 * nothing where systemd does not run, and nothing for cgroup v1. */
static const char *delegation_hint(bool v1)
{
  if (v1)
    return "cgroup v1 is never delegated to a user: rootless limits need a pure cgroup v2 host (e.g. "
           "systemd.unified_cgroup_hierarchy=1 on the kernel command line); or pass --cgroup-manager=disabled to run "
           "explicitly without limits";
  if (access("/run/systemd/system", F_OK) == 0)
    return "rootless limits need a cgroup v2 subtree delegated to your user: cove asks your user's systemd for one "
           "(a scope with Delegate=yes) when it can reach it through $DBUS_SESSION_BUS_ADDRESS or "
           "$XDG_RUNTIME_DIR/bus (a login session, or `loginctl enable-linger`); or run cove in "
           "`systemd-run --user --scope -p Delegate=yes cove ...`; or pass --cgroup-manager=disabled to run "
           "explicitly without limits";
  return "rootless limits need a cgroup v2 subtree delegated to your user, and no systemd runs here to delegate "
         "one: an administrator can make a cgroup v2 directory owned by your user (the directory, its cgroup.procs, "
         "cgroup.subtree_control and cgroup.threads) for cove to be started in, in a leaf below it; or pass "
         "--cgroup-manager=disabled to run explicitly without limits";
}

static void wanted(const struct cove_resources *r, bool w[COVE_CG_R_COUNT])
{
  w[COVE_CG_R_MEMORY] = r->mem_limit.set || r->mem_reservation.set || r->mem_swap.set || r->mem_kernel_tcp.set ||
                        r->mem_swappiness.set || (r->mem_disable_oom_killer_set && r->mem_disable_oom_killer);
  w[COVE_CG_R_CPU] = r->cpu_shares.set || r->cpu_period.set || r->cpu_burst.set || r->cpu_rt_period.set ||
                     r->cpu_quota.set || r->cpu_rt_runtime.set || r->cpu_idle.set;
  w[COVE_CG_R_CPUSET] = (r->cpu_cpus && *r->cpu_cpus) || (r->cpu_mems && *r->cpu_mems);
  w[COVE_CG_R_PIDS] = r->pids_limit.set;
  w[COVE_CG_R_BLKIO] = r->blkio_weight.set || r->blkio_leaf_weight.set || r->blkio_weight_dev.n ||
                       r->blkio_read_bps.n || r->blkio_write_bps.n || r->blkio_read_iops.n || r->blkio_write_iops.n;
  w[COVE_CG_R_HUGETLB] = r->n_hugepages > 0;
  w[COVE_CG_R_RDMA] = r->n_rdma > 0;
}

static void join_path(char *out, size_t cap, const char *a, const char *b)
{
  size_t la = strlen(a);
  while (la > 1 && a[la - 1] == '/')
    la--;
  while (*b == '/')
    b++;
  if (!*b)
    snprintf(out, cap, "%.*s", (int)la, a);
  else if (la == 1 && a[0] == '/')
    snprintf(out, cap, "/%s", b);
  else
    snprintf(out, cap, "%.*s/%s", (int)la, a, b);
}

/* runc's --systemd-cgroup form "slice:prefix:name" */
static bool systemd_path(const char *p)
{
  const char *a = strchr(p, ':');
  return a && strchr(a + 1, ':') && p[0] != '/';
}

/* linux.cgroupsPath → p->rel and p->absolute. */
static int place(const char *cgroups_path, const char *id, struct cove_cg_plan *p, cove_err *err)
{
  const char *cp = cgroups_path && *cgroups_path ? cgroups_path : NULL;
  if (cp && systemd_path(cp)) {
    cove_debug("linux.cgroupsPath \"%s\": systemd form, cove manages cgroupfs itself: using the default place", cp);
    cp = NULL;
  }
  if (cp && !strcmp(cp, "/"))
    return cove_error_kind(err, COVE_EK_INVALID_CONFIG, 0,
                           "config.json: linux.cgroupsPath: \"/\" is the root cgroup, not a container's");
  if (cp)
    snprintf(p->rel, sizeof p->rel, "%s", cp[0] == '/' ? cp + 1 : cp);
  else
    snprintf(p->rel, sizeof p->rel, "cove-%s", id);
  size_t l = strlen(p->rel);
  while (l > 1 && p->rel[l - 1] == '/')
    p->rel[--l] = 0;
  p->absolute = cp && cp[0] == '/';
  return 0;
}

/* The v2 base (where controllers are enabled from), leaf and offer. */
static void place_v2(const struct cove_cg_host *h, struct cove_cg_plan *p)
{
  char own[PATH_MAX];
  snprintf(own, sizeof own, "%s", h->v2.own);
  if (!p->absolute && strcmp(own, "/") != 0) {
    char *sl = strrchr(own, '/');
    if (sl == own)
      own[1] = 0;
    else
      *sl = 0;
  }
  join_path(p->v2base, sizeof p->v2base, h->v2.mnt, p->absolute ? "/" : own);
  join_path(p->v2leaf, sizeof p->v2leaf, p->v2base, p->rel);
  if (!h->controllers || h->controllers(p->v2base, p->avail, sizeof p->avail) < 0)
    p->avail[0] = 0;
  p->avail[strcspn(p->avail, "\n")] = 0;
  snprintf(p->why_v2, sizeof p->why_v2, "cgroup v2 at %s offers \"%.200s\"", p->v2base, p->avail);
}

/* Each wanted group to v2 if offered there, else to its v1 hierarchy. */
static int route_groups(const struct cove_cg_host *h, const struct cove_resources *r, struct cove_cg_plan *p,
                        cove_err *err)
{
  bool want[COVE_CG_R_COUNT];
  wanted(r, want);
  for (int k = 0; k < COVE_CG_R_COUNT; k++) {
    if (!want[k])
      continue;
    if (p->v2 && cove_cg_word_in(p->avail, groups[k].v2))
      p->to[k] = COVE_CG_TO_V2;
    else if (groups[k].v1 >= 0 && h->has_v1[groups[k].v1])
      p->to[k] = COVE_CG_TO_V1;
    else
      return cove_error_kind(err, COVE_EK_LIMITS, 0,
                             "config.json: linux.resources.%s: cannot be enforced: the %s controller is in no "
                             "cgroup hierarchy cove may use here (%s%s)",
                             groups[k].field, groups[k].v2, p->v2 ? p->why_v2 : "no cgroup v2 mounted",
                             groups[k].v1 >= 0 ? ", and no v1 hierarchy for it" : "");
    p->want_v2 |= p->to[k] == COVE_CG_TO_V2;
  }
  for (size_t i = 0; i < r->n_unified; i++) {
    const char *k = r->unified[i].key;
    char ctrl[64];
    snprintf(ctrl, sizeof ctrl, "%.*s", (int)(strchr(k, '.') - k), k);
    if (!p->v2)
      return cove_error_kind(err, COVE_EK_LIMITS, 0,
                             "config.json: linux.resources.unified.%s: needs cgroup v2, which is not mounted here", k);
    if (strcmp(ctrl, "cgroup") != 0 && !cove_cg_word_in(p->avail, ctrl))
      return cove_error_kind(err, COVE_EK_LIMITS, 0,
                             "config.json: linux.resources.unified.%s: the %s controller is not available in cgroup "
                             "v2 here (%s)", k, ctrl, p->why_v2);
  }
  p->want_v2 |= r->n_unified > 0;
  return 0;
}

int cove_cg_plan(const struct cove_cg_host *h, const struct cove_resources *r, const char *cgroups_path, const char *id,
                 struct cove_cg_plan *p, cove_err *err)
{
  memset(p, 0, sizeof *p);
  if (place(cgroups_path, id, p, err) < 0)
    return -1;
  p->v2 = h->has_v2;
  if (p->v2)
    place_v2(h, p);
  if (route_groups(h, r, p, err) < 0)
    return -1;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++) {
    if (!(p->v1[c] = h->has_v1[c]))
      continue;
    for (int k = 0; k < COVE_CG_R_COUNT; k++)
      if (p->to[k] == COVE_CG_TO_V1 && groups[k].v1 == c)
        p->v1_field[c] = groups[k].field;
    join_path(p->v1base[c], sizeof p->v1base[c], h->v1[c].mnt, p->absolute ? "/" : h->v1[c].own);
    join_path(p->v1leaf[c], sizeof p->v1leaf[c], p->v1base[c], p->rel);
  }
  return 0;
}

static bool denied(int code)
{
  return code == EACCES || code == EPERM || code == EROFS;
}

int cove_cg_unusable(const struct cove_cg_plan *p, int v1, const cove_err *why, bool rootless, cove_err *err)
{
  bool taken = why->kind == COVE_EK_EXISTS;
  bool needed = v1 < 0 ? p->want_v2 : p->v1_field[v1] != NULL;
  if (!taken && !needed) {
    if (v1 < 0)
      cove_debug("cgroup v2: not used: %s", why->msg);
    else
      cove_debug("cgroup v1 %s: not used: %s", cove_cg_ctrl_name(v1), why->msg);
    return 0;
  }
  if (!taken && rootless && denied(why->code)) {
    if (v1 < 0)
      return cove_error_kind(err, COVE_EK_LIMITS, 0,
                             "config.json: linux.resources: cannot be enforced: no writable cgroup for uid %u (%s); %s",
                             (unsigned)geteuid(), why->msg, delegation_hint(false));
    return cove_error_kind(err, COVE_EK_LIMITS, 0,
                           "config.json: linux.resources.%s: cannot be enforced: no writable %s cgroup for uid %u "
                           "(%s); %s", p->v1_field[v1], cove_cg_ctrl_name(v1), (unsigned)geteuid(), why->msg,
                           delegation_hint(true));
  }
  *err = *why;
  if (!taken)
    cove_err_set_kind(err, COVE_EK_LIMITS);
  if (v1 < 0 && !taken)
    return cove_error_prefix(err, "config.json: linux.resources (cgroup v2)");
  if (v1 >= 0)
    return cove_error_prefix(err, "config.json: linux.resources.%s (cgroup v1 %s)",
                             p->v1_field[v1] ? p->v1_field[v1] : "", cove_cg_ctrl_name(v1));
  return -1;
}

int cove_cg_none_usable(bool limits, bool rootless, cove_err *err)
{
  if (limits)
    return cove_error_kind(err, COVE_EK_LIMITS, 0,
                           "config.json: linux.resources: cannot be enforced: no cgroup hierarchy is writable%s%s",
                           rootless ? "; " : "", rootless ? delegation_hint(false) : "");
  cove_debug("no writable cgroup: the container runs without one (no limits were asked)");
  return 0;
}
