/* `cove agent batch TASKS.jsonl [--parallel N] [--junit FILE]`.
 *
 * Each task runs in a forked child of this process that is the
 * orchestrator for that one sandbox (so one task's death, limits or
 * signals never touch another's); its stdout/stderr go to files under the
 * output directory, its result record to a file we read back and print as
 * one JSON line. A task line:
 *   {"name": "t1", "group": "ci", "command": ["sh","-c","make test"] | "make test",
 *    "policy": {...inline...} | "/abs/policy.json", "timeout": "5m", "workspace": "/abs"} */
#include "agent.h"

#include "cove/cleanup.h"
#include "cove/utf8.h"
#include "cove/json.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct task {
  char *name, *group, *policy_file, *policy_text, *timeout, *workspace;
  char **argv;
  pid_t pid;
  bool done, failed, error;
  double secs;
  int64_t start;
  char *result; /* the JSON line */
  char status[32];
  int exit_status;
};

static char *dup_or_null(yajl_val v)
{
  return v && YAJL_IS_STRING(v) ? strdup(v->u.string) : NULL;
}

/* Re-serialise an inline policy object for agent_policy_parse. */
static void gen_val(yajl_gen g, yajl_val v)
{
  if (YAJL_IS_STRING(v))
    yajl_gen_string(g, (const unsigned char *)v->u.string, strlen(v->u.string));
  else if (YAJL_IS_NUMBER(v))
    yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
  else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
    yajl_gen_bool(g, YAJL_IS_TRUE(v));
  else if (YAJL_IS_ARRAY(v)) {
    yajl_gen_array_open(g);
    for (size_t i = 0; i < v->u.array.len; i++)
      gen_val(g, v->u.array.values[i]);
    yajl_gen_array_close(g);
  } else if (YAJL_IS_OBJECT(v)) {
    yajl_gen_map_open(g);
    for (size_t i = 0; i < v->u.object.len; i++) {
      yajl_gen_string(g, (const unsigned char *)v->u.object.keys[i], strlen(v->u.object.keys[i]));
      gen_val(g, v->u.object.values[i]);
    }
    yajl_gen_map_close(g);
  } else
    yajl_gen_null(g);
}

static int parse_task(struct task *t, const char *line, size_t lineno, cove_err *err)
{
  char ebuf[256];
  yajl_val v = yajl_tree_parse(line, ebuf, sizeof ebuf);
  if (!v || !YAJL_IS_OBJECT(v)) {
    if (v)
      yajl_tree_free(v);
    return cove_error(err, 0, "line %zu: not a JSON object", lineno);
  }
  int rc = -1;
  static const char *const keys[] = {"name", "group", "command", "policy", "timeout", "workspace", NULL};
  char path[32];
  snprintf(path, sizeof path, "line %zu", lineno);
  if (cove_json_known_keys(v, path, keys, err) < 0)
    goto out;
  yajl_val n = cove_json_field(v, "name"), c = cove_json_field(v, "command"), p = cove_json_field(v, "policy"),
           to = cove_json_field(v, "timeout");
  if (!n || !YAJL_IS_STRING(n) || !*n->u.string) {
    cove_error(err, 0, "line %zu: name: a non-empty string is required", lineno);
    goto out;
  }
  for (const char *s = n->u.string; *s; s++)
    if (*s == '/' || (unsigned char)*s < 0x20) {
      cove_error(err, 0, "line %zu: name: must not contain '/' or control characters", lineno);
      goto out;
    }
  t->name = strdup(n->u.string);
  t->group = dup_or_null(cove_json_field(v, "group"));
  t->workspace = dup_or_null(cove_json_field(v, "workspace"));
  if (c && YAJL_IS_STRING(c)) {
    t->argv = calloc(4, sizeof *t->argv);
    t->argv[0] = strdup("sh");
    t->argv[1] = strdup("-c");
    t->argv[2] = strdup(c->u.string);
  } else if (c && YAJL_IS_ARRAY(c) && c->u.array.len) {
    t->argv = calloc(c->u.array.len + 1, sizeof *t->argv);
    for (size_t i = 0; i < c->u.array.len; i++) {
      if (!YAJL_IS_STRING(c->u.array.values[i])) {
        cove_error(err, 0, "line %zu: command[%zu]: expected string", lineno, i);
        goto out;
      }
      t->argv[i] = strdup(c->u.array.values[i]->u.string);
    }
  } else {
    cove_error(err, 0, "line %zu: command: a string or a non-empty array of strings is required", lineno);
    goto out;
  }
  if (p && YAJL_IS_STRING(p)) {
    t->policy_file = strdup(p->u.string);
  } else if (p && YAJL_IS_OBJECT(p)) {
    yajl_gen g = yajl_gen_alloc(NULL);
    gen_val(g, p);
    const unsigned char *buf;
    size_t len;
    yajl_gen_get_buf(g, &buf, &len);
    t->policy_text = strndup((const char *)buf, len);
    yajl_gen_free(g);
  } else if (p) {
    cove_error(err, 0, "line %zu: policy: expected a file name or an object", lineno);
    goto out;
  }
  if (to && YAJL_IS_STRING(to)) {
    t->timeout = strdup(to->u.string);
  } else if (to && YAJL_IS_INTEGER(to)) {
    char b[32];
    snprintf(b, sizeof b, "%llds", (long long)to->u.number.i);
    t->timeout = strdup(b);
  } else if (to) {
    cove_error(err, 0, "line %zu: timeout: expected a duration string or seconds", lineno);
    goto out;
  }
  rc = 0;
out:
  yajl_tree_free(v);
  return rc;
}

