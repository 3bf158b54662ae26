/* `cove spec --agent`: the default spec, re-emitted with the agent seccomp
 * profile and the agent capability set.
 *
 * Rather than a second copy of spec_default.c, the default document is
 * generated into memory, parsed with yajl and written again, replacing
 * process.capabilities, forcing process.noNewPrivileges and inserting
 * linux.seccomp. Numbers are copied as their original text, so 64-bit
 * masks in the profile survive exactly. */
#include "cove/agent_profile.h"
#include "cove/cleanup.h"
#include "cove/defaults.h"
#include "cove/json.h"
#include "security.h"
#include "cove/jsongen.h"
#include "cove/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#ifndef COVE_POLICY_DIR
#define COVE_POLICY_DIR "/usr/local/share/cove/policy"
#endif
#ifndef COVE_SOURCE_POLICY_DIR
#define COVE_SOURCE_POLICY_DIR ""
#endif

/* What a coding agent does: own and chmod files it creates in bind-mounted
 * workspaces (CHOWN, DAC_OVERRIDE, FOWNER, FSETID), signal its own children
 * (KILL), let package managers and build tools drop to an unprivileged
 * uid/gid (SETUID, SETGID) and run dev servers on low ports
 * (NET_BIND_SERVICE). Not SETPCAP, AUDIT_WRITE, MKNOD, NET_RAW, SYS_CHROOT
 * or anything CAP_SYS_*; see docs/agent-profile.md. */
const char *const cove_agent_caps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID",       "CAP_NET_BIND_SERVICE", NULL,
};

static int try_dir(const char *dir, char *out, size_t cap)
{
  if (!dir || !*dir)
    return -1;
  int n = snprintf(out, cap, "%s/%s", dir, COVE_AGENT_PROFILE_NAME);
  if (n < 0 || (size_t)n >= cap) {
    errno = ENAMETOOLONG;
    return -1;
  }
  struct stat st;
  if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
    return 0;
  errno = ENOENT;
  return -1;
}

int cove_agent_profile_path(char *out, size_t cap)
{
  if (!out || cap == 0) {
    errno = EINVAL;
    return -1;
  }
  if (try_dir(COVE_POLICY_DIR, out, cap) == 0 || errno == ENAMETOOLONG)
    return errno == ENAMETOOLONG ? -1 : 0;
  if (try_dir(COVE_SOURCE_POLICY_DIR, out, cap) == 0)
    return 0;
  int e = errno;
  out[0] = 0;
  errno = e;
  return -1;
}

static void emit_process(struct cove_gen *g, yajl_val p)
{
  cove_gen_map_open(g);
  bool caps_done = false, nnp_done = false;
  for (size_t i = 0; i < p->u.object.len; i++) {
    const char *k = p->u.object.keys[i];
    if (strcmp(k, "capabilities") == 0) {
      cove_gen_key(g, k);
      cove_gen_map_open(g);
      static const char *const sets[] = {"bounding", "effective", "permitted"};
      for (size_t s = 0; s < sizeof sets / sizeof *sets; s++) {
        cove_gen_key(g, sets[s]);
        cove_gen_strv(g, cove_agent_caps);
      }
      cove_gen_map_close(g);
      caps_done = true;
    } else if (strcmp(k, "noNewPrivileges") == 0) {
      cove_gen_kv_bool(g, k, true);
      nnp_done = true;
    } else {
      cove_gen_key(g, k);
      cove_gen_value(g, p->u.object.values[i]);
    }
  }
  if (!caps_done) {
    cove_gen_key(g, "capabilities");
    cove_gen_map_open(g);
    cove_gen_key(g, "bounding");
    cove_gen_strv(g, cove_agent_caps);
    cove_gen_key(g, "effective");
    cove_gen_strv(g, cove_agent_caps);
    cove_gen_key(g, "permitted");
    cove_gen_strv(g, cove_agent_caps);
    cove_gen_map_close(g);
  }
  if (!nnp_done)
    cove_gen_kv_bool(g, "noNewPrivileges", true);
  cove_gen_map_close(g);
}

