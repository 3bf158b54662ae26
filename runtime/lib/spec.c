/* config.json → struct cove_spec, validated before anything is created. */
#include "cove/spec.h"

#include "cove/cleanup.h"
#include "cove/json.h"
#include "cove/readfile.h"
#include "cove/log.h"
#include "mount_options.h"
#include "security.h"
#include "seccomp_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The one namespace table: config.json's name, /proc/PID/ns's, the flag. */
static const struct {
  const char *name, *proc;
  int flag;
} ns_table[COVE_NS_COUNT] = {
  [COVE_NS_USER] = {"user", "user", CLONE_NEWUSER},       [COVE_NS_MOUNT] = {"mount", "mnt", CLONE_NEWNS},
  [COVE_NS_PID] = {"pid", "pid", CLONE_NEWPID},           [COVE_NS_NET] = {"network", "net", CLONE_NEWNET},
  [COVE_NS_UTS] = {"uts", "uts", CLONE_NEWUTS},           [COVE_NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
  [COVE_NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP}, [COVE_NS_TIME] = {"time", "time", CLONE_NEWTIME},
};

const char *cove_ns_name(enum cove_ns_kind k)
{
  return ns_table[k].name;
}

const char *cove_ns_proc_name(enum cove_ns_kind k)
{
  return ns_table[k].proc;
}

int cove_ns_clone_flag(enum cove_ns_kind k)
{
  return ns_table[k].flag;
}

bool cove_lsm_enabled(const char *lsm)
{
  /* /sys/kernel/security/lsm lists the active LSMs, comma-separated */
  _cleanup_close_ int fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
  char buf[512];
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n <= 0) {
    struct stat st;
    return strcmp(lsm, "selinux") == 0 ? stat("/sys/fs/selinux/enforce", &st) == 0
                                       : stat("/sys/kernel/security/apparmor", &st) == 0;
  }
  buf[n] = 0;
  size_t l = strlen(lsm);
  for (char *p = buf; (p = strstr(p, lsm)); p += l)
    if ((p == buf || p[-1] == ',') && (p[l] == ',' || p[l] == 0 || p[l] == '\n'))
      return true;
  return false;
}

static int parse_root(struct cove_spec *s, yajl_val top, const char *bundle, cove_err *err)
{
  yajl_val root;
  int r = cove_json_object(top, "root", "", &root, err);
  if (r < 0)
    return r;
  if (r == 0)
    return cove_error(err, 0, "root: missing (the bundle's root filesystem is required)");
  if (cove_json_string(root, "path", "root", &s->root_path, err) < 0)
    return -1;
  if (!s->root_path || !*s->root_path)
    return cove_error(err, 0, "root.path: missing");
  if (cove_json_bool(root, "readonly", "root", &s->root_readonly, err) < 0)
    return -1;
  if (s->root_path[0] == '/')
    s->root_path_abs = strdup(s->root_path);
  else if (asprintf(&s->root_path_abs, "%s/%s", bundle, s->root_path) < 0)
    s->root_path_abs = NULL;
  if (!s->root_path_abs)
    return cove_error(err, ENOMEM, "root.path");
  struct stat st;
  if (stat(s->root_path_abs, &st) < 0)
    return cove_error(err, errno, "root.path: %s", s->root_path_abs);
  if (!S_ISDIR(st.st_mode))
    return cove_error(err, ENOTDIR, "root.path: %s", s->root_path_abs);
  return 0;
}

static bool env_ok(const char *e)
{
  const char *eq = strchr(e, '=');
  return eq && eq != e;
}

static int parse_process(struct cove_spec *s, yajl_val top, cove_err *err)
{
  yajl_val p;
  int r = cove_json_object(top, "process", "", &p, err);
  if (r <= 0)
    return r;
  s->has_process = true;
  return cove_process_parse(p, &s->process, err);
}

