/* The compiled seccomp filter, cached per user.
 *
 * Compiling a profile with libseccomp costs milliseconds of CPU per
 * container start (the agent profile: several hundred rules with argument
 * conditions), and the result only depends on the profile, the
 * architecture and the libseccomp version. cove_seccomp_precompile(),
 * called by the parent before the init is cloned, takes the program from
 * CACHE_DIR/<key>.bpf or compiles it and stores it there; the init, a copy
 * of the parent's memory, finds it in `primed` and loads it with seccomp(2)
 * instead of compiling.
 *
 * The key is a SHA-256 over everything that shapes the program. A cache
 * file is used only if the directory and the file belong to the caller
 * and nobody else can write them, the size is exact, and the key and the
 * program's own SHA-256 inside match; anything else is ignored and the
 * profile compiled as before. */
#include "seccomp_cache.h"

#include "cove/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- SHA-256 (FIPS 180-4) ---- */
struct sha256 {
  uint32_t h[8];
  uint8_t buf[64];
  size_t n;
  uint64_t total;
};

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
  return (x >> n) | (x << (32 - n));
}

static void sha_block(struct sha256 *s, const uint8_t *p)
{
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha_init(struct sha256 *s)
{
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, iv, sizeof iv);
  s->n = 0;
  s->total = 0;
}

static void sha_update(struct sha256 *s, const void *data, size_t len)
{
  const uint8_t *p = data;
  s->total += len;
  while (len) {
    size_t k = 64 - s->n < len ? 64 - s->n : len;
    memcpy(s->buf + s->n, p, k);
    s->n += k;
    p += k;
    len -= k;
    if (s->n == 64) {
      sha_block(s, s->buf);
      s->n = 0;
    }
  }
}

static void sha_final(struct sha256 *s, uint8_t out[32])
{
  uint64_t bits = s->total * 8;
  uint8_t pad = 0x80, zero = 0;
  sha_update(s, &pad, 1);
  while (s->n != 56)
    sha_update(s, &zero, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, len, 8);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++)
      out[4 * i + j] = (uint8_t)(s->h[i] >> (24 - 8 * j));
}

void cove_sha256(const void *data, size_t len, uint8_t out[32])
{
  struct sha256 s;
  sha_init(&s);
  sha_update(&s, data, len);
  sha_final(&s, out);
}

/* ---- the key ---- */
static void put_str(struct sha256 *s, const char *v)
{
  uint32_t n = v ? (uint32_t)strlen(v) + 1 : 0; /* NULL and "" differ */
  sha_update(s, &n, sizeof n);
  if (v)
    sha_update(s, v, n);
}
static void put_u64(struct sha256 *s, uint64_t v)
{
  sha_update(s, &v, sizeof v);
}
static void put_strv(struct sha256 *s, const struct cove_strv *v)
{
  put_u64(s, v->n);
  for (size_t i = 0; i < v->n; i++)
    put_str(s, v->v[i]);
}

void cove_seccomp_key(const struct cove_seccomp *p, uint8_t key[32])
{
  struct sha256 s;
  sha_init(&s);
  put_str(&s, "cove seccomp bpf v1");
  const struct scmp_version *v = seccomp_version();
  put_u64(&s, v ? v->major : 0);
  put_u64(&s, v ? v->minor : 0);
  put_u64(&s, v ? v->micro : 0);
  put_u64(&s, seccomp_arch_native());
  put_str(&s, p->default_action);
  put_u64(&s, p->has_default_errno_ret);
  put_u64(&s, p->default_errno_ret);
  put_strv(&s, &p->architectures);
  put_strv(&s, &p->flags);
  put_u64(&s, p->n_rules);
  for (size_t i = 0; i < p->n_rules; i++) {
    const struct cove_seccomp_rule *r = &p->rules[i];
    put_strv(&s, &r->names);
    put_str(&s, r->action);
    put_u64(&s, r->has_errno_ret);
    put_u64(&s, r->errno_ret);
    put_u64(&s, r->n_args);
    for (size_t k = 0; k < r->n_args; k++) {
      put_u64(&s, r->args[k].index);
      put_u64(&s, r->args[k].value);
      put_u64(&s, r->args[k].value_two);
      put_str(&s, r->args[k].op);
    }
  }
  sha_final(&s, key);
}

/* ---- the file ---- */
#define MAGIC "COVEBPF1"
struct header {
  char magic[8];
  uint8_t key[32];
  uint8_t prog_sha[32];
  uint32_t n_insns;
  uint32_t reserved;
};

struct cove_seccomp_primed cove_seccomp_primed_filter;

static void file_name(const uint8_t key[32], char out[80])
{
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", key[i]);
  strcpy(out + 64, ".bpf");
}

/* A directory only we can write, or -1 (then nothing is cached). */
static int open_cache_dir(const char *dir)
{
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return -1;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022))) {
    close(fd);
    return -1;
  }
  return fd;
}

