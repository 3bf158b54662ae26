/* Audit log: JSON lines, appended with one write(2) per line so
 * concurrent runs never interleave inside a line. Every line carries
 * time, run id, group and event; docs/agent.md lists the events. */
#include "agent.h"

#include "cove/cleanup.h"
#include "cove/json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int agent_audit_open(struct agent_audit *a, const struct agent_paths *p, const char *group, const char *run_id,
                     cove_err *err)
{
  a->global_fd = a->group_fd = -1;
  snprintf(a->run_id, sizeof a->run_id, "%s", run_id);
  snprintf(a->group, sizeof a->group, "%s", group);
  char dir[4200], f[4400];
  snprintf(dir, sizeof dir, "%s/audit/groups", p->state);
  if (agent_mkdir_p(dir, 0700, err) < 0)
    return cove_error_prefix(err, "audit log");
  snprintf(f, sizeof f, "%s/audit/global.jsonl", p->state);
  a->global_fd = open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (a->global_fd < 0)
    return cove_error(err, errno, "audit log %s", f);
  snprintf(f, sizeof f, "%s/%s.jsonl", dir, group);
  a->group_fd = open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (a->group_fd < 0)
    return cove_error(err, errno, "audit log %s", f);
  return 0;
}

void agent_audit_close(struct agent_audit *a)
{
  if (a->global_fd >= 0)
    close(a->global_fd);
  if (a->group_fd >= 0)
    close(a->group_fd);
  a->global_fd = a->group_fd = -1;
}

static void put_all(int fd, const char *b, size_t n)
{
  if (fd < 0)
    return;
  ssize_t w;
  do
    w = write(fd, b, n);
  while (w < 0 && errno == EINTR);
}

/* A value marked raw by AUDIT_NUM ('\x01' + an integer) or a literal
 * true/false. Anything else, even with the marker, is the agent's bytes (a
 * file name, a proxy field can start with \x01) and is written as a string:
 * the marker must never let data reach the line unescaped. */
static bool raw_literal(const char *v)
{
  if (v[0] != '\x01')
    return false;
  const char *p = v + 1;
  if (!strcmp(p, "true") || !strcmp(p, "false"))
    return true;
  if (*p == '-')
    p++;
  if (!*p || (p[0] == '0' && p[1])) /* JSON has no leading zeros */
    return false;
  for (; *p; p++)
    if (*p < '0' || *p > '9')
      return false;
  return strlen(v + 1) < 24;
}

void agent_audit(struct agent_audit *a, const char *event, ...)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char t[40];
  strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(f, "{\"time\":\"%s.%03ldZ\",\"run\":", t, ts.tv_nsec / 1000000);
  cove_json_write_string(f, a->run_id);
  fputs(",\"group\":", f);
  cove_json_write_string(f, a->group);
  fputs(",\"event\":", f);
  cove_json_write_string(f, event);
  va_list ap;
  va_start(ap, event);
  const char *k;
  while ((k = va_arg(ap, const char *))) {
    const char *v = va_arg(ap, const char *);
    fputc(',', f);
    cove_json_write_string(f, k);
    fputc(':', f);
    if (!v)
      fputs("null", f);
    else if (raw_literal(v))
      fputs(v + 1, f);
    else
      cove_json_write_string(f, v);
  }
  va_end(ap);
  fputs("}\n", f);
  if (fclose(f) != 0) {
    free(buf);
    return;
  }
  if (!a->final && a->written + len > AGENT_AUDIT_BUDGET) {
    /* the agent can cause lines (denials, proxy requests): past the budget
     * say so once and keep only the final lines, so neither the disk nor
     * the orchestrator's time is the agent's to spend */
    a->dropped++;
    if (!a->capped) {
      a->capped = true;
      a->final = true;
      char b[32];
      agent_audit(a, "audit_limit", "limit_bytes", AUDIT_NUM(b, AGENT_AUDIT_BUDGET), "note",
                  "audit budget reached: further lines dropped until the final summary", NULL);
      a->final = false;
    }
  } else {
    a->written += len;
    put_all(a->global_fd, buf, len);
    put_all(a->group_fd, buf, len);
    if (a->echo)
      put_all(STDERR_FILENO, buf, len);
  }
  free(buf);
}
