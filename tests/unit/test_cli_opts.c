/* The command-line parser (runtime/cli/opts.c) on argument vectors: every
 * accepted spelling, options after positional arguments, stop_after,
 * "--", negative numbers as arguments, booleans, lists, help, and the usage
 * errors (which must name the option or say what is missing). */
#include "opts.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* The options of a typical command, reset before each parse. */
static bool detach, tty;
static const char *bundle, *pidfile;
static struct cli_list envs;
static const struct cli_opt opts[] = {
    {"detach", 'd', CLI_BOOL, &detach},   {"tty", 't', CLI_BOOL, &tty},  {"bundle", 'b', CLI_STR, &bundle},
    {"pid-file", 0, CLI_STR, &pidfile}, {"env", 'e', CLI_LIST, &envs}, {NULL, 0, 0, NULL},
};
static const struct cli_cmd run_cmd = {"run", "usage: cove run [options] ID\n", opts, 1, 1, 0};
static const struct cli_cmd exec_cmd = {"exec", "usage: cove exec [options] ID COMMAND...\n", opts, 2, -1, 2};
static const struct cli_cmd list_cmd = {"list", "usage: cove list\n", opts, 0, 0, 0};

static char **args;
static int nargs;
static char captured[4096]; /* stderr (usage errors) and stdout (help) of the last parse */

static void reset(void)
{
  detach = tty = false;
  bundle = pidfile = NULL;
  free(envs.v);
  envs = (struct cli_list){0};
  free(args);
  args = NULL;
  nargs = -1;
}

/* parse(cmd, "word", ..., NULL) with argv[0] = the command name. */
static int parse(const struct cli_cmd *c, ...)
{
  static char *argv[32];
  int argc = 0;
  argv[argc++] = (char *)c->name;
  va_list ap;
  va_start(ap, c);
  for (char *a; (a = va_arg(ap, char *));)
    argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  reset();

  /* capture what the parser prints (fd 1 for help, fd 2 for errors) */
  fflush(stdout);
  FILE *tmp = tmpfile();
  int o1 = dup(1), o2 = dup(2);
  dup2(fileno(tmp), 1);
  dup2(fileno(tmp), 2);
  int r = cli_parse(c, argc, argv, &args, &nargs);
  fflush(stdout);
  dup2(o1, 1);
  dup2(o2, 2);
  close(o1);
  close(o2);
  rewind(tmp);
  size_t n = fread(captured, 1, sizeof captured - 1, tmp);
  captured[n] = 0;
  fclose(tmp);
  return r;
}

static void usage_error(const struct cli_cmd *c, const char *want, const char *a1, const char *a2, const char *a3)
{
  int r = parse(c, a1, a2, a3, NULL);
  CHECK(r == CLI_ERROR && strstr(captured, want), "%s %s %s: %d, message lacks '%s': %s", a1 ? a1 : "",
        a2 ? a2 : "", a3 ? a3 : "", r, want, captured);
  CHECK(cli_done(r) == CLI_EXIT_USAGE, "usage errors exit %d", CLI_EXIT_USAGE);
}

