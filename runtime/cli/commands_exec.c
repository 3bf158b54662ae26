/* cove exec: runc's options. Options go before the ID; after it they are
 * still options until the command starts (first word without a dash, or
 * after "--"), so `cove exec ID sh -c x` passes -c to sh. */
#include "commands.h"

#include "cove/exec.h"
#include "cove/log.h"
#include "cove/state.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char exec_help[] =
  "Usage: cove exec [options] ID [COMMAND [ARG...]]\n"
  "  run a new process inside a running container (its namespaces, cgroups,\n"
  "  seccomp filter); exits with the process's status unless --detach\n"
  "  -p, --process FILE        process JSON (config.json's \"process\" schema)\n"
  "  -t, --tty                 allocate a pseudo-terminal\n"
  "      --console-socket P    send the pty master to the unix socket P\n"
  "  -d, --detach              return once the process runs\n"
  "      --pid-file FILE       write the process's pid to FILE\n"
  "      --cwd DIR             working directory inside the container\n"
  "  -e, --env KEY=VALUE       set an environment variable (repeatable)\n"
  "  -u, --user UID[:GID]      numeric user (and group)\n"
  "  -g, --additional-gids G   supplementary group (repeatable)\n"
  "  -c, --cap CAP_NAME        add a capability (repeatable)\n"
  "      --no-new-privs        set no_new_privs\n"
  "      --preserve-fds N      pass N extra fds (3..3+N-1)\n"
  "      --process-label L     SELinux label\n"
  "      --apparmor P          AppArmor profile\n";

static int exec_usage(const char *msg)
{
  cove_log(COVE_LOG_ERROR, "exec: %s", msg);
  fputs(exec_help, stderr);
  return 2;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
  char *end;
  if (!*s || *s == '-')
    return -1;
  unsigned long v = strtoul(s, &end, 10);
  if (*end || v > max)
    return -1;
  *out = v;
  return 0;
}

int cmd_exec(struct cove_global *g, int argc, char **argv)
{
  enum { O_CONSOLE = 256, O_PID, O_CWD, O_NNP, O_PRESERVE, O_LABEL, O_AA, O_CGROUP };
  static const struct option opts[] = {
    {"process", required_argument, NULL, 'p'},      {"tty", no_argument, NULL, 't'},
    {"console-socket", required_argument, NULL, O_CONSOLE}, {"detach", no_argument, NULL, 'd'},
    {"pid-file", required_argument, NULL, O_PID},   {"cwd", required_argument, NULL, O_CWD},
    {"env", required_argument, NULL, 'e'},          {"user", required_argument, NULL, 'u'},
    {"additional-gids", required_argument, NULL, 'g'}, {"cap", required_argument, NULL, 'c'},
    {"no-new-privs", no_argument, NULL, O_NNP},     {"preserve-fds", required_argument, NULL, O_PRESERVE},
    {"process-label", required_argument, NULL, O_LABEL}, {"apparmor", required_argument, NULL, O_AA},
    {"cgroup", required_argument, NULL, O_CGROUP},  {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  struct cove_exec_opts o = {0};
  char **env = calloc((size_t)argc, sizeof *env), **caps = calloc((size_t)argc, sizeof *caps);
  gid_t *gids = calloc((size_t)argc, sizeof *gids);
  int rc = 2;
  if (!env || !caps || !gids) {
    rc = 1;
    goto out;
  }
  o.env = env;
  o.caps = caps;
  o.additional_gids = gids;
  optind = 1;
  opterr = 0;
  for (;;) {
    int c = getopt_long_only(argc, argv, "+p:tde:u:g:c:h", opts, NULL);
    if (c == -1) {
      if (optind >= argc)
        break;
      if (!o.id) {
        o.id = argv[optind++];
        if (optind < argc && argv[optind][0] == '-' && argv[optind][1] && strcmp(argv[optind], "--") != 0)
          continue; /* options after the ID */
      }
      if (optind < argc && !strcmp(argv[optind], "--"))
        optind++;
      o.args = argv + optind;
      o.n_args = (size_t)(argc - optind);
      break;
    }
    unsigned long v;
    switch (c) {
    case 'p': o.process_file = optarg; break;
    case 't': o.tty = true; break;
    case 'd': o.detach = true; break;
    case O_CONSOLE: o.console_socket = optarg; break;
    case O_PID: o.pid_file = optarg; break;
    case O_CWD: o.cwd = optarg; break;
    case 'e': env[o.n_env++] = optarg; break;
    case 'c': caps[o.n_caps++] = optarg; break;
    case O_NNP: o.no_new_privs = true; break;
    case O_LABEL: o.process_label = optarg; break;
    case O_AA: o.apparmor = optarg; break;
    case O_CGROUP: cove_debug("exec: --cgroup %s ignored: the process joins the container's cgroups", optarg); break;
    case 'g':
      if (parse_uint(optarg, 0xfffffffeUL, &v) < 0) {
        rc = exec_usage("--additional-gids: expected a numeric gid");
        goto out;
      }
      gids[o.n_additional_gids++] = (gid_t)v;
      break;
    case 'u': {
      char *colon = strchr(optarg, ':');
      if (colon)
        *colon = 0;
      if (parse_uint(optarg, 0xfffffffeUL, &v) < 0) {
        rc = exec_usage("--user: expected UID[:GID] (numeric)");
        goto out;
      }
      o.has_user = true;
      o.uid = (uid_t)v;
      if (colon) {
        if (parse_uint(colon + 1, 0xfffffffeUL, &v) < 0) {
          rc = exec_usage("--user: expected UID[:GID] (numeric)");
          goto out;
        }
        o.has_gid = true;
        o.gid = (gid_t)v;
      }
      break;
    }
    case O_PRESERVE:
      if (parse_uint(optarg, 4096, &v) < 0) {
        rc = exec_usage("--preserve-fds: expected a count");
        goto out;
      }
      o.preserve_fds = (int)v;
      break;
    case 'h':
      fputs(exec_help, stdout);
      rc = 0;
      goto out;
    default: {
      char msg[300];
      snprintf(msg, sizeof msg, "option %s: unknown, or missing its value", argv[optind - 1]);
      rc = exec_usage(msg);
      goto out;
    }
    }
  }
  if (!o.id) {
    rc = exec_usage("a container ID is required");
    goto out;
  }
  char root[4096];
  cove_err err = {0};
  if (cove_state_root(g->root_opt, root, sizeof root, &err) < 0) {
    rc = cli_fail(&err);
    goto out;
  }
  o.root = root;
  int status = 0;
  rc = cove_container_exec(&o, &status, &err) < 0 ? cli_fail(&err) : status;
out:
  free(env);
  free(caps);
  free(gids);
  return rc;
}
