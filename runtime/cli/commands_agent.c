/* `cove agent ...`: argument parsing over the orchestrator (shims/agent). */
#include "commands.h"

#include "../../shims/agent/agent.h"

#include <fcntl.h>
#include <getopt.h>
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

static int agent_run_cmd(int argc, char **argv)
{
  enum { O_GROUP = 256, O_POLICY, O_WS, O_TIMEOUT, O_JSON, O_STDOUT, O_STDERR, O_SHOW, O_HELP, O_RESULT, O_RESULT_FD };
  static const struct option opts[] = {
    {"group", required_argument, NULL, O_GROUP},     {"policy", required_argument, NULL, O_POLICY},
    {"workspace", required_argument, NULL, O_WS},    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"json", no_argument, NULL, O_JSON},             {"stdout", required_argument, NULL, O_STDOUT},
    {"stderr", required_argument, NULL, O_STDERR},   {"show-audit", no_argument, NULL, O_SHOW},
    {"help", no_argument, NULL, O_HELP},             {"result", required_argument, NULL, O_RESULT},
    {"result-fd", required_argument, NULL, O_RESULT_FD}, {NULL, 0, NULL, 0},
  };
  struct agent_run_opts o = {0};
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    switch (c) {
    case O_GROUP: o.group = optarg; break;
    case O_POLICY: o.policy_file = optarg; break;
    case O_WS: o.workspace = optarg; break;
    case O_TIMEOUT: o.timeout = optarg; break;
    case O_JSON: o.json = true; break;
    case O_STDOUT: o.stdout_path = optarg; break;
    case O_STDERR: o.stderr_path = optarg; break;
    case O_SHOW: o.echo_audit = true; break;
    case O_RESULT: o.result_path = optarg; break;
    case O_RESULT_FD: {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*end || end == optarg || v < 0 || v > 65535 || fcntl((int)v, F_GETFD) < 0) {
        fprintf(stderr, "cove: agent run: --result-fd \"%s\": not an open file descriptor\n", optarg);
        return 2;
      }
      o.result_fd = (int)v;
      o.has_result_fd = true;
      break;
    }
    case 'h':
    case O_HELP: fputs(agent_help, stdout); return 0;
    default:
      fprintf(stderr, "cove: agent run: option %s: unknown, or missing its value\n%s", argv[optind - 1], agent_help);
      return 2;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "cove: agent run: no command given\n%s", agent_help);
    return 2;
  }
  o.argv = argv + optind;
  int st = 1;
  agent_run(&o, &st);
  return st;
}

static int agent_gc_cmd(int argc, char **argv)
{
  (void)argv;
  if (argc > 1) {
    fprintf(stderr, "cove: agent gc: takes no arguments\n");
    return 2;
  }
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
  enum { O_PAR = 256, O_JUNIT, O_OUT, O_HELP };
  static const struct option opts[] = {
    {"parallel", required_argument, NULL, O_PAR}, {"junit", required_argument, NULL, O_JUNIT},
    {"output", required_argument, NULL, O_OUT},   {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
  };
  struct agent_batch_opts o = {.parallel = 1};
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_PAR: {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*end || v < 1 || v > 1024) {
        fprintf(stderr, "cove: agent batch: --parallel \"%s\": expected 1..1024\n", optarg);
        return 2;
      }
      o.parallel = (unsigned)v;
      break;
    }
    case O_JUNIT: o.junit = optarg; break;
    case O_OUT: o.output_dir = optarg; break;
    case 'h':
    case O_HELP: fputs(agent_help, stdout); return 0;
    default:
      fprintf(stderr, "cove: agent batch: option %s: unknown, or missing its value\n", argv[optind - 1]);
      return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "cove: agent batch: exactly one TASKS.jsonl file expected\n%s", agent_help);
    return 2;
  }
  o.tasks_file = argv[optind];
  int st = 1;
  agent_batch(&o, &st);
  return st;
}

int cmd_agent(struct cove_global *g, int argc, char **argv)
{
  (void)g;
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    fputs(agent_help, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "run"))
    return agent_run_cmd(argc - 1, argv + 1);
  if (!strcmp(argv[1], "gc"))
    return agent_gc_cmd(argc - 1, argv + 1);
  if (!strcmp(argv[1], "batch"))
    return agent_batch_cmd(argc - 1, argv + 1);
  fprintf(stderr, "cove: agent: unknown command \"%s\"\n%s", argv[1], agent_help);
  return 2;
}