int cove_process_parse(yajl_val p, struct cove_process *pr, cove_err *err)
{
  int r;
  if (cove_json_bool(p, "terminal", "process", &pr->terminal, err) < 0)
    return -1;
  yajl_val cs;
  if ((r = cove_json_object(p, "consoleSize", "process", &cs, err)) < 0)
    return -1;
  if (r > 0 && (cove_json_uint32(cs, "height", "process.consoleSize", &pr->console_height, err) < 0 ||
                cove_json_uint32(cs, "width", "process.consoleSize", &pr->console_width, err) < 0))
    return -1;

  if ((r = cove_json_strv(p, "args", "process", &pr->args, err)) < 0)
    return -1;
  if (r == 0 || pr->args.n == 0)
    return cove_error(err, 0, "process.args: must name at least the program to run");
  if (!*pr->args.v[0])
    return cove_error(err, 0, "process.args[0]: must not be empty");

  if (cove_json_strv(p, "env", "process", &pr->env, err) < 0)
    return -1;
  for (size_t i = 0; i < pr->env.n; i++)
    if (!env_ok(pr->env.v[i]))
      return cove_error(err, 0, "process.env[%zu]: \"%s\" is not of the form KEY=value", i, pr->env.v[i]);

  if ((r = cove_json_string(p, "cwd", "process", &pr->cwd, err)) < 0)
    return -1;
  if (r == 0)
    return cove_error(err, 0, "process.cwd: missing");
  if (pr->cwd[0] != '/')
    return cove_error(err, 0, "process.cwd: \"%s\" must be an absolute path", pr->cwd);

  yajl_val u;
  if ((r = cove_json_object(p, "user", "process", &u, err)) < 0)
    return -1;
  if (r > 0) {
    uint32_t uid = 0, gid = 0, um;
    if (cove_json_uint32(u, "uid", "process.user", &uid, err) < 0 ||
        cove_json_uint32(u, "gid", "process.user", &gid, err) < 0)
      return -1;
    pr->uid = uid;
    pr->gid = gid;
    if ((r = cove_json_uint32(u, "umask", "process.user", &um, err)) < 0)
      return -1;
    if (r > 0) {
      if (um > 0777)
        return cove_error(err, 0, "process.user.umask: %o is not a file mode mask", um);
      pr->has_umask = true;
      pr->umask = (mode_t)um;
    }
    yajl_val ag;
    if ((r = cove_json_array(u, "additionalGids", "process.user", &ag, err)) < 0)
      return -1;
    if (r > 0 && ag->u.array.len) {
      pr->n_additional_gids = ag->u.array.len;
      pr->additional_gids = calloc(pr->n_additional_gids, sizeof(gid_t));
      if (!pr->additional_gids)
        return cove_error(err, ENOMEM, "process.user.additionalGids");
      for (size_t i = 0; i < ag->u.array.len; i++) {
        yajl_val e = ag->u.array.values[i];
        if (!YAJL_IS_INTEGER(e) || e->u.number.i < 0 || e->u.number.i > UINT32_MAX)
          return cove_error(err, 0, "process.user.additionalGids[%zu]: expected a gid, got %s", i,
                            cove_json_type_name(e));
        pr->additional_gids[i] = (gid_t)e->u.number.i;
      }
    }
    const char *username = NULL;
    if (cove_json_string(u, "username", "process.user", &username, err) < 0)
      return -1;
  }
  return cove_spec_parse_process_security(p, "process", pr, err);
}

static int parse_mount(yajl_val m, const char *path, void *item, size_t i, void *ctx, cove_err *err)
{
  (void)i, (void)ctx;
  struct cove_mount *cm = item;
  if (cove_json_string(m, "destination", path, &cm->destination, err) < 0 ||
      cove_json_string(m, "type", path, &cm->type, err) < 0 ||
      cove_json_string(m, "source", path, &cm->source, err) < 0 ||
      cove_json_strv(m, "options", path, &cm->options, err) < 0)
    return -1;
  if (!cm->destination || !*cm->destination)
    return cove_error(err, 0, "%s.destination: missing", path);
  if (cm->destination[0] != '/')
    return cove_error(err, 0, "%s.destination: \"%s\" must be an absolute path", path, cm->destination);
  if (cove_json_field(m, "uidMappings") || cove_json_field(m, "gidMappings"))
    return cove_error(err, 0, "%s: idmapped mounts (uidMappings/gidMappings) are not supported", path);
  if (cove_mount_options_parse(cm, path, err) < 0)
    return -1;
  if (cm->type && strcmp(cm->type, "bind") == 0)
    cm->bind = true;
  if (cm->bind) {
    if (!cm->source || !*cm->source)
      return cove_error(err, 0, "%s.source: a bind mount needs a source", path);
    if (cm->source[0] != '/')
      return cove_error(err, 0, "%s.source: \"%s\" must be an absolute path", path, cm->source);
  } else if (!cm->type || !*cm->type) {
    return cove_error(err, 0, "%s.type: missing (and the options do not ask for a bind mount)", path);
  }
  return 0;
}