static struct sock_filter *load_file(int dfd, const uint8_t key[32], uint32_t *n_out)
{
  char name[80];
  file_name(key, name);
  _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  struct header h;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) ||
      st.st_size < (off_t)sizeof h || read(fd, &h, sizeof h) != (ssize_t)sizeof h)
    return NULL;
  if (memcmp(h.magic, MAGIC, 8) || memcmp(h.key, key, 32) || h.n_insns == 0 || h.n_insns > BPF_MAXINSNS ||
      st.st_size != (off_t)(sizeof h + h.n_insns * sizeof(struct sock_filter)))
    return NULL;
  size_t len = h.n_insns * sizeof(struct sock_filter);
  struct sock_filter *prog = malloc(len);
  uint8_t sum[32];
  if (!prog || read(fd, prog, len) != (ssize_t)len || (cove_sha256(prog, len, sum), memcmp(sum, h.prog_sha, 32))) {
    free(prog);
    return NULL;
  }
  *n_out = h.n_insns;
  return prog;
}

static void store_file(int dfd, const uint8_t key[32], const struct sock_filter *prog, uint32_t n)
{
  char name[80], tmp[100];
  file_name(key, name);
  snprintf(tmp, sizeof tmp, ".%d.tmp", (int)getpid());
  struct header h = {.n_insns = n};
  memcpy(h.magic, MAGIC, 8);
  memcpy(h.key, key, 32);
  size_t len = n * sizeof *prog;
  cove_sha256(prog, len, h.prog_sha);
  int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  bool ok = write(fd, &h, sizeof h) == (ssize_t)sizeof h && write(fd, prog, len) == (ssize_t)len;
  ok = close(fd) == 0 && ok;
  /* same key, same bytes: a concurrent writer's rename is as good */
  if (!ok || renameat(dfd, tmp, dfd, name) < 0)
    unlinkat(dfd, tmp, 0);
}

/* libseccomp's program, as the kernel would get it from seccomp_load() */
static struct sock_filter *export_prog(scmp_filter_ctx ctx, uint32_t *n_out, cove_err *err)
{
  _cleanup_close_ int mfd = memfd_create("cove-seccomp", MFD_CLOEXEC);
  if (mfd < 0)
    return cove_error(err, errno, "linux.seccomp: memfd_create"), NULL;
  int rc = seccomp_export_bpf(ctx, mfd);
  if (rc < 0)
    return cove_error(err, -rc, "linux.seccomp: export the filter"), NULL;
  off_t size = lseek(mfd, 0, SEEK_END);
  if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
      size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
    return cove_error(err, 0, "linux.seccomp: exported filter has an unexpected size %lld", (long long)size), NULL;
  struct sock_filter *prog = malloc((size_t)size);
  if (!prog || pread(mfd, prog, (size_t)size, 0) != size) {
    free(prog);
    return cove_error(err, errno ? errno : EIO, "linux.seccomp: read the exported filter"), NULL;
  }
  *n_out = (uint32_t)(size / (off_t)sizeof(struct sock_filter));
  return prog;
}

void cove_seccomp_forget(const struct cove_seccomp *s)
{
  if (cove_seccomp_primed_filter.src == s)
    cove_seccomp_primed_filter.src = NULL;
}

int cove_seccomp_precompile(const struct cove_seccomp *s, const char *cache_dir, cove_err *err)
{
  struct cove_seccomp_primed *pr = &cove_seccomp_primed_filter;
  uint8_t key[32];
  unsigned flags;
  bool raw = cove_seccomp_raw_flags(s, &flags);
  if (raw)
    cove_seccomp_key(s, key);
  /* the same profile again (a spec rebuilt without limits): same program */
  if (raw && pr->set && !memcmp(key, pr->key, sizeof key)) {
    pr->src = NULL;
    pr->notify = cove_seccomp_uses_notify(s);
    pr->src = s;
    return 0;
  }
  free(pr->prog);
  *pr = (struct cove_seccomp_primed){0};
  if (!raw)
    return 0; /* a flag the raw path does not know: the init compiles */
  pr->flags = flags;
  memcpy(pr->key, key, sizeof key);
  pr->notify = cove_seccomp_uses_notify(s);
  _cleanup_close_ int dfd = cache_dir ? open_cache_dir(cache_dir) : -1;
  if (dfd >= 0 && (pr->prog = load_file(dfd, pr->key, &pr->n_insns))) {
    pr->set = true;
    pr->src = s;
    return 0;
  }
  cove_seccomp_filter f = NULL;
  if (cove_seccomp_compile(s, &f, err) < 0)
    return -1;
  pr->prog = export_prog(f, &pr->n_insns, err);
  cove_seccomp_release(f);
  if (!pr->prog)
    return -1;
  pr->set = true;
  pr->src = s;
  if (dfd >= 0)
    store_file(dfd, pr->key, pr->prog, pr->n_insns);
  return 0;
}
