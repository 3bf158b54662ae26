#pragma once
#include "cove/error.h"
#include <stdbool.h>
#include <stddef.h>

struct cove_global {
  const char *root_opt;
  bool debug, systemd_cgroup;
  int cgroup_manager; /* enum cove_cg_manager */
};

struct cove_command {
  const char *name;
  int (*fn)(struct cove_global *g, int argc, char **argv);
};

/* Each returns the process exit status. */
int cmd_create(struct cove_global *g, int argc, char **argv);
int cmd_start(struct cove_global *g, int argc, char **argv);
int cmd_run(struct cove_global *g, int argc, char **argv);
int cmd_state(struct cove_global *g, int argc, char **argv);
int cmd_kill(struct cove_global *g, int argc, char **argv);
int cmd_delete(struct cove_global *g, int argc, char **argv);
int cmd_list(struct cove_global *g, int argc, char **argv);
int cmd_spec(struct cove_global *g, int argc, char **argv);
int cmd_features(struct cove_global *g, int argc, char **argv);
int cmd_pause(struct cove_global *g, int argc, char **argv);
int cmd_resume(struct cove_global *g, int argc, char **argv);
int cmd_update(struct cove_global *g, int argc, char **argv);
int cmd_events(struct cove_global *g, int argc, char **argv);
int cmd_ps(struct cove_global *g, int argc, char **argv);
int cmd_exec(struct cove_global *g, int argc, char **argv);  /* commands_exec.c */
int cmd_agent(struct cove_global *g, int argc, char **argv); /* shims/agent/cli.c */
int cmd_unsupported(struct cove_global *g, int argc, char **argv);

/* Report err through the log and return 1. */
int cli_fail(const cove_err *err);
/* The state root (--root, or the default) into root, created if need be:
 * 0, or the exit status after reporting. */
int cli_root(const struct cove_global *g, char *root, size_t cap);
/* A command on one container: its id and the options in opts (NULL: none).
 * -1 to go on, *args (args[0], the id) the caller's to free; else the exit
 * status (help printed or usage error reported). */
struct cli_opt;
int cli_parse_id(const char *name, const char *help, const struct cli_opt *opts, int argc, char **argv, char ***args);
/* A command that is the id alone and one call on it (start, pause, resume). */
int cli_id_op(struct cove_global *g, const char *name, const char *help, int argc, char **argv,
              int (*op)(const char *root, const char *id, cove_err *err));
