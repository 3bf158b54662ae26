/* The sandbox's config.json, generated with yajl: the agent profile
 * (policy/agent-seccomp.json, agent capabilities, no_new_privs), the mount
 * plan with fd sources, the policy's environment only, and the limits in
 * linux.resources. */
#include "agent.h"

#include "cove/agent_profile.h"
#include "cove/cleanup.h"
#include "cove/json.h"
#include "cove/jsongen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>


static void emit_rule(struct cove_gen *g, yajl_val r, bool notify)
{
  yajl_val a = cove_json_field(r, "action"), e = cove_json_field(r, "errnoRet");
  /* The explicit EPERM denials go to our notify listener, which answers
   * EPERM too and writes the audit line; other actions stay as they are. */
  bool conv = notify && a && YAJL_IS_STRING(a) && !strcmp(a->u.string, "SCMP_ACT_ERRNO") && e &&
              YAJL_IS_INTEGER(e) && e->u.number.i == 1;
  cove_gen_map_open(g);
  for (size_t i = 0; i < r->u.object.len; i++) {
    const char *k = r->u.object.keys[i];
    if (conv && !strcmp(k, "errnoRet"))
      continue;
    cove_gen_key(g, k);
    if (conv && !strcmp(k, "action"))
      cove_gen_str(g, "SCMP_ACT_NOTIFY");
    else
      cove_gen_value(g, r->u.object.values[i]);
  }
  cove_gen_map_close(g);
}

static void emit_seccomp(struct cove_gen *g, yajl_val prof, struct agent_ctx *c)
{
  bool notify = c->pol.seccomp_notify;
  cove_gen_map_open(g);
  for (size_t i = 0; i < prof->u.object.len; i++) {
    const char *k = prof->u.object.keys[i];
    yajl_val v = prof->u.object.values[i];
    if (notify && (!strcmp(k, "listenerPath") || !strcmp(k, "listenerMetadata")))
      continue;
    cove_gen_key(g, k);
    /* architectures pass through: the runtime leaves out what this
     * kernel cannot run */
    if (!strcmp(k, "syscalls") && YAJL_IS_ARRAY(v)) {
      cove_gen_array_open(g);
      for (size_t j = 0; j < v->u.array.len; j++)
        if (YAJL_IS_OBJECT(v->u.array.values[j]))
          emit_rule(g, v->u.array.values[j], notify);
      cove_gen_array_close(g);
    } else {
      cove_gen_value(g, v);
    }
  }
  if (notify) {
    char lp[32];
    agent_fd_source(lp, c->notify.sock_path_fd); /* the socket file, reached without traversing the run dir */
    cove_gen_kv_str(g, "listenerPath", lp);
    cove_gen_kv_str(g, "listenerMetadata", c->id);
  }
  cove_gen_map_close(g);
}

static void mount_obj(struct cove_gen *g, const char *dest, const char *type, const char *src,
                      const char *const *opts)
{
  cove_gen_map_open(g);
  cove_gen_kv_str(g, "destination", dest);
  cove_gen_kv_str(g, "type", type);
  cove_gen_kv_str(g, "source", src);
  cove_gen_key(g, "options");
  cove_gen_strv(g, opts);
  cove_gen_map_close(g);
}

static void emit_mounts(struct cove_gen *g, struct agent_ctx *c)
{
  char src[32];
  cove_gen_array_open(g);
  for (size_t i = 0; i < c->plan.n; i++) {
    const struct agent_mount *m = &c->plan.m[i];
    const char *d = m->destination;
    switch (m->kind) {
    case AM_BIND:
      agent_fd_source(src, m->fd);
      if (m->recursive)
        mount_obj(g, d, "bind", src, (const char *const[]){"rbind", "rro", "rnosuid", "rnodev", NULL});
      else if (m->walk) /* the staged tree: its masks are mounts below it */
        mount_obj(g, d, "bind", src,
                  (const char *const[]){"rbind", m->writable ? "rw" : "ro", "nosuid", "nodev", NULL});
      else
        mount_obj(g, d, "bind", src,
                  (const char *const[]){"bind", m->writable ? "rw" : "ro", "nosuid", "nodev", NULL});
      break;
    case AM_TMPFS:
      if (!strcmp(d, "/dev"))
        mount_obj(g, d, "tmpfs", "tmpfs",
                  (const char *const[]){"nosuid", "strictatime", "mode=755", "size=65536k", NULL});
      else
        mount_obj(g, d, "tmpfs", "tmpfs",
                  (const char *const[]){"nosuid", "nodev", !strcmp(d, "/tmp") || !strcmp(d, "/dev/shm")
                                                             ? "mode=1777" : "mode=755", NULL});
      break;
    case AM_PROC:
      mount_obj(g, d, "proc", "proc", (const char *const[]){"nosuid", "nodev", "noexec", NULL});
      break;
    case AM_DEVPTS:
      mount_obj(g, d, "devpts", "devpts",
                (const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL});
      break;
    case AM_SYMLINK:
      break;
    }
  }
  cove_gen_array_close(g);
}