/* Valid XML 1.0 whatever the bytes (agent output): well-formed UTF-8 is
 * copied, anything else (invalid sequences, NUL, the control characters
 * and U+FFFE/FFFF that XML forbids even escaped) becomes U+FFFD. */
static void xml_escape(FILE *f, const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t k = cove_utf8_next(u + i, n - i, &cp);
    bool ok = k && (cp >= 0x20 || cp == '\n' || cp == '\t' || cp == '\r') && cp != 0xfffe && cp != 0xffff;
    if (!ok) {
      fputs("\xef\xbf\xbd", f);
      i += k ? k : 1;
      continue;
    }
    switch (cp) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fwrite(u + i, 1, k, f);
    }
    i += k;
  }
}

static void tail_into(FILE *f, const char *path, size_t max)
{
  _cleanup_fclose_ FILE *in = fopen(path, "re");
  if (!in)
    return;
  bool cut = false;
  if (fseek(in, 0, SEEK_END) == 0) {
    long sz = ftell(in);
    cut = sz > (long)max;
    fseek(in, cut ? sz - (long)max : 0, SEEK_SET);
  }
  /* the tail in one piece, so no character is split between reads */
  _cleanup_free_ char *buf = malloc(max);
  if (!buf)
    return;
  size_t n = fread(buf, 1, max, in), i = 0;
  /* a tail cut inside a character starts at the next one */
  while (cut && i < n && i < 3 && ((unsigned char)buf[i] & 0xc0) == 0x80)
    i++;
  xml_escape(f, buf + i, n - i);
}

