/* The one-of-each helpers (docs/architecture.md "One of each helper"):
 * the bounded file reader, the RFC 3339 builder, the JSON line writer's
 * handling of bytes someone else controls, and the audit line's typed
 * fields. No root, no container. */
#include "agent.h"

#include "cove/json.h"
#include "cove/jsongen.h"
#include "cove/readfile.h"
#include "cove/timestamp.h"

#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fails;

static void check(int cond, const char *what)
{
  printf("%s: %s\n", cond ? "ok" : "FAIL", what);
  fails += !cond;
}

static int tmpfile_with(const char *text)
{
  int fd = memfd_create("t", MFD_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
    exit(77);
  return fd;
}

static void readfile(void)
{
  cove_err err = {0};
  size_t n = 0;
  int fd = tmpfile_with("12345");
  /* the fd's position is at the end after the write: read from the start */
  char *b = cove_read_fd(fd, 5, &n, "five", &err);
  check(b && n == 5 && !strcmp(b, "12345"), "a file of exactly max bytes is read whole, from its start");
  free(b);
  b = cove_read_fd(fd, 4, &n, "five", &err);
  check(!b && strstr(err.msg, "five: larger than 4 bytes"), "one byte over max is refused naming the file");
  close(fd);

  int p[2];
  if (pipe(p) < 0)
    exit(77);
  if (write(p[1], "piped", 5) != 5)
    exit(77);
  close(p[1]);
  b = cove_read_fd(p[0], 100, &n, "pipe", &err);
  check(b && n == 5 && !strcmp(b, "piped"), "a pipe is read to its end");
  free(b);
  close(p[0]);

  b = cove_read_file_at(AT_FDCWD, "/dev/null", 0, 10, NULL, "null", &err);
  check(!b && strstr(err.msg, "null: not a regular file"), "a device is refused");
  b = cove_read_file_at(AT_FDCWD, "/nonexistent/x", 0, 10, NULL, "missing", &err);
  check(!b && strstr(err.msg, "missing: No such file"), "a missing file names what was read");
}

static int matches(const char *s, const char *re)
{
  regex_t r;
  if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
    return 0;
  int ok = regexec(&r, s, 0, NULL, 0) == 0;
  regfree(&r);
  return ok;
}

static void timestamp(void)
{
  char t[64];
  cove_rfc3339_now(t, sizeof t, 9);
  check(matches(t, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z$"), "nanosecond timestamp");
  cove_rfc3339_now(t, sizeof t, 3);
  check(matches(t, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"), "millisecond timestamp");
  cove_rfc3339_now(t, sizeof t, 0);
  check(matches(t, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"), "whole-second timestamp");
}

static void gen_text(void)
{
  struct cove_gen g;
  cove_err err = {0};
  if (cove_gen_init_line(&g, NULL, &err) < 0)
    exit(77);
  cove_gen_map_open(&g);
  cove_gen_kv_text(&g, "v", "a\xff\"\n\xc3\xa9");
  cove_gen_map_close(&g);
  size_t n;
  const char *b = cove_gen_buf(&g, &n);
  check(b && n == strlen("{\"v\":\"a\xef\xbf\xbd\\\"\\n\xc3\xa9\"}") &&
          !memcmp(b, "{\"v\":\"a\xef\xbf\xbd\\\"\\n\xc3\xa9\"}", n),
        "invalid UTF-8 becomes U+FFFD, valid text and escapes are kept");
  check(cove_gen_finish(&g, "t") == 0, "line generator finishes clean");

  if (cove_gen_init(&g, stdout, &err) < 0)
    exit(77);
  cove_gen_str(&g, "a\xff");
  check(cove_gen_finish(&g, "doc") < 0 && strstr(err.msg, "doc: JSON generation failed"),
        "a document refuses invalid UTF-8 instead of changing it");
}

static void audit(void)
{
  int fd = memfd_create("audit", MFD_CLOEXEC);
  if (fd < 0)
    exit(77);
  struct agent_audit a = {.global_fd = fd, .group_fd = -1};
  snprintf(a.run_id, sizeof a.run_id, "run");
  snprintf(a.group, sizeof a.group, "g");
  /* "\x01" + digits was the old raw-number marker: now just text */
  agent_audit(&a, "ev", "s", "\x01" "42", AUDIT_INT("n", -7), AUDIT_INT_IF(0, "u", 5), AUDIT_BOOL("b", 1), "z", NULL,
              NULL);
  char line[1024] = "";
  ssize_t n = pread(fd, line, sizeof line - 1, 0);
  check(n > 0 && line[n - 1] == '\n', "one line, newline-terminated");
  const char *fields = strstr(line, ",\"event\":\"ev\",");
  check(fields && !strcmp(fields, ",\"event\":\"ev\",\"s\":\"\\u0001" "42\",\"n\":-7,\"u\":null,\"b\":true,\"z\":null}\n"),
        "typed fields: numbers and booleans raw, a marker-looking string escaped");
  check(matches(line, "^\\{\"time\":\"[0-9T:.-]+Z\",\"run\":\"run\",\"group\":\"g\","), "time, run, group first");
  if (fields)
    printf("  %s", line);
  close(fd);
}

int main(void)
{
  readfile();
  timestamp();
  gen_text();
  audit();
  return fails ? 1 : 0;
}
