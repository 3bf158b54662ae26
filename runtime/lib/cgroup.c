/* Where the container's cgroups go, creating, entering and removing them.
 *
 * Hierarchies come from /proc/self/mountinfo (cgroup2 mount; cgroup v1
 * mounts and their controllers), the caller's own place in each from
 * /proc/self/cgroup. Relative (and default) paths are resolved under the
 * caller's own cgroup; on v2 under its parent when the caller is not in the
 * root cgroup, because a cgroup that holds processes cannot give its
 * children controllers (the no-internal-process rule): the container's
 * cgroup becomes a sibling of the caller's. */
#include "cove/cgroup.h"

#include "cove/cleanup.h"
#include "cove/log.h"
#include "cove/spec.h"
#include "cove/state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *const v1_names[COVE_CG_V1_COUNT] = {
  [COVE_CG_MEMORY] = "memory", [COVE_CG_CPU] = "cpu",         [COVE_CG_CPUACCT] = "cpuacct",
  [COVE_CG_CPUSET] = "cpuset", [COVE_CG_PIDS] = "pids",       [COVE_CG_BLKIO] = "blkio",
  [COVE_CG_FREEZER] = "freezer", [COVE_CG_HUGETLB] = "hugetlb",   [COVE_CG_DEVICES] = "devices",
};

const char *cove_cg_ctrl_name(enum cove_cg_ctrl c)
{
  return v1_names[c];
}

/* ------------------------------------------------------------ file I/O */

int cove_cg_write(const char *dir, const char *file, const char *val, cove_err *err)
{
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return cove_error(err, errno, "open %s", p);
  size_t n = strlen(val);
  ssize_t w = write(fd, val, n);
  if (w < 0)
    return cove_error(err, errno, "write \"%s\" to %s", val, p);
  if ((size_t)w != n)
    return cove_error(err, EIO, "short write to %s", p);
  return 0;
}

int cove_cg_read(const char *dir, const char *file, char *buf, size_t cap)
{
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0 || len + (size_t)n >= cap - 1) {
      len += (size_t)(n > 0 ? n : 0);
      break;
    }
    len += (size_t)n;
  }
  buf[len] = 0;
  return (int)len;
}

bool cove_cg_exists(const char *dir, const char *file)
{
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  return access(p, F_OK) == 0;
}

static bool word_in(const char *list, const char *w)
{
  size_t l = strlen(w);
  for (const char *p = list; (p = strstr(p, w)); p += l)
    if ((p == list || p[-1] == ' ' || p[-1] == '\n' || p[-1] == ',') &&
        (p[l] == 0 || p[l] == ' ' || p[l] == '\n' || p[l] == ','))
      return true;
  return false;
}

/* ---------------------------------------------------- host discovery */

struct hier {
  char mnt[PATH_MAX];  /* mount point */
  char own[PATH_MAX];  /* our cgroup in it ("/..." ) */
};

struct host {
  bool has_v2;
  struct hier v2;
  bool has_v1[COVE_CG_V1_COUNT];
  struct hier v1[COVE_CG_V1_COUNT];
};

static void unescape_mount(char *s)
{
  char *o = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] && p[3]) {
      *o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
      p += 3;
    } else {
      *o++ = *p;
    }
  }
  *o = 0;
}

