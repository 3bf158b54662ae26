/* The container state without a container (no root):
 * - cove_state_parse on tampered state.json text: a field too long for its
 *   buffer is refused naming it, never cut (a cut can split a UTF-8
 *   character, and the hooks' state JSON built from it would not parse);
 * - the status derivation (creating, created, running, paused, stopped)
 *   from a state directory, with this test's own child as the container's
 *   pid and a directory of fake cgroup files standing in for the frozen
 *   cgroup (cove_state_status only reads cgroup.freeze / freezer.state);
 * - write, read back (status derived on read), remove. */
#include "cove/error.h"
#include "cove/state.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int fails;

static void check(int cond, const char *what)
{
  printf("%s: %s\n", cond ? "ok" : "FAIL", what);
  fails += !cond;
}

static char root[64];

static void put(int dirfd, const char *name, const char *text)
{
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
    perror(name);
    exit(2);
  }
  close(fd);
}

static void expect_status(int dirfd, const struct cove_state *st, enum cove_status want, const char *what)
{
  enum cove_status got = cove_state_status(dirfd, st);
  char msg[256];
  snprintf(msg, sizeof msg, "status %s (got %s)", what, cove_status_name(got));
  check(got == want, msg);
}

static void test_status(void)
{
  snprintf(root, sizeof root, "/tmp/cove-unit-state.XXXXXX");
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    exit(2);
  }
  cove_err err = {0};
  int dirfd = cove_state_create(root, "c1", &err);
  check(dirfd >= 0, "cove_state_create");
  if (dirfd < 0)
    exit(1);
  memset(&err, 0, sizeof err);
  check(cove_state_create(root, "c1", &err) < 0 && strstr(err.msg, "already exists"), "duplicate id refused");

  /* the container's init: a child that waits to be killed */
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  struct cove_state st;
  memset(&st, 0, sizeof st);
  snprintf(st.id, sizeof st.id, "c1");
  snprintf(st.oci_version, sizeof st.oci_version, "1.3.0");
  snprintf(st.bundle, sizeof st.bundle, "/b");
  st.pid = child;
  check(cove_proc_starttime(child, &st.pid_start) == 0 && st.pid_start > 0, "start time of the child");

  st.creating = true;
  expect_status(dirfd, &st, COVE_CREATING, "creating while create runs");
  st.creating = false;
  put(dirfd, "exec.fifo", "");
  expect_status(dirfd, &st, COVE_CREATED, "created while exec.fifo exists");
  unlinkat(dirfd, "exec.fifo", 0);
  expect_status(dirfd, &st, COVE_RUNNING, "running once exec.fifo is gone");

  /* frozen cgroup: paused (v2 cgroup.freeze, v1 freezer.state) */
  char cg[128], rec[200];
  snprintf(cg, sizeof cg, "%s/fakecgroup", root);
  mkdir(cg, 0700);
  int cgfd = open(cg, O_PATH | O_DIRECTORY | O_CLOEXEC);
  snprintf(rec, sizeof rec, "v2 %s\n", cg);
  put(dirfd, "cgroup", rec);
  put(cgfd, "cgroup.freeze", "1\n");
  expect_status(dirfd, &st, COVE_PAUSED, "paused while cgroup.freeze is 1");
  put(dirfd, "exec.fifo", "");
  expect_status(dirfd, &st, COVE_PAUSED, "paused wins over created");
  unlinkat(dirfd, "exec.fifo", 0);
  put(cgfd, "cgroup.freeze", "0\n");
  expect_status(dirfd, &st, COVE_RUNNING, "running once thawed");
  unlinkat(cgfd, "cgroup.freeze", 0);
  snprintf(rec, sizeof rec, "freezer %s\n", cg);
  put(dirfd, "cgroup", rec);
  put(cgfd, "freezer.state", "FROZEN\n");
  expect_status(dirfd, &st, COVE_PAUSED, "paused while v1 freezer.state is FROZEN");
  put(cgfd, "freezer.state", "THAWED\n");
  expect_status(dirfd, &st, COVE_RUNNING, "running while v1 freezer.state is THAWED");
  /* a record pointing outside any cgroup filesystem is never read */
  put(cgfd, "freezer.state", "FROZEN\n");
  char notcg[128];
  snprintf(notcg, sizeof notcg, "%s/fakecg", root);
  rename(cg, notcg);
  snprintf(rec, sizeof rec, "freezer %s\n", notcg);
  put(dirfd, "cgroup", rec);
  expect_status(dirfd, &st, COVE_RUNNING, "a record outside the cgroup filesystems is ignored");
  unlinkat(cgfd, "freezer.state", 0);
  close(cgfd);
  rmdir(notcg);
  unlinkat(dirfd, "cgroup", 0);

  /* write + read back: status derived on read */
  check(cove_state_write(dirfd, &st, &err) == 0, "cove_state_write");
  struct cove_state back;
  check(cove_state_read(dirfd, &back, &err) == 0 && back.pid == child && back.pid_start == st.pid_start &&
            !strcmp(back.id, "c1") && back.status == COVE_RUNNING,
        "read back: same pid, start time, id; running");
  cove_state_release(&back);

  /* pid reuse: same pid, another start time */
  struct cove_state reused = st;
  reused.pid_start = st.pid_start + 1;
  expect_status(dirfd, &reused, COVE_STOPPED, "stopped when the start time differs (pid reused)");

  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  expect_status(dirfd, &st, COVE_STOPPED, "stopped once the init is gone");
  put(dirfd, "exec.fifo", "");
  expect_status(dirfd, &st, COVE_STOPPED, "stopped even with exec.fifo left");
  st.pid = 0;
  expect_status(dirfd, &st, COVE_STOPPED, "stopped without a pid");
  st.creating = true;
  expect_status(dirfd, &st, COVE_CREATING, "creating before the pid is recorded");

  check(cove_state_remove(root, "c1", dirfd, &err) == 0, "cove_state_remove");
  close(dirfd);
  memset(&err, 0, sizeof err);
  check(cove_state_open(root, "c1", &err) < 0 && strstr(err.msg, "does not exist"), "removed state is gone");
  check(rmdir(root) == 0, "state root empty after remove");

  static const char *const names[] = {"creating", "created", "running", "stopped", "paused"};
  for (int i = COVE_CREATING; i <= COVE_PAUSED; i++)
    check(!strcmp(cove_status_name((enum cove_status)i), names[i]), names[i]);
}

int main(void)
{
  test_status();

  struct cove_state st;
  cove_err err = {0};
  int r = cove_state_parse(&st, "{\"ociVersion\":\"1.3.0\",\"id\":\"c1\",\"pid\":42,\"bundle\":\"/b\","
                                "\"annotations\":{\"k\":\"v\"}}", &err);
  check(r == 0 && !strcmp(st.id, "c1") && st.pid == 42 && !strcmp(st.bundle, "/b") &&
          st.annotations_json && !strcmp(st.annotations_json, "{\"k\":\"v\"}"),
        "valid state parses");
  cove_state_release(&st);

  /* 30 ASCII bytes + a 3-byte character: 33 bytes into oci_version[32] */
  memset(&err, 0, sizeof err);
  r = cove_state_parse(&st, "{\"ociVersion\":\"123456789012345678901234567890\xe2\x82\xac\",\"id\":\"c1\"}", &err);
  check(r < 0 && strstr(err.msg, "ociVersion"), "over-long ociVersion refused naming the field");
  if (r < 0)
    printf("  (%s)\n", err.msg);
  cove_state_release(&st);
  return fails ? 1 : 0;
}