static int parse_idmap(yajl_val m, const char *path, void *item, size_t i, void *ctx, cove_err *err)
{
  (void)i, (void)ctx;
  struct cove_idmap *im = item;
  int rc = cove_json_uint32(m, "containerID", path, &im->container_id, err);
  int rh = rc < 0 ? -1 : cove_json_uint32(m, "hostID", path, &im->host_id, err);
  int rs = rh < 0 ? -1 : cove_json_uint32(m, "size", path, &im->size, err);
  if (rs < 0)
    return -1;
  if (!rc || !rh || !rs)
    return cove_error(err, 0, "%s: containerID, hostID and size are required", path);
  if (im->size == 0)
    return cove_error(err, 0, "%s.size: must be at least 1", path);
  return 0;
}

static int parse_namespaces(struct cove_spec *s, yajl_val linux_obj, cove_err *err)
{
  yajl_val a;
  int r = cove_json_array(linux_obj, "namespaces", "linux", &a, err);
  if (r <= 0)
    return r;
  for (size_t i = 0; i < a->u.array.len; i++) {
    char path[COVE_PATH_MAX];
    snprintf(path, sizeof path, "linux.namespaces[%zu]", i);
    yajl_val n = a->u.array.values[i];
    if (!YAJL_IS_OBJECT(n))
      return cove_error(err, 0, "%s: expected object, got %s", path, cove_json_type_name(n));
    const char *type = NULL, *nspath = NULL;
    if (cove_json_string(n, "type", path, &type, err) < 0 || cove_json_string(n, "path", path, &nspath, err) < 0)
      return -1;
    if (!type)
      return cove_error(err, 0, "%s.type: missing", path);
    int k = -1;
    for (int j = 0; j < COVE_NS_COUNT; j++)
      if (strcmp(type, ns_table[j].name) == 0)
        k = j;
    if (k < 0)
      return cove_error(err, 0, "%s.type: unknown namespace type \"%s\"", path, type);
    if (s->ns[k].wanted)
      return cove_error(err, 0, "%s.type: namespace \"%s\" listed twice", path, type);
    s->ns[k].wanted = true;
    if (nspath && *nspath) {
      if (nspath[0] != '/')
        return cove_error(err, 0, "%s.path: \"%s\" must be an absolute path", path, nspath);
      s->ns[k].path = nspath;
    }
  }
  return 0;
}

static int parse_device(yajl_val d, const char *path, void *item, size_t i, void *ctx, cove_err *err)
{
  (void)i, (void)ctx;
  struct cove_device *cd = item;
  const char *type = NULL;
  if (cove_json_string(d, "path", path, &cd->path, err) < 0 || cove_json_string(d, "type", path, &type, err) < 0)
    return -1;
  if (!cd->path || cd->path[0] != '/')
    return cove_error(err, 0, "%s.path: must be an absolute path", path);
  if (!type || strlen(type) != 1 || !strchr("cubp", type[0]))
    return cove_error(err, 0, "%s.type: must be one of c, u, b, p", path);
  cd->type = type[0];
  int rm = cove_json_int64(d, "major", path, &cd->major, err);
  int rn = rm < 0 ? -1 : cove_json_int64(d, "minor", path, &cd->minor, err);
  if (rn < 0)
    return -1;
  if (cd->type != 'p' && (rm == 0 || rn == 0))
    return cove_error(err, 0, "%s: major and minor are required for type %c", path, cd->type);
  int mode = cove_json_uint32(d, "fileMode", path, &cd->mode, err);
  int uid = mode < 0 ? -1 : cove_json_uint32(d, "uid", path, &cd->uid, err);
  int gid = uid < 0 ? -1 : cove_json_uint32(d, "gid", path, &cd->gid, err);
  if (gid < 0)
    return -1;
  cd->has_mode = mode > 0;
  cd->has_uid = uid > 0;
  cd->has_gid = gid > 0;
  return 0;
}

