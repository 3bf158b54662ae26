/* linux.resources → struct cove_resources. Only shape and range are
 * checked here; whether this host can enforce a limit is the cgroup
 * layer's question (cgroup.c), asked before anything is created. */
#include "cove/resources.h"

#include "cove/json.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int opt_i64(yajl_val o, const char *k, const char *path, struct cove_opt_i64 *out, cove_err *err)
{
  int r = cove_json_int64(o, k, path, &out->v, err);
  out->set = r > 0;
  return r;
}

static int opt_u64(yajl_val o, const char *k, const char *path, struct cove_opt_u64 *out, cove_err *err)
{
  int r = cove_json_uint64(o, k, path, &out->v, err);
  out->set = r > 0;
  return r;
}

/* "-1 = unlimited, else at least `min`" for the byte/count limits. */
static int check_limit(const char *path, const char *k, struct cove_opt_i64 *v, int64_t min, cove_err *err)
{
  if (!v->set)
    return 0;
  if (v->v < -1)
    return cove_error(err, 0, "%s.%s: %" PRId64 " is negative (use -1 for unlimited)", path, k, v->v);
  if (v->v > 0 && v->v < min)
    return cove_error(err, 0, "%s.%s: %" PRId64 " is absurdly small (at least %" PRId64 ")", path, k, v->v, min);
  return 0;
}

/* cpuset lists: "0-3,7", no spaces, ascending ranges. */
static bool cpu_list_ok(const char *s)
{
  if (!*s)
    return true; /* empty = inherit, as runc */
  while (*s) {
    if (!isdigit((unsigned char)*s))
      return false;
    char *end;
    unsigned long a = strtoul(s, &end, 10);
    s = end;
    if (*s == '-') {
      s++;
      if (!isdigit((unsigned char)*s))
        return false;
      unsigned long b = strtoul(s, &end, 10);
      if (b < a)
        return false;
      s = end;
    }
    if (*s == ',' && s[1])
      s++;
    else if (*s)
      return false;
  }
  return true;
}

static int parse_memory(yajl_val m, const char *path, struct cove_resources *r, cove_err *err)
{
  static const char *const keys[] = {"limit",     "reservation", "swap",        "kernel",
                                     "kernelTCP", "swappiness",  "disableOOMKiller", "useHierarchy",
                                     "checkBeforeUpdate", NULL};
  cove_json_ignore_unknown(m, path, keys, COVE_LOG_DEBUG);
  if (opt_i64(m, "limit", path, &r->mem_limit, err) < 0 || opt_i64(m, "reservation", path, &r->mem_reservation, err) < 0 ||
      opt_i64(m, "swap", path, &r->mem_swap, err) < 0 || opt_i64(m, "kernel", path, &r->mem_kernel, err) < 0 ||
      opt_i64(m, "kernelTCP", path, &r->mem_kernel_tcp, err) < 0 ||
      opt_u64(m, "swappiness", path, &r->mem_swappiness, err) < 0)
    return -1;
  int b = cove_json_bool(m, "disableOOMKiller", path, &r->mem_disable_oom_killer, err);
  if (b < 0)
    return -1;
  r->mem_disable_oom_killer_set = b > 0;
  bool ignored;
  if (cove_json_bool(m, "useHierarchy", path, &ignored, err) < 0 ||
      cove_json_bool(m, "checkBeforeUpdate", path, &ignored, err) < 0)
    return -1;
  /* runc's convention: 0 means "not set" for limit and swap. */
  if (r->mem_limit.set && r->mem_limit.v == 0)
    r->mem_limit.set = false;
  if (r->mem_swap.set && r->mem_swap.v == 0)
    r->mem_swap.set = false;
  if (check_limit(path, "limit", &r->mem_limit, 4096, err) < 0 ||
      check_limit(path, "reservation", &r->mem_reservation, 0, err) < 0 ||
      check_limit(path, "swap", &r->mem_swap, 4096, err) < 0)
    return -1;
  if (r->mem_swappiness.set && r->mem_swappiness.v > 100)
    return cove_error(err, 0, "%s.swappiness: %" PRIu64 " is out of range (0 to 100)", path, r->mem_swappiness.v);
  if (r->mem_swap.set && r->mem_swap.v != -1 && r->mem_limit.set && r->mem_limit.v != -1 && r->mem_swap.v < r->mem_limit.v)
    return cove_error(err, 0, "%s.swap: %" PRId64 " is less than memory.limit %" PRId64
                              " (swap is the limit of memory plus swap)", path, r->mem_swap.v, r->mem_limit.v);
  return 0;
}

