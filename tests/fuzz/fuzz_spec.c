/* libFuzzer target: config.json text → cove_spec_parse() → cove_spec_free().
 *
 * The parser is the one piece of cove that reads attacker-influenced text
 * with full runtime privileges, before any namespace exists. Any input must
 * either parse or fail with a message; never crash, leak, overflow or hang.
 *
 * cove_spec_parse() resolves root.path against the bundle and stat()s it
 * before it looks at anything else, so the bundle is a private temporary
 * directory holding an empty "rootfs": the seed configs (root.path
 * "rootfs", as `cove spec` writes it) then reach mounts, process and linux
 * instead of all stopping at root.path. */
#include "cove/error.h"
#include "cove/spec.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char bundle[64] = "/tmp";
static char rootfs[80];

static void cleanup(void)
{
  if (rootfs[0])
    rmdir(rootfs);
  if (strcmp(bundle, "/tmp") != 0)
    rmdir(bundle);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  char tmpl[] = "/tmp/cove-fuzz-bundle.XXXXXX";
  if (mkdtemp(tmpl)) {
    snprintf(bundle, sizeof bundle, "%s", tmpl);
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
    if (mkdir(rootfs, 0755) < 0)
      rootfs[0] = 0;
    atexit(cleanup);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct cove_spec spec;
  memset(&spec, 0, sizeof spec);
  cove_err err;
  memset(&err, 0, sizeof err);
  /* (json, len): the parser must not read past len although libFuzzer's
   * buffer is not NUL-terminated. */
  int r = cove_spec_parse(&spec, (const char *)data, size, bundle, &err);
  /* A failure must always explain itself. */
  if (r < 0 && err.msg[0] == 0)
    __builtin_trap();
  cove_spec_free(&spec);
  return 0;
}
