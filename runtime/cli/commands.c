#include "commands.h"

#include "cove/agent_profile.h"
#include "cove/container.h"
#include "cove/defaults.h"
#include "cove/log.h"
#include "cove/state.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_fail(const cove_err *err)
{
  cove_log(COVE_LOG_ERROR, "%s", err->msg);
  return 1;
}

static int usage_error(const char *cmd, const char *msg, const char *help)
{
  cove_log(COVE_LOG_ERROR, "%s: %s", cmd, msg);
  fprintf(stderr, "%s", help);
  return 2;
}

/* getopt's '?' without its own message (opterr is 0): name what was
 * wrong, the way a user typed it. */
static int option_error(int argc, char **argv, const char *help)
{
  char msg[512];
  const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
  if (optopt && optopt < 256 && arg[0] == '-' && arg[1] != '-')
    snprintf(msg, sizeof msg, "option -%c: unknown, or missing its value", optopt);
  else
    snprintf(msg, sizeof msg, "option %s: unknown, or missing its value", arg);
  return usage_error(argv[0], msg, help);
}

/* Exactly one positional argument, the container id. */
static const char *one_id(const char *cmd, int argc, char **argv, const char *help)
{
  if (optind != argc - 1) {
    usage_error(cmd, optind >= argc ? "a container ID is required" : "too many arguments", help);
    return NULL;
  }
  return argv[optind];
}

static int resolve_root(struct cove_global *g, char *root, size_t cap)
{
  cove_err err = {0};
  if (cove_state_root(g->root_opt, root, cap, &err) < 0)
    return cli_fail(&err);
  return 0;
}

static const char create_help[] =
  "Usage: cove create [options] ID\n"
  "  -b, --bundle DIR        bundle directory (default: current directory)\n"
  "      --pid-file FILE     write the init's pid to FILE\n"
  "      --console-socket P  send the pty master to the unix socket P\n"
  "      --no-pivot          chroot instead of pivot_root (unsafe; for ramfs roots)\n"
  "      --no-new-keyring    keep the caller's session keyring\n"
  "      --preserve-fds N    pass N extra fds (3..3+N-1) to the container\n";
static const char run_help[] =
  "Usage: cove run [options] ID\n"
  "  create + start, then wait; exits with the container's status.\n"
  "  -d, --detach            return once the process runs\n"
  "  (and every option of create)\n";

static int parse_create(int argc, char **argv, struct cove_create_opts *o, bool *detach, const char *help)
{
  enum { O_PID = 256, O_CONSOLE, O_NOPIVOT, O_NOKEY, O_PRESERVE, O_KEEP, O_NOSUB };
  static const struct option opts[] = {
    {"bundle", required_argument, NULL, 'b'},      {"pid-file", required_argument, NULL, O_PID},
    {"console-socket", required_argument, NULL, O_CONSOLE}, {"no-pivot", no_argument, NULL, O_NOPIVOT},
    {"no-new-keyring", no_argument, NULL, O_NOKEY}, {"preserve-fds", required_argument, NULL, O_PRESERVE},
    {"detach", no_argument, NULL, 'd'},            {"keep", no_argument, NULL, O_KEEP},
    {"no-subreaper", no_argument, NULL, O_NOSUB},  {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only(argc, argv, "b:dh", opts, NULL)) != -1) {
    switch (c) {
    case 'b': o->bundle = optarg; break;
    case O_PID: o->pid_file = optarg; break;
    case O_CONSOLE: o->console_socket = optarg; break;
    case O_NOPIVOT: o->no_pivot = true; break;
    case O_NOKEY: o->no_new_keyring = true; break;
    case O_PRESERVE: {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end || n < 0 || n > 4096)
        return usage_error(argv[0], "--preserve-fds: expected a count", help);
      o->preserve_fds = (int)n;
      break;
    }
    case 'd':
      if (!detach)
        return usage_error(argv[0], "unknown option --detach", help);
      *detach = true;
      break;
    case O_KEEP:
    case O_NOSUB: break;
    case 'h': fputs(help, stdout); return 1;
    default: return option_error(argc, argv, help);
    }
  }
  if (!(o->id = one_id(argv[0], argc, argv, help)))
    return 2;
  return 0;
}

int cmd_create(struct cove_global *g, int argc, char **argv)
{
  struct cove_create_opts o = {0};
  int r = parse_create(argc, argv, &o, NULL, create_help);
  if (r)
    return r == 1 ? 0 : r;
  char root[4096];
  if (resolve_root(g, root, sizeof root))
    return 1;
  o.root = root;
  o.cgroup_manager = g->cgroup_manager;
  cove_err err = {0};
  if (cove_container_create(&o, &err) < 0)
    return cli_fail(&err);
  return 0;
}

