/* The systemd cgroup manager: a transient scope per container over D-Bus
 * (cgroup_internal.h, docs/cgroups.md). Its ops table is the v2 manager's
 * on the scope's directory, with the scope made in a late setup (around
 * the init's pid), the unit's properties set on update, and StopUnit
 * after destroy. */
#include "cgroup_internal.h"
#include "userns.h"

#include "cove/cleanup.h"
#include "cove/log.h"
#include "cove/spec.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Unit name characters systemd accepts (unit_name_is_valid): anything else
 * in the path would be refused by systemd with a less clear message. */
static bool unit_chars_ok(const char *s)
{
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr(":-_.\\@", *s)))
      return false;
  return true;
}

static int bus_api_load(cove_err *err);

static bool systemd_form(const char *p)
{
  const char *a = strchr(p, ':');
  return p[0] != '/' && a && strchr(a + 1, ':');
}

int cove_systemd_plan(struct cove_sd_scope *sd, const struct cove_spec *spec, const char *id, bool flag, cove_err *err)
{
  memset(sd, 0, sizeof *sd);
  const char *cp = spec->cgroups_path;
  bool form = cp && *cp && systemd_form(cp);
  if (!form && !flag)
    return 0;
  if (!form && cp && *cp)
    return cove_error_kind(err, COVE_EK_INVALID_CONFIG, 0,
                           "config.json: linux.cgroupsPath \"%s\": --systemd-cgroup wants the form "
                           "\"slice:prefix:name\" (e.g. \"system.slice:cove:%s\")",
                           cp, id);
  if (!cove_systemd_supported())
    return cove_error_kind(err, COVE_EK_INVALID_CONFIG, 0,
                           "%s: the systemd cgroup manager is not in this build of cove (built without "
                           "libsystemd, CMake option COVE_SYSTEMD); use a cgroupfs path (\"/a/b\") and no "
                           "--systemd-cgroup",
                           form ? "config.json: linux.cgroupsPath" : "--systemd-cgroup");
  /* rootless, also as "root" in a user namespace of the user's (podman
   * runs its runtime there): the user's own manager */
  sd->user = geteuid() != 0 || cove_in_partial_userns();
  char slice[256] = "", prefix[256] = "", name[256] = "";
  if (form) {
    const char *a = strchr(cp, ':'), *b = strchr(a + 1, ':');
    snprintf(slice, sizeof slice, "%.*s", (int)(a - cp), cp);
    snprintf(prefix, sizeof prefix, "%.*s", (int)(b - a - 1), a + 1);
    snprintf(name, sizeof name, "%s", b + 1);
  } else {
    snprintf(prefix, sizeof prefix, "cove");
    snprintf(name, sizeof name, "%s", id);
  }
  /* runc's defaults for an empty slice */
  if (!slice[0])
    snprintf(slice, sizeof slice, "%s", sd->user ? "user.slice" : "system.slice");
  const char *what = form ? "config.json: linux.cgroupsPath" : "--systemd-cgroup";
  size_t sl = strlen(slice);
  if (sl < 7 || strcmp(slice + sl - 6, ".slice") || !unit_chars_ok(slice) || strchr(slice, '/'))
    return cove_error_kind(err, COVE_EK_INVALID_CONFIG, 0, "%s \"%s\": the slice \"%s\" is not a systemd slice name (\"x.slice\")",
                           what, cp ? cp : "", slice);
  if (!name[0] || !unit_chars_ok(name) || !unit_chars_ok(prefix) || strchr(name, ':'))
    return cove_error_kind(err, COVE_EK_INVALID_CONFIG, 0,
                           "%s \"%s\": \"prefix:name\" must be non-empty unit name characters ([A-Za-z0-9:_.\\\\@-])",
                           what, cp ? cp : "");
  size_t nl = strlen(name);
  if (nl > 6 && !strcmp(name + nl - 6, ".slice"))
    return cove_error_kind(err, COVE_EK_INVALID_CONFIG, 0, "%s \"%s\": a slice as the container's unit is not supported (a scope is made)",
                           what, cp ? cp : "");
  int n = prefix[0] ? snprintf(sd->unit, sizeof sd->unit, "%s-%s.scope", prefix, name)
                    : snprintf(sd->unit, sizeof sd->unit, "%s.scope", name);
  if (n < 0 || (size_t)n >= sizeof sd->unit)
    return cove_error_kind(err, COVE_EK_INVALID_CONFIG, 0, "%s \"%s\": the unit name is too long", what, cp ? cp : "");
  snprintf(sd->slice, sizeof sd->slice, "%s", slice);
  if (spec->res.has_network)
    return cove_error_kind(err, COVE_EK_LIMITS, 0, "config.json: linux.resources.network: net_cls/net_prio (classID, "
                                                   "priorities) are not supported (no such controller in cgroup v2)");

  /* here, before anything exists that a failure would leave behind */
  if (bus_api_load(err) < 0)
    return -1;
  struct statfs sf;
  if (statfs("/sys/fs/cgroup", &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
    return cove_error_kind(err, COVE_EK_LIMITS, 0,
                           "%s: the systemd cgroup manager needs a pure cgroup v2 host (/sys/fs/cgroup is not "
                           "cgroup2 here); use a cgroupfs path and no --systemd-cgroup",
                           what);
  return 1;
}

bool cove_systemd_unit_ok(const char *unit)
{
  size_t n = strlen(unit);
  return unit_chars_ok(unit) && n >= 7 && !strcmp(unit + n - 6, ".scope");
}

#ifdef COVE_HAVE_SYSTEMD
#include <dlfcn.h>
#include <systemd/sd-bus.h>

/* The v2 directory systemd put pid in (its /proc/PID/cgroup "0::" line). */
static int pid_cgroup_dir(pid_t pid, char *out, size_t cap, cove_err *err)
{
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/cgroup", (int)pid);
  _cleanup_fclose_ FILE *f = fopen(p, "re");
  if (!f)
    return cove_error(err, errno, "%s", p);
  char line[4096];
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "0::/", 4)) {
      line[strcspn(line, "\n")] = 0;
      snprintf(out, cap, "/sys/fs/cgroup%s", line + 3);
      return 0;
    }
  return cove_error(err, 0, "%s: no cgroup v2 line", p);
}

