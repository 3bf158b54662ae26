#include "cove/state.h"

#include "hooks.h"

#include "cgroup_frozen.h"
#include "userns.h"

#include "cove/cleanup.h"
#include "cove/json.h"
#include "cove/log.h"
#include "cove/readfile.h"
#include "internal.h"
#include "cove/jsongen.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

const char *cove_status_name(enum cove_status s)
{
  static const char *const n[] = {"creating", "created", "running", "stopped", "paused"};
  return n[s];
}

/* Root inside a user namespace that does not map the whole id range: the
 * "root" of rootless podman, which runs the runtime in its namespace. */
int cove_state_root(const char *root_opt, char *out, size_t cap, cove_err *err)
{
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  struct stat xst;
  bool own_xdg = xdg && *xdg && stat(xdg, &xst) == 0 && xst.st_uid == geteuid();
  if (root_opt && *root_opt) {
    snprintf(out, cap, "%s", root_opt);
  } else if (geteuid() == 0 && !(own_xdg && cove_in_partial_userns())) {
    snprintf(out, cap, "/run/cove");
  } else if (own_xdg) {
    /* runc's rule too: /run/cove of a user namespace belongs to nobody */
    snprintf(out, cap, "%s/cove", xdg);
  } else {
    snprintf(out, cap, "/tmp/cove-%u", (unsigned)geteuid());
  }
  /* mkdir -p with 0700 on the last component only */
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", out);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = 0;
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
      return cove_error(err, errno, "state root %s", tmp);
    *p = '/';
  }
  if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
    return cove_error(err, errno, "state root %s", tmp);
  struct stat st;
  if (lstat(out, &st) < 0)
    return cove_error(err, errno, "state root %s", out);
  if (!S_ISDIR(st.st_mode))
    return cove_error(err, ENOTDIR, "state root %s", out);
  /* A state root owned by someone else could be swapped under us. */
  if (st.st_uid != geteuid())
    return cove_error(err, EPERM, "state root %s is owned by uid %u, not by us", out, (unsigned)st.st_uid);
  return 0;
}

int cove_validate_id(const char *id, cove_err *err)
{
  size_t n = strlen(id);
  if (n == 0 || n > 200)
    return cove_error(err, 0, "invalid container id \"%s\": must be 1 to 200 characters", id);
  if (!strcmp(id, ".") || !strcmp(id, ".."))
    return cove_error(err, 0, "invalid container id \"%s\"", id);
  for (const char *p = id; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("_+-.", *p))
      return cove_error(err, 0, "invalid container id \"%s\": only letters, digits and _+-. are allowed", id);
  return 0;
}

static int lock_dir(int fd, cove_err *err)
{
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return cove_error(err, errno, "lock container state");
  return 0;
}

int cove_state_create(const char *root, const char *id, cove_err *err)
{
  _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return cove_error(err, errno, "state root %s", root);
  if (mkdirat(rootfd, id, 0700) < 0) {
    if (errno == EEXIST)
      return cove_error(err, EEXIST, "container \"%s\" already exists", id);
    return cove_error(err, errno, "create state for %s", id);
  }
  int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cove_error(err, errno, "open state for %s", id);
  if (lock_dir(fd, err) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int cove_state_open(const char *root, const char *id, cove_err *err)
{
  if (cove_validate_id(id, err) < 0)
    return -1;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", root, id);
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return cove_error(err, ENOENT, "container \"%s\" does not exist", id);
    return cove_error(err, errno, "open state of %s", id);
  }
  if (lock_dir(fd, err) < 0) {
    close(fd);
    return -1;
  }
  /* Deleted while we waited for the lock? */
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_nlink == 0) {
    close(fd);
    return cove_error(err, ENOENT, "container \"%s\" does not exist", id);
  }
  return fd;
}

/* The runtime.md State object, opened and filled: state.json, `cove state`
 * and the hooks' stdin all write it here. status NULL and pid < 0 leave the
 * field out; the caller adds its own fields and closes the map. */
static void gen_state(struct cove_gen *g, const char *oci_version, const char *id, const char *status, pid_t pid,
                      const char *bundle, const char *annotations_json)
{
  cove_gen_map_open(g);
  cove_gen_kv_text(g, "ociVersion", oci_version);
  cove_gen_kv_text(g, "id", id);
  if (status)
    cove_gen_kv_str(g, "status", status);
  if (pid >= 0)
    cove_gen_kv_int(g, "pid", pid);
  cove_gen_kv_text(g, "bundle", bundle);
  cove_gen_key(g, "annotations");
  cove_gen_raw(g, annotations_json ? annotations_json : "{}");
}

char *cove_hook_state_json(const char *oci_version, const char *id, const char *status, pid_t pid, const char *bundle,
                           const char *annotations_json)
{
  struct cove_gen g;
  cove_err err = {0};
  if (cove_gen_init_line(&g, NULL, &err) < 0)
    return NULL;
  gen_state(&g, oci_version ? oci_version : "1.3.0", id, status, pid > 0 ? pid : -1, bundle, annotations_json);
  cove_gen_map_close(&g);
  return cove_gen_line_dup(&g, "hook state");
}

