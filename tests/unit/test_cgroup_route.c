/* The cgroup routing without root or a real host: made-up mount tables and
 * /proc/self/cgroup texts go through the same parser and cove_cg_plan as
 * create, for a pure v2 host, a hybrid host whose v2 has hugetlb only
 * (the CI machine), a pure v1 host and a rootless user's delegated scope.
 * Also the mount parser's escapes and bind-mounted roots (exec's view). */
#include "cgroup_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int fails;

static void check(int cond, const char *what)
{
  printf("%s: %s\n", cond ? "ok" : "FAIL", what);
  fails += !cond;
}

static const char *offer; /* cgroup.controllers the fake v2 base offers */

static int fake_controllers(const char *dir, char *buf, size_t cap)
{
  (void)dir;
  snprintf(buf, cap, "%s\n", offer);
  return (int)strlen(buf);
}

static void host(struct cove_cg_host *h, const char *mountinfo, const char *self, const char *v2_offer)
{
  struct cove_cg_mounts m;
  cove_err e;
  if (cove_cg_mounts_parse(mountinfo, &m, &e) < 0) {
    printf("FAIL: parse: %s\n", e.msg);
    fails++;
    return;
  }
  cove_cg_host_from(h, &m, self);
  cove_cg_mounts_free(&m);
  offer = v2_offer;
  h->controllers = fake_controllers;
}

static const char V2_MOUNTS[] =
  "22 1 0:21 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
  "23 1 0:22 / /proc rw - proc proc rw\n";

static const char HYBRID_MOUNTS[] =
  "25 1 0:23 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro,mode=755\n"
  "26 25 0:24 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
  "27 25 0:25 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory\n"
  "28 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw shared:12 - cgroup cgroup rw,cpu,cpuacct\n"
  "29 25 0:27 / /sys/fs/cgroup/pids rw shared:13 - cgroup cgroup rw,pids\n"
  "30 25 0:28 / /sys/fs/cgroup/freezer rw shared:14 - cgroup cgroup rw,freezer\n"
  "31 25 0:29 / /sys/fs/cgroup/cpuset rw shared:15 - cgroup cgroup rw,cpuset\n"
  "32 25 0:30 / /sys/fs/cgroup/systemd rw shared:16 - cgroup cgroup rw,xattr,name=systemd\n";
static const char HYBRID_SELF[] = "7:cpuset:/\n6:freezer:/sup/job\n5:pids:/sup/job\n4:cpu,cpuacct:/sup/job\n"
                                  "3:memory:/sup/job\n1:name=systemd:/sup/job\n0::/sup/job\n";

static void pure_v2(void)
{
  struct cove_cg_host h;
  host(&h, V2_MOUNTS, "0::/user.slice/session-1.scope\n", "cpuset cpu io memory hugetlb pids rdma misc");
  check(h.has_v2 && !h.has_v1[COVE_CG_MEMORY], "v2: cgroup2 found, no v1");

  struct cove_resources r = {0};
  r.mem_limit = (struct cove_opt_i64){true, 1 << 20};
  r.pids_limit = (struct cove_opt_i64){true, 10};
  r.cpu_shares = (struct cove_opt_u64){true, 512};
  struct cove_cg_plan p;
  cove_err e = {0};
  int rc = cove_cg_plan(&h, &r, NULL, "c1", &p, &e);
  check(rc == 0 && !strcmp(p.v2base, "/sys/fs/cgroup/user.slice") &&
          !strcmp(p.v2leaf, "/sys/fs/cgroup/user.slice/cove-c1"),
        "v2 default place: a sibling of the caller's cgroup (no-internal-process rule)");
  check(p.to[COVE_CG_R_MEMORY] == COVE_CG_TO_V2 && p.to[COVE_CG_R_PIDS] == COVE_CG_TO_V2 &&
          p.to[COVE_CG_R_CPU] == COVE_CG_TO_V2 && p.to[COVE_CG_R_BLKIO] == COVE_CG_NOWHERE && p.want_v2,
        "v2: memory, pids, cpu routed to v2; nothing asked of io");
  check(!p.v1[COVE_CG_MEMORY], "v2: no v1 directories planned");

  rc = cove_cg_plan(&h, &r, "/machine/ctr", "c1", &p, &e);
  check(rc == 0 && p.absolute && !strcmp(p.v2base, "/sys/fs/cgroup") && !strcmp(p.v2leaf, "/sys/fs/cgroup/machine/ctr"),
        "v2 absolute cgroupsPath: from the hierarchy's root");
  rc = cove_cg_plan(&h, &r, "a/b/", "c1", &p, &e);
  check(rc == 0 && !p.absolute && !strcmp(p.v2leaf, "/sys/fs/cgroup/user.slice/a/b"),
        "v2 relative cgroupsPath: under the caller's parent, trailing slash dropped");
  rc = cove_cg_plan(&h, &r, "system.slice:cove:c1", "c1", &p, &e);
  check(rc == 0 && !strcmp(p.v2leaf, "/sys/fs/cgroup/user.slice/cove-c1"), "systemd slice:prefix:name form: default place");
  rc = cove_cg_plan(&h, &r, "/", "c1", &p, &e);
  check(rc < 0 && e.kind == COVE_EK_INVALID_CONFIG && strstr(e.msg, "linux.cgroupsPath"), "cgroupsPath \"/\": invalid");

  struct cove_unified_kv kv = {"memory.high", "1000000"};
  r.unified = &kv;
  r.n_unified = 1;
  rc = cove_cg_plan(&h, &r, NULL, "c1", &p, &e);
  check(rc == 0 && p.want_v2, "v2: unified memory.high accepted");

  /* caller in the root cgroup: the container goes right under it */
  host(&h, V2_MOUNTS, "0::/\n", "cpu memory pids");
  rc = cove_cg_plan(&h, &r, NULL, "c1", &p, &e);
  check(rc == 0 && !strcmp(p.v2base, "/sys/fs/cgroup") && !strcmp(p.v2leaf, "/sys/fs/cgroup/cove-c1"),
        "v2 from the root cgroup: base is the root");
}

