/* linux.seccomp: building the libseccomp filter and loading it in the
 * container's init, plus the SCMP_ACT_NOTIFY hand-off to the agent.
 *
 * Names were validated by the parser; what can still fail here depends on
 * the running kernel and the linked libseccomp (syscall tables, filter
 * attributes), which only the process that loads the filter can judge. */
#include "cove/json.h"
#include "cove/jsongen.h"
#include "cove/log.h"
#include "security.h"
#include "cove/cleanup.h"
#include "seccomp_cache.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>

#define OCI_VERSION "1.3.0"

static uint32_t action_value(const char *name, bool has_errno, uint32_t errno_ret)
{
  uint32_t data = has_errno ? errno_ret : EPERM;
  if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
    return SCMP_ACT_KILL_THREAD;
  if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
    return SCMP_ACT_KILL_PROCESS;
  if (strcmp(name, "SCMP_ACT_TRAP") == 0)
    return SCMP_ACT_TRAP;
  if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
    return SCMP_ACT_ERRNO(data);
  if (strcmp(name, "SCMP_ACT_TRACE") == 0)
    return SCMP_ACT_TRACE(data);
  if (strcmp(name, "SCMP_ACT_LOG") == 0)
    return SCMP_ACT_LOG;
  if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
    return SCMP_ACT_NOTIFY;
  /* The parser admits nothing else; ALLOW is the only name left. */
  return SCMP_ACT_ALLOW;
}

static enum scmp_compare op_value(const char *name)
{
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (strcmp(name, ops[i].name) == 0)
      return ops[i].op;
  return _SCMP_CMP_MIN;
}

bool cove_seccomp_uses_notify(const struct cove_seccomp *s)
{
  const struct cove_seccomp_primed *pr = &cove_seccomp_primed_filter;
  if (pr->set && pr->src == s)
    return pr->notify;
  if (s->default_action && strcmp(s->default_action, "SCMP_ACT_NOTIFY") == 0)
    return true;
  for (size_t i = 0; i < s->n_rules; i++)
    if (strcmp(s->rules[i].action, "SCMP_ACT_NOTIFY") == 0)
      return true;
  return false;
}

static int set_attr(scmp_filter_ctx ctx, enum scmp_filter_attr a, uint32_t v, const char *what, cove_err *err)
{
  int rc = seccomp_attr_set(ctx, a, v);
  if (rc < 0)
    return cove_error(err, -rc, "linux.seccomp: %s", what);
  return 0;
}

