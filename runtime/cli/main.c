/* `cove`: runc's command line over the runtime library. Global options
 * come before the command; command options may appear anywhere after it,
 * as --opt=val, --opt val or -opt (urfave/cli style, which containerd's
 * shim and conmon rely on). */
#include "cove/container.h"
#include "cove/defaults.h"
#include "cove/error.h"
#include "cove/log.h"
#include "cove/state.h"

#include "commands.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
  "Usage: cove [global options] COMMAND [options] [ID]\n"
  "\n"
  "cove is an OCI runtime (runtime-spec 1.3) with runc's command line.\n"
  "\n"
  "Commands:\n"
  "  create    create a container (setup done, process waiting before exec)\n"
  "  start     run the user process of a created container\n"
  "  run       create + start, wait and exit with the container's status\n"
  "  state     print the state of a container as JSON\n"
  "  kill      send a signal to a container's init (or all its processes)\n"
  "  delete    delete a stopped container (--force: kill it first)\n"
  "  exec      run a new process inside a running container\n"
  "  list      list containers\n"
  "  spec      write a default config.json\n"
  "  features  print the features this runtime supports as JSON\n"
  "  pause     freeze every process of a container\n"
  "  resume    thaw a paused container\n"
  "  update    change the resource limits of a container\n"
  "  events    resource usage stats (and OOM events) of a container\n"
  "  ps        list the processes of a container\n"
  "  agent     run an AI agent in a policy-checked sandbox (cove agent --help)\n"
  "\n"
  "Global options:\n"
  "  --root DIR          state directory (default /run/cove as root,\n"
  "                      $XDG_RUNTIME_DIR/cove or /tmp/cove-$UID otherwise)\n"
  "  --log FILE          write log messages to FILE\n"
  "  --log-format FMT    text (default) or json\n"
  "  --debug             verbose logging\n"
  "  --systemd-cgroup    accepted for compatibility (ignored): cove manages cgroupfs itself\n"
  "  --cgroup-manager M  cgroupfs (default) or disabled: no cgroups, limits NOT enforced\n"
  "  --rootless VALUE    accepted for compatibility (rootless mode is detected)\n"
  "  -v, --version       print the version\n"
  "  -h, --help          this help; `cove COMMAND --help` for a command\n";

static const struct cove_command commands[] = {
  {"create", cmd_create}, {"start", cmd_start},     {"run", cmd_run},     {"state", cmd_state},
  {"kill", cmd_kill},     {"delete", cmd_delete},   {"list", cmd_list},   {"spec", cmd_spec},
  {"features", cmd_features}, {"ps", cmd_ps}, {"exec", cmd_exec}, {"pause", cmd_pause},
  {"resume", cmd_resume}, {"update", cmd_update}, {"events", cmd_events},
  {"checkpoint", cmd_unsupported}, {"restore", cmd_unsupported},
  {"agent", cmd_agent},
};

int main(int argc, char **argv)
{
  struct cove_global g = {0};
  const char *log_path = NULL, *log_format = "text";
  enum { O_ROOT = 256, O_LOG, O_LOGFMT, O_DEBUG, O_SYSTEMD, O_ROOTLESS, O_CRIU, O_CGMGR };
  static const struct option opts[] = {
    {"root", required_argument, NULL, O_ROOT},     {"log", required_argument, NULL, O_LOG},
    {"log-format", required_argument, NULL, O_LOGFMT}, {"debug", no_argument, NULL, O_DEBUG},
    {"systemd-cgroup", no_argument, NULL, O_SYSTEMD}, {"rootless", required_argument, NULL, O_ROOTLESS},
    {"criu", required_argument, NULL, O_CRIU},     {"version", no_argument, NULL, 'v'},
    {"cgroup-manager", required_argument, NULL, O_CGMGR},
    {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
  };
  /* "+": stop at the command name; its own options are parsed later. */
  int c;
  opterr = 0;
  while ((c = getopt_long_only(argc, argv, "+vh", opts, NULL)) != -1) {
    switch (c) {
    case O_ROOT: g.root_opt = optarg; break;
    case O_LOG: log_path = optarg; break;
    case O_LOGFMT: log_format = optarg; break;
    case O_DEBUG: g.debug = true; break;
    case O_SYSTEMD: g.systemd_cgroup = true; break;
    case O_CGMGR:
      if (!strcmp(optarg, "disabled"))
        g.cgroup_manager = 1; /* COVE_CG_MANAGER_DISABLED */
      else if (!strcmp(optarg, "cgroupfs") || !strcmp(optarg, "systemd"))
        g.cgroup_manager = 0;
      else {
        fprintf(stderr, "cove: --cgroup-manager: unknown manager \"%s\" (cgroupfs or disabled)\n", optarg);
        return 2;
      }
      break;
    case O_ROOTLESS:
    case O_CRIU: break;
    case 'v':
      printf("cove version %s\nspec: 1.3.0\n", COVE_VERSION);
      return 0;
    case 'h':
      fputs(usage, stdout);
      return 0;
    default:
      fprintf(stderr, "cove: unknown global option %s\n%s", argv[optind - 1], usage);
      return 2;
    }
  }
  bool json = strcmp(log_format, "json") == 0;
  if (!json && strcmp(log_format, "text") != 0) {
    fprintf(stderr, "cove: --log-format: unknown format \"%s\" (text or json)\n", log_format);
    return 2;
  }
  if (cove_log_init(log_path, json, g.debug) < 0) {
    fprintf(stderr, "cove: --log %s: %s\n", log_path, strerror(errno));
    return 1;
  }
  if (g.systemd_cgroup)
    cove_debug("--systemd-cgroup: ignored, cove manages its cgroups through cgroupfs");
  if (optind >= argc) {
    fputs(usage, stderr);
    return 2;
  }
  const char *name = argv[optind];
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(commands[i].name, name) == 0) {
      /* The command sees argv[0] = its own name, then its arguments. */
      optind++;
      return commands[i].fn(&g, argc - optind + 1, argv + optind - 1);
    }
  cove_log(COVE_LOG_ERROR, "unknown command \"%s\" (see cove --help)", name);
  return 2;
}