static int parse_cpu(yajl_val c, const char *path, struct cove_resources *r, cove_err *err)
{
  static const char *const keys[] = {"shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod",
                                     "cpus",   "mems",  "idle",  NULL};
  cove_json_ignore_unknown(c, path, keys, COVE_LOG_DEBUG);
  if (opt_u64(c, "shares", path, &r->cpu_shares, err) < 0 || opt_i64(c, "quota", path, &r->cpu_quota, err) < 0 ||
      opt_u64(c, "burst", path, &r->cpu_burst, err) < 0 || opt_u64(c, "period", path, &r->cpu_period, err) < 0 ||
      opt_i64(c, "realtimeRuntime", path, &r->cpu_rt_runtime, err) < 0 ||
      opt_u64(c, "realtimePeriod", path, &r->cpu_rt_period, err) < 0 || opt_i64(c, "idle", path, &r->cpu_idle, err) < 0 ||
      cove_json_string(c, "cpus", path, &r->cpu_cpus, err) < 0 || cove_json_string(c, "mems", path, &r->cpu_mems, err) < 0)
    return -1;
  if (r->cpu_shares.set && r->cpu_shares.v == 0)
    r->cpu_shares.set = false;
  if (r->cpu_shares.set && (r->cpu_shares.v < 2 || r->cpu_shares.v > 262144))
    return cove_error(err, 0, "%s.shares: %" PRIu64 " is out of range (2 to 262144)", path, r->cpu_shares.v);
  if (r->cpu_quota.set && r->cpu_quota.v == 0)
    r->cpu_quota.set = false;
  if (r->cpu_quota.set && r->cpu_quota.v < -1)
    return cove_error(err, 0, "%s.quota: %" PRId64 " is negative (use -1 for no quota)", path, r->cpu_quota.v);
  if (r->cpu_quota.set && r->cpu_quota.v > 0 && r->cpu_quota.v < 1000)
    return cove_error(err, 0, "%s.quota: %" PRId64 " is below the kernel's minimum of 1000 microseconds", path,
                      r->cpu_quota.v);
  if (r->cpu_period.set && r->cpu_period.v == 0)
    r->cpu_period.set = false;
  if (r->cpu_period.set && (r->cpu_period.v < 1000 || r->cpu_period.v > 1000000))
    return cove_error(err, 0, "%s.period: %" PRIu64 " is out of range (1000 to 1000000 microseconds)", path,
                      r->cpu_period.v);
  if (r->cpu_idle.set && r->cpu_idle.v != 0 && r->cpu_idle.v != 1)
    return cove_error(err, 0, "%s.idle: %" PRId64 " must be 0 or 1", path, r->cpu_idle.v);
  if (r->cpu_rt_runtime.set && r->cpu_rt_runtime.v < -1)
    return cove_error(err, 0, "%s.realtimeRuntime: %" PRId64 " is negative", path, r->cpu_rt_runtime.v);
  if (r->cpu_cpus && !cpu_list_ok(r->cpu_cpus))
    return cove_error(err, 0, "%s.cpus: \"%s\" is not a CPU list (like 0-3,7)", path, r->cpu_cpus);
  if (r->cpu_mems && !cpu_list_ok(r->cpu_mems))
    return cove_error(err, 0, "%s.mems: \"%s\" is not a memory node list (like 0-1)", path, r->cpu_mems);
  return 0;
}

