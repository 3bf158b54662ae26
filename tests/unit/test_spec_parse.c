/* What cove_spec_parse() makes of good input (test_spec_bad.c has the bad):
 * mount options into mount(2) flags, mount_setattr(2) attributes,
 * propagation and the filesystem data string; linux.resources into the
 * values the cgroup layer writes; linux.cgroupsPath forms; process
 * security fields. In process, no root, no containers. */
#include "cove/error.h"
#include "cove/resources.h"
#include "cove/spec.h"

#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static char bundle[64], rootfs[80];
static struct cove_spec spec;
static cove_err err;

/* A minimal config with `extra` top-level members ("mounts": ..., "linux": ...). */
static int parse(const char *extra)
{
  cove_spec_free(&spec);
  char doc[8192];
  snprintf(doc, sizeof doc,
           "{\"ociVersion\": \"1.3.0\", \"root\": {\"path\": \"rootfs\"},"
           " \"process\": {\"args\": [\"true\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0}}%s%s}",
           *extra ? ", " : "", extra);
  memset(&err, 0, sizeof err);
  int r = cove_spec_parse(&spec, doc, strlen(doc), bundle, &err);
  if (r < 0)
    printf("  parse failed: %s\n", err.msg);
  return r;
}

/* The one mount of {"mounts": [{destination /m, type, source, options}]}. */
static const struct cove_mount *mount_with(const char *type, const char *options)
{
  char extra[2048];
  snprintf(extra, sizeof extra,
           "\"mounts\": [{\"destination\": \"/m\", \"type\": \"%s\", \"source\": \"%s\", \"options\": [%s]}],"
           " \"linux\": {\"namespaces\": [{\"type\": \"mount\"}]}",
           type, !strcmp(type, "bind") ? "/tmp" : type, options);
  if (parse(extra) < 0 || spec.n_mounts != 1)
    return NULL;
  return &spec.mounts[0];
}

