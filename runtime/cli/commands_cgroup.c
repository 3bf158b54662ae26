/* pause, resume, update, events, ps: runc's cgroup commands. */
#include "commands.h"
#include "opts.h"

#include "cove/jsongen.h"

#include "cove/cgroup.h"
#include "cove/container.h"
#include "cove/cleanup.h"
#include "cove/json.h"
#include "cove/log.h"
#include "cove/readfile.h"
#include "cove/state.h"
#include "cove/units.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

int cmd_pause(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove pause ID\n  freeze every process of the container (cgroup freezer)\n";
  return cli_id_op(g, argv[0], help, argc, argv, cove_container_pause);
}

int cmd_resume(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove resume ID\n  thaw a paused container\n";
  return cli_id_op(g, argv[0], help, argc, argv, cove_container_resume);
}

/* ------------------------------------------------------------ update */

/* runc's units.RAMInBytes: a number with an optional binary suffix
 * (b, k, m, g, t, p; "kb", "KiB" alike), or -1. */
static int ram_bytes(const char *s, int64_t *out)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s)
    return -1;
  if (v == -1 && !*end) {
    *out = -1;
    return 0;
  }
  if (v < 0)
    return -1;
  double mul = 1;
  switch (*end | 0x20) {
  case 'b': break;
  case 'k': mul = 1024.0; break;
  case 'm': mul = 1024.0 * 1024; break;
  case 'g': mul = 1024.0 * 1024 * 1024; break;
  case 't': mul = 1024.0 * 1024 * 1024 * 1024; break;
  case 'p': mul = 1024.0 * 1024 * 1024 * 1024 * 1024; break;
  default:
    if (*end)
      return -1;
  }
  if (*end) {
    end++;
    if ((*end | 0x20) == 'i')
      end++;
    if ((*end | 0x20) == 'b')
      end++;
    if (*end)
      return -1;
  }
  if (v * mul > 9.2e18)
    return -1;
  *out = (int64_t)(v * mul);
  return 0;
}

/* The update flags: each one is linux.resources.<section>.<key>, a size in
 * bytes ('b'), an integer ('i') or a string ('s'). Grouped by section. */
static const struct upd_flag {
  const char *flag, *section, *key;
  char kind;
} upd_flags[] = {
  {"memory", "memory", "limit", 'b'},           {"memory-swap", "memory", "swap", 'b'},
  {"memory-reservation", "memory", "reservation", 'b'},
  {"cpu-share", "cpu", "shares", 'i'},          {"cpu-quota", "cpu", "quota", 'i'},
  {"cpu-period", "cpu", "period", 'i'},         {"cpu-rt-period", "cpu", "realtimePeriod", 'i'},
  {"cpu-rt-runtime", "cpu", "realtimeRuntime", 'i'},
  {"cpuset-cpus", "cpu", "cpus", 's'},          {"cpuset-mems", "cpu", "mems", 's'},
  {"pids-limit", "pids", "limit", 'i'},         {"blkio-weight", "blockIO", "weight", 'i'},
};
#define N_UPD (sizeof upd_flags / sizeof *upd_flags)

/* One flag's value into the LinuxResources document; 0, or the usage
 * error's exit status. */
static int flag_value(struct cove_gen *gen, const struct upd_flag *u, const char *v)
{
  int64_t x;
  char *end;
  if (u->kind == 's') {
    cove_gen_kv_text(gen, u->key, v);
    return 0;
  }
  if (u->kind == 'b') {
    if (ram_bytes(v, &x) < 0)
      return cli_usage_error("update", "--%s \"%s\": expected a size in bytes (suffix k, m, g allowed) or -1", u->flag,
                             v);
  } else {
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
      return cli_usage_error("update", "--%s \"%s\": expected an integer", u->flag, v);
  }
  cove_gen_kv_int(gen, u->key, x);
  return 0;
}

/* --resources FILE, or "-" for stdin; not only a regular file (runc takes
 * /dev/stdin and pipes too). */
static char *read_resources(const char *path, cove_err *err)
{
  char what[4096];
  snprintf(what, sizeof what, "--resources %s", path);
  _cleanup_close_ int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
  if (fd < 0)
    return cove_error(err, errno, "%s", what), NULL;
  return cove_read_fd(fd, 16 * 1024 * 1024, NULL, what, err);
}

/* The update flags as a LinuxResources document, validated like
 * config.json afterwards. 0, or the exit status. */
