/* libFuzzer target: a container's state.json → cove_state_parse(), then
 * the hooks' state JSON built from what was read back.
 *
 * The state root may have been tampered with (another user's writable
 * --root, a corrupted disk). Any input must parse or fail with a message;
 * what cove then hands to hooks on stdin (cove_hook_state_json, from the
 * fields read back) must always be valid JSON, whatever the file held. */
#include "cove/error.h"
#include "hooks.h"
#include "cove/state.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_parse(const char *json)
{
  char ebuf[128];
  yajl_val v = yajl_tree_parse(json, ebuf, sizeof ebuf);
  if (!v || !YAJL_IS_OBJECT(v))
    __builtin_trap();
  yajl_tree_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* cove_state_read() reads at most 64 KiB and NUL-terminates. */
  if (size > 65535)
    size = 65535;
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = 0;
  struct cove_state st;
  cove_err err = {0};
  int r = cove_state_parse(&st, text, &err);
  if (r < 0 && err.msg[0] == 0)
    __builtin_trap();
  if (r == 0) {
    if (st.annotations_json)
      must_parse(st.annotations_json);
    char *hook = cove_hook_state_json(st.oci_version[0] ? st.oci_version : NULL, st.id, "running", st.pid,
                                      st.bundle, st.annotations_json);
    if (hook)
      must_parse(hook);
    free(hook);
  }
  cove_state_release(&st);
  free(text);
  return 0;
}
