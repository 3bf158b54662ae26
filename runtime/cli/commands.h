#pragma once
#include "cove/error.h"
#include <stdbool.h>

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
