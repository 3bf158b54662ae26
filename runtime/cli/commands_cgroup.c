/* pause, resume, update, events, ps: runc's cgroup commands. */
#include "commands.h"

#include "cove/cgroup.h"
#include "cove/container.h"
#include "cove/cleanup.h"
#include "cove/json.h"
#include "cove/log.h"
#include "cove/state.h"
#include "cove/units.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

static int uerr(const char *cmd, const char *msg, const char *help)
{
  cove_log(COVE_LOG_ERROR, "%s: %s", cmd, msg);
  fputs(help, stderr);
  return 2;
}

static int opt_err(int argc, char **argv, const char *help)
{
  char msg[300];
  const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
  snprintf(msg, sizeof msg, "option %s: unknown, or missing its value", arg);
  return uerr(argv[0], msg, help);
}

static int root_of(struct cove_global *g, char *root, size_t cap)
{
  cove_err err = {0};
  return cove_state_root(g->root_opt, root, cap, &err) < 0 ? cli_fail(&err) : 0;
}

/* Parse options (permuting: they may follow the id); exactly one id. */
typedef int (*opt_fn)(int c, const char *arg, void *data, const char *cmd, const char *help);
static int parse(int argc, char **argv, const char *help, const struct option *extra, const char *shortopts, opt_fn fn,
                 void *data, const char **id)
{
  struct option opts[24];
  size_t n = 0;
  for (; extra && extra[n].name && n < 22; n++)
    opts[n] = extra[n];
  opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
  opts[n] = (struct option){NULL, 0, NULL, 0};
  char so[64];
  snprintf(so, sizeof so, "h%s", shortopts ? shortopts : "");
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long_only(argc, argv, so, opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(help, stdout);
      return 1;
    }
    if (c == '?' || c == ':')
      return opt_err(argc, argv, help);
    int r = fn(c, optarg, data, argv[0], help);
    if (r)
      return r;
  }
  if (optind != argc - 1)
    return uerr(argv[0], optind >= argc ? "a container ID is required" : "too many arguments", help);
  *id = argv[optind];
  return 0;
}

static int no_opts(int c, const char *arg, void *data, const char *cmd, const char *help)
{
  (void)c, (void)arg, (void)data, (void)cmd, (void)help;
  return 0;
}