static int parse_weight(yajl_val o, const char *k, const char *path, struct cove_opt_u64 *out, cove_err *err)
{
  if (opt_u64(o, k, path, out, err) < 0)
    return -1;
  if (out->set && out->v == 0)
    out->set = false;
  if (out->set && (out->v < 10 || out->v > 1000))
    return cove_error(err, 0, "%s.%s: %" PRIu64 " is out of range (10 to 1000)", path, k, out->v);
  return 0;
}

static int parse_blkio_dev(yajl_val d, const char *p, void *item, size_t i, void *ctx, cove_err *err)
{
  (void)i;
  bool weights = *(const bool *)ctx;
  struct cove_blkio_dev *e = item;
  static const char *const wkeys[] = {"major", "minor", "weight", "leafWeight", NULL};
  static const char *const rkeys[] = {"major", "minor", "rate", NULL};
  cove_json_ignore_unknown(d, p, weights ? wkeys : rkeys, COVE_LOG_DEBUG);
  int rm = cove_json_int64(d, "major", p, &e->major, err);
  int rn = rm < 0 ? -1 : cove_json_int64(d, "minor", p, &e->minor, err);
  if (rn < 0)
    return -1;
  if (rm == 0 || rn == 0 || e->major < 0 || e->minor < 0)
    return cove_error(err, 0, "%s: major and minor are required (non-negative)", p);
  if (!weights)
    return cove_json_need(cove_json_uint64(d, "rate", p, &e->rate, err), p, "rate", err);
  if (parse_weight(d, "weight", p, &e->weight, err) < 0 || parse_weight(d, "leafWeight", p, &e->leaf_weight, err) < 0)
    return -1;
  if (!e->weight.set && !e->leaf_weight.set)
    return cove_error(err, 0, "%s: needs weight or leafWeight", p);
  return 0;
}

static int parse_devs(yajl_val b, const char *k, const char *path, bool weights, struct cove_blkio_devs *out,
                      cove_err *err)
{
  return cove_json_each_object(b, k, path, sizeof *out->v, (void **)&out->v, &out->n, parse_blkio_dev, &weights, err);
}

static int parse_blkio(yajl_val b, const char *path, struct cove_resources *r, cove_err *err)
{
  static const char *const keys[] = {"weight",
                                     "leafWeight",
                                     "weightDevice",
                                     "throttleReadBpsDevice",
                                     "throttleWriteBpsDevice",
                                     "throttleReadIOPSDevice",
                                     "throttleWriteIOPSDevice",
                                     NULL};
  cove_json_ignore_unknown(b, path, keys, COVE_LOG_DEBUG);
  if (parse_weight(b, "weight", path, &r->blkio_weight, err) < 0 ||
      parse_weight(b, "leafWeight", path, &r->blkio_leaf_weight, err) < 0 ||
      parse_devs(b, "weightDevice", path, true, &r->blkio_weight_dev, err) < 0 ||
      parse_devs(b, "throttleReadBpsDevice", path, false, &r->blkio_read_bps, err) < 0 ||
      parse_devs(b, "throttleWriteBpsDevice", path, false, &r->blkio_write_bps, err) < 0 ||
      parse_devs(b, "throttleReadIOPSDevice", path, false, &r->blkio_read_iops, err) < 0 ||
      parse_devs(b, "throttleWriteIOPSDevice", path, false, &r->blkio_write_iops, err) < 0)
    return -1;
  return 0;
}

static bool page_size_ok(const char *s)
{
  size_t n = strlen(s), d = strspn(s, "0123456789");
  return d > 0 && n == d + 2 && strchr("KMG", s[d]) && s[d + 1] == 'B';
}