static void test_mount_options(void)
{
  const struct cove_mount *m = mount_with("tmpfs", "\"nosuid\", \"noexec\", \"nodev\", \"mode=755\", \"ro\", \"size=64k\"");
  CHECK(m && !m->bind && (m->flags & (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY)) ==
                             (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY),
        "tmpfs flags %#lx", m ? m->flags : 0);
  CHECK(m && m->data && !strcmp(m->data, "mode=755,size=64k"), "filesystem data in order: %s",
        m && m->data ? m->data : "(null)");
  m = mount_with("tmpfs", "\"nosuid\"");
  CHECK(m && !m->data, "no filesystem data: NULL");
  m = mount_with("proc", "");
  CHECK(m && !m->flags && !m->data && !m->bind && !m->propagation, "no options: nothing set");

  m = mount_with("bind", "\"rbind\", \"ro\", \"nosuid\"");
  CHECK(m && m->bind && m->recursive, "rbind: bind + recursive");
  CHECK(m && (m->attr_set & (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)) == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID) &&
            !(m->attr_clr & (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)),
        "bind ro,nosuid: set %#llx clr %#llx", m ? (unsigned long long)m->attr_set : 0,
        m ? (unsigned long long)m->attr_clr : 0);
  m = mount_with("bind", "\"bind\"");
  CHECK(m && m->bind && !m->recursive && !m->attr_set && !m->attr_clr, "bind alone changes no attribute");
  /* the last of two opposite options wins, for flags and attributes */
  m = mount_with("bind", "\"bind\", \"ro\", \"rw\"");
  CHECK(m && !(m->flags & MS_RDONLY) && !(m->attr_set & MOUNT_ATTR_RDONLY) && (m->attr_clr & MOUNT_ATTR_RDONLY),
        "ro then rw: read-write (clears the attribute)");
  m = mount_with("bind", "\"bind\", \"rw\", \"ro\"");
  CHECK(m && (m->flags & MS_RDONLY) && (m->attr_set & MOUNT_ATTR_RDONLY) && !(m->attr_clr & MOUNT_ATTR_RDONLY),
        "rw then ro: read-only");
  m = mount_with("bind", "\"bind\", \"nodev\", \"dev\", \"suid\", \"exec\"");
  CHECK(m && !(m->flags & (MS_NODEV | MS_NOSUID | MS_NOEXEC)) &&
            (m->attr_clr & (MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)) ==
                (MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC),
        "dev/suid/exec clear the no* attributes");
  /* an atime mode replaces the whole atime field (mount_setattr(2)) */
  m = mount_with("bind", "\"bind\", \"noatime\"");
  CHECK(m && (m->attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_NOATIME &&
            (m->attr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME,
        "noatime: clears the atime field and sets NOATIME");

  /* fuzzunit's findings: the last mode wins, relatime (value 0) counts */
  m = mount_with("bind", "\"bind\", \"strictatime\", \"noatime\"");
  CHECK(m && (m->attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_NOATIME && (m->attr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME,
        "strictatime then noatime: only NOATIME");
  m = mount_with("bind", "\"bind\", \"noatime\", \"relatime\"");
  CHECK(m && (m->attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_RELATIME && (m->attr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME,
        "noatime then relatime: the field cleared, relatime");
  m = mount_with("bind", "\"rbind\", \"rnoatime\"");
  CHECK(m && (m->rattr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_NOATIME && (m->rattr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME,
        "rnoatime clears the recursive atime field");
  m = mount_with("bind", "\"rbind\", \"rstrictatime\", \"rrelatime\"");
  CHECK(m && (m->rattr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_RELATIME && (m->rattr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME,
        "rrelatime replaces rstrictatime");

  /* recursive attribute variants */
  m = mount_with("bind", "\"rbind\", \"rro\", \"rnosuid\", \"rnodev\", \"rnoexec\"");
  CHECK(m && m->rattr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) &&
            !m->rattr_clr && !m->attr_set,
        "rro,rnosuid,rnodev,rnoexec: recursive set only (%#llx)", m ? (unsigned long long)m->rattr_set : 0);
  m = mount_with("bind", "\"rbind\", \"rro\", \"rrw\"");
  CHECK(m && !(m->rattr_set & MOUNT_ATTR_RDONLY) && (m->rattr_clr & MOUNT_ATTR_RDONLY), "rro then rrw");

  /* propagation: the last one wins */
  static const struct {
    const char *opt;
    unsigned long prop;
  } props[] = {{"\"private\"", MS_PRIVATE},       {"\"rprivate\"", MS_PRIVATE | MS_REC},
               {"\"shared\"", MS_SHARED},         {"\"rshared\"", MS_SHARED | MS_REC},
               {"\"slave\"", MS_SLAVE},           {"\"rslave\"", MS_SLAVE | MS_REC},
               {"\"unbindable\"", MS_UNBINDABLE}, {"\"runbindable\"", MS_UNBINDABLE | MS_REC},
               {"\"shared\", \"rslave\"", MS_SLAVE | MS_REC}};
  for (size_t i = 0; i < sizeof props / sizeof *props; i++) {
    m = mount_with("bind", props[i].opt);
    CHECK(m && m->propagation == props[i].prop && !m->data, "%s: propagation %#lx", props[i].opt,
          m ? m->propagation : 0);
  }
  /* unknown words are the filesystem's, passed through verbatim */
  m = mount_with("devpts", "\"newinstance\", \"ptmxmode=0666\", \"gid=5\"");
  CHECK(m && m->data && !strcmp(m->data, "newinstance,ptmxmode=0666,gid=5"), "devpts data: %s",
        m && m->data ? m->data : "(null)");
}

static void test_resources(void)
{
  CHECK(parse("\"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"resources\": {"
              " \"memory\": {\"limit\": 100000000, \"reservation\": 50000000, \"swap\": -1, \"swappiness\": 0},"
              " \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000, \"cpus\": \"0-1,3\", \"mems\": \"0\"},"
              " \"pids\": {\"limit\": 64},"
              " \"blockIO\": {\"weight\": 300, \"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 1048576}]},"
              " \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 0}],"
              " \"unified\": {\"memory.high\": \"90000000\"},"
              " \"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"c\", \"major\": 1,"
              "               \"minor\": 3, \"access\": \"rw\"}]}}") == 0,
        "resources parse");
  const struct cove_resources *r = &spec.res;
  CHECK(r->present, "present");
  CHECK(r->mem_limit.set && r->mem_limit.v == 100000000 && r->mem_reservation.set && r->mem_reservation.v == 50000000 &&
            r->mem_swap.set && r->mem_swap.v == -1 && r->mem_swappiness.set && r->mem_swappiness.v == 0 &&
            !r->mem_kernel.set,
        "memory");
  CHECK(r->cpu_shares.set && r->cpu_shares.v == 512 && r->cpu_quota.set && r->cpu_quota.v == 50000 &&
            r->cpu_period.set && r->cpu_period.v == 100000 && r->cpu_cpus && !strcmp(r->cpu_cpus, "0-1,3") &&
            r->cpu_mems && !strcmp(r->cpu_mems, "0") && !r->cpu_idle.set,
        "cpu");
  CHECK(r->pids_limit.set && r->pids_limit.v == 64, "pids");
  CHECK(r->blkio_weight.set && r->blkio_weight.v == 300 && r->blkio_read_bps.n == 1 &&
            r->blkio_read_bps.v[0].major == 8 && r->blkio_read_bps.v[0].rate == 1048576 && r->blkio_write_bps.n == 0,
        "blockIO");
  CHECK(r->n_hugepages == 1 && !strcmp(r->hugepages[0].page_size, "2MB") && r->hugepages[0].limit == 0, "hugepages");
  CHECK(r->n_unified == 1 && !strcmp(r->unified[0].key, "memory.high") && !strcmp(r->unified[0].value, "90000000"),
        "unified");
  CHECK(r->n_devices == 2 && !r->devices[0].allow && r->devices[0].type == 'a' && r->devices[0].major == -1 &&
            r->devices[0].minor == -1 && r->devices[0].access == COVE_DEV_ACC_ALL,
        "device rule 0: deny all (type %c access %u)", r->n_devices ? r->devices[0].type : '?',
        r->n_devices ? r->devices[0].access : 0);
  CHECK(r->n_devices == 2 && r->devices[1].allow && r->devices[1].type == 'c' && r->devices[1].major == 1 &&
            r->devices[1].minor == 3 && r->devices[1].access == (COVE_DEV_ACC_READ | COVE_DEV_ACC_WRITE),
        "device rule 1: c 1:3 rw");
  CHECK(cove_resources_has_limits(r), "has limits");

  CHECK(parse("\"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"resources\": {\"memory\": {\"limit\": -1},"
              " \"pids\": {\"limit\": -1}}}") == 0 &&
            spec.res.mem_limit.set && spec.res.mem_limit.v == -1 && spec.res.pids_limit.v == -1,
        "-1: unlimited");
  CHECK(parse("\"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"resources\": {\"devices\": [{\"allow\": false}]}}") ==
                0 &&
            !cove_resources_has_limits(&spec.res),
        "device rules alone are not limits");
  CHECK(parse("\"linux\": {\"namespaces\": [{\"type\": \"mount\"}]}") == 0 && !spec.res.present, "absent: not present");

  /* cgroupsPath forms */
  static const char *const good[] = {"/a/b", "a/b", "cove", "system.slice:cove:abc"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    memset(&err, 0, sizeof err);
    CHECK(cove_cgroups_path_check(good[i], &err) == 0, "cgroupsPath %s: %s", good[i], err.msg);
  }
  static const char *const bad[] = {"a/../b", "a//b", "./a", "a/.", ".."};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    memset(&err, 0, sizeof err);
    CHECK(cove_cgroups_path_check(bad[i], &err) < 0 && strstr(err.msg, "cgroupsPath"), "cgroupsPath %s refused: %s",
          bad[i], err.msg);
  }
}

static void test_process(void)
{
  /* a config whose process is the one under test */
  char doc[4096];
  snprintf(doc, sizeof doc,
           "{\"ociVersion\": \"1.3.0\", \"root\": {\"path\": \"rootfs\"}, \"linux\": {\"namespaces\": [{\"type\": "
           "\"mount\"}]}, \"process\": {\"args\": [\"sh\", \"-c\", \"x\"], \"cwd\": \"/w\", \"env\": [\"A=1\", \"B=\"],"
           " \"user\": {\"uid\": 1000, \"gid\": 100, \"additionalGids\": [5, 6], \"umask\": 18},"
           " \"noNewPrivileges\": true, \"oomScoreAdj\": -500,"
           " \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 4096}],"
           " \"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_CHOWN\"], \"effective\": []}}}");
  cove_spec_free(&spec);
  memset(&err, 0, sizeof err);
  CHECK(cove_spec_parse(&spec, doc, strlen(doc), bundle, &err) == 0, "process parse: %s", err.msg);
  const struct cove_process *p = &spec.process;
  CHECK(spec.has_process && p->args.n == 3 && !strcmp(p->args.v[2], "x") && !p->args.v[3] && !strcmp(p->cwd, "/w"),
        "args, cwd");
  CHECK(p->env.n == 2 && !strcmp(p->env.v[1], "B="), "env");
  CHECK(p->uid == 1000 && p->gid == 100 && p->n_additional_gids == 2 && p->additional_gids[1] == 6 && p->has_umask &&
            p->umask == 022,
        "user");
  CHECK(p->no_new_privileges && p->has_oom_score_adj && p->oom_score_adj == -500, "nnp, oomScoreAdj");
  CHECK(p->n_rlimits == 1 && p->rlimits[0].soft == 1024 && p->rlimits[0].hard == 4096, "rlimits");
  CHECK(p->caps.present && p->caps.bounding.n == 2 && p->caps.effective.n == 0 && p->caps.permitted.n == 0,
        "capabilities: two bounding, empty effective, absent permitted");
}

static void cleanup(void)
{
  cove_spec_free(&spec);
  rmdir(rootfs);
  rmdir(bundle);
}

int main(void)
{
  snprintf(bundle, sizeof bundle, "/tmp/cove-unit-spec.XXXXXX");
  if (!mkdtemp(bundle))
    return perror("mkdtemp"), 2;
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
  if (mkdir(rootfs, 0755) < 0)
    return perror(rootfs), rmdir(bundle), 2;
  atexit(cleanup);
  test_mount_options();
  test_resources();
  test_process();
  printf("%d checks, %d failures\n", checks, fails);
  return fails ? 1 : 0;
}
