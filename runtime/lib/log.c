#include "cove/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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

int cove_log_fd(void)
{
  return log_fd;
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

static void escape_into(char *out, size_t cap, const char *s)
{
  size_t o = 0;
  for (; *s && o + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else if (c < 0x20) {
      o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = 0;
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
  char line[8192 + 128];
  int n;
  int fd = log_fd >= 0 ? log_fd : STDERR_FILENO;
  if (log_json) {
    char esc[8192];
    escape_into(esc, sizeof esc, msg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof line, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s.%09ldZ\"}\n", level_name(lvl), esc,
                 when, ts.tv_nsec);
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
