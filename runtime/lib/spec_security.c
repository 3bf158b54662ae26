/* Parsing and validation of the process security fields and linux.seccomp.
 *
 * Everything that can be rejected from the text alone is rejected here, in
 * the runtime, so a bad config fails before any namespace exists. Only what
 * depends on the running kernel or the linked libraries (capabilities above
 * cap_max_bits(), syscall names unknown on an architecture, libseccomp
 * attributes) is left to the apply step in the container's init. */
#include "cove/json.h"
#include "security.h"
#include "seccomp_cache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/un.h>

/* ---- capabilities ---------------------------------------------------- */

static int parse_capset(yajl_val caps, const char *key, const char *path, struct cove_capset *out, cove_err *err)
{
  struct cove_strv names = {0};
  int r = cove_json_strv(caps, key, path, &names, err);
  if (r <= 0 || names.n == 0) {
    cove_strv_free(&names);
    return r;
  }
  int *v = calloc(names.n, sizeof *v);
  if (!v)
    r = cove_error(err, ENOMEM, "%s.%s", path, key);
  for (size_t i = 0; v && i < names.n; i++) {
    const char *name = names.v[i];
    cap_value_t c;
    /* cap_from_name() also takes bare numbers and lower-case names, and
     * matches by prefix ("CAP_KILL,CAP_SYS_ADMIN" reads as CAP_KILL); the
     * spec's vocabulary is the CAP_* constants spelled exactly, and a typo
     * must not silently grant a capability. */
    if (strncmp(name, "CAP_", 4) != 0 || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(name) ||
        cap_from_name(name, &c) < 0) {
      r = cove_error(err, 0, "%s.%s[%zu]: unknown capability \"%s\"", path, key, i, name);
      free(v);
      v = NULL;
    } else {
      v[i] = c;
    }
  }
  if (v) {
    out->caps = v;
    out->n = names.n;
  }
  cove_strv_free(&names);
  return r;
}

static int parse_caps(yajl_val process, const char *path, struct cove_caps *out, cove_err *err)
{
  yajl_val c;
  int r = cove_json_object(process, "capabilities", path, &c, err);
  if (r <= 0)
    return r;
  char p[COVE_PATH_MAX];
  cove_json_path(p, path, "capabilities");
  out->present = true;
  if (parse_capset(c, "bounding", p, &out->bounding, err) < 0 ||
      parse_capset(c, "effective", p, &out->effective, err) < 0 ||
      parse_capset(c, "inheritable", p, &out->inheritable, err) < 0 ||
      parse_capset(c, "permitted", p, &out->permitted, err) < 0 ||
      parse_capset(c, "ambient", p, &out->ambient, err) < 0)
    return -1;
  return 1;
}

/* ---- rlimits --------------------------------------------------------- */

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static int parse_rlimit(yajl_val e, const char *pe, void *item, size_t i, void *ctx, cove_err *err)
{
  struct cove_rlimit *rl = item;
  const struct cove_rlimit *all = rl - i;
  const char *type = NULL;
  if (cove_json_need(cove_json_string(e, "type", pe, &type, err), pe, "type", err) < 0)
    return -1;
  rl->resource = -1;
  for (size_t k = 0; k < sizeof rlimit_names / sizeof *rlimit_names; k++)
    if (strcmp(type, rlimit_names[k].name) == 0) {
      rl->resource = rlimit_names[k].resource;
      rl->name = rlimit_names[k].name;
      break;
    }
  if (rl->resource < 0)
    return cove_error(err, 0, "%s.type: unknown rlimit \"%s\"", pe, type);
  for (size_t k = 0; k < i; k++)
    if (all[k].resource == rl->resource)
      return cove_error(err, 0, "%s.type: duplicate rlimit %s (also in %s[%zu])", pe, type, (const char *)ctx, k);
  if (cove_json_need(cove_json_uint64(e, "soft", pe, &rl->soft, err), pe, "soft", err) < 0 ||
      cove_json_need(cove_json_uint64(e, "hard", pe, &rl->hard, err), pe, "hard", err) < 0)
    return -1;
  /* setrlimit() would refuse it with a bare EINVAL from inside the
   * container; say which entry is wrong while we still can. */
  if (rl->soft > rl->hard)
    return cove_error(err, 0, "%s: soft limit %" PRIu64 " is above hard limit %" PRIu64 " for %s", pe, rl->soft,
                      rl->hard, type);
  return 0;
}

static int parse_rlimits(yajl_val process, const char *path, struct cove_process *out, cove_err *err)
{
  char p[COVE_PATH_MAX];
  cove_json_path(p, path, "rlimits");
  return cove_json_each_object(process, "rlimits", path, sizeof *out->rlimits, (void **)&out->rlimits,
                               &out->n_rlimits, parse_rlimit, p, err);
}