int main(void)
{
  /* every spelling of a string option */
  static const char *const spellings[][2] = {{"--bundle", "/b"}, {"--bundle=/b", NULL}, {"-bundle", "/b"},
                                             {"-bundle=/b", NULL}, {"-b", "/b"},        {"-b=/b", NULL}};
  for (size_t i = 0; i < sizeof spellings / sizeof *spellings; i++) {
    int r = parse(&run_cmd, spellings[i][0], spellings[i][1] ? spellings[i][1] : "c1",
                  spellings[i][1] ? "c1" : NULL, NULL);
    CHECK(r == CLI_OK && bundle && !strcmp(bundle, "/b") && nargs == 1 && !strcmp(args[0], "c1") && !args[1],
          "spelling %s: r=%d bundle=%s nargs=%d", spellings[i][0], r, bundle ? bundle : "(null)", nargs);
  }
  /* options after the positional argument; the last value wins */
  CHECK(parse(&run_cmd, "c1", "-d", "--bundle", "/x", "--bundle=/y", NULL) == CLI_OK && detach &&
            !strcmp(bundle, "/y") && nargs == 1,
        "options after the id, last value wins");
  /* an empty value is a value */
  CHECK(parse(&run_cmd, "--pid-file=", "c1", NULL) == CLI_OK && pidfile && !*pidfile, "--pid-file= is empty");
  CHECK(parse(&run_cmd, "--pid-file", "", "c1", NULL) == CLI_OK && pidfile && !*pidfile && nargs == 1,
        "--pid-file '' is empty");
  /* a value that looks like an option is still the value */
  CHECK(parse(&run_cmd, "--bundle", "-d", "c1", NULL) == CLI_OK && !strcmp(bundle, "-d") && !detach,
        "value taken verbatim");

  /* booleans: Go's ParseBool words */
  static const char *const yes[] = {"--detach=true", "--detach=1", "--detach=t", "--detach=TRUE", "-d"};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
    CHECK(parse(&run_cmd, yes[i], "c1", NULL) == CLI_OK && detach, "%s sets detach", yes[i]);
  static const char *const no[] = {"--detach=false", "--detach=0", "--detach=F", "--detach=False"};
  for (size_t i = 0; i < sizeof no / sizeof *no; i++)
    CHECK(parse(&run_cmd, "-d", no[i], "c1", NULL) == CLI_OK && !detach, "%s clears detach", no[i]);
  usage_error(&run_cmd, "is not a boolean", "--detach=yes", "c1", NULL);
  /* a bool never takes the next word */
  CHECK(parse(&run_cmd, "-d", "c1", NULL) == CLI_OK && detach && nargs == 1 && !strcmp(args[0], "c1"),
        "bool does not eat the id");

  /* lists accumulate in order */
  CHECK(parse(&run_cmd, "-e", "A=1", "--env=B=2", "c1", "--env", "C=3", NULL) == CLI_OK && envs.n == 3 &&
            !strcmp(envs.v[0], "A=1") && !strcmp(envs.v[1], "B=2") && !strcmp(envs.v[2], "C=3"),
        "list: %zu entries", envs.n);

  /* "--" ends the options; "-" and negative numbers are arguments */
  CHECK(parse(&exec_cmd, "--", "-d", "x", NULL) == CLI_OK && !detach && nargs == 2 && !strcmp(args[0], "-d"),
        "-- ends the options");
  CHECK(parse(&exec_cmd, "c1", "-", NULL) == CLI_OK && nargs == 2 && !strcmp(args[1], "-"), "- is an argument");
  CHECK(parse(&exec_cmd, "c1", "-9", NULL) == CLI_OK && nargs == 2 && !strcmp(args[1], "-9"),
        "-9 is an argument");

  /* stop_after: everything from the command on belongs to the command */
  CHECK(parse(&exec_cmd, "-t", "c1", "sh", "-c", "--bundle", "-d", NULL) == CLI_OK && tty && !detach && !bundle &&
            nargs == 5 && !strcmp(args[1], "sh") && !strcmp(args[2], "-c") && !strcmp(args[4], "-d") && !args[5],
        "exec: options after COMMAND are its arguments (nargs %d)", nargs);
  CHECK(parse(&exec_cmd, "c1", "-t", "sh", NULL) == CLI_OK && tty && nargs == 2,
        "exec: options between ID and COMMAND are cove's");

  /* help: implicit, printed on stdout, exit 0 */
  int r = parse(&run_cmd, "c1", "--help", NULL);
  CHECK(r == CLI_HELP && cli_done(r) == 0 && strstr(captured, "usage: cove run"), "--help: %d %s", r, captured);
  CHECK(parse(&run_cmd, "-h", NULL) == CLI_HELP, "-h");
  CHECK(parse(&exec_cmd, "c1", "sh", "-h", NULL) == CLI_OK && nargs == 3, "-h after COMMAND is the command's");

  /* usage errors name the option or what is missing */
  usage_error(&run_cmd, "unknown option --nope", "--nope", "c1", NULL);
  usage_error(&run_cmd, "unknown option --nope", "--nope=3", "c1", NULL);
  usage_error(&run_cmd, "unknown option -x", "-x", "c1", NULL);
  usage_error(&run_cmd, "option --bundle needs a value", "c1", "--bundle", NULL);
  usage_error(&run_cmd, "a container ID is required", NULL, NULL, NULL);
  usage_error(&run_cmd, "too many arguments", "c1", "c2", NULL);
  usage_error(&exec_cmd, "2 arguments required, got 1", "c1", NULL, NULL);
  usage_error(&list_cmd, "takes no arguments, got 1", "x", NULL, NULL);
  usage_error(&run_cmd, "cove run --help", "--nope", "c1", NULL);

  reset();
  printf("%d checks, %d failures\n", checks, fails);
  return fails ? 1 : 0;
}