static int parse_hugepage(yajl_val h, const char *p, void *item, size_t i, void *ctx, cove_err *err)
{
  (void)i, (void)ctx;
  struct cove_hugepage_limit *hp = item;
  static const char *const keys[] = {"pageSize", "limit", NULL};
  cove_json_ignore_unknown(h, p, keys, COVE_LOG_DEBUG);
  int rs = cove_json_string(h, "pageSize", p, &hp->page_size, err);
  int rl = rs < 0 ? -1 : cove_json_uint64(h, "limit", p, &hp->limit, err);
  if (rl < 0)
    return -1;
  if (rs == 0 || rl == 0)
    return cove_error(err, 0, "%s: pageSize and limit are required", p);
  if (!page_size_ok(hp->page_size))
    return cove_error(err, 0, "%s.pageSize: \"%s\" is not a page size like 2MB or 1GB", p, hp->page_size);
  return 0;
}

static int parse_rdma(yajl_val res, const char *path, struct cove_resources *r, cove_err *err)
{
  yajl_val o;
  int rr = cove_json_object(res, "rdma", path, &o, err);
  if (rr <= 0)
    return rr;
  r->n_rdma = o->u.object.len;
  r->rdma = calloc(r->n_rdma ? r->n_rdma : 1, sizeof *r->rdma);
  if (!r->rdma)
    return cove_error(err, ENOMEM, "%s.rdma", path);
  static const char *const keys[] = {"hcaHandles", "hcaObjects", NULL};
  for (size_t i = 0; i < r->n_rdma; i++) {
    char p[COVE_PATH_MAX], kp[COVE_PATH_MAX];
    cove_json_path(kp, path, "rdma");
    const char *dev = o->u.object.keys[i];
    cove_json_path(p, kp, dev);
    yajl_val d = o->u.object.values[i];
    if (!*dev || strpbrk(dev, " \n/"))
      return cove_error(err, 0, "%s: not a device name", p);
    if (!YAJL_IS_OBJECT(d))
      return cove_error(err, 0, "%s: expected object, got %s", p, cove_json_type_name(d));
    r->rdma[i].device = dev;
    cove_json_ignore_unknown(d, p, keys, COVE_LOG_DEBUG);
    if (opt_u64(d, "hcaHandles", p, &r->rdma[i].hca_handles, err) < 0 ||
        opt_u64(d, "hcaObjects", p, &r->rdma[i].hca_objects, err) < 0)
      return -1;
  }
  return 0;
}

/* devices[]: {allow, type?, major?, minor?, access?}; what is left out
 * matches everything (runtime-spec config-linux.md). */
static int parse_device(yajl_val d, const char *p, void *item, size_t i, void *ctx, cove_err *err)
{
  (void)i, (void)ctx;
  struct cove_device_rule *dr = item;
  static const char *const keys[] = {"allow", "type", "major", "minor", "access", NULL};
  cove_json_ignore_unknown(d, p, keys, COVE_LOG_DEBUG);
  int b = cove_json_bool(d, "allow", p, &dr->allow, err);
  if (b <= 0)
    return b < 0 ? -1 : cove_error(err, 0, "%s.allow: required", p);
  const char *t = NULL, *acc = NULL;
  if (cove_json_string(d, "type", p, &t, err) < 0 || cove_json_string(d, "access", p, &acc, err) < 0)
    return -1;
  dr->type = t ? t[0] : 'a';
  if (t && (strlen(t) != 1 || !strchr("abc", t[0])))
    return cove_error(err, 0, "%s.type: \"%s\" is not one of \"a\", \"b\", \"c\"", p, t);
  struct cove_opt_i64 maj = {0}, min = {0};
  if (opt_i64(d, "major", p, &maj, err) < 0 || opt_i64(d, "minor", p, &min, err) < 0)
    return -1;
  dr->major = maj.set ? maj.v : -1;
  dr->minor = min.set ? min.v : -1;
  if (dr->major < -1 || dr->major > UINT32_MAX - 1)
    return cove_error(err, 0, "%s.major: %" PRId64 " is not a device number", p, dr->major);
  if (dr->minor < -1 || dr->minor > UINT32_MAX - 1)
    return cove_error(err, 0, "%s.minor: %" PRId64 " is not a device number", p, dr->minor);
  dr->access = acc ? 0 : COVE_DEV_ACC_ALL;
  for (const char *c = acc; c && *c; c++) {
    unsigned bit = *c == 'r' ? COVE_DEV_ACC_READ : *c == 'w' ? COVE_DEV_ACC_WRITE : *c == 'm' ? COVE_DEV_ACC_MKNOD : 0;
    if (!bit)
      return cove_error(err, 0, "%s.access: \"%s\": only r, w and m are allowed", p, acc);
    dr->access |= bit;
  }
  /* "" grants or denies nothing: runc treats it as no access as well */
  return 0;
}