/* The directory of `unit`, which pid is now in (checked: systemd put it
 * there, not elsewhere). */
static int unit_dir(pid_t pid, const char *unit, const char *who, char *dir, size_t cap, cove_err *err)
{
  if (pid_cgroup_dir(pid, dir, cap, err) < 0)
    return -1;
  size_t dl = strlen(dir), ul = strlen(unit);
  if (dl <= ul || dir[dl - ul - 1] != '/' || strcmp(dir + dl - ul, unit))
    return cove_error(err, 0, "systemd: started %s but %s is in %s", unit, who, dir);
  return 0;
}

bool cove_systemd_supported(void)
{
  return true;
}

/* libsystemd (with libgcrypt, lz4, zstd, lzma behind it) is loaded on the
 * first use of the systemd manager, not linked: linked, the dynamic loader
 * costs every exec of cove milliseconds (docs/benchmarks.md), `--version`
 * included, for a manager most runs never use. Built against the headers,
 * so the prototypes below are libsystemd's own. */
#define SD_BUS_FUNCS(X)                                                                                               \
  X(open_user) X(open_system) X(flush_close_unref) X(message_unref) X(error_is_set) X(error_has_name) X(error_free)  \
  X(message_read) X(process) X(wait) X(message_open_container) X(message_close_container) X(message_append)         \
  X(message_append_array) X(match_signal) X(slot_unref) X(message_new_method_call) X(call) X(call_method)

static struct {
#define SD_FIELD(f) __typeof__(sd_bus_##f) *f;
  SD_BUS_FUNCS(SD_FIELD)
#undef SD_FIELD
} sdb;

static int bus_api_load(cove_err *err)
{
  static bool loaded;
  if (loaded)
    return 0;
  /* never closed: the process is short-lived and the pointers stay valid */
  void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!h)
    return cove_error_kind(err, COVE_EK_LIMITS, 0,
                           "systemd cgroup manager: cannot load libsystemd.so.0: %s (install libsystemd: libsystemd0 "
                           "on Debian and Ubuntu, systemd-libs on Fedora)",
                           dlerror());
