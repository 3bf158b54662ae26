/* Run directories, their locks, and `cove agent gc`.
 *
 * A run is RUNBASE/ID.lock (flocked by the orchestrator for its whole
 * life) plus RUNBASE/ID/. The lock file appears already locked: it is
 * created unnamed (O_TMPFILE), flocked, then linked into place, so a free
 * lock always means a dead run — there is no window in which a live run's
 * lock could be taken for a dead one. The lock exists before the directory
 * and is removed after it, so every trace a run can leave, at any step of
 * its start or its end, is reachable from a free ID.lock.
 *
 * Cgroups are made by the runtime inside create, before the container's
 * state.json exists; a run killed in between leaves cgroups that no state
 * records. So before create the run writes ID/cgroups: the cgroup leaf
 * name the runtime will use (cove-ID) and its own /proc/self/cgroup. gc
 * removes, for a dead run, every cove-ID cgroup next to or below those
 * paths in every cgroup hierarchy (killing what is left in it), and drops
 * the record only when they are gone. */
#include "agent.h"

#include "cove/readfile.h"

#include "cove/cleanup.h"
#include "cove/container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* rm -rf without following symlinks or crossing into other mounts */
static void rm_tree_at(int dfd, const char *name, dev_t dev)
{
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == dev) {
      DIR *d = fdopendir(fd);
      if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
          if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rm_tree_at(dirfd(d), e->d_name, dev);
        closedir(d);
      } else {
        close(fd);
      }
    } else {
      close(fd);
    }
    unlinkat(dfd, name, AT_REMOVEDIR);
  } else {
    unlinkat(dfd, name, 0);
  }
}

void agent_rm_tree(const char *path)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return;
  rm_tree_at(AT_FDCWD, path, st.st_dev);
}

int agent_run_lock(const char *runbase, const char *id, cove_err *err)
{
  char name[4400], tmp[4400];
  snprintf(name, sizeof name, "%s/%s.lock", runbase, id);
  _cleanup_close_ int fd = open(runbase, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) {
    char self[32];
    agent_fd_source(self, fd);
    if (flock(fd, LOCK_EX) < 0 || linkat(AT_FDCWD, self, AT_FDCWD, name, AT_SYMLINK_FOLLOW) < 0)
      return cove_error(err, errno, "%s", name);
    return steal_fd(fd);
  }
  /* a filesystem without O_TMPFILE: a hidden name gc ignores until it is
   * old, locked before the rename that makes it a run's lock */
  snprintf(tmp, sizeof tmp, "%s/.%s.lock", runbase, id);
  fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || flock(fd, LOCK_EX) < 0 || rename(tmp, name) < 0)
    return cove_error(err, errno, "%s", tmp);
  return steal_fd(fd);
}

void agent_run_unlock(const char *runbase, const char *id, int lock_fd)
{
  if (lock_fd < 0)
    return;
  char name[4400];
  snprintf(name, sizeof name, "%s/%s.lock", runbase, id);
  unlink(name);
  close(lock_fd);
}

int agent_cgroup_record(const char *rundir, const char *id, cove_err *err)
{
  char path[4400];
  snprintf(path, sizeof path, "%s/cgroups", rundir);
  _cleanup_close_ int cfd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
  _cleanup_free_ char *self = cfd >= 0 ? cove_read_fd(cfd, 1 << 16, NULL, "/proc/self/cgroup", err) : NULL;
  if (!self)
    return cfd < 0 ? cove_error(err, errno, "/proc/self/cgroup") : -1;
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return cove_error(err, errno, "%s", path);
  /* no fsync: the record must outlive our process, not the machine (whose
   * reboot takes the cgroups with it) */
  if (dprintf(fd, "cove-%s\n%s", id, self) < 0)
    return cove_error(err, errno, "%s", path);
  return 0;
}

/* Kill what is left in a cgroup of a dead run and remove it. */
static int remove_cgroup(const char *dir)
{
  char f[4400];
  snprintf(f, sizeof f, "%s/cgroup.kill", dir);
  int kfd = open(f, O_WRONLY | O_CLOEXEC);
  if (kfd >= 0) {
    if (write(kfd, "1", 1) < 0) {
      /* fall back to the pid list */
    }
    close(kfd);
  }
  for (int tries = 0; tries < 250; tries++) {
    if (rmdir(dir) == 0 || errno == ENOENT)
      return 0;
    if (errno != EBUSY)
      return -1;
    snprintf(f, sizeof f, "%s/cgroup.procs", dir);
    _cleanup_fclose_ FILE *pf = fopen(f, "re");
    int pid;
    while (pf && fscanf(pf, "%d", &pid) == 1)
      if (pid > 0)
        kill(pid, SIGKILL);
    nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
  }
  return -1;
}