static int flags_to_json(const char *const *val, char **out, cove_err *err)
{
  struct cove_gen gen;
  if (cove_gen_init_line(&gen, NULL, err) < 0)
    return cli_fail(err);
  int rc = 0;
  const char *section = NULL;
  cove_gen_map_open(&gen);
  for (size_t i = 0; i < N_UPD && !rc; i++) {
    if (!val[i])
      continue;
    if (!section || strcmp(section, upd_flags[i].section)) {
      if (section)
        cove_gen_map_close(&gen);
      section = upd_flags[i].section;
      cove_gen_key(&gen, section);
      cove_gen_map_open(&gen);
    }
    rc = flag_value(&gen, &upd_flags[i], val[i]);
  }
  if (section)
    cove_gen_map_close(&gen);
  cove_gen_map_close(&gen);
  char *json = cove_gen_line_dup(&gen, "update");
  if (!json && !rc)
    rc = cli_fail(err);
  if (rc)
    free(json);
  else
    *out = json;
  return rc;
}

int cmd_update(struct cove_global *g, int argc, char **argv)
{
  static const char help[] =
    "Usage: cove update [options] ID\n"
    "  -r, --resources FILE        LinuxResources JSON (\"-\" = stdin); other options are then ignored\n"
    "      --memory BYTES          memory limit (k, m, g suffixes; -1 = unlimited)\n"
    "      --memory-swap BYTES     memory + swap limit\n"
    "      --memory-reservation B  soft limit\n"
    "      --cpu-share N           relative CPU weight (2..262144; --cpu-shares alike)\n"
    "      --cpu-quota US          CPU time per period (-1 = none)\n"
    "      --cpu-period US         CFS period\n"
    "      --cpu-rt-period US, --cpu-rt-runtime US   realtime (cgroup v1 only)\n"
    "      --cpuset-cpus LIST      CPUs allowed (0-3,7)\n"
    "      --cpuset-mems LIST      memory nodes allowed\n"
    "      --pids-limit N          maximum number of tasks (-1 = unlimited)\n"
    "      --blkio-weight N        block I/O weight (10..1000)\n"
    "  --kernel-memory, --kernel-memory-tcp, --l3-cache-schema, --mem-bw-schema: refused\n"
    "  (not supported)\n";
  const char *resources = NULL, *kmem = NULL, *val[N_UPD] = {0};
  struct cli_opt opts[N_UPD + 7] = {
    {"resources", 'r', CLI_STR, &resources},  {"cpu-shares", 0, CLI_STR, &val[3]},
    {"kernel-memory", 0, CLI_STR, &kmem},     {"kernel-memory-tcp", 0, CLI_STR, &kmem},
    {"l3-cache-schema", 0, CLI_STR, &kmem},   {"mem-bw-schema", 0, CLI_STR, &kmem},
  };
  for (size_t i = 0; i < N_UPD; i++) /* the last entry stays the terminator */
    opts[6 + i] = (struct cli_opt){upd_flags[i].flag, 0, CLI_STR, &val[i]};
  _cleanup_free_ char **args = NULL;
  int r = cli_parse_id("update", help, opts, argc, argv, &args);
  if (r >= 0)
    return r;
  if (kmem)
    return cli_usage_error("update", "--kernel-memory, --kernel-memory-tcp, --l3-cache-schema and --mem-bw-schema are not supported");
  cove_err err = {0};
  _cleanup_free_ char *json = NULL;
  const char *what = "resources";
  if (resources) {
    if (!(json = read_resources(resources, &err)))
      return cli_fail(&err);
    what = resources;
  } else {
    size_t given = 0;
    for (size_t i = 0; i < N_UPD; i++)
      given += val[i] != NULL;
    if (!given)
      return cli_usage_error("update", "nothing to update (give --resources or a limit option)");
    int rc = flags_to_json(val, &json, &err);
    if (rc)
      return rc;
  }
  char label[4200];
  snprintf(label, sizeof label, "update: %s", what);
  yajl_val tree = cove_json_tree(json, strlen(json), label, &err);
  if (!tree)
    return cli_fail(&err);
  struct cove_resources res;
  char root[4096];
  r = cove_resources_parse(tree, "linux.resources", &res, &err);
  int rc = r < 0 ? cli_fail(&err) : cli_root(g, root, sizeof root);
  if (rc == 0 && cove_container_update(root, args[0], &res, &err) < 0)
    rc = cli_fail(&err);
  cove_resources_free(&res);
  cove_json_tree_free(tree);
  return rc;
}

/* ------------------------------------------------------------ events */

/* "key": {"name": value, ...} */
static void gen_ints(struct cove_gen *g, const char *key, size_t n, const char *const *names, const long long *v)
{
  cove_gen_key(g, key);
  cove_gen_map_open(g);
  for (size_t i = 0; i < n; i++)
    cove_gen_kv_int(g, names[i], v[i]);
  cove_gen_map_close(g);
}