/* The files cove manages itself, which a config must not write around it. */
static const char *const reserved_unified[] = {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control",
                                               "cgroup.kill", "cgroup.freeze",  "cgroup.type", NULL};

static int parse_unified(yajl_val res, const char *path, struct cove_resources *r, cove_err *err)
{
  yajl_val o;
  int rr = cove_json_object(res, "unified", path, &o, err);
  if (rr <= 0)
    return rr;
  r->n_unified = o->u.object.len;
  r->unified = calloc(r->n_unified ? r->n_unified : 1, sizeof *r->unified);
  if (!r->unified)
    return cove_error(err, ENOMEM, "%s.unified", path);
  for (size_t i = 0; i < r->n_unified; i++) {
    const char *k = o->u.object.keys[i];
    yajl_val v = o->u.object.values[i];
    /* controller.file: lower-case letters, digits, '_' and '.'; never a
     * path (a key is opened relative to the container's cgroup). */
    const char *dot = strchr(k, '.');
    bool ok = dot && dot != k && dot[1] && !strstr(k, "..") && !strchr(k, '/') && k[strlen(k) - 1] != '.';
    for (const char *c = k; ok && *c; c++)
      ok = islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_' || *c == '.';
    if (!ok)
      return cove_error(err, 0, "%s.unified: \"%s\" is not a cgroup file name (controller.file)", path, k);
    for (const char *const *x = reserved_unified; *x; x++)
      if (!strcmp(k, *x))
        return cove_error(err, 0, "%s.unified.%s: managed by the runtime, cannot be set", path, k);
    if (!YAJL_IS_STRING(v))
      return cove_error(err, 0, "%s.unified.%s: expected string, got %s", path, k, cove_json_type_name(v));
    if (strchr(v->u.string, '\n') && v->u.string[strlen(v->u.string) - 1] != '\n')
      return cove_error(err, 0, "%s.unified.%s: value must be one line", path, k);
    r->unified[i].key = k;
    r->unified[i].value = v->u.string;
  }
  return 0;
}

static int parse_pids(yajl_val o, const char *p, struct cove_resources *r, cove_err *err)
{
  static const char *const keys[] = {"limit", NULL};
  cove_json_ignore_unknown(o, p, keys, COVE_LOG_DEBUG);
  if (opt_i64(o, "limit", p, &r->pids_limit, err) < 0)
    return -1;
  if (r->pids_limit.set && r->pids_limit.v < -1)
    return cove_error(err, 0, "%s.limit: %" PRId64 " is negative (use -1 for unlimited)", p, r->pids_limit.v);
  return 0;
}

static int parse_network(yajl_val o, const char *p, struct cove_resources *r, cove_err *err)
{
  (void)err;
  static const char *const keys[] = {"classID", "priorities", NULL};
  cove_json_ignore_unknown(o, p, keys, COVE_LOG_DEBUG);
  yajl_val prio = cove_json_field(o, "priorities");
  r->has_network = (cove_json_field(o, "classID") && !YAJL_IS_NULL(cove_json_field(o, "classID"))) ||
                   (prio && YAJL_IS_ARRAY(prio) && prio->u.array.len);
  return 0;
}

