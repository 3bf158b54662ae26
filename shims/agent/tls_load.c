/* Loading the TLS module (tls_module.h) on the first run with credentials.
 *
 * The module is code run with the caller's privileges (root, often), so it
 * is loaded only from where cove itself lives: the directory of the running
 * executable (a build tree) or the install's module directory. Each file is
 * opened by fd, without following a symlink at the last step, and must be
 * a regular file owned by root or the caller in a directory of the same
 * owners, neither writable by anyone else; dlopen gets /proc/self/fd/N, the
 * file that was checked. */
#include "agent.h"

#include "cove/cleanup.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef COVE_MODULE_DIR
#define COVE_MODULE_DIR "/usr/local/lib/cove"
#endif

static const struct agent_tls_module *mod;

static bool trusted(const struct stat *st)
{
  return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* 1: loaded; 0: no module in dir; -1: error (a module that is there but
 * not trusted is an error, not a reason to look elsewhere) */
static int load_from(const char *dir, cove_err *err)
{
  _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return 0;
  _cleanup_close_ int fd = openat(dfd, AGENT_TLS_MODULE_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 0;
  if (fd < 0)
    return cove_error(err, errno, "%s/%s", dir, AGENT_TLS_MODULE_NAME);
  struct stat ds, fs;
  if (fstat(dfd, &ds) < 0 || fstat(fd, &fs) < 0)
    return cove_error(err, errno, "%s/%s", dir, AGENT_TLS_MODULE_NAME);
  if (!S_ISREG(fs.st_mode) || !trusted(&fs) || !trusted(&ds))
    return cove_error(err, 0,
                      "%s/%s: not loaded: it (and its directory) must be a regular file owned by root or uid %u and "
                      "writable by no one else",
                      dir, AGENT_TLS_MODULE_NAME, (unsigned)geteuid());
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h)
    return cove_error(err, 0, "%s/%s: %s", dir, AGENT_TLS_MODULE_NAME, dlerror());
  const struct agent_tls_module *m = dlsym(h, AGENT_TLS_MODULE_SYMBOL);
  if (!m || m->version != AGENT_TLS_MODULE_VERSION || m->size != sizeof *m) {
    dlclose(h);
    return cove_error(err, 0, "%s/%s: not a TLS module of this cove (version %s)", dir, AGENT_TLS_MODULE_NAME,
                      COVE_VERSION);
  }
  mod = m; /* kept loaded for the life of the process */
  return 1;
}

int agent_tls_load(cove_err *err)
{
  if (mod)
    return 0;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  const char *dirs[2] = {NULL, COVE_MODULE_DIR};
  if (n > 0) {
    exe[n] = 0;
    dirs[0] = dirname(exe);
  }
  for (size_t i = 0; i < 2; i++) {
    if (!dirs[i])
      continue;
    int r = load_from(dirs[i], err);
    if (r)
      return r < 0 ? cove_error_prefix(err, "TLS module") : 0;
  }
  return cove_error(err, 0,
                    "TLS module %s (built with OpenSSL, libssl-dev) not found in %s or %s; the credential proxy "
                    "needs it",
                    AGENT_TLS_MODULE_NAME, dirs[0] ? dirs[0] : "(cove's directory)", COVE_MODULE_DIR);
}

struct agent_tls *agent_tls_new(cove_err *err)
{
  if (agent_tls_load(err) < 0)
    return NULL;
  char why[256] = "";
  struct agent_tls *t = mod->tls_new(why, sizeof why);
  if (!t)
    cove_error(err, 0, "%s", why[0] ? why : "TLS setup failed");
  return t;
}

/* The rest only ever sees a struct made by the module, so mod is set. */
void agent_tls_free(struct agent_tls *t)
{
  if (t)
    mod->tls_free(t);
}
const char *agent_tls_ca_pem(struct agent_tls *t)
{
  return mod->ca_pem(t);
}
struct agent_tls_conn *agent_tls_server(struct agent_tls *t, int fd, const char *host)
{
  return mod->server(t, fd, host);
}
struct agent_tls_conn *agent_tls_client(struct agent_tls *t, int fd, const char *host)
{
  return mod->client(t, fd, host);
}
void agent_tls_conn_free(struct agent_tls_conn *c)
{
  if (c)
    mod->conn_free(c);
}
int agent_tls_handshake(struct agent_tls_conn *c)
{
  return mod->handshake(c);
}
int agent_tls_read(struct agent_tls_conn *c, char *buf, size_t n)
{
  return mod->read(c, buf, n);
}
int agent_tls_write(struct agent_tls_conn *c, const char *buf, size_t n)
{
  return mod->write(c, buf, n);
}
bool agent_tls_pending(struct agent_tls_conn *c)
{
  return mod->pending(c);
}
const char *agent_tls_sni(struct agent_tls_conn *c)
{
  return mod->sni(c);
}
const char *agent_tls_error(struct agent_tls_conn *c)
{
  return mod->error(c);
}