static int apply_flags(scmp_filter_ctx ctx, const struct cove_seccomp *s, cove_err *err)
{
  for (size_t i = 0; i < s->flags.n; i++) {
    const char *f = s->flags.v[i];
    int r = 0;
    if (strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
      r = set_attr(ctx, SCMP_FLTATR_CTL_TSYNC, 1, "SECCOMP_FILTER_FLAG_TSYNC", err);
    else if (strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0)
      r = set_attr(ctx, SCMP_FLTATR_CTL_LOG, 1, "SECCOMP_FILTER_FLAG_LOG", err);
    else if (strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
      r = set_attr(ctx, SCMP_FLTATR_CTL_SSB, 1, "SECCOMP_FILTER_FLAG_SPEC_ALLOW", err);
    else if (strcmp(f, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0) {
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
      r = set_attr(ctx, SCMP_FLTATR_CTL_WAITKILL, 1, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", err);
#else
      const struct scmp_version *v = seccomp_version();
      r = cove_error(err, 0,
                     "linux.seccomp.flags[%zu]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported by "
                     "libseccomp %u.%u.%u (needs 2.6.0)",
                     i, v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0);
#endif
    }
    if (r < 0)
      return r;
  }
  return 0;
}

/* Whether this kernel can run code of architecture `token` at all: its
 * native ABI and the compat ABIs it carries. Profiles list every arch they
 * might meet (Docker's lists ARM on x86 hosts); compiling rules for an ABI
 * whose syscalls can never arrive costs most of a container's start (the
 * agent profile: 129 ms with five arches, 85 ms with the three x86 ones)
 * and changes nothing: a syscall of an arch left out would hit the bad-arch
 * action, and none can come. Unknown hosts keep everything. */
static bool arch_runnable(uint32_t token)
{
  static const struct {
    uint32_t native, compat[2];
  } abis[] = {
    {SCMP_ARCH_X86_64, {SCMP_ARCH_X86, SCMP_ARCH_X32}},
    {SCMP_ARCH_AARCH64, {SCMP_ARCH_ARM, 0}},
    {SCMP_ARCH_S390X, {SCMP_ARCH_S390, 0}},
  };
  uint32_t native = seccomp_arch_native();
  if (token == native)
    return true;
  for (size_t i = 0; i < sizeof abis / sizeof *abis; i++)
    if (abis[i].native == native)
      return token == abis[i].compat[0] || token == abis[i].compat[1];
  return true;
}

static int add_arches(scmp_filter_ctx ctx, const struct cove_seccomp *s, cove_err *err)
{
  for (size_t i = 0; i < s->architectures.n; i++) {
    const char *oci = s->architectures.v[i];
    /* libseccomp's own names are the OCI suffix in lower case. */
    char lib[32];
    size_t k = 0;
    for (const char *q = oci + strlen("SCMP_ARCH_"); *q && k + 1 < sizeof lib; q++)
      lib[k++] = (char)tolower((unsigned char)*q);
    lib[k] = 0;
    uint32_t token = seccomp_arch_resolve_name(lib);
    if (token == 0) {
      /* Leaving it out only makes the filter stricter: syscalls from an
       * architecture not in the filter hit the bad-arch action (kill). */
      cove_warn("linux.seccomp.architectures[%zu]: %s is not supported by this libseccomp, skipping", i, oci);
      continue;
    }
    if (!arch_runnable(token)) {
      cove_debug("linux.seccomp.architectures[%zu]: %s cannot run on this kernel, left out", i, oci);
      continue;
    }
    int rc = seccomp_arch_add(ctx, token);
    if (rc < 0 && rc != -EEXIST)
      return cove_error(err, -rc, "linux.seccomp.architectures[%zu]: add %s", i, oci);
  }
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct cove_seccomp_rule *rule, size_t ri, uint32_t act,
                    cove_err *err)
{
  size_t n = rule->n_args;
  _cleanup_free_ struct scmp_arg_cmp *conds = calloc(n ? n : 1, sizeof *conds);
  if (!conds)
    return cove_error(err, ENOMEM, "linux.seccomp.syscalls[%zu].args", ri);
  bool repeated = false;
  unsigned seen = 0;
  for (size_t i = 0; i < n; i++) {
    conds[i] = (struct scmp_arg_cmp){
        .arg = rule->args[i].index,
        .op = op_value(rule->args[i].op),
        .datum_a = rule->args[i].value,
        .datum_b = rule->args[i].value_two,
    };
    if (seen & (1u << rule->args[i].index))
      repeated = true;
    seen |= 1u << rule->args[i].index;
  }

  for (size_t k = 0; k < rule->names.n; k++) {
    const char *name = rule->names.v[k];
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) {
      cove_warn("linux.seccomp.syscalls[%zu].names[%zu]: unknown syscall \"%s\" on this architecture, skipping", ri,
                k, name);
      continue;
    }
    int rc;
    if (!repeated) {
      rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)n, n ? conds : NULL);
    } else {
      /* libseccomp rejects two conditions on one argument within a rule;
       * like runc, such an entry becomes one rule per condition (any of
       * them matching triggers the action). */
      rc = 0;
      for (size_t i = 0; i < n && rc == 0; i++)
        rc = seccomp_rule_add_array(ctx, act, nr, 1, &conds[i]);
    }
    if (rc < 0)
      return cove_error(err, -rc, "linux.seccomp.syscalls[%zu]: add rule for \"%s\"", ri, name);
  }
  return 0;
}

int cove_seccomp_compile(const struct cove_seccomp *s, cove_seccomp_filter *out, cove_err *err)
{
  uint32_t def = action_value(s->default_action, s->has_default_errno_ret, s->default_errno_ret);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx)
    return cove_error(err, 0, "linux.seccomp.defaultAction: seccomp_init(%s) failed", s->default_action);

  /* no_new_privs is the config's decision (process.noNewPrivileges), made
   * by the init; libseccomp would otherwise force it on at load. */
  if (set_attr(ctx, SCMP_FLTATR_CTL_NNP, 0, "disable SCMP_FLTATR_CTL_NNP", err) < 0 ||
      /* Real kernel errnos from seccomp_load() instead of ECANCELED, so the
       * missing-privilege case can be told apart. */
      set_attr(ctx, SCMP_FLTATR_API_SYSRAWRC, 1, "enable SCMP_FLTATR_API_SYSRAWRC", err) < 0 ||
      apply_flags(ctx, s, err) < 0 || add_arches(ctx, s, err) < 0)
    goto fail;

  for (size_t i = 0; i < s->n_rules; i++) {
    const struct cove_seccomp_rule *rule = &s->rules[i];
    uint32_t act = action_value(rule->action, rule->has_errno_ret, rule->errno_ret);
    /* libseccomp refuses rules that repeat the default action; they are
     * no-ops anyway. */
    if (act == def) {
      cove_debug("linux.seccomp.syscalls[%zu]: action equals defaultAction, ignored", i);
      continue;
    }
    if (add_rule(ctx, rule, i, act, err) < 0)
      goto fail;
  }
  *out = ctx;
  return 0;

fail:
  seccomp_release(ctx);
  return -1;
}