static int discover(struct host *h, cove_err *err)
{
  memset(h, 0, sizeof *h);
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return cove_error(err, errno, "/proc/self/mountinfo");
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
    char *sep = strstr(line, " - ");
    if (!sep)
      continue;
    char root[PATH_MAX], mnt[PATH_MAX], fstype[64], src[256], sopts[1024] = "";
    if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
      continue;
    if (sscanf(sep + 3, "%63s %255s %1023s", fstype, src, sopts) < 2)
      continue;
    unescape_mount(mnt);
    if (!strcmp(fstype, "cgroup2")) {
      if (!h->has_v2) {
        h->has_v2 = true;
        snprintf(h->v2.mnt, sizeof h->v2.mnt, "%s", mnt);
      }
    } else if (!strcmp(fstype, "cgroup")) {
      for (int c = 0; c < COVE_CG_V1_COUNT; c++)
        if (!h->has_v1[c] && word_in(sopts, v1_names[c])) {
          h->has_v1[c] = true;
          snprintf(h->v1[c].mnt, sizeof h->v1[c].mnt, "%s", mnt);
        }
    }
  }
  free(line);

  _cleanup_fclose_ FILE *g = fopen("/proc/self/cgroup", "re");
  if (!g)
    return cove_error(err, errno, "/proc/self/cgroup");
  line = NULL;
  cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, g)) > 0) {
    if (line[n - 1] == '\n')
      line[n - 1] = 0;
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = 0;
    const char *ctrls = c1 + 1, *path = c2 + 1;
    if (!*ctrls) {
      snprintf(h->v2.own, sizeof h->v2.own, "%s", path);
      continue;
    }
    for (int c = 0; c < COVE_CG_V1_COUNT; c++)
      if (word_in(ctrls, v1_names[c]))
        snprintf(h->v1[c].own, sizeof h->v1[c].own, "%s", path);
  }
  free(line);
  /* A hierarchy we are not listed in (or seen through a cgroup namespace
   * as "/.." paths) is not one we can place anything under safely. */
  if (h->has_v2 && (!h->v2.own[0] || strstr(h->v2.own, "/..")))
    h->has_v2 = false;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (h->has_v1[c] && (!h->v1[c].own[0] || strstr(h->v1[c].own, "/..")))
      h->has_v1[c] = false;
  return 0;
}

/* --------------------------------------------------------- utilities */

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

static void strip_trailing(char *p)
{
  size_t l = strlen(p);
  while (l > 1 && p[l - 1] == '/')
    p[--l] = 0;
}

static bool under(const char *path, const char *prefix)
{
  size_t l = strlen(prefix);
  if (l == 1 && prefix[0] == '/')
    return path[0] == '/';
  return !strncmp(path, prefix, l) && (path[l] == 0 || path[l] == '/');
}

static bool cg_has_procs(const char *dir)
{
  char b[64];
  return cove_cg_read(dir, "cgroup.procs", b, sizeof b) > 0;
}

static int remember(struct cove_cgroup *cg, const char *dir, cove_err *err)
{
  if (cg->n_made >= COVE_CG_MAX_MADE)
    return cove_error(err, E2BIG, "linux.cgroupsPath: too many cgroup directories");
  if (!(cg->made[cg->n_made] = strdup(dir)))
    return cove_error(err, ENOMEM, "cgroup");
  cg->n_made++;
  return 0;
}

/* mkdir -p of `leaf` below the existing `base`, recording what we make.
 * The leaf may exist only if it is empty (then it is joined, not owned). */
static int make_dirs(struct cove_cgroup *cg, const char *base, const char *leaf, cove_err *err)
{
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s", leaf);
  size_t bl = strlen(base);
  for (char *s = p + bl + 1; ; s++) {
    bool last = *s == 0;
    if (*s != '/' && !last)
      continue;
    *s = 0;
    if (mkdir(p, 0755) == 0) {
      if (remember(cg, p, err) < 0)
        return -1;
    } else if (errno != EEXIST) {
      return cove_error(err, errno, "mkdir %s", p);
    } else if (last && cg_has_procs(p)) {
      return cove_error(err, EEXIST, "linux.cgroupsPath: cgroup %s already exists and has processes", p);
    }
    if (last)
      break;
    *s = '/';
  }
  return 0;
}

/* ------------------------------------------------------- routing */

/* Where each group of limits goes: its v2 controller when the container's
 * v2 cgroup can have it, else its v1 hierarchy. */
struct route {
  const char *field; /* "memory", "cpu", ... for messages */
  const char *v2;    /* v2 controller */
  int v1;            /* enum cove_cg_ctrl, -1 = none */
};
enum { R_MEMORY, R_CPU, R_CPUSET, R_PIDS, R_BLKIO, R_HUGETLB, R_RDMA, R_COUNT };
static const struct route routes[R_COUNT] = {
  [R_MEMORY] = {"memory", "memory", COVE_CG_MEMORY}, [R_CPU] = {"cpu", "cpu", COVE_CG_CPU},
  [R_CPUSET] = {"cpu.cpus/mems", "cpuset", COVE_CG_CPUSET}, [R_PIDS] = {"pids", "pids", COVE_CG_PIDS},
  [R_BLKIO] = {"blockIO", "io", COVE_CG_BLKIO},      [R_HUGETLB] = {"hugepageLimits", "hugetlb", COVE_CG_HUGETLB},
  [R_RDMA] = {"rdma", "rdma", -1},
};

