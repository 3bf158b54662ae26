/* Device access control: linux.resources.devices, followed by the default
 * list runc appends (docs/cgroups.md "Devices"), enforced by
 *
 *  - the v1 devices controller where the host mounts one: "deny a", then
 *    every rule in order to devices.allow / devices.deny;
 *  - a BPF_CGROUP_DEVICE program on the container's v2 cgroup: the rules
 *    checked last to first, the first that matches decides (= the last
 *    matching rule wins), nothing matching = deny. Attached with
 *    BPF_F_ALLOW_MULTI so programs of ancestors (a nested runtime's
 *    parent, systemd) still run and all of them must allow.
 *
 * On hybrid hosts both apply; the kernel asks both and each must allow.
 * Rootless there is neither (loading the program needs CAP_SYS_ADMIN in
 * the initial user namespace), and none is needed: mknod of a real device
 * is refused in a user namespace and a container's /dev holds only the
 * nodes cove bound in. */
#include "cgroup_internal.h"

#include "cove/cleanup.h"
#include "cove/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ANY (-1)
#define RWM COVE_DEV_ACC_ALL

/* runc's default allow list: mknod of anything (opening still needs a
 * rule), and the devices every container gets. */
static const struct cove_device_rule default_rules[] = {
  {true, 'c', ANY, ANY, COVE_DEV_ACC_MKNOD}, {true, 'b', ANY, ANY, COVE_DEV_ACC_MKNOD},
  {true, 'c', 1, 3, RWM},   /* null */
  {true, 'c', 1, 8, RWM},   /* random */
  {true, 'c', 1, 7, RWM},   /* full */
  {true, 'c', 5, 0, RWM},   /* tty */
  {true, 'c', 1, 5, RWM},   /* zero */
  {true, 'c', 1, 9, RWM},   /* urandom */
  {true, 'c', 5, 1, RWM},   /* console */
  {true, 'c', 136, ANY, RWM}, /* pts */
  {true, 'c', 5, 2, RWM},   /* ptmx */
};
#define N_DEFAULT (sizeof default_rules / sizeof default_rules[0])

/* Rule i of the full list: the config's rules, then the defaults (runc
 * appends them, so a config's "deny all" cannot take /dev/null away). */
static const struct cove_device_rule *rule_at(const struct cove_resources *r, size_t i)
{
  return i < r->n_devices ? &r->devices[i] : &default_rules[i - r->n_devices];
}

static void rule_field(char *out, size_t cap, const struct cove_resources *r, size_t i)
{
  if (i < r->n_devices)
    snprintf(out, cap, "linux.resources.devices[%zu]", i);
  else
    snprintf(out, cap, "linux.resources.devices (default rule %zu)", i - r->n_devices);
}

/* ------------------------------------------------------------ cgroup v1 */

static void v1_num(char *out, size_t cap, int64_t v)
{
  if (v < 0)
    snprintf(out, cap, "*");
  else
    snprintf(out, cap, "%" PRId64, v);
}

static int v1_apply(const char *dir, const struct cove_resources *r, cove_err *err)
{
  /* default deny, no exceptions */
  if (cove_cg_write(dir, "devices.deny", "a", err) < 0)
    return cove_error_prefix(err, "linux.resources.devices: reset the devices cgroup");
  size_t n = r->n_devices + N_DEFAULT;
  for (size_t i = 0; i < n; i++) {
    const struct cove_device_rule *d = rule_at(r, i);
    if (!d->access)
      continue;
    char acc[4] = "", maj[24], min[24], line[96];
    size_t k = 0;
    if (d->access & COVE_DEV_ACC_READ)
      acc[k++] = 'r';
    if (d->access & COVE_DEV_ACC_WRITE)
      acc[k++] = 'w';
    if (d->access & COVE_DEV_ACC_MKNOD)
      acc[k++] = 'm';
    v1_num(maj, sizeof maj, d->major);
    v1_num(min, sizeof min, d->minor);
    const char *file = d->allow ? "devices.allow" : "devices.deny";
    /* "a" in v1 means every device with every access; a narrower "a"
     * rule is written as its block and char halves */
    const char *types = d->type != 'a' ? (d->type == 'b' ? "b" : "c")
                        : (d->major < 0 && d->minor < 0 && d->access == RWM) ? "a" : "bc";
    for (const char *t = types; *t; t++) {
      if (*t == 'a')
        snprintf(line, sizeof line, "a");
      else
        snprintf(line, sizeof line, "%c %s:%s %s", *t, maj, min, acc);
      if (cove_cg_write(dir, file, line, err) < 0) {
        char f[96];
        rule_field(f, sizeof f, r, i);
        return cove_error_prefix(err, "%s", f);
      }
    }
  }
  return 0;
}

