/* The sandbox's user, mount and network namespaces, made ahead of the
 * sandbox by a short-lived child of the orchestrator; the runtime then
 * joins them through linux.namespaces[].path = /proc/self/fd/N.
 *
 * Why not let the runtime create them:
 *  - Mount sources. A bind mount can only be cloned from a mount in the
 *    cloning process's own mount namespace (open_tree/mount return EINVAL
 *    otherwise), so an fd the orchestrator opened in the host namespace
 *    cannot be mounted by the sandbox init, which lives in a new one. The
 *    child unshares the mount namespace that will BE the sandbox's, re-opens
 *    every checked source there (openat2 RESOLVE_NO_SYMLINKS on the
 *    canonical path) and verifies it is the very inode the orchestrator
 *    checked (st_dev + st_ino of the orchestrator's fd, which it inherited).
 *    Any swap in between (a symlink, a rename) fails the run. Those fds are
 *    what the runtime mounts.
 *  - The proxy. A socket belongs to the network namespace it was created
 *    in, whoever holds it later: the child binds a TCP listener on
 *    127.0.0.1:<ephemeral> inside the new network namespace, and the
 *    orchestrator accept()s sandbox connections on it directly, dialling
 *    out from the host namespace. No helper runs inside the sandbox. (The
 *    sandbox init cannot be used for this: it is non-dumpable, so an
 *    unprivileged orchestrator may not setns() into it.)
 * The child must be single-threaded to unshare a user namespace; it exits
 * as soon as it has sent its fds.
 *
 * As root the sandbox's root is a fixed unprivileged host id
 * (AGENT_HOST_ID), which cannot reach sources under /root or the private
 * run directory. There the orchestrator itself (host root) steps into the
 * sandbox's mount namespace and back to prepare the sources: re-open,
 * verify, clone, idmap (the source's owner becomes the sandbox's root on
 * that mount), attach under stage/, walk and mask. */
#include "agent.h"

#include "cove/cleanup.h"
#include "cove/fsutil.h"
#include "cove/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BATCH 200