static void hybrid(void)
{
  struct cove_cg_host h;
  host(&h, HYBRID_MOUNTS, HYBRID_SELF, "hugetlb");
  check(h.has_v2 && !strcmp(h.v2.mnt, "/sys/fs/cgroup/unified") && h.has_v1[COVE_CG_MEMORY] &&
          h.has_v1[COVE_CG_CPU] && h.has_v1[COVE_CG_CPUACCT] && !h.has_v1[COVE_CG_BLKIO],
        "hybrid: v2 at unified, v1 memory and cpu,cpuacct found, no blkio");
  check(!strcmp(h.v1[COVE_CG_CPU].mnt, "/sys/fs/cgroup/cpu,cpuacct") && !strcmp(h.v1[COVE_CG_CPU].own, "/sup/job"),
        "hybrid: co-mounted cpu,cpuacct and our place in it");

  struct cove_resources r = {0};
  r.mem_limit = (struct cove_opt_i64){true, 1 << 20};
  struct cove_hugepage_limit hp = {"2MB", 0};
  r.hugepages = &hp;
  r.n_hugepages = 1;
  struct cove_cg_plan p;
  cove_err e = {0};
  int rc = cove_cg_plan(&h, &r, NULL, "c1", &p, &e);
  check(rc == 0 && p.to[COVE_CG_R_MEMORY] == COVE_CG_TO_V1 && p.to[COVE_CG_R_HUGETLB] == COVE_CG_TO_V2 && p.want_v2,
        "hybrid: memory to v1, hugetlb to v2");
  check(p.v1[COVE_CG_MEMORY] && p.v1_field[COVE_CG_MEMORY] && !strcmp(p.v1_field[COVE_CG_MEMORY], "memory") &&
          !strcmp(p.v1leaf[COVE_CG_MEMORY], "/sys/fs/cgroup/memory/sup/job/cove-c1"),
        "hybrid: v1 memory directory required, under our own cgroup (no parent step in v1)");
  check(p.v1[COVE_CG_FREEZER] && !p.v1_field[COVE_CG_FREEZER], "hybrid: freezer directory planned, not required");
  check(!strcmp(p.v2leaf, "/sys/fs/cgroup/unified/sup/cove-c1"), "hybrid: v2 leaf beside ours");

  rc = cove_cg_plan(&h, &r, "/abs/c", "c1", &p, &e);
  check(rc == 0 && !strcmp(p.v1leaf[COVE_CG_MEMORY], "/sys/fs/cgroup/memory/abs/c") &&
          !strcmp(p.v1leaf[COVE_CG_CPUSET], "/sys/fs/cgroup/cpuset/abs/c"),
        "hybrid absolute: every v1 hierarchy from its root");

  struct cove_resources io = {0};
  io.blkio_weight = (struct cove_opt_u64){true, 100};
  rc = cove_cg_plan(&h, &io, NULL, "c1", &p, &e);
  check(rc < 0 && e.kind == COVE_EK_LIMITS && strstr(e.msg, "blockIO") && strstr(e.msg, "cannot be enforced"),
        "hybrid: blockIO with neither v2 io nor v1 blkio: limits error");
  if (rc < 0)
    printf("  (%s)\n", e.msg);

  struct cove_resources un = {0};
  struct cove_unified_kv kv = {"memory.high", "1"};
  un.unified = &kv;
  un.n_unified = 1;
  rc = cove_cg_plan(&h, &un, NULL, "c1", &p, &e);
  check(rc < 0 && e.kind == COVE_EK_LIMITS && strstr(e.msg, "unified.memory.high"),
        "hybrid: unified memory.* with memory only in v1: limits error");
}