int cove_resources_parse(yajl_val res, const char *path, struct cove_resources *r, cove_err *err)
{
  memset(r, 0, sizeof *r);
  if (!res || !YAJL_IS_OBJECT(res))
    return cove_error(err, 0, "%s: expected object, got %s", path, cove_json_type_name(res));
  r->present = true;
  static const char *const keys[] = {"devices", "memory",         "cpu",   "pids",    "blockIO", "hugepageLimits",
                                     "network", "rdma",           "unified", NULL};
  cove_json_ignore_unknown(res, path, keys, COVE_LOG_DEBUG);
  static const struct {
    const char *key;
    int (*parse)(yajl_val o, const char *path, struct cove_resources *r, cove_err *err);
  } sections[] = {{"memory", parse_memory}, {"cpu", parse_cpu}, {"pids", parse_pids}, {"blockIO", parse_blkio},
                  {"network", parse_network}};
  if (cove_json_each_object(res, "devices", path, sizeof *r->devices, (void **)&r->devices, &r->n_devices,
                            parse_device, NULL, err) < 0)
    return -1;
  for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
    char p[COVE_PATH_MAX];
    yajl_val o;
    cove_json_path(p, path, sections[i].key);
    int rr = cove_json_object(res, sections[i].key, path, &o, err);
    if (rr < 0 || (rr > 0 && sections[i].parse(o, p, r, err) < 0))
      return -1;
  }
  if (cove_json_each_object(res, "hugepageLimits", path, sizeof *r->hugepages, (void **)&r->hugepages,
                            &r->n_hugepages, parse_hugepage, NULL, err) < 0 ||
      parse_rdma(res, path, r, err) < 0 || parse_unified(res, path, r, err) < 0)
    return -1;
  return 0;
}

bool cove_resources_has_limits(const struct cove_resources *r)
{
  return r->mem_limit.set || r->mem_reservation.set || r->mem_swap.set || r->mem_kernel_tcp.set ||
         r->mem_swappiness.set || (r->mem_disable_oom_killer_set && r->mem_disable_oom_killer) || r->cpu_shares.set ||
         r->cpu_period.set || r->cpu_burst.set || r->cpu_rt_period.set || r->cpu_quota.set || r->cpu_rt_runtime.set ||
         r->cpu_idle.set || (r->cpu_cpus && *r->cpu_cpus) || (r->cpu_mems && *r->cpu_mems) || r->pids_limit.set ||
         r->blkio_weight.set || r->blkio_leaf_weight.set || r->blkio_weight_dev.n || r->blkio_read_bps.n ||
         r->blkio_write_bps.n || r->blkio_read_iops.n || r->blkio_write_iops.n || r->n_hugepages || r->n_rdma ||
         r->n_unified || r->has_network;
}

void cove_resources_free(struct cove_resources *r)
{
  free(r->blkio_weight_dev.v);
  free(r->blkio_read_bps.v);
  free(r->blkio_write_bps.v);
  free(r->blkio_read_iops.v);
  free(r->blkio_write_iops.v);
  free(r->hugepages);
  free(r->rdma);
  free(r->unified);
  free(r->devices);
  memset(r, 0, sizeof *r);
}

int cove_cgroups_path_check(const char *path, cove_err *err)
{
  if (!*path)
    return 0;
  if (strlen(path) > 1024)
    return cove_error(err, 0, "linux.cgroupsPath: too long");
  const char *c = path[0] == '/' ? path + 1 : path;
  while (*c) {
    size_t n = strcspn(c, "/");
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
      return cove_error(err, 0, "linux.cgroupsPath: \"%s\": empty, \".\" and \"..\" components are not allowed", path);
    for (size_t i = 0; i < n; i++)
      if (c[i] == '\n' || (unsigned char)c[i] < 0x20)
        return cove_error(err, 0, "linux.cgroupsPath: \"%s\": control characters are not allowed", path);
    if (n >= 6 && !strncmp(c, "cgroup.", 7) )
      return cove_error(err, 0, "linux.cgroupsPath: \"%s\": a component may not start with \"cgroup.\"", path);
    c += n;
    if (*c == '/')
      c++;
  }
  return 0;
}
