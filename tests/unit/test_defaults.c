/* Writes `cove spec` / `cove spec --rootless` / `cove features` documents to
 * stdout for test_defaults.py to check; also checks a write error on the
 * FILE is reported. */
#include "cove/defaults.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
  cove_err err = {0};
  int r;
  const char *what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "spec") == 0)
    r = cove_spec_default_write(stdout, false, &err);
  else if (strcmp(what, "spec-rootless") == 0)
    r = cove_spec_default_write(stdout, true, &err);
  else if (strcmp(what, "features") == 0)
    r = cove_features_write(stdout, &err);
  else if (strcmp(what, "full") == 0) {
    FILE *f = fopen("/dev/full", "we");
    r = cove_features_write(f, &err);
    fclose(f);
    if (r == 0) {
      fprintf(stderr, "FAIL: write to /dev/full reported success\n");
      return 1;
    }
    fprintf(stderr, "ok: /dev/full -> %s\n", err.msg);
    return 0;
  } else {
    fprintf(stderr, "usage: test_defaults spec|spec-rootless|features|full\n");
    return 2;
  }
  if (r < 0) {
    fprintf(stderr, "FAIL: %s\n", err.msg);
    return 1;
  }
  return 0;
}