static void pure_v1(void)
{
  static const char mounts[] = "27 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                               "29 25 0:27 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
  struct cove_cg_host h;
  host(&h, mounts, "3:memory:/a\n5:pids:/a\n", "");
  struct cove_resources r = {0};
  r.pids_limit = (struct cove_opt_i64){true, 5};
  struct cove_cg_plan p;
  cove_err e = {0};
  int rc = cove_cg_plan(&h, &r, NULL, "c1", &p, &e);
  check(rc == 0 && !p.v2 && p.to[COVE_CG_R_PIDS] == COVE_CG_TO_V1 && !p.want_v2 &&
          !strcmp(p.v1leaf[COVE_CG_PIDS], "/sys/fs/cgroup/pids/a/cove-c1"),
        "v1: pids to its v1 hierarchy");
  struct cove_unified_kv kv = {"pids.max", "5"};
  r.unified = &kv;
  r.n_unified = 1;
  rc = cove_cg_plan(&h, &r, NULL, "c1", &p, &e);
  check(rc < 0 && e.kind == COVE_EK_LIMITS && strstr(e.msg, "needs cgroup v2"), "v1: unified needs v2: limits error");

  /* seen through a cgroup namespace: not a place to put anything */
  host(&h, mounts, "3:memory:/../x\n5:pids:/a\n", "");
  check(!h.has_v1[COVE_CG_MEMORY] && h.has_v1[COVE_CG_PIDS], "v1: a \"/..\" place is not used");
}

static void rootless(void)
{
  struct cove_cg_host h;
  host(&h, V2_MOUNTS, "0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-u7.scope\n", "memory pids");
  struct cove_resources r = {0};
  r.mem_limit = (struct cove_opt_i64){true, 1 << 20};
  struct cove_cg_plan p;
  cove_err e = {0};
  int rc = cove_cg_plan(&h, &r, NULL, "c1", &p, &e);
  check(rc == 0 && !strcmp(p.v2leaf, "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/cove-c1"),
        "rootless: beside the delegated scope");

  cove_err why = {0}, out = {0};
  cove_error(&why, EACCES, "mkdir %s", p.v2leaf);
  rc = cove_cg_unusable(&p, -1, &why, true, &out);
  /* the rest of the hint depends on whether systemd runs here */
  check(rc < 0 && out.kind == COVE_EK_LIMITS && strstr(out.msg, "cannot be enforced: no writable cgroup for uid") &&
          strstr(out.msg, "cgroup v2 subtree delegated to your user") && strstr(out.msg, "--cgroup-manager=disabled"),
        "rootless, not writable, memory asked: limits error with the delegation hint");
  rc = cove_cg_unusable(&p, -1, &why, false, &out);
  check(rc < 0 && out.kind == COVE_EK_LIMITS && strstr(out.msg, "(cgroup v2)") && out.code == EACCES,
        "root, not writable, memory asked: limits error keeping the cause");

  struct cove_resources none = {0};
  rc = cove_cg_plan(&h, &none, NULL, "c1", &p, &e);
  rc = rc == 0 ? cove_cg_unusable(&p, -1, &why, true, &out) : -1;
  check(rc == 0, "rootless, not writable, no limits: the v2 directory is skipped");
  check(cove_cg_none_usable(false, true, &out) == 0, "rootless, nothing writable, no limits: runs without a cgroup");
  rc = cove_cg_none_usable(true, true, &out);
  check(rc < 0 && out.kind == COVE_EK_LIMITS && strstr(out.msg, "no cgroup hierarchy is writable"),
        "nothing writable, limits asked: limits error");

  cove_error_kind(&why, COVE_EK_EXISTS, EEXIST, "linux.cgroupsPath: cgroup x already exists and has processes");
  rc = cove_cg_unusable(&p, -1, &why, true, &out);
  check(rc < 0 && out.kind == COVE_EK_EXISTS, "a taken cgroupsPath stays an EXISTS error, limits or not");
}

static void mounts_view(void)
{
  static const char mi[] = "40 1 0:50 /ctr /mnt/cg\\040x rw - cgroup2 cgroup2 rw\n"
                           "41 1 0:51 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                           "42 1 0:52 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n";
  struct cove_cg_mounts m;
  cove_err e;
  check(cove_cg_mounts_parse(mi, &m, &e) == 0 && m.n == 3, "mountinfo: three cgroup mounts");
  char d[4096];
  check(cove_cg_mount_dir(&m, "", "/ctr/sub", d, sizeof d) == 0 && !strcmp(d, "/mnt/cg x/sub"),
        "v2 mount with a non-root root and an escaped space");
  check(cove_cg_mount_dir(&m, "", "/other", d, sizeof d) < 0, "a cgroup outside the mounted root is not reachable");
  check(cove_cg_mount_dir(&m, "cpu,cpuacct", "/a", d, sizeof d) == 0 && !strcmp(d, "/sys/fs/cgroup/cpu,cpuacct/a"),
        "co-mounted v1 controllers");
  check(cove_cg_mount_dir(&m, "name=systemd", "/a", d, sizeof d) == 0 && !strcmp(d, "/sys/fs/cgroup/systemd/a"),
        "named v1 hierarchy");
  check(cove_cg_mount_dir(&m, "memory", "/a", d, sizeof d) < 0, "unmounted controller: not found");
  cove_cg_mounts_free(&m);
}

int main(void)
{
  pure_v2();
  hybrid();
  pure_v1();
  rootless();
  mounts_view();
  return fails ? 1 : 0;
}