/* ------------------------------------------------- cgroup v2: BPF program */

/* Just the instruction forms the program needs (include/uapi/linux/bpf.h). */
#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_IMM(op, dst, imm) INSN(BPF_ALU | BPF_K | (op), dst, 0, 0, imm)
#define MOV32_REG(dst, src) INSN(BPF_ALU | BPF_X | BPF_MOV, dst, src, 0, 0)
#define MOV64_IMM(dst, imm) INSN(BPF_ALU64 | BPF_K | BPF_MOV, dst, 0, 0, imm)
#define JMP32_IMM(op, dst, imm) INSN(BPF_JMP32 | BPF_K | (op), dst, 0, 0, imm) /* off patched later */
#define EXIT_INSN() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* registers after the prologue */
enum { R0, R1, R_TYPE, R_ACC, R_MAJOR, R_MINOR };

struct prog {
  struct bpf_insn *v;
  size_t n, cap;
};

static int emit(struct prog *p, struct bpf_insn in)
{
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    struct bpf_insn *nv = realloc(p->v, cap * sizeof *nv);
    if (!nv)
      return -1;
    p->v = nv;
    p->cap = cap;
  }
  p->v[p->n++] = in;
  return 0;
}

/* One rule: a block that falls through to the next (earlier) rule when it
 * does not match, and returns its verdict when it does. */