static int write_junit(const char *path, struct task *t, size_t n, const char *outdir, double total, cove_err *err)
{
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "we");
  if (!f)
    return cove_error(err, errno, "--junit %s", path);
  size_t fails = 0, errors = 0;
  for (size_t i = 0; i < n; i++) {
    fails += t[i].failed && !t[i].error;
    errors += t[i].error;
  }
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f, "<testsuites tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", n, fails, errors, total);
  fprintf(f, "  <testsuite name=\"cove-agent-batch\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", n,
          fails, errors, total);
  for (size_t i = 0; i < n; i++) {
    fputs("    <testcase classname=\"cove.agent.", f);
    xml_escape(f, t[i].group ? t[i].group : "default", strlen(t[i].group ? t[i].group : "default"));
    fputs("\" name=\"", f);
    xml_escape(f, t[i].name, strlen(t[i].name));
    fprintf(f, "\" time=\"%.3f\">\n", t[i].secs);
    if (t[i].failed) {
      fprintf(f, "      <%s type=\"%s\" message=\"%s exit status %d\"/>\n", t[i].error ? "error" : "failure",
              t[i].status, t[i].status, t[i].exit_status);
    }
    char p[4400];
    fputs("      <system-out>", f);
    snprintf(p, sizeof p, "%s/%s.stdout", outdir, t[i].name);
    tail_into(f, p, 8192);
    fputs("</system-out>\n      <system-err>", f);
    snprintf(p, sizeof p, "%s/%s.stderr", outdir, t[i].name);
    tail_into(f, p, 8192);
    fputs("</system-err>\n    </testcase>\n", f);
  }
  fputs("  </testsuite>\n</testsuites>\n", f);
  if (fclose(f) != 0 || rename(tmp, path) < 0)
    return cove_error(err, errno, "--junit %s", path);
  return 0;
}

static void start_task(struct task *t, const char *outdir)
{
  char out[4400], errp[4400], res[4400];
  snprintf(out, sizeof out, "%s/%s.stdout", outdir, t->name);
  snprintf(errp, sizeof errp, "%s/%s.stderr", outdir, t->name);
  snprintf(res, sizeof res, "%s/%s.result.json", outdir, t->name);
  t->start = agent_now_ns();
  fflush(NULL);
  t->pid = fork();
  if (t->pid != 0)
    return;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in >= 0)
    dup2(in, 0);
  FILE *rf = fopen(res, "we");
  /* the orchestrator's own messages go with the task's stderr */
  int ef = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (ef >= 0)
    dup2(ef, 2);
  struct agent_run_opts o = {
    .group = t->group, .policy_file = t->policy_file, .policy_text = t->policy_text, .workspace = t->workspace,
    .timeout = t->timeout, .json = true, .stdout_path = out, .stderr_path = NULL, .argv = t->argv,
    .result_out = rf ? rf : stdout,
  };
  int st = 1;
  agent_run(&o, &st);
  if (rf)
    fclose(rf);
  _exit(st & 0xff);
}

static void finish_task(struct task *t, int wst, const char *outdir)
{
  t->done = true;
  t->secs = (double)(agent_now_ns() - t->start) / 1e9;
  t->exit_status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
  char res[4400];
  snprintf(res, sizeof res, "%s/%s.result.json", outdir, t->name);
  cove_err e;
  t->result = agent_read_small_file(res, 1 << 20, &e);
  snprintf(t->status, sizeof t->status, "%s", "error");
  if (t->result) {
    char *nl = strchr(t->result, '\n');
    if (nl)
      *nl = 0;
    yajl_val v = yajl_tree_parse(t->result, NULL, 0);
    yajl_val s = v ? cove_json_field(v, "status") : NULL;
    if (s && YAJL_IS_STRING(s))
      snprintf(t->status, sizeof t->status, "%s", s->u.string);
    if (v)
      yajl_tree_free(v);
  }
  t->failed = strcmp(t->status, "ok") != 0;
  t->error = !strcmp(t->status, "error");
}

