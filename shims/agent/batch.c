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

#include "cove/readfile.h"
#include "cove/log.h"

#include "cove/cleanup.h"
#include "cove/utf8.h"
#include "cove/json.h"
#include "cove/jsongen.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct task {
  char *name, *group, *policy_file, *policy_text, *timeout, *workspace;
  char *policy_origin; /* canonical path policy_text was read from */
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
    /* re-serialised for agent_policy_parse */
    struct cove_gen g;
    if (cove_gen_init_line(&g, NULL, err) < 0)
      goto out;
    cove_gen_value(&g, p);
    size_t len;
    const char *buf = cove_gen_buf(&g, &len);
    t->policy_text = buf ? strndup(buf, len) : NULL;
    if (cove_gen_finish(&g, "policy") < 0)
      goto out;
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

static void task_free(struct task *t)
{
  free(t->name);
  free(t->group);
  free(t->policy_file);
  free(t->policy_text);
  free(t->policy_origin);
  free(t->timeout);
  free(t->workspace);
  free(t->result);
  for (char **a = t->argv; a && *a; a++)
    free(*a);
  free(t->argv);
}

int agent_batch_parse_line(const char *line, size_t lineno, char **policy_text, cove_err *err)
{
  struct task t = {0};
  int rc = parse_task(&t, line, lineno, err);
  if (rc == 0 && policy_text) {
    *policy_text = t.policy_text;
    t.policy_text = NULL;
  }
  task_free(&t);
  return rc;
}

/* Valid XML 1.0 whatever the bytes (agent output): well-formed UTF-8 is
 * copied, anything else (invalid sequences, NUL, the control characters
 * and U+FFFE/FFFF that XML forbids even escaped) becomes U+FFFD. */
void agent_xml_escape(FILE *f, const char *s, size_t n)
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

static void tail_into(FILE *f, int dirfd, const char *name, size_t max)
{
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_fclose_ FILE *in = fd >= 0 ? fdopen(fd, "re") : NULL;
  if (!in) {
    if (fd >= 0)
      close(fd);
    return;
  }
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
  agent_xml_escape(f, buf + i, n - i);
}

/* Created like every output (files.c): new file, no symlinks. */
static int write_junit(struct agent_out *jo, struct task *t, size_t n, int outdir, double total, cove_err *err)
{
  if (agent_out_create(jo, err) < 0)
    return -1;
  FILE *f = fdopen(jo->fd, "w");
  if (!f)
    return cove_error(err, errno, "--junit %s", jo->path);
  jo->fd = -1;
  const char *path = jo->path;
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
    agent_xml_escape(f, t[i].group ? t[i].group : "default", strlen(t[i].group ? t[i].group : "default"));
    fputs("\" name=\"", f);
    agent_xml_escape(f, t[i].name, strlen(t[i].name));
    fprintf(f, "\" time=\"%.3f\">\n", t[i].secs);
    if (t[i].failed) {
      fprintf(f, "      <%s type=\"%s\" message=\"%s exit status %d\"/>\n", t[i].error ? "error" : "failure",
              t[i].status, t[i].status, t[i].exit_status);
    }
    char p[4400];
    fputs("      <system-out>", f);
    snprintf(p, sizeof p, "%s.stdout", t[i].name);
    tail_into(f, outdir, p, 8192);
    fputs("</system-out>\n      <system-err>", f);
    snprintf(p, sizeof p, "%s.stderr", t[i].name);
    tail_into(f, outdir, p, 8192);
    fputs("</system-err>\n    </testcase>\n", f);
  }
  fputs("  </testsuite>\n</testsuites>\n", f);
  if (fclose(f) != 0)
    return cove_error(err, errno, "--junit %s", path);
  return 0;
}

/* One batch: its tasks, its outputs, what every task's run gets. */
struct batch_ctx {
  const struct agent_batch_opts *o;
  struct task *tasks;
  size_t n;
  struct agent_out junit;
  char outdir[4096];
  int outfd;
  const char **inputs; /* every task's policy file */
  size_t n_inputs;
};

static void start_task(struct task *t, const struct batch_ctx *b)
{
  const char *outdir = b->outdir;
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
  /* the orchestrator's own messages go with the task's stderr */
  struct agent_out eo;
  cove_err e = {0};
  if (agent_out_prepare(&eo, errp, "task stderr", &e) < 0 || agent_out_create(&eo, &e) < 0) {
    cove_log(COVE_LOG_ERROR, "agent batch: task %s: %s", t->name, e.msg);
    _exit(1);
  }
  dup2(eo.fd, 2);
  agent_out_close(&eo);
  /* the record file exists from the start, so even a refused run has one */
  struct agent_out ro;
  if (agent_out_prepare(&ro, res, "task result", &e) < 0 || agent_out_create(&ro, &e) < 0) {
    cove_log(COVE_LOG_ERROR, "agent batch: task %s: %s", t->name, e.msg);
    _exit(1);
  }
  struct agent_run_opts o = {
    .group = t->group, .policy_text = t->policy_text, .policy_origin = t->policy_origin,
    .workspace = t->workspace, .timeout = t->timeout, .stdout_path = out, .argv = t->argv,
    .result_fd = ro.fd, .has_result_fd = true, .tasks_file = b->o->tasks_file, .batch_inputs = b->inputs, .n_batch_inputs = b->n_inputs,
  };
  int st = 1;
  agent_run(&o, &st);
  agent_out_close(&ro);
  _exit(st & 0xff);
}