static int emit_rule(struct prog *p, const struct cove_device_rule *d)
{
  size_t jumps[4], nj = 0;
  int ok = 0;
  if (d->type != 'a') {
    jumps[nj++] = p->n;
    ok |= emit(p, JMP32_IMM(BPF_JNE, R_TYPE, d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
  }
  if (d->access != RWM) {
    /* an allow rule covers a request only if it grants every bit asked;
     * a deny rule catches a request that asks for any bit it denies */
    ok |= emit(p, MOV32_REG(R1, R_ACC));
    if (d->allow) {
      ok |= emit(p, ALU32_IMM(BPF_AND, R1, (int32_t)(~d->access & RWM)));
      jumps[nj++] = p->n;
      ok |= emit(p, JMP32_IMM(BPF_JNE, R1, 0));
    } else {
      ok |= emit(p, ALU32_IMM(BPF_AND, R1, (int32_t)d->access));
      jumps[nj++] = p->n;
      ok |= emit(p, JMP32_IMM(BPF_JEQ, R1, 0));
    }
  }
  if (d->major >= 0) {
    jumps[nj++] = p->n;
    ok |= emit(p, JMP32_IMM(BPF_JNE, R_MAJOR, (int32_t)(uint32_t)d->major));
  }
  if (d->minor >= 0) {
    jumps[nj++] = p->n;
    ok |= emit(p, JMP32_IMM(BPF_JNE, R_MINOR, (int32_t)(uint32_t)d->minor));
  }
  ok |= emit(p, MOV64_IMM(R0, d->allow ? 1 : 0));
  ok |= emit(p, EXIT_INSN());
  if (ok < 0)
    return -1;
  for (size_t j = 0; j < nj; j++)
    p->v[jumps[j]].off = (int16_t)(p->n - jumps[j] - 1);
  return 0;
}

static int build_prog(struct prog *p, const struct cove_resources *r)
{
  /* struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major, minor; } */
  int ok = emit(p, LDX_W(R_TYPE, R1, 0));
  ok |= emit(p, ALU32_IMM(BPF_AND, R_TYPE, 0xffff));
  ok |= emit(p, LDX_W(R_ACC, R1, 0));
  ok |= emit(p, ALU32_IMM(BPF_RSH, R_ACC, 16));
  ok |= emit(p, LDX_W(R_MAJOR, R1, 4));
  ok |= emit(p, LDX_W(R_MINOR, R1, 8));
  if (ok < 0)
    return -1;
  for (size_t i = r->n_devices + N_DEFAULT; i-- > 0;) {
    const struct cove_device_rule *d = rule_at(r, i);
    if (!d->access)
      continue;
    if (emit_rule(p, d) < 0)
      return -1;
    if (d->type == 'a' && d->major < 0 && d->minor < 0 && d->access == RWM)
      return 0; /* matches everything: the earlier rules are unreachable */
  }
  ok = emit(p, MOV64_IMM(R0, 0));
  ok |= emit(p, EXIT_INSN());
  return ok;
}

static int v2_attach(const char *dir, const struct cove_resources *r, cove_err *err)
{
  struct prog p = {0};
  if (build_prog(&p, r) < 0) {
    free(p.v);
    return cove_error(err, ENOMEM, "linux.resources.devices: device program");
  }
  static char log[4096];
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.expected_attach_type = BPF_CGROUP_DEVICE;
  a.insns = (uint64_t)(uintptr_t)p.v;
  a.insn_cnt = (uint32_t)p.n;
  a.license = (uint64_t)(uintptr_t) "GPL";
  snprintf(a.prog_name, sizeof a.prog_name, "cove_devices");
  _cleanup_close_ int pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
  if (pfd < 0 && errno == EINVAL) {
    /* load again with the verifier's log, for the message */
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = sizeof log;
    a.log_level = 1;
    log[0] = 0;
    pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
  }
  int e = errno;
  free(p.v);
  if (pfd < 0)
    return cove_error(err, e, "linux.resources.devices: load the BPF_CGROUP_DEVICE program%s%.300s",
                      log[0] ? ": " : "", log);
  _cleanup_close_ int cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cfd < 0)
    return cove_error(err, errno, "linux.resources.devices: open %s", dir);
  union bpf_attr t;
  memset(&t, 0, sizeof t);
  t.target_fd = (uint32_t)cfd;
  t.attach_bpf_fd = (uint32_t)pfd;
  t.attach_type = BPF_CGROUP_DEVICE;
  t.attach_flags = BPF_F_ALLOW_MULTI;
  /* the cgroup holds the program from now on; it goes with the cgroup */
  if (syscall(SYS_bpf, BPF_PROG_ATTACH, &t, sizeof t) < 0)
    return cove_error(err, errno, "linux.resources.devices: attach the device program to %s", dir);
  return 0;
}

/* ------------------------------------------------------------- entry */

int cove_cg_devices_apply(const struct cove_cgroup *cg, const struct cove_resources *r, bool rootless, cove_err *err)
{
  if (rootless) {
    if (r->n_devices)
      cove_debug("linux.resources.devices: not applied rootless: the user namespace already forbids device nodes "
                 "the user could not open on the host");
    return 0;
  }
  const char *v1 = cg->v1[COVE_CG_DEVICES];
  bool done = false;
  if (v1[0]) {
    if (v1_apply(v1, r, err) < 0)
      return -1;
    done = true;
  }
  if (cg->v2[0]) {
    cove_err e = {0};
    if (v2_attach(cg->v2, r, &e) == 0) {
      done = true;
    } else if (!done) {
      *err = e;
      return -1;
    } else {
      /* the v1 controller enforces them; the program is a second check */
      cove_debug("%s (the v1 devices controller enforces the rules)", e.msg);
    }
  }
  if (!done && r->n_devices)
    return cove_cg_cannot(err, "linux.resources.devices: cannot be enforced: no v1 devices cgroup and no cgroup v2 "
                              "directory for the container");
  if (!done)
    cove_log(COVE_LOG_WARN, "device access is not restricted: no v1 devices cgroup and no cgroup v2 directory");
  return 0;
}