/* The filter handle when the primed program is used instead of a
 * libseccomp context. */
static char primed_marker;
#define PRIMED ((cove_seccomp_filter)&primed_marker)

bool cove_seccomp_raw_flags(const struct cove_seccomp *s, unsigned *flags)
{
  unsigned f = 0;
  for (size_t i = 0; i < s->flags.n; i++) {
    const char *n = s->flags.v[i];
    if (!strcmp(n, "SECCOMP_FILTER_FLAG_TSYNC"))
      f |= SECCOMP_FILTER_FLAG_TSYNC;
    else if (!strcmp(n, "SECCOMP_FILTER_FLAG_LOG"))
      f |= SECCOMP_FILTER_FLAG_LOG;
    else if (!strcmp(n, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
      f |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else
      return false;
  }
  *flags = f;
  return true;
}

int cove_seccomp_prepare(const struct cove_seccomp *s, cove_seccomp_filter *out, cove_err *err)
{
  const struct cove_seccomp_primed *pr = &cove_seccomp_primed_filter;
  if (pr->set && pr->src == s) {
    *out = PRIMED;
    return 0;
  }
  if (pr->set) {
    uint8_t key[32];
    cove_seccomp_key(s, key);
    if (!memcmp(key, pr->key, sizeof key)) {
      *out = PRIMED;
      return 0;
    }
  }
  return cove_seccomp_compile(s, out, err);
}

void cove_seccomp_release(cove_seccomp_filter f)
{
  if (f && f != PRIMED)
    seccomp_release(f);
}

/* Loads the filter; with `notify`, returns the listener fd. */
static int do_load(scmp_filter_ctx ctx, bool notify, cove_err *err)
{
  int rc;
  if (ctx == PRIMED) {
    const struct cove_seccomp_primed *pr = &cove_seccomp_primed_filter;
    struct sock_fprog prog = {.len = (unsigned short)pr->n_insns, .filter = pr->prog};
    unsigned flags = pr->flags;
    if (notify)
      flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER | (flags & SECCOMP_FILTER_FLAG_TSYNC ? SECCOMP_FILTER_FLAG_TSYNC_ESRCH : 0);
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    rc = r < 0 ? -errno : notify ? (int)r : 0;
  } else {
    rc = seccomp_load(ctx);
    if (rc == 0 && notify)
      rc = seccomp_notify_fd(ctx);
  }
  if (rc >= 0)
    return rc;
  int e = -rc;
  if ((e == EACCES || e == EPERM) && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0)
    return cove_error(err, e,
                      "linux.seccomp: loading the filter requires process.noNewPrivileges or CAP_SYS_ADMIN in "
                      "the container");
  return cove_error(err, e, "linux.seccomp: load filter");
}

int cove_seccomp_load(const struct cove_seccomp *s, cove_seccomp_filter f, cove_err *err)
{
  /* After pivot_root the listener socket is out of reach; the init has to
   * connect it beforehand and use cove_seccomp_load_notify(). */
  if (cove_seccomp_uses_notify(s))
    return cove_error(err, 0, "linux.seccomp: SCMP_ACT_NOTIFY needs the listener connected before pivot_root "
                              "(cove_seccomp_load_notify)");
  return do_load(f, false, err);
}

int cove_seccomp_listener_connect(const struct cove_seccomp *s, cove_err *err)
{
  if (!cove_seccomp_uses_notify(s))
    return COVE_SECCOMP_NO_LISTENER;
  if (!s->listener_path)
    return cove_error(err, 0, "linux.seccomp: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(s->listener_path) >= sizeof sa.sun_path)
    return cove_error(err, ENAMETOOLONG, "linux.seccomp.listenerPath: %s", s->listener_path);
  strcpy(sa.sun_path, s->listener_path);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cove_error(err, errno, "linux.seccomp.listenerPath: socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return cove_error(err, errno, "linux.seccomp.listenerPath: connect %s", s->listener_path);
  return steal_fd(fd);
}

/* The container process state of config-linux.md, built in full before the
 * filter is loaded: once it is, any syscall (malloc's included) may be
 * routed to an agent that has not received the fd yet. */
static char *build_process_state(const struct cove_seccomp *s, pid_t pid, const char *state_json, cove_err *err)
{
  if (!state_json)
    return cove_error(err, 0, "linux.seccomp: no container state for the seccomp agent"), NULL;
  struct cove_gen g;
  if (cove_gen_init_line(&g, NULL, err) < 0)
    return NULL;
  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "ociVersion", OCI_VERSION);
  cove_gen_key(&g, "fds");
  cove_gen_strv(&g, (const char *const[]){"seccompFd", NULL});
  /* The agent wants the pid as the runtime sees it; getpid() here is the
   * pid inside the container's pid namespace, the fallback only. */
  cove_gen_kv_int(&g, "pid", pid > 0 ? pid : getpid());
  if (s->listener_metadata)
    cove_gen_kv_text(&g, "metadata", s->listener_metadata);
  cove_gen_key(&g, "state");
  cove_gen_raw(&g, state_json); /* written by cove_hook_state_json */
  cove_gen_map_close(&g);
  return cove_gen_line_dup(&g, "linux.seccomp: container process state");
}

static int send_state(int sock, int notify_fd, const char *msg, cove_err *err)
{
  size_t len = strlen(msg), off = 0;
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &notify_fd, sizeof(int));

  /* The spec allows several sendmsg() calls as long as the fd rides on
   * the first one only. */
  while (off < len) {
    ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return cove_error(err, errno, "linux.seccomp.listenerPath: send container process state");
    }
    off += (size_t)n;
    iov.iov_base = (char *)msg + off;
    iov.iov_len = len - off;
    mh.msg_control = NULL;
    mh.msg_controllen = 0;
  }
  return 0;
}

int cove_seccomp_load_notify(const struct cove_seccomp *s, cove_seccomp_filter f, int listener_fd, pid_t pid,
                             const char *state_json, cove_err *err)
{
  _cleanup_close_ int sock = listener_fd;
  if (!cove_seccomp_uses_notify(s))
    return do_load(f, false, err);
  if (sock < 0)
    return cove_error(err, 0, "linux.seccomp: SCMP_ACT_NOTIFY used but no listener connection");

  _cleanup_free_ char *msg = build_process_state(s, pid, state_json, err);
  if (!msg)
    return -1;
  _cleanup_close_ int notify_fd = do_load(f, true, err);
  if (notify_fd < 0)
    return -1;
  /* On failure the notify fd is closed on the way out, so notified
   * syscalls fail with ENOSYS instead of waiting for an agent forever. */
  return send_state(sock, notify_fd, msg, err);
}