static void finish_task(struct task *t, int wst, int outdir)
{
  t->done = true;
  t->secs = (double)(agent_now_ns() - t->start) / 1e9;
  t->exit_status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
  char res[4400];
  snprintf(res, sizeof res, "%s.result.json", t->name);
  cove_err e;
  _cleanup_close_ int rfd = openat(outdir, res, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  t->result = rfd >= 0 ? cove_read_fd(rfd, 1 << 20, NULL, res, &e) : NULL;
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

/* --output DIR, or by default a new directory under the caller's state
 * directory ($XDG_STATE_HOME/cove/batch/TIME-PID): never the current
 * directory, which is usually the workspace the tasks can write. Every
 * run refuses an output directory its sandbox can see (files.c). */
static int open_output_dir(const char *dir, char canon[4096], cove_err *err)
{
  char def[4096];
  if (!dir) {
    struct agent_paths p;
    if (agent_paths_init(&p, err) < 0)
      return -1;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(def, sizeof def, "%s/batch/%04d%02d%02d-%02d%02d%02d-%d", p.state, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid());
    if (agent_mkdir_p(def, 0700, err) < 0)
      return -1;
    dir = def;
  } else if (agent_mkdir_p(dir, 0755, err) < 0) {
    return cove_error_prefix(err, "--output");
  }
  int fd = agent_dir_open(dir, "--output", canon, err);
  if (fd >= 0 && dir == def)
    fprintf(stderr, "cove: agent batch: task outputs in %s\n", canon);
  return fd;
}

/* Every task line parsed, names unique. Logs its own errors. */
static int read_tasks(struct batch_ctx *b)
{
  const char *file = b->o->tasks_file;
  _cleanup_fclose_ FILE *in = fopen(file, "re");
  if (!in) {
    cove_log(COVE_LOG_ERROR, "agent batch: %s: %s", file, strerror(errno));
    return -1;
  }
  _cleanup_free_ char *line = NULL;
  size_t cap = 0, lcap = 0, lineno = 0;
  cove_err err = {0};
  while (getline(&line, &lcap, in) > 0) {
    lineno++;
    char *s = line;
    while (*s == ' ' || *s == '\t')
      s++;
    if (!*s || *s == '\n' || *s == '#')
      continue;
    if (b->n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      struct task *nt = realloc(b->tasks, nc * sizeof *nt);
      if (!nt) {
        cove_log(COVE_LOG_ERROR, "agent batch: %s: out of memory", file);
        return -1;
      }
      b->tasks = nt;
      cap = nc;
    }
    struct task *t = &b->tasks[b->n++]; /* released with the others, even half-parsed */
    memset(t, 0, sizeof *t);
    if (parse_task(t, s, lineno, &err) < 0) {
      cove_log(COVE_LOG_ERROR, "agent batch: %s: %s", file, err.msg);
      return -1;
    }
    for (size_t j = 0; j + 1 < b->n; j++)
      if (!strcmp(b->tasks[j].name, t->name)) {
        fprintf(stderr, "cove: agent batch: %s: line %zu: name \"%s\" used twice\n", file, lineno, t->name);
        return -1;
      }
  }
  return 0;
}

/* Policy files are read once, now: no task can change another's (or a
 * later one's) policy during the batch. Each run still checks the file
 * lies outside its writable mounts. */
static int read_policies(struct batch_ctx *b)
{
  cove_err err = {0};
  for (size_t i = 0; i < b->n; i++) {
    struct task *t = &b->tasks[i];
    if (!t->policy_file)
      continue;
    char canon[4096], what[300];
    snprintf(what, sizeof what, "task %s: policy", t->name);
    int fd = agent_in_open(t->policy_file, what, canon, &err);
    if (fd >= 0) {
      t->policy_text = cove_read_fd(fd, 1 << 20, NULL, canon, &err);
      close(fd);
    }
    if (fd < 0 || !t->policy_text) {
      cove_log(COVE_LOG_ERROR, "agent batch: %s", err.msg);
      return -1;
    }
    t->policy_origin = strdup(canon);
  }
  return 0;
}

/* The report and the output directory, checked before any task runs: an
 * existing report is refused now, not after the whole batch. */
static int open_outputs(struct batch_ctx *b)
{
  cove_err err = {0};
  if ((b->o->junit && agent_out_prepare(&b->junit, b->o->junit, "--junit", &err) < 0) ||
      (b->outfd = open_output_dir(b->o->output_dir, b->outdir, &err)) < 0) {
    cove_log(COVE_LOG_ERROR, "agent batch: %s", err.msg);
    return -1;
  }
  b->inputs = calloc(b->n + 1, sizeof *b->inputs);
  for (size_t i = 0; b->inputs && i < b->n; i++)
    if (b->tasks[i].policy_origin)
      b->inputs[b->n_inputs++] = b->tasks[i].policy_origin;
  return 0;
}

static void print_result(const struct task *t)
{
  if (t->result) {
    printf("%s\n", t->result);
    return;
  }
  /* the name is the tasks file's: a quote or backslash in it must not
   * break the line */
  struct cove_gen g;
  cove_err e = {0};
  if (cove_gen_init_line(&g, NULL, &e) < 0)
    return;
  cove_gen_map_open(&g);
  cove_gen_kv_text(&g, "name", t->name);
  cove_gen_kv_str(&g, "status", "error");
  cove_gen_kv_str(&g, "error", "no result record");
  cove_gen_map_close(&g);
  _cleanup_free_ char *line = cove_gen_line_dup(&g, "result");
  if (line)
    printf("%s\n", line);
  fflush(stdout);
}

/* Reap every task that has ended; returns how many did. */
static size_t reap_tasks(struct batch_ctx *b, size_t started, bool tty, size_t *failed)
{
  size_t reaped = 0;
  int wst;
  pid_t p;
  while ((p = waitpid(-1, &wst, WNOHANG)) > 0)
    for (size_t i = 0; i < started; i++) {
      struct task *t = &b->tasks[i];
      if (t->pid != p || t->done)
        continue;
      finish_task(t, wst, b->outfd);
      reaped++;
      *failed += t->failed;
      if (tty)
        fprintf(stderr, "\r\033[K");
      print_result(t);
    }
  return reaped;
}

/* At most o->parallel tasks at a time until all are done; a signal stops
 * new starts and asks each running task to kill its sandbox. Returns how
 * many failed, the ones never started included. */
static size_t run_tasks(struct batch_ctx *b)
{
  sigset_t ss, old;
  sigemptyset(&ss);
  sigaddset(&ss, SIGCHLD);
  sigaddset(&ss, SIGINT);
  sigaddset(&ss, SIGTERM);
  sigaddset(&ss, SIGHUP);
  sigprocmask(SIG_BLOCK, &ss, &old);
  bool tty = isatty(STDERR_FILENO);
  size_t n = b->n, next = 0, running = 0, done = 0, failed = 0;
  bool stop = false;
  while (done < n) {
    while (!stop && next < n && running < b->o->parallel) {
      start_task(&b->tasks[next++], b);
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
        if (!b->tasks[i].done && b->tasks[i].pid > 0)
          kill(b->tasks[i].pid, SIGTERM); /* each kills its own sandbox */
    }
    size_t r = reap_tasks(b, next, tty, &failed);
    running -= r;
    done += r;
    if (stop && !running)
      break;
  }
  if (tty)
    fprintf(stderr, "\r\033[K[%zu/%zu] done, %zu failed\n", done, n, failed);
  sigprocmask(SIG_SETMASK, &old, NULL);
  /* tasks never started (interrupted) count as failures */
  for (size_t i = next; i < n; i++) {
    b->tasks[i].failed = b->tasks[i].error = true;
    snprintf(b->tasks[i].status, sizeof b->tasks[i].status, "not_run");
    failed++;
  }
  return failed;
}

static void batch_release(struct batch_ctx *b)
{
  for (size_t i = 0; i < b->n; i++)
    task_free(&b->tasks[i]);
  free(b->tasks);
  free(b->inputs);
  agent_out_close(&b->junit);
  if (b->outfd >= 0)
    close(b->outfd);
}

int agent_batch(const struct agent_batch_opts *o, int *exit_status)
{
  struct batch_ctx b = {.o = o, .junit = {.fd = -1, .dirfd = -1}, .outfd = -1};
  int rc = -1;
  *exit_status = 1;
  if (read_tasks(&b) == 0 && read_policies(&b) == 0 && open_outputs(&b) == 0) {
    int64_t t0 = agent_now_ns();
    size_t failed = run_tasks(&b);
    cove_err err = {0};
    rc = 0;
    if (o->junit && write_junit(&b.junit, b.tasks, b.n, b.outfd, (double)(agent_now_ns() - t0) / 1e9, &err) < 0) {
      cove_log(COVE_LOG_ERROR, "agent batch: %s", err.msg);
      rc = -1;
    }
    *exit_status = failed || rc < 0 ? 1 : 0;
  }
  batch_release(&b);
  return rc;
}