static void join(char *out, size_t cap, const char *a, const char *b, const char *c)
{
  snprintf(out, cap, "%s/%s/%s", a, b, c);
  /* squeeze "//" */
  char *w = out;
  for (const char *r = out; *r; r++)
    if (!(*r == '/' && w > out && w[-1] == '/'))
      *w++ = *r;
  *w = 0;
}

/* Every cgroup the recorded run may have made: LEAF next to (v2 default)
 * or below (v1) the orchestrator's own cgroup, in every mounted
 * hierarchy. Returns -1 if one exists and cannot be removed. */
static int sweep_cgroups(const char *rundir, const char *id)
{
  char rec[4400];
  snprintf(rec, sizeof rec, "%s/cgroups", rundir);
  cove_err e;
  _cleanup_free_ char *text = agent_read_small_file(rec, 1 << 16, &e);
  if (!text)
    return 0; /* the run died before create: no cgroups */
  char leaf[128];
  snprintf(leaf, sizeof leaf, "cove-%s", id);
  char *save = NULL;
  char *line = strtok_r(text, "\n", &save);
  if (!line || strcmp(line, leaf))
    return 0; /* not a record of ours */
  char *paths[64];
  size_t np = 0;
  while ((line = strtok_r(NULL, "\n", &save)) && np < 64) {
    char *p = strchr(line, ':');
    p = p ? strchr(p + 1, ':') : NULL;
    if (p && p[1] == '/')
      paths[np++] = p + 1;
  }
  _cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
  if (!mi)
    return -1;
  int rc = 0;
  char *l = NULL;
  size_t cap = 0;
  /* every hierarchy line of /proc/self/cgroup is tried in every cgroup
   * mount, and most give the same candidate ("/" on a host whose
   * supervisor leaves us in the root): each candidate is looked at once */
  enum { SEEN_MAX = 64 };
  char *seen[SEEN_MAX];
  size_t n_seen = 0;
  while (getline(&l, &cap, mi) > 0) {
    char root[4096], mnt[4096], *dash = strstr(l, " - ");
    if (!dash || (strncmp(dash + 3, "cgroup ", 7) && strncmp(dash + 3, "cgroup2 ", 8)))
      continue;
    if (sscanf(l, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
      continue;
    size_t rl = strcmp(root, "/") ? strlen(root) : 0;
    for (size_t i = 0; i < np; i++) {
      if (rl && (strncmp(paths[i], root, rl) || (paths[i][rl] && paths[i][rl] != '/')))
        continue;
      char own[4096], parent[4096], d[8400];
      snprintf(own, sizeof own, "%s", paths[i] + rl);
      snprintf(parent, sizeof parent, "%s", own);
      char *sl = strrchr(parent, '/');
      if (sl)
        *sl = 0;
      const char *bases[2] = {own, parent};
      for (int b = 0; b < 2; b++) {
        join(d, sizeof d, mnt, bases[b], leaf);
        bool dup = false;
        for (size_t k = 0; k < n_seen && !dup; k++)
          dup = !strcmp(seen[k], d);
        if (dup)
          continue;
        if (n_seen < SEEN_MAX && (seen[n_seen] = strdup(d)))
          n_seen++;
        struct stat st;
        if (lstat(d, &st) == 0 && S_ISDIR(st.st_mode) && remove_cgroup(d) < 0)
          rc = -1;
      }
    }
  }
  free(l);
  for (size_t k = 0; k < n_seen; k++)
    free(seen[k]);
  return rc;
}

static int delete_containers_cb(const struct cove_state *st, void *data)
{
  const char *root = data;
  cove_err e;
  cove_container_delete(root, st->id, true, &e);
  return 0;
}

/* Everything a dead run left: runtime state (its delete removes what the
 * state records), then the cgroups only our record knows, then the dir. */
int agent_run_clean(const char *rundir, const char *id)
{
  char state[4400];
  snprintf(state, sizeof state, "%s/state", rundir);
  cove_err e2;
  cove_container_list(state, delete_containers_cb, state, &e2);
  if (sweep_cgroups(rundir, id) < 0)
    return -1; /* keep the record: a later gc retries */
  agent_rm_tree(rundir);
  return 0;
}

static bool dir_lock_busy(const char *dir)
{
  char lock[4500];
  snprintf(lock, sizeof lock, "%s/lock", dir);
  _cleanup_close_ int lfd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (lfd >= 0)
    return flock(lfd, LOCK_EX | LOCK_NB) < 0;
  /* no lock at all: an old-format run starting now, or junk */
  struct stat st;
  return lstat(dir, &st) < 0 || time(NULL) - st.st_mtime < 60;
}

int agent_gc(const struct agent_paths *p, bool verbose, unsigned *removed, cove_err *err)
{
  *removed = 0;
  _cleanup_closedir_ DIR *d = opendir(p->runbase);
  if (!d) {
    if (errno == ENOENT)
      return 0;
    return cove_error(err, errno, "%s", p->runbase);
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *name = e->d_name;
    if (name[0] == '.') {
      /* a lock of the fallback path whose run died before the rename */
      struct stat st;
      size_t nl = strlen(name);
      if (nl > 6 && !strcmp(name + nl - 5, ".lock") && fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISREG(st.st_mode) && time(NULL) - st.st_mtime >= 60) {
        _cleanup_close_ int lfd = openat(dirfd(d), name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) == 0)
          unlinkat(dirfd(d), name, 0);
      }
      continue;
    }
    size_t n = strlen(name);
    char id[256], dir[4400];
    if (n > 5 && n - 5 < sizeof id && !strcmp(name + n - 5, ".lock")) {
      snprintf(id, sizeof id, "%.*s", (int)(n - 5), name);
      _cleanup_close_ int lfd = openat(dirfd(d), name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
      if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0)
        continue; /* a live run holds it */
      snprintf(dir, sizeof dir, "%s/%s", p->runbase, id);
      if (agent_run_clean(dir, id) < 0) {
        fprintf(stderr, "cove: agent gc: %s: cgroups still busy, kept for the next gc\n", dir);
        continue;
      }
      unlinkat(dirfd(d), name, 0);
    } else {
      /* a directory without its sibling lock is from before this format
       * (lock inside), or the lock entry handles it */
      char sib[300];
      snprintf(sib, sizeof sib, "%s.lock", name);
      if (faccessat(dirfd(d), sib, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || n >= sizeof id)
        continue;
      snprintf(id, sizeof id, "%s", name);
      snprintf(dir, sizeof dir, "%s/%s", p->runbase, id);
      if (dir_lock_busy(dir) || agent_run_clean(dir, id) < 0)
        continue;
    }
    (*removed)++;
    if (verbose)
      printf("removed %s\n", dir);
  }
  /* `cove agent gc` (the verbose caller) leaves the run base empty; the
   * next run then sweeps again, which is what a missing stamp means */
  if (verbose)
    unlinkat(dirfd(d), ".gc-stamp", 0);
  return 0;
}

/* The scan every run used to start with costs a flock attempt per entry
 * of the run base, i.e. grows with the number of live sandboxes (1,000
 * concurrent starts made it quadratic). A leftover only appears when an
 * orchestrator is killed, and it holds no process (the sandbox dies with
 * its orchestrator) — only files and empty cgroups. So a run sweeps only
 * when RUNBASE/.gc-stamp is missing or older than AGENT_GC_INTERVAL
 * seconds (one stat when fresh), and `cove agent gc` always does. */
#define AGENT_GC_INTERVAL 60
void agent_gc_maybe(const struct agent_paths *p)
{
  char stamp[4400];
  snprintf(stamp, sizeof stamp, "%s/.gc-stamp", p->runbase);
  struct stat st;
  time_t now = time(NULL);
  /* a stamp counts only in a run base that is ours and private
   * (run.c checks that again before using it) */
  bool own = lstat(p->runbase, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 077);
  if (own && lstat(stamp, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && st.st_mtime <= now &&
      now - st.st_mtime < AGENT_GC_INTERVAL)
    return;
  /* stamped before the sweep: concurrent starters skip instead of all
   * sweeping at once */
  int fd = own ? open(stamp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
  if (fd >= 0) {
    futimens(fd, NULL);
    close(fd);
  }
  unsigned removed;
  cove_err e;
  agent_gc(p, false, &removed, &e);
}
