/* libFuzzer target: a `cove agent batch` tasks file (JSONL) → the same
 * line splitting as agent_batch() → agent_batch_parse_line() per line →
 * agent_policy_parse() on an inline policy, as each task's child does.
 *
 * Property beyond "no crash": an inline policy the line parser accepted is
 * re-serialised JSON that must parse again. */
#include "agent.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t lineno = 0;
  for (size_t off = 0; off < size;) {
    const uint8_t *nl = memchr(data + off, '\n', size - off);
    size_t len = nl ? (size_t)(nl - (data + off)) + 1 : size - off; /* getline keeps the '\n' */
    char *line = malloc(len + 1);
    if (!line)
      return 0;
    memcpy(line, data + off, len);
    line[len] = 0;
    off += len;
    lineno++;
    char *s = line;
    while (*s == ' ' || *s == '\t')
      s++;
    if (!*s || *s == '\n' || *s == '#') {
      free(line);
      continue;
    }
    cove_err err = {0};
    char *policy = NULL;
    int r = agent_batch_parse_line(s, lineno, &policy, &err);
    free(line);
    if (r < 0) {
      if (err.msg[0] == 0)
        __builtin_trap();
      return 0; /* agent_batch stops at the first bad line */
    }
    if (policy) {
      char ebuf[128];
      yajl_val v = yajl_tree_parse(policy, ebuf, sizeof ebuf);
      if (!v || !YAJL_IS_OBJECT(v))
        __builtin_trap();
      yajl_tree_free(v);
      struct agent_policy p;
      agent_policy_defaults(&p);
      cove_err perr = {0};
      if (agent_policy_parse(&p, policy, "inline policy", &perr) < 0 && perr.msg[0] == 0)
        __builtin_trap();
      agent_policy_free(&p);
      free(policy);
    }
  }
  return 0;
}