static int parse_kv_object(yajl_val parent, const char *key, const char *ppath, struct cove_kv **out, size_t *n,
                           cove_err *err)
{
  yajl_val o;
  int r = cove_json_object(parent, key, ppath, &o, err);
  if (r <= 0)
    return r;
  *n = o->u.object.len;
  *out = calloc(*n ? *n : 1, sizeof **out);
  if (!*out)
    return cove_error(err, ENOMEM, "%s", key);
  for (size_t i = 0; i < *n; i++) {
    yajl_val v = o->u.object.values[i];
    char path[COVE_PATH_MAX];
    cove_json_path(path, ppath, key);
    if (!YAJL_IS_STRING(v))
      return cove_error(err, 0, "%s.%s: expected string, got %s", path, o->u.object.keys[i], cove_json_type_name(v));
    (*out)[i].key = o->u.object.keys[i];
    (*out)[i].value = v->u.string;
  }
  return 0;
}

static int parse_resources(struct cove_spec *s, yajl_val linux_obj, cove_err *err)
{
  yajl_val res;
  int r = cove_json_object(linux_obj, "resources", "linux", &res, err);
  if (r <= 0)
    return r;
  s->resources = res;
  /* Whether each limit can be enforced here is decided by the cgroup
   * layer before anything is created (enforce or refuse, never drop). */
  return cove_resources_parse(res, "linux.resources", &s->res, err);
}

static unsigned long parse_propagation(const char *v)
{
  static const struct {
    const char *n;
    unsigned long f;
  } t[] = {{"shared", MS_SHARED},         {"slave", MS_SLAVE},           {"private", MS_PRIVATE},
           {"unbindable", MS_UNBINDABLE}, {"rshared", MS_SHARED | MS_REC}, {"rslave", MS_SLAVE | MS_REC},
           {"rprivate", MS_PRIVATE | MS_REC}, {"runbindable", MS_UNBINDABLE | MS_REC}};
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    if (strcmp(v, t[i].n) == 0)
      return t[i].f;
  return 0;
}

