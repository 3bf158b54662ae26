#include "opts.h"

#include "cove/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cove_log(COVE_LOG_ERROR, "%s%s%s (see cove %s%s--help)", cmd, *cmd ? ": " : "", msg, cmd, *cmd ? " " : "");
  return CLI_EXIT_USAGE;
}

/* Go's strconv.ParseBool, which urfave/cli uses for --flag=VALUE. */
static int parse_bool(const char *s, bool *out)
{
  static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True", NULL};
  static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False", NULL};
  for (size_t i = 0; yes[i]; i++)
    if (!strcmp(s, yes[i]))
      return *out = true, 0;
  for (size_t i = 0; no[i]; i++)
    if (!strcmp(s, no[i]))
      return *out = false, 0;
  return -1;
}

/* A word that is an argument although it starts with '-': "-" itself and
 * negative numbers (`kill ID -9` is not an option). */
static bool is_option(const char *a)
{
  return a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9');
}

static const struct cli_opt *lookup(const struct cli_opt *opts, const char *name, size_t len)
{
  for (const struct cli_opt *o = opts; o && o->name; o++)
    if (strlen(o->name) == len && !strncmp(o->name, name, len))
      return o;
  if (len == 1)
    for (const struct cli_opt *o = opts; o && o->name; o++)
      if (o->short_name && o->short_name == name[0])
        return o;
  return NULL;
}

static int set_value(const struct cli_cmd *c, const struct cli_opt *o, const char *arg, const char *value)
{
  switch (o->kind) {
  case CLI_BOOL:
    if (!value)
      *(bool *)o->target = true;
    else if (parse_bool(value, (bool *)o->target) < 0)
      return cli_usage_error(c->name, "option %s: \"%s\" is not a boolean (true or false)", arg, value), -1;
    return 0;
  case CLI_STR:
    *(const char **)o->target = value;
    return 0;
  case CLI_LIST: {
    struct cli_list *l = o->target;
    const char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv) {
      cove_log(COVE_LOG_ERROR, "%s: out of memory", c->name);
      return -1;
    }
    nv[l->n++] = value;
    l->v = nv;
    return 0;
  }
  }
  return -1;
}

int cli_parse(const struct cli_cmd *c, int argc, char **argv, char ***args, int *nargs)
{
  char **pos = calloc((size_t)argc + 1, sizeof *pos);
  int n = 0;
  if (!pos) {
    cove_log(COVE_LOG_ERROR, "%s: out of memory", c->name);
    return CLI_ERROR;
  }
  bool literal = false;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (literal || !is_option(a) || (c->stop_after && n >= c->stop_after)) {
      pos[n++] = a;
      if (c->stop_after && n >= c->stop_after)
        literal = true;
      continue;
    }
    if (!strcmp(a, "--")) {
      literal = true;
      continue;
    }
    const char *name = a + (a[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    if ((len == 4 && !strncmp(name, "help", 4)) || (len == 1 && name[0] == 'h' && !lookup(c->opts, "h", 1))) {
      fputs(c->help, stdout);
      free(pos);
      return CLI_HELP;
    }
    const struct cli_opt *o = lookup(c->opts, name, len);
    if (!o) {
      cli_usage_error(c->name, "unknown option %.*s", (int)(name - a + len), a);
      free(pos);
      return CLI_ERROR;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (o->kind != CLI_BOOL && !value) {
      if (i + 1 >= argc) {
        cli_usage_error(c->name, "option %s needs a value", a);
        free(pos);
        return CLI_ERROR;
      }
      value = argv[++i];
    }
    if (set_value(c, o, a, value) < 0) {
      free(pos);
      return CLI_ERROR;
    }
  }
  if (n < c->min_args || (c->max_args >= 0 && n > c->max_args)) {
    bool takes_id = strncmp(c->name, "agent", 5) != 0 && c->min_args >= 1;
    if (n == 0 && takes_id)
      cli_usage_error(c->name, "a container ID is required");
    else if (c->max_args == 0)
      cli_usage_error(c->name, "takes no arguments, got %d", n);
    else if (n < c->min_args)
      cli_usage_error(c->name, "%d argument%s required, got %d", c->min_args, c->min_args == 1 ? "" : "s", n);
    else
      cli_usage_error(c->name, "too many arguments: at most %d accepted, got %d", c->max_args, n);
    free(pos);
    return CLI_ERROR;
  }
  *args = pos;
  *nargs = n;
  return CLI_OK;
}