static void wanted_routes(const struct cove_resources *r, bool w[R_COUNT])
{
  w[R_MEMORY] = r->mem_limit.set || r->mem_reservation.set || r->mem_swap.set || r->mem_kernel_tcp.set || r->mem_swappiness.set || (r->mem_disable_oom_killer_set && r->mem_disable_oom_killer);
  w[R_CPU] = r->cpu_shares.set || r->cpu_period.set || r->cpu_burst.set || r->cpu_rt_period.set || r->cpu_quota.set ||
             r->cpu_rt_runtime.set || r->cpu_idle.set;
  w[R_CPUSET] = (r->cpu_cpus && *r->cpu_cpus) || (r->cpu_mems && *r->cpu_mems);
  w[R_PIDS] = r->pids_limit.set;
  w[R_BLKIO] = r->blkio_weight.set || r->blkio_leaf_weight.set || r->blkio_weight_dev.n || r->blkio_read_bps.n ||
               r->blkio_write_bps.n || r->blkio_read_iops.n || r->blkio_write_iops.n;
  w[R_HUGETLB] = r->n_hugepages > 0;
  w[R_RDMA] = r->n_rdma > 0;
}

static const char delegation_hint[] =
  "rootless limits need a cgroup v2 subtree delegated to your user: run cove inside e.g. "
  "`systemd-run --user --scope -p Delegate=yes cove ...` (or a unit with Delegate=yes), "
  "or pass --cgroup-manager=disabled to run explicitly without limits";

/* Enable `ctrl` in every cgroup from `base` down to the leaf's parent. */
static int enable_ctrl(const char *base, const char *leaf, const char *ctrl, cove_err *err)
{
  char p[PATH_MAX], plus[64];
  snprintf(p, sizeof p, "%s", leaf);
  snprintf(plus, sizeof plus, "+%s", ctrl);
  size_t bl = strlen(base);
  /* walk: base, base/a, base/a/b ... excluding the leaf */
  char *s = p + bl;
  for (;;) {
    char save = *s;
    *s = 0;
    char cur[PATH_MAX];
    snprintf(cur, sizeof cur, "%s", p);
    *s = save;
    if (!*s)
      break; /* cur is the leaf */
    char sc[512];
    if (cove_cg_read(cur, "cgroup.subtree_control", sc, sizeof sc) < 0 || !word_in(sc, ctrl)) {
      if (cove_cg_write(cur, "cgroup.subtree_control", plus, err) < 0) {
        if (err->code == EBUSY)
          return cove_error_prefix(err, "cgroup v2 forbids enabling controllers in a cgroup that has processes "
                                        "(run cove from a leaf cgroup whose parent it may manage)");
        return -1;
      }
    }
    s = strchr(s + 1, '/');
    if (!s)
      s = p + strlen(p);
  }
  return 0;
}

static int systemd_path(const char *p)
{
  /* runc's --systemd-cgroup form "slice:prefix:name" */
  const char *a = strchr(p, ':');
  return a && strchr(a + 1, ':') && p[0] != '/';
}