static int parse_linux(struct cove_spec *s, yajl_val top, cove_err *err)
{
  yajl_val lx = NULL;
  if (cove_json_object(top, "linux", "", &lx, err) < 0)
    return -1;
  if (!lx)
    return cove_error(err, 0, "linux: missing (cove runs Linux containers)");
  if (parse_namespaces(s, lx, err) < 0 || 
      cove_json_each_object(lx, "uidMappings", "linux", sizeof *s->uid_mappings, (void **)&s->uid_mappings,
                            &s->n_uid_mappings, parse_idmap, NULL, err) < 0 ||
      cove_json_each_object(lx, "gidMappings", "linux", sizeof *s->gid_mappings, (void **)&s->gid_mappings,
                            &s->n_gid_mappings, parse_idmap, NULL, err) < 0 ||
      cove_json_each_object(lx, "devices", "linux", sizeof *s->devices, (void **)&s->devices, &s->n_devices,
                            parse_device, NULL, err) < 0 ||
      parse_resources(s, lx, err) < 0 || cove_json_string(lx, "cgroupsPath", "linux", &s->cgroups_path, err) < 0 ||
      cove_json_string(lx, "mountLabel", "linux", &s->mount_label, err) < 0 ||
      cove_json_strv(lx, "maskedPaths", "linux", &s->masked_paths, err) < 0 ||
      cove_json_strv(lx, "readonlyPaths", "linux", &s->readonly_paths, err) < 0 ||
      parse_kv_object(lx, "sysctl", "linux", &s->sysctl, &s->n_sysctl, err) < 0 ||
      cove_spec_parse_seccomp(lx, "linux", s, err) < 0)
    return -1;

  const char *prop = NULL;
  if (cove_json_string(lx, "rootfsPropagation", "linux", &prop, err) < 0)
    return -1;
  if (prop && *prop && !(s->rootfs_propagation = parse_propagation(prop)))
    return cove_error(err, 0, "linux.rootfsPropagation: unknown propagation \"%s\"", prop);

  for (size_t i = 0; i < s->masked_paths.n; i++)
    if (s->masked_paths.v[i][0] != '/')
      return cove_error(err, 0, "linux.maskedPaths[%zu]: \"%s\" must be absolute", i, s->masked_paths.v[i]);
  for (size_t i = 0; i < s->readonly_paths.n; i++)
    if (s->readonly_paths.v[i][0] != '/')
      return cove_error(err, 0, "linux.readonlyPaths[%zu]: \"%s\" must be absolute", i, s->readonly_paths.v[i]);

  yajl_val pers;
  int r = cove_json_object(lx, "personality", "linux", &pers, err);
  if (r < 0)
    return -1;
  if (r > 0) {
    const char *dom = NULL;
    if (cove_json_string(pers, "domain", "linux.personality", &dom, err) < 0)
      return -1;
    if (!dom)
      return cove_error(err, 0, "linux.personality.domain: missing");
    if (strcmp(dom, "LINUX") == 0)
      s->personality = PER_LINUX;
    else if (strcmp(dom, "LINUX32") == 0)
      s->personality = PER_LINUX32;
    else
      return cove_error(err, 0, "linux.personality.domain: unknown domain \"%s\"", dom);
    s->has_personality = true;
  }

  yajl_val to;
  if ((r = cove_json_object(lx, "timeOffsets", "linux", &to, err)) < 0)
    return -1;
  if (r > 0) {
    for (size_t i = 0; i < to->u.object.len; i++) {
      const char *clk = to->u.object.keys[i];
      yajl_val o = to->u.object.values[i];
      char path[COVE_PATH_MAX];
      snprintf(path, sizeof path, "linux.timeOffsets.%s", clk);
      int64_t *secs;
      uint32_t *nsecs;
      if (strcmp(clk, "monotonic") == 0) {
        secs = &s->monotonic_secs;
        nsecs = &s->monotonic_nsecs;
      } else if (strcmp(clk, "boottime") == 0) {
        secs = &s->boottime_secs;
        nsecs = &s->boottime_nsecs;
      } else {
        return cove_error(err, 0, "%s: unknown clock (monotonic or boottime)", path);
      }
      if (!YAJL_IS_OBJECT(o))
        return cove_error(err, 0, "%s: expected object, got %s", path, cove_json_type_name(o));
      if (cove_json_int64(o, "secs", path, secs, err) < 0 || cove_json_uint32(o, "nanosecs", path, nsecs, err) < 0)
        return -1;
    }
    s->has_time_offsets = true;
    if (!s->ns[COVE_NS_TIME].wanted || s->ns[COVE_NS_TIME].path)
      return cove_error(err, 0, "linux.timeOffsets: needs a new time namespace in linux.namespaces");
  }
  return 0;
}

/* hooks.<kind>: each entry {path (absolute), args, env, timeout > 0}.
 * The spec forbids failing on an unknown kind, but a misspelt one is a hook
 * that never runs (often the one setting up networking): parse_hooks warns
 * about it instead of only logging it with --debug. */
static int parse_hook(yajl_val e, const char *ep, void *item, size_t i, void *ctx, cove_err *err)
{
  (void)i, (void)ctx;
  struct cove_hook *hk = item;
  static const char *const keys[] = {"path", "args", "env", "timeout", NULL};
  int64_t timeout = 0;
  int r;
  cove_json_ignore_unknown(e, ep, keys, COVE_LOG_DEBUG);
  if ((r = cove_json_string(e, "path", ep, &hk->path, err)) < 0 || cove_json_strv(e, "args", ep, &hk->args, err) < 0 ||
      cove_json_strv(e, "env", ep, &hk->env, err) < 0)
    return -1;
  if (r == 0 || !*hk->path)
    return cove_error(err, 0, "%s.path: missing", ep);
  if (hk->path[0] != '/')
    return cove_error(err, 0, "%s.path: \"%s\" must be absolute", ep, hk->path);
  for (size_t j = 0; j < hk->env.n; j++)
    if (!env_ok(hk->env.v[j]))
      return cove_error(err, 0, "%s.env[%zu]: \"%s\" is not of the form KEY=value", ep, j, hk->env.v[j]);
  if ((r = cove_json_int64(e, "timeout", ep, &timeout, err)) < 0)
    return -1;
  if (r > 0 && (timeout <= 0 || timeout > 86400 * 365))
    return cove_error(err, 0, "%s.timeout: %lld must be greater than zero (seconds)", ep, (long long)timeout);
  hk->timeout = (int)timeout;
  return 0;
}