int agent_batch(const struct agent_batch_opts *o, int *exit_status)
{
  cove_err err = {0};
  *exit_status = 1;
  _cleanup_fclose_ FILE *in = fopen(o->tasks_file, "re");
  if (!in) {
    fprintf(stderr, "cove: agent batch: %s: %s\n", o->tasks_file, strerror(errno));
    return -1;
  }
  struct task *tasks = NULL;
  size_t n = 0, cap = 0, lineno = 0;
  char *line = NULL;
  size_t lcap = 0;
  while (getline(&line, &lcap, in) > 0) {
    lineno++;
    char *s = line;
    while (*s == ' ' || *s == '\t')
      s++;
    if (!*s || *s == '\n' || *s == '#')
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      tasks = realloc(tasks, cap * sizeof *tasks);
    }
    memset(&tasks[n], 0, sizeof *tasks);
    if (parse_task(&tasks[n], s, lineno, &err) < 0) {
      fprintf(stderr, "cove: agent batch: %s: %s\n", o->tasks_file, err.msg);
      free(line);
      return -1;
    }
    for (size_t j = 0; j < n; j++)
      if (!strcmp(tasks[j].name, tasks[n].name)) {
        fprintf(stderr, "cove: agent batch: %s: line %zu: name \"%s\" used twice\n", o->tasks_file, lineno,
                tasks[n].name);
        free(line);
        return -1;
      }
    n++;
  }
  free(line);
  if (agent_mkdir_p(o->output_dir, 0755, &err) < 0) {
    fprintf(stderr, "cove: agent batch: --output %s\n", err.msg);
    return -1;
  }
  sigset_t ss, old;
  sigemptyset(&ss);
  sigaddset(&ss, SIGCHLD);
  sigaddset(&ss, SIGINT);
  sigaddset(&ss, SIGTERM);
  sigaddset(&ss, SIGHUP);
  sigprocmask(SIG_BLOCK, &ss, &old);
  bool tty = isatty(STDERR_FILENO);
  size_t next = 0, running = 0, done = 0, failed = 0;
  bool stop = false;
  int64_t t0 = agent_now_ns();
  while (done < n) {
    while (!stop && next < n && running < o->parallel) {
      start_task(&tasks[next++], o->output_dir);
      running++;
    }
    if (!running)
      break;
    if (tty)
      fprintf(stderr, "\r\033[K[%zu/%zu] running %zu, failed %zu", done, n, running, failed);
    siginfo_t si;
    int s = sigwaitinfo(&ss, &si);
    if (s == SIGINT || s == SIGTERM || s == SIGHUP) {
      stop = true;
      for (size_t i = 0; i < next; i++)
        if (!tasks[i].done && tasks[i].pid > 0)
          kill(tasks[i].pid, SIGTERM); /* each kills its own sandbox */
    }
    int wst;
    pid_t p;
    while ((p = waitpid(-1, &wst, WNOHANG)) > 0) {
      for (size_t i = 0; i < next; i++)
        if (tasks[i].pid == p && !tasks[i].done) {
          finish_task(&tasks[i], wst, o->output_dir);
          running--;
          done++;
          failed += tasks[i].failed;
          if (tty)
            fprintf(stderr, "\r\033[K");
          if (tasks[i].result)
            printf("%s\n", tasks[i].result);
          else
            printf("{\"name\":\"%s\",\"status\":\"error\",\"error\":\"no result record\"}\n", tasks[i].name);
          fflush(stdout);
        }
    }
    if (stop && !running)
      break;
  }
  if (tty)
    fprintf(stderr, "\r\033[K[%zu/%zu] done, %zu failed\n", done, n, failed);
  sigprocmask(SIG_SETMASK, &old, NULL);
  /* tasks never started (interrupted) count as failures */
  for (size_t i = next; i < n; i++) {
    tasks[i].failed = tasks[i].error = true;
    snprintf(tasks[i].status, sizeof tasks[i].status, "not_run");
    failed++;
  }
  int rc = 0;
  if (o->junit && write_junit(o->junit, tasks, n, o->output_dir, (double)(agent_now_ns() - t0) / 1e9, &err) < 0) {
    fprintf(stderr, "cove: agent batch: %s\n", err.msg);
    rc = -1;
  }
  for (size_t i = 0; i < n; i++) {
    free(tasks[i].name);
    free(tasks[i].group);
    free(tasks[i].policy_file);
    free(tasks[i].policy_text);
    free(tasks[i].timeout);
    free(tasks[i].workspace);
    free(tasks[i].result);
    for (char **a = tasks[i].argv; a && *a; a++)
      free(*a);
    free(tasks[i].argv);
  }
  free(tasks);
  *exit_status = failed || rc < 0 ? 1 : 0;
  return rc;
}