int cove_cgroup_setup(struct cove_cgroup *cg, const struct cove_spec *spec, const char *id, enum cove_cg_manager mgr,
                      cove_err *err)
{
  memset(cg, 0, sizeof *cg);
  const struct cove_resources *r = &spec->res;
  bool limits = cove_resources_has_limits(r);
  if (mgr == COVE_CG_MANAGER_DISABLED) {
    if (limits || r->n_devices)
      cove_log(COVE_LOG_WARN, "linux.resources: limits NOT enforced: --cgroup-manager=disabled");
    return 0;
  }
  if (r->has_network)
    return cove_error(err, 0, "config.json: linux.resources.network: net_cls/net_prio (classID, priorities) are not "
                              "supported (no such controller in cgroup v2)");
  if (r->mem_kernel.set)
    cove_log(COVE_LOG_WARN, "linux.resources.memory.kernel: ignored (kernel memory limits are deprecated; the kernel "
                            "charges kernel memory to memory.limit)");

  struct host h;
  if (discover(&h, err) < 0)
    return -1;
  bool rootless = geteuid() != 0 || cove_in_partial_userns();
  const char *cp = spec->cgroups_path && *spec->cgroups_path ? spec->cgroups_path : NULL;
  if (cp && systemd_path(cp)) {
    cove_debug("linux.cgroupsPath \"%s\": systemd form, cove manages cgroupfs itself: using the default place", cp);
    cp = NULL;
  }
  if (cp && !strcmp(cp, "/"))
    return cove_error(err, 0, "config.json: linux.cgroupsPath: \"/\" is the root cgroup, not a container's");
  char rel[PATH_MAX];
  if (cp)
    snprintf(rel, sizeof rel, "%s", cp[0] == '/' ? cp + 1 : cp);
  else
    snprintf(rel, sizeof rel, "cove-%s", id);
  strip_trailing(rel);
  bool absolute = cp && cp[0] == '/';

  bool want[R_COUNT];
  wanted_routes(r, want);
  bool want_v2 = r->n_unified > 0;
  int route_to[R_COUNT]; /* 2 = v2, 1 = v1, 0 = nowhere */
  memset(route_to, 0, sizeof route_to);
  char why_v2[512] = "";

  /* v2: base, leaf, what can be enabled there */
  char v2base[PATH_MAX] = "", v2leaf[PATH_MAX] = "", avail[512] = "";
  if (h.has_v2) {
    char own[PATH_MAX];
    snprintf(own, sizeof own, "%s", h.v2.own);
    if (!absolute && strcmp(own, "/") != 0) {
      char *sl = strrchr(own, '/');
      if (sl == own)
        own[1] = 0;
      else
        *sl = 0;
    }
    join_path(v2base, sizeof v2base, h.v2.mnt, absolute ? "/" : own);
    join_path(v2leaf, sizeof v2leaf, v2base, rel);
    if (cove_cg_read(v2base, "cgroup.controllers", avail, sizeof avail) < 0)
      avail[0] = 0;
    snprintf(why_v2, sizeof why_v2, "cgroup v2 at %s offers \"%.200s\"", v2base, strtok(avail, "\n") ? avail : "");
  }
  for (int k = 0; k < R_COUNT; k++) {
    if (!want[k])
      continue;
    if (h.has_v2 && word_in(avail, routes[k].v2))
      route_to[k] = 2;
    else if (routes[k].v1 >= 0 && h.has_v1[routes[k].v1])
      route_to[k] = 1;
    else
      return cove_error_kind(err, COVE_EK_LIMITS, 0, "config.json: linux.resources.%s: cannot be enforced: the %s controller is in no "
                                "cgroup hierarchy cove may use here (%s%s)",
                        routes[k].field, routes[k].v2, h.has_v2 ? why_v2 : "no cgroup v2 mounted",
                        routes[k].v1 >= 0 ? ", and no v1 hierarchy for it" : "");
    want_v2 |= route_to[k] == 2;
  }
  for (size_t i = 0; i < r->n_unified; i++) {
    const char *k = r->unified[i].key;
    char ctrl[64];
    snprintf(ctrl, sizeof ctrl, "%.*s", (int)(strchr(k, '.') - k), k);
    if (!h.has_v2)
      return cove_error(err, 0, "config.json: linux.resources.unified.%s: needs cgroup v2, which is not mounted here", k);
    if (strcmp(ctrl, "cgroup") != 0 && !word_in(avail, ctrl))
      return cove_error(err, 0, "config.json: linux.resources.unified.%s: the %s controller is not available in cgroup v2 "
                                "here (%s)", k, ctrl, why_v2);
  }

  int ret = -1;
  /* v2 directory */
  if (h.has_v2) {
    cove_err e = {0};
    struct stat sb;
    if (stat(v2base, &sb) < 0) {
      cove_error(&e, errno, "%s", v2base);
    } else if (make_dirs(cg, v2base, v2leaf, &e) == 0) {
      snprintf(cg->v2, sizeof cg->v2, "%s", v2leaf);
    }
    if (!cg->v2[0]) {
      if (e.code == EEXIST && strstr(e.msg, "cgroupsPath")) {
        *err = e;
        goto fail;
      }
      if (want_v2) {
        if (rootless && (e.code == EACCES || e.code == EPERM || e.code == EROFS)) {
          cove_error_kind(err, COVE_EK_LIMITS, 0, "config.json: linux.resources: cannot be enforced: no writable cgroup for uid %u (%s); %s",
                     (unsigned)geteuid(), e.msg, delegation_hint);
        } else {
          *err = e;
          cove_error_prefix(err, "config.json: linux.resources (cgroup v2)");
        }
        goto fail;
      }
      cove_debug("cgroup v2: not used: %s", e.msg);
    }
  }
  /* v1 directories: every mounted controller cove knows (stats, freezer),
   * required only where a limit is routed */
  for (int c = 0; c < COVE_CG_V1_COUNT; c++) {
    if (!h.has_v1[c])
      continue;
    bool needed = false;
    const char *field = "";
    for (int k = 0; k < R_COUNT; k++)
      if (route_to[k] == 1 && routes[k].v1 == c) {
        needed = true;
        field = routes[k].field;
      }
    char base[PATH_MAX], leaf[PATH_MAX];
    /* absolute: from the hierarchy's root, as config-linux.md says (and
     * runc does); relative: under our own cgroup */
    join_path(base, sizeof base, h.v1[c].mnt, absolute ? "/" : h.v1[c].own);
    join_path(leaf, sizeof leaf, base, rel);
    cove_err e = {0};
    if (make_dirs(cg, base, leaf, &e) < 0) {
      if (needed || (e.code == EEXIST && strstr(e.msg, "cgroupsPath"))) {
        if (rootless && (e.code == EACCES || e.code == EPERM || e.code == EROFS))
          cove_error_kind(err, COVE_EK_LIMITS, 0, "config.json: linux.resources.%s: cannot be enforced: no writable %s cgroup for uid %u (%s); %s",
                     field, v1_names[c], (unsigned)geteuid(), e.msg, delegation_hint);
        else {
          *err = e;
          cove_error_prefix(err, "config.json: linux.resources.%s (cgroup v1 %s)", field, v1_names[c]);
        }
        goto fail;
      }
      cove_debug("cgroup v1 %s: not used: %s", v1_names[c], e.msg);
      continue;
    }
    if (c == COVE_CG_CPUSET) {
      /* A new v1 cpuset starts with no cpus and no mems: a process cannot
       * even join it. Inherit the parent's along the made path. */
      char cpus[4096], mems[4096];
      if (cove_cg_read(base, "cpuset.cpus", cpus, sizeof cpus) >= 0 &&
          cove_cg_read(base, "cpuset.mems", mems, sizeof mems) >= 0) {
        for (size_t i = 0; i < cg->n_made; i++)
          if (under(cg->made[i], base) && strcmp(cg->made[i], base)) {
            char cur[128];
            cpus[strcspn(cpus, "\n")] = 0;
            mems[strcspn(mems, "\n")] = 0;
            if (cove_cg_read(cg->made[i], "cpuset.cpus", cur, sizeof cur) >= 0 && (cur[0] == '\n' || !cur[0]) &&
                (cove_cg_write(cg->made[i], "cpuset.cpus", cpus, &e) < 0 ||
                 cove_cg_write(cg->made[i], "cpuset.mems", mems, &e) < 0)) {
              if (needed) {
                *err = e;
                goto fail;
              }
            }
          }
      }
    }
    snprintf(cg->v1[c], sizeof cg->v1[c], "%s", leaf);
  }
  cg->active = cg->v2[0] != 0;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    cg->active |= cg->v1[c][0] != 0;
  if (!cg->active) {
    if (limits) {
      cove_error_kind(err, COVE_EK_LIMITS, 0, "config.json: linux.resources: cannot be enforced: no cgroup hierarchy is writable%s%s",
                 rootless ? "; " : "", rootless ? delegation_hint : "");
      goto fail;
    }
    cove_debug("no writable cgroup: the container runs without one (no limits were asked)");
    return 0;
  }

  /* controllers for the v2 leaf */
  if (cg->v2[0]) {
    for (int k = 0; k < R_COUNT; k++)
      if (route_to[k] == 2 && enable_ctrl(v2base, cg->v2, routes[k].v2, err) < 0) {
        cove_error_prefix(err, "config.json: linux.resources.%s: enable the %s controller", routes[k].field, routes[k].v2);
        goto fail;
      }
    for (size_t i = 0; i < r->n_unified; i++) {
      const char *k = r->unified[i].key;
      char ctrl[64];
      snprintf(ctrl, sizeof ctrl, "%.*s", (int)(strchr(k, '.') - k), k);
      if (strcmp(ctrl, "cgroup") && enable_ctrl(v2base, cg->v2, ctrl, err) < 0) {
        cove_error_prefix(err, "config.json: linux.resources.unified.%s: enable the %s controller", k, ctrl);
        goto fail;
      }
    }
    /* Best effort, for stats (memory peak, pids) on pure v2 hosts. */
    if (!h.has_v1[COVE_CG_MEMORY])
      for (const char *const *c = (const char *const[]){"memory", "pids", NULL}; *c; c++) {
        cove_err e;
        if (word_in(avail, *c) && enable_ctrl(v2base, cg->v2, *c, &e) < 0)
          cove_debug("cgroup v2: %s not enabled: %s", *c, e.msg);
      }
  }
  if (cove_cgroup_apply(cg, r, false, err) < 0 || cove_cg_devices_apply(cg, r, rootless, err) < 0) {
    cove_error_prefix(err, "config.json");
    goto fail;
  }
  return 0;

fail: {
  cove_err e2;
  cove_cgroup_destroy(cg, &e2);
  cg->active = false;
}
  return ret;
}