#define SD_SYM(f)                                                                                                     \
  if (!(sdb.f = (__typeof__(sdb.f))dlsym(h, "sd_bus_" #f))) {                                                         \
    dlclose(h);                                                                                                       \
    return cove_error_kind(err, COVE_EK_LIMITS, 0,                                                                    \
                           "systemd cgroup manager: libsystemd.so.0 has no sd_bus_" #f " (systemd older than 237?)"); \
  }
  SD_BUS_FUNCS(SD_SYM)
#undef SD_SYM
  loaded = true;
  return 0;
}

static void bus_unrefp(sd_bus **b)
{
  if (*b)
    sdb.flush_close_unref(*b);
}
static void msg_unrefp(sd_bus_message **m)
{
  if (*m)
    sdb.message_unref(*m);
}
#define _cleanup_bus_ __attribute__((cleanup(bus_unrefp)))
#define _cleanup_msg_ __attribute__((cleanup(msg_unrefp)))

static int bus_error(cove_err *err, int r, const sd_bus_error *e, const char *what, const char *unit)
{
  if (e && sdb.error_is_set(e))
    return cove_error(err, 0, "systemd: %s %s: %s (%s)", what, unit, e->message ? e->message : "", e->name);
  return cove_error(err, -r, "systemd: %s %s", what, unit);
}

static int open_bus(const struct cove_sd_scope *sd, sd_bus **bus, cove_err *err)
{
  if (bus_api_load(err) < 0)
    return -1;
  int r = sd->user ? sdb.open_user(bus) : sdb.open_system(bus);
  if (r < 0)
    return cove_error_kind(err, COVE_EK_LIMITS, -r,
                           "systemd cgroup manager: cannot connect to the %s bus (%s)", sd->user ? "user's" : "system",
                           sd->user ? "$DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus; is `systemd --user` running "
                                      "for this user (loginctl enable-linger)?"
                                    : "/run/dbus/system_bus_socket; is systemd PID 1?");
  return 0;
}

struct job_wait {
  const char *path;
  bool done;
  char result[64];
};

static int on_job_removed(sd_bus_message *m, void *data, sd_bus_error *e)
{
  (void)e;
  struct job_wait *w = data;
  uint32_t id;
  const char *path, *unit, *result;
  if (sdb.message_read(m, "uoss", &id, &path, &unit, &result) < 0)
    return 0;
  if (w->path && !strcmp(path, w->path)) {
    w->done = true;
    snprintf(w->result, sizeof w->result, "%s", result);
  }
  return 0;
}

/* Wait (at most 60 s: systemd runs our job at once unless it is wedged)
 * for the JobRemoved signal of w->path. */
static int wait_job(sd_bus *bus, struct job_wait *w, const char *unit, const char *what, cove_err *err)
{
  for (int i = 0; i < 600 && !w->done; i++) {
    int r = sdb.process(bus, NULL);
    if (r < 0)
      return cove_error(err, -r, "systemd: %s %s: wait for the job", what, unit);
    if (r > 0)
      continue;
    if (w->done)
      break;
    r = sdb.wait(bus, 100000);
    if (r < 0)
      return cove_error(err, -r, "systemd: %s %s: wait for the job", what, unit);
  }
  if (!w->done)
    return cove_error(err, ETIMEDOUT, "systemd: %s %s: the job did not finish", what, unit);
  if (strcmp(w->result, "done"))
    return cove_error(err, 0, "systemd: %s %s: the job ended \"%s\" (journalctl -u %s)", what, unit, w->result, unit);
  return 0;
}

/* "0-3,5" into systemd's CPU/NUMA bitmask (byte i bit j = cpu 8i+j). */
static int cpulist_mask(const char *list, uint8_t *mask, size_t cap, size_t *len)
{
  *len = 0;
  memset(mask, 0, cap);
  const char *s = list;
  while (*s) {
    while (*s == ' ' || *s == ',' || *s == '\n')
      s++;
    if (!*s)
      break;
    char *e;
    unsigned long a = strtoul(s, &e, 10), b = a;
    if (e == s)
      return -1;
    if (*e == '-') {
      s = e + 1;
      b = strtoul(s, &e, 10);
      if (e == s)
        return -1;
    }
    s = e;
    if (b < a || b >= cap * 8)
      return -1;
    for (unsigned long c = a; c <= b; c++)
      mask[c / 8] |= (uint8_t)(1u << (c % 8));
    if (b / 8 + 1 > *len)
      *len = b / 8 + 1;
  }
  return 0;
}

static int append_mask(sd_bus_message *m, const char *prop, const uint8_t *mask, size_t len)
{
  int r;
  if ((r = sdb.message_open_container(m, 'r', "sv")) < 0 || (r = sdb.message_append(m, "s", prop)) < 0 ||
      (r = sdb.message_open_container(m, 'v', "ay")) < 0 || (r = sdb.message_append_array(m, 'y', mask, len)) < 0 ||
      (r = sdb.message_close_container(m)) < 0 || (r = sdb.message_close_container(m)) < 0)
    return r;
  return 0;
}

/* The limits systemd has unit properties for, with the values the
 * cgroupfs code writes (cgroup_v2.c) so both agree. */
static int append_limits(sd_bus_message *m, const struct cove_resources *res)
{
  int r = 0;
#define T(name, v)                                                                                                    \
  do {                                                                                                                \
    if ((r = sdb.message_append(m, "(sv)", name, "t", (uint64_t)(v))) < 0)                                          \
      return r;                                                                                                       \
  } while (0)
  if (res->mem_limit.set)
    T("MemoryMax", res->mem_limit.v < 0 ? UINT64_MAX : (uint64_t)res->mem_limit.v);
  if (res->mem_reservation.set)
    T("MemoryLow", res->mem_reservation.v < 0 ? UINT64_MAX : (uint64_t)res->mem_reservation.v);
  /* OCI swap is memory+swap; systemd's MemorySwapMax is swap alone */
  if (res->mem_swap.set && res->mem_limit.set && res->mem_limit.v >= 0)
    T("MemorySwapMax", res->mem_swap.v < 0 ? UINT64_MAX
                       : res->mem_swap.v > res->mem_limit.v ? (uint64_t)(res->mem_swap.v - res->mem_limit.v)
                                                              : 0);
  for (size_t i = 0; i < res->n_unified; i++) {
    const struct cove_unified_kv *u = &res->unified[i];
    if (!strcmp(u->key, "memory.high")) {
      char *e;
      unsigned long long v = strtoull(u->value, &e, 10);
      if (!strcmp(u->value, "max"))
        T("MemoryHigh", UINT64_MAX);
      else if (e != u->value && !*e)
        T("MemoryHigh", v);
    }
  }
  if (res->cpu_shares.set && res->cpu_shares.v >= 2)
    T("CPUWeight", cove_cg_cpu_weight(res->cpu_shares.v));
  if (res->cpu_quota.set && res->cpu_quota.v > 0) {
    uint64_t period = res->cpu_period.set && res->cpu_period.v ? res->cpu_period.v : 100000;
    T("CPUQuotaPerSecUSec", (uint64_t)res->cpu_quota.v * 1000000 / period);
    if (res->cpu_period.set && res->cpu_period.v)
      T("CPUQuotaPeriodUSec", res->cpu_period.v);
  }
  if (res->pids_limit.set)
    T("TasksMax", res->pids_limit.v <= 0 ? UINT64_MAX : (uint64_t)res->pids_limit.v);
  if (res->blkio_weight.set && res->blkio_weight.v >= 10)
    T("IOWeight", cove_cg_io_weight(res->blkio_weight.v));
#undef T
  uint8_t mask[1024];
  size_t len;
  if (res->cpu_cpus && *res->cpu_cpus && cpulist_mask(res->cpu_cpus, mask, sizeof mask, &len) == 0 &&
      (r = append_mask(m, "AllowedCPUs", mask, len)) < 0)
    return r;
  if (res->cpu_mems && *res->cpu_mems && cpulist_mask(res->cpu_mems, mask, sizeof mask, &len) == 0 &&
      (r = append_mask(m, "AllowedMemoryNodes", mask, len)) < 0)
    return r;
  return 0;
}

/* A transient scope `unit` holding pid, Delegate=yes; in `slice` ("" = the
 * manager's default), with res as unit properties (NULL = none). */
static int start_unit(sd_bus *bus, const char *unit, const char *slice, const char *desc, pid_t pid,
                      const struct cove_resources *res, cove_err *err)
{
  _cleanup_msg_ sd_bus_message *m = NULL, *reply = NULL;
  sd_bus_error e = SD_BUS_ERROR_NULL;
  struct job_wait w = {0};
  sd_bus_slot *slot = NULL;
  int r;
  /* subscribe before the call: the job may finish before the reply is read */
  if ((r = sdb.match_signal(bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, &w)) < 0)
    return bus_error(err, r, NULL, "subscribe to the jobs of", unit);
  if ((r = sdb.message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                          "org.freedesktop.systemd1.Manager", "StartTransientUnit")) < 0 ||
      (r = sdb.message_append(m, "ss", unit, "fail")) < 0 || (r = sdb.message_open_container(m, 'a', "(sv)")) < 0 ||
      (r = sdb.message_append(m, "(sv)(sv)(sv)", "Description", "s", desc, "Delegate", "b", 1, "PIDs", "au", 1,
                                 (uint32_t)pid)) < 0 ||
      (*slice && (r = sdb.message_append(m, "(sv)", "Slice", "s", slice)) < 0) ||
      /* like runc: the scope is not stopped by shutdown ordering before its
       * container, and a failed one does not linger */
      (r = sdb.message_append(m, "(sv)(sv)", "DefaultDependencies", "b", 0, "CollectMode", "s", "inactive-or-failed")) < 0 ||
      (r = sdb.message_append(m, "(sv)(sv)(sv)(sv)", "MemoryAccounting", "b", 1, "CPUAccounting", "b", 1, "TasksAccounting",
                                 "b", 1, "IOAccounting", "b", 1)) < 0 ||
      (res && (r = append_limits(m, res)) < 0) || (r = sdb.message_close_container(m)) < 0 ||
      (r = sdb.message_append(m, "a(sa(sv))", 0)) < 0) {
    sdb.slot_unref(slot);
    return bus_error(err, r, NULL, "build StartTransientUnit for", unit);
  }
  r = sdb.call(bus, m, 30 * 1000000ULL, &e, &reply);
  if (r < 0) {
    bus_error(err, r, &e, "start", unit);
    if (sdb.error_has_name(&e, "org.freedesktop.systemd1.UnitExists"))
      cove_err_set_kind(err, COVE_EK_EXISTS);
    sdb.error_free(&e);
    sdb.slot_unref(slot);
    return -1;
  }
  const char *job;
  if ((r = sdb.message_read(reply, "o", &job)) < 0) {
    sdb.slot_unref(slot);
    return bus_error(err, r, NULL, "read the job of", unit);
  }
  w.path = job;
  r = wait_job(bus, &w, unit, "start", err);
  sdb.slot_unref(slot);
  return r;
}

/* The scope with pid in it; dir: its cgroup directory. */
static int scope_start(const struct cove_sd_scope *sd, pid_t pid, const struct cove_resources *res, char *dir,
                       size_t cap, cove_err *err)
{
  _cleanup_bus_ sd_bus *bus = NULL;
  if (open_bus(sd, &bus, err) < 0)
    return -1;
  char desc[400];
  snprintf(desc, sizeof desc, "cove container %s", sd->unit);
  if (start_unit(bus, sd->unit, sd->slice, desc, pid, res, err) < 0 ||
      unit_dir(pid, sd->unit, "the container's init", dir, cap, err) < 0)
    return -1;
  cove_debug("systemd: %s in %s: %s", sd->unit, sd->slice, dir);
  return 0;
}

/* Stop the unit and wait for it to be gone; one already gone is fine. */
static int scope_stop(const struct cove_sd_scope *sd, cove_err *err)
{
  _cleanup_bus_ sd_bus *bus = NULL;
  if (!sd->unit[0])
    return 0;
  if (open_bus(sd, &bus, err) < 0)
    return -1;
  _cleanup_msg_ sd_bus_message *reply = NULL;
  sd_bus_error e = SD_BUS_ERROR_NULL;
  struct job_wait w = {0};
  sd_bus_slot *slot = NULL;
  int r = sdb.match_signal(bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                              "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, &w);
  if (r < 0)
    return bus_error(err, r, NULL, "subscribe to the jobs of", sd->unit);
  r = sdb.call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                         "StopUnit", &e, &reply, "ss", sd->unit, "replace");
  if (r < 0) {
    bool gone = sdb.error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit");
    if (!gone)
      bus_error(err, r, &e, "stop", sd->unit);
    sdb.error_free(&e);
    sdb.slot_unref(slot);
    return gone ? 0 : -1;
  }
  const char *job;
  if ((r = sdb.message_read(reply, "o", &job)) < 0) {
    sdb.slot_unref(slot);
    return bus_error(err, r, NULL, "read the job of", sd->unit);
  }
  w.path = job;
  r = wait_job(bus, &w, sd->unit, "stop", err);
  sdb.slot_unref(slot);
  return r;
}

/* update: the new limits become the unit's properties too (runtime ones,
 * as runc does), or the next daemon-reload would put back the values the
 * scope was started with over what update wrote into its cgroup. */
static int scope_set_limits(const struct cove_sd_scope *sd, const struct cove_resources *res, cove_err *err)
{
  _cleanup_bus_ sd_bus *bus = NULL;
  if (open_bus(sd, &bus, err) < 0)
    return -1;
  _cleanup_msg_ sd_bus_message *m = NULL, *reply = NULL;
  sd_bus_error e = SD_BUS_ERROR_NULL;
  int r;
  if ((r = sdb.message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "SetUnitProperties")) < 0 ||
      (r = sdb.message_append(m, "sb", sd->unit, 1)) < 0 || (r = sdb.message_open_container(m, 'a', "(sv)")) < 0 ||
      (r = append_limits(m, res)) < 0 || (r = sdb.message_close_container(m)) < 0)
    return bus_error(err, r, NULL, "build SetUnitProperties for", sd->unit);
  r = sdb.call(bus, m, 30 * 1000000ULL, &e, &reply);
  if (r < 0) {
    bus_error(err, r, &e, "set the properties of", sd->unit);
    sdb.error_free(&e);
    return -1;
  }
  return 0;
}

