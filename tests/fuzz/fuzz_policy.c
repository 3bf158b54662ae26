/* libFuzzer target: an agent policy file → agent_policy_parse().
 *
 * Policies are files a user may have copied from anywhere (and batch tasks
 * carry them inline). Any input must parse or fail naming why; a policy
 * that parses must hold the invariants the rest of the orchestrator relies
 * on (absolute paths, lists within their bounds). */
#include "agent.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* The loader hands the parser a NUL-terminated file body. */
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = 0;
  struct agent_policy p;
  agent_policy_defaults(&p);
  cove_err err = {0};
  int r = agent_policy_parse(&p, text, "policy.json", &err);
  if (r < 0 && err.msg[0] == 0)
    __builtin_trap();
  if (r == 0) {
    if (p.rootfs && p.rootfs[0] != '/')
      __builtin_trap();
    if (p.n_mounts > AGENT_MAX_LIST || p.n_allow > AGENT_MAX_LIST || p.n_no_proxy > AGENT_MAX_LIST ||
        p.n_env > AGENT_MAX_LIST || p.n_secrets > AGENT_MAX_LIST)
      __builtin_trap();
    for (size_t i = 0; i < p.n_mounts; i++)
      if (p.mounts[i].source[0] != '/' || p.mounts[i].destination[0] != '/')
        __builtin_trap();
    for (size_t i = 0; i < p.n_secrets; i++)
      if (p.secrets[i].value[0] != '/')
        __builtin_trap();
    if (!(p.cpus > 0) || p.timeout_ms == 0)
      __builtin_trap();
  }
  agent_policy_free(&p);
  free(text);
  return 0;
}