/* ------------------------------------------------------------ apply */

int cove_cgroup_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool update, cove_err *err)
{
  if (!cg->active)
    return cove_resources_has_limits(r) ? cove_error(err, 0, "the container has no cgroup (created without one)") : 0;
  if (cg->v2[0] && cove_cg_v2_apply(cg->v2, r, update, err) < 0)
    return -1;
  return cove_cg_v1_apply(cg, r, update, err);
}

/* ------------------------------------------------------------ enter */

int cove_cgroup_v2_fd(const struct cove_cgroup *cg)
{
  if (!cg->active || !cg->v2[0])
    return -1;
  return open(cg->v2, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int cove_cgroup_enter(const struct cove_cgroup *cg, pid_t pid, bool skip_v2, cove_err *err)
{
  if (!cg->active)
    return 0;
  char b[32];
  snprintf(b, sizeof b, "%d", (int)pid);
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (cg->v1[c][0] && cove_cg_write(cg->v1[c], "cgroup.procs", b, err) < 0)
      return cove_error_prefix(err, "place the container in its %s cgroup", v1_names[c]);
  if (cg->v2[0] && !skip_v2 && cove_cg_write(cg->v2, "cgroup.procs", b, err) < 0)
    return cove_error_prefix(err, "place the container in its cgroup");
  return 0;
}

/* ------------------------------------------------- signal, freeze, ps */

/* The directory whose cgroup.procs lists the container's processes. */
static const char *procs_dir(const struct cove_cgroup *cg)
{
  if (cg->v2[0])
    return cg->v2;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (cg->v1[c][0])
      return cg->v1[c];
  return NULL;
}

int cove_cgroup_pids(const struct cove_cgroup *cg, pid_t **pids, size_t *n, cove_err *err)
{
  *pids = NULL;
  *n = 0;
  const char *d = procs_dir(cg);
  if (!d)
    return cove_error(err, 0, "the container has no cgroup");
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/cgroup.procs", d);
  _cleanup_fclose_ FILE *f = fopen(p, "re");
  if (!f)
    return cove_error(err, errno, "%s", p);
  size_t cap = 0;
  long v;
  while (fscanf(f, "%ld", &v) == 1) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      pid_t *np = realloc(*pids, cap * sizeof **pids);
      if (!np) {
        free(*pids);
        *pids = NULL;
        return cove_error(err, ENOMEM, "cgroup.procs");
      }
      *pids = np;
    }
    (*pids)[(*n)++] = (pid_t)v;
  }
  return 0;
}