int cmd_run(struct cove_global *g, int argc, char **argv)
{
  struct cove_create_opts o = {0};
  bool detach = false;
  int r = parse_create(argc, argv, &o, &detach, run_help);
  if (r)
    return r == 1 ? 0 : r;
  char root[4096];
  if (resolve_root(g, root, sizeof root))
    return 1;
  o.root = root;
  o.cgroup_manager = g->cgroup_manager;
  cove_err err = {0};
  int status = 0;
  if (cove_container_run(&o, detach, &status, &err) < 0)
    return cli_fail(&err);
  return status;
}

/* Commands that take only an id and maybe flags without values. */
static int simple_opts(int argc, char **argv, const char *help, const struct option *extra, int *flags)
{
  struct option opts[8];
  size_t n = 0;
  for (; extra && extra[n].name; n++)
    opts[n] = extra[n];
  opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
  opts[n] = (struct option){NULL, 0, NULL, 0};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only(argc, argv, "+hfaq", opts, NULL)) != -1 || optind < argc) {
    if (c == -1) {
      /* GNU style: options may follow the id */
      optind++;
      continue;
    }
    if (c == 'h') {
      fputs(help, stdout);
      return 1;
    }
    if (c == '?' || c == ':')
      return option_error(argc, argv, help);
    *flags |= c;
  }
  return 0;
}

/* getopt with "+" stops at the first positional; collect it separately so
 * `kill ID 9 --all`, `delete ID --force` work. */
static int split_positionals(int argc, char **argv, char **pos, int max)
{
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-' && argv[i][1] && !(argv[i][1] >= '0' && argv[i][1] <= '9'))
      continue;
    if (n < max)
      pos[n] = argv[i];
    n++;
  }
  return n;
}

