/* Where things live (docs/agent.md "Files"):
 *   $XDG_DATA_HOME/cove/groups/NAME    per-group state, mounted at /group
 *   $XDG_CONFIG_HOME/cove/mount-allowlist.json
 *   $XDG_STATE_HOME/cove/audit/        global.jsonl, groups/NAME.jsonl
 *   run dirs: $XDG_RUNTIME_DIR/cove-agent when set (and ours), else
 *             /run/cove-agent (root) or /tmp/cove-agent-UID — private, 0700, removed at
 *             the end of each run or by `cove agent gc`. */
#include "agent.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int agent_mkdir_p(const char *path, mode_t mode, cove_err *err)
{
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
    return cove_error(err, ENAMETOOLONG, "%s", path);
  /* usually there already: one call, not one per ancestor */
  if (mkdir(tmp, mode) == 0 || errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return cove_error(err, errno, "mkdir %s", tmp);
  for (char *c = tmp + 1; *c; c++) {
    if (*c != '/')
      continue;
    *c = 0;
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
      return cove_error(err, errno, "mkdir %s", tmp);
    *c = '/';
  }
  if (mkdir(tmp, mode) < 0 && errno != EEXIST)
    return cove_error(err, errno, "mkdir %s", tmp);
  return 0;
}

static int xdg(char *out, size_t cap, const char *var, const char *home, const char *dflt, cove_err *err)
{
  const char *v = getenv(var);
  int n;
  if (v && v[0] == '/')
    n = snprintf(out, cap, "%s/cove", v);
  else
    n = snprintf(out, cap, "%s/%s/cove", home, dflt);
  if (n < 0 || (size_t)n >= cap)
    return cove_error(err, ENAMETOOLONG, "$%s", var);
  return 0;
}

/* `cove --root DIR agent ...`: the run directories (each holding its
 * container's state) go under DIR instead of the default run base. */
static const char *runbase_override;
void agent_paths_set_runbase(const char *dir)
{
  runbase_override = dir;
}

int agent_paths_init(struct agent_paths *p, cove_err *err)
{
  const char *home = getenv("HOME");
  if (!home || home[0] != '/') {
    struct passwd *pw = getpwuid(geteuid());
    if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/')
      return cove_error(err, 0, "cannot find the home directory ($HOME unset)");
    home = pw->pw_dir;
  }
  snprintf(p->home, sizeof p->home, "%s", home);
  if (xdg(p->data, sizeof p->data, "XDG_DATA_HOME", home, ".local/share", err) < 0 ||
      xdg(p->config, sizeof p->config, "XDG_CONFIG_HOME", home, ".config", err) < 0 ||
      xdg(p->state, sizeof p->state, "XDG_STATE_HOME", home, ".local/state", err) < 0)
    return -1;
  const char *rt = getenv("XDG_RUNTIME_DIR");
  struct stat st;
  if (runbase_override)
    snprintf(p->runbase, sizeof p->runbase, "%s", runbase_override);
  else if (rt && rt[0] == '/' && stat(rt, &st) == 0 && st.st_uid == geteuid())
    snprintf(p->runbase, sizeof p->runbase, "%s/cove-agent", rt);
  else if (geteuid() == 0)
    snprintf(p->runbase, sizeof p->runbase, "/run/cove-agent");
  else
    snprintf(p->runbase, sizeof p->runbase, "/tmp/cove-agent-%u", (unsigned)geteuid());
  return 0;
}

int agent_validate_group(const char *g, cove_err *err)
{
  size_t n = strlen(g);
  if (!n || n > 64 || g[0] == '.' || g[0] == '-')
    return cove_error(err, 0, "--group \"%s\": 1-64 characters, not starting with '.' or '-'", g);
  for (const char *c = g; *c; c++)
    if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.'))
      return cove_error(err, 0, "--group \"%s\": only letters, digits, '_', '-' and '.'", g);
  return 0;
}
