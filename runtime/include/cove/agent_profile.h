/* The default agent profile: `cove spec --agent`.
 *
 * An agent container is the default spec (cove_spec_default_write) with
 *   - linux.seccomp = policy/agent-seccomp.json (allowlist, EPERM default),
 *   - capabilities reduced to the agent set (bounding = effective =
 *     permitted; inheritable and ambient empty),
 *   - process.noNewPrivileges = true.
 * docs/agent-profile.md explains every choice. */
#pragma once
#include "cove/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define COVE_AGENT_PROFILE_NAME "agent-seccomp.json"

/* The agent capability set, NULL-terminated. */
extern const char *const cove_agent_caps[];

/* Finds agent-seccomp.json: the installed COVE_POLICY_DIR first, then the
 * source tree's policy/ (COVE_SOURCE_POLICY_DIR) so an uninstalled build
 * works. Writes the path into out. Returns 0, or -1 with errno set
 * (ENOENT: in neither place; ENAMETOOLONG: cap too small). */
int cove_agent_profile_path(char *out, size_t cap);

/* Writes the agent config.json to out. The profile is validated with the
 * same parser `cove create` uses, so a broken policy file fails here and
 * not at container start. */
int cove_spec_default_write_agent(FILE *out, bool rootless, cove_err *err);