int cmd_start(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove start ID\n  run the user process of a created container\n";
  int fl = 0;
  if (simple_opts(argc, argv, help, NULL, &fl))
    return fl == 0 && argc > 1 ? 2 : 0;
  char *pos[1];
  if (split_positionals(argc, argv, pos, 1) != 1)
    return usage_error(argv[0], "exactly one container ID is required", help);
  char root[4096];
  if (resolve_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  if (cove_container_start(root, pos[0], &err) < 0)
    return cli_fail(&err);
  return 0;
}

int cmd_state(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove state ID\n  print the container's state as JSON\n";
  int fl = 0;
  if (simple_opts(argc, argv, help, NULL, &fl))
    return 0;
  char *pos[1];
  if (split_positionals(argc, argv, pos, 1) != 1)
    return usage_error(argv[0], "exactly one container ID is required", help);
  char root[4096];
  if (resolve_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  struct cove_state st;
  if (cove_container_state(root, pos[0], &st, &err) < 0)
    return cli_fail(&err);
  int r = cove_state_print(STDOUT_FILENO, &st, &err);
  cove_state_release(&st);
  return r < 0 ? cli_fail(&err) : 0;
}

static int parse_signal(const char *s)
{
  char *end;
  long n = strtol(s, &end, 10);
  if (!*end)
    return n > 0 && n < NSIG ? (int)n : -1;
  if (!strncasecmp(s, "SIG", 3))
    s += 3;
  for (int i = 1; i < NSIG; i++) {
    const char *abbrev = sigabbrev_np(i);
    if (abbrev && !strcasecmp(abbrev, s))
      return i;
  }
  if (!strncasecmp(s, "RTMIN+", 6) || !strncasecmp(s, "RTMAX-", 6)) {
    long k = strtol(s + 6, &end, 10);
    int sig = s[3] == 'I' || s[3] == 'i' ? SIGRTMIN + (int)k : SIGRTMAX - (int)k;
    return !*end && sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
  }
  return -1;
}

int cmd_kill(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove kill [--all] ID [SIGNAL]\n"
                             "  SIGNAL: a name with or without SIG (TERM, SIGKILL) or a number; default SIGTERM\n"
                             "  -a, --all   signal every process of the container\n";
  static const struct option extra[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
  int fl = 0;
  if (simple_opts(argc, argv, help, extra, &fl))
    return 0;
  char *pos[2];
  int n = split_positionals(argc, argv, pos, 2);
  if (n < 1 || n > 2)
    return usage_error(argv[0], "usage: kill ID [SIGNAL]", help);
  int sig = n == 2 ? parse_signal(pos[1]) : SIGTERM;
  if (sig < 0) {
    cove_log(COVE_LOG_ERROR, "kill: unknown signal \"%s\"", pos[1]);
    return 1;
  }
  char root[4096];
  if (resolve_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  if (cove_container_kill(root, pos[0], sig, fl & 'a', &err) < 0)
    return cli_fail(&err);
  return 0;
}

int cmd_delete(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove delete [--force] ID\n  -f, --force   kill the container first if it runs\n";
  static const struct option extra[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  int fl = 0;
  if (simple_opts(argc, argv, help, extra, &fl))
    return 0;
  char *pos[1];
  if (split_positionals(argc, argv, pos, 1) != 1)
    return usage_error(argv[0], "exactly one container ID is required", help);
  char root[4096];
  if (resolve_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  if (cove_container_delete(root, pos[0], fl & 'f', &err) < 0) {
    /* runc/containerd convention: deleting what is already gone with
     * --force succeeds */
    if ((fl & 'f') && err.code == ENOENT)
      return 0;
    return cli_fail(&err);
  }
  return 0;
}

struct list_ctx {
  int format; /* 0 table, 1 json, 2 quiet */
  int n;
};

static int list_cb(const struct cove_state *st, void *data)
{
  struct list_ctx *l = data;
  if (l->format == 2) {
    printf("%s\n", st->id);
  } else if (l->format == 1) {
    printf("%s{\"ociVersion\":\"%s\",\"id\":\"%s\",\"pid\":%d,\"status\":\"%s\",\"bundle\":\"%s\",\"created\":\"%s\"}",
           l->n ? "," : "", st->oci_version, st->id, st->status == COVE_STOPPED ? 0 : (int)st->pid,
           cove_status_name(st->status), st->bundle, st->created);
  } else {
    printf("%-24s %-8d %-10s %-40s %s\n", st->id, st->status == COVE_STOPPED ? 0 : (int)st->pid,
           cove_status_name(st->status), st->bundle, st->created);
  }
  l->n++;
  return 0;
}

int cmd_list(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove list [--format table|json] [-q]\n";
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'},
                                       {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
  struct list_ctx l = {0};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only(argc, argv, "f:qh", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(help, stdout);
      return 0;
    } else if (c == 'q') {
      l.format = 2;
    } else if (c == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "table"))) {
      if (l.format != 2)
        l.format = !strcmp(optarg, "json");
    } else if (c == 'f') {
      char msg[300];
      snprintf(msg, sizeof msg, "--format \"%.200s\": expected table or json", optarg);
      return usage_error(argv[0], msg, help);
    } else {
      return option_error(argc, argv, help);
    }
  }
  char root[4096];
  if (resolve_root(g, root, sizeof root))
    return 1;
  if (l.format == 1)
    printf("[");
  else if (l.format == 0)
    printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
  cove_err err = {0};
  int r = cove_container_list(root, list_cb, &l, &err);
  if (l.format == 1)
    printf("]\n");
  return r < 0 ? cli_fail(&err) : 0;
}

int cmd_spec(struct cove_global *g, int argc, char **argv)
{
  (void)g;
  static const char help[] = "Usage: cove spec [--rootless] [--agent] [--bundle DIR]\n  write a default config.json into DIR\n  --agent  agent profile: seccomp allowlist (policy/agent-seccomp.json), reduced capabilities\n";
  static const struct option opts[] = {{"rootless", no_argument, NULL, 'r'}, {"agent", no_argument, NULL, 'a'}, {"bundle", required_argument, NULL, 'b'},
                                       {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0}};
  bool rootless = false, agent = false;
  const char *bundle = ".";
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only(argc, argv, "b:h", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(help, stdout);
      return 0;
    } else if (c == 'r') {
      rootless = true;
    } else if (c == 'a') {
      agent = true;
    } else if (c == 'b') {
      bundle = optarg;
    } else {
      return option_error(argc, argv, help);
    }
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/config.json", bundle);
  if (access(path, F_OK) == 0) {
    cove_log(COVE_LOG_ERROR, "spec: %s already exists; remove it first", path);
    return 1;
  }
  FILE *f = fopen(path, "wx");
  if (!f) {
    cove_log(COVE_LOG_ERROR, "spec: %s: %s", path, strerror(errno));
    return 1;
  }
  cove_err err = {0};
  int r = agent ? cove_spec_default_write_agent(f, rootless, &err) : cove_spec_default_write(f, rootless, &err);
  if (fclose(f) != 0 && r == 0)
    r = cove_error(&err, errno, "spec: %s", path);
  if (r < 0) {
    unlink(path);
    return cli_fail(&err);
  }
  return 0;
}

int cmd_features(struct cove_global *g, int argc, char **argv)
{
  (void)g;
  (void)argc;
  (void)argv;
  cove_err err = {0};
  if (cove_features_write(stdout, &err) < 0)
    return cli_fail(&err);
  return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_unsupported(struct cove_global *g, int argc, char **argv)
{
  (void)g;
  (void)argc;
  cove_log(COVE_LOG_ERROR, "%s: not supported yet", argv[0]);
  return 1;
}
