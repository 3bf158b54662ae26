/* The container's cgroups: setup (carrying out cove_cg_plan), the record
 * in the state directory, and the public entry points, which hand each
 * operation to the container's manager (cgroup_internal.h; v2, hybrid and
 * disabled in cgroup_fs.c, systemd in cgroup_systemd.c). */
#include "cgroup_internal.h"

#include "cove/cleanup.h"
#include "cove/log.h"
#include "cove/spec.h"
#include "cgroup_frozen.h"
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int cove_cg_put(const char *dir, const char *file, const char *field, const char *missing, cove_err *err,
                const char *fmt, ...)
{
  if (missing && !cove_cg_exists(dir, file))
    return cove_cg_cannot(err, "linux.resources.%s: %s", field, missing);
  char b[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  if (cove_cg_write(dir, file, b, err) < 0)
    return cove_error_prefix(err, "linux.resources.%s", field);
  return 0;
}

bool cove_cg_exists(const char *dir, const char *file)
{
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  return access(p, F_OK) == 0;
}

bool cove_cg_has_procs(const char *dir)
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
    } else if (last && cove_cg_has_procs(p)) {
      return cove_error_kind(err, COVE_EK_EXISTS, EEXIST, "linux.cgroupsPath: cgroup %s already exists and has processes",
                             p);
    }
    if (last)
      break;
    *s = '/';
  }
  return 0;
}

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
    if (cove_cg_read(cur, "cgroup.subtree_control", sc, sizeof sc) < 0 || !cove_cg_word_in(sc, ctrl)) {
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

/* ------------------------------------------------------------ setup */

/* Refusals and warnings that need no host look-up. */
static int precheck(const struct cove_resources *r, cove_err *err)
{
  if (r->has_network)
    return cove_error_kind(err, COVE_EK_LIMITS, 0,
                           "config.json: linux.resources.network: net_cls/net_prio (classID, priorities) are not "
                           "supported (no such controller in cgroup v2)");
  if (r->mem_kernel.set)
    cove_log(COVE_LOG_WARN, "linux.resources.memory.kernel: ignored (kernel memory limits are deprecated; the kernel "
                            "charges kernel memory to memory.limit)");
  return 0;
}

/* The v2 directory, when v2 is mounted; kept out of the way when it
 * cannot be made and nothing needs it. */
static int make_v2(struct cove_cgroup *cg, const struct cove_cg_plan *p, bool rootless, cove_err *err)
{
  if (!p->v2)
    return 0;
  cove_err e = {0};
  struct stat sb;
  if (stat(p->v2base, &sb) < 0)
    cove_error(&e, errno, "%s", p->v2base);
  else if (make_dirs(cg, p->v2base, p->v2leaf, &e) == 0)
    snprintf(cg->v2, sizeof cg->v2, "%s", p->v2leaf);
  if (cg->v2[0])
    return 0;
  return cove_cg_unusable(p, -1, &e, rootless, err);
}

/* v1 directories: every mounted controller cove knows (stats, freezer),
 * required only where a limit is routed. */
static int make_v1(struct cove_cgroup *cg, const struct cove_cg_plan *p, bool rootless, cove_err *err)
{
  for (int c = 0; c < COVE_CG_V1_COUNT; c++) {
    if (!p->v1[c])
      continue;
    cove_err e = {0};
    if (make_dirs(cg, p->v1base[c], p->v1leaf[c], &e) < 0) {
      if (cove_cg_unusable(p, c, &e, rootless, err) < 0)
        return -1;
      continue;
    }
    /* A new v1 cpuset starts with no cpus and no mems, and so may an
     * existing parent (kubelet's pod cgroup): fill them or no process
     * can join. */
    if (c == COVE_CG_CPUSET && cove_cg_v1_cpuset_fill(p->v1base[c], p->v1leaf[c], &e) < 0) {
      if (p->v1_field[c]) {
        *err = e;
        return cove_error_prefix(err, "config.json: linux.resources.cpu.cpus/mems (cgroup v1 cpuset)");
      }
      cove_debug("cgroup v1 cpuset: not used: %s", e.msg);
      continue;
    }
    snprintf(cg->v1[c], sizeof cg->v1[c], "%s", p->v1leaf[c]);
  }
  return 0;
}

/* The controllers the v2 leaf needs, enabled from the base down. */
static int enable_v2(const struct cove_cgroup *cg, const struct cove_cg_plan *p, const struct cove_resources *r,
                     bool v1_memory, cove_err *err)
{
  for (int k = 0; k < COVE_CG_R_COUNT; k++)
    if (p->to[k] == COVE_CG_TO_V2 && enable_ctrl(p->v2base, cg->v2, cove_cg_group_v2(k), err) < 0) {
      cove_err_set_kind(err, COVE_EK_LIMITS);
      return cove_error_prefix(err, "config.json: linux.resources.%s: enable the %s controller", cove_cg_group_field(k),
                               cove_cg_group_v2(k));
    }
  for (size_t i = 0; i < r->n_unified; i++) {
    const char *k = r->unified[i].key;
    char ctrl[64];
    snprintf(ctrl, sizeof ctrl, "%.*s", (int)(strchr(k, '.') - k), k);
    if (strcmp(ctrl, "cgroup") && enable_ctrl(p->v2base, cg->v2, ctrl, err) < 0) {
      cove_err_set_kind(err, COVE_EK_LIMITS);
      return cove_error_prefix(err, "config.json: linux.resources.unified.%s: enable the %s controller", k, ctrl);
    }
  }
  /* Best effort, for stats (memory peak, pids) on pure v2 hosts. */
  if (!v1_memory)
    for (const char *const *c = (const char *const[]){"memory", "pids", NULL}; *c; c++) {
      cove_err e;
      if (cove_cg_word_in(p->avail, *c) && enable_ctrl(p->v2base, cg->v2, *c, &e) < 0)
        cove_debug("cgroup v2: %s not enabled: %s", *c, e.msg);
    }
  return 0;
}

static bool any_dir(const struct cove_cgroup *cg)
{
  bool a = cg->v2[0] != 0;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    a |= cg->v1[c][0] != 0;
  return a;
}

/* Carry out the plan: directories, controllers, limits, device rules. On
 * failure whatever was made is removed again. */
static int fs_carry_out(struct cove_cgroup *cg, const struct cove_cg_plan *p, const struct cove_cg_request *req,
                        cove_err *err)
{
  const struct cove_resources *r = req->res;
  if (make_v2(cg, p, req->rootless, err) < 0 || make_v1(cg, p, req->rootless, err) < 0)
    return -1;
  cg->active = any_dir(cg);
  if (!cg->active) {
    cg->ops = &cove_cg_ops_disabled;
    return cove_cg_none_usable(cove_resources_has_limits(r), req->rootless, err);
  }
  if (cg->v2[0] && enable_v2(cg, p, r, p->v1[COVE_CG_MEMORY], err) < 0)
    return -1;
  cg->ops = NULL;
  cg->ops = cove_cg_ops_of(cg); /* v2 or hybrid, by the directories made */
  if (cg->ops->apply(cg, r, false, err) < 0 || cove_cg_devices_apply(cg, r, req->rootless, err) < 0)
    return cove_error_prefix(err, "config.json");
  return 0;
}

/* Rootless on a pure v2 host with no cgroup of its own to make children
 * in (a login session's scope is root's): the one case where the user's
 * systemd can help (cove_systemd_delegate). v1 is never delegated, and an
 * absolute cgroupsPath is the caller's choice, not ours to move. In a user
 * namespace the user's bus would not know the mapped "root". */
static bool delegable(const struct cove_cg_host *h, const struct cove_cg_plan *p, const struct cove_cg_request *req)
{
  if (!req->rootless || geteuid() == 0 || !h->has_v2 || p->absolute)
    return false;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (h->has_v1[c])
      return false;
  return access(p->v2base, W_OK) != 0;
}

int cove_cg_fs_setup(struct cove_cgroup *cg, const struct cove_cg_request *req, cove_err *err)
{
  if (precheck(req->res, err) < 0)
    return -1;
  struct cove_cg_host h;
  if (cove_cg_host_discover(&h, err) < 0)
    return -1;
  _cleanup_free_ struct cove_cg_plan *p = malloc(sizeof *p);
  if (!p)
    return cove_error(err, ENOMEM, "cgroup plan");
  cove_err perr = {0};
  int r = cove_cg_plan(&h, req->res, req->cgroups_path, req->id, p, &perr);
  if ((r == 0 ? p->want_v2 : perr.kind == COVE_EK_LIMITS) && delegable(&h, p, req)) {
    int d = cove_systemd_delegate(err);
    if (d < 0)
      return -1;
    /* now in a leaf of a delegated scope: placed beside it */
    if (d > 0) {
      if (cove_cg_host_discover(&h, err) < 0)
        return -1;
      r = cove_cg_plan(&h, req->res, req->cgroups_path, req->id, p, &perr);
    }
  }
  if (r < 0) {
    *err = perr;
    return -1;
  }
  if (fs_carry_out(cg, p, req, err) < 0) {
    cove_err e2;
    cove_cg_fs_destroy(cg, &e2);
    cg->active = false;
    cg->ops = NULL;
    return -1;
  }
  return 0;
}

/* disabled wins; a systemd cgroupsPath or --systemd-cgroup is systemd's
 * (cg->sd filled); the rest cgroupfs, v2 or hybrid once made. */
static const struct cove_cg_ops *pick_manager(struct cove_cgroup *cg, const struct cove_spec *spec, const char *id,
                                              enum cove_cg_manager mgr, cove_err *err)
{
  if (mgr == COVE_CG_MANAGER_DISABLED)
    return &cove_cg_ops_disabled;
  int sd = cove_systemd_plan(&cg->sd, spec, id, mgr == COVE_CG_MANAGER_SYSTEMD, err);
  return sd < 0 ? NULL : sd ? &cove_cg_ops_systemd : &cove_cg_ops_hybrid;
}

int cove_cgroup_setup(struct cove_cgroup *cg, const struct cove_spec *spec, const char *id, enum cove_cg_manager mgr,
                      int state_dirfd, cove_err *err)
{
  memset(cg, 0, sizeof *cg);
  struct cove_cg_request req = {
    .res = &spec->res,
    .cgroups_path = spec->cgroups_path,
    .id = id,
    .rootless = geteuid() != 0 || cove_in_partial_userns(),
    .state_dirfd = state_dirfd,
  };
  const struct cove_cg_ops *ops = pick_manager(cg, spec, id, mgr, err);
  if (!ops)
    return -1;
  if (ops->late_setup) {
    /* created around the init's pid in cove_cgroup_enter; recorded now,
     * so a create killed before then still has its manager undone */
    struct cove_cg_request *late = malloc(sizeof *late);
    if (!late)
      return cove_error(err, ENOMEM, "cgroup");
    *late = req;
    cg->late = late;
    cg->ops = ops;
    cg->active = true;
  } else if (ops->setup(cg, &req, err) < 0) {
    return -1;
  } else if (!cg->ops) {
    cg->ops = ops;
  }
  return cove_cgroup_save(state_dirfd, cg, err);
}

/* ------------------------------------------------- the manager's ops */

int cove_cgroup_v2_fd(const struct cove_cgroup *cg)
{
  if (!cg->active || !cg->v2[0])
    return -1;
  return open(cg->v2, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int cove_cgroup_enter(struct cove_cgroup *cg, pid_t pid, bool skip_v2, cove_err *err)
{
  const struct cove_cg_ops *ops = cove_cg_ops_of(cg);
  if (cg->late) {
    struct cove_cg_request *req = cg->late;
    cg->late = NULL;
    req->init_pid = pid;
    int r = ops->setup(cg, req, err);
    if (r == 0)
      r = cove_cgroup_save(req->state_dirfd, cg, err);
    free(req);
    return r;
  }
  if (!cg->active)
    return 0;
  return ops->enter(cg, pid, skip_v2, err);
}

int cove_cgroup_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool update, cove_err *err)
{
  return cove_cg_ops_of(cg)->apply(cg, r, update, err);
}

int cove_cgroup_freeze(const struct cove_cgroup *cg, bool freeze, cove_err *err)
{
  return cove_cg_ops_of(cg)->freeze(cg, freeze, err);
}

int cove_cgroup_frozen(const struct cove_cgroup *cg)
{
  return cove_cg_ops_of(cg)->frozen(cg);
}

int cove_cgroup_signal_all(const struct cove_cgroup *cg, int sig, cove_err *err)
{
  return cove_cg_ops_of(cg)->signal_all(cg, sig, err);
}

int cove_cgroup_pids(const struct cove_cgroup *cg, pid_t **pids, size_t *n, cove_err *err)
{
  return cove_cg_ops_of(cg)->pids(cg, pids, n, err);
}

int cove_cgroup_stats(const struct cove_cgroup *cg, struct cove_container_stats *st, cove_err *err)
{
  return cove_cg_ops_of(cg)->stats(cg, st, err);
}

int cove_cgroup_destroy(struct cove_cgroup *cg, cove_err *err)
{
  free(cg->late);
  cg->late = NULL;
  return cove_cg_ops_of(cg)->destroy(cg, err);
}

void cove_cgroup_release(struct cove_cgroup *cg)
{
  for (size_t i = 0; i < cg->n_made; i++)
    free(cg->made[i]);
  cg->n_made = 0;
  free(cg->late);
  cg->late = NULL;
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
  fprintf(f, "manager %s\n", cove_cg_ops_of(cg)->name);
  if (cg->sd.unit[0])
    fprintf(f, "unit %s\nbus %s\n", cg->sd.unit, cg->sd.user ? "user" : "system");
  if (cg->v2[0])
    fprintf(f, "v2 %s\n", cg->v2);
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (cg->v1[c][0])
      fprintf(f, "%s %s\n", cove_cg_ctrl_name(c), cg->v1[c]);
  for (size_t i = 0; i < cg->n_made; i++)
    fprintf(f, "made %s\n", cg->made[i]);
  if (fclose(f) != 0)
    return cove_error(err, errno, "write cgroup record");
  if (renameat(dirfd, "cgroup.tmp", dirfd, "cgroup") < 0)
    return cove_error(err, errno, "write cgroup record");
  return 0;
}

/* The manager a record names; NULL (derive it) for records without one. */
static const struct cove_cg_ops *ops_named(const char *name)
{
  static const struct cove_cg_ops *const all[] = {&cove_cg_ops_v2, &cove_cg_ops_hybrid, &cove_cg_ops_systemd,
                                                   &cove_cg_ops_disabled};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    if (!strcmp(all[i]->name, name))
      return all[i];
  return NULL;
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
    if (sp && !strncmp(line, "manager ", 8)) {
      cg->ops = ops_named(sp + 1);
      continue;
    }
    if (sp && !strncmp(line, "unit ", 5) && cove_systemd_unit_ok(sp + 1)) {
      snprintf(cg->sd.unit, sizeof cg->sd.unit, "%s", sp + 1);
      continue;
    }
    if (sp && !strncmp(line, "bus ", 4)) {
      cg->sd.user = !strcmp(sp + 1, "user");
      continue;
    }
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
        if (!strcmp(line, cove_cg_ctrl_name(c)))
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
