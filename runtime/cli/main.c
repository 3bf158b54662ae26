/* `cove`: runc's command line over the runtime library. Global options
 * come before the command; command options may appear anywhere after it,
 * as --opt=val, --opt val or -opt (urfave/cli style, which containerd's
 * shim and conmon rely on). One parser for all of it: opts.c. */
#include "cove/cleanup.h"
#include "cove/container.h"
#include "cove/defaults.h"
#include "cove/error.h"
#include "cove/log.h"
#include "cove/state.h"

#include "commands.h"
#include "opts.h"

#include <errno.h>
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
  "  --systemd-cgroup    the container's cgroup is a systemd scope (cgroupsPath slice:prefix:name)\n"
  "  --cgroup-manager M  cgroupfs (default), systemd, or disabled: no cgroups, limits NOT enforced\n"
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
  const char *log_path = NULL, *log_format = "text", *cg_manager = NULL, *ignored = NULL;
  bool version = false;
  const struct cli_opt opts[] = {
    {"root", 0, CLI_STR, &g.root_opt},
    {"log", 0, CLI_STR, &log_path},
    {"log-format", 0, CLI_STR, &log_format},
    {"debug", 0, CLI_BOOL, &g.debug},
    {"systemd-cgroup", 0, CLI_BOOL, &g.systemd_cgroup},
    {"cgroup-manager", 0, CLI_STR, &cg_manager},
    {"rootless", 0, CLI_STR, &ignored},
    {"criu", 0, CLI_STR, &ignored},
    {"version", 'v', CLI_BOOL, &version},
    {NULL, 0, 0, NULL},
  };
  /* Global options come before the command; the rest is the command's. */
  const struct cli_cmd cmd = {"", usage, opts, 0, -1, 1};
  _cleanup_free_ char **args = NULL; /* every early return frees it */
  int nargs, r = cli_parse(&cmd, argc, argv, &args, &nargs);
  if (r != CLI_OK)
    return cli_done(r);
  if (version) {
    printf("cove version %s\nspec: 1.3.0\n", COVE_VERSION);
    return 0;
  }
  if (cg_manager) {
    if (!strcmp(cg_manager, "disabled"))
      g.cgroup_manager = 1; /* COVE_CG_MANAGER_DISABLED */
    else if (!strcmp(cg_manager, "cgroupfs"))
      g.cgroup_manager = 0;
    else if (!strcmp(cg_manager, "systemd"))
      g.systemd_cgroup = true; /* cgroup_systemd.c */
    else
      return cli_usage_error("", "--cgroup-manager \"%s\": unknown manager (cgroupfs, systemd or disabled)", cg_manager);
  }
  bool json = strcmp(log_format, "json") == 0;
  if (!json && strcmp(log_format, "text") != 0)
    return cli_usage_error("", "--log-format \"%s\": unknown format (text or json)", log_format);
  if (cove_log_init(log_path, json, g.debug) < 0) {
    fprintf(stderr, "cove: --log %s: %s\n", log_path, strerror(errno));
    return 1;
  }
  if (nargs == 0) {
    /* runc: the help, successfully */
    fputs(usage, stdout);
    return 0;
  }
  const char *name = args[0];
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(commands[i].name, name) == 0) {
      /* The command sees argv[0] = its own name, then its arguments. */
      return commands[i].fn(&g, nargs, args);
    }
  cove_log(COVE_LOG_ERROR, "unknown command \"%s\" (see cove --help)", name);
  return CLI_EXIT_USAGE;
}