int cmd_pause(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove pause ID\n  freeze every process of the container (cgroup freezer)\n";
  const char *id;
  int r = parse(argc, argv, help, NULL, NULL, no_opts, NULL, &id);
  if (r)
    return r == 1 ? 0 : r;
  char root[4096];
  if (root_of(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  return cove_container_pause(root, id, &err) < 0 ? cli_fail(&err) : 0;
}

int cmd_resume(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove resume ID\n  thaw a paused container\n";
  const char *id;
  int r = parse(argc, argv, help, NULL, NULL, no_opts, NULL, &id);
  if (r)
    return r == 1 ? 0 : r;
  char root[4096];
  if (root_of(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  return cove_container_resume(root, id, &err) < 0 ? cli_fail(&err) : 0;
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

struct upd {
  const char *resources;
  const char *mem, *swap, *resv, *shares, *quota, *period, *rt_period, *rt_runtime, *cpus, *mems, *pids, *blkio;
};

enum { U_RES = 'r', U_MEM = 'm', U_SWAP = 300, U_RESV, U_SHARES, U_QUOTA, U_PERIOD, U_RTP, U_RTR, U_CPUS, U_MEMS, U_PIDS,
       U_BLKIO, U_KMEM, U_L3 };

static int upd_opt(int c, const char *arg, void *data, const char *cmd, const char *help)
{
  struct upd *u = data;
  switch (c) {
  case U_RES: u->resources = arg; break;
  case U_MEM: u->mem = arg; break;
  case U_SWAP: u->swap = arg; break;
  case U_RESV: u->resv = arg; break;
  case U_SHARES: u->shares = arg; break;
  case U_QUOTA: u->quota = arg; break;
  case U_PERIOD: u->period = arg; break;
  case U_RTP: u->rt_period = arg; break;
  case U_RTR: u->rt_runtime = arg; break;
  case U_CPUS: u->cpus = arg; break;
  case U_MEMS: u->mems = arg; break;
  case U_PIDS: u->pids = arg; break;
  case U_BLKIO: u->blkio = arg; break;
  case U_KMEM:
  case U_L3: return uerr(cmd, "--kernel-memory, --kernel-memory-tcp and --l3-cache-schema are not supported", help);
  default: return uerr(cmd, "unknown option", help);
  }
  return 0;
}

static int num_arg(FILE *f, bool *first, const char *key, const char *flag, const char *v, bool bytes)
{
  int64_t x;
  char *end;
  if (bytes) {
    if (ram_bytes(v, &x) < 0) {
      cove_log(COVE_LOG_ERROR, "update: %s \"%s\": expected a size in bytes (suffix k, m, g allowed) or -1", flag, v);
      return -1;
    }
  } else {
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
      cove_log(COVE_LOG_ERROR, "update: %s \"%s\": expected an integer", flag, v);
      return -1;
    }
  }
  fprintf(f, "%s\"%s\":%" PRId64, *first ? "" : ",", key, x);
  *first = false;
  return 0;
}

static char *read_all(const char *path, cove_err *err)
{
  int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
  if (fd < 0) {
    cove_error(err, errno, "--resources %s", path);
    return NULL;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf)
      break;
    if (len + 1 >= cap) {
      char *nb = len > (1 << 24) ? NULL : realloc(buf, cap *= 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
    }
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  if (fd != STDIN_FILENO)
    close(fd);
  if (!buf)
    cove_error(err, ENOMEM, "--resources %s", path);
  else
    buf[len] = 0;
  return buf;
}

int cmd_update(struct cove_global *g, int argc, char **argv)
{
  static const char help[] =
    "Usage: cove update [options] ID\n"
    "  -r, --resources FILE        LinuxResources JSON (\"-\" = stdin); other options are then ignored\n"
    "      --memory BYTES          memory limit (k, m, g suffixes; -1 = unlimited)\n"
    "      --memory-swap BYTES     memory + swap limit\n"
    "      --memory-reservation B  soft limit\n"
    "      --cpu-shares N          relative CPU weight (2..262144)\n"
    "      --cpu-quota US          CPU time per period (-1 = none)\n"
    "      --cpu-period US         CFS period\n"
    "      --cpu-rt-period US, --cpu-rt-runtime US   realtime (cgroup v1 only)\n"
    "      --cpuset-cpus LIST      CPUs allowed (0-3,7)\n"
    "      --cpuset-mems LIST      memory nodes allowed\n"
    "      --pids-limit N          maximum number of tasks (-1 = unlimited)\n"
    "      --blkio-weight N        block I/O weight (10..1000)\n";
  static const struct option extra[] = {
    {"resources", required_argument, NULL, U_RES},     {"memory", required_argument, NULL, U_MEM},
    {"memory-swap", required_argument, NULL, U_SWAP},  {"memory-reservation", required_argument, NULL, U_RESV},
    {"cpu-shares", required_argument, NULL, U_SHARES}, {"cpu-quota", required_argument, NULL, U_QUOTA},
    {"cpu-period", required_argument, NULL, U_PERIOD}, {"cpu-rt-period", required_argument, NULL, U_RTP},
    {"cpu-rt-runtime", required_argument, NULL, U_RTR}, {"cpuset-cpus", required_argument, NULL, U_CPUS},
    {"cpuset-mems", required_argument, NULL, U_MEMS},  {"pids-limit", required_argument, NULL, U_PIDS},
    {"blkio-weight", required_argument, NULL, U_BLKIO}, {"kernel-memory", required_argument, NULL, U_KMEM},
    {"kernel-memory-tcp", required_argument, NULL, U_KMEM}, {"l3-cache-schema", required_argument, NULL, U_L3},
    {NULL, 0, NULL, 0},
  };
  struct upd u = {0};
  const char *id;
  int r = parse(argc, argv, help, extra, "r:m:", upd_opt, &u, &id);
  if (r)
    return r == 1 ? 0 : r;
  cove_err err = {0};
  _cleanup_free_ char *json = NULL;
  const char *what = "resources";
  if (u.resources) {
    if (!(json = read_all(u.resources, &err)))
      return cli_fail(&err);
    what = u.resources;
  } else {
    /* Flags become a LinuxResources document, validated like config.json */
    size_t len = 0;
    FILE *f = open_memstream(&json, &len);
    if (!f)
      return 1;
    bool first = true, ok = true;
    fputc('{', f);
    if (u.mem || u.swap || u.resv) {
      fputs("\"memory\":{", f);
      bool fm = true;
      ok = ok && (!u.mem || num_arg(f, &fm, "limit", "--memory", u.mem, true) == 0);
      ok = ok && (!u.swap || num_arg(f, &fm, "swap", "--memory-swap", u.swap, true) == 0);
      ok = ok && (!u.resv || num_arg(f, &fm, "reservation", "--memory-reservation", u.resv, true) == 0);
      fputc('}', f);
      first = false;
    }
    if (u.shares || u.quota || u.period || u.rt_period || u.rt_runtime || u.cpus || u.mems) {
      fprintf(f, "%s\"cpu\":{", first ? "" : ",");
      bool fc = true;
      ok = ok && (!u.shares || num_arg(f, &fc, "shares", "--cpu-shares", u.shares, false) == 0);
      ok = ok && (!u.quota || num_arg(f, &fc, "quota", "--cpu-quota", u.quota, false) == 0);
      ok = ok && (!u.period || num_arg(f, &fc, "period", "--cpu-period", u.period, false) == 0);
      ok = ok && (!u.rt_period || num_arg(f, &fc, "realtimePeriod", "--cpu-rt-period", u.rt_period, false) == 0);
      ok = ok && (!u.rt_runtime || num_arg(f, &fc, "realtimeRuntime", "--cpu-rt-runtime", u.rt_runtime, false) == 0);
      if (u.cpus) {
        fprintf(f, "%s\"cpus\":", fc ? "" : ",");
        cove_json_write_string(f, u.cpus);
        fc = false;
      }
      if (u.mems) {
        fprintf(f, "%s\"mems\":", fc ? "" : ",");
        cove_json_write_string(f, u.mems);
      }
      fputc('}', f);
      first = false;
    }
    if (u.pids) {
      fprintf(f, "%s\"pids\":{", first ? "" : ",");
      bool fp = true;
      ok = ok && num_arg(f, &fp, "limit", "--pids-limit", u.pids, false) == 0;
      fputc('}', f);
      first = false;
    }
    if (u.blkio) {
      fprintf(f, "%s\"blockIO\":{", first ? "" : ",");
      bool fb = true;
      ok = ok && num_arg(f, &fb, "weight", "--blkio-weight", u.blkio, false) == 0;
      fputc('}', f);
      first = false;
    }
    fputc('}', f);
    fclose(f);
    if (!ok)
      return 1;
    if (first)
      return uerr(argv[0], "nothing to update (give --resources or a limit option)", help);
  }
  char ebuf[256] = "";
  yajl_val tree = yajl_tree_parse(json, ebuf, sizeof ebuf);
  if (!tree) {
    char *nl = strchr(ebuf, '\n');
    if (nl)
      *nl = 0;
    cove_log(COVE_LOG_ERROR, "update: %s: not valid JSON: %s", what, ebuf);
    return 1;
  }
  struct cove_resources res;
  r = cove_resources_parse(tree, "linux.resources", &res, &err);
  char root[4096];
  if (r == 0 && root_of(g, root, sizeof root))
    r = -2;
  if (r == 0)
    r = cove_container_update(root, id, &res, &err);
  cove_resources_free(&res);
  yajl_tree_free(tree);
  if (r == -2)
    return 1;
  return r < 0 ? cli_fail(&err) : 0;
}

/* ------------------------------------------------------------ events */

static void print_stats(const char *id, const struct cove_container_stats *s)
{
  printf("{\"type\":\"stats\",\"id\":");
  cove_json_write_string(stdout, id);
  printf(",\"data\":{");
  bool first = true;
  if (s->has_cpu) {
    printf("\"cpu\":{\"usage\":{\"total\":%" PRIu64 ",\"kernel\":%" PRIu64 ",\"user\":%" PRIu64 "},"
           "\"throttling\":{\"periods\":%" PRIu64 ",\"throttledPeriods\":%" PRIu64 ",\"throttledTime\":%" PRIu64 "}}",
           s->cpu_usage_usec * 1000, s->cpu_system_usec * 1000, s->cpu_user_usec * 1000, s->cpu_nr_periods,
           s->cpu_nr_throttled, s->cpu_throttled_usec * 1000);
    first = false;
  }
  if (s->has_memory) {
    printf("%s\"memory\":{\"usage\":{\"limit\":%" PRIu64 ",\"usage\":%" PRIu64 ",\"max\":%" PRIu64 ",\"failcnt\":%" PRIu64
           "},\"swap\":{\"usage\":%" PRIu64 "},\"raw\":{\"oom\":%" PRIu64 ",\"oom_kill\":%" PRIu64 "}}",
           first ? "" : ",", s->mem_limit == UINT64_MAX ? (uint64_t)INT64_MAX : s->mem_limit, s->mem_usage, s->mem_peak,
           s->mem_failcnt, s->swap_usage, s->mem_oom, s->mem_oom_kill);
    first = false;
  }
  if (s->has_pids)
    printf("%s\"pids\":{\"current\":%" PRIu64 ",\"limit\":%" PRIu64 "}", first ? "" : ",", s->pids_current,
           s->pids_limit);
  printf("}}\n");
  fflush(stdout);
}

/* Go-style duration: 5s, 100ms, 1m, 1.5s, or plain seconds. */
struct ev {
  bool stats;
  const char *interval;
};

static int ev_opt(int c, const char *arg, void *data, const char *cmd, const char *help)
{
  (void)cmd, (void)help;
  struct ev *e = data;
  if (c == 's')
    e->stats = true;
  else if (c == 'i')
    e->interval = arg;
  return 0;
}

int cmd_events(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove events [--stats] [--interval D] ID\n"
                             "  without --stats: a stats event every interval (default 5s) and an \"oom\" event\n"
                             "  when the OOM killer strikes, until the container stops\n"
                             "  --stats        print the stats once and exit\n"
                             "  --interval D   e.g. 5s, 500ms\n";
  static const struct option extra[] = {{"stats", no_argument, NULL, 's'}, {"interval", required_argument, NULL, 'i'},
                                        {NULL, 0, NULL, 0}};
  struct ev e = {0};
  const char *id;
  int r = parse(argc, argv, help, extra, NULL, ev_opt, &e, &id);
  if (r)
    return r == 1 ? 0 : r;
  uint64_t ms = 5000;
  if (e.interval && (cove_parse_duration_ms(e.interval, &ms) < 0 || ms == 0 || ms > INT32_MAX))
    return uerr(argv[0], "--interval: expected a duration like 5s or 500ms", help);
  char root[4096];
  if (root_of(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  struct cove_container_stats s;
  if (cove_container_stats(root, id, &s, &err) < 0)
    return cli_fail(&err);
  if (e.stats) {
    print_stats(id, &s);
    return 0;
  }
  uint64_t ooms = s.mem_oom_kill;
  for (;;) {
    struct cove_state st;
    if (cove_container_state(root, id, &st, &err) < 0)
      return 0; /* deleted: the stream ends */
    cove_state_release(&st);
    if (cove_container_stats(root, id, &s, &err) < 0)
      return 0;
    if (s.mem_oom_kill > ooms) {
      printf("{\"type\":\"oom\",\"id\":");
      cove_json_write_string(stdout, id);
      printf("}\n");
      ooms = s.mem_oom_kill;
    }
    print_stats(id, &s);
    if (st.status == COVE_STOPPED)
      return 0;
    poll(NULL, 0, (int)ms);
  }
}

/* ---------------------------------------------------------------- ps */

struct psopt {
  const char *format;
};

static int ps_opt(int c, const char *arg, void *data, const char *cmd, const char *help)
{
  (void)cmd, (void)help;
  if (c == 'f')
    ((struct psopt *)data)->format = arg;
  return 0;
}

int cmd_ps(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove ps [--format table|json] ID [-- PS_ARGS...]\n"
                             "  json: an array of the container's host pids; table: ps -ef (or PS_ARGS) output\n"
                             "  restricted to them\n";
  static const struct option extra[] = {{"format", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  struct psopt p = {"table"};
  /* runc: everything after "--" (or after the id) goes to ps(1) */
  int own = argc;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--")) {
      own = i;
      break;
    }
  const char *id;
  int r = parse(own, argv, help, extra, "f:", ps_opt, &p, &id);
  if (r)
    return r == 1 ? 0 : r;
  bool json = !strcmp(p.format, "json");
  if (!json && strcmp(p.format, "table"))
    return uerr(argv[0], "--format: expected table or json", help);
  char root[4096];
  if (root_of(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  pid_t *pids;
  size_t n;
  if (cove_container_pids(root, id, &pids, &n, &err) < 0)
    return cli_fail(&err);
  _cleanup_free_ pid_t *owned = pids;
  (void)owned; /* freed on return; pids aliases it */
  if (json) {
    printf("[");
    for (size_t i = 0; i < n; i++)
      printf("%s%d", i ? "," : "", (int)pids[i]);
    printf("]\n");
    return 0;
  }
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return 1;
  fflush(stdout);
  pid_t child = fork();
  if (child < 0)
    return 1;
  if (child == 0) {
    dup2(pfd[1], STDOUT_FILENO);
    char *args[64] = {"ps"};
    int a = 1;
    if (own + 1 < argc)
      for (int i = own + 1; i < argc && a < 62; i++)
        args[a++] = argv[i];
    else
      args[a++] = "-ef";
    args[a] = NULL;
    execvp("ps", args);
    _exit(127);
  }
  close(pfd[1]);
  FILE *f = fdopen(pfd[0], "r");
  char *line = NULL;
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
    char copy[64];
    char *save, *tok;
    char *dup = strdup(line);
    if (!dup)
      break;
    tok = strtok_r(dup, " \t\n", &save);
    for (int col = 0; tok && col < pidcol; col++)
      tok = strtok_r(NULL, " \t\n", &save);
    snprintf(copy, sizeof copy, "%s", tok ? tok : "");
    free(dup);
    long v = strtol(copy, NULL, 10);
    for (size_t i = 0; i < n; i++)
      if (pids[i] == (pid_t)v) {
        fputs(line, stdout);
        break;
      }
  }
  free(line);
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
