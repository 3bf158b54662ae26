/* cove_state_parse on tampered state.json text: a field too long for its
 * buffer is refused naming it, never cut (a cut can split a UTF-8
 * character, and the hooks' state JSON built from it would not parse). */
#include "cove/error.h"
#include "cove/state.h"

#include <stdio.h>
#include <string.h>

static int fails;

static void check(int cond, const char *what)
{
  printf("%s: %s\n", cond ? "ok" : "FAIL", what);
  fails += !cond;
}

int main(void)
{
  struct cove_state st;
  cove_err err = {0};
  int r = cove_state_parse(&st, "{\"ociVersion\":\"1.3.0\",\"id\":\"c1\",\"pid\":42,\"bundle\":\"/b\","
                                "\"annotations\":{\"k\":\"v\"}}", &err);
  check(r == 0 && !strcmp(st.id, "c1") && st.pid == 42 && !strcmp(st.bundle, "/b") &&
          st.annotations_json && !strcmp(st.annotations_json, "{\"k\":\"v\"}"),
        "valid state parses");
  cove_state_release(&st);

  /* 30 ASCII bytes + a 3-byte character: 33 bytes into oci_version[32] */
  memset(&err, 0, sizeof err);
  r = cove_state_parse(&st, "{\"ociVersion\":\"123456789012345678901234567890\xe2\x82\xac\",\"id\":\"c1\"}", &err);
  check(r < 0 && strstr(err.msg, "ociVersion"), "over-long ociVersion refused naming the field");
  if (r < 0)
    printf("  (%s)\n", err.msg);
  cove_state_release(&st);
  return fails ? 1 : 0;
}
