#include "cove/log.h"

#include "cove/jsongen.h"
#include "cove/timestamp.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 if there is none. */
static size_t utf8_len(const unsigned char *p)
{
  unsigned char c = p[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0)
      lo = 0xA0;
    else if (c == 0xED)
      hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F;
  } else
    return 0;
  if (p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xBF)
      return 0;
  return n;
}

size_t cove_text_escape(char *out, size_t cap, const char *in)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)in;
  size_t o = 0;
  if (!cap)
    return 0;
  while (*p) {
    size_t n = *p >= 0x80 ? utf8_len(p) : 1;
    /* U+0080..U+009F, the C1 controls (CSI among them), encode as C2 80..9F */
    bool plain = n == 1 ? (*p >= 0x20 && *p != 0x7f) : n > 1 && !(p[0] == 0xC2 && p[1] <= 0x9F);
    if (plain) {
      if (o + n >= cap)
        break;
      memcpy(out + o, p, n);
      o += n;
      p += n;
      continue;
    }
    if (n == 0)
      n = 1;
    if (o + 4 * n >= cap)
      break;
    for (size_t i = 0; i < n; i++, p++) {
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[*p >> 4];
      out[o++] = hex[*p & 15];
    }
  }
  out[o] = 0;
  return o;
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
  char text[4 * sizeof msg];
  cove_text_escape(text, sizeof text, msg);

  /* One write() per line so concurrent writers (runtime, its children,
   * the shim's own logging) never interleave inside a line. */
  char line[6 * sizeof msg + 256]; /* worst case: every byte escaped as \u00XX */
  int n;
  int fd = log_fd >= 0 ? log_fd : STDERR_FILENO;
  if (log_json) {
    n = json_line(line, sizeof line, lvl, msg);
  } else if (lvl == COVE_LOG_ERROR) {
    n = snprintf(line, sizeof line, "cove: %s\n", text);
  } else {
    n = snprintf(line, sizeof line, "cove: %s: %s\n", level_name(lvl), text);
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
    n = snprintf(line, sizeof line, "cove: %s\n", text);
    if (n > (int)sizeof line - 1)
      n = (int)sizeof line - 1;
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
    }
  }
}