int cove_cgroup_frozen(const struct cove_cgroup *cg)
{
  char b[256];
  if (cg->v2[0] && cove_cg_read(cg->v2, "cgroup.freeze", b, sizeof b) > 0)
    return b[0] == '1';
  if (cg->v1[COVE_CG_FREEZER][0] && cove_cg_read(cg->v1[COVE_CG_FREEZER], "freezer.state", b, sizeof b) > 0)
    return strncmp(b, "THAWED", 6) != 0;
  return -1;
}

static int sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  return nanosleep(&ts, NULL);
}

int cove_cgroup_freeze(const struct cove_cgroup *cg, bool freeze, cove_err *err)
{
  if (cg->v2[0] && cove_cg_exists(cg->v2, "cgroup.freeze")) {
    if (cove_cg_write(cg->v2, "cgroup.freeze", freeze ? "1" : "0", err) < 0)
      return -1;
    /* cgroup.events says when every task has actually stopped */
    for (int i = 0; i < 500; i++) {
      char ev[512];
      if (cove_cg_read(cg->v2, "cgroup.events", ev, sizeof ev) < 0)
        break;
      char *f = strstr(ev, "frozen ");
      if (!f || (f[7] == '1') == freeze)
        return 0;
      sleep_ms(10);
    }
    return cove_error(err, ETIMEDOUT, "%s the cgroup %s", freeze ? "freeze" : "thaw", cg->v2);
  }
  const char *fz = cg->v1[COVE_CG_FREEZER];
  if (!fz[0])
    return cove_error(err, ENOTSUP, "no freezer: the container has no cgroup v2 directory and no v1 freezer cgroup");
  for (int i = 0; i < 500; i++) {
    if (cove_cg_write(fz, "freezer.state", freeze ? "FROZEN" : "THAWED", err) < 0)
      return -1;
    char b[64];
    if (cove_cg_read(fz, "freezer.state", b, sizeof b) > 0 && !strncmp(b, freeze ? "FROZEN" : "THAWED", 6))
      return 0;
    sleep_ms(10);
  }
  return cove_error(err, ETIMEDOUT, "%s %s", freeze ? "freeze" : "thaw", fz);
}

