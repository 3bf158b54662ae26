#include "cove/cgroup.h"
#include "cove/defaults.h"
#include "mount_options.h"
#include "cove/jsongen.h"

#include <ctype.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>

#ifndef COVE_VERSION
#define COVE_VERSION "unknown"
#endif

/* features.md: a consumer (containerd, podman) trusts every entry here and
 * omits what is absent, so this lists only what cove actually implements.
 * Where a feature is known but not implemented it is spelled out as
 * "enabled": false rather than left out, so callers need not guess. */

static const char *const hooks[] = {"prestart",       "createRuntime", "createContainer",
                                    "startContainer", "poststart",     "poststop",
                                    NULL};

static const char *const namespaces[] = {"cgroup", "ipc", "mount", "network",
                                         "pid",    "time", "user", "uts",
                                         NULL};

static const char *const seccomp_actions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY",
    NULL,
};

static const char *const seccomp_operators[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

static const char *const seccomp_flags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_LOG",
    NULL,
};

/* OCI name -> libseccomp's own name, asked of the linked library so a
 * build against an older libseccomp does not advertise an arch it cannot
 * load. */
static const struct {
  const char *oci, *lib;
} seccomp_archs[] = {
    {"SCMP_ARCH_X86", "x86"}, {"SCMP_ARCH_X86_64", "x86_64"}, {"SCMP_ARCH_X32", "x32"},
    {"SCMP_ARCH_ARM", "arm"}, {"SCMP_ARCH_AARCH64", "aarch64"},
};

static void gen_capabilities(struct cove_gen *g)
{
  cove_gen_array_open(g);
  /* cap_max_bits() is what the running kernel supports, so a capability
   * libcap can name but the kernel lacks is not advertised. */
  int max = (int)cap_max_bits();
  for (int i = 0; i < max; i++) {
    char *name = cap_to_name((cap_value_t)i);
    if (!name)
      continue;
    /* Unknown to libcap comes back as a bare number: no name to offer. */
    if (strncmp(name, "cap_", 4) == 0) {
      char up[64];
      size_t j = 0;
      for (; name[j] && j < sizeof up - 1; j++)
        up[j] = (char)toupper((unsigned char)name[j]);
      up[j] = 0;
      cove_gen_str(g, up);
    }
    cap_free(name);
  }
  cove_gen_array_close(g);
}

int cove_features_write(FILE *out, cove_err *err)
{
  struct cove_gen g;
  if (cove_gen_init(&g, out, err) < 0)
    return -1;

  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "ociVersionMin", "1.0.0");
  cove_gen_kv_str(&g, "ociVersionMax", "1.3.0");
  cove_gen_key(&g, "hooks");
  cove_gen_strv(&g, hooks);
  cove_gen_key(&g, "mountOptions");
  cove_gen_array_open(&g);
  for (size_t i = 0; cove_mount_option_name(i); i++)
    cove_gen_str(&g, cove_mount_option_name(i));
  cove_gen_array_close(&g);

  cove_gen_key(&g, "linux");
  cove_gen_map_open(&g);
  cove_gen_key(&g, "namespaces");
  cove_gen_strv(&g, namespaces);
  cove_gen_key(&g, "capabilities");
  gen_capabilities(&g);

  /* cgroupfs: v2, and v1 hierarchies for what v2 lacks on hybrid hosts
   * (docs/cgroups.md); systemd scopes over D-Bus when built with sd-bus
   * (cgroup_systemd.c). rdma through the v2 rdma controller. */
  cove_gen_key(&g, "cgroup");
  cove_gen_map_open(&g);
  cove_gen_kv_bool(&g, "v1", true);
  cove_gen_kv_bool(&g, "v2", true);
  cove_gen_kv_bool(&g, "systemd", cove_systemd_supported());
  cove_gen_kv_bool(&g, "systemdUser", cove_systemd_supported());
  cove_gen_kv_bool(&g, "rdma", true);
  cove_gen_map_close(&g);

  cove_gen_key(&g, "seccomp");
  cove_gen_map_open(&g);
  cove_gen_kv_bool(&g, "enabled", true);
  cove_gen_key(&g, "actions");
  cove_gen_strv(&g, seccomp_actions);
  cove_gen_key(&g, "operators");
  cove_gen_strv(&g, seccomp_operators);
  cove_gen_key(&g, "archs");
  cove_gen_array_open(&g);
  for (size_t i = 0; i < sizeof seccomp_archs / sizeof *seccomp_archs; i++)
    if (seccomp_arch_resolve_name(seccomp_archs[i].lib) != 0)
      cove_gen_str(&g, seccomp_archs[i].oci);
  cove_gen_array_close(&g);
  cove_gen_key(&g, "knownFlags");
  cove_gen_strv(&g, seccomp_flags);
  cove_gen_key(&g, "supportedFlags");
  cove_gen_strv(&g, seccomp_flags);
  cove_gen_map_close(&g);

  static const char *const disabled[] = {"apparmor", "selinux", "intelRdt", "netDevices"};
  for (size_t i = 0; i < sizeof disabled / sizeof *disabled; i++) {
    cove_gen_key(&g, disabled[i]);
    cove_gen_map_open(&g);
    cove_gen_kv_bool(&g, "enabled", false);
    cove_gen_map_close(&g);
  }
  cove_gen_key(&g, "mountExtensions");
  cove_gen_map_open(&g);
  cove_gen_key(&g, "idmap");
  cove_gen_map_open(&g);
  cove_gen_kv_bool(&g, "enabled", false);
  cove_gen_map_close(&g);
  cove_gen_map_close(&g);
  cove_gen_map_close(&g); /* linux */

  cove_gen_key(&g, "annotations");
  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "io.github.cove.version", COVE_VERSION);
  cove_gen_map_close(&g);

  cove_gen_map_close(&g);
  return cove_gen_finish(&g, "features");
}