static void ns(struct cove_gen *g, const char *type, int fd)
{
  cove_gen_map_open(g);
  cove_gen_kv_str(g, "type", type);
  if (fd >= 0) {
    char p[32];
    agent_fd_source(p, fd);
    cove_gen_kv_str(g, "path", p);
  }
  cove_gen_map_close(g);
}

static void emit_env(struct cove_gen *g, struct agent_ctx *c)
{
  const struct agent_policy *p = &c->pol;
  char buf[8192];
  cove_gen_array_open(g);
  bool has_path = false, has_home = false;
  for (size_t i = 0; i < p->n_env; i++) {
    has_path |= !strcmp(p->env[i].key, "PATH");
    has_home |= !strcmp(p->env[i].key, "HOME");
    snprintf(buf, sizeof buf, "%s=%s", p->env[i].key, p->env[i].value);
    cove_gen_str(g, buf);
  }
  if (!has_path)
    cove_gen_str(g, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!has_home)
    cove_gen_str(g, "HOME=/home/agent");
  if (p->net == AGENT_NET_PROXY) {
    static const char *const vars[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"};
    for (size_t i = 0; i < 4; i++) {
      snprintf(buf, sizeof buf, "%s=http://127.0.0.1:%d", vars[i], c->netns.port);
      cove_gen_str(g, buf);
    }
    /* Local services inside the sandbox bypass the proxy, unless the
     * policy routes a loopback name through it on purpose. */
    char np[4096] = "";
    if (p->has_no_proxy) {
      for (size_t i = 0; i < p->n_no_proxy; i++)
        snprintf(np + strlen(np), sizeof np - strlen(np), "%s%s", i ? "," : "", p->no_proxy[i]);
    } else {
      static const char *const dflt[] = {"localhost", "127.0.0.1", "::1"};
      for (size_t i = 0; i < 3; i++) {
        bool routed = false;
        for (size_t j = 0; j < p->n_allow; j++)
          routed |= !strcmp(p->allow[j], dflt[i]);
        if (!routed)
          snprintf(np + strlen(np), sizeof np - strlen(np), "%s%s", np[0] ? "," : "", dflt[i]);
      }
    }
    snprintf(buf, sizeof buf, "NO_PROXY=%s", np);
    cove_gen_str(g, buf);
    snprintf(buf, sizeof buf, "no_proxy=%s", np);
    cove_gen_str(g, buf);
  }
  /* credentials: the agent gets a placeholder and trusts the run's CA */
  for (size_t i = 0; i < p->n_creds; i++)
    if (p->creds[i].placeholder) {
      snprintf(buf, sizeof buf, "%s=" AGENT_CRED_PLACEHOLDER, p->creds[i].placeholder);
      cove_gen_str(g, buf);
    }
  if (p->n_creds) {
    static const char *const ca[] = {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE",
                                     "GIT_SSL_CAINFO"};
    for (size_t i = 0; i < 5; i++) {
      snprintf(buf, sizeof buf, "%s=" AGENT_CA_BUNDLE, ca[i]);
      cove_gen_str(g, buf);
    }
  }
  cove_gen_array_close(g);
}

yajl_val agent_profile_load(cove_err *err)
{
  char ppath[4096];
  if (cove_agent_profile_path(ppath, sizeof ppath) < 0)
    return cove_error(err, errno, "agent seccomp profile %s not found", COVE_AGENT_PROFILE_NAME), NULL;
  _cleanup_free_ char *ptext = agent_read_small_file(ppath, 1 << 20, err);
  if (!ptext)
    return cove_error_prefix(err, "agent seccomp profile"), NULL;
  char what[4200];
  snprintf(what, sizeof what, "agent seccomp profile %s", ppath);
  yajl_val prof = cove_json_tree(ptext, strlen(ptext), what, err);
  if (prof && !YAJL_IS_OBJECT(prof)) {
    cove_json_tree_free(prof);
    return cove_error(err, 0, "%s: not a JSON object", what), NULL;
  }
  return prof;
}

static void emit_process(struct cove_gen *g, struct agent_ctx *c)
{
  cove_gen_key(g, "process");
  cove_gen_map_open(g);
  cove_gen_kv_bool(g, "terminal", false);
  cove_gen_key(g, "user");
  cove_gen_map_open(g);
  cove_gen_kv_int(g, "uid", 0);
  cove_gen_kv_int(g, "gid", 0);
  cove_gen_map_close(g);
  cove_gen_key(g, "args");
  cove_gen_strv(g, (const char *const *)c->o->argv);
  cove_gen_key(g, "env");
  emit_env(g, c);
  cove_gen_kv_str(g, "cwd", "/workspace");
  cove_gen_key(g, "capabilities");
  cove_gen_map_open(g);
  static const char *const sets[] = {"bounding", "effective", "permitted"};
  for (size_t i = 0; i < 3; i++) {
    cove_gen_key(g, sets[i]);
    cove_gen_strv(g, cove_agent_caps);
  }
  cove_gen_map_close(g);
  cove_gen_kv_bool(g, "noNewPrivileges", true);
  cove_gen_map_close(g);
}

static void emit_limit(struct cove_gen *g, const char *key, const char *k1, long long v1, const char *k2, long long v2)
{
  cove_gen_key(g, key);
  cove_gen_map_open(g);
  cove_gen_kv_int(g, k1, v1);
  if (k2)
    cove_gen_kv_int(g, k2, v2);
  cove_gen_map_close(g);
}

static void emit_resources(struct cove_gen *g, const struct agent_ctx *c)
{
  cove_gen_key(g, "resources");
  cove_gen_map_open(g);
  emit_limit(g, "memory", "limit", (long long)c->pol.memory, "swap", (long long)c->pol.memory);
  emit_limit(g, "cpu", "quota", (long long)(c->pol.cpus * 100000), "period", 100000);
  emit_limit(g, "pids", "limit", (long long)c->pol.pids, NULL, 0);
  cove_gen_map_close(g);
}

static void emit_linux(struct cove_gen *g, struct agent_ctx *c, yajl_val prof, bool with_limits)
{
  cove_gen_key(g, "linux");
  cove_gen_map_open(g);
  cove_gen_key(g, "namespaces");
  cove_gen_array_open(g);
  /* user, mount and network: made ahead by netns.c and joined */
  ns(g, "user", c->netns.userns_fd);
  ns(g, "mount", c->netns.mntns_fd);
  if (c->pol.net != AGENT_NET_HOST)
    ns(g, "network", c->netns.netns_fd);
  ns(g, "pid", -1);
  ns(g, "ipc", -1);
  ns(g, "uts", -1);
  ns(g, "cgroup", -1);
  cove_gen_array_close(g);
  if (with_limits)
    emit_resources(g, c);
  cove_gen_key(g, "maskedPaths");
  cove_gen_array_open(g);
  for (size_t i = 0; i < c->plan.n_masked_paths; i++)
    cove_gen_str(g, c->plan.masked_paths[i]);
  cove_gen_array_close(g);
  cove_gen_key(g, "readonlyPaths");
  cove_gen_strv(g, (const char *const[]){"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
                                         NULL});
  cove_gen_key(g, "seccomp");
  emit_seccomp(g, prof, c);
  cove_gen_map_close(g);
}

char *agent_bundle_json(struct agent_ctx *c, yajl_val prof, bool with_limits, size_t *len, cove_err *err)
{
  char rootfs[4200];
  /* by fd, like every source: as root the sandbox's id cannot traverse
   * the private run directory (the runtime binds the root by fd); for a
   * policy rootfs it is the checked tree, staged and masked (netns.c) */
  agent_fd_source(rootfs, c->plan.rootfs_fd);
  /* in memory: the runtime gets the parsed spec (run.c), config.json is
   * written for inspection only. Into the generator's own buffer: through
   * a FILE, each of the ~20,000 pieces yajl emits was an fwrite(). On one
   * line: indented it was 46 KB instead of 25 to generate, parse, write
   * and remove again (jq . shows it indented) */
  struct cove_gen g;
  if (cove_gen_init_line(&g, NULL, err) < 0)
    return NULL;
  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "ociVersion", "1.3.0");
  emit_process(&g, c);
  cove_gen_key(&g, "root");
  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "path", rootfs);
  cove_gen_kv_bool(&g, "readonly", true);
  cove_gen_map_close(&g);
  cove_gen_kv_str(&g, "hostname", "agent");
  cove_gen_key(&g, "mounts");
  emit_mounts(&g, c);
  emit_linux(&g, c, prof, with_limits);
  cove_gen_map_close(&g);
  char *buf = cove_gen_line_dup(&g, "config.json");
  if (buf)
    *len = strlen(buf);
  return buf;
}

int agent_bundle_save(struct agent_ctx *c, const char *json, size_t len, cove_err *err)
{
  char p[4300];
  snprintf(p, sizeof p, "%s/bundle/config.json", c->rundir);
  _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return cove_error(err, errno, "%s", p);
  for (size_t off = 0; off < len;) {
    ssize_t n = write(fd, json + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return cove_error(err, errno, "%s", p);
    off += (size_t)n;
  }
  return 0;
}
