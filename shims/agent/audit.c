/* Audit log: JSON lines, appended with one write(2) per line so
 * concurrent runs never interleave inside a line. Every line carries
 * time, run id, group and event; docs/agent.md lists the events. */
#include "agent.h"

#include "cove/cleanup.h"
#include "cove/jsongen.h"
#include "cove/timestamp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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

const char agent_audit_int_tag[] = "int", agent_audit_bool_tag[] = "bool";

static void gen_fields(struct cove_gen *g, va_list ap)
{
  const char *k;
  while ((k = va_arg(ap, const char *))) {
    if (k == agent_audit_int_tag) {
      cove_gen_key(g, va_arg(ap, const char *));
      int known = va_arg(ap, int);
      long long v = va_arg(ap, long long);
      if (known)
        cove_gen_int(g, v);
      else
        cove_gen_null(g);
    } else if (k == agent_audit_bool_tag) {
      cove_gen_key(g, va_arg(ap, const char *));
      cove_gen_bool(g, va_arg(ap, int));
    } else {
      const char *v = va_arg(ap, const char *);
      cove_gen_text(g, k);
      if (v)
        cove_gen_text(g, v);
      else
        cove_gen_null(g);
    }
  }
}

/* The line with its newline, for one write(2); NULL when out of memory. */
static char *audit_line(struct agent_audit *a, const char *event, va_list ap, size_t *len)
{
  char t[40];
  cove_rfc3339_now(t, sizeof t, 3);
  struct cove_gen g;
  cove_err err = {0};
  if (cove_gen_init_line(&g, NULL, &err) < 0)
    return NULL;
  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "time", t);
  cove_gen_kv_text(&g, "run", a->run_id);
  cove_gen_kv_text(&g, "group", a->group);
  cove_gen_kv_text(&g, "event", event);
  gen_fields(&g, ap);
  cove_gen_map_close(&g);
  size_t n;
  const char *b = cove_gen_buf(&g, &n);
  char *line = b ? malloc(n + 1) : NULL;
  if (line) {
    memcpy(line, b, n);
    line[n] = '\n';
    *len = n + 1;
  }
  if (cove_gen_finish(&g, "audit") < 0) {
    free(line);
    return NULL;
  }
  return line;
}

void agent_audit(struct agent_audit *a, const char *event, ...)
{
  va_list ap;
  va_start(ap, event);
  size_t len = 0;
  char *buf = audit_line(a, event, ap, &len);
  va_end(ap);
  if (!buf)
    return;
  if (!a->final && a->written + len > AGENT_AUDIT_BUDGET) {
    /* the agent can cause lines (denials, proxy requests): past the budget
     * say so once and keep only the final lines, so neither the disk nor
     * the orchestrator's time is the agent's to spend */
    a->dropped++;
    if (!a->capped) {
      a->capped = true;
      a->final = true;
      agent_audit(a, "audit_limit", AUDIT_INT("limit_bytes", AGENT_AUDIT_BUDGET), "note",
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
