#include "cove/log.h"

#include "cove/jsongen.h"
#include "cove/timestamp.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_fd = -1;
static bool log_json;
static bool log_debug;

int cove_log_init(const char *path, bool json, bool debug)
{
  log_json = json;
  log_debug = debug;
  if (path && *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
      return -1;
    log_fd = fd;
  }
  return 0;
}

static const char *level_name(enum cove_log_level l)
{
  switch (l) {
  case COVE_LOG_ERROR: return "error";
  case COVE_LOG_WARN: return "warning";
  case COVE_LOG_INFO: return "info";
  default: return "debug";
  }
}

/* {"level","msg","time"}\n into line; the text form if the generator fails. */
static int json_line(char *line, size_t cap, enum cove_log_level lvl, const char *msg)
{
  char when[64];
  cove_rfc3339_now(when, sizeof when, 9);
  struct cove_gen g;
  cove_err err = {0};
  int n = -1;
  if (cove_gen_init_line(&g, NULL, &err) == 0) {
    cove_gen_map_open(&g);
    cove_gen_kv_str(&g, "level", level_name(lvl));
    cove_gen_kv_text(&g, "msg", msg);
    cove_gen_kv_str(&g, "time", when);
    cove_gen_map_close(&g);
    size_t len;
    const char *b = cove_gen_buf(&g, &len);
    if (b)
      n = snprintf(line, cap, "%.*s\n", (int)len, b);
    if (cove_gen_finish(&g, "log") < 0)
      n = -1;
  }
  return n >= 0 ? n : snprintf(line, cap, "cove: %s\n", msg);
}

void cove_log(enum cove_log_level lvl, const char *fmt, ...)
{
  if (lvl == COVE_LOG_DEBUG && !log_debug)
    return;
  if (lvl == COVE_LOG_INFO && !log_debug && log_fd < 0)
    return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);

  /* One write() per line so concurrent writers (runtime, its children,
   * the shim's own logging) never interleave inside a line. */
  char line[6 * sizeof msg + 256]; /* worst case: every byte escaped as \u00XX */
  int n;
  int fd = log_fd >= 0 ? log_fd : STDERR_FILENO;
  if (log_json) {
    n = json_line(line, sizeof line, lvl, msg);
  } else if (lvl == COVE_LOG_ERROR) {
    n = snprintf(line, sizeof line, "cove: %s\n", msg);
  } else {
    n = snprintf(line, sizeof line, "cove: %s: %s\n", level_name(lvl), msg);
  }
  if (n > (int)sizeof line - 1)
    n = (int)sizeof line - 1;
  if (write(fd, line, (size_t)n) < 0) {
    /* nowhere left to report a logging failure */
  }
  /* Errors written to a log file are also shown on stderr, as text: a
   * human sees them, and podman maps stderr texts to exit codes; the
   * containerd shim reads only the file. */
  if (lvl == COVE_LOG_ERROR && log_fd >= 0) {
    n = snprintf(line, sizeof line, "cove: %s\n", msg);
    if (n > (int)sizeof line - 1)
      n = (int)sizeof line - 1;
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
    }
  }
}