/* runc's events "data" object. */
static void gen_stats(struct cove_gen *g, const struct cove_container_stats *s)
{
  cove_gen_map_open(g);
  if (s->has_cpu) {
    cove_gen_key(g, "cpu");
    cove_gen_map_open(g);
    gen_ints(g, "usage", 3, (const char *const[]){"total", "kernel", "user"},
             (const long long[]){(long long)(s->cpu_usage_usec * 1000), (long long)(s->cpu_system_usec * 1000),
                                 (long long)(s->cpu_user_usec * 1000)});
    gen_ints(g, "throttling", 3, (const char *const[]){"periods", "throttledPeriods", "throttledTime"},
             (const long long[]){(long long)s->cpu_nr_periods, (long long)s->cpu_nr_throttled,
                                 (long long)(s->cpu_throttled_usec * 1000)});
    cove_gen_map_close(g);
  }
  if (s->has_memory) {
    cove_gen_key(g, "memory");
    cove_gen_map_open(g);
    gen_ints(g, "usage", 4, (const char *const[]){"limit", "usage", "max", "failcnt"},
             (const long long[]){s->mem_limit >= (uint64_t)INT64_MAX ? INT64_MAX : (long long)s->mem_limit,
                                 (long long)s->mem_usage, (long long)s->mem_peak, (long long)s->mem_failcnt});
    gen_ints(g, "swap", 1, (const char *const[]){"usage"}, (const long long[]){(long long)s->swap_usage});
    gen_ints(g, "raw", 2, (const char *const[]){"oom", "oom_kill"},
             (const long long[]){(long long)s->mem_oom, (long long)s->mem_oom_kill});
    cove_gen_map_close(g);
  }
  if (s->has_pids)
    gen_ints(g, "pids", 2, (const char *const[]){"current", "limit"},
             (const long long[]){(long long)s->pids_current, (long long)s->pids_limit});
  cove_gen_map_close(g);
}

/* runc's events JSON on one line: {"type":"stats","id":ID,"data":{...}},
 * or {"type":"oom","id":ID} (s NULL). */
static int print_event(const char *id, const struct cove_container_stats *s, cove_err *err)
{
  struct cove_gen g;
  if (cove_gen_init_line(&g, stdout, err) < 0)
    return -1;
  cove_gen_map_open(&g);
  cove_gen_kv_str(&g, "type", s ? "stats" : "oom");
  cove_gen_kv_str(&g, "id", id);
  if (s) {
    cove_gen_key(&g, "data");
    gen_stats(&g, s);
  }
  cove_gen_map_close(&g);
  if (cove_gen_finish(&g, "events") < 0)
    return -1;
  putchar('\n');
  return fflush(stdout) == 0 ? 0 : cove_error(err, errno, "events: write");
}

