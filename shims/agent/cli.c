/* `cove agent ...`: the orchestrator's command-line front end. It lives
 * with the orchestrator so that runtime/ never includes shims/: the `cove`
 * executable links runtime/cli (which dispatches "agent" to cmd_agent) with
 * this file and the orchestrator library; docs/architecture.md "Layers". */
#include "agent.h"

#include "commands.h" /* runtime/cli: struct cove_global, cli_fail */
#include "opts.h"     /* runtime/cli: the shared option parser */

#include "cove/cleanup.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char agent_help[] =
  "Usage: cove agent COMMAND ...\n"
  "  run [options] -- COMMAND [ARG...]   run COMMAND in a fresh policy-checked sandbox\n"
  "      --group NAME        state group (default \"default\"): its dir is mounted at /group\n"
  "      --policy FILE       policy JSON (default: built-in, see docs/agent.md)\n"
  "      --workspace DIR     mounted at /workspace (default: current directory)\n"
  "      --timeout DUR       wall-clock limit (30m, 90s, 500ms; default from the policy: 30m)\n"
  "      --json              print a result record (JSON) on stdout at the end\n"
  "      --stdout FILE, --stderr FILE   send the agent's output there (new files only)\n"
  "      --result FILE, --result-fd N   write the result record there instead of stdout\n"
  "      --show-audit        also print the audit lines on stderr\n"
  "  gc                                   remove what crashed runs left behind\n"
  "  batch TASKS.jsonl [--parallel N] [--junit FILE] [--output DIR]\n"
  "                                       run tasks (one JSON object per line), N at once\n"
  "Exit status of run: the command's (128+N if killed by signal N), 124 on timeout,\n"
  "1 when the sandbox could not be made (policy refused, limits not enforceable).\n";

/* The agent keeps 2 for usage errors (it is not part of runc's contract,
 * and its 1 means "the sandbox could not be made"). */
enum { AGENT_EXIT_USAGE = 2 };
static int agent_done(int r)
{
  return r == CLI_HELP ? 0 : AGENT_EXIT_USAGE;
}

static int agent_run_cmd(int argc, char **argv)
{
  struct agent_run_opts o = {0};
  const char *result_fd = NULL;
  const struct cli_opt opts[] = {
    {"group", 0, CLI_STR, &o.group},           {"policy", 0, CLI_STR, &o.policy_file},
    {"workspace", 0, CLI_STR, &o.workspace},   {"timeout", 0, CLI_STR, &o.timeout},
    {"json", 0, CLI_BOOL, &o.json},            {"stdout", 0, CLI_STR, &o.stdout_path},
    {"stderr", 0, CLI_STR, &o.stderr_path},    {"show-audit", 0, CLI_BOOL, &o.echo_audit},
    {"result", 0, CLI_STR, &o.result_path},    {"result-fd", 0, CLI_STR, &result_fd},
    {NULL, 0, 0, NULL},
  };
  /* From the command's first word on, everything is the command's. */
  const struct cli_cmd cmd = {"agent run", agent_help, opts, 1, -1, 1};
  _cleanup_free_ char **args = NULL;
  int n, r = cli_parse(&cmd, argc, argv, &args, &n);
  if (r != CLI_OK)
    return agent_done(r);
  if (result_fd) {
    char *end;
    long v = strtol(result_fd, &end, 10);
    if (!*result_fd || *end || v < 0 || v > 65535 || fcntl((int)v, F_GETFD) < 0)
      return cli_usage_error("agent run", "--result-fd \"%s\": not an open file descriptor", result_fd),
             AGENT_EXIT_USAGE;
    o.result_fd = (int)v;
    o.has_result_fd = true;
  }
  o.argv = args;
  int st = 1;
  agent_run(&o, &st);
  return st;
}

static int agent_gc_cmd(int argc, char **argv)
{
  const struct cli_opt none[] = {{NULL, 0, 0, NULL}};
  const struct cli_cmd cmd = {"agent gc", agent_help, none, 0, 0, 0};
  _cleanup_free_ char **args = NULL;
  int n, r = cli_parse(&cmd, argc, argv, &args, &n);
  if (r != CLI_OK)
    return agent_done(r);
  struct agent_paths p;
  cove_err err = {0};
  unsigned removed = 0;
  if (agent_paths_init(&p, &err) < 0 || agent_gc(&p, true, &removed, &err) < 0)
    return cli_fail(&err);
  printf("%u leftover run%s removed\n", removed, removed == 1 ? "" : "s");
  return 0;
}

static int agent_batch_cmd(int argc, char **argv)
{
  struct agent_batch_opts o = {.parallel = 1};
  const char *parallel = NULL;
  const struct cli_opt opts[] = {
    {"parallel", 0, CLI_STR, &parallel},
    {"junit", 0, CLI_STR, &o.junit},
    {"output", 0, CLI_STR, &o.output_dir},
    {NULL, 0, 0, NULL},
  };
  const struct cli_cmd cmd = {"agent batch", agent_help, opts, 1, 1, 0};
  _cleanup_free_ char **args = NULL;
  int n, r = cli_parse(&cmd, argc, argv, &args, &n);
  if (r != CLI_OK)
    return agent_done(r);
  if (parallel) {
    char *end;
    long v = strtol(parallel, &end, 10);
    if (!*parallel || *end || v < 1 || v > 1024)
      return cli_usage_error("agent batch", "--parallel \"%s\": expected 1..1024", parallel), AGENT_EXIT_USAGE;
    o.parallel = (unsigned)v;
  }
  o.tasks_file = args[0];
  int st = 1;
  agent_batch(&o, &st);
  return st;
}

int cmd_agent(struct cove_global *g, int argc, char **argv)
{
  /* The global --root holds the agent's run directories (and the
   * container state in them); --log/--log-format were applied by main. */
  if (g->root_opt)
    agent_paths_set_runbase(g->root_opt);
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    fputs(agent_help, argc < 2 ? stderr : stdout);
    return argc < 2 ? AGENT_EXIT_USAGE : 0;
  }
  if (!strcmp(argv[1], "run"))
    return agent_run_cmd(argc - 1, argv + 1);
  if (!strcmp(argv[1], "gc"))
    return agent_gc_cmd(argc - 1, argv + 1);
  if (!strcmp(argv[1], "batch"))
    return agent_batch_cmd(argc - 1, argv + 1);
  return cli_usage_error("agent", "unknown command \"%s\"", argv[1]), AGENT_EXIT_USAGE;
}
