/* cove exec: runc's options. Options go before the ID; after it they are
 * still options until the command starts (first word without a dash, or
 * after "--"), so `cove exec ID sh -c x` passes -c to sh. */
#include "commands.h"
#include "opts.h"

#include "cove/cleanup.h"

#include "cove/exec.h"
#include "cove/log.h"
#include "cove/state.h"

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
  struct cove_exec_opts o = {0};
  struct cli_list env = {0}, caps = {0}, gids = {0};
  const char *user = NULL, *preserve = NULL, *cgroup = NULL;
  const struct cli_opt opts[] = {
    {"process", 'p', CLI_STR, &o.process_file},
    {"tty", 't', CLI_BOOL, &o.tty},
    {"console-socket", 0, CLI_STR, &o.console_socket},
    {"detach", 'd', CLI_BOOL, &o.detach},
    {"pid-file", 0, CLI_STR, &o.pid_file},
    {"cwd", 0, CLI_STR, &o.cwd},
    {"env", 'e', CLI_LIST, &env},
    {"user", 'u', CLI_STR, &user},
    {"additional-gids", 'g', CLI_LIST, &gids},
    {"cap", 'c', CLI_LIST, &caps},
    {"no-new-privs", 0, CLI_BOOL, &o.no_new_privs},
    {"preserve-fds", 0, CLI_STR, &preserve},
    {"process-label", 0, CLI_STR, &o.process_label},
    {"apparmor", 0, CLI_STR, &o.apparmor},
    {"cgroup", 0, CLI_STR, &cgroup},
    {NULL, 0, 0, NULL},
  };
  /* ID, then the command: from its first word on, nothing is an option */
  const struct cli_cmd cmd = {"exec", exec_help, opts, 1, -1, 2};
  _cleanup_free_ char **args = NULL;
  _cleanup_free_ gid_t *gid_v = NULL;
  char user_buf[64];
  int nargs, rc = cli_parse(&cmd, argc, argv, &args, &nargs);
  if (rc != CLI_OK) {
    rc = cli_done(rc);
    goto out;
  }
  rc = CLI_EXIT_USAGE;
  o.id = args[0];
  o.args = args + 1;
  o.n_args = (size_t)nargs - 1;
  o.env = (char *const *)env.v;
  o.n_env = env.n;
  o.caps = (char *const *)caps.v;
  o.n_caps = caps.n;
  if (gids.n && !(gid_v = calloc(gids.n, sizeof *gid_v))) {
    rc = 1;
    goto out;
  }
  unsigned long v;
  for (size_t i = 0; i < gids.n; i++) {
    if (parse_uint(gids.v[i], 0xfffffffeUL, &v) < 0) {
      cli_usage_error("exec", "--additional-gids \"%s\": expected a numeric gid", gids.v[i]);
      goto out;
    }
    gid_v[i] = (gid_t)v;
  }
  o.additional_gids = gid_v;
  o.n_additional_gids = gids.n;
  if (user) {
    snprintf(user_buf, sizeof user_buf, "%s", user);
    char *colon = strchr(user_buf, ':');
    if (colon)
      *colon = 0;
    if (strlen(user) >= sizeof user_buf || parse_uint(user_buf, 0xfffffffeUL, &v) < 0) {
      cli_usage_error("exec", "--user \"%s\": expected UID[:GID] (numeric)", user);
      goto out;
    }
    o.has_user = true;
    o.uid = (uid_t)v;
    if (colon) {
      if (parse_uint(colon + 1, 0xfffffffeUL, &v) < 0) {
        cli_usage_error("exec", "--user \"%s\": expected UID[:GID] (numeric)", user);
        goto out;
      }
      o.has_gid = true;
      o.gid = (gid_t)v;
    }
  }
  if (preserve) {
    if (parse_uint(preserve, 4096, &v) < 0) {
      cli_usage_error("exec", "--preserve-fds \"%s\": expected a count (0..4096)", preserve);
      goto out;
    }
    o.preserve_fds = (int)v;
  }
  if (cgroup)
    cove_debug("exec: --cgroup %s ignored: the process joins the container's cgroups", cgroup);
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
  free(env.v);
  free(caps.v);
  free(gids.v);
  return rc;
}