static int send_fds(int sock, const int *fds, size_t n, const void *data, size_t len)
{
  union {
    char buf[CMSG_SPACE(BATCH * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                      .msg_controllen = CMSG_SPACE(n * sizeof(int))};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(n * sizeof(int));
  memcpy(CMSG_DATA(c), fds, n * sizeof(int));
  return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Receives exactly n fds (and up to cap bytes of data) or fails; an "E..."
 * payload without fds is the child's error message. */
static int recv_fds(int sock, int *fds, size_t n, char *data, size_t cap, cove_err *err)
{
  union {
    char buf[CMSG_SPACE(BATCH * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  char tmp[COVE_ERR_MSG_MAX + 16];
  struct iovec iov = {.iov_base = tmp, .iov_len = sizeof tmp - 1};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t r;
  do
    r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
  if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(n * sizeof(int))) {
    if (c && c->cmsg_type == SCM_RIGHTS) { /* wrong count: close what came */
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int *got = (int *)CMSG_DATA(c);
      for (size_t i = 0; i < k; i++)
        close(got[i]);
    }
    tmp[r > 0 ? r : 0] = 0;
    return cove_error(err, 0, "%s", r > 1 && tmp[0] == 'E' ? tmp + 1 : "namespace helper failed");
  }
  memcpy(fds, CMSG_DATA(c), n * sizeof(int));
  if (data)
    memcpy(data, tmp, (size_t)r < cap ? (size_t)r : cap);
  return 0;
}

static int write_file(const char *path, const char *s)
{
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, s, strlen(s));
  close(fd);
  return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int reopen_same(const char *path, int checked_fd, cove_err *err)
{
  struct open_how how = {.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
                         .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  if (fd < 0)
    return cove_error(err, errno, "%s changed between check and mount", path);
  struct stat a, b;
  if (fstat(fd, &a) < 0 || fstat(checked_fd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
    close(fd);
    return cove_error(err, 0, "%s changed between check and mount: it is no longer the checked file", path);
  }
  return fd;
}

struct hello {
  int port;
  unsigned masks;
};

static int send_sources(int sock, const int *out, size_t n)
{
  for (size_t i = 0; i < n; i += BATCH) {
    size_t k = n - i < BATCH ? n - i : BATCH;
    if (send_fds(sock, out + i, k, "s", 1) < 0)
      return -1;
  }
  return 0;
}

/* A detached clone of src with the ownership seen through `userns`
 * (MOUNT_ATTR_IDMAP), attached at `stage` in the current mount namespace:
 * a detached mount cannot be cloned again by the runtime, an attached one
 * can. Returns the attached mount's fd. */
static int idmap_stage(int src, int userns, const char *origin, const char *stage, cove_err *err)
{
  struct stat st;
  if (fstat(src, &st) < 0)
    return cove_error(err, errno, "%s", origin);
  bool dir = S_ISDIR(st.st_mode);
  int made = dir ? mkdir(stage, 0700) : open(stage, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (made < 0)
    return cove_error(err, errno, "mkdir %s", stage);
  if (!dir)
    close(made);
  _cleanup_close_ int at = open(stage, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  int tree = cove_open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (at < 0 || tree < 0) {
    cove_error(err, errno, "%s: clone for the sandbox", origin);
    goto fail;
  }
  if (agent_idmap_tree(tree, userns, origin, err) < 0)
    goto fail;
  if (cove_move_mount(tree, "", at, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    cove_error(err, errno, "%s: attach for the sandbox", origin);
    goto fail;
  }
  return tree;
fail:
  if (tree >= 0)
    close(tree);
  return -1;
}

/* The sandbox's root skeleton: a tmpfs attached on the (verified, empty)
 * run-directory rootfs `dir` in the sandbox's mount namespace, with the
 * plan's symlinks. The mount points the runtime makes in it and the
 * symlinks then live and die with the namespace instead of being created
 * and removed on the host's disk on every run (on ext4: journalled
 * mkdir/unlink, tens of microseconds each). Read-only for the sandbox
 * (root.readonly); small because it only ever holds empty mount points.
 * Returns the attached mount's fd. */
static int skeleton_mount(const struct agent_netns_req *q, int dir, cove_err *e)
{
  _cleanup_close_ int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
  if (fs < 0)
    return cove_error(e, errno, "sandbox root: fsopen tmpfs");
  char id[16];
  /* as root the sandbox's root (AGENT_HOST_ID) makes its mount points;
   * rootless it is already the owner (the mounter's fsuid) */
  snprintf(id, sizeof id, "%u", AGENT_HOST_ID);
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "1m", 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "nr_inodes", "16384", 0) < 0 ||
      (q->host_root && (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "uid", id, 0) < 0 ||
                        syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "gid", id, 0) < 0)) ||
      syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return cove_error(e, errno, "sandbox root: tmpfs");
  int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  if (mnt < 0)
    return cove_error(e, errno, "sandbox root: fsmount");
  /* attached: the runtime clones it (a detached mount cannot be) */
  if (cove_move_mount(mnt, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    cove_error(e, errno, "sandbox root: attach");
    goto fail;
  }
  const struct agent_plan *p = &q->ctx->plan;
  for (size_t i = 0; i < p->n; i++) {
    const struct agent_mount *m = &p->m[i];
    if (m->kind == AM_SYMLINK && symlinkat(m->link, mnt, m->destination + 1) < 0) {
      cove_error(e, errno, "sandbox root: symlink %s", m->destination);
      goto fail;
    }
  }
  return mnt;
fail:
  close(mnt);
  return -1;
}

/* Every checked source, re-opened in the sandbox's mount namespace (the
 * caller is in it); trees with masks walked and masked there
 * (mounts.c, agent_mask_stage), the staged tree replacing the source (a
 * policy rootfs is one of them: the runtime gets its staged tree by fd);
 * as root, sources with an owner idmapped (sandbox_userns = the sandbox's
 * user namespace, for idmap[i] == AGENT_IDMAP_SANDBOX). */
static int prepare_sources(const struct agent_netns_req *q, int sandbox_userns, int *out, unsigned *masks,
                           cove_err *e)
{
  size_t i = 0;
  for (; i < q->n_sources; i++)
    if ((out[i] = reopen_same(q->paths[i], q->checked[i], e)) < 0)
      goto fail;
  if (q->skeleton) {
    int root = skeleton_mount(q, out[q->n_sources - 3], e);
    if (root < 0)
      goto fail;
    close(out[q->n_sources - 3]);
    out[q->n_sources - 3] = root;
  }
  for (i = 0; i < q->n_sources; i++) {
    int userns = !q->idmap || q->idmap[i] == AGENT_IDMAP_NONE ? -1
                 : q->idmap[i] == AGENT_IDMAP_SANDBOX         ? sandbox_userns
                                                              : q->idmap[i];
    char stage[4400];
    snprintf(stage, sizeof stage, "%s/%zu", q->stage_dir, i);
    int t = -2;
    if (q->walk_roots && q->walk_roots[i])
      t = agent_mask_stage(q->ctx, q->walk_roots[i], out[i], out[q->n_sources - 2], out[q->n_sources - 1], userns,
                           stage, masks, e);
    if (t == -1) {
      if (userns >= 0)
        cove_error_prefix(e, "%s", q->paths[i]);
      goto fail_all;
    }
    if (t == -2 && userns >= 0 && (t = idmap_stage(out[i], userns, q->paths[i], stage, e)) < 0)
      goto fail_all;
    if (t >= 0) {
      close(out[i]);
      out[i] = t;
    }
  }
  return 0;
fail_all:
  i = q->n_sources;
fail:
  while (i > 0)
    close(out[--i]);
  return -1;
}

int agent_idmap_tree(int tree, int userns, const char *origin, cove_err *err)
{
  if (userns < 0)
    return 0;
  struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
  if (cove_mount_setattr(tree, "", AT_EMPTY_PATH, &a) < 0)
    return cove_error(err, errno,
                      "%s: its filesystem refuses an idmapped mount (MOUNT_ATTR_IDMAP), which running as root needs "
                      "so the sandbox's root is not the host's",
                      origin);
  return 0;
}

/* A user namespace whose only use is as an idmapping (MOUNT_ATTR_IDMAP):
 * host uid:gid `uid`:`gid` seen as `base`, i.e. as the sandbox's root. */
int agent_idmap_userns(uid_t uid, gid_t gid, uid_t base, cove_err *err)
{
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    return cove_error(err, errno, "socketpair");
  pid_t pid = fork();
  if (pid < 0) {
    close(sp[0]);
    close(sp[1]);
    return cove_error(err, errno, "fork");
  }
  if (pid == 0) {
    close(sp[0]);
    char c;
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (unshare(CLONE_NEWUSER) < 0 || write(sp[1], "u", 1) != 1)
      _exit(1);
    /* held until the parent has the namespace (EOF) */
    while (read(sp[1], &c, 1) > 0)
      ;
    _exit(0);
  }
  close(sp[1]);
  int fd = -1;
  char path[64], m[64], c = 0;
  if (read(sp[0], &c, 1) != 1 || c != 'u') {
    cove_error(err, errno, "idmapping: user namespace");
    goto out;
  }
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  snprintf(m, sizeof m, "%u %u 1\n", (unsigned)uid, (unsigned)base);
  if (write_file(path, m) < 0) {
    cove_error(err, errno, "idmapping: %s", path);
    goto out;
  }
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  snprintf(m, sizeof m, "%u %u 1\n", (unsigned)gid, (unsigned)base);
  if (write_file(path, m) < 0) {
    cove_error(err, errno, "idmapping: %s", path);
    goto out;
  }
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    cove_error(err, errno, "idmapping: %s", path);
out:
  close(sp[0]);
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return fd;
}

__attribute__((noreturn)) static void child(int sock, int go, const struct agent_netns_req *q)
{
  cove_err e = {0};
  char msg[COVE_ERR_MSG_MAX + 16];
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS | (q->new_net ? CLONE_NEWNET : 0)) < 0) {
    cove_error(&e, errno, "unshare user+mount%s namespaces", q->new_net ? "+network" : "");
    goto fail;
  }
  char c = 0;
  if (write(sock, "u", 1) != 1 || read(go, &c, 1) != 1 || c != 'm') {
    cove_error(&e, EPROTO, "id maps not written");
    goto fail;
  }
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
    cove_error(&e, errno, "become root in the sandbox user namespace");
    goto fail;
  }
  int fds[4] = {-1, -1, -1, -1};
  size_t nf = 0;
  int port = 0;
  fds[nf++] = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
  fds[nf++] = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (q->new_net) {
    if (cove_net_loopback_up(&e) < 0)
      goto fail;
    fds[nf++] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  }
  if (q->listener) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 128) < 0 ||
        getsockname(l, (struct sockaddr *)&sa, &sl) < 0) {
      cove_error(&e, errno, "proxy listener inside the sandbox network namespace");
      goto fail;
    }
    fds[nf++] = l;
    port = ntohs(sa.sin_port);
  }
  for (size_t i = 0; i < nf; i++)
    if (fds[i] < 0) {
      cove_error(&e, errno, "open own namespaces");
      goto fail;
    }
  struct hello h = {.port = port};
  static int out[AGENT_NETNS_MAX_SOURCES];
  if (!q->host_root && prepare_sources(q, -1, out, &h.masks, &e) < 0)
    goto fail;
  if (send_fds(sock, fds, nf, &h, sizeof h) < 0)
    _exit(1);
  if (!q->host_root && send_sources(sock, out, q->n_sources) < 0)
    _exit(1);
  _exit(0);
fail:
  snprintf(msg, sizeof msg, "E%s", e.msg);
  if (write(sock, msg, strlen(msg)) < 0)
    _exit(2);
  _exit(1);
}

/* As root: we (host root, so every checked path is reachable, /root
 * included) step into the sandbox's mount namespace, prepare the sources
 * there with the sandbox's user namespace as the idmapping, and step back.
 * In-process rather than in another child: no fork and fd passing on the
 * start-up path. setns() also moves root and cwd, so cwd is restored. */
static int sources_as_host_root(const struct agent_netns_req *q, const struct agent_netns *n, unsigned *masks,
                                int *reopened, cove_err *err)
{
  _cleanup_close_ int home = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  _cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (home < 0 || cwd < 0)
    return cove_error(err, errno, "own mount namespace");
  if (setns(n->mntns_fd, CLONE_NEWNS) < 0)
    return cove_error(err, errno, "join the sandbox's mount namespace");
  int r = prepare_sources(q, n->userns_fd, reopened, masks, err);
  if (setns(home, CLONE_NEWNS) < 0 || fchdir(cwd) < 0) {
    /* nothing may run on in the sandbox's view of the filesystem */
    fprintf(stderr, "cove: agent: cannot return to the host mount namespace: %s\n", strerror(errno));
    abort();
  }
  return r;
}

/* One id: the sandbox's root is us rootless, and as root a fixed
 * unprivileged host id (AGENT_HOST_ID, docs/agent.md), never uid 0. */
static int write_id_maps(pid_t pid, bool host_root, cove_err *err)
{
  char p[64], m[64];
  snprintf(p, sizeof p, "/proc/%d/setgroups", (int)pid);
  if (write_file(p, "deny") < 0 && geteuid() != 0)
    return cove_error(err, errno, "%s", p);
  snprintf(p, sizeof p, "/proc/%d/gid_map", (int)pid);
  snprintf(m, sizeof m, "0 %u 1\n", host_root ? AGENT_HOST_ID : (unsigned)getegid());
  if (write_file(p, m) < 0)
    return cove_error(err, errno, "%s", p);
  snprintf(p, sizeof p, "/proc/%d/uid_map", (int)pid);
  snprintf(m, sizeof m, "0 %u 1\n", host_root ? AGENT_HOST_ID : (unsigned)geteuid());
  if (write_file(p, m) < 0)
    return cove_error(err, errno, "%s", p);
  return 0;
}

/* The helper's namespace fds (and listener), then the reopened sources:
 * from the helper, or as root prepared here. *got counts those received. */
static int receive_namespaces(int sock, struct agent_netns *n, struct agent_netns_req *q, int *reopened, size_t *got,
                              cove_err *err)
{
  int fds[4];
  size_t nf = 2 + (q->new_net ? 1 : 0) + (q->listener ? 1 : 0);
  struct hello h = {0};
  if (recv_fds(sock, fds, nf, (char *)&h, sizeof h, err) < 0)
    return -1;
  q->masks = h.masks;
  size_t k = 0;
  n->userns_fd = fds[k++];
  n->mntns_fd = fds[k++];
  if (q->new_net)
    n->netns_fd = fds[k++];
  if (q->listener)
    n->listen_fd = fds[k++];
  n->port = h.port;
  if (q->host_root) {
    if (sources_as_host_root(q, n, &q->masks, reopened, err) < 0)
      return -1;
    *got = q->n_sources;
  }
  for (; *got < q->n_sources; *got += BATCH) {
    size_t b = q->n_sources - *got < BATCH ? q->n_sources - *got : BATCH;
    if (recv_fds(sock, reopened + *got, b, NULL, 0, err) < 0)
      return -1;
  }
  return 0;
}

/* The parent's side of the helper: wait for its user namespace, write
 * its id maps, let it go on, take what it made. */
static int talk_to_helper(pid_t pid, int sock, int go, struct agent_netns *n, struct agent_netns_req *q, int *reopened,
                          size_t *got, cove_err *err)
{
  char buf[COVE_ERR_MSG_MAX + 16];
  ssize_t r = read(sock, buf, sizeof buf - 1);
  if (r != 1 || buf[0] != 'u') {
    buf[r > 0 ? r : 0] = 0;
    return cove_error(err, 0, "%s", r > 1 && buf[0] == 'E' ? buf + 1 : "namespace helper failed");
  }
  if (write_id_maps(pid, q->host_root, err) < 0)
    return -1;
  if (write(go, "m", 1) != 1)
    return cove_error(err, errno, "namespace helper");
  return receive_namespaces(sock, n, q, reopened, got, err);
}

int agent_netns_create(struct agent_netns *n, struct agent_netns_req *q, int *reopened, cove_err *err)
{
  n->userns_fd = n->mntns_fd = n->netns_fd = n->listen_fd = -1;
  if (q->n_sources > AGENT_NETNS_MAX_SOURCES)
    return cove_error(err, E2BIG, "too many mount sources");
  int sp[2] = {-1, -1}, gp[2] = {-1, -1};
  int rc = -1;
  size_t got = 0;
  pid_t pid;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
    cove_error(err, errno, "socketpair");
  } else if (pipe2(gp, O_CLOEXEC) < 0) {
    cove_error(err, errno, "pipe");
  } else if ((pid = fork()) < 0) {
    cove_error(err, errno, "fork");
  } else if (pid == 0) {
    close(sp[0]);
    close(gp[1]);
    child(sp[1], gp[0], q);
  } else {
    cove_closep(&sp[1]);
    cove_closep(&gp[0]);
    rc = talk_to_helper(pid, sp[0], gp[1], n, q, reopened, &got, err);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  for (int i = 0; i < 2; i++) {
    cove_closep(&sp[i]);
    cove_closep(&gp[i]);
  }
  if (rc < 0) {
    for (size_t i = 0; i < got && i < q->n_sources; i++)
      close(reopened[i]);
    agent_netns_close(n);
  }
  return rc;
}

void agent_netns_close(struct agent_netns *n)
{
  int *f[] = {&n->userns_fd, &n->mntns_fd, &n->netns_fd, &n->listen_fd};
  for (size_t i = 0; i < 4; i++)
    if (*f[i] >= 0) {
      close(*f[i]);
      *f[i] = -1;
    }
}
