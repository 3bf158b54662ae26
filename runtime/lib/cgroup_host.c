/* The host's cgroup hierarchies: the one parser of the mount table and of
 * /proc/PID/cgroup that create, exec and the status check share.
 *
 * Parsing works on text so the unit tests can feed it any host; the
 * readers around it read each /proc file once. */
#include "cgroup_internal.h"

#include "cove/cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const v1_names[COVE_CG_V1_COUNT] = {
  [COVE_CG_MEMORY] = "memory", [COVE_CG_CPU] = "cpu",         [COVE_CG_CPUACCT] = "cpuacct",
  [COVE_CG_CPUSET] = "cpuset", [COVE_CG_PIDS] = "pids",       [COVE_CG_BLKIO] = "blkio",
  [COVE_CG_FREEZER] = "freezer", [COVE_CG_HUGETLB] = "hugetlb",   [COVE_CG_DEVICES] = "devices",
};

const char *cove_cg_ctrl_name(enum cove_cg_ctrl c)
{
  return v1_names[c];
}

bool cove_cg_word_in(const char *list, const char *w)
{
  size_t l = strlen(w);
  for (const char *p = list; (p = strstr(p, w)); p += l)
    if ((p == list || p[-1] == ' ' || p[-1] == '\n' || p[-1] == ',') &&
        (p[l] == 0 || p[l] == ' ' || p[l] == '\n' || p[l] == ','))
      return true;
  return false;
}

/* Does the comma list `opts` contain every name of the comma list `want`? */
static bool has_all(const char *opts, const char *want)
{
  char w[256];
  snprintf(w, sizeof w, "%s", want);
  char *save = NULL;
  for (char *t = strtok_r(w, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (!cove_cg_word_in(opts, t))
      return false;
  return true;
}

char *cove_cg_proc_cgroup(pid_t pid, cove_err *err)
{
  /* a line per hierarchy: a few hundred bytes, 64 KiB is room for 13
   * hierarchies at PATH_MAX each */
  enum { CAP = 65536 };
  char dir[64];
  snprintf(dir, sizeof dir, pid ? "/proc/%d" : "/proc/self", (int)pid);
  char *b = malloc(CAP);
  if (!b) {
    cove_error(err, ENOMEM, "%s/cgroup", dir);
    return NULL;
  }
  if (cove_cg_read(dir, "cgroup", b, CAP) < 0) {
    cove_error(err, errno, "%s/cgroup", dir);
    free(b);
    return NULL;
  }
  return b;
}

/* ------------------------------------------------------------ mounts */

static void unescape_mount(char *s)
{
  char *o = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] && p[3]) {
      *o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
      p += 3;
    } else {
      *o++ = *p;
    }
  }
  *o = 0;
}

/* One mountinfo line: "id parent maj:min root mountpoint opts [optional...]
 * - fstype source superopts". 1 = a cgroup mount, filled in. */
static int parse_line(const char *line, struct cove_cg_mount *m)
{
  const char *sep = strstr(line, " - ");
  char fstype[64], src[256];
  if (!sep || sscanf(line, "%*s %*s %*s %1023s %1023s", m->root, m->mnt) != 2)
    return 0;
  m->opts[0] = 0;
  if (sscanf(sep + 3, "%63s %255s %1023s", fstype, src, m->opts) < 2)
    return 0;
  if (strcmp(fstype, "cgroup2") && strcmp(fstype, "cgroup"))
    return 0;
  m->v2 = !strcmp(fstype, "cgroup2");
  unescape_mount(m->mnt);
  unescape_mount(m->root);
  return 1;
}

static int add_line(struct cove_cg_mounts *m, size_t *cap, const char *line, cove_err *err)
{
  struct cove_cg_mount one;
  if (!parse_line(line, &one))
    return 0;
  if (m->n == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    struct cove_cg_mount *nv = realloc(m->v, *cap * sizeof *nv);
    if (!nv) {
      cove_cg_mounts_free(m);
      return cove_error(err, ENOMEM, "mountinfo");
    }
    m->v = nv;
  }
  m->v[m->n++] = one;
  return 0;
}

/* The line of text at *l (cut to the buffer) into line; *l moves past it.
 * False at the end of the text. */
static bool next_line(const char **l, char (*line)[4096])
{
  if (!*l || !**l)
    return false;
  const char *nl = strchr(*l, '\n');
  size_t len = nl ? (size_t)(nl - *l) : strlen(*l);
  snprintf(*line, sizeof *line, "%.*s", (int)len, *l);
  *l = nl ? nl + 1 : NULL;
  return true;
}

