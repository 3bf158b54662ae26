/* The one option parser of the cove command line (global options and
 * every command). Each command declares a table of options; the parser
 * accepts what urfave/cli (runc's parser) accepts and a little more:
 *   --name VALUE, --name=VALUE, -name VALUE, -name=VALUE (single-dash long
 *   form: containerd's shim and conmon use it), -x VALUE, -x=VALUE,
 *   --bool, --bool=true|false, "--" ends the options,
 * and options may come anywhere after the command (runc stops at the first
 * argument) until `stop_after` positional arguments were seen. "-h" and
 * "--help" are implicit on every command. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum cli_kind {
  CLI_BOOL, /* target: bool * */
  CLI_STR,  /* target: const char ** (the last one given wins) */
  CLI_LIST, /* target: struct cli_list * (repeatable; caller frees .v) */
};

struct cli_list {
  const char **v;
  size_t n;
};

struct cli_opt {
  const char *name; /* long name, without dashes */
  char short_name;  /* 0: none */
  enum cli_kind kind;
  void *target;
};

struct cli_cmd {
  const char *name; /* for messages: "kill", "agent run" */
  const char *help; /* printed on stdout for -h/--help */
  const struct cli_opt *opts; /* terminated by an entry with name NULL */
  int min_args, max_args;     /* positional arguments; max -1: no limit */
  /* After this many positional arguments, everything else is positional
   * too (exec's COMMAND, ps's ps(1) arguments, the global options'
   * command name). 0: options anywhere. */
  int stop_after;
};

enum { CLI_OK = 0, CLI_HELP = 1, CLI_ERROR = -1 };

/* Parses argv[1..argc-1]. On CLI_OK, args and nargs are the positional
 * arguments, in a NULL-terminated array the caller frees. CLI_HELP: the
 * help was printed. CLI_ERROR: the problem was reported (naming the
 * option); the command exits with CLI_EXIT_USAGE (see cli_done). */
int cli_parse(const struct cli_cmd *c, int argc, char **argv, char ***args, int *nargs);

/* runc exits 1 on every usage error (unknown option, wrong number of
 * arguments); so does cove. */
#define CLI_EXIT_USAGE 1

/* Report a usage error about cmd (and a hint to its --help); returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The exit status for a cli_parse result other than CLI_OK. */
static inline int cli_done(int r)
{
  return r == CLI_HELP ? 0 : CLI_EXIT_USAGE;
}