static void emit_linux(struct cove_gen *g, yajl_val lx, yajl_val seccomp)
{
  cove_gen_map_open(g);
  for (size_t i = 0; i < lx->u.object.len; i++) {
    const char *k = lx->u.object.keys[i];
    if (strcmp(k, "seccomp") == 0)
      continue;
    cove_gen_key(g, k);
    cove_gen_value(g, lx->u.object.values[i]);
  }
  cove_gen_key(g, "seccomp");
  cove_gen_value(g, seccomp);
  cove_gen_map_close(g);
}

/* The same checks `cove create` applies to linux.seccomp, on the profile
 * alone: {"seccomp": profile} stands in for the linux object. */
static int validate_profile(yajl_val profile, const char *path, cove_err *err)
{
  const char *keys[] = {"seccomp"};
  yajl_val vals[] = {profile};
  struct yajl_val_s wrapper = {.type = yajl_t_object};
  wrapper.u.object.keys = keys;
  wrapper.u.object.values = vals;
  wrapper.u.object.len = 1;
  struct cove_spec tmp;
  memset(&tmp, 0, sizeof tmp);
  int r = cove_spec_parse_seccomp(&wrapper, "linux", &tmp, err);
  cove_seccomp_free(&tmp.seccomp);
  if (r < 0)
    return cove_error_prefix(err, "agent profile %s", path);
  if (r == 0)
    return cove_error(err, 0, "agent profile %s: empty", path);
  return 0;
}

int cove_spec_default_write_agent(FILE *out, bool rootless, cove_err *err)
{
  char path[4096];
  if (cove_agent_profile_path(path, sizeof path) < 0)
    return cove_error(err, errno, "agent profile: %s not found in %s or %s", COVE_AGENT_PROFILE_NAME,
                      COVE_POLICY_DIR, COVE_SOURCE_POLICY_DIR[0] ? COVE_SOURCE_POLICY_DIR : "(no source tree)");
  char what[4200];
  snprintf(what, sizeof what, "agent profile %s", path);
  _cleanup_free_ char *ptext = cove_read_file_at(AT_FDCWD, path, O_NOFOLLOW, 1024 * 1024, NULL, what, err);
  if (!ptext)
    return -1;

  /* The default document, in memory. */
  _cleanup_free_ char *dtext = NULL;
  size_t dlen = 0;
  FILE *m = open_memstream(&dtext, &dlen);
  if (!m)
    return cove_error(err, errno, "spec: open_memstream");
  int r = cove_spec_default_write(m, rootless, err);
  if (fclose(m) != 0 && r == 0)
    r = cove_error(err, ENOMEM, "spec: default document");
  if (r < 0)
    return -1;

  yajl_val profile = cove_json_tree(ptext, strlen(ptext), path, err);
  if (!profile)
    return -1;
  yajl_val def = NULL;
  int rc = -1;
  if (!YAJL_IS_OBJECT(profile)) {
    cove_error(err, 0, "agent profile %s: expected a JSON object (an OCI linux.seccomp)", path);
    goto out;
  }
  if (validate_profile(profile, path, err) < 0)
    goto out;
  if (!(def = cove_json_tree(dtext, dlen, "spec: default document", err)))
    goto out;
  if (!YAJL_IS_OBJECT(def)) {
    cove_error(err, 0, "spec: default document is not an object");
    goto out;
  }

  struct cove_gen g;
  if (cove_gen_init(&g, out, err) < 0)
    goto out;
  cove_gen_map_open(&g);
  bool linux_done = false;
  for (size_t i = 0; i < def->u.object.len; i++) {
    const char *k = def->u.object.keys[i];
    yajl_val v = def->u.object.values[i];
    cove_gen_key(&g, k);
    if (strcmp(k, "process") == 0 && YAJL_IS_OBJECT(v)) {
      emit_process(&g, v);
    } else if (strcmp(k, "linux") == 0 && YAJL_IS_OBJECT(v)) {
      emit_linux(&g, v, profile);
      linux_done = true;
    } else {
      cove_gen_value(&g, v);
    }
  }
  if (!linux_done) {
    cove_gen_key(&g, "linux");
    cove_gen_map_open(&g);
    cove_gen_key(&g, "seccomp");
    cove_gen_value(&g, profile);
    cove_gen_map_close(&g);
  }
  cove_gen_map_close(&g);
  rc = cove_gen_finish(&g, "spec --agent");

out:
  cove_json_tree_free(def);
  cove_json_tree_free(profile);
  return rc;
}