int cove_cg_mounts_parse(const char *text, struct cove_cg_mounts *m, cove_err *err)
{
  *m = (struct cove_cg_mounts){0};
  size_t cap = 0;
  char line[4096];
  while (next_line(&text, &line))
    if (add_line(m, &cap, line, err) < 0)
      return -1;
  return 0;
}

int cove_cg_mounts_read(struct cove_cg_mounts *m, cove_err *err)
{
  *m = (struct cove_cg_mounts){0};
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return cove_error(err, errno, "/proc/self/mountinfo");
  _cleanup_free_ char *line = NULL;
  size_t lcap = 0, cap = 0;
  while (getline(&line, &lcap, f) > 0)
    if (add_line(m, &cap, line, err) < 0)
      return -1;
  return 0;
}

void cove_cg_mounts_free(struct cove_cg_mounts *m)
{
  free(m->v);
  m->v = NULL;
  m->n = 0;
}

int cove_cg_mount_dir(const struct cove_cg_mounts *m, const char *ctrls, const char *path, char *out, size_t cap)
{
  for (size_t i = 0; i < m->n; i++) {
    const struct cove_cg_mount *x = &m->v[i];
    if (*ctrls ? x->v2 || !has_all(x->opts, ctrls) : !x->v2)
      continue;
    size_t rl = strlen(x->root);
    const char *rel = path;
    if (strcmp(x->root, "/") != 0) {
      if (strncmp(path, x->root, rl) != 0 || (path[rl] && path[rl] != '/'))
        continue;
      rel = path + rl;
    }
    snprintf(out, cap, "%s%s", x->mnt, rel);
    return 0;
  }
  return -1;
}

int cove_cg_each_line(const char *text, int (*cb)(const char *ctrls, const char *path, void *d), void *d)
{
  char line[4096];
  while (next_line(&text, &line)) {
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = 0;
    int r = cb(c1 + 1, c2 + 1, d);
    if (r)
      return r;
  }
  return 0;
}

/* -------------------------------------------------------------- host */

static int own_cb(const char *ctrls, const char *path, void *d)
{
  struct cove_cg_host *h = d;
  if (!*ctrls) {
    snprintf(h->v2.own, sizeof h->v2.own, "%s", path);
    return 0;
  }
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (cove_cg_word_in(ctrls, v1_names[c]))
      snprintf(h->v1[c].own, sizeof h->v1[c].own, "%s", path);
  return 0;
}

static int read_controllers(const char *dir, char *buf, size_t cap)
{
  return cove_cg_read(dir, "cgroup.controllers", buf, cap);
}

void cove_cg_host_from(struct cove_cg_host *h, const struct cove_cg_mounts *m, const char *self_cgroup)
{
  memset(h, 0, sizeof *h);
  h->controllers = read_controllers;
  for (size_t i = 0; i < m->n; i++) {
    const struct cove_cg_mount *x = &m->v[i];
    if (x->v2) {
      if (!h->has_v2) {
        h->has_v2 = true;
        snprintf(h->v2.mnt, sizeof h->v2.mnt, "%s", x->mnt);
      }
      continue;
    }
    for (int c = 0; c < COVE_CG_V1_COUNT; c++)
      if (!h->has_v1[c] && cove_cg_word_in(x->opts, v1_names[c])) {
        h->has_v1[c] = true;
        snprintf(h->v1[c].mnt, sizeof h->v1[c].mnt, "%s", x->mnt);
      }
  }
  cove_cg_each_line(self_cgroup, own_cb, h);
  /* A hierarchy we are not listed in (or seen through a cgroup namespace
   * as "/.." paths) is not one we can place anything under safely. */
  if (h->has_v2 && (!h->v2.own[0] || strstr(h->v2.own, "/..")))
    h->has_v2 = false;
  for (int c = 0; c < COVE_CG_V1_COUNT; c++)
    if (h->has_v1[c] && (!h->v1[c].own[0] || strstr(h->v1[c].own, "/..")))
      h->has_v1[c] = false;
}

int cove_cg_host_discover(struct cove_cg_host *h, cove_err *err)
{
  struct cove_cg_mounts m;
  if (cove_cg_mounts_read(&m, err) < 0)
    return -1;
  _cleanup_free_ char *self = cove_cg_proc_cgroup(0, err);
  if (!self) {
    cove_cg_mounts_free(&m);
    return -1;
  }
  cove_cg_host_from(h, &m, self);
  cove_cg_mounts_free(&m);
  return 0;
}