int cmd_events(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove events [--stats] [--interval D] ID\n"
                             "  without --stats: a stats event every interval (default 5s) and an \"oom\" event\n"
                             "  when the OOM killer strikes, until the container stops\n"
                             "  --stats        print the stats once and exit\n"
                             "  --interval D   e.g. 5s, 500ms\n";
  bool stats = false;
  const char *interval = NULL;
  const struct cli_opt opts[] = {{"stats", 0, CLI_BOOL, &stats}, {"interval", 0, CLI_STR, &interval}, {NULL, 0, 0, NULL}};
  _cleanup_free_ char **args = NULL;
  int r = cli_parse_id("events", help, opts, argc, argv, &args);
  if (r >= 0)
    return r;
  const char *id = args[0];
  uint64_t ms = 5000;
  if (interval && (cove_parse_duration_ms(interval, &ms) < 0 || ms == 0 || ms > INT32_MAX))
    return cli_usage_error("events", "--interval \"%s\": expected a duration like 5s or 500ms", interval);
  char root[4096];
  if (cli_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  struct cove_state st0;
  if (cove_container_state(root, id, &st0, &err) < 0)
    return cli_fail(&err);
  bool stopped = st0.status == COVE_STOPPED;
  cove_state_release(&st0);
  if (stopped) { /* as runc: no stats of what no longer runs */
    cove_error(&err, 0, "events: container \"%s\" is not running", id);
    return cli_fail(&err);
  }
  struct cove_container_stats s;
  if (cove_container_stats(root, id, &s, &err) < 0)
    return cli_fail(&err);
  if (stats)
    return print_event(id, &s, &err) < 0 ? cli_fail(&err) : 0;
  uint64_t ooms = s.mem_oom_kill;
  for (;;) {
    struct cove_state st;
    if (cove_container_state(root, id, &st, &err) < 0)
      return 0; /* deleted: the stream ends */
    cove_state_release(&st);
    if (cove_container_stats(root, id, &s, &err) < 0)
      return 0;
    if (s.mem_oom_kill > ooms) {
      if (print_event(id, NULL, &err) < 0)
        return cli_fail(&err);
      ooms = s.mem_oom_kill;
    }
    if (print_event(id, &s, &err) < 0)
      return cli_fail(&err);
    if (st.status == COVE_STOPPED)
      return 0;
    poll(NULL, 0, (int)ms);
  }
}

/* ---------------------------------------------------------------- ps */

static int ps_json(const pid_t *pids, size_t n)
{
  cove_err err = {0};
  struct cove_gen gen;
  if (cove_gen_init_line(&gen, stdout, &err) < 0)
    return cli_fail(&err);
  cove_gen_array_open(&gen);
  for (size_t i = 0; i < n; i++)
    cove_gen_int(&gen, pids[i]);
  cove_gen_array_close(&gen);
  if (cove_gen_finish(&gen, "ps") < 0)
    return cli_fail(&err);
  putchar('\n');
  return 0;
}

/* ps(1) with the caller's arguments (runc: -ef by default), its output on
 * the returned pipe end; -1 when it cannot be started. */
static int ps_spawn(char **ps_args, int n_ps, pid_t *child)
{
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return -1;
  fflush(stdout);
  *child = fork();
  if (*child < 0)
    return -1;
  if (*child == 0) {
    dup2(pfd[1], STDOUT_FILENO);
    char *args[64] = {"ps"};
    int a = 1;
    if (n_ps > 0)
      for (int i = 0; i < n_ps && a < 62; i++)
        args[a++] = ps_args[i];
    else
      args[a++] = "-ef";
    args[a] = NULL;
    execvp("ps", args);
    _exit(127);
  }
  close(pfd[1]);
  return pfd[0];
}

/* The value of column `col` of a ps line (0 when absent); false when
 * out of memory. */
static bool ps_line_pid(const char *line, int col, long *v)
{
  _cleanup_free_ char *dup = strdup(line);
  if (!dup)
    return false;
  char *save, *tok = strtok_r(dup, " \t\n", &save);
  for (int c = 0; tok && c < col; c++)
    tok = strtok_r(NULL, " \t\n", &save);
  *v = tok ? strtol(tok, NULL, 10) : 0;
  return true;
}

/* The header, then only the lines whose PID column is one of `pids`;
 * returns that column (-1: ps printed none). */
static int ps_filter(FILE *f, const pid_t *pids, size_t n)
{
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  int pidcol = -1, ln = 0;
  while (f && getline(&line, &cap, f) > 0) {
    if (ln++ == 0) {
      fputs(line, stdout);
      char *save, *tok = strtok_r(line, " \t\n", &save);
      for (int col = 0; tok; col++, tok = strtok_r(NULL, " \t\n", &save))
        if (!strcmp(tok, "PID"))
          pidcol = col;
      continue;
    }
    long v;
    if (!ps_line_pid(line, pidcol, &v))
      break;
    for (size_t i = 0; i < n; i++)
      if (pids[i] == (pid_t)v) {
        fputs(line, stdout);
        break;
      }
  }
  return pidcol;
}

int cmd_ps(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove ps [--format table|json] ID [PS_ARGS...]\n"
                             "  json: an array of the container's host pids; table: ps -ef (or PS_ARGS) output\n"
                             "  restricted to them. Everything after the ID goes to ps(1).\n"
                             "  -f, --format F   table (default) or json\n";
  const char *format = "table";
  const struct cli_opt opts[] = {{"format", 'f', CLI_STR, &format}, {NULL, 0, 0, NULL}};
  /* runc: everything after the id goes to ps(1) */
  const struct cli_cmd cmd = {"ps", help, opts, 1, -1, 1};
  _cleanup_free_ char **args = NULL;
  int nargs, r = cli_parse(&cmd, argc, argv, &args, &nargs);
  if (r != CLI_OK)
    return cli_done(r);
  char **ps_args = args + 1;
  int n_ps = nargs - 1;
  if (n_ps > 0 && !strcmp(ps_args[0], "--"))
    ps_args++, n_ps--;
  bool json = !strcmp(format, "json");
  if (!json && strcmp(format, "table"))
    return cli_usage_error("ps", "--format \"%s\": expected table or json", format);
  char root[4096];
  if (cli_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  _cleanup_free_ pid_t *pids = NULL;
  size_t n;
  if (cove_container_pids(root, args[0], &pids, &n, &err) < 0)
    return cli_fail(&err);
  if (json)
    return ps_json(pids, n);
  pid_t child;
  int fd = ps_spawn(ps_args, n_ps, &child);
  if (fd < 0)
    return 1;
  FILE *f = fdopen(fd, "r");
  int pidcol = ps_filter(f, pids, n);
  if (f)
    fclose(f);
  int st;
  waitpid(child, &st, 0);
  if (pidcol < 0) {
    cove_log(COVE_LOG_ERROR, "ps: no PID column in ps output");
    return 1;
  }
  return 0;
}