int cove_spec_parse_process_security(yajl_val process, const char *path, struct cove_process *out, cove_err *err)
{
  if (parse_caps(process, path, &out->caps, err) < 0 || parse_rlimits(process, path, out, err) < 0 ||
      cove_json_bool(process, "noNewPrivileges", path, &out->no_new_privileges, err) < 0 ||
      cove_json_string(process, "apparmorProfile", path, &out->apparmor_profile, err) < 0 ||
      cove_json_string(process, "selinuxLabel", path, &out->selinux_label, err) < 0)
    return -1;

  int64_t adj;
  int r = cove_json_int64(process, "oomScoreAdj", path, &adj, err);
  if (r < 0)
    return -1;
  if (r > 0) {
    if (adj < -1000 || adj > 1000) {
      char p[COVE_PATH_MAX];
      cove_json_path(p, path, "oomScoreAdj");
      return cove_error(err, 0, "%s: %" PRId64 " is outside the range -1000..1000", p, adj);
    }
    out->has_oom_score_adj = true;
    out->oom_score_adj = (int)adj;
  }
  return 0;
}

void cove_process_security_free(struct cove_process *p)
{
  struct cove_capset *sets[] = {&p->caps.bounding, &p->caps.effective, &p->caps.inheritable, &p->caps.permitted,
                                &p->caps.ambient};
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
    free(sets[i]->caps);
    sets[i]->caps = NULL;
    sets[i]->n = 0;
  }
  p->caps.present = false;
  free(p->rlimits);
  p->rlimits = NULL;
  p->n_rlimits = 0;
}

/* ---- seccomp --------------------------------------------------------- */

static const char *const seccomp_actions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",   "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY", NULL,
};
static const char *const seccomp_ops[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};
static const char *const seccomp_flags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    NULL,
};
/* The spec's list as of libseccomp 2.6.0. Names the linked libseccomp does
 * not know are still valid config; the filter builder skips them. */
static const char *const seccomp_archs[] = {
    "SCMP_ARCH_X86",       "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",        "SCMP_ARCH_ARM",      "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",      "SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32",  "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",    "SCMP_ARCH_PPC64",      "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",     "SCMP_ARCH_PARISC",   "SCMP_ARCH_PARISC64",   "SCMP_ARCH_RISCV64",  "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",      "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",       NULL,
};

static bool in_list(const char *const *list, const char *s)
{
  for (; *list; list++)
    if (strcmp(*list, s) == 0)
      return true;
  return false;
}

static bool action_takes_errno(const char *action)
{
  return strcmp(action, "SCMP_ACT_ERRNO") == 0 || strcmp(action, "SCMP_ACT_TRACE") == 0;
}

/* Reads an action and its errno, enforcing the spec's "when the action
 * doesn't support an errno, the runtime MUST print an error and fail". */
static int parse_action(yajl_val obj, const char *akey, const char *ekey, const char *path, const char **action,
                        bool *has_errno, uint32_t *errno_ret, cove_err *err)
{
  if (cove_json_need(cove_json_string(obj, akey, path, action, err), path, akey, err) < 0)
    return -1;
  if (!in_list(seccomp_actions, *action))
    return cove_error(err, 0, "%s.%s: unknown action \"%s\"", path, akey, *action);
  int r = cove_json_uint32(obj, ekey, path, errno_ret, err);
  if (r < 0)
    return -1;
  if (r > 0) {
    if (!action_takes_errno(*action))
      return cove_error(err, 0, "%s.%s: not supported with action %s (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE)",
                        path, ekey, *action);
    /* The kernel keeps 16 bits of data next to the action. */
    if (*errno_ret > 0xffff)
      return cove_error(err, 0, "%s.%s: %" PRIu32 " is out of range (0..65535)", path, ekey, *errno_ret);
    *has_errno = true;
  }
  return 0;
}

static int parse_names_list(yajl_val obj, const char *key, const char *path, const char *const *valid,
                            const char *what, struct cove_strv *out, cove_err *err)
{
  if (cove_json_strv(obj, key, path, out, err) < 0)
    return -1;
  for (size_t i = 0; i < out->n; i++)
    if (!in_list(valid, out->v[i]))
      return cove_error(err, 0, "%s.%s[%zu]: unknown %s \"%s\"", path, key, i, what, out->v[i]);
  return 0;
}

static int parse_arg(yajl_val e, const char *pe, void *item, size_t i, void *ctx, cove_err *err)
{
  (void)i, (void)ctx;
  struct cove_seccomp_arg *arg = item;
  uint32_t idx;
  if (cove_json_need(cove_json_uint32(e, "index", pe, &idx, err), pe, "index", err) < 0)
    return -1;
  /* Syscalls take at most six arguments; seccomp_data has no more. */
  if (idx > 5)
    return cove_error(err, 0, "%s.index: %" PRIu32 " is out of range (0..5)", pe, idx);
  arg->index = idx;
  if (cove_json_need(cove_json_uint64(e, "value", pe, &arg->value, err), pe, "value", err) < 0 ||
      cove_json_uint64(e, "valueTwo", pe, &arg->value_two, err) < 0 ||
      cove_json_need(cove_json_string(e, "op", pe, &arg->op, err), pe, "op", err) < 0)
    return -1;
  if (!in_list(seccomp_ops, arg->op))
    return cove_error(err, 0, "%s.op: unknown operator \"%s\"", pe, arg->op);
  return 0;
}