static int parse_hook_list(yajl_val h, const char *kind, struct cove_hook **out, size_t *n, cove_err *err)
{
  return cove_json_each_object(h, kind, "hooks", sizeof **out, (void **)out, n, parse_hook, NULL, err);
}

static int parse_hooks(struct cove_spec *s, yajl_val top, cove_err *err)
{
  yajl_val h;
  int r = cove_json_object(top, "hooks", "", &h, err);
  if (r <= 0)
    return r;
  static const char *const kinds[] = {"prestart", "createRuntime", "createContainer", "startContainer",
                                      "poststart", "poststop", NULL};
  struct cove_hooks *k = &s->hooks;
  cove_json_ignore_unknown(h, "hooks", kinds, COVE_LOG_WARN);
  if (parse_hook_list(h, "prestart", &k->prestart, &k->n_prestart, err) < 0 ||
      parse_hook_list(h, "createRuntime", &k->create_runtime, &k->n_create_runtime, err) < 0 ||
      parse_hook_list(h, "createContainer", &k->create_container, &k->n_create_container, err) < 0 ||
      parse_hook_list(h, "startContainer", &k->start_container, &k->n_start_container, err) < 0 ||
      parse_hook_list(h, "poststart", &k->poststart, &k->n_poststart, err) < 0 ||
      parse_hook_list(h, "poststop", &k->poststop, &k->n_poststop, err) < 0)
    return -1;
  return 0;
}

/* The namespace a sysctl belongs to (runc's list): COVE_NS_NET, _IPC or
 * _UTS; -1 for a host-wide one. */
static int sysctl_ns(const char *k)
{
  static const char *const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                         "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  if (!strncmp(k, "net.", 4))
    return COVE_NS_NET;
  if (!strncmp(k, "fs.mqueue.", 10))
    return COVE_NS_IPC;
  for (size_t j = 0; j < sizeof ipc_keys / sizeof *ipc_keys; j++)
    if (!strcmp(k, ipc_keys[j]))
      return COVE_NS_IPC;
  if (!strcmp(k, "kernel.hostname") || !strcmp(k, "kernel.domainname"))
    return COVE_NS_UTS;
  return -1;
}

int cove_spec_check_sysctl_ns(const struct cove_spec *s, enum cove_ns_kind k, int fd, cove_err *err)
{
  const char *key = NULL;
  for (size_t i = 0; i < s->n_sysctl && !key; i++)
    if (sysctl_ns(s->sysctl[i].key) == (int)k)
      key = s->sysctl[i].key;
  if (!key)
    return 0;
  char own[32];
  snprintf(own, sizeof own, "/proc/self/ns/%s", cove_ns_proc_name(k));
  struct stat joined, mine;
  if (fstat(fd, &joined) < 0)
    return cove_error(err, errno, "config.json: linux.namespaces (%s).path: %s", cove_ns_name(k), s->ns[k].path);
  if (stat(own, &mine) < 0)
    return cove_error(err, errno, "%s", own);
  /* "host" means the runtime's own namespace, as for runc: a sysctl
   * written there would change it for every process sharing it */
  if (joined.st_dev == mine.st_dev && joined.st_ino == mine.st_ino)
    return cove_error(err, 0,
                      "config.json: linux.sysctl.%s: linux.namespaces (%s).path %s is the host's %s namespace "
                      "(the runtime's own); setting the sysctl would change the host",
                      key, cove_ns_name(k), s->ns[k].path, cove_ns_name(k));
  return 0;
}

/* Without a "mount" namespace the container shares the runtime's mount
 * namespace (config-linux.md: it MUST inherit it). cove then only chroots
 * into the rootfs: anything that needs a mount would change the host's
 * mount table for everyone, so a config asking for one is refused. */
