#include "commands.h"
#include "opts.h"

#include "cove/jsongen.h"

#include "cove/agent_profile.h"
#include "cove/cleanup.h"
#include "cove/container.h"
#include "cove/defaults.h"
#include "cove/log.h"
#include "cove/state.h"

#include <errno.h>
#include <pwd.h>
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

int cli_root(const struct cove_global *g, char *root, size_t cap)
{
  cove_err err = {0};
  return cove_state_root(g->root_opt, root, cap, &err) < 0 ? cli_fail(&err) : 0;
}

int cli_parse_id(const char *name, const char *help, const struct cli_opt *opts, int argc, char **argv, char ***args)
{
  const struct cli_opt none[] = {{NULL, 0, 0, NULL}};
  const struct cli_cmd cmd = {name, help, opts ? opts : none, 1, 1, 0};
  int n, r = cli_parse(&cmd, argc, argv, args, &n);
  return r == CLI_OK ? -1 : cli_done(r);
}

int cli_id_op(struct cove_global *g, const char *name, const char *help, int argc, char **argv,
              int (*op)(const char *root, const char *id, cove_err *err))
{
  _cleanup_free_ char **args = NULL;
  char root[4096];
  int r = cli_parse_id(name, help, NULL, argc, argv, &args);
  if (r >= 0)
    return r;
  if (cli_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  return op(root, args[0], &err) < 0 ? cli_fail(&err) : 0;
}

static const char create_help[] =
  "Usage: cove create [options] ID\n"
  "  create a container: set up, the process waits for `cove start`\n"
  "  -b, --bundle DIR        bundle directory (default: current directory)\n"
  "      --pid-file FILE     write the init's pid to FILE\n"
  "      --console-socket P  send the pty master to the unix socket P\n"
  "      --no-pivot          chroot instead of pivot_root (unsafe; for ramfs roots)\n"
  "      --no-new-keyring    keep the caller's session keyring\n"
  "      --preserve-fds N    pass N extra fds (3..3+N-1) to the container\n";
static const char run_help[] =
  "Usage: cove run [options] ID\n"
  "  create + start, then wait; exits with the container's status\n"
  "  (128+N when killed by signal N) and deletes it.\n"
  "  -b, --bundle DIR        bundle directory (default: current directory)\n"
  "  -d, --detach            return once the process runs\n"
  "      --pid-file FILE     write the init's pid to FILE\n"
  "      --console-socket P  send the pty master to the unix socket P\n"
  "      --no-pivot          chroot instead of pivot_root (unsafe; for ramfs roots)\n"
  "      --no-new-keyring    keep the caller's session keyring\n"
  "      --preserve-fds N    pass N extra fds (3..3+N-1) to the container\n"
  "      --keep, --no-subreaper   accepted for compatibility (ignored)\n";

/* create and run share every option but run's own three. */
static int parse_create(int argc, char **argv, struct cove_create_opts *o, bool *detach)
{
  const char *preserve = NULL;
  bool ignored = false;
  struct cli_opt opts[] = {
    {"bundle", 'b', CLI_STR, &o->bundle},
    {"pid-file", 0, CLI_STR, &o->pid_file},
    {"console-socket", 0, CLI_STR, &o->console_socket},
    {"no-pivot", 0, CLI_BOOL, &o->no_pivot},
    {"no-new-keyring", 0, CLI_BOOL, &o->no_new_keyring},
    {"preserve-fds", 0, CLI_STR, &preserve},
    {detach ? "detach" : NULL, 'd', CLI_BOOL, detach},
    {"keep", 0, CLI_BOOL, &ignored},
    {"no-subreaper", 0, CLI_BOOL, &ignored},
    {NULL, 0, 0, NULL},
  };
  const struct cli_cmd cmd = {detach ? "run" : "create", detach ? run_help : create_help, opts, 1, 1, 0};
  _cleanup_free_ char **args = NULL;
  int n, r = cli_parse(&cmd, argc, argv, &args, &n);
  if (r != CLI_OK)
    return cli_done(r) + 1000; /* told apart from a status by the caller */
  if (preserve) {
    char *end;
    long v = strtol(preserve, &end, 10);
    if (!*preserve || *end || v < 0 || v > 4096)
      return cli_usage_error(cmd.name, "--preserve-fds \"%s\": expected a count (0..4096)", preserve) + 1000;
    o->preserve_fds = (int)v;
  }
  o->id = args[0];
  return 0;
}

/* run is create + start + wait; detach is NULL for create. */
static int create_or_run(struct cove_global *g, int argc, char **argv, bool *detach)
{
  struct cove_create_opts o = {0};
  int r = parse_create(argc, argv, &o, detach);
  if (r)
    return r - 1000;
  char root[4096];
  if (cli_root(g, root, sizeof root))
    return 1;
  o.root = root;
  o.cgroup_manager = g->cgroup_manager;
  o.systemd_cgroup = g->systemd_cgroup;
  cove_err err = {0};
  int status = 0;
  if ((detach ? cove_container_run(&o, *detach, &status, &err) : cove_container_create(&o, &err)) < 0)
    return cli_fail(&err);
  return status;
}

int cmd_create(struct cove_global *g, int argc, char **argv) { return create_or_run(g, argc, argv, NULL); }

int cmd_run(struct cove_global *g, int argc, char **argv)
{
  bool detach = false;
  return create_or_run(g, argc, argv, &detach);
}

int cmd_start(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove start ID\n  run the user process of a created container\n";
  return cli_id_op(g, "start", help, argc, argv, cove_container_start);
}

int cmd_state(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove state ID\n  print the container's state as JSON\n";
  _cleanup_free_ char **args = NULL;
  int r = cli_parse_id("state", help, NULL, argc, argv, &args);
  if (r >= 0)
    return r;
  char root[4096];
  if (cli_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  struct cove_state st;
  if (cove_container_state(root, args[0], &st, &err) < 0)
    return cli_fail(&err);
  r = cove_state_print(STDOUT_FILENO, &st, &err);
  cove_state_release(&st);
  return r < 0 ? cli_fail(&err) : 0;
}

static int parse_signal(const char *s)
{
  char *end;
  long n = strtol(s, &end, 10);
  if (!*end)
    return n >= 0 && n < NSIG ? (int)n : -1; /* 0: is it alive (runc accepts it) */
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
  bool all = false;
  const struct cli_opt opts[] = {{"all", 'a', CLI_BOOL, &all}, {NULL, 0, 0, NULL}};
  const struct cli_cmd cmd = {"kill", help, opts, 1, 2, 0};
  _cleanup_free_ char **args = NULL;
  int n, r = cli_parse(&cmd, argc, argv, &args, &n);
  if (r != CLI_OK)
    return cli_done(r);
  int sig = n == 2 ? parse_signal(args[1]) : SIGTERM;
  if (sig < 0)
    return cli_usage_error("kill", "unknown signal \"%s\"", args[1]);
  char root[4096];
  if (cli_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  if (cove_container_kill(root, args[0], sig, all, &err) < 0) {
    /* runc: --all on a stopped container signals nobody, successfully
     * (containerd's shim sends it while cleaning up) */
    if (all && err.code == ESRCH)
      return 0;
    return cli_fail(&err);
  }
  return 0;
}

int cmd_delete(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove delete [--force] ID\n  -f, --force   kill the container first if it runs\n";
  bool force = false;
  const struct cli_opt opts[] = {{"force", 'f', CLI_BOOL, &force}, {NULL, 0, 0, NULL}};
  _cleanup_free_ char **args = NULL;
  int r = cli_parse_id("delete", help, opts, argc, argv, &args);
  if (r >= 0)
    return r;
  char root[4096];
  if (cli_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  if (cove_container_delete(root, args[0], force, &err) < 0) {
    /* runc/containerd convention: deleting what is already gone with
     * --force succeeds */
    if (force && err.code == ENOENT)
      return 0;
    return cli_fail(&err);
  }
  return 0;
}

struct list_ctx {
  int format; /* 0 table, 1 json, 2 quiet */
  const char *owner;
  struct cove_gen gen;
};

static int list_cb(const struct cove_state *st, void *data)
{
  struct list_ctx *l = data;
  int pid = st->status == COVE_STOPPED ? 0 : (int)st->pid;
  if (l->format == 2) {
    printf("%s\n", st->id);
  } else if (l->format == 1) {
    /* runc's list entry: its state plus rootless and owner */
    struct cove_gen *g = &l->gen;
    cove_gen_map_open(g);
    cove_gen_kv_str(g, "ociVersion", st->oci_version);
    cove_gen_kv_str(g, "id", st->id);
    cove_gen_kv_int(g, "pid", pid);
    cove_gen_kv_str(g, "status", cove_status_name(st->status));
    cove_gen_kv_str(g, "bundle", st->bundle);
    cove_gen_kv_str(g, "created", st->created);
    /* runc: the name of the state's owner; a root holds its caller's */
    cove_gen_kv_str(g, "owner", l->owner);
    cove_gen_map_close(g);
  } else {
    printf("%-24s %-8d %-10s %-40s %s\n", st->id, pid, cove_status_name(st->status), st->bundle, st->created);
  }
  return 0;
}

int cmd_list(struct cove_global *g, int argc, char **argv)
{
  static const char help[] = "Usage: cove list [--format table|json] [-q]\n"
                             "  -f, --format F   table (default) or json\n"
                             "  -q, --quiet      print only the container IDs\n";
  const char *format = "table";
  bool quiet = false;
  const struct cli_opt opts[] = {{"format", 'f', CLI_STR, &format}, {"quiet", 'q', CLI_BOOL, &quiet}, {NULL, 0, 0, NULL}};
  const struct cli_cmd cmd = {"list", help, opts, 0, 0, 0};
  _cleanup_free_ char **args = NULL;
  int n, r = cli_parse(&cmd, argc, argv, &args, &n);
  if (r != CLI_OK)
    return cli_done(r);
  struct list_ctx l = {0};
  const struct passwd *pw = getpwuid(geteuid());
  char owner[256];
  if (pw && pw->pw_name)
    snprintf(owner, sizeof owner, "%s", pw->pw_name);
  else
    snprintf(owner, sizeof owner, "%u", (unsigned)geteuid());
  l.owner = owner;
  if (!strcmp(format, "json"))
    l.format = 1;
  else if (strcmp(format, "table"))
    return cli_usage_error("list", "--format \"%s\": expected table or json", format);
  if (quiet)
    l.format = 2;
  char root[4096];
  if (cli_root(g, root, sizeof root))
    return 1;
  cove_err err = {0};
  if (l.format == 1) {
    if (cove_gen_init_line(&l.gen, stdout, &err) < 0)
      return cli_fail(&err);
    cove_gen_array_open(&l.gen);
  } else if (l.format == 0) {
    printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
  }
  r = cove_container_list(root, list_cb, &l, &err);
  if (l.format == 1) {
    cove_gen_array_close(&l.gen);
    int w = cove_gen_finish(&l.gen, "list");
    putchar('\n');
    if (r == 0 && w < 0)
      r = -1;
  }
  return r < 0 ? cli_fail(&err) : 0;
}

int cmd_spec(struct cove_global *g, int argc, char **argv)
{
  (void)g;
  static const char help[] =
    "Usage: cove spec [--rootless] [--agent] [--bundle DIR]\n"
    "  write a default config.json into DIR\n"
    "  -b, --bundle DIR  where to write config.json (default: current directory)\n"
    "      --rootless    for an unprivileged user: user namespace mapping the caller\n"
    "      --agent       agent profile: seccomp allowlist (policy/agent-seccomp.json), reduced capabilities\n";
  bool rootless = false, agent = false;
  const char *bundle = ".";
  const struct cli_opt opts[] = {{"rootless", 0, CLI_BOOL, &rootless},
                                 {"agent", 0, CLI_BOOL, &agent},
                                 {"bundle", 'b', CLI_STR, &bundle},
                                 {NULL, 0, 0, NULL}};
  const struct cli_cmd cmd = {"spec", help, opts, 0, 0, 0};
  _cleanup_free_ char **args = NULL;
  int n, r = cli_parse(&cmd, argc, argv, &args, &n);
  if (r != CLI_OK)
    return cli_done(r);
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
  r = agent ? cove_spec_default_write_agent(f, rootless, &err) : cove_spec_default_write(f, rootless, &err);
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
  static const char help[] = "Usage: cove features\n  print the features this runtime supports as JSON\n";
  const struct cli_opt none[] = {{NULL, 0, 0, NULL}};
  const struct cli_cmd cmd = {"features", help, none, 0, 0, 0};
  _cleanup_free_ char **args = NULL;
  int n, r = cli_parse(&cmd, argc, argv, &args, &n);
  if (r != CLI_OK)
    return cli_done(r);
  cove_err err = {0};
  if (cove_features_write(stdout, &err) < 0)
    return cli_fail(&err);
  return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_unsupported(struct cove_global *g, int argc, char **argv)
{
  (void)g;
  (void)argc;
  cove_log(COVE_LOG_ERROR, "%s: not supported", argv[0]);
  return 1;
}