static int parse_rule(yajl_val e, const char *pe, void *item, size_t i, void *ctx, cove_err *err)
{
  (void)i, (void)ctx;
  struct cove_seccomp_rule *rule = item;
  if (cove_json_need(cove_json_strv(e, "names", pe, &rule->names, err), pe, "names", err) < 0)
    return -1;
  if (rule->names.n == 0)
    return cove_error(err, 0, "%s.names: must contain at least one syscall name", pe);
  for (size_t k = 0; k < rule->names.n; k++)
    if (!rule->names.v[k][0])
      return cove_error(err, 0, "%s.names[%zu]: empty syscall name", pe, k);
  if (parse_action(e, "action", "errnoRet", pe, &rule->action, &rule->has_errno_ret, &rule->errno_ret, err) < 0 ||
      cove_json_each_object(e, "args", pe, sizeof *rule->args, (void **)&rule->args, &rule->n_args, parse_arg, NULL,
                            err) < 0)
    return -1;
  return 0;
}

/* The init sends the notify fd to the agent with sendmsg() after the filter
 * is loaded: if that very syscall were routed to the (not yet connected)
 * agent the container would hang forever. */
static int check_notify(const struct cove_seccomp *s, const char *p, cove_err *err)
{
  if (strcmp(s->default_action, "SCMP_ACT_NOTIFY") == 0)
    return cove_error(err, 0,
                      "%s.defaultAction: SCMP_ACT_NOTIFY cannot be the default action (the runtime needs sendmsg "
                      "to hand the notify fd to the agent)",
                      p);
  for (size_t i = 0; i < s->n_rules; i++) {
    const struct cove_seccomp_rule *rule = &s->rules[i];
    if (strcmp(rule->action, "SCMP_ACT_NOTIFY") != 0)
      continue;
    if (!s->listener_path)
      return cove_error(err, 0, "%s.syscalls[%zu].action: SCMP_ACT_NOTIFY requires %s.listenerPath", p, i, p);
    for (size_t k = 0; k < rule->names.n; k++)
      if (strcmp(rule->names.v[k], "sendmsg") == 0)
        return cove_error(err, 0,
                          "%s.syscalls[%zu].names[%zu]: SCMP_ACT_NOTIFY cannot be used for sendmsg (the runtime "
                          "needs it to hand the notify fd to the agent)",
                          p, i, k);
  }
  return 0;
}

int cove_spec_parse_seccomp(yajl_val linux_obj, const char *path, struct cove_spec *spec, cove_err *err)
{
  yajl_val sc;
  int r = cove_json_object(linux_obj, "seccomp", path, &sc, err);
  if (r <= 0)
    return r;
  char p[COVE_PATH_MAX];
  cove_json_path(p, path, "seccomp");
  struct cove_seccomp *s = &spec->seccomp;
  cove_seccomp_forget(s);
  /* Set first so cove_spec_free() releases partial results on error. */
  spec->has_seccomp = true;

  if (parse_action(sc, "defaultAction", "defaultErrnoRet", p, &s->default_action, &s->has_default_errno_ret,
                   &s->default_errno_ret, err) < 0 ||
      parse_names_list(sc, "architectures", p, seccomp_archs, "architecture", &s->architectures, err) < 0 ||
      parse_names_list(sc, "flags", p, seccomp_flags, "flag", &s->flags, err) < 0 ||
      cove_json_string(sc, "listenerPath", p, &s->listener_path, err) < 0 ||
      cove_json_string(sc, "listenerMetadata", p, &s->listener_metadata, err) < 0 ||
      cove_json_each_object(sc, "syscalls", p, sizeof *s->rules, (void **)&s->rules, &s->n_rules, parse_rule, NULL,
                            err) < 0)
    return -1;

  if (s->listener_path) {
    if (s->listener_path[0] != '/')
      return cove_error(err, 0, "%s.listenerPath: \"%s\" must be an absolute path", p, s->listener_path);
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
    if (strlen(s->listener_path) > max)
      return cove_error(err, 0, "%s.listenerPath: \"%s\" is too long for a unix socket address (max %zu bytes)", p,
                        s->listener_path, max);
  }
  if (s->listener_metadata && !s->listener_path)
    return cove_error(err, 0, "%s.listenerMetadata: must not be set without %s.listenerPath", p, p);
  if (cove_seccomp_uses_notify(s) && check_notify(s, p, err) < 0)
    return -1;
  return 1;
}

void cove_seccomp_free(struct cove_seccomp *s)
{
  cove_seccomp_forget(s);
  cove_strv_free(&s->architectures);
  cove_strv_free(&s->flags);
  for (size_t i = 0; i < s->n_rules; i++) {
    cove_strv_free(&s->rules[i].names);
    free(s->rules[i].args);
  }
  free(s->rules);
  memset(s, 0, sizeof *s);
}
