#include "cove/defaults.h"
#include "cove/jsongen.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Mirrors `runc spec` so bundles and habits carry over, with these
 * deliberate differences: ociVersion 1.3.0, a cgroup namespace, and no
 * linux.resources (devices exist in the container only by construction,
 * so runc's deny-all device rule adds nothing; limits are opt-in). Rootless
 * keeps the network namespace that runc drops: cove brings up loopback in
 * a rootless netns itself. */

static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};

static const char *const masked_paths[] = {
    "/proc/acpi",     "/proc/asound",    "/proc/kcore",       "/proc/keys",    "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    NULL,
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static void mount_entry(struct cove_gen *g, const char *dest, const char *type, const char *src,
                        const char *const *opts)
{
  cove_gen_map_open(g);
  cove_gen_kv_str(g, "destination", dest);
  cove_gen_kv_str(g, "type", type);
  cove_gen_kv_str(g, "source", src);
  if (opts) {
    cove_gen_key(g, "options");
    cove_gen_strv(g, opts);
  }
  cove_gen_map_close(g);
}

static void idmap(struct cove_gen *g, const char *key, unsigned host)
{
  cove_gen_key(g, key);
  cove_gen_array_open(g);
  cove_gen_map_open(g);
  cove_gen_kv_int(g, "containerID", 0);
  cove_gen_kv_int(g, "hostID", host);
  cove_gen_kv_int(g, "size", 1);
  cove_gen_map_close(g);
  cove_gen_array_close(g);
}

int cove_spec_default_write(FILE *out, bool rootless, cove_err *err)
{
  struct cove_gen g;
  if (cove_gen_init(&g, out, err) < 0)
    return -1;

  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "ociVersion", "1.3.0");

  cove_gen_key(&g, "process");
  cove_gen_map_open(&g);
  cove_gen_kv_bool(&g, "terminal", true);
  cove_gen_key(&g, "user");
  cove_gen_map_open(&g);
  cove_gen_kv_int(&g, "uid", 0);
  cove_gen_kv_int(&g, "gid", 0);
  cove_gen_map_close(&g);
  cove_gen_key(&g, "args");
  cove_gen_strv(&g, (const char *const[]){"sh", NULL});
  cove_gen_key(&g, "env");
  cove_gen_strv(&g, (const char *const[]){
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "TERM=xterm", NULL});
  cove_gen_kv_str(&g, "cwd", "/");
  cove_gen_key(&g, "capabilities");
  cove_gen_map_open(&g);
  static const char *const sets[] = {"bounding", "effective", "permitted"};
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
    cove_gen_key(&g, sets[i]);
    cove_gen_strv(&g, default_caps);
  }
  cove_gen_map_close(&g);
  cove_gen_key(&g, "rlimits");
  cove_gen_array_open(&g);
  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "type", "RLIMIT_NOFILE");
  cove_gen_kv_int(&g, "hard", 1024);
  cove_gen_kv_int(&g, "soft", 1024);
  cove_gen_map_close(&g);
  cove_gen_array_close(&g);
  cove_gen_kv_bool(&g, "noNewPrivileges", true);
  cove_gen_map_close(&g); /* process */

  cove_gen_key(&g, "root");
  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "path", "rootfs");
  cove_gen_kv_bool(&g, "readonly", true);
  cove_gen_map_close(&g);

  cove_gen_kv_str(&g, "hostname", "cove");

  cove_gen_key(&g, "mounts");
  cove_gen_array_open(&g);
  mount_entry(&g, "/proc", "proc", "proc", NULL);
  mount_entry(&g, "/dev", "tmpfs", "tmpfs",
              (const char *const[]){"nosuid", "strictatime", "mode=755", "size=65536k", NULL});
  /* gid=5 (tty) only exists as a mappable group when we are real root; in
   * a single-id user namespace the mount would fail with EINVAL. */
  mount_entry(&g, "/dev/pts", "devpts", "devpts",
              rootless ? (const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                               "mode=0620", NULL}
                       : (const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                               "mode=0620", "gid=5", NULL});
  mount_entry(&g, "/dev/shm", "tmpfs", "shm",
              (const char *const[]){"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL});
  mount_entry(&g, "/dev/mqueue", "mqueue", "mqueue",
              (const char *const[]){"nosuid", "noexec", "nodev", NULL});
  /* Rootless too: the spec has its own network namespace, owned by the
   * container's user namespace, so a fresh sysfs is permitted and shows
   * only the container's interfaces. Without a netns the runtime falls
   * back to a read-only rbind of the host's /sys by itself. */
  mount_entry(&g, "/sys", "sysfs", "sysfs", (const char *const[]){"nosuid", "noexec", "nodev", "ro", NULL});
  mount_entry(&g, "/sys/fs/cgroup", "cgroup", "cgroup",
              (const char *const[]){"nosuid", "noexec", "nodev", "relatime", "ro", NULL});
  cove_gen_array_close(&g); /* mounts */

  cove_gen_key(&g, "linux");
  cove_gen_map_open(&g);
  if (rootless) {
    idmap(&g, "uidMappings", (unsigned)getuid());
    idmap(&g, "gidMappings", (unsigned)getgid());
  }
  cove_gen_key(&g, "namespaces");
  cove_gen_array_open(&g);
  static const char *const ns[] = {"pid", "network", "ipc", "uts", "mount", "cgroup", "user"};
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
    if (!rootless && strcmp(ns[i], "user") == 0)
      continue;
    cove_gen_map_open(&g);
    cove_gen_kv_str(&g, "type", ns[i]);
    cove_gen_map_close(&g);
  }
  cove_gen_array_close(&g);
  cove_gen_key(&g, "maskedPaths");
  cove_gen_strv(&g, masked_paths);
  cove_gen_key(&g, "readonlyPaths");
  cove_gen_strv(&g, readonly_paths);
  cove_gen_map_close(&g); /* linux */

  cove_gen_map_close(&g);
  return cove_gen_finish(&g, "spec");
}
