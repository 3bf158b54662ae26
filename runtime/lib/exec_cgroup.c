/* The cgroup side of exec, until the cgroup layer owns it: find the
 * container init's cgroups from /proc/PID/cgroup and the mount table. */
#include "cove/exec.h"

#include "cove/cleanup.h"
#include "cove/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Does the comma list `opts` contain every name of the comma list `want`? */
static bool has_all(const char *opts, const char *want)
{
  char w[256];
  snprintf(w, sizeof w, "%s", want);
  char *save = NULL;
  for (char *t = strtok_r(w, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    size_t l = strlen(t);
    bool found = false;
    for (const char *p = opts; (p = strstr(p, t)); p += l)
      if ((p == opts || p[-1] == ',') && (p[l] == ',' || p[l] == 0)) {
        found = true;
        break;
      }
    if (!found)
      return false;
  }
  return true;
}

/* Directory of hierarchy `ctrl` ("" = v2) and cgroup `path` in our mount
 * namespace, or -1. */
static int cgroup_dir(const char *ctrl, const char *path, char *out, size_t cap)
{
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return -1;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    char root[1024], mnt[1024], fstype[64], src[256], super[1024];
    const char *dash = strstr(line, " - ");
    if (!dash || sscanf(line, "%*d %*d %*s %1023s %1023s", root, mnt) != 2 ||
        sscanf(dash + 3, "%63s %255s %1023s", fstype, src, super) != 3)
      continue;
    bool v2 = !strcmp(fstype, "cgroup2");
    if (!(*ctrl ? !strcmp(fstype, "cgroup") && has_all(super, ctrl) : v2))
      continue;
    size_t rl = strlen(root);
    const char *rel = path;
    if (strcmp(root, "/") != 0) {
      if (strncmp(path, root, rl) != 0 || (path[rl] && path[rl] != '/'))
        continue;
      rel = path + rl;
    }
    snprintf(out, cap, "%s%s", mnt, rel);
    return 0;
  }
  return -1;
}

/* Calls cb(ctrl, path) for each line of /proc/PID/cgroup. */
static int each_cgroup(pid_t pid, int (*cb)(const char *ctrl, const char *path, void *d), void *d)
{
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/cgroup", (int)pid);
  _cleanup_fclose_ FILE *f = fopen(p, "re");
  if (!f)
    return -1;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = 0;
    const char *ctrl = c1 + 1;
    int r = cb(ctrl, c2 + 1, d);
    if (r)
      return r;
  }
  return 0;
}

static int frozen_cb(const char *ctrl, const char *path, void *d)
{
  (void)d;
  char dir[4096], buf[64] = "";
  bool v2 = !*ctrl;
  if (!v2 && !has_all(ctrl, "freezer"))
    return 0;
  if (cgroup_dir(ctrl, path, dir, sizeof dir) < 0)
    return 0;
  char file[4200];
  snprintf(file, sizeof file, "%s/%s", dir, v2 ? "cgroup.freeze" : "freezer.state");
  _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  if (v2 ? buf[0] == '1' : (!strncmp(buf, "FROZEN", 6) || !strncmp(buf, "FREEZING", 8)))
    return 1;
  return 0;
}

int cove_container_is_paused(pid_t pid)
{
  return each_cgroup(pid, frozen_cb, NULL) == 1;
}

static int join_cb(const char *ctrl, const char *path, void *d)
{
  (void)d;
  char dir[4096];
  if (cgroup_dir(ctrl, path, dir, sizeof dir) < 0) {
    cove_debug("exec: cgroup %s:%s not mounted here, not joined", ctrl, path);
    return 0;
  }
  char file[4200], me[32];
  snprintf(file, sizeof file, "%s/cgroup.procs", dir);
  int n = snprintf(me, sizeof me, "%d", (int)getpid());
  _cleanup_close_ int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, me, (size_t)n) != n)
    cove_debug("exec: join cgroup %s: %s", file, strerror(errno));
  return 0;
}

void cove_cgroup_join_of(pid_t pid)
{
  each_cgroup(pid, join_cb, NULL);
}
