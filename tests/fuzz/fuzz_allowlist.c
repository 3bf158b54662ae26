/* libFuzzer target: the mount allowlist → agent_allowlist_parse(), then
 * the blocked-component check mounts.c runs with it.
 *
 * The allowlist decides which host paths an agent may see; it is a file a
 * user may have copied from anywhere. Any input must parse or fail naming
 * why; a list that parses has only absolute roots and non-empty blocked
 * names without '/'. */
#include "agent.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = 0;
  struct agent_allowlist a;
  cove_err err = {0};
  int r = agent_allowlist_parse(&a, text, "mount-allowlist.json", &err);
  if (r < 0 && err.msg[0] == 0)
    __builtin_trap();
  if (r == 0) {
    if (!a.present || a.n_roots > AGENT_MAX_LIST || a.n_blocked > AGENT_MAX_LIST || a.n_trusted > AGENT_MAX_LIST)
      __builtin_trap();
    for (size_t i = 0; i < a.n_blocked; i++)
      if (!a.blocked[i][0] || strchr(a.blocked[i], '/'))
        __builtin_trap();
    const char *which = NULL;
    for (size_t i = 0; i < a.n_roots; i++) {
      if (a.roots[i].source[0] != '/')
        __builtin_trap();
      /* a root is checked like any mount source */
      if (agent_blocked_component(a.roots[i].source, &a, &which) && !which)
        __builtin_trap();
    }
  }
  agent_allowlist_free(&a);
  free(text);
  return 0;
}