static int check_shared_mount_ns(const struct cove_spec *s, cove_err *err)
{
  static const char why[] = "needs a \"mount\" namespace in linux.namespaces (without one the container shares "
                            "the host's mount table, which cove never changes)";
  const char *field = s->n_mounts               ? "mounts"
                      : s->masked_paths.n       ? "linux.maskedPaths"
                      : s->readonly_paths.n     ? "linux.readonlyPaths"
                      : s->root_readonly        ? "root.readonly"
                      : s->n_devices            ? "linux.devices"
                      : s->rootfs_propagation   ? "linux.rootfsPropagation"
                      : s->process.terminal     ? "process.terminal"
                                                : NULL;
  if (field)
    return cove_error(err, 0, "%s: %s", field, why);
  return 0;
}

/* Cross-field rules that no single field can check. */
static int validate(struct cove_spec *s, cove_err *err)
{
  if (s->cgroups_path && cove_cgroups_path_check(s->cgroups_path, err) < 0)
    return -1;
  if (!s->ns[COVE_NS_MOUNT].wanted && check_shared_mount_ns(s, err) < 0)
    return -1;
  if ((s->n_uid_mappings || s->n_gid_mappings) && !s->ns[COVE_NS_USER].wanted)
    return cove_error(err, 0, "linux.uidMappings: mappings need a \"user\" namespace in linux.namespaces");
  if (s->ns[COVE_NS_USER].wanted && !s->ns[COVE_NS_USER].path && (!s->n_uid_mappings || !s->n_gid_mappings))
    return cove_error(err, 0, "linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
  if (s->ns[COVE_NS_USER].path && (s->n_uid_mappings || s->n_gid_mappings))
    return cove_error(err, 0, "linux.uidMappings: cannot set mappings when joining an existing user namespace");
  if (s->hostname && *s->hostname && (!s->ns[COVE_NS_UTS].wanted))
    return cove_error(err, 0, "hostname: setting a hostname needs a \"uts\" namespace");
  if (s->domainname && *s->domainname && (!s->ns[COVE_NS_UTS].wanted))
    return cove_error(err, 0, "domainname: setting a domainname needs a \"uts\" namespace");
  /* Only sysctls scoped to a namespace of the container may be set: any
   * other key would change the host for everyone. A namespace joined by
   * path may still be the runtime's own: cove_spec_check_sysctl_ns() checks
   * that on the opened fd, at create. */
  for (size_t i = 0; i < s->n_sysctl; i++) {
    const char *k = s->sysctl[i].key;
    if (strstr(k, "..") || strchr(k, '/'))
      return cove_error(err, 0, "linux.sysctl.%s: not a sysctl name", k);
    int ns = sysctl_ns(k);
    if (ns < 0)
      return cove_error(err, 0, "linux.sysctl.%s: not namespaced; setting it would change the host", k);
    if (!s->ns[ns].wanted)
      return cove_error(err, 0, "linux.sysctl.%s: needs a \"%s\" namespace in linux.namespaces (not the host's)", k,
                        cove_ns_name(ns));
  }
  if (s->process.apparmor_profile && *s->process.apparmor_profile && !cove_lsm_enabled("apparmor"))
    return cove_error(err, 0, "process.apparmorProfile: AppArmor is not enabled on this host");
  if (s->process.selinux_label && *s->process.selinux_label && !cove_lsm_enabled("selinux"))
    return cove_error(err, 0, "process.selinuxLabel: SELinux is not enabled on this host");
  /* the same rule for the mounts' label: never dropped silently */
  if (s->mount_label && *s->mount_label)
    return cove_error(err, 0, "linux.mountLabel: %s", cove_lsm_enabled("selinux")
                                                         ? "SELinux mount labels are not supported by cove"
                                                         : "SELinux is not enabled on this host");
  return 0;
}

int cove_spec_parse(struct cove_spec *s, const char *json, size_t len, const char *bundle, cove_err *err)
{
  cove_seccomp_forget(&s->seccomp);
  memset(s, 0, sizeof *s);
  s->tree = cove_json_tree(json, len, "config.json", err);
  if (!s->tree)
    return -1;
  yajl_val top = s->tree;
  if (!YAJL_IS_OBJECT(top))
    return cove_error(err, 0, "config.json: expected a JSON object at the top level, got %s", cove_json_type_name(top));

  int r = cove_json_string(top, "ociVersion", "", &s->oci_version, err);
  if (r == 0)
    cove_error(err, 0, "ociVersion: missing");
  if (r <= 0 || parse_root(s, top, bundle, err) < 0 || cove_json_string(top, "hostname", "", &s->hostname, err) < 0 ||
      cove_json_string(top, "domainname", "", &s->domainname, err) < 0 || cove_json_each_object(top, "mounts", "", sizeof *s->mounts, (void **)&s->mounts, &s->n_mounts, parse_mount, NULL, err) < 0 ||
      parse_process(s, top, err) < 0 || parse_hooks(s, top, err) < 0 || parse_kv_object(top, "annotations", "", &s->annotations, &s->n_annotations, err) < 0 ||
      parse_linux(s, top, err) < 0 || validate(s, err) < 0)
    return cove_error_prefix(err, "config.json");
  if (strncmp(s->oci_version, "1.", 2) != 0)
    return cove_error(err, 0, "config.json: ociVersion: \"%s\" is not a 1.x runtime-spec version", s->oci_version);
  return 0;
}

/* What create keeps with the container's state (state.c): no root, mounts
 * or namespaces, so nothing here looks at the bundle or the host. */
int cove_spec_parse_kept(struct cove_spec *s, const char *json, size_t len, cove_err *err)
{
  cove_seccomp_forget(&s->seccomp);
  memset(s, 0, sizeof *s);
  if (!(s->tree = cove_json_tree(json, len, "kept spec", err)))
    return -1;
  if (!YAJL_IS_OBJECT(s->tree))
    return cove_error(err, EINVAL, "kept spec: not an object");
  yajl_val lx = NULL;
  int r = cove_json_string(s->tree, "ociVersion", "", &s->oci_version, err);
  if (r == 0)
    cove_error(err, EINVAL, "ociVersion: missing");
  if (r <= 0 || parse_process(s, s->tree, err) < 0 || parse_hooks(s, s->tree, err) < 0 ||
      cove_json_object(s->tree, "linux", "", &lx, err) < 0 || (lx && cove_spec_parse_seccomp(lx, "linux", s, err) < 0))
    return cove_error_prefix(err, "kept spec");
  return 0;
}

int cove_spec_load(struct cove_spec *s, const char *bundle, cove_err *err)
{
  memset(s, 0, sizeof *s);
  _cleanup_close_ int dfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return cove_error(err, errno, "bundle %s", bundle);
  char what[4200];
  snprintf(what, sizeof what, "%s/config.json", bundle);
  size_t len;
  _cleanup_free_ char *buf = cove_read_file_at(dfd, "config.json", O_NOFOLLOW, 16 * 1024 * 1024, &len, what, err);
  if (!buf)
    return -1;
  if (len == 0)
    return cove_error(err, 0, "config.json: empty file");
  return cove_spec_parse(s, buf, len, bundle, err);
}

void cove_process_free(struct cove_process *p)
{
  cove_strv_free(&p->args);
  cove_strv_free(&p->env);
  free(p->additional_gids);
  p->additional_gids = NULL;
  cove_process_security_free(p);
}

static void free_hooks(struct cove_hook *h, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    cove_strv_free(&h[i].args);
    cove_strv_free(&h[i].env);
  }
  free(h);
}

void cove_spec_free(struct cove_spec *s)
{
  for (size_t i = 0; i < s->n_mounts; i++) {
    cove_strv_free(&s->mounts[i].options);
    free(s->mounts[i].data);
  }
  free(s->mounts);
  cove_process_free(&s->process);
  free_hooks(s->hooks.prestart, s->hooks.n_prestart);
  free_hooks(s->hooks.create_runtime, s->hooks.n_create_runtime);
  free_hooks(s->hooks.create_container, s->hooks.n_create_container);
  free_hooks(s->hooks.start_container, s->hooks.n_start_container);
  free_hooks(s->hooks.poststart, s->hooks.n_poststart);
  free_hooks(s->hooks.poststop, s->hooks.n_poststop);
  free(s->annotations);
  free(s->uid_mappings);
  free(s->gid_mappings);
  free(s->devices);
  cove_resources_free(&s->res);
  cove_strv_free(&s->masked_paths);
  cove_strv_free(&s->readonly_paths);
  free(s->sysctl);
  cove_seccomp_free(&s->seccomp);
  free(s->root_path_abs);
  cove_json_tree_free(s->tree);
  memset(s, 0, sizeof *s);
}