char *cove_spec_annotations_json(const struct cove_spec *s)
{
  struct cove_gen g;
  cove_err err = {0};
  if (!s->n_annotations || cove_gen_init_line(&g, NULL, &err) < 0)
    return NULL;
  cove_gen_map_open(&g);
  for (size_t i = 0; i < s->n_annotations; i++)
    cove_gen_kv_text(&g, s->annotations[i].key, s->annotations[i].value);
  cove_gen_map_close(&g);
  return cove_gen_line_dup(&g, "annotations");
}

int cove_state_write(int dirfd, const struct cove_state *st, cove_err *err)
{
  _cleanup_close_ int fd = openat(dirfd, "state.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  _cleanup_fclose_ FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (!f)
    return cove_error(err, errno, "write state");
  fd = -1;
  struct cove_gen g;
  if (cove_gen_init_line(&g, f, err) < 0)
    return -1;
  gen_state(&g, st->oci_version, st->id, NULL, st->pid, st->bundle, st->annotations_json);
  cove_gen_kv_int(&g, "pidStart", (long long)st->pid_start);
  cove_gen_kv_bool(&g, "creating", st->creating);
  cove_gen_kv_bool(&g, "rootless", st->rootless);
  cove_gen_kv_text(&g, "created", st->created);
  cove_gen_map_close(&g);
  fputc('\n', f);
  if (cove_gen_finish(&g, "write state") < 0)
    return -1;
  int r = fclose(f);
  f = NULL;
  if (r != 0)
    return cove_error(err, errno, "write state");
  if (renameat(dirfd, "state.json.tmp", dirfd, "state.json") < 0)
    return cove_error(err, errno, "write state");
  return 0;
}

/* Too long for the buffer means the file was not written by us: refuse it
 * rather than cut it (a cut can split a UTF-8 character). */
static int copy_str(yajl_val t, const char *key, char *out, size_t cap, cove_err *err)
{
  yajl_val v = cove_json_field(t, key);
  if (v && YAJL_IS_STRING(v)) {
    if (strlen(v->u.string) >= cap)
      return cove_error(err, EINVAL, "corrupt state.json: %s: longer than %zu bytes", key, cap - 1);
    memcpy(out, v->u.string, strlen(v->u.string) + 1);
  }
  return 0;
}

/* Re-serialise the annotations object: yajl_tree has no writer. */
static char *annotations_to_json(yajl_val a)
{
  struct cove_gen g;
  cove_err err = {0};
  if (!a || !YAJL_IS_OBJECT(a) || cove_gen_init_line(&g, NULL, &err) < 0)
    return NULL;
  cove_gen_value(&g, a);
  return cove_gen_line_dup(&g, "annotations");
}

int cove_state_read(int dirfd, struct cove_state *st, cove_err *err)
{
  memset(st, 0, sizeof *st);
  _cleanup_free_ char *buf =
    cove_read_file_at(dirfd, "state.json", O_NOFOLLOW, 16 * 1024 * 1024, NULL, "read state", err);
  if (!buf || cove_state_parse(st, buf, err) < 0)
    return -1;
  st->status = cove_state_status(dirfd, st);
  return 0;
}

int cove_state_parse(struct cove_state *st, const char *text, cove_err *err)
{
  memset(st, 0, sizeof *st);
  char ebuf[256];
  yajl_val t = yajl_tree_parse(text, ebuf, sizeof ebuf);
  if (!t)
    return cove_error(err, EINVAL, "corrupt state.json");
  if (copy_str(t, "id", st->id, sizeof st->id, err) < 0 ||
      copy_str(t, "bundle", st->bundle, sizeof st->bundle, err) < 0 ||
      copy_str(t, "created", st->created, sizeof st->created, err) < 0 ||
      copy_str(t, "ociVersion", st->oci_version, sizeof st->oci_version, err) < 0) {
    yajl_tree_free(t);
    return -1;
  }
  yajl_val v;
  if ((v = cove_json_field(t, "pid")) && YAJL_IS_INTEGER(v))
    st->pid = (pid_t)v->u.number.i;
  if ((v = cove_json_field(t, "pidStart")) && YAJL_IS_NUMBER(v))
    st->pid_start = strtoull(v->u.number.r, NULL, 10);
  st->creating = YAJL_IS_TRUE(cove_json_field(t, "creating"));
  st->rootless = YAJL_IS_TRUE(cove_json_field(t, "rootless"));
  st->annotations_json = annotations_to_json(cove_json_field(t, "annotations"));
  yajl_tree_free(t);
  return 0;
}

void cove_state_release(struct cove_state *st)
{
  free(st->annotations_json);
  st->annotations_json = NULL;
}

/* Only what later commands use: exec (process defaults, seccomp), start
 * and delete (poststart, poststop). Copied from the parsed tree, so it is
 * exactly what create validated. */
int cove_state_keep_spec(int dirfd, const struct cove_spec *s, cove_err *err)
{
  if (!s->tree)
    return 0; /* a spec built in memory: later commands read the bundle */
  _cleanup_close_ int fd = openat(dirfd, "spec.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  _cleanup_fclose_ FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (!f)
    return cove_error(err, errno, "keep the spec with the state");
  fd = -1;
  struct cove_gen g;
  if (cove_gen_init(&g, f, err) < 0)
    return -1;
  yajl_gen_config(g.g, yajl_gen_beautify, 0);
  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "ociVersion", s->oci_version);
  yajl_val v, h = cove_json_field(s->tree, "hooks");
  if ((v = cove_json_field(s->tree, "process"))) {
    cove_gen_key(&g, "process");
    cove_gen_value(&g, v);
  }
  cove_gen_key(&g, "hooks");
  cove_gen_map_open(&g);
  static const char *const later[] = {"poststart", "poststop"};
  for (size_t i = 0; i < sizeof later / sizeof *later; i++)
    if ((v = cove_json_field(h, later[i]))) {
      cove_gen_key(&g, later[i]);
      cove_gen_value(&g, v);
    }
  cove_gen_map_close(&g);
  if ((v = cove_json_field(cove_json_field(s->tree, "linux"), "seccomp"))) {
    cove_gen_key(&g, "linux");
    cove_gen_map_open(&g);
    cove_gen_key(&g, "seccomp");
    cove_gen_value(&g, v);
    cove_gen_map_close(&g);
  }
  cove_gen_map_close(&g);
  return cove_gen_finish(&g, "keep the spec with the state");
}

int cove_state_load_spec(int dirfd, const struct cove_state *st, struct cove_spec *s, cove_err *err)
{
  memset(s, 0, sizeof *s);
  if (faccessat(dirfd, "spec.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
    return cove_spec_load(s, st->bundle, err); /* created by an older cove, or from a spec in memory */
  size_t len;
  _cleanup_free_ char *buf =
    cove_read_file_at(dirfd, "spec.json", O_NOFOLLOW, 16 * 1024 * 1024, &len, "read the kept spec", err);
  return buf ? cove_spec_parse_kept(s, buf, len, err) : -1;
}

int cove_proc_starttime(pid_t pid, uint64_t *out)
{
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n <= 0)
    return -1;
  buf[n] = 0;
  /* comm may contain spaces and parens: parse from the last ')' */
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ')
    return -1;
  char state = p[2];
  if (state == 'Z' || state == 'X')
    return -1; /* exited, only waiting to be reaped */
  p += 2;
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (!p)
      return -1;
    p++;
  }
  *out = strtoull(p, NULL, 10);
  return 0;
}

enum cove_status cove_state_status(int dirfd, const struct cove_state *st)
{
  uint64_t start;
  if (st->pid <= 0)
    return st->creating ? COVE_CREATING : COVE_STOPPED;
  if (cove_proc_starttime(st->pid, &start) < 0 || start != st->pid_start)
    return COVE_STOPPED;
  if (st->creating)
    return COVE_CREATING;
  struct stat sb;
  if (cove_cgroup_state_frozen(dirfd))
    return COVE_PAUSED;
  if (fstatat(dirfd, "exec.fifo", &sb, AT_SYMLINK_NOFOLLOW) == 0)
    return COVE_CREATED;
  return COVE_RUNNING;
}

int cove_state_remove(const char *root, const char *id, int dirfd, cove_err *err)
{
  static const char *const files[] = {"exec.fifo", "start.fifo", "state.json", "state.json.tmp", "spec.json", "cgroup", "cgroup.tmp"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    if (unlinkat(dirfd, files[i], 0) < 0 && errno != ENOENT)
      return cove_error(err, errno, "remove state %s", files[i]);
  _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0 || unlinkat(rootfd, id, AT_REMOVEDIR) < 0)
    return cove_error(err, errno, "remove state directory of %s", id);
  return 0;
}

int cove_state_print(int fd, const struct cove_state *st, cove_err *err)
{
  _cleanup_close_ int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  _cleanup_fclose_ FILE *f = dfd < 0 ? NULL : fdopen(dfd, "w");
  if (!f)
    return cove_error(err, errno, "write state");
  dfd = -1;
  struct cove_gen g;
  if (cove_gen_init(&g, f, err) < 0)
    return -1;
  yajl_gen_config(g.g, yajl_gen_indent_string, "  ");
  gen_state(&g, st->oci_version, st->id, cove_status_name(st->status), st->status == COVE_STOPPED ? 0 : st->pid,
            st->bundle, st->annotations_json);
  cove_gen_kv_text(&g, "created", st->created);
  cove_gen_map_close(&g);
  return cove_gen_finish(&g, "write state");
}