int cove_cgroup_signal_all(const struct cove_cgroup *cg, int sig, cove_err *err)
{
  if (!cg->active)
    return cove_error(err, 0, "the container has no cgroup");
  if (sig == SIGKILL && cg->v2[0] && cove_cg_exists(cg->v2, "cgroup.kill"))
    return cove_cg_write(cg->v2, "cgroup.kill", "1", err);
  /* Without cgroup.kill a forking process could outrun a pid-by-pid kill:
   * freeze first where we can, signal, thaw. */
  bool froze = false;
  if (sig == SIGKILL && cove_cgroup_frozen(cg) == 0) {
    cove_err e;
    froze = cove_cgroup_freeze(cg, true, &e) == 0;
  }
  pid_t *pids;
  size_t n;
  int r = cove_cgroup_pids(cg, &pids, &n, err);
  if (r == 0) {
    for (size_t i = 0; i < n; i++) {
      /* pidfd: the pid cannot be reused between reading and signalling
       * while it is still listed in our cgroup */
      int fd = (int)syscall(SYS_pidfd_open, pids[i], 0);
      if (fd >= 0) {
        syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
        close(fd);
      }
    }
    free(pids);
  }
  if (froze || (sig == SIGKILL && cove_cgroup_frozen(cg) == 1)) {
    cove_err e;
    cove_cgroup_freeze(cg, false, &e);
  }
  return r;
}

/* ---------------------------------------------------------- destroy */

static bool is_leaf(const struct cove_cgroup *cg, const char *p)
{
  if (!strcmp(cg->v2, p))
    return true;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (!strcmp(cg->v1[c], p))
      return true;
  return false;
}