/* The user's bus is there to try: sd_bus_open_user looks at exactly these. */
static bool user_bus_reachable(void)
{
  const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS"), *xdg = getenv("XDG_RUNTIME_DIR");
  if (addr && *addr)
    return true;
  char p[PATH_MAX];
  struct stat st;
  if (!xdg || !*xdg || snprintf(p, sizeof p, "%s/bus", xdg) >= (int)sizeof p)
    return false;
  return stat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

int cove_systemd_delegate(cove_err *err)
{
  if (!user_bus_reachable()) {
    cove_debug("rootless: no user systemd to ask for a delegated cgroup ($DBUS_SESSION_BUS_ADDRESS unset, no "
               "$XDG_RUNTIME_DIR/bus)");
    return 0;
  }
  struct cove_sd_scope sd = {.user = true};
  snprintf(sd.unit, sizeof sd.unit, "cove-deleg-%d.scope", (int)getpid());
  _cleanup_bus_ sd_bus *bus = NULL;
  char desc[128];
  snprintf(desc, sizeof desc, "cove (pid %d) and its containers", (int)getpid());
  if (open_bus(&sd, &bus, err) < 0 || start_unit(bus, sd.unit, "", desc, getpid(), NULL, err) < 0) {
    cove_err_set_kind(err, COVE_EK_LIMITS);
    return cove_error_prefix(err, "rootless limits: a delegated cgroup from the user's systemd");
  }
  char dir[4096];
  if (unit_dir(getpid(), sd.unit, "cove", dir, sizeof dir, err) < 0) {
    cove_err_set_kind(err, COVE_EK_LIMITS);
    return -1;
  }
  /* No internal processes: cove leaves the scope's own cgroup for a leaf,
   * so its containers can be siblings with controllers enabled. When cove
   * and its containers are gone the scope is empty and systemd removes it. */
  char leaf[4200];
  snprintf(leaf, sizeof leaf, "%s/caller", dir);
  if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
    return cove_error_kind(err, COVE_EK_LIMITS, errno, "mkdir %s", leaf);
  if (cove_cg_write(leaf, "cgroup.procs", "0", err) < 0) {
    cove_err_set_kind(err, COVE_EK_LIMITS);
    return -1;
  }
  cove_debug("rootless: the user's systemd delegated %s; cove moved to %s", sd.unit, leaf);
  return 1;
}

#else /* !COVE_HAVE_SYSTEMD */

bool cove_systemd_supported(void)
{
  return false;
}

static int bus_api_load(cove_err *err)
{
  (void)err;
  return 0;
}

/* never reached: cove_systemd_plan refuses the manager in this build */
static int scope_start(const struct cove_sd_scope *sd, pid_t pid, const struct cove_resources *res, char *dir,
                       size_t cap, cove_err *err)
{
  (void)sd, (void)pid, (void)res, (void)dir, (void)cap;
  return cove_error(err, ENOTSUP, "the systemd cgroup manager is not in this build of cove");
}

static int scope_stop(const struct cove_sd_scope *sd, cove_err *err)
{
  if (!sd->unit[0])
    return 0;
  return cove_error(err, ENOTSUP, "%s: the systemd cgroup manager is not in this build of cove", sd->unit);
}

static int scope_set_limits(const struct cove_sd_scope *sd, const struct cove_resources *res, cove_err *err)
{
  (void)sd, (void)res, (void)err;
  return 0; /* no scope can exist: this build never starts one */
}

int cove_systemd_delegate(cove_err *err)
{
  (void)err;
  cove_debug("rootless: this build of cove cannot ask systemd for a delegated cgroup (built without libsystemd)");
  return 0;
}

#endif

/* ------------------------------------------------------- the manager */

/* Late: systemd makes the scope with the init in it (PIDs=[init]), while
 * the init waits for its go-ahead. */
static int sd_setup(struct cove_cgroup *cg, const struct cove_cg_request *req, cove_err *err)
{
  char dir[sizeof cg->v2];
  if (scope_start(&cg->sd, req->init_pid, req->res, dir, sizeof dir, err) < 0)
    return -1;
  snprintf(cg->v2, sizeof cg->v2, "%s", dir);
  cg->active = true;
  /* Everything, including what systemd has no property for (swappiness,
   * io throttles, hugetlb, unified keys...), straight into the scope's
   * cgroup: Delegate=yes makes it ours to write. */
  if (cove_cg_fs_apply(cg, req->res, false, err) < 0 || cove_cg_devices_apply(cg, req->res, cg->sd.user, err) < 0)
    return cove_error_prefix(err, "config.json: linux.resources (in %s)", cg->sd.unit);
  return 0;
}

static int sd_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool update, cove_err *err)
{
  if (cove_cg_fs_apply(cg, r, update, err) < 0)
    return -1;
  return update && cg->sd.unit[0] ? scope_set_limits(&cg->sd, r, err) : 0;
}

/* What is left in the scope killed, then the unit stopped (a create that
 * failed before the scope existed: systemd has no such unit, fine). */
static int sd_destroy(struct cove_cgroup *cg, cove_err *err)
{
  int r = cove_cg_fs_destroy(cg, err);
  cove_err e2;
  if (scope_stop(&cg->sd, r < 0 ? &e2 : err) < 0 && r == 0)
    r = -1;
  return r;
}

const struct cove_cg_ops cove_cg_ops_systemd = {
  .name = "systemd",
  .late_setup = true,
  .setup = sd_setup,
  .enter = cove_cg_v2_enter,
  .apply = sd_apply,
  .freeze = cove_cg_v2_freeze,
  .frozen = cove_cg_v2_frozen,
  .signal_all = cove_cg_fs_signal_all,
  .pids = cove_cg_fs_pids,
  .stats = cove_cg_fs_stats,
  .destroy = sd_destroy,
};