int cove_cgroup_destroy(struct cove_cgroup *cg, cove_err *err)
{
  int ret = 0;
  if (procs_dir(cg)) {
    cove_err e;
    for (int i = 0; i < 200; i++) {
      const char *d = procs_dir(cg);
      if (!cg_has_procs(d))
        break;
      cove_cgroup_signal_all(cg, SIGKILL, &e);
      sleep_ms(i < 20 ? 5 : 20);
    }
    if (cove_cgroup_frozen(cg) == 1)
      cove_cgroup_freeze(cg, false, &e);
  }
  for (size_t i = cg->n_made; i-- > 0;) {
    bool leaf = is_leaf(cg, cg->made[i]);
    int tries = leaf ? 100 : 1;
    int r;
    /* A killed task leaves its cgroup only once it is fully gone. */
    while ((r = rmdir(cg->made[i])) < 0 && errno == EBUSY && --tries > 0)
      sleep_ms(10);
    if (r < 0 && errno != ENOENT && leaf && ret == 0)
      ret = cove_error(err, errno, "remove cgroup %s", cg->made[i]);
    free(cg->made[i]);
    cg->made[i] = NULL;
  }
  cg->n_made = 0;
  return ret;
}

void cove_cgroup_release(struct cove_cgroup *cg)
{
  for (size_t i = 0; i < cg->n_made; i++)
    free(cg->made[i]);
  cg->n_made = 0;
}

/* ------------------------------------------------------ persistence */

int cove_cgroup_save(int dirfd, const struct cove_cgroup *cg, cove_err *err)
{
  if (!cg->active)
    return 0;
  _cleanup_close_ int fd = openat(dirfd, "cgroup.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return cove_error(err, errno, "write cgroup record");
  FILE *f = fdopen(fd, "w");
  if (!f)
    return cove_error(err, errno, "write cgroup record");
  fd = -1;
  if (cg->v2[0])
    fprintf(f, "v2 %s\n", cg->v2);
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (cg->v1[c][0])
      fprintf(f, "%s %s\n", v1_names[c], cg->v1[c]);
  for (size_t i = 0; i < cg->n_made; i++)
    fprintf(f, "made %s\n", cg->made[i]);
  if (fclose(f) != 0)
    return cove_error(err, errno, "write cgroup record");
  if (renameat(dirfd, "cgroup.tmp", dirfd, "cgroup") < 0)
    return cove_error(err, errno, "write cgroup record");
  return 0;
}

int cove_cgroup_load(int dirfd, struct cove_cgroup *cg, cove_err *err)
{
  memset(cg, 0, sizeof *cg);
  _cleanup_close_ int fd = openat(dirfd, "cgroup", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT)
      return 0;
    return cove_error(err, errno, "read cgroup record");
  }
  FILE *f = fdopen(fd, "r");
  if (!f)
    return cove_error(err, errno, "read cgroup record");
  fd = -1;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] == '\n')
      line[n - 1] = 0;
    char *sp = strchr(line, ' ');
    if (!sp || sp[1] != '/')
      continue;
    *sp = 0;
    const char *path = sp + 1;
    /* only ever act on cgroup filesystem paths */
    if (strncmp(path, "/sys/fs/cgroup", 14) != 0 && !strstr(path, "cgroup"))
      continue;
    if (!strcmp(line, "v2"))
      snprintf(cg->v2, sizeof cg->v2, "%s", path);
    else if (!strcmp(line, "made") && cg->n_made < COVE_CG_MAX_MADE && (cg->made[cg->n_made] = strdup(path)))
      cg->n_made++;
    else
      for (int c = 0; c < COVE_CG_V1_COUNT; c++)
        if (!strcmp(line, v1_names[c]))
          snprintf(cg->v1[c], sizeof cg->v1[c], "%s", path);
  }
  free(line);
  fclose(f);
  cg->active = cg->v2[0] != 0;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    cg->active |= cg->v1[c][0] != 0;
  return 0;
}

void cove_cgroup_forget(int dirfd)
{
  unlinkat(dirfd, "cgroup", 0);
  unlinkat(dirfd, "cgroup.tmp", 0);
}

bool cove_cgroup_state_frozen(int dirfd)
{
  struct cove_cgroup cg;
  cove_err e;
  if (cove_cgroup_load(dirfd, &cg, &e) < 0 || !cg.active) {
    cove_cgroup_release(&cg);
    return false;
  }
  bool fz = cove_cgroup_frozen(&cg) == 1;
  cove_cgroup_release(&cg);
  return fz;
}
